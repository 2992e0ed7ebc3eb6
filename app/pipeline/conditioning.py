"""Signal conditioning: stream samples -> the model's input, plus the channel mask.

Only the EEG channels that the montage placed go on: they are converted to microvolts,
filtered and resampled to the model rate by the checkpoint's own
:class:`~samba_core.preprocessing.OnlinePreprocessor` (so live input matches training),
and watched by a :class:`~samba_core.quality.ChannelQualityMonitor`, whose verdicts become
the channel mask of the preprocessor (common average over good channels) and of the
model's spatial embedding (CDSE ignores masked channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samba_core.preprocessing import UNIT_TO_MICROVOLTS, OnlinePreprocessor, PreprocessConfig, parse_unit
from samba_core.quality import ChannelQuality, ChannelQualityMonitor, QualityConfig

from .errors import PipelineError
from .mains import MainsCheck

#: MNE-LSL writes a channel's unit as its power-of-ten multiplier of the SI unit (V for EEG).
_EXPONENT_UNITS = {0: "V", -3: "mV", -6: "uV", -9: "nV"}


def channel_unit(text: str | None) -> str | None:
    """Canonical unit (``"V"``, ``"mV"``, ``"uV"``, ``"nV"``) of one channel's ``<unit>``, or None.

    Understands names (``microvolts``, ``µV``, ``V``...) and MNE-LSL's exponents (``"0"``
    = volts, ``"-6"`` = microvolts).
    """
    if text is None:
        return None
    try:
        return _EXPONENT_UNITS.get(int(str(text).strip()))
    except ValueError:
        return parse_unit(text, strict=False)


def eeg_unit(units: list[str | None] | tuple[str | None, ...]) -> str | None:
    """The one signal unit of the model's channels, from their ``<unit>`` meta-data.

    Returns None when no channel declares a known unit (the preprocessor then detects it
    from the amplitude).

    Raises
    ------
    PipelineError
        The channels declare different units.
    """
    found = {unit for unit in map(channel_unit, units) if unit is not None}
    if len(found) > 1:
        raise PipelineError(
            f"the EEG channels declare different units ({', '.join(sorted(found))}); the model needs one scale. "
            "Fix the units in the amplifier's LSL settings."
        )
    return found.pop() if found else None


@dataclass(frozen=True)
class MaskChange:
    """Channels whose usability changed at the last quality check.

    Parameters
    ----------
    good : (channels,) bool
        The new mask over the model's channels.
    changed : tuple of (label, quality) pairs
        Channels that changed, with their new verdict.
    """

    good: np.ndarray
    changed: tuple[tuple[str, ChannelQuality], ...]


class SignalConditioner:
    """Turns raw stream chunks into model-rate µV input for the model's EEG channels.

    Parameters
    ----------
    config : PreprocessConfig
        The checkpoint's preprocessing.
    input_rate : float
        Physical sampling rate of the stream in Hz.
    eeg_indices : (channels,) int
        Stream indices of the model's channels.
    labels : sequence of str
        Their labels (for notices).
    unit : str, optional
        Their declared signal unit (see :func:`eeg_unit`), checked against the amplitude of the
        first second (:func:`samba_core.units.reconcile_unit`); None detects it from the data.
    quality_interval_s : float
        Seconds of input between two quality verdicts (statistics over a 2 s window
        cost more than one chunk is worth).
    quality_config : QualityConfig
        Thresholds of the channel quality monitor.
    """

    def __init__(
        self, config: PreprocessConfig, input_rate: float, eeg_indices: np.ndarray, labels, unit: str | None = None,
        quality_interval_s: float = 0.25, quality_config: QualityConfig = QualityConfig(),
    ) -> None:
        self.eeg_indices = np.asarray(eeg_indices, dtype=np.int64)
        self.labels = tuple(labels)
        n = self.eeg_indices.size
        self.monitor = ChannelQualityMonitor(n, input_rate, config=quality_config)
        try:
            self.preprocessor = OnlinePreprocessor(config, input_rate, n, monitor=self.monitor, declared_unit=unit)
        except ValueError as exc:
            raise PipelineError(f"a {input_rate:g} Hz stream cannot be preprocessed as this checkpoint requires: {exc}") from exc
        self._interval = max(1, int(round(quality_interval_s * input_rate)))
        self._min_fill = max(2, int(round(quality_config.min_fill_s * input_rate)))
        self.good = np.ones(n, dtype=bool)
        #: Checks once, over the first seconds, that the notch is at the data's line noise.
        self.mains = MainsCheck(input_rate, config.notch)
        #: Verdicts and detrended amplitudes (µV) of the last quality check, per channel.
        self.verdicts: tuple[tuple[ChannelQuality, ...], np.ndarray] = (
            (ChannelQuality.GOOD,) * n, np.full(n, np.nan))
        self.reset()

    @property
    def output_rate(self) -> float:
        return self.preprocessor.output_rate

    @property
    def scale_to_uv(self) -> float:
        """Factor from stream units to µV (NaN while the unit is being detected)."""
        unit = self.preprocessor.unit
        return UNIT_TO_MICROVOLTS[unit] if unit else float("nan")

    def reset(self) -> None:
        """New segment: filter states and the quality window restart; the mask is kept
        until the window has refilled."""
        self.preprocessor.reset()
        self.monitor.reset()
        self._since_check = 0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """chunk: (stream channels, n) in stream units -> (model channels, n_out) float32 µV."""
        self._since_check += chunk.shape[1]
        eeg = chunk[self.eeg_indices]
        self.mains.add(eeg)
        return self.preprocessor.process(eeg)

    def input_index_for_output(self, k: np.ndarray) -> np.ndarray:
        """Index (since reset) of the newest input sample behind output sample(s) ``k``."""
        return np.asarray(self.preprocessor.input_index_for_output(np.asarray(k, dtype=np.int64)))

    def check_quality(self) -> MaskChange | None:
        """Re-judge the channels when due; returns the change of mask, if any.

        The preprocessor's mask is updated here; the caller forwards ``good`` to the model.
        :attr:`verdicts` is refreshed at every check (a new tuple: readers in other
        threads see either the old or the new one, never half of each).
        """
        if self._since_check < self._interval or self.monitor.n_samples < self._min_fill:
            return None
        self._since_check = 0
        good = self.monitor.good_mask()
        status = self.monitor.status()
        self.verdicts = (tuple(status), self.monitor.amplitude_uv())
        if np.array_equal(good, self.good):
            return None
        changed = tuple((self.labels[i], status[i]) for i in np.flatnonzero(good != self.good))
        self.good = good
        self.preprocessor.set_channel_mask(good)
        return MaskChange(good.copy(), changed)

