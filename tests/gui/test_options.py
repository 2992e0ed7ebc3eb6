"""Command-line choices reach the pipeline the window starts, exactly as they reach a headless one."""

from __future__ import annotations

from pathlib import Path

import pytest

import checkpoints
from app.cli import build_parser
from app.gui.options import GuiOptions
from app.pipeline import PipelineConfig, PipelineError, StreamSelector

DECODING_OPTIONS = [
    [],
    ["--mains", "60"],
    ["--mains", "0", "--backend", "torch", "--smoothing", "0.5", "--threshold", "0.7"],
    ["--montage", "cap.elc", "--device", "muse", "--allow-drop", "--outlet-prefix", "lab", "--timeout", "3"],
]


def parse(argv):
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("options", DECODING_OPTIONS)
def test_window_and_headless_make_the_same_config(options):
    args = parse(["--stream", "amp", "--checkpoint", "m.samba", *options])
    headless = PipelineConfig.from_args(args)
    window = GuiOptions.from_args(args).pipeline_config(stream=StreamSelector(name="amp"), checkpoint=Path("m.samba"))
    assert window == headless


def test_every_decoding_option_reaches_the_config():
    args = parse(["--stream-type", "EEG", "--source-id", "dev1", "--checkpoint", "m.samba", "--markers", "cues",
                  "--record", "out.fif", "--backend", "torch", "--smoothing", "0.5", "--threshold", "0.7",
                  "--montage", "cap.elc", "--device", "muse", "--allow-drop", "--mains", "60",
                  "--outlet-prefix", "lab", "--timeout", "3"])
    c = PipelineConfig.from_args(args)
    assert c.stream == StreamSelector(stype="EEG", source_id="dev1") and c.checkpoint == Path("m.samba")
    assert c.markers == StreamSelector(name="cues") and c.record == Path("out.fif")
    assert (c.decoding.backend, c.decoding.smoothing_s, c.decoding.threshold) == ("torch", 0.5, 0.7)
    assert (c.montage.montage_file, c.montage.device, c.montage.allow_drop) == ("cap.elc", "muse", True)
    assert (c.mains_hz, c.outlet_prefix, c.acquisition.resolve_timeout_s) == (60.0, "lab", 3.0)


def test_absent_options_keep_the_defaults():
    command_line = PipelineConfig.from_args(parse(["--stream", "amp", "--checkpoint", "m.samba"]))
    window = GuiOptions().pipeline_config(stream=StreamSelector(name="amp"), checkpoint=Path("m.samba"))
    assert window == command_line
    # An object without the attributes (e.g. built by a script) keeps the dataclass defaults.
    bare = PipelineConfig.from_args(object(), stream=StreamSelector(name="amp"), checkpoint=Path("m.samba"))
    assert bare == PipelineConfig(StreamSelector(name="amp"), Path("m.samba"))


def test_overrides_replace_the_command_line():
    args = parse(["--stream", "amp", "--checkpoint", "m.samba", "--markers", "cues", "--record", "a.fif"])
    c = PipelineConfig.from_args(args, stream=StreamSelector(name="replay"), markers=None, record=Path("b.fif"))
    assert (c.stream.name, c.markers, c.record) == ("replay", None, Path("b.fif"))
    # The window records only what it is asked to, never the --record of the command line on every start.
    window = GuiOptions.from_args(args).pipeline_config(stream=StreamSelector(name="amp"), checkpoint=Path("m.samba"))
    assert window.record is None and window.markers is None
    with pytest.raises(ValueError, match="not PipelineConfig fields"):
        PipelineConfig.from_args(args, stream_name="x")


def test_without_a_stream_or_checkpoint_the_error_says_what_to_pass(tmp_path, monkeypatch):
    with pytest.raises(PipelineError, match="--stream NAME"):
        PipelineConfig.from_args(parse(["--checkpoint", "m.samba"]))
    monkeypatch.setattr(checkpoints, "SHIPPED_CHECKPOINT", tmp_path / "absent.samba")
    with pytest.raises(PipelineError, match="pass --checkpoint PATH"):
        PipelineConfig.from_args(parse(["--stream", "amp"]))
    shipped = tmp_path / "shipped.samba"
    shipped.write_bytes(b"")
    monkeypatch.setattr(checkpoints, "SHIPPED_CHECKPOINT", shipped)
    assert PipelineConfig.from_args(parse(["--stream", "amp"])).checkpoint == shipped


def test_replay_options_stay_with_the_window():
    options = GuiOptions.from_args(parse(["--replay", "run.xdf", "--speed", "2", "--loop", "--checkpoint", "m.samba"]))
    assert (options.replay, options.speed, options.loop, options.checkpoint) == ("run.xdf", 2.0, True, Path("m.samba"))
    assert GuiOptions.from_args(parse([])).replay is None
