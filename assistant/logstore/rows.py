"""What the session log gives back: one frozen dataclass per kind of row.

Every row holds ids, kinds and times only: no words said by anyone, no prompt texts.
``to_dict()`` turns a row into plain JSON-able data, with every time given twice: as
float epoch seconds and as an ISO-8601 UTC string (the same key with ``_iso`` added).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

SessionMode = Literal["text", "run", "demo"]
SessionStatus = Literal["running", "ended", "interrupted"]
PracticeOutcome = Literal["running", "paused", "finished", "stopped", "interrupted"]
PracticeMark = Literal["paused", "resumed"]

SESSION_MODES: tuple[SessionMode, ...] = ("text", "run", "demo")
"""The modes a session can run in."""
END_STATUSES: tuple[SessionStatus, ...] = ("ended", "interrupted")
"""The statuses ``end_session`` accepts."""


def iso_utc(t: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC with milliseconds (``2026-11-03T20:15:00.000Z``)."""
    if t is None:
        return None
    text = datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


def _times(**times: float | None) -> dict[str, Any]:
    """``{"x": t, "x_iso": "..."}`` for every time given."""
    out: dict[str, Any] = {}
    for key, value in times.items():
        out[key] = value
        out[f"{key}_iso"] = iso_utc(value)
    return out


@dataclass(frozen=True)
class SessionRow:
    """One run of Haven, from start to end (or to a crash)."""

    id: int
    """Session id, never reused."""
    mode: SessionMode
    """How Haven ran: ``text``, ``run`` or ``demo``."""
    started_at: float
    """Epoch seconds."""
    ended_at: float | None
    """Epoch seconds; ``None`` while running. For an interrupted session found after a
    crash, the time of the last thing recorded in it."""
    status: SessionStatus
    """``running``, ``ended`` or ``interrupted``."""


@dataclass(frozen=True)
class StepRow:
    """A step a practice moved to."""

    step: str
    """Step id (unique within its practice)."""
    kind: str
    """Step kind: say, listen, timer, breathe, turn, branch, end."""
    started_at: float
    """Epoch seconds."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {"step": self.step, "kind": self.kind, **_times(started_at=self.started_at)}


@dataclass(frozen=True)
class PracticeEventRow:
    """A practice was paused or resumed."""

    at: float
    """Epoch seconds."""
    state: PracticeMark
    """``paused`` or ``resumed``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {"state": self.state, **_times(at=self.at)}


@dataclass(frozen=True)
class PracticeRow:
    """One practice run within a session."""

    id: int
    """Row id."""
    session_id: int
    """The session it ran in."""
    practice: str
    """Practice id, for example ``checkin``."""
    started_at: float
    """Epoch seconds."""
    ended_at: float | None
    """Epoch seconds; ``None`` while it runs."""
    outcome: PracticeOutcome
    """``running`` or ``paused`` while open; then ``finished``, ``stopped`` or
    ``interrupted`` (the session ended or crashed first)."""
    steps: tuple[StepRow, ...] = ()
    """The steps it went through, in order."""
    events: tuple[PracticeEventRow, ...] = ()
    """Each time it was paused and resumed, in order."""

    @property
    def was_paused(self) -> bool:
        """Whether the practice was paused at least once."""
        return any(e.state == "paused" for e in self.events)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "id": self.id,
            "practice": self.practice,
            **_times(started_at=self.started_at, ended_at=self.ended_at),
            "outcome": self.outcome,
            "steps": [s.to_dict() for s in self.steps],
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True)
class PauseRow:
    """One pause called within a session."""

    id: int
    """Row id."""
    session_id: int
    """The session it happened in."""
    started_at: float
    """Epoch seconds."""
    planned_seconds: float
    """How long it was set for, extensions included."""
    extended_seconds: float
    """How much of ``planned_seconds`` was added by extensions."""
    interrupted: str | None
    """Id of the practice it interrupted, if any."""
    ended_at: float | None
    """Epoch seconds; ``None`` while it lasts."""
    actual_seconds: float | None
    """How long it really lasted; ``None`` while it lasts."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "id": self.id,
            **_times(started_at=self.started_at),
            "planned_seconds": self.planned_seconds,
            "extended_seconds": self.extended_seconds,
            "interrupted": self.interrupted,
            **_times(ended_at=self.ended_at),
            "actual_seconds": self.actual_seconds,
        }


@dataclass(frozen=True)
class QuestionRow:
    """An open question Haven asked (its id, never its words)."""

    question: str
    """Question id from the question bank."""
    at: float
    """Epoch seconds."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {"question": self.question, **_times(at=self.at)}


@dataclass(frozen=True)
class SessionSummary:
    """A session with everything recorded in it."""

    id: int
    """Session id."""
    mode: SessionMode
    """``text``, ``run`` or ``demo``."""
    started_at: float
    """Epoch seconds."""
    ended_at: float | None
    """Epoch seconds; ``None`` while running."""
    status: SessionStatus
    """``running``, ``ended`` or ``interrupted``."""
    practices: tuple[PracticeRow, ...] = ()
    """Practices run, in the order they started."""
    pauses: tuple[PauseRow, ...] = ()
    """Pauses called, in order."""
    questions: tuple[QuestionRow, ...] = ()
    """Open questions asked, in order."""

    @property
    def row(self) -> SessionRow:
        """The session's own row, without what happened in it."""
        return SessionRow(self.id, self.mode, self.started_at, self.ended_at, self.status)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "id": self.id,
            "mode": self.mode,
            **_times(started_at=self.started_at, ended_at=self.ended_at),
            "status": self.status,
            "practices": [p.to_dict() for p in self.practices],
            "pauses": [p.to_dict() for p in self.pauses],
            "questions": [q.to_dict() for q in self.questions],
        }
