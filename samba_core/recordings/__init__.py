"""Recorded EEG, read one way: files, dataset layouts and the subjects reserved for evaluation.

- :func:`read_recording` -> :class:`Recording` (µV, channels, markers on samples, segments);
  every consumer (replay, calibration, the pretraining corpus, ``python -m montages``) uses it.
- :func:`discover` -> the subjects of EEGMMIDB / EEGMAT / Muse present in a data folder.
- :func:`reserved_subjects` -> what a data README reserves for evaluation.
"""

from .datasets import DatasetFile, SubjectRecordings, discover, eegmmidb_files, training_subjects
from .read import SUPPORTED_SUFFIXES, read_recording
from .recording import Marker, Recording, RecordingError, file_sha256
from .reserved import (ReservedSubjectError, ReservedSubjects, parse_reserved, reserved_subjects, shared_subjects,
                       subject_key, subject_number)

__all__ = [
    "SUPPORTED_SUFFIXES", "DatasetFile", "Marker", "Recording", "RecordingError", "ReservedSubjectError",
    "ReservedSubjects", "SubjectRecordings", "discover", "eegmmidb_files", "file_sha256", "training_subjects", "parse_reserved", "read_recording", "reserved_subjects",
    "shared_subjects", "subject_key", "subject_number",
]
