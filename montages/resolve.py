"""Resolve a stream's channels to head-frame electrode positions for the model.

Priority per EEG channel: stream meta-data location > montage file > device profile >
10-05 lookup of the normalised label. Non-EEG channels are excluded with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .channel_kinds import EEG, kind_from_label, kind_from_type
from .diagnosis import (
    Problem,
    no_eeg_error,
    nothing_left_error,
    unknown_device_error,
    unplaceable_error,
)
from .errors import MontageError
from .head_frame import STANDARD_TEMPLATE, template_positions
from .labels import (
    clean_label,
    is_standard_1005,
    label_key,
    normalize_label,
    positional_number,
)
from .montage_file import MontageFile, read_montage_file
from .profiles import DeviceProfile, ProfileMatch, find_device_profile
from .resolution import ChannelResolution, MontageResolution
from .stream_metadata import StreamLocation, read_stream_locations


@dataclass
class _Channel:
    """Working state for one channel while resolving."""

    index: int
    label: str
    normalized: str
    kind: str = EEG
    reason: str | None = None
    position: np.ndarray | None = None
    source: str | None = None
    mapped: str | None = None
    note: str | None = None
    unresolved: str | None = None  # why an EEG channel has no position
    implausible: bool = False
    positional: bool = False


def _invalid(message: str) -> MontageError:
    return MontageError(message, kind="invalid-input")


def _check_inputs(
    labels: Sequence[str],
    types: Sequence[str | None] | None,
    stream_channels: Sequence[Mapping] | None,
) -> tuple[list[str], list[str | None]]:
    if isinstance(labels, str) or not isinstance(labels, Sequence | np.ndarray):
        raise _invalid(
            f"labels must be a sequence of channel labels, got {type(labels).__name__}"
        )
    labels = list(labels)
    if not labels:
        raise MontageError(
            "The stream has no channels, so there is no EEG to place.", kind="no-eeg"
        )
    bad = [repr(x) for x in labels if not isinstance(x, str)]
    if bad:
        raise _invalid(f"channel labels must be strings; got {', '.join(bad[:5])}")
    n = len(labels)
    if stream_channels is not None:
        if isinstance(stream_channels, str | bytes) or not isinstance(stream_channels, Sequence):
            raise _invalid("stream_channels must be a sequence of mappings, one per channel")
        if len(stream_channels) != n or not all(isinstance(c, Mapping) for c in stream_channels):
            raise _invalid(
                f"stream_channels must hold one mapping per channel ({n}); got "
                f"{len(stream_channels)} entries"
            )
    if types is None:
        types = [c.get("type") for c in stream_channels] if stream_channels else [None] * n
    elif isinstance(types, str) or len(types) != n:
        raise _invalid(
            f"types must give one type per channel ({n} labels); got "
            f"{'a string' if isinstance(types, str) else len(types)}"
        )
    return labels, list(types)


def _get_profile(device: str | None) -> DeviceProfile | None:
    if device is None:
        return None
    profile = find_device_profile(str(device))
    if profile is None:
        raise unknown_device_error(str(device))
    return profile


def _classify(
    ch: _Channel,
    channel_type: str | None,
    match: ProfileMatch | None,
    profile: DeviceProfile | None,
) -> None:
    """Set the channel's kind (and exclusion reason): type, then profile, then label."""
    type_kind = kind_from_type(channel_type)
    if type_kind is not None:
        ch.kind, ch.reason = type_kind, f"declared type {channel_type!r}"
    elif match is not None:
        if match.kind != EEG:
            ch.kind = match.kind
            ch.reason = f"the {profile.name} profile lists it as {match.kind}"
    else:
        by_label = kind_from_label(clean_label(ch.label))
        if by_label is not None:
            ch.kind, ch.reason = by_label[0], f"the label reads as {by_label[1]}"


def _place(
    ch: _Channel,
    location: StreamLocation | None,
    match: ProfileMatch | None,
    mfile: MontageFile | None,
    profile: DeviceProfile | None,
    number: int | None,
    base: int,
) -> None:
    """Find an EEG channel's position by source priority, or record why there is none."""
    fallback = None
    if location is not None:
        if location.position_m is not None:
            ch.position, ch.source = location.position_m, "stream-metadata"
            ch.mapped = ch.normalized
            return
        fallback = location.problem
    profile_label = match.montage_label if match is not None else None
    hit = mfile.lookup(ch.normalized, profile_label) if mfile is not None else None
    standard = template_positions(STANDARD_TEMPLATE).get(ch.normalized.upper())
    if hit is not None:
        ch.mapped, ch.position = hit
        ch.source = "montage-file"
    elif profile_label is not None:
        ch.position, ch.source = profile.position(profile_label), "device-profile"
        ch.mapped = profile_label
        ch.positional = match.how.startswith("channel number")
    elif standard is not None:
        ch.mapped, ch.position = standard
        ch.source = "standard-1005"
    if fallback is not None:
        ch.implausible = ch.position is None
        used = f"; used the {ch.source} position instead" if ch.position is not None else ""
        ch.note = f"{fallback}{used}"
    if ch.position is not None:
        return
    why = [f"'{ch.normalized}' is not a 10-05 electrode name"]
    pair = ch.normalized.split("-")
    if len(pair) == 2 and all(is_standard_1005(side) for side in pair):
        why = [f"'{ch.normalized}' is a bipolar derivation (the difference of two "
               "electrodes), which has no single position"]
    if number is not None:
        why = [f"'{ch.label}' is channel number {number}, which only a device profile can place"]
        if profile is not None:
            why = [
                f"channel number {number} is outside the {len(profile.channel_order)} "
                f"channels of the {profile.name} profile ({base}-based)"
            ]
    elif profile is not None:
        why.append(f"not a {profile.name} channel")
    if mfile is not None:
        why.append("not in the montage file")
    if fallback is not None:
        why.insert(0, fallback)
    ch.unresolved = ", ".join(why)


