"""Device profiles: what each headset calls its channels and where they sit.

A profile is a JSON file in ``montages/profiles/`` (found through ``importlib.resources``
so it works from an installed wheel too). It names an MNE built-in montage that holds the
coordinates and lists the device's channels in the order the device streams them, so
that labels a device invents ("A1".."B32" on BioSemi, "E1".."E128" on EGI, "1".."8" or
"EXG Channel 0" on OpenBCI) resolve by name or by position. See ``montages/README.md``
for the file format.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .channel_kinds import EEG
from .head_frame import builtin_montage_name, template_positions
from .labels import label_key, normalize_label

_PROFILE_KEYS = {
    "name", "aliases", "title", "source", "montage", "channel_order", "native_labels",
    "label_map", "non_eeg", "notes",
}


class ProfileFormatError(ValueError):
    """A profile file that does not follow the documented format (a packaging bug)."""


@dataclass(frozen=True)
class ProfileMatch:
    """How a profile reads one channel label.

    Attributes
    ----------
    kind : str
        "eeg" or the non-EEG kind the profile declares for the channel.
    montage_label : str | None
        For EEG channels, the montage channel holding the position.
    how : str
        "label", "native label" or "channel number N" (for the report).
    """

    kind: str
    montage_label: str | None
    how: str


@dataclass(frozen=True)
class DeviceProfile:
    """One headset's channel names, order and electrode positions.

    Attributes
    ----------
    name : str
        Canonical profile name (the file name without ``.json``).
    aliases : tuple[str, ...]
        Other names the profile answers to.
    title, source, notes : str
        Human-readable description, where the layout comes from, caveats.
    montage : str
        MNE built-in montage holding the coordinates.
    channel_order : tuple[str, ...]
        The device's default channel order, normalised; EEG entries name montage
        channels, others appear in ``non_eeg``.
    native_labels : tuple[str, ...]
        The device's own names for ``channel_order`` (same length) or empty.
    label_map : dict[str, str]
        Extra device label -> montage channel.
    non_eeg : dict[str, str]
        Device label -> kind, for channels the device always streams beside EEG.
    """

    name: str
    title: str
    source: str
    montage: str
    channel_order: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    native_labels: tuple[str, ...] = ()
    label_map: dict[str, str] = field(default_factory=dict)
    non_eeg: dict[str, str] = field(default_factory=dict)
    notes: str = ""

    @functools.cached_property
    def _index(self) -> dict[str, tuple[str, str | None, str]]:
        # key -> (kind, montage label, how); earlier rules win.
        index: dict[str, tuple[str, str | None, str]] = {}
        non_eeg = {label_key(k): v for k, v in self.non_eeg.items()}
        for key, kind in non_eeg.items():
            index.setdefault(key, (kind, None, "label"))
        for device_label, target in self.label_map.items():
            index.setdefault(label_key(device_label), (EEG, target, "label"))
        for native, entry in zip(self.native_labels, self.channel_order, strict=False):
            kind = non_eeg.get(label_key(entry), EEG)
            index.setdefault(
                label_key(native), (kind, entry if kind == EEG else None, "native label")
            )
        for entry in self.channel_order:
            kind = non_eeg.get(label_key(entry), EEG)
            index.setdefault(label_key(entry), (kind, entry if kind == EEG else None, "label"))
        return index

    def match(self, label: str, number: int | None, base: int) -> ProfileMatch | None:
        """How this device reads a label, or None when the profile does not know it.

        Parameters
        ----------
        label : str
            The channel label as streamed.
        number : int | None
            Its channel number when the label is one (see
            :func:`montages.labels.positional_number`).
        base : int
            0 or 1: what the first channel is numbered in this stream.
        """
        hit = self._index.get(label_key(label))
        if hit is not None:
            return ProfileMatch(*hit)
        if number is not None and 0 <= number - base < len(self.channel_order):
            entry = self.channel_order[number - base]
            kind = self._index[label_key(entry)][0]
            how = f"channel number {number} ({'0' if base == 0 else '1'}-based)"
            return ProfileMatch(kind, entry if kind == EEG else None, how)
        return None

    def position(self, montage_label: str) -> np.ndarray:
        """Head-frame position (metres) of one of this profile's montage channels."""
        return template_positions(self.montage)[montage_label.upper()][1]

    @property
    def eeg_channels(self) -> tuple[str, ...]:
        """The EEG entries of the default channel order."""
        non_eeg = {label_key(k) for k in self.non_eeg}
        return tuple(c for c in self.channel_order if label_key(c) not in non_eeg)


