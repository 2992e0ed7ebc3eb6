"""Causal, stateful EEG preprocessing shared by live streaming and offline training.

One :class:`OnlinePreprocessor` turns raw ``(channels, time)`` chunks at the amplifier
rate into float32 microvolts at the model rate. It carries all filter state between
chunks, so preprocessing a whole recording (:func:`preprocess_offline`) gives the same
samples as pushing it chunk by chunk, whatever the chunk sizes: the model sees the same
input in calibration/training as it will see live.

Order of operations, and why:

1. **Unit conversion to µV** (float64). Every threshold (quality monitor, unit
   detection) and every filter state lives in one known scale.
2. **Non-finite samples** (NaN, ±inf) are replaced by the channel's last finite value
   and counted in :attr:`OnlinePreprocessor.nonfinite_counts`. A single NaN entering an
   IIR state would poison it forever. Holding the last value rather than writing 0
   avoids a step of the size of the electrode DC offset (tens of mV on some amplifiers),
   which would ring through the band-pass for seconds. The channel is then flagged NAN
   by the :class:`~samba_core.quality.ChannelQualityMonitor`, which sees the data before
   this step.
3. **Notch** (mains), then 4. **band-pass** (Butterworth), both causal IIR in second-order
   sections, run at the input rate as one cascade. They are applied before resampling so
   that the resampler only has to protect the band-pass range from aliasing, which lets
   it use a short (low-latency) anti-aliasing filter.
   The filter state is initialised to the steady state for the first sample, so a DC
   offset does not produce a start-up transient.
5. **Resampling** to ``target_rate`` with a polyphase FIR
   (:class:`~samba_core.resampling.PolyphaseResampler`).
6. **Common average reference** over the good channels; bad channels are zeroed. CAR is
   linear and per sample, so it commutes with the channel-wise filters: done last it is
   cheaper (lower rate), and a change of the channel mask takes effect at once instead of
   injecting a step into every channel's filter state.

Typical live wiring::

    monitor = ChannelQualityMonitor(n_channels, stream_rate)
    pre = OnlinePreprocessor(config, stream_rate, n_channels, unit=stream_unit,
                             monitor=monitor)
    for chunk in stream:                     # chunk: (channels, time) in stream units
        out = pre.process(chunk)             # (channels, n_out) float32 µV at 256 Hz
        pre.set_channel_mask(monitor.good_mask())
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import signal

from .preprocessing_config import PreprocessConfig
from .quality import ChannelQualityMonitor
from .resampling import PolyphaseResampler, validate_chunk, validate_rate
from .units import UNIT_TO_MICROVOLTS, detect_unit, parse_unit, reconcile_unit, robust_amplitude

__all__ = [
    "PreprocessConfig",
    "OnlinePreprocessor",
    "preprocess_offline",
    "parse_unit",
    "detect_unit",
]

# Auto unit detection (see units.detect_unit) looks at the first second of a stream, and
# waits up to 10 s for a stream that starts silent.
_DETECT_SECONDS = 1.0
_DETECT_MAX_SECONDS = 10.0


class OnlinePreprocessor:
    """Stateful causal preprocessing of ``(channels, time)`` chunks; see the module docstring.

    Parameters
    ----------
    config : PreprocessConfig
        Filter, rate and reference settings.
    input_rate : float
        Sampling rate of the incoming data in Hz.
    n_channels : int
        Number of channels (rows) of every chunk.
    unit : str, optional
        Unit of the incoming data, taken as given (``"microvolts"``, ``"µV"``, ``"V"``...).
        Overrides ``config.input_unit``. None or ``"unknown"`` defers to the config.
    declared_unit : str, optional
        Unit a live source *declares* in its metadata, checked rather than trusted: the first
        second is held back as with automatic detection and
        :func:`~samba_core.units.reconcile_unit` decides (the declared unit unless the
        amplitude contradicts it by orders of magnitude, e.g. µV declared and volts carried);
        :attr:`unit_note` then says why. Ignored when ``unit`` is given.
    monitor : ChannelQualityMonitor, optional
        Updated with every chunk in µV after unit conversion and before any cleaning or
        filtering; read its ``good_mask()`` to drive :meth:`set_channel_mask`.

    Notes
    -----
    With automatic unit detection, the first second of input is held back until the
    unit is decided (longer if it is all zeros, at most 10 s, then µV is assumed with a
    warning); :meth:`flush` decides on whatever is held, e.g. at the end of a recording.
    """

    def __init__(
        self,
        config: PreprocessConfig,
        input_rate: float,
        n_channels: int,
        unit: str | None = None,
        monitor: ChannelQualityMonitor | None = None,
        declared_unit: str | None = None,
    ) -> None:
        validate_rate(input_rate, "input_rate")
        self.config = config
        self.input_rate = float(input_rate)
        self.n_channels = int(n_channels)
        input_nyquist = self.input_rate / 2.0
        target_nyquist = config.target_rate / 2.0
        passband = None
        if config.bandpass is not None:
            high = config.bandpass[1]
            if high >= min(input_nyquist, target_nyquist):
                raise ValueError(
                    f"band-pass upper edge {high:g} Hz must be below the Nyquist frequency of "
                    f"the input ({input_nyquist:g} Hz) and of the target rate "
                    f"({target_nyquist:g} Hz); lower bandpass[1]."
                )
            passband = high
        if config.notch is not None and config.notch >= input_nyquist:
            raise ValueError(
                f"notch frequency {config.notch:g} Hz is not below the input Nyquist frequency "
                f"{input_nyquist:g} Hz; set notch=None for this stream."
            )
        self._resampler = PolyphaseResampler(
            self.input_rate, config.target_rate, self.n_channels, passband, config.anti_alias_db
        )
        self._sos = self._design_iir()
        if monitor is not None and (
            monitor.n_channels != self.n_channels or monitor.rate != self.input_rate
        ):
            raise ValueError(
                f"monitor is set up for {monitor.n_channels} channels at {monitor.rate:g} Hz but "
                f"the stream has {self.n_channels} channels at {self.input_rate:g} Hz."
            )
        self.monitor = monitor
        unit = parse_unit(unit, strict=True)
        if unit is None and config.input_unit != "auto":
            unit = config.input_unit
        self._unit = unit
        self._declared = parse_unit(declared_unit, strict=False) if unit is None else None
        #: Why the unit in use is not the declared one (None when it is, or nothing was declared).
        self.unit_note: str | None = None
        self._good = np.ones(self.n_channels, dtype=bool)
        self.reset()

    def _design_iir(self) -> np.ndarray | None:
        """Notch and band-pass as one cascade of second-order sections."""
        sections = []
        if self.config.notch is not None:
            b, a = signal.iirnotch(self.config.notch, self.config.notch_q, fs=self.input_rate)
            sections.append(signal.tf2sos(b, a))
        if self.config.bandpass is not None:
            sections.append(signal.butter(self.config.filter_order, self.config.bandpass,
                                          btype="bandpass", output="sos", fs=self.input_rate))
        return np.vstack(sections) if sections else None

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Start a new segment (e.g. after a stream gap): filter state, counters and
        non-finite counts restart; the unit decision and the channel mask are kept."""
        self._zi: np.ndarray | None = None
        self._held = np.zeros(self.n_channels)
        self._nonfinite = np.zeros(self.n_channels, dtype=np.int64)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._resampler.reset()
        self.n_samples_in = 0

    def set_channel_mask(self, good: np.ndarray) -> None:
        """Set which channels are good.

        Parameters
        ----------
        good : (n_channels,) bool
            False channels are left out of the common average and zeroed in the output.
        """
        good = np.asarray(good)
        if good.shape != (self.n_channels,) or good.dtype != bool:
            raise ValueError(f"channel mask must be a bool array of shape ({self.n_channels},), "
                             f"got dtype {good.dtype} and shape {good.shape}.")
        self._good = good.copy()

    @property
    def channel_mask(self) -> np.ndarray:
        """(n_channels,) bool, True for good channels."""
        return self._good.copy()

    @property
    def unit(self) -> str | None:
        """Canonical input unit, or None while it is still being detected."""
        return self._unit

    @property
    def output_rate(self) -> float:
        """Exact output rate in Hz (``input_rate * up / down``)."""
        return self._resampler.output_rate

    @property
    def n_samples_out(self) -> int:
        """Output samples returned since the last reset."""
        return self._resampler.n_samples_out

    @property
    def nonfinite_counts(self) -> np.ndarray:
        """(n_channels,) int: non-finite input samples replaced since the last reset."""
        return self._nonfinite.copy()

    def input_index_for_output(self, k):
        """Index (since reset) of the newest input sample that output ``k`` depends on.

        Latency accounting: output ``k`` can exist only once input
        ``input_index_for_output(k)`` has arrived. ``k`` may be an int or an int array.
        """
        return self._resampler.input_index_for_output(k)

    def output_index_for_input(self, n):
        """Index of the first output sample that depends on input sample ``n``."""
        return self._resampler.output_index_for_input(n)

    def group_delay_s(self, freq_hz: float = 10.0) -> float:
        """Signal delay (s) at ``freq_hz``: IIR group delay (frequency dependent) plus the
        resampler's constant FIR delay."""
        delay = self._resampler.group_delay_s
        if self._sos is not None:
            for section in self._sos:
                _, gd = signal.group_delay((section[:3], section[3:]), w=[freq_hz],
                                           fs=self.input_rate)
                delay += float(gd[0]) / self.input_rate
        return delay

    # ------------------------------------------------------------- processing
    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Preprocess the next chunk.

        Parameters
        ----------
        chunk : (n_channels, n_samples) float
            Raw samples in the stream's unit, any ``n_samples >= 0``.

        Returns
        -------
        (n_channels, n_out) float32
            New output samples in µV at :attr:`output_rate`.
        """
        x = validate_chunk(chunk, self.n_channels)
        self.n_samples_in += x.shape[1]
        if self._unit is None:
            self._pending.append(x)
            self._n_pending += x.shape[1]
            if self._n_pending < _DETECT_SECONDS * self.input_rate:
                return self._empty()
            held = np.concatenate(self._pending, axis=1)
            unit = self._decide_unit(held)
            if unit is None and self._n_pending < _DETECT_MAX_SECONDS * self.input_rate:
                return self._empty()
            return self._release_pending(unit)
        return self._run(x)

    def flush(self) -> np.ndarray:
        """Decide the unit on held-back input (if any) and return its output."""
        if self._unit is not None or not self._pending:
            return self._empty()
        return self._release_pending(self._decide_unit(np.concatenate(self._pending, axis=1)))

    def _decide_unit(self, held: np.ndarray) -> str | None:
        """The unit of the held-back input: detected, or the declared one checked against the amplitude."""
        if self._declared is None:
            return detect_unit(held)
        if robust_amplitude(held) is None:
            return None  # silent so far: wait (the declared unit is taken after 10 s)
        unit, self.unit_note = reconcile_unit(held, self._declared)
        return unit

    def _release_pending(self, unit: str | None) -> np.ndarray:
        if unit is None and self._declared is not None:
            unit = self._declared
        if unit is None:
            warnings.warn(
                "could not detect the signal unit (the data has no amplitude); assuming "
                "microvolts. Pass unit= explicitly to silence this.", RuntimeWarning,
                stacklevel=3,
            )
            unit = "uV"
        self._unit = unit
        held = np.concatenate(self._pending, axis=1)
        self._pending, self._n_pending = [], 0
        return self._run(held)

    def _run(self, x: np.ndarray) -> np.ndarray:
        x = x * UNIT_TO_MICROVOLTS[self._unit]
        if self.monitor is not None:
            self.monitor.update(x)
        if x.shape[1] == 0:
            return self._empty()
        x = self._hold_nonfinite(x)
        if self._sos is not None:
            if self._zi is None:
                # Steady state for a signal that was constant at its first value.
                self._zi = signal.sosfilt_zi(self._sos)[:, None, :] * x[None, :, :1]
            x, self._zi = signal.sosfilt(self._sos, x, axis=1, zi=self._zi)
        y = self._resampler.process(x)
        good = self._good
        if self.config.common_average and good.any():
            y -= y[good].mean(axis=0, keepdims=True)
        y[~good] = 0.0
        return y.astype(np.float32)

    def _hold_nonfinite(self, x: np.ndarray) -> np.ndarray:
        """Replace non-finite samples by the channel's last finite value (0 before any)."""
        finite = np.isfinite(x)
        if not finite.all():
            self._nonfinite += np.count_nonzero(~finite, axis=1)
            extended = np.concatenate([self._held[:, None], x], axis=1)
            source = np.where(np.concatenate([np.ones((self.n_channels, 1), bool), finite], 1),
                              np.arange(x.shape[1] + 1), 0)
            np.maximum.accumulate(source, axis=1, out=source)
            x = np.take_along_axis(extended, source, axis=1)[:, 1:]
        self._held = x[:, -1].copy()
        return x

    def _empty(self) -> np.ndarray:
        return np.zeros((self.n_channels, 0), dtype=np.float32)


def preprocess_offline(
    data: np.ndarray, input_rate: float, config: PreprocessConfig, unit: str | None = None,
    channel_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Preprocess a whole recording exactly as the live pipeline would stream it.

    Parameters
    ----------
    data : (channels, time) float
        Raw recording in ``unit`` (or auto-detected, see :func:`detect_unit`).
    input_rate : float
        Sampling rate of ``data`` in Hz.
    config : PreprocessConfig
        Same settings as used live / stored in the checkpoint.
    unit : str, optional
        Unit of ``data``; overrides ``config.input_unit``.
    channel_mask : (channels,) bool, optional
        Good channels (default: all).

    Returns
    -------
    (channels, ceil(time * up / down)) float32
        µV at the target rate, identical to pushing ``data`` in any chunking.
    """
    x = np.asarray(data)
    if x.ndim != 2:
        raise ValueError(f"data must be 2-D (channels, time), got shape {x.shape}.")
    pre = OnlinePreprocessor(config, input_rate, x.shape[0], unit=unit)
    if channel_mask is not None:
        pre.set_channel_mask(channel_mask)
    return np.concatenate([pre.process(x), pre.flush()], axis=1)
