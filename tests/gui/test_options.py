"""Command-line choices reach the pipeline the window starts."""

from __future__ import annotations

from pathlib import Path

from app.cli import build_parser
from app.gui.options import GuiOptions
from app.gui.session import SessionRequest
from app.pipeline import StreamSelector


def test_mains_reaches_the_pipeline_config():
    options = GuiOptions.from_args(build_parser().parse_args(["--mains", "60"]))
    assert options.mains_hz == 60.0
    request = SessionRequest(stream=StreamSelector(name="amp"), checkpoint=Path("m.samba"), mains_hz=options.mains_hz)
    assert request.pipeline_config().mains_hz == 60.0
    assert GuiOptions.from_args(build_parser().parse_args([])).mains_hz is None
