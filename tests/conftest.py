"""Shared test helpers: run the real `haven` CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.pulse"]

ROOT = Path(__file__).resolve().parent.parent
INTENTS = ROOT / "intents"


@dataclass(frozen=True)
class Ran:
    """A finished `haven` run."""

    code: int
    out: str
    err: str

    def events(self) -> list[dict[str, Any]]:
        """stdout parsed as one JSON object per line."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def run_haven(
    args: Sequence[str], stdin: str = "", data_dir: Path | None = None, timeout: float = 120
) -> Ran:
    """Run `python -m assistant ARGS` with its own data dir; never touches the user's files."""
    cmd = [sys.executable, "-m", "assistant"]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [*cmd, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data dir for one test."""
    return tmp_path / "haven-data"


def pytest_configure(config: pytest.Config) -> None:
    """Markers registered here (pyproject.toml holds the others)."""
    config.addinivalue_line(
        "markers", "soak: the 30-minute soak run (a few minutes; deselect with -m 'not soak')"
    )
