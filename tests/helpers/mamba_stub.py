"""Let ``import mamba_ssm`` succeed on CUDA machines where it was built without its Mamba1 extension.

mamba_ssm's ``__init__`` imports ``selective_scan_cuda``, the compiled Mamba1 scan, even
though the Mamba2 Triton kernels that samba_core uses never call it. A mamba_ssm wheel built
without CUDA extensions (``MAMBA_SKIP_CUDA_BUILD=TRUE``) therefore fails to import.
Registering an empty module under that name lets the Triton kernels load. This is a test and
bench workaround only: normal installs of mamba-ssm ship the extension, and samba_core itself
never touches ``sys.modules``.

Call :func:`register_selective_scan_stub` before anything imports mamba_ssm or asks
``samba_core.ssd.kernels_available()`` (that answer is cached).
"""

from __future__ import annotations

import sys
import types

import torch


def register_selective_scan_stub() -> bool:
    """Register an empty ``selective_scan_cuda`` module on CUDA machines that lack the real one.

    Returns
    -------
    bool
        True when the stub was registered; False on machines without CUDA or where the
        real extension imports.
    """
    if not torch.cuda.is_available():
        return False
    try:
        import selective_scan_cuda  # noqa: F401
    except ImportError:
        sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")
        return True
    return False
