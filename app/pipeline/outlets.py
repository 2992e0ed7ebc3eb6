"""LSL outlets that publish the decoder's output to any LSL client.

- One ``float32`` stream per head, named ``<prefix>-<head>`` (type ``Probabilities``),
  one channel per class; the class names are the channel labels in ``<desc><channels>``.
  Each sample is the (smoothed) probability vector of one token, stamped with the LSL
  time of the newest input sample that token used, so that a client can line decisions
  up with the EEG and with its own events.
- One ``string`` marker stream ``<prefix>-decisions`` (type ``Markers``, irregular rate)
  carrying the discrete decisions ``"<head>:<class>"`` with the same timestamps.

Identity: LSL clients that lose an outlet re-resolve it by its ``source_id``. Every run of
the pipeline is a different series of decisions (its own model state), so each outlet's
source_id is derived from the input stream, the checkpoint's digest and a per-run
instance token: two instances never share one, and a client reading one instance never
silently continues on another's decisions. The input stream and the checkpoint are in
each outlet's ``<desc><samba_live>``, and an outlet name already on the network is
reported at start (clients resolving by name would see both).
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np
from mne_lsl.lsl import StreamInfo, StreamOutlet, resolve_streams

from .decoding import Decision

#: Seconds spent looking for outlets of the same name before publishing.
NAME_CHECK_S = 1.0


@dataclass(frozen=True)
class OutletIdentity:
    """Where the decisions come from, written into every outlet.

    Parameters
    ----------
    stream_name, stream_source_id : str
        The decoded EEG stream.
    checkpoint, checkpoint_sha256 : str
        Path and digest of the checkpoint.
    instance : str
        Token of this run (default: process id and start time).
    """

    stream_name: str
    stream_source_id: str
    checkpoint: str
    checkpoint_sha256: str
    instance: str = ""

    def __post_init__(self) -> None:
        if not self.instance:
            object.__setattr__(self, "instance", f"{os.getpid()}-{time.time_ns():x}")

    def source_id(self, outlet: str) -> str:
        """``samba-live:<outlet>:<12 hex>``, unique per input stream, checkpoint and instance."""
        key = "|".join((self.stream_source_id or self.stream_name, self.checkpoint_sha256, self.instance, outlet))
        return f"samba-live:{outlet}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class DecisionOutlets:
    """Probability outlets (one per head) and the decision marker outlet.

    Parameters
    ----------
    classes : dict head -> tuple of class names
    prefix : str
        Stream names are ``<prefix>-<head>`` and ``<prefix>-decisions``.
    token_rate : float
        Tokens per second (declared as the nominal rate of the probability streams).
    identity : OutletIdentity
        Input stream, checkpoint and instance (source ids and ``<desc>``).

    Attributes
    ----------
    warnings : list of str
        Outlet names that were already on the network, in words for the user.
    """

    def __init__(self, classes: dict[str, tuple[str, ...]], prefix: str, token_rate: float,
                 identity: OutletIdentity) -> None:
        self.classes = classes
        self.prefix = prefix
        self.identity = identity
        self.warnings = _existing(self.names)
        self._outlets: dict[str, StreamOutlet] = {}
        for head, names in classes.items():
            name = f"{prefix}-{head}"
            info = StreamInfo(name, "Probabilities", len(names), token_rate, "float32", identity.source_id(name))
            info.set_channel_names(list(names))
            info.set_channel_types("probability")
            info.set_channel_units("none")
            _describe(info, head, identity)
            self._outlets[head] = StreamOutlet(info)
        name = f"{prefix}-decisions"
        info = StreamInfo(name, "Markers", 1, 0.0, "string", identity.source_id(name))
        info.set_channel_names(["decision"])
        _describe(info, "decisions", identity)
        self._markers = StreamOutlet(info)

    @property
    def names(self) -> list[str]:
        """Names of all outlets, probability streams first."""
        return [f"{self.prefix}-{head}" for head in self.classes] + [f"{self.prefix}-decisions"]

    def push(self, smoothed: list[dict[str, np.ndarray]], sample_times: np.ndarray) -> None:
        """Publish tokens' probabilities.

        Parameters
        ----------
        smoothed : list (tokens) of dict head -> (classes,)
        sample_times : (tokens,) LSL time of each token's newest input sample.
        """
        if not smoothed:
            return
        for head, outlet in self._outlets.items():
            if len(smoothed) == 1:
                outlet.push_sample(np.asarray(smoothed[0][head], dtype=np.float32), timestamp=float(sample_times[0]))
            else:
                data = np.stack([tok[head] for tok in smoothed]).astype(np.float32)
                outlet.push_chunk(data, timestamp=np.asarray(sample_times, dtype=np.float64))

    def push_markers(self, decisions: list[Decision]) -> None:
        """Publish the discrete decisions of these tokens."""
        for decision in decisions:
            for marker in decision.markers:
                self._markers.push_sample([marker], timestamp=decision.sample_time)

    def close(self) -> None:
        """Withdraw the streams from the network."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for outlet in [*self._outlets.values(), self._markers]:
                outlet._del()  # explicit: the outlet disappears now, not at garbage collection
        self._outlets.clear()


def _describe(info: StreamInfo, head: str, identity: OutletIdentity) -> None:
    node = info.desc.append_child("samba_live")
    node.append_child_value("head", head)
    node.append_child_value("source_stream", identity.stream_name)
    node.append_child_value("source_stream_id", identity.stream_source_id)
    node.append_child_value("checkpoint", identity.checkpoint)
    node.append_child_value("checkpoint_sha256", identity.checkpoint_sha256)
    node.append_child_value("instance", identity.instance)
    node.append_child_value("timestamps", "LSL time of the newest input sample used")


def _existing(names: list[str]) -> list[str]:
    """A warning per outlet name already published on the network (by another instance or program)."""
    found = {}
    for sinfo in resolve_streams(timeout=NAME_CHECK_S):
        if sinfo.name in names:
            found.setdefault(sinfo.name, []).append(f"{sinfo.hostname} (source_id {sinfo.source_id!r})")
    return [
        f"an LSL stream named {name!r} already exists on {', '.join(where)}: clients that resolve by name may read "
        "either one; give this instance its own names with --outlet-prefix, or resolve by source_id"
        for name, where in found.items()
    ]
