"""Causal streaming resampling by a rational factor with carried state.

The resampler is a polyphase anti-aliasing FIR filter: conceptually the input is
up-sampled by ``up`` (zeros inserted), low-pass filtered by ``h`` and down-sampled
by ``down``. Written out, output sample ``k`` is

    y[k] = sum_t  up * h[p + t * up] * x[i - t],   i = (k * down) // up,
                                                   p = (k * down) % up

so it only needs the ``taps_per_phase`` newest inputs up to ``i``. The resampler keeps
those as history between chunks, which makes the output independent of how the input
was chunked (whole recording offline == chunk by chunk live).

Filter design. The pass band ends at ``passband_hz`` (the highest frequency the caller
cares about, e.g. the upper band-pass edge) and the stop band starts at
``min(fs_in, fs_out) - passband_hz``: everything that would alias (down-sampling) or
image (up-sampling) *into the pass band* is attenuated by ``attenuation_db``, while the
transition band may alias into the unused region between the pass band and the output
Nyquist frequency. That wider transition band keeps the filter short, hence the
latency low, which matters more to a live BCI than a clean 45-128 Hz region.
The filter is linear phase: its group delay is ``group_delay_s`` at all frequencies.

Before the first sample the history is filled with that first sample ("edge" start),
as if the signal had been constant before, so that a DC level does not produce a
start-up transient.
"""

from __future__ import annotations

from fractions import Fraction
import math

import numpy as np
from scipy import signal

__all__ = ["PolyphaseResampler", "rational_ratio", "design_antialias_filter"]

# Gathering (channels, outputs, taps) at once costs memory; long recordings are
# processed in blocks of at most this many gathered elements.
_MAX_GATHER_ELEMENTS = 1 << 22


def rational_ratio(input_rate: float, target_rate: float) -> tuple[int, int]:
    """Return ``(up, down)`` with ``up / down`` the closest ratio to ``target / input``.

    Parameters
    ----------
    input_rate, target_rate : float
        Sampling rates in Hz, both > 0.

    Returns
    -------
    (up, down) : tuple of int
        Coprime integers, ``down <= 1000``. The actual output rate is
        ``input_rate * up / down``, which equals ``target_rate`` for every usual EEG rate.
    """
    validate_rate(input_rate, "input_rate")
    validate_rate(target_rate, "target_rate")
    ratio = Fraction(target_rate / input_rate).limit_denominator(1000)
    if ratio == 0:
        raise ValueError(
            f"target_rate {target_rate} Hz is too small relative to input_rate {input_rate} Hz "
            "(ratio below 1/1000); choose a target rate at least input_rate / 1000."
        )
    return ratio.numerator, ratio.denominator


def design_antialias_filter(
    up: int, down: int, input_rate: float, passband_hz: float, attenuation_db: float = 60.0
) -> np.ndarray:
    """Design the Kaiser-window low-pass FIR used by :class:`PolyphaseResampler`.

    Parameters
    ----------
    up, down : int
        Resampling factors.
    input_rate : float
        Input sampling rate in Hz.
    passband_hz : float
        Highest frequency (Hz) kept unattenuated; must be below the smaller of the input
        and output Nyquist frequencies.
    attenuation_db : float
        Stop-band attenuation in dB.

    Returns
    -------
    h : (n_taps,) float64
        Filter taps at the up-sampled rate ``input_rate * up``, unit DC gain.
    """
    output_rate = input_rate * up / down
    min_nyquist = min(input_rate, output_rate) / 2.0
    if not 0.0 < passband_hz < 0.95 * min_nyquist:
        raise ValueError(
            f"resampler pass band {passband_hz:g} Hz must be > 0 and below 95% of the "
            f"Nyquist frequency {min_nyquist:g} Hz of the input ({input_rate:g} Hz) / output "
            f"({output_rate:g} Hz) rate; lower the band-pass upper edge or raise the target rate."
        )
    if attenuation_db <= 20.0:
        raise ValueError(f"attenuation_db must be > 20 dB, got {attenuation_db}.")
    upsampled_rate = input_rate * up
    stopband_hz = 2.0 * min_nyquist - passband_hz
    width = (stopband_hz - passband_hz) / (upsampled_rate / 2.0)
    n_taps, beta = signal.kaiserord(attenuation_db, width)
    n_taps |= 1  # odd length: the group delay is a whole number of up-sampled samples
    # Cut-off midway through the transition band, i.e. at the smaller Nyquist frequency.
    return signal.firwin(n_taps, min_nyquist, window=("kaiser", beta), fs=upsampled_rate)


