"""Running ``samba-calibrate`` in a background process, with its progress for a progress bar.

The trainer is a separate process (QProcess) so that its CPU load and its memory never
touch the GUI: the window stays responsive and the training can be cancelled by killing
the process. Progress comes from the trainer's own progress bars (tqdm on stderr:
cross-validation folds per method, then the epochs of the final fine-tune), weighted
into one percentage.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

#: tqdm's default bar: "desc:  40%|████      | 2/5 [00:01<00:02,  1.2it/s]".
_BAR = re.compile(r"(?P<desc>[^\r\n|]*?):\s*(?P<pct>\d+)%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)")


@dataclass(frozen=True)
class TrainingJob:
    """One ``samba-calibrate`` run.

    Parameters
    ----------
    session : Path
        Session file (FIF with cue annotations).
    base : Path
        Checkpoint to start from.
    out : Path
        Subject checkpoint to write.
    task : str
        Head to calibrate.
    options : dict
        Protocol ``training`` options (see :data:`app.paradigm.protocol.TRAINING_OPTIONS`).
    report_dir : Path, optional
        Default: ``<out stem>_report`` beside ``out``.
    """

    session: Path
    base: Path
    out: Path
    task: str
    options: dict = field(default_factory=dict)
    report_dir: Path | None = None

    @property
    def report_path(self) -> Path:
        folder = self.report_dir or self.out.with_name(self.out.stem + "_report")
        return folder / "report.json"

    def command(self) -> list[str]:
        """The command line (``python -m calibration.cli ...``), flags from the options."""
        o = dict(self.options)
        cmd = [sys.executable, "-m", "calibration.cli", str(self.session), "--base", str(self.base),
               "--out", str(self.out), "--task", self.task, "--report-dir", str(self.report_path.parent)]
        for key, flag in (("protocol", "--protocol"), ("train", "--train"), ("folds", "--folds"),
                          ("max_epochs", "--max-epochs"), ("patience", "--patience"), ("lr", "--lr"),
                          ("seed", "--seed"), ("threads", "--threads"), ("mains", "--mains"),
                          ("min_trials_per_class", "--min-trials-per-class")):
            if o.get(key) is not None:
                cmd += [flag, str(o[key])]
        if o.get("baselines") is False:
            cmd.append("--no-baselines")
        return cmd

    def phases(self) -> dict[str, float]:
        """Progress-bar phases (tqdm description prefix -> share of the whole run)."""
        folds = int(self.options.get("folds", 5))
        weights: dict[str, float] = {}
        if folds:
            weights["cv samba"] = 0.55
            if self.options.get("baselines", True):
                weights["cv csp_lda"] = 0.025
                weights["cv ts_lr"] = 0.025
        weights["fine-tune"] = 0.4
        total = sum(weights.values())
        return {k: v / total for k, v in weights.items()}


def parse_progress(text: str) -> list[tuple[str, int, int]]:
    """Every tqdm bar state in ``text``: (description, done, total)."""
    return [(m["desc"].strip(), int(m["n"]), int(m["total"])) for m in _BAR.finditer(text)]


class ProgressTracker:
    """Turns bar states into one overall fraction that never goes back."""

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases
        self.fraction = 0.0
        self.label = "starting the trainer…"

    def feed(self, desc: str, n: int, total: int) -> None:
        keys = list(self.phases)
        key = next((k for k in keys if desc.startswith(k)), None)
        if key is None or total <= 0:
            return
        before = sum(self.phases[k] for k in keys[: keys.index(key)])
        fraction = min(1.0, before + self.phases[key] * n / total)
        if fraction >= self.fraction:  # a late redraw of an earlier bar changes nothing
            self.fraction = fraction
            self.label = f"{desc} {n}/{total}"


class TrainerProcess(QObject):
    """``samba-calibrate`` as a QProcess.

    Signals
    -------
    progress(int, str)
        Percent done and what is running.
    finished(object, str)
        The :class:`calibration.CalibrationReport` (None on failure) and an error message ("" on success).
    """

    progress = Signal(int, str)
    finished = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self.job: TrainingJob | None = None
        self.log: list[str] = []
        self._tracker: ProgressTracker | None = None
        self._buffer = ""
        self._cancelled = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.NotRunning

    def start(self, job: TrainingJob) -> None:
        if self.running:
            raise RuntimeError("a training is already running; cancel it first")
        self.job, self.log, self._buffer, self._cancelled = job, [], "", False
        self._tracker = ProgressTracker(job.phases())
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        root = str(Path(__file__).resolve().parents[2])  # the source tree, for runs from a checkout
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (root, env.value("PYTHONPATH", "")) if p))
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._done)
        process.errorOccurred.connect(self._error)
        self.process = process
        cmd = job.command()
        self.log.append("$ " + " ".join(cmd))
        process.start(cmd[0], cmd[1:])
        self.progress.emit(0, self._tracker.label)

    def cancel(self) -> None:
        """Kill the trainer (the partial outputs are left as they are)."""
        if self.running:
            self._cancelled = True
            self.process.kill()

    def _read(self) -> None:
        chunk = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self._buffer += chunk
        parts = re.split(r"[\r\n]", self._buffer)
        self._buffer = parts.pop()
        for line in parts:
            states = parse_progress(line)
            for desc, n, total in states:
                self._tracker.feed(desc, n, total)
            if not states and line.strip():
                self.log.append(line)
        for desc, n, total in parse_progress(self._buffer):  # a bar still being redrawn
            self._tracker.feed(desc, n, total)
        self.progress.emit(int(round(100 * self._tracker.fraction)), self._tracker.label)

    def _error(self, error) -> None:
        if error == QProcess.FailedToStart:
            self.finished.emit(None, f"the trainer could not start ({self.process.errorString()})")

    def _done(self, code: int, status) -> None:
        if self._buffer.strip():
            self.log.append(self._buffer)
            self._buffer = ""
        if self._cancelled:
            self.finished.emit(None, "training cancelled")
            return
        if code != 0 or status != QProcess.NormalExit:
            errors = [line for line in self.log if "error" in line.lower()]
            detail = errors[-1] if errors else (self.log[-1] if len(self.log) > 1 else f"exit code {code}")
            self.finished.emit(None, f"the calibration failed: {detail.strip()}")
            return
        try:
            from calibration import CalibrationReport

            report = CalibrationReport.from_json(self.job.report_path)
        except Exception as exc:  # noqa: BLE001
            self.finished.emit(None, f"the trainer finished but its report {self.job.report_path} is unreadable: {exc}")
            return
        self.progress.emit(100, "done")
        self.finished.emit(report, "")
