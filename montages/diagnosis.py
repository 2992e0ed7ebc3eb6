"""Error messages that say which channels are wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .channel_kinds import EEG
from .errors import MontageError
from .labels import positional_number
from .montage_file import SUPPORTED_SUFFIXES
from .profiles import (
    DeviceProfile,
    all_device_profiles,
    close_profile_names,
    list_device_profiles,
)


@dataclass(frozen=True)
class Problem:
    """One EEG channel that cannot be model input, and why."""

    index: int
    label: str
    why: str
    implausible: bool = False  # the stream gave it a location that cannot be right


def _matching_profiles(unresolved: Sequence[Problem]) -> list[str]:
    """Profiles that know every unresolved, non-numbered label by name."""
    named = [p for p in unresolved if positional_number(p.label) is None]
    if not named:
        return []
    hits = []
    for profile in all_device_profiles():
        matches = [profile.match(p.label, None, 1) for p in named]
        if all(m is not None and m.kind == EEG for m in matches):
            hits.append(profile.name)
    return hits


def _profiles_by_size(n_numbered: int) -> list[str]:
    """Profiles with exactly (else at least) this many EEG channels, for numbered labels."""
    sizes = {p.name: len(p.eeg_channels) for p in all_device_profiles()}
    exact = [name for name, size in sizes.items() if size == n_numbered]
    return exact or [name for name, size in sizes.items() if size >= n_numbered]


def describe(problems: Sequence[Problem], limit: int = 10) -> str:
    """One line per channel, the overflow compressed to a list of labels."""
    lines = [f"  channel {p.index} '{p.label}': {p.why}" for p in problems[:limit]]
    if len(problems) > limit:
        rest = ", ".join(f"'{p.label}'" for p in problems[limit:])
        lines.append(f"  ... and {len(problems) - limit} more for the same kind of reason: {rest}")
    return "\n".join(lines)


def fix_text(
    unresolved: Sequence[Problem],
    duplicates: Sequence[Problem],
    n_eeg: int,
    profile: DeviceProfile | None,
    *,
    offer_drop: bool = True,
) -> str:
    """The fixes that apply, as an indented list."""
    lines = ["To fix it, do one of:"]
    if any(p.implausible for p in unresolved):
        lines.append(
            "  - correct the stream's channel <location> meta-data (head frame: x right, "
            "y front, z up; unit m, cm or mm), or remove it"
        )
    if unresolved:
        lines.append(
            "  - give their positions in a montage file: montage_file='my_cap.elc' (any of "
            f"{' '.join(SUPPORTED_SUFFIXES)}; JSON: {{\"units\": \"mm\", \"frame\": "
            "\"head\", \"channels\": {\"<label>\": [x, y, z]}}; see montages/README.md)"
        )
        matching = _matching_profiles(unresolved)
        numbered = sum(positional_number(p.label) is not None for p in unresolved)
        if matching:
            pick = f"these labels are channels of: {', '.join(matching)}"
        elif numbered == len(unresolved):
            pick = (
                "numbered labels are placed by the profile's default channel order; "
                f"profiles for {numbered} channels: {', '.join(_profiles_by_size(numbered))}"
            )
        else:
            pick = f"available: {', '.join(list_device_profiles())}"
        current = f" (now {profile.name!r})" if profile else ""
        lines.append(f"  - pick your headset's device profile{current}: device='<name>'; {pick}")
    if duplicates:
        lines.append("  - rename or remove the duplicate channels")
    if offer_drop:
        remaining = n_eeg - len(unresolved) - len(duplicates)
        kept = ", keeping the first of each duplicate" if duplicates else ""
        lines.append(
            f"  - leave them out of model input: allow_drop=True ({remaining} of {n_eeg} "
            f"EEG channels would remain{kept})"
        )
    return "\n".join(lines)


def _unresolved_kind(unresolved: Sequence[Problem]) -> str:
    return "implausible-location" if any(p.implausible for p in unresolved) else "unknown-label"


def unplaceable_error(
    unresolved: Sequence[Problem],
    duplicates: Sequence[Problem],
    n_eeg: int,
    profile: DeviceProfile | None,
) -> MontageError:
    """The error for EEG channels that cannot be placed or name an electrode twice."""
    parts, kinds = [], []
    if unresolved:
        kinds.append(_unresolved_kind(unresolved))
        parts.append(
            f"{len(unresolved)} of {n_eeg} EEG channels cannot be placed on the head:\n"
            + describe(unresolved)
        )
    if duplicates:
        kinds.append("duplicate-label")
        parts.append(
            f"{len(duplicates)} EEG channel(s) name an electrode another channel already "
            "names:\n" + describe(duplicates)
        )
    return MontageError(
        "\n".join(parts) + "\n" + fix_text(unresolved, duplicates, n_eeg, profile),
        kind=kinds[0],
        kinds=tuple(kinds),
        channels=tuple(p.label for p in [*unresolved, *duplicates]),
    )


def nothing_left_error(
    unresolved: Sequence[Problem],
    duplicates: Sequence[Problem],
    n_eeg: int,
    profile: DeviceProfile | None,
) -> MontageError:
    """The error when dropping would leave no EEG channel at all."""
    return MontageError(
        f"None of the {n_eeg} EEG channels can be placed on the head, so nothing is left "
        "as model input (allow_drop cannot help):\n"
        + describe([*unresolved, *duplicates])
        + "\n" + fix_text(unresolved, duplicates, n_eeg, profile, offer_drop=False),
        kind="no-eeg",
        kinds=("no-eeg", _unresolved_kind(unresolved)),
        channels=tuple(p.label for p in [*unresolved, *duplicates]),
    )


def no_eeg_error(channels: Sequence[tuple[str, str]]) -> MontageError:
    """The error for a stream without any EEG channel; ``channels`` are (label, kind)."""
    found = ", ".join(f"'{label}' ({kind})" for label, kind in channels[:12])
    more = " ..." if len(channels) > 12 else ""
    return MontageError(
        f"No EEG channel among the {len(channels)} channels: {found}{more}. If some of them "
        "are EEG, declare their type as 'EEG' or label them with their 10-05 electrode names.",
        kind="no-eeg",
    )


def unknown_device_error(device: str) -> MontageError:
    """The error for a device profile name that does not exist."""
    close = close_profile_names(device)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return MontageError(
        f"No device profile called {device!r}.{hint} Available profiles: "
        f"{', '.join(list_device_profiles())}. If your headset is not listed, pass a "
        "montage file instead (see montages/README.md).",
        kind="unknown-device",
    )
