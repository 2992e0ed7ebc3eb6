"""Feedback runs headless on a real LSL amplifier (loopback): cues, feedback and decisions recorded, accuracy scored."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import mne
import pytest

from app.cli import main
from app.paradigm import FEEDBACK_FILE, FEEDBACK_START, load_protocol, run_protocol_runs, trial_order
from app.pipeline import AcquisitionConfig, PipelineConfig, StreamSelector
from helpers.lsl import unique_name

SHORT = Path(__file__).with_name("short_mi_feedback.json")


def test_feedback_runs_record_cues_feedback_and_decisions_and_score_each_run(amplifier, small_checkpoint, tmp_path):
    protocol = load_protocol(SHORT)
    config = PipelineConfig(StreamSelector(name=amplifier.name), small_checkpoint,
                            outlet_prefix=unique_name("feedback-out"), acquisition=AcquisitionConfig(resolve_timeout_s=10))
    outcomes = run_protocol_runs(protocol, config, tmp_path, runs=2, seed=7, time_scale=0.6,
                                 cue_stream=unique_name("cues"))
    assert len(outcomes) == 2 and outcomes[0].result.run_dir != outcomes[1].result.run_dir
    n = len(protocol.classes) * protocol.trials_per_class
    for k, outcome in enumerate(outcomes):
        score, result = outcome.score, outcome.result
        # Every trial was scored from the running model's probabilities, with an interval around the accuracy.
        assert score.n == n and score.undecided == 0 and all(o.n_decisions > 0 for o in score.outcomes)
        assert [o.label for o in score.outcomes] == trial_order(protocol, 7 + k)
        lo, hi = score.interval
        assert 0 <= lo <= score.accuracy <= hi <= 1
        # The recording holds the cues, the feedback markers (start and decoded class) and the decisions.
        raw = mne.io.read_raw_fif(result.run_dir / "live.fif", verbose="error")
        found = Counter(raw.annotations.description)
        assert found["cue/left"] == found["cue/right"] == protocol.trials_per_class
        assert found[FEEDBACK_START] == n
        decoded = [d for d in raw.annotations.description if re.fullmatch(r"feedback/(left|right|none)", d)]
        assert decoded == [f"feedback/{o.decoded}" for o in score.outcomes]
        assert sum(v for d, v in found.items() if d.startswith("mi:")) > 0
        # Each feedback marker follows its trial's cue.
        order = [d for d in raw.annotations.description if d.startswith(("cue/", "feedback/"))]
        assert order[:3] == [f"cue/{score.outcomes[0].label}", FEEDBACK_START, decoded[0]]
        saved = json.loads((result.run_dir / FEEDBACK_FILE).read_text())
        assert saved["hits"] == score.hits and saved["interval"] == list(score.interval)


def test_the_headless_command_runs_a_feedback_protocol_and_prints_the_accuracy(amplifier, small_checkpoint, tmp_path,
                                                                              capsys):
    code = main(["--headless", "--paradigm", str(SHORT), "--checkpoint", str(small_checkpoint), "--stream",
                 amplifier.name, "--runs", "1", "--data-dir", str(tmp_path), "--outlet-prefix",
                 unique_name("feedback-cli")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert re.search(r"run 1: online accuracy \d\.\d\d \(\d/4; 95% Wilson interval \d\.\d\d-\d\.\d\d", out), out
    (run_dir,) = (tmp_path / "sessions").iterdir()
    assert (run_dir / FEEDBACK_FILE).is_file() and (run_dir / "session_raw.fif").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--paradigm", "no-such"], "graz_mi_feedback"),
    (["--paradigm", "graz_mi_feedback", "--runs", "0"], "--runs"),
    (["--paradigm", "graz_mi_feedback", "--record", "x.fif"], "--record"),
    (["--paradigm", "graz_mi_feedback", "--no-headless"], "--headless"),
])
def test_bad_paradigm_arguments_say_what_to_fix(small_checkpoint, tmp_path, capsys, argv, message):
    headless = [] if "--no-headless" in argv else ["--headless"]
    argv = [a for a in argv if a != "--no-headless"]
    code = main([*headless, "--checkpoint", str(small_checkpoint), "--stream", unique_name("absent"),
                 "--data-dir", str(tmp_path), *argv])
    assert code == 2 and message in capsys.readouterr().err
