"""Real LSL sources for the live-pipeline tests: a pylsl outlet fed by a thread.

The source behaves like an amplifier: it stamps each chunk with the scheduled time of its
last sample, and can misbehave on request (skip samples, vanish and come back, send NaN
on a channel, declare a wrong rate). Every sample's value is a deterministic function of
its index, so a test can check exactly which samples arrived.
"""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pylsl

#: 10-20 labels that every montage source knows.
LABELS_10_20 = ("F3", "Fz", "F4", "C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "O2")


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true; the timeout only guards against a hung test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def unique_name(prefix: str = "test") -> str:
    """A stream name no other test (or test run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def eeg_samples(start: int, n: int, n_channels: int, rate: float) -> np.ndarray:
    """(n, channels) µV of EEG-like signal for sample indices start..start+n (deterministic).

    A 10 Hz rhythm plus pseudo-random noise of ~10 µV per channel: good quality everywhere.
    """
    k = np.arange(start, start + n)[:, None]
    ch = np.arange(n_channels)[None, :]
    noise = np.sin(k * 12.9898 + ch * 78.233) * 43758.5453
    noise = (noise - np.floor(noise) - 0.5) * 35.0
    return (15.0 * np.sin(2 * np.pi * 10.0 * k / rate + ch) + noise).astype(np.float32)


class SyntheticEEGSource:
    """A pylsl outlet streaming synthetic EEG from a background thread.

    Parameters
    ----------
    name : str
        Stream name (also the source id).
    rate : float
        Declared nominal rate (Hz).
    labels : sequence of str
        Channel labels (type EEG, unit microvolts).
    chunk : int
        Samples per push.
    actual_rate : float, optional
        Rate at which samples are really produced and stamped (default: ``rate``).
    nan_channel : int, optional
        Channel that carries NaN.
    srate_zero : bool
        Declare an irregular rate (0) instead.
    """

    def __init__(
        self, name: str, rate: float = 256.0, labels=LABELS_10_20[:8], chunk: int = 8,
        actual_rate: float | None = None, nan_channel: int | None = None, srate_zero: bool = False,
    ) -> None:
        self.name = name
        self.rate = rate
        self.actual_rate = actual_rate or rate
        self.labels = tuple(labels)
        self.chunk = chunk
        self.nan_channel = nan_channel
        self.srate_zero = srate_zero
        self.next_index = 0  # index of the next sample to produce (skipped ones included)
        self.pushed = 0  # samples really pushed
        self._skip = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.outlet: pylsl.StreamOutlet | None = None
        self.open()
        self.t0 = pylsl.local_clock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def open(self) -> None:
        """(Re)create the outlet, as a restarted amplifier would."""
        info = pylsl.StreamInfo(self.name, "EEG", len(self.labels), 0.0 if self.srate_zero else self.rate,
                                "float32", self.name)
        channels = info.desc().append_child("channels")
        for label in self.labels:
            c = channels.append_child("channel")
            c.append_child_value("label", label)
            c.append_child_value("type", "EEG")
            c.append_child_value("unit", "microvolts")
        with self._lock:
            self.outlet = pylsl.StreamOutlet(info, chunk_size=self.chunk)

    def close(self) -> None:
        """Destroy the outlet (the stream vanishes from the network); the clock keeps running."""
        with self._lock:
            outlet, self.outlet = self.outlet, None
        del outlet

    def skip(self, n: int) -> None:
        """Drop the next ``n`` samples: their timestamps pass, nothing is sent."""
        with self._lock:
            self._skip += n

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.close()

    def _run(self) -> None:
        n_ch = len(self.labels)
        while not self._stop.is_set():
            with self._lock:
                if self._skip:
                    self.next_index += self._skip
                    self._skip = 0
                start = self.next_index
            due = self.t0 + (start + self.chunk - 1) / self.actual_rate
            delay = due - pylsl.local_clock()
            if delay > 0:
                time.sleep(delay)
            data = eeg_samples(start, self.chunk, n_ch, self.rate)
            if self.nan_channel is not None:
                data[:, self.nan_channel] = np.nan
            with self._lock:
                if self.outlet is not None:
                    self.outlet.push_chunk(data, due)
                    self.pushed += self.chunk
                self.next_index = start + self.chunk
