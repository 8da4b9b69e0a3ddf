"""The data folder: private, one Haven at a time, an unreadable log set aside safely."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, run_haven


def test_folder_and_files_are_private(data_dir: Path) -> None:
    run_haven(["text"], "start check-in\nstop\n", data_dir)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    for path in data_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_a_second_haven_on_the_same_folder_is_refused(data_dir: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "assistant", "--data-dir", str(data_dir), "text"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.time() + 30
        while not (data_dir / "haven.sqlite3").exists() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        second = run_haven(["text"], "start check-in\n", data_dir)
        assert second.code == 4
        assert "already running" in second.err and "Traceback" not in second.err
    finally:
        first.communicate("", timeout=30)
    assert run_haven(["text"], "stop\n", data_dir).code == 0


def test_forget_sets_an_unreadable_log_aside(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "haven.sqlite3").write_bytes(b"this is not a database" * 100)
    ran = run_haven(["history"], data_dir=data_dir)
    assert ran.code == 4 and "haven forget --yes" in ran.err
    ran = run_haven(["forget", "--yes"], data_dir=data_dir)
    assert ran.code == 0, ran.err
    aside = list(data_dir.glob("haven.sqlite3.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    assert run_haven(["history"], data_dir=data_dir).out.strip() == "No sessions yet."
