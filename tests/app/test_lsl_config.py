"""liblsl's INFO lines are kept off the console unless --verbose, without losing the user's LSL configuration."""

from __future__ import annotations

import mne_lsl.lsl

from app.pipeline.lsl_config import quiet_liblsl


def test_the_configuration_in_use_is_kept_and_the_log_level_added(tmp_path, monkeypatch):
    cfg = tmp_path / "lsl_api.cfg"
    cfg.write_text("[multicast]\nResolveScope = machine\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg))
    given: list[str] = []
    monkeypatch.setattr(mne_lsl.lsl, "set_config_content", given.append)
    assert quiet_liblsl()
    assert given and "ResolveScope = machine" in given[0] and "[log]\nlevel = -1" in given[0]


def test_a_configuration_with_its_own_log_level_is_left_alone(tmp_path, monkeypatch):
    cfg = tmp_path / "lsl_api.cfg"
    cfg.write_text("[log]\nlevel = 2\n")
    monkeypatch.setenv("LSLAPICFG", str(cfg))
    given: list[str] = []
    monkeypatch.setattr(mne_lsl.lsl, "set_config_content", given.append)
    assert not quiet_liblsl() and not given
