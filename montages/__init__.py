"""Electrode positions for any EEG headset, in one head frame, for the model's CDSE.

The model's Coordinate-Driven Spatial Embedding needs a 3D position for every EEG
channel. :func:`resolve_montage` finds one for each channel of a stream, or raises a
:class:`MontageError` that lists the channels it cannot place and how to fix that.

Frame and scaling
-----------------
Every position comes out in **metres** in **MNE's "head" frame**, whatever its source:
origin on the line between the left and right pre-auricular points (LPA, RPA), midway
for a symmetric head; +x towards RPA, +y towards the nasion, +z up. Scalp electrodes lie
0.06-0.16 m from the origin (Cz about 0.14 m above it). No per-head rescaling is done:
templates keep their own size (MNE's 10-05 template is a real head; its spherical cap
templates have a 95 mm radius), so sources agree to about 2 cm.

Where positions come from, in priority order
--------------------------------------------
1. ``stream-metadata``: a plausible ``<location>`` in the stream's channel meta-data,
   assumed to be in the head frame (XDF convention); unit from a length ``unit`` field or
   inferred from magnitude (m, cm, mm). Implausible ones are reported and skipped.
2. ``montage-file``: a file given with ``montage_file`` (any format MNE reads, or our
   JSON), converted to the head frame with its fiducials.
3. ``device-profile``: a device profile (``device=``), which also places device-specific
   and numbered labels by the device's default channel order.
4. ``standard-1005``: MNE's 10-05 template, looked up by normalised label.

Public API
----------
resolve_montage, MontageResolution, ChannelResolution, MontageError,
list_device_profiles. See ``montages/README.md`` for adding a headset.
"""

from .errors import MontageError
from .profiles import list_device_profiles
from .resolution import ChannelResolution, MontageResolution
from .resolve import resolve_montage
from .stream_metadata import stream_channels_from_xml

__all__ = [
    "ChannelResolution",
    "MontageError",
    "MontageResolution",
    "list_device_profiles",
    "resolve_montage",
    "stream_channels_from_xml",
]
