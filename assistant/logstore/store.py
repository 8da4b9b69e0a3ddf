"""SessionLog: Haven's session history in one SQLite file.

What it stores: sessions, practices run (with their steps, pauses and resumes), pauses
and their lengths, ids of open questions asked, and timings. What it never stores: words
said by anyone, prompt texts, intents heard, and crisis events.

Threads: the log holds one SQLite connection and is meant to be used from one thread,
the app's engine thread. It may be opened on one thread and handed to another; a lock
serialises calls, so an occasional call from elsewhere (such as ``close()`` at exit) is
safe, but nothing is gained by sharing it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ..errors import StorageError
from ..events import (
    CrisisDetected,
    Earcon,
    Event,
    IntentHeard,
    OfferAnswered,
    QuestionAsked,
    Say,
    StopSpeaking,
)
from . import reads, writes
from .rows import END_STATUSES, SESSION_MODES, SessionRow, SessionSummary
from .schema import open_database, storage_error, tighten_modes
from .writes import StoredEvent

logger = logging.getLogger(__name__)

T = TypeVar("T")

EXPORT_FORMAT = "haven-log"
"""``format`` field of ``export()``."""
EXPORT_VERSION = 1
"""``version`` field of ``export()``."""
FILENAME = "haven.sqlite3"
"""The log's file name inside Haven's data folder."""

_QUESTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}")


class SessionLog:
    """Haven's session log: a context manager that closes the file on exit.

    Every ``record`` commits at once, so an event is durable when the call returns;
    a session left ``running`` by a crash is found when the log is next opened
    (``interrupted_sessions()``) and closed with ``mark_interrupted()``. One Haven app
    per log file is assumed: a second one running at the same time would see the
    first one's session as interrupted.
    """

    def __init__(self, path: Path) -> None:
        """Open the log at ``path``, creating it (folder 0700, files 0600) if missing.

        Raises StorageError if the file cannot be created, is not a Haven log, was
        written by a newer Haven, or is damaged.
        """
        self._path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = open_database(self._path)
        self._session: int | None = None
        self._left_running: tuple[int, ...] = ()
        try:
            self._left_running = self._read("read the session list", reads.running_ids)
        except StorageError:
            self.close()
            raise
        if self._left_running:
            logger.warning(
                "%s: %d session(s) were left running, probably by a crash: %s",
                self._path,
                len(self._left_running),
                ", ".join(map(str, self._left_running)),
            )

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> SessionLog:
        """Open the log in Haven's data folder (``data_dir / "haven.sqlite3"``)."""
        return cls(Path(data_dir) / FILENAME)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def session_id(self) -> int | None:
        """The session this log is recording into, if one is open."""
        return self._session

    # -- life cycle -----------------------------------------------------------------

    def close(self) -> None:
        """Close the file (idempotent). An open session stays ``running``."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.close()
            except sqlite3.Error as exc:
                logger.warning("%s: closing the session log failed: %s", self._path, exc)

    def __enter__(self) -> SessionLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions -------------------------------------------------------------------

    def start_session(self, mode: str, at: float) -> int:
        """Begin a session (mode ``text``, ``run`` or ``demo``); return its id."""
        if mode not in SESSION_MODES:
            raise ValueError(f"session mode must be one of {', '.join(SESSION_MODES)}: {mode!r}")
        if self._session is not None:
            raise StorageError(
                f"{self._path}: session {self._session} is still open; "
                "call end_session() before starting another"
            )

        def insert(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO sessions (mode, started_at, last_event_at) VALUES (?, ?, ?)",
                (mode, at, at),
            )
            assert cur.lastrowid is not None  # always set after an INSERT
            return cur.lastrowid

        self._session = self._write("start a session", insert)
        logger.info("%s: session %d started (%s)", self._path, self._session, mode)
        return self._session

    def end_session(self, at: float, status: str = "ended") -> None:
        """End the open session as ``ended`` or ``interrupted``.

        Practices still open are closed as ``interrupted``, pauses still open end at ``at``.
        """
        if status not in END_STATUSES:
            raise ValueError(f"end status must be one of {', '.join(END_STATUSES)}: {status!r}")
        sid = self._require_session()
        self._write("end the session", lambda conn: writes.close_session(conn, sid, at, status))
        self._session = None
        logger.info("%s: session %d %s", self._path, sid, status)

    def interrupted_sessions(self) -> list[SessionRow]:
        """Sessions found ``running`` when the log was opened (left so by a crash).

        Newest first, as they are now: ``interrupted`` once ``mark_interrupted()`` ran.
        """
        ids = self._left_running
        return self._read("read sessions", lambda conn: reads.session_rows(conn, ids))

    def mark_interrupted(self) -> list[int]:
        """Mark the sessions a crash left running as ``interrupted``; return their ids.

        Each one ends at the last time recorded in it; its open practices and pauses
        are closed at that time too.
        """
        ids = self._left_running

        def mark(conn: sqlite3.Connection) -> list[int]:
            marked = []
            for row in reads.session_rows(conn, ids):
                if row.status == "running":
                    at = reads.last_event_at(conn, row.id)
                    writes.close_session(conn, row.id, at, "interrupted")
                    marked.append(row.id)
            return sorted(marked)

        marked = self._write("mark interrupted sessions", mark)
        if marked:
            logger.info("%s: marked sessions %s as interrupted", self._path, marked)
        return marked

    # -- recording ------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Store what ``event`` says about the open session, committed at once.

        Speech, intents, stop-speaking and earcons are not stored; crisis events never.
        Raises StorageError when the file cannot be written (disk full, read-only, I/O
        error); nothing is half-written then, and a later call may simply be retried.
        """
        if isinstance(
            event, (IntentHeard, Say, StopSpeaking, Earcon, CrisisDetected, OfferAnswered)
        ):
            return
        if isinstance(event, QuestionAsked):
            self.record_question(event.question, event.at)
            return
        stored: StoredEvent = event
        sid = self._require_session()
        self._write(f"record {type(stored).__name__}", lambda conn: writes.apply(conn, sid, stored))

    def record_question(self, question_id: str, at: float) -> None:
        """Note that the open question ``question_id`` (an id, never its words) was asked."""
        if not _QUESTION_ID.fullmatch(question_id):
            raise ValueError(
                "not a question id (ids are letters, digits and _.:/-, up to 100 "
                "characters; the log never stores question text)"
            )
        sid = self._require_session()
        self._write(
            "record a question",
            lambda conn: writes.add_question(conn, sid, question_id, at),
        )

    # -- reading --------------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[SessionSummary]:
        """Sessions newest first (at most ``limit``), with their practices and pauses."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 or more: {limit}")
        return self._read("read sessions", lambda conn: reads.summaries(conn, limit))

    def export(self) -> dict[str, Any]:
        """Everything, as plain JSON-able data, sessions oldest first.

        ``{"format": "haven-log", "version": 1, "sessions": [...]}``; each time appears
        as epoch seconds and as ISO-8601 UTC (``<key>_iso``).
        """
        sessions = self.sessions()
        sessions.reverse()
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "sessions": [s.to_dict() for s in sessions],
        }

    def recent_questions(self, n: int) -> list[str]:
        """Ids of open questions asked in the last ``n`` sessions, newest first, no repeats."""
        if n <= 0:
            return []
        return self._read("read questions", lambda conn: reads.recent_questions(conn, n))

    # -- forgetting -----------------------------------------------------------------

    def forget(self, last: bool = False) -> int:
        """Delete every session (or only the newest); return how many were removed.

        Then the file is rewritten (VACUUM) and its WAL emptied, so nothing deleted stays
        readable on disk. Forgetting the session being recorded closes it here too.
        """

        def delete(conn: sqlite3.Connection) -> int:
            where = "WHERE id = (SELECT max(id) FROM sessions)" if last else ""
            return conn.execute(f"DELETE FROM sessions {where}").rowcount

        removed = self._write("forget sessions", delete)
        self._scrub()
        remaining = set(self._read("read sessions", reads.all_ids))
        self._left_running = tuple(i for i in self._left_running if i in remaining)
        if self._session is not None and self._session not in remaining:
            self._session = None
        logger.info("%s: forgot %d session(s)", self._path, removed)
        return removed

    def _scrub(self) -> None:
        """Rewrite the file and empty the WAL so deleted rows are gone from the disk."""
        with self._lock:
            conn = self._connection()
            try:
                self._rollback(conn)
                self._checkpoint(conn)
                conn.execute("VACUUM")
                self._checkpoint(conn)
            except sqlite3.Error as exc:
                raise storage_error(self._path, "wipe deleted sessions from the file", exc) from exc
            tighten_modes(self._path)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the file and truncate it, waiting a little for readers."""
        for attempt in range(10):
            busy = int(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])
            if not busy:
                return
            time.sleep(0.05 * (attempt + 1))
        raise StorageError(
            f"{self._path}: the sessions were deleted, but another program is reading the "
            f"log, so old data may remain in {self._path}-wal; close it and run "
            "`haven forget` again"
        )

    # -- plumbing -------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"{self._path}: the session log is closed")
        return self._conn

    def _require_session(self) -> int:
        if self._session is None:
            raise StorageError(f"{self._path}: no session is open; call start_session() first")
        return self._session

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """Leave no transaction open, whatever state a failure left behind."""
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                logger.warning("%s: rollback failed: %s", self._path, exc)

    def _run(self, begin: str, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()
            try:
                self._rollback(conn)
                conn.execute(begin)
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException as exc:
                self._rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(self._path, doing, exc) from exc
                raise

    def _write(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one write transaction, committed (durably) before returning."""
        return self._run("BEGIN IMMEDIATE", doing, fn)

    def _read(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction (one consistent snapshot)."""
        return self._run("BEGIN", doing, fn)