def resolve_montage(
    labels: Sequence[str],
    types: Sequence[str | None] | None = None,
    *,
    stream_channels: Sequence[Mapping] | None = None,
    montage_file: str | os.PathLike | None = None,
    device: str | None = None,
    allow_drop: bool = False,
) -> MontageResolution:
    """Place every EEG channel of a stream on the head, or say exactly why not.

    Parameters
    ----------
    labels : Sequence[str]
        Channel labels in stream order, as the device or file gives them.
    types : Sequence[str | None] | None
        Per-channel type strings ("EEG", "eog", "TRIG", "MISC", ...). None: taken from
        ``stream_channels`` when given, else judged from the labels.
    stream_channels : Sequence[Mapping] | None
        Parsed LSL ``<desc><channels><channel>`` entries (keys label, type, unit,
        location), one per channel. A plausible location wins over every other source.
    montage_file : str | os.PathLike | None
        Electrode positions for this cap (see :mod:`montages.montage_file`).
    device : str | None
        Device profile name (see :func:`list_device_profiles`).
    allow_drop : bool
        Mask out EEG channels that cannot be placed (or duplicate another) instead of
        raising. With no EEG channel left it raises all the same.

    Returns
    -------
    MontageResolution
        Coordinates ``(n_channels, 3)`` in metres in the head frame, the model mask and
        per-channel decisions.

    Raises
    ------
    MontageError
        Listing the offending channels and how to fix them.
    """
    labels, types = _check_inputs(labels, types, stream_channels)
    profile = _get_profile(device)
    mfile = read_montage_file(montage_file) if montage_file is not None else None
    notes: list[str] = []
    locations: list[StreamLocation | None] = [None] * len(labels)
    if stream_channels is not None:
        try:
            locations, stream_notes = read_stream_locations(stream_channels, len(labels))
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        notes += stream_notes
    if mfile is not None:
        notes += [f"montage file: {n}" for n in mfile.notes]

    numbers = [positional_number(label) for label in labels]
    base = 0 if 0 in numbers else 1
    channels = []
    for i, label in enumerate(labels):
        ch = _Channel(i, label, normalize_label(label))
        match = profile.match(label, numbers[i], base) if profile else None
        _classify(ch, types[i], match, profile)
        if ch.kind == EEG:
            _place(ch, locations[i], match, mfile, profile, numbers[i], base)
        channels.append(ch)

    eeg = [c for c in channels if c.kind == EEG]
    if not eeg:
        raise no_eeg_error([(c.label, c.kind) for c in channels])
    first_by_key: dict[str, _Channel] = {}
    duplicates = []
    for ch in eeg:
        if ch.position is None:
            continue
        key = label_key(ch.mapped or ch.normalized)
        if key in first_by_key:
            first = first_by_key[key]
            ch.unresolved = f"same electrode ({ch.mapped}) as channel {first.index} '{first.label}'"
            duplicates.append(ch)
        else:
            first_by_key[key] = ch
    unresolved = [c for c in eeg if c.position is None]
    if unresolved or duplicates:
        problems = (
            [Problem(c.index, c.label, c.unresolved, c.implausible) for c in unresolved],
            [Problem(c.index, c.label, c.unresolved) for c in duplicates],
        )
        if not allow_drop:
            raise unplaceable_error(*problems, len(eeg), profile)
        if len(unresolved) + len(duplicates) == len(eeg):
            raise nothing_left_error(*problems, len(eeg), profile)
    for ch in duplicates:
        ch.reason, ch.position = f"duplicate: {ch.unresolved}", None
    for ch in unresolved:
        ch.reason = f"no position: {ch.unresolved}"
    if unresolved or duplicates:
        notes.append(
            f"allow_drop: {len(unresolved) + len(duplicates)} EEG channels masked out of "
            "model input (see their status)"
        )
    if profile is not None and any(c.positional for c in channels):
        notes.append(
            f"numbered labels were read as {base}-based positions in the {profile.name} "
            f"default channel order ({profile.title}); right only if the electrodes sit "
            "at the profile's default places"
        )
    if profile is not None:
        notes.append(f"device profile {profile.name}: {profile.source}")

    coords = np.full((len(channels), 3), np.nan, dtype=np.float32)
    for ch in channels:
        if ch.kind == EEG and ch.reason is None:
            coords[ch.index] = ch.position
    mask = ~np.isnan(coords[:, 0])
    return MontageResolution(
        labels=tuple(labels),
        coords=coords,
        mask=mask,
        channels=tuple(
            ChannelResolution(
                index=c.index,
                label=c.label,
                normalized_label=c.normalized,
                kind=c.kind,
                source=c.source if c.reason is None else None,
                excluded_reason=c.reason,
                mapped_label=c.mapped,
                note=c.note,
            )
            for c in channels
        ),
        device=profile.name if profile else None,
        montage_file=mfile.path if mfile else None,
        notes=tuple(notes),
    )
