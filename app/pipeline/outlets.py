"""LSL outlets that publish the decoder's output to any LSL client.

- One ``float32`` stream per head, named ``<prefix>-<head>`` (type ``Probabilities``),
  one channel per class; the class names are the channel labels in ``<desc><channels>``.
  Each sample is the (smoothed) probability vector of one token, stamped with the LSL
  time of the newest input sample that token used, so that a client can line decisions
  up with the EEG and with its own events.
- One ``string`` marker stream ``<prefix>-decisions`` (type ``Markers``, irregular rate)
  carrying the discrete decisions ``"<head>:<class>"`` with the same timestamps.
"""

from __future__ import annotations

import warnings

import numpy as np
from mne_lsl.lsl import StreamInfo, StreamOutlet

from .decoding import Decision


class DecisionOutlets:
    """Probability outlets (one per head) and the decision marker outlet.

    Parameters
    ----------
    classes : dict head -> tuple of class names
    prefix : str
        Stream names are ``<prefix>-<head>`` and ``<prefix>-decisions``.
    token_rate : float
        Tokens per second (declared as the nominal rate of the probability streams).
    source : str
        Name of the EEG stream decoded (written into each stream's ``<desc>``).
    """

    def __init__(self, classes: dict[str, tuple[str, ...]], prefix: str, token_rate: float, source: str) -> None:
        self.classes = classes
        self.prefix = prefix
        self._outlets: dict[str, StreamOutlet] = {}
        for head, names in classes.items():
            info = StreamInfo(f"{prefix}-{head}", "Probabilities", len(names), token_rate, "float32", f"{prefix}-{head}")
            info.set_channel_names(list(names))
            info.set_channel_types("probability")
            info.set_channel_units("none")
            _describe(info, head, source)
            self._outlets[head] = StreamOutlet(info)
        info = StreamInfo(f"{prefix}-decisions", "Markers", 1, 0.0, "string", f"{prefix}-decisions")
        info.set_channel_names(["decision"])
        _describe(info, "decisions", source)
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


def _describe(info: StreamInfo, head: str, source: str) -> None:
    node = info.desc.append_child("samba_live")
    node.append_child_value("head", head)
    node.append_child_value("source_stream", source)
    node.append_child_value("timestamps", "LSL time of the newest input sample used")
