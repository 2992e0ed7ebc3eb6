"""The decoding chain of one stream: montage -> conditioning -> model -> token timing.

Sample bookkeeping, per segment (everything restarts at 0 at a reset):

    input sample i (stream rate)  --conditioner-->  model sample k (model rate)
    model sample k  --session (offset)-->  token completed at model index s = k - offset
    token  ->  k = s + offset  ->  i = conditioner.input_index_for_output(k)  ->  LSL time of i

so each decision is stamped with the timestamp of the newest stream sample it used.
``offset`` is non-zero only when the model state was restarted without restarting the
filters (decoding resumed after every channel had been unusable).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from montages import MontageResolution, resolve_montage
from samba_core import LoadedCheckpoint, StreamingSession
from samba_core.preprocessing import PreprocessConfig
from samba_core.quality import ChannelQuality

from .errors import PipelineError
from .heads import CheckpointHeads, checkpoint_heads
from .conditioning import MaskChange, SignalConditioner, eeg_unit
from .decoding import Decoder, DecodingConfig, TokenOutput
from .notices import NoticeBoard
from .streams import StreamLayout
from .timing import SampleClock

#: Seconds of input timestamps remembered: covers the preprocessor's unit-detection
#: hold-back (at most 10 s) plus a hop.
CLOCK_SECONDS = 12.0


def preprocess_config_of(checkpoint: LoadedCheckpoint, mains_hz: float | None = None) -> PreprocessConfig:
    """The preprocessing a checkpoint was trained with (it must resample to the model's rate).

    ``mains_hz`` replaces the notch frequency with the local mains (0 disables the notch).

    Raises
    ------
    PipelineError
        Invalid or inconsistent settings in the checkpoint.
    """
    try:
        config = PreprocessConfig.from_dict(dict(checkpoint.metadata.preprocessing))
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"checkpoint {checkpoint.path} has invalid preprocessing settings: {exc}") from exc
    if abs(config.target_rate - checkpoint.config.sample_rate) > 1e-6:
        raise PipelineError(
            f"checkpoint {checkpoint.path}: its preprocessing resamples to {config.target_rate:g} Hz but the model "
            f"expects {checkpoint.config.sample_rate:g} Hz; the checkpoint is inconsistent, export it again"
        )
    if mains_hz is not None:
        if mains_hz < 0:
            raise PipelineError(f"mains frequency must be 50, 60 or 0 (no notch), got {mains_hz:g} Hz")
        config = replace(config, notch=float(mains_hz) if mains_hz > 0 else None)
    return config


@dataclass(frozen=True)
class MontageOptions:
    """How to place the channels (see :func:`montages.resolve_montage`)."""

    montage_file: str | None = None
    device: str | None = None
    allow_drop: bool = False


@dataclass(frozen=True)
class DecodedTokens:
    """Tokens that became due, with the stream sample behind each.

    Parameters
    ----------
    tokens : list of TokenOutput
    sample_index : (tokens,) int
        Newest input sample used, counted from the segment start.
    sample_time : (tokens,) float
        Its LSL timestamp (s).
    """

    tokens: list[TokenOutput]
    sample_index: np.ndarray
    sample_time: np.ndarray


class DecodingChain:
    """Everything that turns one stream layout's samples into timed decisions.

    Parameters
    ----------
    layout : StreamLayout
    checkpoint : LoadedCheckpoint
    preprocess : PreprocessConfig
    decoding : DecodingConfig
    montage_options : MontageOptions
    notices : NoticeBoard

    Raises
    ------
    montages.MontageError
        Channels that cannot be placed (the message says how to fix it).
    PipelineError
        The stream cannot be preprocessed as the checkpoint requires.
    """

    def __init__(
        self, layout: StreamLayout, checkpoint: LoadedCheckpoint, preprocess: PreprocessConfig,
        decoding: DecodingConfig, montage_options: MontageOptions, notices: NoticeBoard,
    ) -> None:
        self.layout = layout
        self.notices = notices
        self.montage: MontageResolution = resolve_montage(
            list(layout.labels), list(layout.types), stream_channels=[dict(c) for c in layout.channels],
            montage_file=montage_options.montage_file, device=montage_options.device,
            allow_drop=montage_options.allow_drop,
        )
        # Immutable: formatted once, not at every display refresh (the GUI would hold the GIL).
        self.montage_report = self.montage.format_report()
        self.montage_dict = self.montage.to_dict()
        eeg = self.montage.eeg_indices
        self.labels = tuple(layout.labels[i] for i in eeg)
        self.declared_unit = eeg_unit([layout.units[i] for i in eeg])
        self.conditioner = SignalConditioner(
            preprocess, layout.physical_rate, eeg, self.labels, unit=self.declared_unit
        )
        #: What the checkpoint says about each head; only trained ones are decoded.
        self.heads: CheckpointHeads = checkpoint_heads(checkpoint)
        if not self.heads.decoded:
            raise PipelineError(
                f"checkpoint {checkpoint.path}: none of its heads ({', '.join(self.heads.heads)}) was trained, so it "
                "cannot decode; calibrate it for the user first (samba-calibrate, or the Calibration tab)"
            )
        self._report_heads()
        with warnings.catch_warnings(record=True) as caught:  # a fallback is the user's news, not a traceback line
            warnings.simplefilter("always", RuntimeWarning)
            session = StreamingSession(checkpoint.model, self.montage.coords[eeg], backend=decoding.backend)
        for w in caught:
            if issubclass(w.category, RuntimeWarning):
                self.notices.post("warning", "decoding", str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.notices.post("info", "decoding", f"decoding step: {session.backend}"
                          + ("" if session.backend == decoding.backend else f" (asked for {decoding.backend})"))
        self.model_rate = float(checkpoint.config.sample_rate)
        self.decoder = Decoder(session, decoding, self.model_rate, self.heads.decoded)
        self.clock = SampleClock(int(CLOCK_SECONDS * layout.physical_rate) + 4 * session.hop)
        self.paused = False
        #: (channels,) bool: the channels the model uses (set after the model's mask changes).
        self.good = self.conditioner.good.copy()
        self._unit_reported = False
        #: Incremented at every reset of the model state (gap, re-attachment).
        self.segment = 0
        self._start_segment()

    def _report_heads(self) -> None:
        h = self.heads
        lines = [f"{name}: {info.describe()}" for name, info in h.heads.items()]
        self.notices.post("info", "heads", f"decoding with {h.name} ({h.kind}); " + "; ".join(lines)
                          + (f"; not published: {', '.join(h.hidden)} (untrained)" if h.hidden else ""))
        at_chance = [f"{name} ({h.heads[name].accuracy:.2f}, chance {h.heads[name].chance:.2f})" for name in h.at_chance()]
        if at_chance:
            self.notices.post("warning", "heads", f"decoding at chance: {', '.join(at_chance)}; its decisions carry "
                              "no information about this user yet: calibrate the checkpoint for them "
                              "(samba-calibrate, or the Calibration tab)")
        unknown = [name for name, info in h.heads.items() if info.status == "unknown"]
        if unknown:
            self.notices.post("warning", "heads", f"the checkpoint records no training of {', '.join(unknown)}: "
                              "nothing says its decisions are better than chance")

    def report_unit(self) -> str | None:
        """Once the preprocessor has settled the signal unit: say what it is and why; returns it then, else None.

        A declared unit the amplitude contradicts is a warning (decoding goes on in the unit the
        amplitude gives, :func:`samba_core.units.reconcile_unit`); no declared unit is an info.
        """
        pre = self.conditioner.preprocessor
        if self._unit_reported or pre.unit is None:
            return None
        self._unit_reported = True
        if pre.unit_note is not None:
            self.notices.post("warning", "unit", f"{self.layout.summary.name!r}: {pre.unit_note.split('. If ')[0]}; "
                              "decoding goes on in that unit: correct the unit your amplifier software declares")
        elif self.declared_unit is None:
            self.notices.post("info", "unit", f"the stream declares no signal unit; its amplitude says {pre.unit}")
        return pre.unit

    @property
    def classes(self) -> dict[str, tuple[str, ...]]:
        return self.decoder.classes

    @property
    def token_rate(self) -> float:
        return self.model_rate / self.decoder.session.hop

    def new_segment(self) -> None:
        """After a discontinuity: filters, quality window, model state and sample counts restart."""
        self.segment += 1
        self._start_segment()

    def _start_segment(self) -> None:
        self.conditioner.reset()
        self.clock.reset()
        self._offset = 0
        self.decoder.reset()

    def _live(self, tokens: list) -> list:
        """After the preprocessor's start-up hold-back, only the newest token is a live decision
        (the rest are stale); it carries each head's decision if the stale tokens made one that
        the rule still holds (e.g. the segment's first)."""
        if len(tokens) < 2:
            return tokens
        newest = tokens[-1]
        own = {m.split(":", 1)[0] for m in newest.markers}
        made = {m.split(":", 1)[0] for tok in tokens[:-1] for m in tok.markers} - own
        held = [self.decoder.rule.held(head) for head in sorted(made)]
        return [replace(newest, markers=tuple(m for m in held if m is not None) + newest.markers)]

    def process(self, x: np.ndarray, t: np.ndarray) -> DecodedTokens | None:
        """x: (stream channels, n) stream units; t: (n,) LSL times -> the tokens now due."""
        self.clock.append(t)
        holding = self.conditioner.preprocessor.unit is None
        y = self.conditioner.process(x)
        if self.paused or y.shape[1] == 0:
            return None
        tokens = self.decoder.push(y)
        if holding:
            tokens = self._live(tokens)
        if not tokens:
            return None
        k = np.array([tok.model_index for tok in tokens], dtype=np.int64) + self._offset
        index = self.conditioner.input_index_for_output(k)
        return DecodedTokens(tokens, index, self.clock.time_of(index))

    def check_channels(self) -> None:
        """Re-judge channel quality when due and apply the new mask from the next chunk on.

        Called after the decisions of a chunk are out: the statistics cost up to a
        millisecond for 128 channels, which must not delay a decision.
        """
        change = self.conditioner.check_quality()
        if change is not None:
            self._apply_mask(change)
        mains = self.conditioner.mains.verdict()
        if mains is not None:
            self.notices.post("warning", "mains", mains)

    def _apply_mask(self, change: MaskChange) -> None:
        bad = [f"{label} ({q.value})" for label, q in change.changed if q is not ChannelQuality.GOOD]
        back = [label for label, q in change.changed if q is ChannelQuality.GOOD]
        if bad:
            self.notices.post("warning", "channels", f"channel(s) masked out of the model: {', '.join(bad)}")
        if back:
            self.notices.post("info", "channels", f"channel(s) back in use: {', '.join(back)}")
        if not change.good.any():
            self.good = change.good.copy()
            self.paused = True
            self.notices.post(
                "warning", "paused", "every EEG channel is unusable; decoding is paused until one recovers "
                "(check the electrodes and the amplifier)",
            )
            return
        self.decoder.set_channel_mask(change.good)
        self.good = change.good.copy()  # after the model's mask: a snapshot never shows one without the other
        if self.paused:
            # The model skipped samples: its state restarts, and its sample count from the next output on.
            self.paused = False
            self.decoder.reset()
            self._offset = self.conditioner.preprocessor.n_samples_out
            self.notices.post("info", "reset", "a channel recovered; decoding resumes with a fresh model state")
