"""The session log's SQLite file: creating it, checking it is Haven's, its tables.

The file is marked as Haven's with ``PRAGMA application_id`` and versioned with
``PRAGMA user_version``. It lives in a 0700 folder and is 0600, like its ``-wal``
and ``-shm`` companions.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

from ..errors import LogUnavailable, StorageError

logger = logging.getLogger(__name__)

APPLICATION_ID = 0x48415645
"""``PRAGMA application_id`` of every Haven log ("HAVE")."""
SCHEMA_VERSION = 1
"""``PRAGMA user_version`` this code writes and reads."""
MOVE_ASIDE = "move it aside, or run `haven forget --yes` to set it aside and start a new log"
"""What to do about a log Haven cannot use."""
BUSY_TIMEOUT = 5.0
"""Seconds to wait for another connection's lock before giving up."""

SCHEMA = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('text', 'run', 'demo')),
    started_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'ended', 'interrupted')),
    last_event_at REAL NOT NULL
);
CREATE TABLE practices (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    practice TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'paused', 'finished', 'stopped', 'interrupted'))
);
CREATE INDEX practices_by_session ON practices(session_id);
CREATE TABLE practice_events (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('paused', 'resumed'))
);
CREATE INDEX practice_events_by_practice ON practice_events(practice_id);
CREATE TABLE steps (
    id INTEGER PRIMARY KEY,
    practice_id INTEGER NOT NULL REFERENCES practices(id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at REAL NOT NULL
);
CREATE INDEX steps_by_practice ON steps(practice_id);
CREATE TABLE pauses (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    started_at REAL NOT NULL,
    planned_seconds REAL NOT NULL,
    extended_seconds REAL NOT NULL DEFAULT 0,
    interrupted TEXT,
    ended_at REAL,
    actual_seconds REAL
);
CREATE INDEX pauses_by_session ON pauses(session_id);
CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    asked_at REAL NOT NULL
);
CREATE INDEX questions_by_session ON questions(session_id);
"""
"""Tables of schema version 1 (no column ever holds words said or prompt texts)."""


def storage_error(path: Path, doing: str, exc: BaseException) -> StorageError:
    """A StorageError naming the file, what failed and what to do about it."""
    detail = str(exc)
    low = detail.lower()
    transient = ("full", "readonly", "read-only", "permission", "locked", "busy", "disk i/o")
    if any(word in low for word in transient):
        return LogUnavailable(f"{path}: cannot {doing}: {detail} ({_hint(low)})")
    return StorageError(f"{path}: cannot {doing}: {detail} ({_hint(low)})")


def _hint(low: str) -> str:
    """What to do about an SQLite error message (lower-cased)."""
    if "full" in low:
        return "free some disk space"
    if "readonly" in low or "read-only" in low or "permission" in low:
        return "make the file and its folder writable by you"
    if "locked" in low or "busy" in low:
        return "another program is using the log; close it and try again"
    if "disk i/o" in low:
        return "check the disk, then try again"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return MOVE_ASIDE
    return f"check the file, or {MOVE_ASIDE}"


def tighten_modes(path: Path) -> None:
    """chmod 0600 the database and its ``-wal``/``-shm`` files, whatever the umask."""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if stat.S_IMODE(file.stat().st_mode) != 0o600:
                os.chmod(file, 0o600)
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.warning("%s: cannot make it private (mode 0600): %s", file, exc)


def _prepare_files(path: Path) -> None:
    """Create the 0700 folder and the empty 0600 file if they are missing."""
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            os.chmod(folder, 0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.chmod(path, 0o600)
    except FileExistsError:
        pass  # created meanwhile by another process: fine, it is checked next
    except OSError as exc:
        raise StorageError(
            f"{path}: cannot create the session log: {exc} "
            f"(check that {folder} is a folder you can write to)"
        ) from exc
    if path.is_dir():
        raise StorageError(f"{path}: is a folder, not a session log ({MOVE_ASIDE})")


def _check_identity(conn: sqlite3.Connection, path: Path) -> bool:
    """Whether the file is empty (True) or Haven's, of a version this code reads (False)."""
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    objects = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    if app_id == 0 and version == 0 and objects == 0:
        return True
    if app_id != APPLICATION_ID or version < 1:
        raise StorageError(f"{path}: not a Haven session log ({MOVE_ASIDE})")
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path}: written by a newer Haven (log version {version}, this one reads up to "
            f"{SCHEMA_VERSION}); update Haven, or {MOVE_ASIDE}"
        )
    return False


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    """Per-connection settings: WAL, durable commits, zeroed deletes, foreign keys."""
    mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
    if mode != "wal":
        logger.warning("%s: cannot use WAL mode (journal mode is %s)", path, mode)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA foreign_keys=ON")


def _create(conn: sqlite3.Connection) -> None:
    """Create the tables and stamp the file as Haven's, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the session log at ``path``, checked and configured.

    Raises StorageError when the file cannot be created, is not a Haven log, comes from
    a newer Haven or is damaged.
    """
    _prepare_files(path)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise storage_error(path, "open the session log", exc) from exc
    try:
        fresh = _check_identity(conn, path)
        _configure(conn, path)
        if fresh:
            _create(conn)
            logger.info("%s: created a new session log", path)
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StorageError(f"{path}: the session log is damaged ({problems[0]}); {MOVE_ASIDE}")
    except StorageError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            raise StorageError(f"{path}: not a Haven session log ({MOVE_ASIDE})") from exc
        raise storage_error(path, "open the session log", exc) from exc
    tighten_modes(path)
    return conn
