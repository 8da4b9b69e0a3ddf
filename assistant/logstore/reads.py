"""Queries that turn the log's tables back into rows (reads only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, cast

from .rows import (
    PauseRow,
    PracticeEventRow,
    PracticeMark,
    PracticeOutcome,
    PracticeRow,
    QuestionRow,
    SessionMode,
    SessionRow,
    SessionStatus,
    StepRow,
)
from .rows import SessionSummary as Summary

_SESSION_COLUMNS = "id, mode, started_at, ended_at, status"


def _session_row(row: tuple[Any, ...]) -> SessionRow:
    return SessionRow(
        id=int(row[0]),
        mode=cast(SessionMode, row[1]),
        started_at=float(row[2]),
        ended_at=None if row[3] is None else float(row[3]),
        status=cast(SessionStatus, row[4]),
    )


def running_ids(conn: sqlite3.Connection) -> tuple[int, ...]:
    """Ids of sessions marked ``running``, oldest first."""
    rows = conn.execute("SELECT id FROM sessions WHERE status = 'running' ORDER BY id")
    return tuple(int(r[0]) for r in rows)


def all_ids(conn: sqlite3.Connection) -> tuple[int, ...]:
    """Ids of every session, oldest first."""
    return tuple(int(r[0]) for r in conn.execute("SELECT id FROM sessions ORDER BY id"))


def session_rows(conn: sqlite3.Connection, ids: Iterable[int]) -> list[SessionRow]:
    """The sessions with these ids that still exist, newest first."""
    wanted = sorted(set(ids), reverse=True)
    out = []
    for sid in wanted:
        row = conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (sid,)
        ).fetchone()
        if row is not None:
            out.append(_session_row(row))
    return out


def last_event_at(conn: sqlite3.Connection, sid: int) -> float:
    """The latest time recorded in session ``sid``."""
    row = conn.execute("SELECT last_event_at FROM sessions WHERE id = ?", (sid,)).fetchone()
    return float(row[0])


def _practices(conn: sqlite3.Connection, sid: int) -> tuple[PracticeRow, ...]:
    out = []
    rows = conn.execute(
        "SELECT id, practice, started_at, ended_at, outcome FROM practices "
        "WHERE session_id = ? ORDER BY started_at, id",
        (sid,),
    ).fetchall()
    for pid, practice, started, ended, outcome in rows:
        steps = tuple(
            StepRow(step=str(step), kind=str(kind), started_at=float(at))
            for step, kind, at in conn.execute(
                "SELECT step, kind, started_at FROM steps WHERE practice_id = ? ORDER BY id",
                (pid,),
            )
        )
        events = tuple(
            PracticeEventRow(at=float(at), state=cast(PracticeMark, state))
            for at, state in conn.execute(
                "SELECT at, state FROM practice_events WHERE practice_id = ? ORDER BY id",
                (pid,),
            )
        )
        out.append(
            PracticeRow(
                id=int(pid),
                session_id=sid,
                practice=str(practice),
                started_at=float(started),
                ended_at=None if ended is None else float(ended),
                outcome=cast(PracticeOutcome, outcome),
                steps=steps,
                events=events,
            )
        )
    return tuple(out)


def _pauses(conn: sqlite3.Connection, sid: int) -> tuple[PauseRow, ...]:
    rows = conn.execute(
        "SELECT id, started_at, planned_seconds, extended_seconds, interrupted, ended_at, "
        "actual_seconds FROM pauses WHERE session_id = ? ORDER BY id",
        (sid,),
    )
    return tuple(
        PauseRow(
            id=int(pid),
            session_id=sid,
            started_at=float(started),
            planned_seconds=float(planned),
            extended_seconds=float(extended),
            interrupted=None if interrupted is None else str(interrupted),
            ended_at=None if ended is None else float(ended),
            actual_seconds=None if actual is None else float(actual),
        )
        for pid, started, planned, extended, interrupted, ended, actual in rows
    )


def _questions(conn: sqlite3.Connection, sid: int) -> tuple[QuestionRow, ...]:
    rows = conn.execute(
        "SELECT question, asked_at FROM questions WHERE session_id = ? ORDER BY id", (sid,)
    )
    return tuple(QuestionRow(question=str(q), at=float(at)) for q, at in rows)


def summaries(conn: sqlite3.Connection, limit: int | None) -> list[Summary]:
    """Sessions newest first (at most ``limit``), with everything recorded in them."""
    rows = conn.execute(
        f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY id DESC LIMIT ?",
        (-1 if limit is None else limit,),
    ).fetchall()
    out = []
    for row in rows:
        s = _session_row(row)
        out.append(
            Summary(
                id=s.id,
                mode=s.mode,
                started_at=s.started_at,
                ended_at=s.ended_at,
                status=s.status,
                practices=_practices(conn, s.id),
                pauses=_pauses(conn, s.id),
                questions=_questions(conn, s.id),
            )
        )
    return out


def recent_questions(conn: sqlite3.Connection, n: int) -> list[str]:
    """Question ids asked in the last ``n`` sessions, newest first, each once."""
    rows = conn.execute(
        "SELECT q.question FROM questions q "
        "JOIN (SELECT id FROM sessions ORDER BY id DESC LIMIT ?) s ON s.id = q.session_id "
        "ORDER BY q.session_id DESC, q.asked_at DESC, q.id DESC",
        (n,),
    )
    return list(dict.fromkeys(str(r[0]) for r in rows))
