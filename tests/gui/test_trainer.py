"""The trainer job: the samba-calibrate command line and progress read from its progress bars."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tqdm import tqdm

from app.gui.trainer import ProgressTracker, TrainingJob, parse_progress
from calibration.cli import _parser as calibrate_parser


def bar_output(desc: str, total: int) -> str:
    out = io.StringIO()
    for _ in tqdm(range(total), desc=desc, file=out, mininterval=0, leave=False):
        pass
    return out.getvalue()


def test_the_command_is_one_samba_calibrate_accepts(tmp_path):
    job = TrainingJob(session=tmp_path / "s_raw.fif", base=tmp_path / "base.samba", out=tmp_path / "subj.samba",
                      task="mi", options={"protocol": "mi", "train": "heads", "folds": 0, "max_epochs": 2,
                                          "baselines": False, "min_trials_per_class": 2, "threads": 1})
    cmd = job.command()
    assert cmd[:3] == [sys.executable, "-m", "calibration.cli"]
    args = calibrate_parser().parse_args(cmd[3:])
    assert args.sessions == [str(tmp_path / "s_raw.fif")] and args.out == tmp_path / "subj.samba"
    assert (args.task, args.protocol, args.train, args.folds, args.max_epochs) == ("mi", "mi", "heads", 0, 2)
    assert args.no_baselines and args.min_trials_per_class == 2 and args.threads == 1
    assert job.report_path == tmp_path / "subj_report" / "report.json" == Path(args.report_dir) / "report.json"
    assert list(job.phases()) == ["fine-tune"]


def test_progress_follows_the_bars_through_the_phases_and_never_goes_back():
    job = TrainingJob(Path("s.fif"), Path("b.samba"), Path("o.samba"), "mi", {"folds": 5})
    phases = job.phases()
    assert list(phases) == ["cv samba", "cv csp_lda", "cv ts_lr", "fine-tune"]
    assert abs(sum(phases.values()) - 1) < 1e-9
    tracker = ProgressTracker(phases)
    seen = []
    for desc, total in (("cv samba", 5), ("cv csp_lda", 5), ("cv ts_lr", 5), ("fine-tune (last-stage)", 40)):
        states = parse_progress(bar_output(desc, total))
        assert states and states[-1] == (desc, total, total)
        for state in states:
            tracker.feed(*state)
            seen.append(tracker.fraction)
    assert seen == sorted(seen) and seen[-1] == 1.0
    tracker.feed("cv samba", 0, 5)  # a late redraw of an earlier bar
    assert tracker.fraction == 1.0 and tracker.label.startswith("fine-tune")
    assert parse_progress("samba-calibrate: error: no markers") == []
