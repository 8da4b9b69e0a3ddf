"""How engine events become rows: the only place the log writes event data.

Each function runs inside the caller's transaction and commits nothing itself.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import assert_never

from ..events import PauseEnded, PauseExtended, PauseStarted, PracticeChanged, StepStarted

logger = logging.getLogger(__name__)

StoredEvent = PracticeChanged | StepStarted | PauseStarted | PauseExtended | PauseEnded
"""The events that leave a trace in the log (all others are dropped unread)."""

_OPEN = "outcome IN ('running', 'paused')"


def apply(conn: sqlite3.Connection, sid: int, event: StoredEvent) -> None:
    """Write what ``event`` says about session ``sid``."""
    match event:
        case PracticeChanged():
            _practice_changed(conn, sid, event)
        case StepStarted():
            practice = _open_practice(conn, sid, event.practice)
            if practice is None:
                logger.warning(
                    "step %s of %s ignored: practice not running", event.step, event.practice
                )
                return
            conn.execute(
                "INSERT INTO steps (practice_id, step, kind, started_at) VALUES (?, ?, ?, ?)",
                (practice, event.step, event.kind, event.at),
            )
        case PauseStarted():
            conn.execute(
                "INSERT INTO pauses (session_id, started_at, planned_seconds, interrupted) "
                "VALUES (?, ?, ?, ?)",
                (sid, event.at, event.planned_seconds, event.interrupted),
            )
        case PauseExtended():
            pause = _open_pause(conn, sid)
            if pause is None:
                logger.warning("pause extension ignored: no pause is running")
                return
            conn.execute(
                "UPDATE pauses SET planned_seconds = planned_seconds + ?1, "
                "extended_seconds = extended_seconds + ?1 WHERE id = ?2",
                (event.added_seconds, pause),
            )
        case PauseEnded():
            pause = _open_pause(conn, sid)
            if pause is None:
                logger.warning("pause end ignored: no pause is running")
                return
            conn.execute(
                "UPDATE pauses SET ended_at = ?, planned_seconds = ?, actual_seconds = ? "
                "WHERE id = ?",
                (event.at, event.planned_seconds, event.actual_seconds, pause),
            )
        case _:
            assert_never(event)
    conn.execute(
        "UPDATE sessions SET last_event_at = max(last_event_at, ?) WHERE id = ?",
        (event.at, sid),
    )


def _practice_changed(conn: sqlite3.Connection, sid: int, event: PracticeChanged) -> None:
    if event.state == "started":
        # A practice restarted while still open: the earlier run was cut short.
        conn.execute(
            f"UPDATE practices SET outcome = 'interrupted', ended_at = ? "
            f"WHERE session_id = ? AND practice = ? AND {_OPEN}",
            (event.at, sid, event.practice),
        )
        conn.execute(
            "INSERT INTO practices (session_id, practice, started_at) VALUES (?, ?, ?)",
            (sid, event.practice, event.at),
        )
        return
    prefer = {"paused": "running", "resumed": "paused"}.get(event.state)
    practice = _open_practice(conn, sid, event.practice, prefer)
    if practice is None:
        logger.warning("%s %s ignored: practice not running", event.practice, event.state)
        return
    if event.state in ("paused", "resumed"):
        outcome = "paused" if event.state == "paused" else "running"
        conn.execute("UPDATE practices SET outcome = ? WHERE id = ?", (outcome, practice))
        conn.execute(
            "INSERT INTO practice_events (practice_id, at, state) VALUES (?, ?, ?)",
            (practice, event.at, event.state),
        )
    else:
        conn.execute(
            "UPDATE practices SET outcome = ?, ended_at = ? WHERE id = ?",
            (event.state, event.at, practice),
        )


def _open_practice(
    conn: sqlite3.Connection, sid: int, practice: str, prefer: str | None = None
) -> int | None:
    """Newest open run of ``practice`` in the session, in outcome ``prefer`` if any is."""
    row = conn.execute(
        f"SELECT id FROM practices WHERE session_id = ? AND practice = ? AND {_OPEN} "
        "ORDER BY outcome = ? DESC, id DESC LIMIT 1",
        (sid, practice, prefer),
    ).fetchone()
    return None if row is None else int(row[0])


def _open_pause(conn: sqlite3.Connection, sid: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM pauses WHERE session_id = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
        (sid,),
    ).fetchone()
    return None if row is None else int(row[0])


def add_question(conn: sqlite3.Connection, sid: int, question: str, at: float) -> None:
    """Note an asked open question (its id) in session ``sid``."""
    conn.execute(
        "INSERT INTO questions (session_id, question, asked_at) VALUES (?, ?, ?)",
        (sid, question, at),
    )
    conn.execute(
        "UPDATE sessions SET last_event_at = max(last_event_at, ?) WHERE id = ?", (at, sid)
    )


def close_session(conn: sqlite3.Connection, sid: int, at: float, status: str) -> None:
    """End session ``sid`` at ``at``: open practices interrupted, open pauses ended."""
    conn.execute(
        f"UPDATE practices SET outcome = 'interrupted', ended_at = ? "
        f"WHERE session_id = ? AND {_OPEN}",
        (at, sid),
    )
    conn.execute(
        "UPDATE pauses SET ended_at = ?1, actual_seconds = max(0, ?1 - started_at) "
        "WHERE session_id = ?2 AND ended_at IS NULL",
        (at, sid),
    )
    updated = conn.execute(
        "UPDATE sessions SET ended_at = ?, status = ?, last_event_at = max(last_event_at, ?) "
        "WHERE id = ?",
        (at, status, at, sid),
    ).rowcount
    if not updated:
        logger.warning("session %d was not found (forgotten?); nothing to end", sid)
