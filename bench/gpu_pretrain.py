"""``samba-pretrain`` on CUDA machines whose mamba_ssm lacks its Mamba1 extension.

Registers the empty ``selective_scan_cuda`` module (see ``tests/helpers/mamba_stub.py``), then runs the
``samba-pretrain`` command line unchanged. Works under torchrun::

    python bench/gpu_pretrain.py train --corpus corpus/ --out runs/base
    torchrun --nproc_per_node 2 bench/gpu_pretrain.py train --corpus corpus/ --out runs/ddp

Where mamba-ssm is installed normally, call ``samba-pretrain`` directly instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
_ROOT = Path(__file__).resolve().parents[1]
# The shared test helpers; the repo first, so that tests/samba_core cannot shadow the package.
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]
from helpers.mamba_stub import register_selective_scan_stub  # noqa: E402

register_selective_scan_stub()

from samba_core.pretraining.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
