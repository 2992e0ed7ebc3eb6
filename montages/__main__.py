"""Check how a headset's channels resolve: ``python -m montages --help``.

Prints the montage report (or the error and how to fix it) for channel labels given on
the command line, read from a recording (any file
:func:`samba_core.recordings.read_recording` reads: EDF, BDF, GDF, FIF, XDF, Muse CSV; positions the
file carries are used) or from a live LSL stream.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import MontageError
from .profiles import all_device_profiles
from .resolve import resolve_montage
from .stream_metadata import stream_channels_from_xml


def _from_recording(path: str) -> list[dict]:
    from samba_core.recordings import RecordingError, read_recording

    try:
        return read_recording(path).channel_metadata()
    except RecordingError as exc:
        raise SystemExit(f"error (recording): {exc}") from exc


def _from_lsl(name: str, timeout: float) -> list[dict]:
    from mne_lsl.lsl import StreamInlet, resolve_streams

    streams = resolve_streams(timeout=timeout, name=name)
    if not streams:
        raise SystemExit(f"no LSL stream named {name!r} found within {timeout:g} s")
    inlet = StreamInlet(streams[0])
    # Only the full info from an open inlet carries the <desc> channel meta-data.
    inlet.open_stream(timeout=timeout)
    try:
        return stream_channels_from_xml(inlet.get_sinfo(timeout=timeout).as_xml)
    finally:
        inlet.close_stream()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m montages",
        description="Show where SAMBA-Live places each EEG channel, or why it cannot.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("labels", nargs="*", default=[], help="channel labels, in order")
    source.add_argument(
        "--recording", metavar="FILE", help="read labels and types from a recording"
    )
    source.add_argument(
        "--lsl", metavar="NAME", help="read channel meta-data from a live LSL stream"
    )
    parser.add_argument("--types", nargs="+", metavar="TYPE", help="channel types, one per label")
    parser.add_argument("--device", help="device profile name (see --list-devices)")
    parser.add_argument("--montage-file", metavar="FILE", help="electrode positions file")
    parser.add_argument(
        "--allow-drop", action="store_true", help="mask out EEG channels it cannot place"
    )
    parser.add_argument("--json", action="store_true", help="print the structured result as JSON")
    parser.add_argument("--list-devices", action="store_true", help="list device profiles and exit")
    parser.add_argument("--timeout", type=float, default=5.0, help="LSL look-up timeout in seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 montage error)."""
    args = build_parser().parse_args(argv)
    if args.list_devices:
        for profile in all_device_profiles():
            aliases = f" (also: {', '.join(profile.aliases)})" if profile.aliases else ""
            print(f"{profile.name:22s} {profile.title}{aliases}")
        return 0
    stream_channels = None
    types = args.types
    if args.recording or args.lsl:
        stream_channels = _from_recording(args.recording) if args.recording else _from_lsl(args.lsl, args.timeout)
        labels = [ch.get("label") or str(i) for i, ch in enumerate(stream_channels)]
    else:
        labels = args.labels
    try:
        result = resolve_montage(
            labels,
            types,
            stream_channels=stream_channels,
            montage_file=args.montage_file,
            device=args.device,
            allow_drop=args.allow_drop,
        )
    except MontageError as exc:
        print(f"error ({exc.kind}): {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.format_report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
