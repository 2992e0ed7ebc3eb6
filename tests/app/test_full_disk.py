"""Recording when the disk fills up: decoding never waits, memory stays bounded, what is lost is counted, and the rest is recoverable elsewhere."""

from __future__ import annotations

import errno
import threading

import mne
import numpy as np
import pytest

from app.cli import main
from app.pipeline import LivePipeline, PipelineConfig, RecordingError, StreamSelector, recover_recording
from app.pipeline.partial_format import sample_dtype
from app.pipeline.recording import RecordingWriter
from app.pipeline.recovery import PartialRaw
from helpers.lsl import SyntheticEEGSource, unique_name
from helpers.lsl import wait_until as wait_for

HEADER = {"channels": [{"label": c, "type": "EEG", "unit": "microvolts"} for c in ("C3", "Cz", "C4")], "rate": 100.0}


class FullDisk:
    """A file object that accepts ``room`` bytes, then fails like a full disk (ENOSPC), as the kernel does."""

    def __init__(self, real, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data) -> int:
        if len(data) > self.room:
            self.real.write(bytes(data)[: self.room])  # whatever fits is written, then the disk is full
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)


class StalledDisk(FullDisk):
    """A file object whose writes block until released (a disk that stopped answering)."""

    def __init__(self, real) -> None:
        super().__init__(real, 1 << 60)
        self.release = threading.Event()

    def write(self, data) -> int:
        self.release.wait()
        return super().write(data)


def chunk(k: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(k * n, (k + 1) * n)
    return np.tile(idx, (3, 1)).astype(np.float32), 5.0 + idx / 100.0


@pytest.mark.parametrize("room_rows", [0, 7, 250])
def test_a_full_disk_is_reported_counted_and_recoverable_elsewhere(tmp_path, room_rows):
    out = tmp_path / "disk" / "rec.fif"
    out.parent.mkdir()
    writer = RecordingWriter(out, HEADER, flush_interval_s=0.01)
    row = sample_dtype(3).itemsize
    writer._samples = FullDisk(writer._samples, room_rows * row + row // 2)  # the disk fills mid-row
    added = 0
    for k in range(100):
        writer.add_samples(*chunk(k))
        added += 10
        writer.add_event({"kind": "marker", "t": 5.0 + k / 10, "text": "cue"})
    assert wait_for(lambda: writer.error is not None)
    assert writer.add_samples(*chunk(100)) is False  # nothing more is queued after the failure
    added += 10
    with pytest.raises(RecordingError) as info:
        writer.close()
    message = str(info.value)
    assert "No space left" in message and str(writer.paths.samples) in message
    assert f"--recover {writer.paths.samples} --out" in message
    on_disk = writer.paths.samples.stat().st_size // row
    assert writer.unrecorded_samples == added - on_disk  # exact
    assert f"{writer.unrecorded_samples} sample(s)" in message
    if on_disk == 0:
        with pytest.raises(RecordingError, match="no complete sample"):
            recover_recording(writer.paths.samples, tmp_path / "other" / "rec.fif")
        return
    other = tmp_path / "other" / "rec.fif"
    assert main(["--recover", str(writer.paths.samples), "--out", str(other)]) == 0
    raw = mne.io.read_raw_fif(other, preload=True, verbose="error")
    assert raw.n_times == on_disk
    np.testing.assert_allclose(raw.get_data()[0] * 1e6, np.arange(on_disk), atol=1e-4)
    assert writer.paths.samples.exists()  # written elsewhere: the partial files stay


def test_a_stalled_disk_never_grows_the_queue(tmp_path):
    writer = RecordingWriter(tmp_path / "rec.fif", HEADER, flush_interval_s=0.01, max_queue_bytes=4096)
    stalled = StalledDisk(writer._samples)
    writer._samples = stalled
    accepted = sum(writer.add_samples(*chunk(k)) for k in range(200))
    row = sample_dtype(3).itemsize
    assert accepted * 10 * row <= 4096 + 10 * row  # bounded: at most the budget (plus the chunk being written)
    assert writer.unrecorded_samples == (200 - accepted) * 10
    stalled.release.set()
    summary = writer.close()
    assert summary.n_samples == accepted * 10


def test_recovery_onto_a_full_disk_keeps_the_partial_files_and_says_where_to_write(tmp_path, monkeypatch):
    out = tmp_path / "rec.fif"
    writer = RecordingWriter(out, HEADER)
    for k in range(30):
        writer.add_samples(*chunk(k))
    writer.close(finalize=False)

    def no_space(self, *args, **kwargs):
        with open(args[0], "wb") as f:
            f.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PartialRaw, "save", no_space)
    with pytest.raises(RecordingError, match=r"--recover .*rec.fif.partial --out"):
        recover_recording(writer.paths.samples)
    assert writer.paths.samples.exists() and not out.exists()  # nothing lost, nothing half-written left
    monkeypatch.undo()
    summary = recover_recording(writer.paths.samples, tmp_path / "elsewhere.fif")
    assert summary.n_samples == 300


def test_the_pipeline_keeps_decoding_and_says_what_is_not_recorded(tmp_path, checkpoint, checkpoint_path):
    source = SyntheticEEGSource(unique_name("eeg"))
    cfg = PipelineConfig(StreamSelector(name=source.name), checkpoint_path, outlet_prefix=unique_name("out"),
                         record=tmp_path / "rec.fif", flush_interval_s=0.05)
    pipeline = LivePipeline(cfg, checkpoint=checkpoint)
    try:
        pipeline.start()
        assert wait_for(lambda: pipeline.n_decisions >= 5)
        recorder = pipeline._recorder.writer
        recorder._samples = FullDisk(recorder._samples, 0)
        assert wait_for(lambda: pipeline.notices.history("recording"))
        decided = pipeline.n_decisions
        assert wait_for(lambda: pipeline.n_decisions >= decided + 10 and pipeline.samples_unrecorded > 0)
    finally:
        pipeline.stop()
        source.stop()
    messages = [n.message for n in pipeline.notices.history("recording")]
    assert "decoding goes on" in messages[0] and "--recover" in messages[0]
    assert isinstance(pipeline.error, RecordingError) and "--out" in str(pipeline.error)
    assert "not recorded" in pipeline.notices.history("stopped")[-1].message.lower()
