"""Real LSL sources for the live-pipeline tests and benches: a synthetic amplifier.

:func:`eeg_outlet` is the amplifier's stream (EEG channels with labels, type and unit, as
amplifier software declares them). :class:`SyntheticEEGSource` feeds one from a thread and
behaves like an amplifier: it stamps each chunk with the scheduled time of its
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


def eeg_outlet(name: str, labels, rate: float, chunk: int = 8, types=None, unit: str = "microvolts",
               irregular: bool = False) -> pylsl.StreamOutlet:
    """A float32 LSL outlet of type EEG whose channels carry a label, a type and a unit.

    Parameters
    ----------
    name : str
        Stream name, also its source id (use :func:`unique_name`: other tests run at the same time).
    labels : sequence of str
        Channel labels.
    rate : float
        Nominal rate (Hz); ``irregular`` declares 0 instead.
    chunk : int
        Preferred chunk size of the outlet.
    types : sequence of str, optional
        Channel types (default: all ``"EEG"``).
    unit : str
        Declared unit of every channel.
    """
    labels = list(labels)
    types = list(types) if types is not None else ["EEG"] * len(labels)
    if len(types) != len(labels):
        raise ValueError(f"{len(types)} channel types for {len(labels)} labels")
    info = pylsl.StreamInfo(name, "EEG", len(labels), 0.0 if irregular else rate, "float32", name)
    channels = info.desc().append_child("channels")
    for label, kind in zip(labels, types):
        c = channels.append_child("channel")
        c.append_child_value("label", label)
        c.append_child_value("type", kind)
        c.append_child_value("unit", unit)
    return pylsl.StreamOutlet(info, chunk_size=chunk)


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
    scale : float
        Factor on the microvolt samples, e.g. 1e-6 for a source that declares microvolts
        but carries volts.
    start : bool
        Start streaming at once; False: the outlet exists (and can be resolved) but pushes
        nothing until :meth:`start`.
    """

    def __init__(
        self, name: str, rate: float = 256.0, labels=LABELS_10_20[:8], chunk: int = 8,
        actual_rate: float | None = None, nan_channel: int | None = None, srate_zero: bool = False,
        start: bool = True, scale: float = 1.0,
    ) -> None:
        self.name = name
        self.rate = rate
        self.actual_rate = actual_rate or rate
        self.labels = tuple(labels)
        self.chunk = chunk
        self.nan_channel = nan_channel
        self.srate_zero = srate_zero
        self.scale = float(scale)
        self.next_index = 0  # index of the next sample to produce (skipped ones included)
        self.pushed = 0  # samples really pushed
        self._skip = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.outlet: pylsl.StreamOutlet | None = None
        self.open()
        self.t0 = pylsl.local_clock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if start:
            self.start()

    def start(self) -> SyntheticEEGSource:
        """Start streaming (at construction unless ``start=False``); sample 0 is due now."""
        self.t0 = pylsl.local_clock()
        self._thread.start()
        return self

    def open(self) -> None:
        """(Re)create the outlet, as a restarted amplifier would."""
        outlet = eeg_outlet(self.name, self.labels, self.rate, self.chunk, irregular=self.srate_zero)
        with self._lock:
            self.outlet = outlet

    def close(self) -> None:
        """Destroy the outlet (the stream vanishes from the network); the clock keeps running."""
        with self._lock:
            outlet, self.outlet = self.outlet, None
        del outlet

    def skip(self, n: int) -> None:
        """Drop the next ``n`` samples: their timestamps pass, nothing is sent."""
        with self._lock:
            self._skip += n

    def stop(self, linger_s: float = 0.0) -> None:
        """Stop pushing; keep the outlet ``linger_s`` more seconds (for the last chunk to reach an inlet), then close it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        time.sleep(linger_s)
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
            data = eeg_samples(start, self.chunk, n_ch, self.rate) * self.scale
            if self.nan_channel is not None:
                data[:, self.nan_channel] = np.nan
            with self._lock:
                if self.outlet is not None:
                    self.outlet.push_chunk(data, due)
                    self.pushed += self.chunk
                self.next_index = start + self.chunk
