"""The one exception this package raises for inputs it cannot turn into positions."""

from __future__ import annotations

#: Values of :attr:`MontageError.kind`, one per way an input can be unusable.
ERROR_KINDS = (
    "unknown-label",         # EEG channels whose position nothing knows
    "implausible-location",  # ...and the stream gave them positions that cannot be right
    "duplicate-label",       # two EEG channels naming the same electrode
    "no-eeg",                # no EEG channel at all, or none left after dropping
    "montage-file",          # montage file missing, unreadable or malformed
    "unknown-device",        # device profile name not found
    "invalid-input",         # arguments of the wrong shape or type
)


class MontageError(ValueError):
    """Channels that cannot be placed on the head, with what to do about it.

    The message lists the offending channels and the fixes (pass a montage file, pick a
    device profile, or allow dropping). The attributes carry the same for programs.

    Attributes
    ----------
    kind : str
        One of :data:`ERROR_KINDS`; the first problem when there are several.
    kinds : tuple[str, ...]
        Every problem found.
    channels : tuple[str, ...]
        Labels of the offending channels (empty when not about channels).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        channels: tuple[str, ...] = (),
        kinds: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.kinds = tuple(kinds) if kinds else (kind,)
        self.channels = tuple(channels)
