"""calibration: fine-tune SAMBA on one subject's calibration session (``samba-calibrate``).

Public API::

    from calibration import calibrate, CalibrationConfig, CalibrationReport, SambaClassifier

    report = calibrate(["session.fif"], "checkpoints/samba-base.samba", "subject.samba",
                       CalibrationConfig(task="mi", train="heads", folds=5))
    print(report.summary())

    # scikit-learn style, on epochs X: (epochs, channels, samples) µV at the model rate
    clf = SambaClassifier("checkpoints/samba-base.samba", task="mi", coords=coords, decision_start=384)
    clf.fit(X, y).predict_proba(X)
"""

from samba_core.recordings import Marker, Recording, RecordingError, read_recording

from .baselines import baseline_estimators, csp_lda, ts_lr
from .calibrate import CalibrationConfig, CalibrationError, calibrate
from .epochs import MIN_EEG_CHANNELS, MIN_TRIALS_PER_CLASS, EpochingError, EpochSet, build_epochs
from .estimator import SambaClassifier
from .finetune import TRAIN_MODES
from .protocols import PROTOCOLS, Protocol, ProtocolError, get_protocol, select_protocol
from .report import CalibrationReport
from .validation import MethodScores, cross_validate, make_folds

__all__ = [
    "CalibrationConfig", "CalibrationError", "CalibrationReport", "EpochSet", "EpochingError", "MIN_EEG_CHANNELS",
    "MIN_TRIALS_PER_CLASS", "Marker", "MethodScores", "PROTOCOLS", "Protocol", "ProtocolError", "Recording",
    "RecordingError", "SambaClassifier", "TRAIN_MODES", "baseline_estimators", "build_epochs", "calibrate",
    "cross_validate", "csp_lda", "get_protocol", "make_folds", "read_recording", "select_protocol", "ts_lr",
]
