"""LSL in tests, CI and benchmarks stays on this machine: one liblsl configuration, set before liblsl loads."""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests" / "lsl_api.cfg"
BENCH = REPO / "bench"
#: An import that loads liblsl, directly or through the live pipeline or the tests' LSL sources.
LSL_IMPORT = re.compile(r"^\s*(import pylsl|from pylsl|import mne_lsl|from mne_lsl|from app\.pipeline|import app\.pipeline"
                        r"|from app import pipeline|from app\.cli|from helpers.lsl|from helpers import lsl)", re.M)


def test_the_tests_run_with_the_machine_only_config():
    assert os.environ.get("LSLAPICFG") == str(CONFIG) and CONFIG.is_file()


def test_the_config_holds_exactly_the_three_settings_and_no_comment_line():
    text = CONFIG.read_text()
    assert not [line for line in text.splitlines() if line.lstrip().startswith((";", "#"))]  # liblsl rejects them
    parser = configparser.ConfigParser()
    parser.optionxform = str  # liblsl's keys are case-sensitive
    parser.read_string(text)
    settings = {(section, key): value for section in parser.sections() for key, value in parser[section].items()}
    assert settings == {("multicast", "ResolveScope"): "machine", ("lab", "KnownPeers"): "{127.0.0.1}",
                        ("ports", "IPv6"): "disable"}


def test_ci_exports_the_same_config():
    assert 'export LSLAPICFG="$PWD/tests/lsl_api.cfg"' in (REPO / ".ci" / "run").read_text()


def bench_scripts_loading_lsl() -> list[Path]:
    return [p for p in sorted(BENCH.glob("*.py")) if LSL_IMPORT.search(p.read_text()) and p.name != "lsl_setup.py"]


def test_every_bench_script_that_can_load_liblsl_sets_the_config_first():
    scripts = bench_scripts_loading_lsl()
    assert {"e2e_latency.py", "soak_replay.py"} <= {p.name for p in scripts}
    for script in scripts:
        text = script.read_text()
        call = text.find("\nuse_machine_only_lsl()")
        assert call >= 0, f"{script.name} can load liblsl but does not call use_machine_only_lsl()"
        assert call < LSL_IMPORT.search(text).start(), f"{script.name} imports LSL before use_machine_only_lsl()"


def test_the_bench_helper_sets_the_config_in_a_fresh_process_and_refuses_once_liblsl_is_loaded():
    script = ("import os, sys; sys.path.insert(0, 'bench'); from lsl_setup import use_machine_only_lsl; "
              "use_machine_only_lsl(); import pylsl; print(os.environ['LSLAPICFG'])")
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(CONFIG)
    spec = importlib.util.spec_from_file_location("bench_lsl_setup", BENCH / "lsl_setup.py")
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    import pylsl  # noqa: F401 - this process has loaded liblsl already

    with pytest.raises(RuntimeError, match="before importing them"):
        helper.use_machine_only_lsl()
