"""The session log against real SQLite files in tmp_path."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import StorageError
from assistant.events import (
    CrisisDetected,
    Earcon,
    Event,
    IntentHeard,
    PauseEnded,
    PauseExtended,
    PauseStarted,
    PracticeChanged,
    Say,
    StepStarted,
    StopSpeaking,
)
from assistant.log import APPLICATION_ID, SCHEMA_VERSION, SessionLog, iso_utc

REPO = Path(__file__).resolve().parents[1]
T0 = 1_790_000_000.0  # 2026-09-21


def raw_bytes(path: Path) -> bytes:
    """Everything on disk for the database: the file and its -wal and -shm companions."""
    out = b""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists():
            out += file.read_bytes()
    return out


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "haven.sqlite3"


@pytest.fixture
def log(db: Path) -> Iterator[SessionLog]:
    with SessionLog(db) as opened:
        yield opened


def checkin_with_pause(log: SessionLog, practice: str = "checkin") -> list[Event]:
    """A check-in that is paused, extended, resumed and finished; the events recorded."""
    events: list[Event] = [
        PracticeChanged(T0 + 1, practice, "started"),
        StepStarted(T0 + 2, practice, "intro", "say"),
        StepStarted(T0 + 3, practice, "appreciation", "turn"),
        PracticeChanged(T0 + 4, practice, "paused"),
        PauseStarted(T0 + 4, 1200.0, practice),
        PauseExtended(T0 + 1000, 300.0),
        PauseEnded(T0 + 1600, 1500.0, 1596.0),
        PracticeChanged(T0 + 1601, practice, "resumed"),
        StepStarted(T0 + 1602, practice, "wish", "turn"),
        PracticeChanged(T0 + 1700, practice, "finished"),
    ]
    for event in events:
        log.record(event)
    return events


# -- the file -----------------------------------------------------------------------


def test_creates_schema_in_wal_mode_with_private_modes(tmp_path: Path) -> None:
    old = os.umask(0)  # the modes must not depend on the umask
    try:
        log = SessionLog.in_data_dir(tmp_path / "fresh" / "data")
        log.start_session("run", T0)
    finally:
        os.umask(old)
    path = tmp_path / "fresh" / "data" / "haven.sqlite3"
    assert log.path == path
    assert mode_of(path.parent) == 0o700
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert file.exists(), file
        assert mode_of(file) == 0o600, file
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert other.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        tables = {r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    other.close()
    assert {"sessions", "practices", "practice_events", "steps", "pauses", "questions"} <= tables
    log.close()


def test_reopening_keeps_data_and_tightens_a_loose_file(db: Path) -> None:
    with SessionLog(db) as log:
        sid = log.start_session("text", T0)
        log.end_session(T0 + 5)
    os.chmod(db, 0o644)
    with SessionLog(db) as log:
        assert [s.id for s in log.sessions()] == [sid]
        assert log.interrupted_sessions() == []
    assert mode_of(db) == 0o600


def test_garbage_file_is_refused_and_left_alone(db: Path) -> None:
    db.parent.mkdir()
    garbage = b"these are not the droids you are looking for\n" * 200
    db.write_bytes(garbage)
    with pytest.raises(StorageError) as err:
        SessionLog(db)
    assert str(db) in str(err.value)
    assert "haven forget" in str(err.value)
    assert "not a Haven session log" in str(err.value)
    assert db.read_bytes() == garbage


def test_other_sqlite_database_is_refused(db: Path) -> None:
    db.parent.mkdir()
    with sqlite3.connect(db) as other:
        other.execute("CREATE TABLE recipes (name TEXT)")
        other.execute("INSERT INTO recipes VALUES ('soup')")
    other.close()
    with pytest.raises(StorageError, match="not a Haven session log") as err:
        SessionLog(db)
    assert str(db) in str(err.value)
    with sqlite3.connect(db) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    other.close()


def test_newer_schema_version_is_refused(db: Path) -> None:
    SessionLog(db).close()
    with sqlite3.connect(db) as other:
        other.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    other.close()
    with pytest.raises(StorageError, match="newer Haven") as err:
        SessionLog(db)
    assert str(db) in str(err.value)
    assert "haven forget" in str(err.value)


def test_damaged_file_is_refused(db: Path) -> None:
    with SessionLog(db) as log:
        log.start_session("text", T0)
        for i in range(300):
            log.record(PracticeChanged(T0 + i, f"practice_{i:04d}_" + "x" * 60, "started"))
        log.end_session(T0 + 400)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 4 * page] = b"\xa5" * (2 * page)  # scribble over two pages
    db.write_bytes(bytes(data))
    with pytest.raises(StorageError) as err:
        SessionLog(db)
    assert str(db) in str(err.value)
    assert "haven forget" in str(err.value)


def test_a_folder_in_place_of_the_file_is_refused(db: Path) -> None:
    db.mkdir(parents=True)
    with pytest.raises(StorageError, match="folder"):
        SessionLog(db)


# -- mapping events -----------------------------------------------------------------


def test_practice_steps_pauses_and_resumes_are_kept(log: SessionLog) -> None:
    sid = log.start_session("run", T0)
    checkin_with_pause(log)
    log.record(PracticeChanged(T0 + 1800, "breathe", "started"))
    log.record(StepStarted(T0 + 1801, "breathe", "sigh", "breathe"))
    log.record(PracticeChanged(T0 + 1850, "breathe", "stopped"))
    log.end_session(T0 + 1900)

    [summary] = log.sessions()
    assert (summary.id, summary.mode, summary.status) == (sid, "run", "ended")
    assert (summary.started_at, summary.ended_at) == (T0, T0 + 1900)
    checkin, breathe = summary.practices
    assert (checkin.practice, checkin.outcome) == ("checkin", "finished")
    assert (checkin.started_at, checkin.ended_at) == (T0 + 1, T0 + 1700)
    assert [(s.step, s.kind, s.started_at) for s in checkin.steps] == [
        ("intro", "say", T0 + 2),
        ("appreciation", "turn", T0 + 3),
        ("wish", "turn", T0 + 1602),
    ]
    assert [(e.state, e.at) for e in checkin.events] == [
        ("paused", T0 + 4),
        ("resumed", T0 + 1601),
    ]
    assert checkin.was_paused
    assert (breathe.outcome, breathe.ended_at, breathe.was_paused) == ("stopped", T0 + 1850, False)
    assert [s.step for s in breathe.steps] == ["sigh"]
    [pause] = summary.pauses
    assert pause.started_at == T0 + 4
    assert pause.interrupted == "checkin"
    assert pause.planned_seconds == 1500.0
    assert pause.extended_seconds == 300.0
    assert (pause.ended_at, pause.actual_seconds) == (T0 + 1600, 1596.0)


def test_paused_practice_shows_its_state_while_open(log: SessionLog) -> None:
    log.start_session("run", T0)
    log.record(PracticeChanged(T0 + 1, "repair", "started"))
    log.record(PracticeChanged(T0 + 2, "repair", "paused"))
    log.record(PauseStarted(T0 + 2, 1200.0, "repair"))
    assert log.sessions()[0].practices[0].outcome == "paused"
    [pause] = log.sessions()[0].pauses
    assert (pause.ended_at, pause.actual_seconds) == (None, None)
    log.record(PracticeChanged(T0 + 5, "repair", "resumed"))
    assert log.sessions()[0].practices[0].outcome == "running"


def test_pause_with_nothing_interrupted(log: SessionLog) -> None:
    log.start_session("text", T0)
    log.record(PauseStarted(T0 + 1, 1200.0, None))
    log.record(PauseEnded(T0 + 1300, 1200.0, 1299.0))
    [pause] = log.sessions()[0].pauses
    assert pause.interrupted is None
    assert pause.actual_seconds == 1299.0


def test_unmatched_events_are_ignored_with_a_warning(
    log: SessionLog, caplog: pytest.LogCaptureFixture
) -> None:
    log.start_session("text", T0)
    with caplog.at_level(logging.WARNING):
        log.record(StepStarted(T0 + 1, "ghost", "s1", "say"))
        log.record(PracticeChanged(T0 + 2, "ghost", "finished"))
        log.record(PauseExtended(T0 + 3, 60.0))
        log.record(PauseEnded(T0 + 4, 60.0, 60.0))
    [summary] = log.sessions()
    assert summary.practices == ()
    assert summary.pauses == ()
    assert len(caplog.records) == 4


def test_restarting_an_open_practice_closes_the_earlier_run(log: SessionLog) -> None:
    log.start_session("text", T0)
    log.record(PracticeChanged(T0 + 1, "gratitude", "started"))
    log.record(PracticeChanged(T0 + 5, "gratitude", "started"))
    log.record(PracticeChanged(T0 + 9, "gratitude", "finished"))
    first, second = log.sessions()[0].practices
    assert (first.outcome, first.ended_at) == ("interrupted", T0 + 5)
    assert (second.outcome, second.ended_at) == ("finished", T0 + 9)


def test_ending_a_session_closes_open_practices_and_pauses(log: SessionLog) -> None:
    log.start_session("run", T0)
    log.record(PracticeChanged(T0 + 1, "floor_time", "started"))
    log.record(PauseStarted(T0 + 10, 1200.0, "floor_time"))
    log.end_session(T0 + 100, status="interrupted")
    [summary] = log.sessions()
    assert summary.status == "interrupted"
    assert summary.practices[0].outcome == "interrupted"
    assert summary.practices[0].ended_at == T0 + 100
    assert (summary.pauses[0].ended_at, summary.pauses[0].actual_seconds) == (T0 + 100, 90.0)


SECRET_WORDS = (
    "marmalade_whisper_qqq",
    "prompt_id_kumquat",
    "intent_quokka_zzz",
    "slotword_narwhal",
    "slotkey_axolotl",
)


def secret_events() -> list[Event]:
    """Events the log must drop, full of words that must never reach the disk."""
    return [
        Say(T0 + 11.125, "You said marmalade_whisper_qqq, tell me more", "prompt_id_kumquat"),
        IntentHeard(
            T0 + 12.375,
            "intent_quokka_zzz",
            {"slotkey_axolotl": "slotword_narwhal", "minutes": 5},
        ),
        StopSpeaking(T0 + 13.625),
        Earcon(T0 + 14.875, "pause"),
        CrisisDetected(T0 + 15.0625),
    ]


def test_speech_intents_earcons_and_crisis_never_reach_the_file(
    db: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with SessionLog(db) as log:
        for event in secret_events():
            log.record(event)  # no session open: still silently dropped
        log.start_session("run", T0)
        log.record(PracticeChanged(T0 + 10, "checkin", "started"))
        before = log.sessions()
        for event in secret_events():
            log.record(event)
        assert log.sessions() == before
        while_open = raw_bytes(db)
        log.end_session(T0 + 20)
    after_close = raw_bytes(db)
    for data in (while_open, after_close):
        for word in SECRET_WORDS:
            assert word.encode() not in data
        for event in secret_events():  # not even the times (SQLite stores REAL big-endian)
            assert struct.pack(">d", event.at) not in data
    for word in SECRET_WORDS:
        assert word not in caplog.text
    assert "crisis" not in caplog.text.lower()
    assert capsys.readouterr() == ("", "")


def test_question_ids_are_kept_but_question_text_is_refused(log: SessionLog) -> None:
    log.start_session("text", T0)
    with pytest.raises(ValueError, match="question id"):
        log.record_question("What is one thing you loved this week?", T0 + 1)
    log.record_question("oq.dreams_01", T0 + 2)
    assert [q.question for q in log.sessions()[0].questions] == ["oq.dreams_01"]


def test_recent_questions_newest_first_without_repeats(log: SessionLog) -> None:
    for n, asked in enumerate([["q1"], ["q2", "q3"], [], ["q4", "q2"]]):
        log.start_session("text", T0 + 100 * n)
        for i, question in enumerate(asked):
            log.record_question(question, T0 + 100 * n + i + 1)
        log.end_session(T0 + 100 * n + 50)
    assert log.recent_questions(1) == ["q2", "q4"]
    assert log.recent_questions(2) == ["q2", "q4"]
    assert log.recent_questions(3) == ["q2", "q4", "q3"]
    assert log.recent_questions(10) == ["q2", "q4", "q3", "q1"]
    assert log.recent_questions(0) == []


# -- sessions, export ---------------------------------------------------------------


def test_sessions_newest_first_with_limit(log: SessionLog) -> None:
    ids = []
    for n, mode in enumerate(["text", "run", "demo"]):
        ids.append(log.start_session(mode, T0 + n))
        log.end_session(T0 + n + 0.5)
    assert [s.id for s in log.sessions()] == ids[::-1]
    assert [s.mode for s in log.sessions(limit=2)] == ["demo", "run"]
    assert log.sessions(limit=0) == []
    with pytest.raises(ValueError):
        log.sessions(limit=-1)


def test_export_round_trips_through_json(log: SessionLog) -> None:
    first = log.start_session("text", T0)
    checkin_with_pause(log)
    log.record_question("oq.travel_02", T0 + 1650)
    log.end_session(T0 + 1800)
    second = log.start_session("demo", T0 + 5000)

    data = log.export()
    assert json.loads(json.dumps(data)) == data
    assert (data["format"], data["version"]) == ("haven-log", 1)
    assert [s["id"] for s in data["sessions"]] == [first, second]  # oldest first
    assert data["sessions"] == [s.to_dict() for s in reversed(log.sessions())]

    one = data["sessions"][0]
    assert one["started_at"] == T0
    assert one["started_at_iso"] == iso_utc(T0) == "2026-09-21T14:13:20.000Z"
    assert one["status"] == "ended"
    practice = one["practices"][0]
    assert practice["practice"] == "checkin"
    assert practice["ended_at_iso"] == iso_utc(T0 + 1700)
    assert [s["step"] for s in practice["steps"]] == ["intro", "appreciation", "wish"]
    assert [e["state"] for e in practice["events"]] == ["paused", "resumed"]
    assert one["pauses"][0]["planned_seconds"] == 1500.0
    assert one["pauses"][0]["interrupted"] == "checkin"
    assert one["questions"] == [
        {"question": "oq.travel_02", "at": T0 + 1650, "at_iso": iso_utc(T0 + 1650)}
    ]
    running = data["sessions"][1]
    assert (running["status"], running["ended_at"], running["ended_at_iso"]) == (
        "running",
        None,
        None,
    )


def test_iso_utc() -> None:
    assert iso_utc(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1.5) == "1970-01-01T00:00:01.500Z"
    assert iso_utc(None) is None


# -- forget -------------------------------------------------------------------------


def zebra_session(log: SessionLog, start: float) -> int:
    sid = log.start_session("run", start)
    log.record(PracticeChanged(start + 1, "zebra_practice_xyz", "started"))
    log.record(StepStarted(start + 2, "zebra_practice_xyz", "zebra_step_xyz", "say"))
    log.record(PauseStarted(start + 3, 1200.0, "zebra_practice_xyz"))
    log.record(PauseEnded(start + 1300, 1200.0, 1297.0))
    log.record_question("zebra_question_xyz", start + 1301)
    log.record(PracticeChanged(start + 1400, "zebra_practice_xyz", "finished"))
    log.end_session(start + 1500)
    return sid


ZEBRA = (b"zebra_practice_xyz", b"zebra_step_xyz", b"zebra_question_xyz")


def test_forget_all_leaves_nothing_readable(db: Path) -> None:
    with SessionLog(db) as log:
        for n in range(3):
            zebra_session(log, T0 + 10_000 * n)
        assert all(word in raw_bytes(db) for word in ZEBRA)
        assert log.forget() == 3
        assert log.sessions() == []
        assert log.export()["sessions"] == []
        data = raw_bytes(db)
        assert not any(word in data for word in ZEBRA)
        assert Path(f"{db}-wal").stat().st_size == 0
        assert mode_of(db) == 0o600
        assert log.forget() == 0
        # still usable afterwards
        log.start_session("text", T0 + 99_999)
        log.end_session(T0 + 100_000)
    data = raw_bytes(db)
    assert not any(word in data for word in ZEBRA)
    with SessionLog(db) as log:
        assert len(log.sessions()) == 1


def test_forget_last_removes_only_the_newest(db: Path) -> None:
    with SessionLog(db) as log:
        keep = log.start_session("text", T0)
        log.record(PracticeChanged(T0 + 1, "keeper_practice_abc", "started"))
        log.record(PracticeChanged(T0 + 2, "keeper_practice_abc", "finished"))
        log.end_session(T0 + 3)
        zebra_session(log, T0 + 100)
        assert log.forget(last=True) == 1
        assert [s.id for s in log.sessions()] == [keep]
        data = raw_bytes(db)
        assert not any(word in data for word in ZEBRA)
        assert b"keeper_practice_abc" in data
        assert log.sessions()[0].practices[0].practice == "keeper_practice_abc"


def test_forgetting_the_open_session_closes_it(log: SessionLog) -> None:
    log.start_session("run", T0)
    assert log.forget(last=True) == 1
    assert log.session_id is None
    with pytest.raises(StorageError, match="no session is open"):
        log.record(PracticeChanged(T0 + 1, "checkin", "started"))
    log.start_session("run", T0 + 2)
    log.record(PracticeChanged(T0 + 3, "checkin", "started"))
    assert len(log.sessions()) == 1


# -- crashes ------------------------------------------------------------------------


def test_session_left_running_is_found_and_marked_interrupted(db: Path) -> None:
    log = SessionLog(db)
    ended = log.start_session("text", T0 - 1000)
    log.end_session(T0 - 900)
    crashed = log.start_session("run", T0)
    log.record(PracticeChanged(T0 + 1, "checkin", "started"))
    log.record(StepStarted(T0 + 2, "checkin", "intro", "say"))
    log.record(PauseStarted(T0 + 3, 1200.0, "checkin"))
    log.record(PauseExtended(T0 + 50, 600.0))
    log.close()  # no end_session: as if the process died

    with SessionLog(db) as log:
        [found] = log.interrupted_sessions()
        assert (found.id, found.status, found.ended_at) == (crashed, "running", None)
        new = log.start_session("run", T0 + 5000)
        assert [s.id for s in log.interrupted_sessions()] == [crashed]
        assert log.mark_interrupted() == [crashed]
        assert log.mark_interrupted() == []
        [found] = log.interrupted_sessions()
        assert (found.status, found.ended_at) == ("interrupted", T0 + 50)
        summaries = {s.id: s for s in log.sessions()}
        assert summaries[ended].status == "ended"
        assert summaries[new].status == "running"
        crash = summaries[crashed]
        assert crash.practices[0].outcome == "interrupted"
        assert crash.practices[0].ended_at == T0 + 50
        assert [s.step for s in crash.practices[0].steps] == ["intro"]
        assert crash.pauses[0].planned_seconds == 1800.0
        assert (crash.pauses[0].ended_at, crash.pauses[0].actual_seconds) == (T0 + 50, 47.0)
        log.end_session(T0 + 5001)

    with SessionLog(db) as log:
        assert log.interrupted_sessions() == []


CHILD = """
import sys, time
from pathlib import Path
from assistant.events import PracticeChanged, StepStarted, PauseStarted
from assistant.log import SessionLog