def _profile_files() -> dict[str, resources.abc.Traversable]:
    folder = resources.files("montages") / "profiles"
    return {
        entry.name[: -len(".json")]: entry
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


def _parse_profile(stem: str, data: object) -> DeviceProfile:
    where = f"device profile montages/profiles/{stem}.json"
    if not isinstance(data, dict):
        raise ProfileFormatError(f"{where}: the top level must be a JSON object")
    unknown = set(data) - _PROFILE_KEYS
    missing = {"name", "title", "source", "montage", "channel_order"} - set(data)
    if unknown or missing:
        raise ProfileFormatError(
            f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
        )
    if data["name"] != stem:
        raise ProfileFormatError(f"{where}: 'name' must be the file name, '{stem}'")
    try:
        montage = builtin_montage_name(data["montage"])
    except KeyError:
        raise ProfileFormatError(
            f"{where}: montage {data['montage']!r} is not an MNE built-in montage"
        ) from None
    non_eeg = {str(k): str(v) for k, v in data.get("non_eeg", {}).items()}
    non_eeg_keys = {label_key(k) for k in non_eeg}
    positions = template_positions(montage)
    order = []
    for entry in data["channel_order"]:
        name = normalize_label(entry)
        if label_key(name) not in non_eeg_keys:
            if name.upper() not in positions:
                raise ProfileFormatError(
                    f"{where}: channel {entry!r} is neither in montage {montage!r} "
                    "nor listed in 'non_eeg'"
                )
            name = positions[name.upper()][0]
        order.append(name)
    label_map = {}
    for device_label, target in data.get("label_map", {}).items():
        target_key = normalize_label(target).upper()
        if target_key not in positions:
            raise ProfileFormatError(
                f"{where}: label_map target {target!r} is not in montage {montage!r}"
            )
        label_map[str(device_label)] = positions[target_key][0]
    native = tuple(str(x) for x in data.get("native_labels", ()))
    if native and len(native) != len(order):
        raise ProfileFormatError(
            f"{where}: native_labels has {len(native)} entries, channel_order {len(order)}"
        )
    return DeviceProfile(
        name=stem,
        title=str(data["title"]),
        source=str(data["source"]),
        montage=montage,
        channel_order=tuple(order),
        aliases=tuple(str(a) for a in data.get("aliases", ())),
        native_labels=native,
        label_map=label_map,
        non_eeg=non_eeg,
        notes=str(data.get("notes", "")),
    )


@functools.cache
def _load_all() -> dict[str, DeviceProfile]:
    profiles = {}
    for stem, entry in sorted(_profile_files().items()):
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProfileFormatError(
                f"device profile montages/profiles/{stem}.json is not valid JSON: {exc}"
            ) from exc
        profiles[stem] = _parse_profile(stem, data)
    return profiles


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def list_device_profiles() -> list[str]:
    """Names of all device profiles, sorted (aliases are accepted too, not listed)."""
    return sorted(_load_all())


def all_device_profiles() -> tuple[DeviceProfile, ...]:
    """Every device profile, sorted by name."""
    return tuple(_load_all()[name] for name in list_device_profiles())


def find_device_profile(name: str) -> DeviceProfile | None:
    """The profile called ``name`` or one of its aliases (case, '-', '_', ' ' ignored)."""
    wanted = _name_key(name)
    for profile in _load_all().values():
        if wanted in {_name_key(n) for n in (profile.name, *profile.aliases)}:
            return profile
    return None


def close_profile_names(name: str, n: int = 3) -> list[str]:
    """Profile names and aliases that look like a misspelt ``name``."""
    names = [n_ for p in _load_all().values() for n_ in (p.name, *p.aliases)]
    return difflib.get_close_matches(name.lower(), names, n=n, cutoff=0.5)
