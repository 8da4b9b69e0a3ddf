"""The session log (SQLite, WAL) in the user's data folder.

It keeps practices run, steps, pauses and their lengths, open-question ids and timings;
never audio, transcripts, prompt texts or crisis events. The implementation lives in
:mod:`assistant.logstore`; this module is the one to import.
"""

from __future__ import annotations

from .logstore.rows import (
    PauseRow,
    PracticeEventRow,
    PracticeRow,
    QuestionRow,
    SessionRow,
    SessionSummary,
    StepRow,
    iso_utc,
)
from .logstore.schema import APPLICATION_ID, SCHEMA_VERSION
from .logstore.store import EXPORT_FORMAT, EXPORT_VERSION, FILENAME, SessionLog

__all__ = [
    "APPLICATION_ID",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "FILENAME",
    "SCHEMA_VERSION",
    "PauseRow",
    "PracticeEventRow",
    "PracticeRow",
    "QuestionRow",
    "SessionLog",
    "SessionRow",
    "SessionSummary",
    "StepRow",
    "iso_utc",
]
