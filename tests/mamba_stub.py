"""Let ``import mamba_ssm`` succeed on CUDA machines where it was built without its Mamba1 extension.

``mamba_ssm/__init__.py`` imports ``selective_scan_cuda`` (Mamba1 only); the Mamba2 Triton
kernels that samba_core uses never call it. GPU tests register an empty module under that
name before anything imports mamba_ssm. Only done on CUDA machines, and only when the real
extension is missing.
"""

from __future__ import annotations

import sys
import types

import torch


def register_selective_scan_stub() -> None:
    """Register the empty ``selective_scan_cuda`` module where CUDA is present and the real one is not."""
    if not torch.cuda.is_available():
        return
    try:
        import selective_scan_cuda  # noqa: F401
    except ImportError:
        sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")
