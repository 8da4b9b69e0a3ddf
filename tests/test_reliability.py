"""Faults: a crash mid-session, a full disk. Nothing lost, guidance goes on."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_haven


def start_text(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "--data-dir", str(data_dir), "text", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT, bufsize=1,
    )  # fmt: skip


def say_and_wait_for(proc: subprocess.Popen[str], line: str, until: dict[str, str]) -> None:
    """Type a line; read events until one contains every key/value of ``until``."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    for raw in proc.stdout:
        event = json.loads(raw)
        if all(event.get(k) == v for k, v in until.items()):
            return
    raise AssertionError(f"never saw {until}")


def test_sigkill_mid_session_keeps_every_event(data_dir: Path) -> None:
    proc = start_text(data_dir)
    try:
        say_and_wait_for(proc, "start check-in", {"event": "practice", "state": "started"})
        say_and_wait_for(proc, "I'm done", {"event": "step", "step": "follow_appreciation"})
        say_and_wait_for(proc, "we need a pause", {"event": "step", "practice": "pause"})
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(data_dir / "haven.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT status FROM sessions").fetchall() == [("running",)]
        steps = [r[0] for r in conn.execute("SELECT step FROM steps ORDER BY id")]
        assert "follow_appreciation" in steps
        assert conn.execute("SELECT planned_seconds FROM pauses").fetchall() == [(1200.0,)]
    again = run_haven(["text"], "", data_dir)
    assert again.code == 0
    assert "1 earlier session(s) ended unexpectedly" in again.out
    first = run_haven(["history", "--json"], data_dir=data_dir).events()[-1]
    assert first["status"] == "interrupted"
    assert first["practices"][0]["practice"] == "checkin"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB filesystem (tmpfs), so writes really fail with ENOSPC."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_full_disk_keeps_guiding_warns_once_and_catches_up(tiny_disk: Path) -> None:
    data_dir = tiny_disk / "haven"
    run_haven(["text"], "stop\n", data_dir)  # create the log while there is room
    filler = fill(tiny_disk)
    proc = start_text(data_dir)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        say_and_wait_for(proc, "start check-in", {"event": "practice", "state": "started"})
        for _ in range(3):
            say_and_wait_for(proc, "I'm done", {"event": "step", "kind": "turn"})
        filler.unlink()  # room again: the next write catches up on what was missed
        for _ in range(5):
            say_and_wait_for(proc, "I'm done", {"event": "step"})
        say_and_wait_for(proc, ":wait 2m", {"event": "practice", "state": "finished"})
        proc.stdin.close()
        proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert err.count("warning:") == 1 and "Traceback" not in err
    with sqlite3.connect(data_dir / "haven.sqlite3") as conn:
        assert conn.execute(
            "SELECT practice, outcome FROM practices ORDER BY id DESC LIMIT 1"
        ).fetchall() == [("checkin", "finished")]
        steps = [r[0] for r in conn.execute("SELECT step FROM steps")]
    for step in ("lead_appreciation", "follow_appreciation", "lead_news", "follow_wish"):
        assert step in steps


def test_no_traceback_when_the_data_folder_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    ran = run_haven(["text"], "start check-in\n", blocker / "haven")
    assert ran.code == 4
    assert "cannot create the data folder" in ran.err and "Traceback" not in ran.err
    assert os.path.exists(blocker)
