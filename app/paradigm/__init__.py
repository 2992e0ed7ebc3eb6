"""Cued paradigms without a toolkit: protocol files, the protocol timer, the cue stream, the session file.

Public API::

    from app.paradigm import load_protocol, new_run_dir, run_paradigm

    protocol = load_protocol("app/protocols/graz_mi.json")
    result = run_paradigm(protocol, pipeline_config, new_run_dir("data", protocol))   # headless
    result.session.path       # the session file samba-calibrate reads

- :mod:`.protocol`: protocol files (:class:`CueProtocol`, :func:`load_protocol`);
- :mod:`.timer`: the seeded schedule and the deterministic :class:`ProtocolTimer`;
- :mod:`.displays`: what the cue screen shows at each moment, as plain values;
- :mod:`.cue_outlet`: the LSL cue marker stream;
- :mod:`.session_file`: the live recording turned into a calibration session file;
- :mod:`.run`: :class:`ParadigmRun`, one run's timeline, markers and files, for any driver;
- :mod:`.runner`: :func:`run_paradigm`, the headless driver (the GUI's calibration tab is the other);
- :mod:`.feedback`: feedback runs: the cursor following the decoder, trials scored online with an interval;
- :mod:`.headless`: several runs in a row (``samba-live --headless --paradigm``).

Nothing here imports Qt: the GUI drives these objects from its timers.
"""

from .cue_outlet import CueOutlet, SentMarker
from .cue_classes import ARROWS, IMAGERY, imagery_words
from .displays import arithmetic_problem, screen_text, step_problem, tracking_position
from .feedback import (
    DEFAULT_CURSOR_SMOOTHING_S, FEEDBACK_DISPLAY, FEEDBACK_NONE, FEEDBACK_START, CursorSmoother, FeedbackLoop, RunScore,
    FeedbackOutcome, combined_score, cursor_position, wilson_interval,
)
from .headless import FEEDBACK_FILE, RunOutcome, head_classes, resolve_protocol, run_protocol_runs
from .protocol import (
    DISPLAYS, PROTOCOL_DIR, CueProtocol, Phase, ProtocolFileError, builtin_protocols, load_protocol,
    protocol_from_dict, trial_count_warning,
)
from .run import ParadigmRun, default_data_dir, default_seed, new_run_dir
from .runner import ParadigmError, ParadigmResult, run_paradigm
from .session_file import SessionFile, SessionFileError, finalize_session
from .timer import END_MARKER, START_MARKER, ProtocolTimer, Step, TimerEvent, build_schedule, trial_order

__all__ = [
    "DEFAULT_CURSOR_SMOOTHING_S", "FEEDBACK_DISPLAY", "FEEDBACK_FILE", "FEEDBACK_NONE", "FEEDBACK_START", "IMAGERY",
    "CursorSmoother", "FeedbackLoop", "RunOutcome", "RunScore", "FeedbackOutcome", "combined_score", "cursor_position",
    "default_data_dir", "head_classes", "imagery_words", "resolve_protocol", "run_protocol_runs", "wilson_interval",
    "ARROWS", "CueOutlet", "CueProtocol", "DISPLAYS", "END_MARKER", "PROTOCOL_DIR", "ParadigmError", "ParadigmResult",
    "ParadigmRun", "Phase", "ProtocolFileError", "ProtocolTimer", "START_MARKER", "SentMarker", "SessionFile",
    "SessionFileError", "Step", "TimerEvent", "arithmetic_problem", "build_schedule", "builtin_protocols",
    "default_seed", "finalize_session", "load_protocol", "new_run_dir", "protocol_from_dict", "run_paradigm",
    "screen_text", "step_problem", "tracking_position", "trial_count_warning", "trial_order",
]
