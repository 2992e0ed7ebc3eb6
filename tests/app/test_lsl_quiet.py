"""liblsl's INFO lines are kept off the console unless --verbose, without losing the user's LSL configuration."""

from __future__ import annotations

import mne_lsl.lsl
import pytest

from app.pipeline.lsl_config import quiet_liblsl


@pytest.fixture
def configure(tmp_path, monkeypatch):
    """Write an lsl_api.cfg named by LSLAPICFG; returns what quiet_liblsl hands liblsl."""
    given: list[str] = []
    monkeypatch.setattr(mne_lsl.lsl, "set_config_content", given.append)

    def _configure(text: str) -> tuple[bool, list[str]]:
        cfg = tmp_path / "lsl_api.cfg"
        cfg.write_text(text)
        monkeypatch.setenv("LSLAPICFG", str(cfg))
        return quiet_liblsl(), given

    return _configure


def test_the_configuration_in_use_is_kept_and_the_log_level_added(configure):
    applied, given = configure("[multicast]\nResolveScope = machine\n")
    assert applied and "ResolveScope = machine" in given[0] and "[log]\nlevel = -1" in given[0]


def test_a_configuration_with_its_own_log_level_is_left_alone(configure):
    applied, given = configure("[log]\nlevel = 2\n")
    assert not applied and not given


def test_verbose_is_about_this_program_not_its_libraries(monkeypatch):
    """-v turns on DEBUG, but numba's compiler (bytecode dumps) and mne-lsl stay at warnings."""
    import logging

    import app.cli as cli

    monkeypatch.setattr(cli, "_list", lambda: 0)
    monkeypatch.setattr(logging.getLogger("numba"), "level", logging.NOTSET)
    assert cli.main(["-v", "--list-streams"]) == 0
    assert logging.getLogger("numba").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("mne_lsl").getEffectiveLevel() == logging.WARNING
