"""Long sessions: converting the recording at stop takes bounded memory, whatever its length.

A synthetic session (default: 2 hours, 256 channels at 2048 Hz, a decision every 16
samples at 256 Hz model rate, a marker every 4 s) is written through the real
:class:`~app.pipeline.recording.RecordingWriter` (the producer waits for the writer
instead of outrunning the disk, as a live stream cannot), then converted into FIF plus the
decisions table by :func:`~app.pipeline.recovery.recover_recording` (what a clean stop
runs). The resident set size is sampled every 50 ms in both phases.

    python bench/long_session.py [--minutes 120] [--channels 256] [--rate 2048] [--folder DIR] [--out FILE]

Needs about 2 x minutes x channels x rate x 4 bytes x 60 of free disk (31 GB for the
default). Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]
from lsl_setup import use_machine_only_lsl  # noqa: E402

use_machine_only_lsl()  # app.pipeline loads liblsl: keep any of its traffic on this machine

from json_result import emit  # noqa: E402


class PeakRSS:
    """Peak resident set size (MB) of this process while the block runs, sampled every ``every`` s.

    ``peak_mb`` is the RSS; ``peak_private_mb`` leaves out file-backed pages (``shared``:
    pages of a memory-mapped file that the kernel may drop at any time).
    """

    def __init__(self, every: float = 0.05) -> None:
        self.every, self.peak_mb, self.peak_private_mb = every, 0.0, 0.0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRSS:
        proc = psutil.Process()

        def sample() -> None:
            while not self._stop.is_set():
                mem = proc.memory_info()
                self.peak_mb = max(self.peak_mb, mem.rss / 2**20)
                self.peak_private_mb = max(self.peak_private_mb, (mem.rss - mem.shared) / 2**20)
                time.sleep(self.every)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def write_session(path: Path, minutes: float, n_channels: int, rate: float) -> int:
    from app.pipeline.recording import RecordingWriter

    header = {"channels": [{"label": f"E{i + 1}", "type": "EEG", "unit": "microvolts"} for i in range(n_channels)],
              "rate": rate, "nominal_rate": rate, "classes": {"mi": ["left", "right"]}, "eeg_unit": "uV"}
    writer = RecordingWriter(path, header)
    block = (np.random.default_rng(0).normal(0, 20, (n_channels, int(rate))).astype(np.float32))
    hop_s = 16 / 256.0
    n_seconds = int(minutes * 60)
    for s in range(n_seconds):
        while writer.queued_bytes > writer.max_queue_bytes // 2:
            time.sleep(0.005)
        t = 1000.0 + s + np.arange(block.shape[1]) / rate
        writer.add_samples(np.roll(block, s, axis=1), t)
        for k in range(int(1 / hop_s)):
            tk = 1000.0 + s + k * hop_s
            writer.add_event({"kind": "decision", "t": tk, "received_at": tk + 0.01, "pushed_at": tk + 0.02,
                              "segment": 0, "model_index": 0, "sample_index": 0, "probs": {"mi": [0.4, 0.6]},
                              "smoothed": {"mi": [0.4, 0.6]}, "markers": []})
        if s % 4 == 0:
            writer.add_event({"kind": "marker", "t": 1000.0 + s, "text": "T1"})
    writer.close(finalize=False)
    if writer.unrecorded_samples:
        raise RuntimeError(f"{writer.unrecorded_samples} samples were dropped: the disk did not keep up")
    return n_seconds * int(rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--rate", type=float, default=2048.0)
    parser.add_argument("--folder", type=Path, help="where to write (default: a temporary folder)")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args()
    from app.pipeline.recovery import recover_recording

    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        final = Path(tmp) / "long.fif"
        started = time.perf_counter()
        with PeakRSS() as writing:
            n = write_session(final, args.minutes, args.channels, args.rate)
        wrote_s = time.perf_counter() - started
        partial_bytes = Path(str(final) + ".partial").stat().st_size
        started = time.perf_counter()
        with PeakRSS() as converting:
            summary = recover_recording(Path(str(final) + ".partial"))
        convert_s = time.perf_counter() - started
        fif_bytes = sum(p.stat().st_size for p in Path(tmp).glob("long*.fif"))
        if summary.n_samples != n:
            raise RuntimeError(f"the FIF holds {summary.n_samples} samples, {n} were recorded")
        result = {
            "minutes": args.minutes, "channels": args.channels, "rate_hz": args.rate, "samples": n,
            "partial_gb": round(partial_bytes / 1e9, 3), "fif_gb": round(fif_bytes / 1e9, 3),
            "decisions": summary.n_decisions, "markers": summary.n_markers,
            "peak_rss_mb_writing": round(writing.peak_mb, 1), "peak_rss_mb_converting": round(converting.peak_mb, 1),
            "peak_private_mb_writing": round(writing.peak_private_mb, 1),
            "peak_private_mb_converting": round(converting.peak_private_mb, 1),
            "write_s": round(wrote_s, 1), "convert_s": round(convert_s, 1),
        }
    emit(result, args.out)


if __name__ == "__main__":
    main()
