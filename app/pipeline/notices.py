"""Status messages for the user: what happened to the stream, the channels, the model state.

The worker thread posts; the GUI drains the queue on its timer, and the headless CLI
sees the same messages through logging.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("app.pipeline")

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True)
class Notice:
    """One message.

    Parameters
    ----------
    time : float
        Wall-clock time (``time.time()``) of the event.
    level : str
        ``"info"``, ``"warning"`` or ``"error"``.
    code : str
        What kind of event, for programs: ``attached``, ``lost``, ``reattached``,
        ``stalled``, ``resumed``, ``gap``, ``channels``, ``paused``, ``unit``, ``error``,
        ``stopped``, ``recording``.
    message : str
        Human-readable text.
    """

    time: float
    level: str
    code: str
    message: str


class NoticeBoard:
    """Thread-safe queue of notices plus a short history.

    Parameters
    ----------
    capacity : int
        Undrained notices kept (the oldest are dropped if nobody drains), and history length.
    """

    def __init__(self, capacity: int = 1000) -> None:
        self._pending: deque[Notice] = deque(maxlen=capacity)
        self._history: deque[Notice] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def post(self, level: str, code: str, message: str) -> Notice:
        notice = Notice(time.time(), level, code, message)
        with self._lock:
            self._pending.append(notice)
            self._history.append(notice)
        log.log(_LEVELS.get(level, logging.INFO), "%s", message)
        return notice

    def drain(self) -> list[Notice]:
        """Notices posted since the previous call, oldest first."""
        with self._lock:
            out = list(self._pending)
            self._pending.clear()
        return out

    def history(self, code: str | None = None) -> list[Notice]:
        """Recent notices (optionally of one code), oldest first; does not drain."""
        with self._lock:
            return [n for n in self._history if code is None or n.code == code]