class PolyphaseResampler:
    """Causal, stateful rational resampler for ``(channels, time)`` chunks.

    Parameters
    ----------
    input_rate : float
        Input sampling rate in Hz.
    target_rate : float
        Requested output rate in Hz; the exact rate is :attr:`output_rate`.
    n_channels : int
        Number of channels (rows) of every chunk.
    passband_hz : float, optional
        Highest frequency (Hz) to preserve; defaults to 80% of the smaller Nyquist
        frequency. See the module docstring for the design rule.
    attenuation_db : float
        Attenuation (dB) of everything that would alias or image into the pass band.

    Notes
    -----
    With equal rates the resampler is a pass-through (no filter, zero delay).
    State is ``(n_channels, taps_per_phase - 1)`` samples of history plus two counters,
    whatever the pushed length.
    """

    def __init__(
        self,
        input_rate: float,
        target_rate: float,
        n_channels: int,
        passband_hz: float | None = None,
        attenuation_db: float = 60.0,
    ) -> None:
        self.up, self.down = rational_ratio(input_rate, target_rate)
        if int(n_channels) != n_channels or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}.")
        self.input_rate = float(input_rate)
        self.n_channels = int(n_channels)
        self.output_rate = self.input_rate * self.up / self.down
        self.passthrough = self.up == 1 and self.down == 1
        if self.passthrough:
            self.taps = np.ones(1)
            self._phases = np.ones((1, 1))
        else:
            if passband_hz is None:
                passband_hz = 0.8 * min(self.input_rate, self.output_rate) / 2.0
            self.taps = design_antialias_filter(
                self.up, self.down, self.input_rate, passband_hz, attenuation_db
            )
            taps_per_phase = math.ceil(len(self.taps) / self.up)
            padded = np.zeros(taps_per_phase * self.up)
            padded[: len(self.taps)] = self.taps * self.up  # gain `up` restores amplitude
            # _phases[p, j] multiplies x[i - (T - 1) + j]: taps reversed so that a window
            # of inputs in increasing time order is dotted directly.
            self._phases = padded.reshape(taps_per_phase, self.up).T[:, ::-1].copy()
        self.taps_per_phase = self._phases.shape[1]
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget all history; the next sample starts a new segment at index 0."""
        self._history: np.ndarray | None = None  # allocated from the first sample
        self.n_samples_in = 0
        self.n_samples_out = 0

    @property
    def group_delay_s(self) -> float:
        """Delay (s) of the linear-phase anti-aliasing filter, identical at all frequencies."""
        if self.passthrough:
            return 0.0
        return (len(self.taps) - 1) / 2.0 / (self.input_rate * self.up)

    def n_outputs_for(self, n_inputs: int) -> int:
        """Number of output samples produced once ``n_inputs`` inputs have been pushed."""
        return -(-int(n_inputs) * self.up // self.down)  # ceil(n * up / down)

    def input_index_for_output(self, k):
        """Index of the newest input sample that output sample ``k`` depends on.

        Parameters
        ----------
        k : int or array of int
            Output sample index (0 = first output since the last reset).
        """
        newest = np.asarray(k, dtype=np.int64) * self.down // self.up
        return int(newest) if newest.ndim == 0 else newest

    def output_index_for_input(self, n):
        """Index of the first output sample that depends on input sample ``n``."""
        first = -(-np.asarray(n, dtype=np.int64) * self.up // self.down)  # ceil(n * up / down)
        return int(first) if first.ndim == 0 else first

    # ------------------------------------------------------------- processing
    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Resample one chunk.

        Parameters
        ----------
        chunk : (n_channels, n_samples) float
            Next samples of the input, any ``n_samples >= 0``.

        Returns
        -------
        (n_channels, n_out) float64
            Every output sample whose newest input is in this or an earlier chunk and
            that was not returned before.
        """
        x = validate_chunk(chunk, self.n_channels)
        n = x.shape[1]
        if self.passthrough:
            self.n_samples_in += n
            self.n_samples_out += n
            return x.copy()
        if n == 0:
            return np.zeros((self.n_channels, 0))
        if self._history is None:
            self._history = np.repeat(x[:, :1], self.taps_per_phase - 1, axis=1)
        buffer = np.concatenate([self._history, x], axis=1)
        # buffer[:, 0] is input sample `first`.
        first = self.n_samples_in - (self.taps_per_phase - 1)
        self.n_samples_in += n
        k_stop = self.n_outputs_for(self.n_samples_in)
        ks = np.arange(self.n_samples_out, k_stop, dtype=np.int64)
        out = np.empty((self.n_channels, len(ks)))
        windows = np.lib.stride_tricks.sliding_window_view(buffer, self.taps_per_phase, axis=1)
        block = max(1, _MAX_GATHER_ELEMENTS // (self.n_channels * self.taps_per_phase))
        for start in range(0, len(ks), block):
            kb = ks[start : start + block]
            newest = kb * self.down // self.up
            phase = kb * self.down % self.up
            # windows[:, j] holds inputs first + j .. first + j + T - 1.
            win = windows[:, newest - (self.taps_per_phase - 1) - first]
            out[:, start : start + len(kb)] = np.einsum("ckt,kt->ck", win, self._phases[phase])
        self.n_samples_out = k_stop
        self._history = buffer[:, buffer.shape[1] - (self.taps_per_phase - 1) :].copy()
        return out


def validate_rate(rate: float, name: str) -> None:
    if not (isinstance(rate, (int, float, np.integer, np.floating)) and math.isfinite(rate)
            and rate > 0):
        raise ValueError(f"{name} must be a finite number of Hz > 0, got {rate!r}.")


def validate_chunk(chunk: np.ndarray, n_channels: int) -> np.ndarray:
    """Validate a ``(n_channels, n_samples)`` chunk and return it as float64."""
    x = np.asarray(chunk)
    if x.ndim != 2:
        raise ValueError(
            f"chunk must be 2-D (n_channels, n_samples), got shape {x.shape}; "
            "wrap a single channel as x[None, :]."
        )
    if x.shape[0] != n_channels:
        hint = (
            " It looks like (n_samples, n_channels), as pylsl's pull_chunk returns: pass its "
            "transpose." if x.shape[1] == n_channels else ""
        )
        raise ValueError(
            f"chunk has {x.shape[0]} channels (rows) but {n_channels} were configured; "
            f"shape is {x.shape}.{hint}"
        )
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"chunk must hold real numbers, got dtype {x.dtype}.")
    return np.asarray(x, dtype=np.float64)
