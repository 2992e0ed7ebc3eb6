"""LSL traffic of the benchmarks stays on this machine: the tests' liblsl configuration.

liblsl reads its configuration once, when it loads (on ``import pylsl`` or the first use
of ``mne_lsl.lsl``), from the file named by ``LSLAPICFG``. Every bench script that can
load liblsl calls :func:`use_machine_only_lsl` before importing pylsl, mne_lsl or
``app.pipeline``; ``tests/conftest.py`` and ``.ci/run`` point at the same file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: ``[multicast] ResolveScope = machine``, ``[lab] KnownPeers = {127.0.0.1}``, ``[ports] IPv6 = disable``.
LSL_CONFIG = Path(__file__).resolve().parents[1] / "tests" / "lsl_api.cfg"

#: Modules whose import can load liblsl.
LSL_MODULES = ("pylsl", "mne_lsl", "app.pipeline")


def use_machine_only_lsl() -> Path:
    """Point ``LSLAPICFG`` at :data:`LSL_CONFIG`; returns its path.

    Raises
    ------
    RuntimeError
        A module that can load liblsl is already imported (it may have read another
        configuration): call this first thing in the script.
    FileNotFoundError
        The configuration file is missing from the checkout.
    """
    loaded = [m for m in LSL_MODULES if m in sys.modules]
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported, so liblsl may have read another configuration; "
                           "call use_machine_only_lsl() before importing them")
    if not LSL_CONFIG.is_file():
        raise FileNotFoundError(f"the machine-only liblsl configuration {LSL_CONFIG} is missing; restore it from git")
    os.environ["LSLAPICFG"] = str(LSL_CONFIG)
    return LSL_CONFIG
