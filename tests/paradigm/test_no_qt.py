"""The paradigm module runs where Qt cannot load: no PySide6 import anywhere in it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

BLOCK_QT_AND_IMPORT = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6", "pyqtgraph"):
                raise ImportError(f"{name} is blocked in this test")

    sys.meta_path.insert(0, BlockQt())
    import app.paradigm
    names = [m.name for m in pkgutil.walk_packages(app.paradigm.__path__, "app.paradigm.")]
    for name in names:
        importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
    assert not loaded, loaded
    print("imported", len(names), "modules")
    """
)


def test_app_paradigm_and_every_submodule_import_with_qt_blocked():
    done = subprocess.run([sys.executable, "-c", BLOCK_QT_AND_IMPORT], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    n = int(done.stdout.split()[-2])
    assert n >= 7  # protocol, timer, displays, cue_outlet, session_file, run, runner


def test_the_blocker_does_block_qt():
    """The same blocker makes the GUI package fail to import: the check above can fail."""
    script = BLOCK_QT_AND_IMPORT.replace("import app.paradigm\n", "import app.gui\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "blocked in this test" in done.stderr
