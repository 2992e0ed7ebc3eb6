"""liblsl's own log: its INFO lines (configuration loaded, library version...) only with --verbose.

liblsl reads one configuration, once, when it is first used: the file named by
``LSLAPICFG``, else ``lsl_api.cfg`` in the working folder, ``~/lsl_api/lsl_api.cfg`` or
``/etc/lsl_api/lsl_api.cfg``. :func:`quiet_liblsl` hands liblsl that same configuration
with ``[log] level = -1`` (warnings and errors) added, unless it already sets a log level.
"""

from __future__ import annotations

import os
from pathlib import Path

#: liblsl's log levels: -2 errors, -1 warnings, 0 info, higher: debug.
WARNINGS_ONLY = -1


def lsl_config_text() -> str:
    """The text of the configuration file liblsl would load (empty if none)."""
    candidates = [os.environ.get("LSLAPICFG"), "lsl_api.cfg", Path.home() / "lsl_api" / "lsl_api.cfg",
                  "/etc/lsl_api/lsl_api.cfg"]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c).read_text(encoding="utf-8", errors="replace")
    return ""


def quiet_liblsl() -> bool:
    """Keep liblsl's INFO lines off the console; call before any LSL use. True if applied.

    Does nothing when the configuration sets its own ``[log]`` section, or when liblsl
    cannot take a configuration text (liblsl < 1.17.7).
    """
    from mne_lsl.lsl import set_config_content

    text = lsl_config_text()
    if "[log]" in text.replace(" ", "").lower():
        return False
    try:
        set_config_content(f"{text}\n[log]\nlevel = {WARNINGS_ONLY}\n")
    except RuntimeError:
        return False
    return True