log = SessionLog(Path(sys.argv[1]))
sid = log.start_session("run", 1000.0)
log.record(PracticeChanged(1001.0, "checkin", "started"))
for i in range(40):
    log.record(StepStarted(1002.0 + i, "checkin", f"step_{i:02d}", "turn"))
log.record(PauseStarted(1100.0, 1200.0, "checkin"))
print(sid, flush=True)
time.sleep(120)
"""


def test_sigkill_loses_nothing_and_the_session_is_found_interrupted(db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=db.parent.parent,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip().isdigit(), line
        sid = int(line)
        assert Path(f"{db}-wal").stat().st_size > 0  # the data is still in the WAL
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with SessionLog(db) as log:
        assert [s.id for s in log.interrupted_sessions()] == [sid]
        [summary] = log.sessions()
        assert summary.status == "running"
        [practice] = summary.practices
        assert [s.step for s in practice.steps] == [f"step_{i:02d}" for i in range(40)]
        assert summary.pauses[0].started_at == 1100.0
        assert log.mark_interrupted() == [sid]
        summary = log.sessions()[0]
        assert (summary.status, summary.ended_at) == ("interrupted", 1100.0)


# -- failures -----------------------------------------------------------------------


def test_full_disk_raises_and_a_later_record_works(log: SessionLog, db: Path) -> None:
    log.start_session("run", T0)
    log.record(PracticeChanged(T0 + 1, "checkin", "started"))
    conn = log._conn  # the test reaches in to cap the database size
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    stored = 0
    with pytest.raises(StorageError) as err:
        for i in range(10_000):
            log.record(StepStarted(T0 + 2 + i, "checkin", f"step_{i:05d}_" + "s" * 200, "say"))
            stored += 1
    message = str(err.value)
    assert str(db) in message
    assert "full" in message
    assert "free some disk space" in message
    assert not conn.in_transaction
    with pytest.raises(StorageError):  # still full: fails again, cleanly
        log.record(StepStarted(T0 + 20_000, "checkin", "again_" + "s" * 200, "say"))
    assert not conn.in_transaction

    conn.execute("PRAGMA max_page_count=1073741823")
    log.record(StepStarted(T0 + 30_000, "checkin", "after_full", "say"))
    log.end_session(T0 + 30_001)
    steps = log.sessions()[0].practices[0].steps
    assert len(steps) == stored + 1
    assert steps[-1].step == "after_full"


def test_read_only_database_raises_storage_error(log: SessionLog, db: Path) -> None:
    log.start_session("run", T0)
    conn = log._conn
    assert conn is not None
    conn.execute("PRAGMA query_only=ON")
    with pytest.raises(StorageError, match="cannot record PracticeChanged") as err:
        log.record(PracticeChanged(T0 + 1, "checkin", "started"))
    assert str(db) in str(err.value)
    assert not conn.in_transaction
    conn.execute("PRAGMA query_only=OFF")
    log.record(PracticeChanged(T0 + 1, "checkin", "started"))
    assert log.sessions()[0].practices[0].practice == "checkin"


def test_misuse_gives_clear_errors(db: Path) -> None:
    log = SessionLog(db)
    with pytest.raises(ValueError, match="mode"):
        log.start_session("karaoke", T0)
    with pytest.raises(StorageError, match="no session is open"):
        log.end_session(T0)
    with pytest.raises(StorageError, match="no session is open"):
        log.record_question("q1", T0)
    log.start_session("text", T0)
    with pytest.raises(StorageError, match="still open"):
        log.start_session("text", T0 + 1)
    with pytest.raises(ValueError, match="status"):
        log.end_session(T0 + 2, status="exploded")
    log.close()
    log.close()
    with pytest.raises(StorageError, match="closed"):
        log.record(PracticeChanged(T0 + 3, "checkin", "started"))


def test_opened_on_one_thread_used_on_another(db: Path) -> None:
    log = SessionLog(db)
    errors: list[BaseException] = []

    def engine() -> None:
        try:
            log.start_session("run", T0)
            checkin_with_pause(log)
            log.end_session(T0 + 2000)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=engine)
    thread.start()
    thread.join(timeout=30)
    assert errors == []
    assert log.sessions()[0].practices[0].outcome == "finished"
    log.close()


# -- any order of events ------------------------------------------------------------

PRACTICES = ("checkin", "breathe")
any_event = st.one_of(
    st.builds(
        lambda p, s: PracticeChanged(0.0, p, s),
        st.sampled_from(PRACTICES),
        st.sampled_from(["started", "paused", "resumed", "finished", "stopped"]),
    ),
    st.builds(
        lambda p, s: StepStarted(0.0, p, s, "say"),
        st.sampled_from(PRACTICES),
        st.sampled_from(["a", "b"]),
    ),
    st.builds(
        lambda s, p: PauseStarted(0.0, s, p),
        st.floats(1200, 86400),
        st.sampled_from([*PRACTICES, None]),
    ),
    st.builds(lambda s: PauseExtended(0.0, s), st.floats(1, 600)),
    st.builds(lambda s: PauseEnded(0.0, s, s), st.floats(1200, 86400)),
    st.just(Say(0.0, "hush_hush_words", "hush_prompt")),
    st.just(IntentHeard(0.0, "hush_intent")),
    st.just(CrisisDetected(0.0)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_event, max_size=25))
def test_any_event_order_is_stored_consistently(events: list[Event]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "haven.sqlite3"
        with SessionLog(path) as log:
            log.start_session("demo", T0)
            for n, event in enumerate(events):
                log.record(replace(event, at=T0 + 1 + n))
            log.end_session(T0 + len(events) + 1)
            [summary] = log.sessions()
            starts = [e for e in events if isinstance(e, PracticeChanged) and e.state == "started"]
            assert len(summary.practices) == len(starts)
            assert all(
                p.outcome in ("finished", "stopped", "interrupted") for p in summary.practices
            )
            assert all(p.ended_at is not None for p in summary.practices)
            assert all(
                p.ended_at is not None and p.actual_seconds is not None for p in summary.pauses
            )
            assert json.loads(json.dumps(log.export())) == log.export()
        data = raw_bytes(path)
        assert b"hush" not in data
