"""No network, ever: Haven's commands run with every network socket blocked.

A ``sitecustomize`` module makes any socket other than a local (AF_UNIX) one raise,
and logs the attempt to a file; each command must work and the file must stay empty.
Local sockets stay allowed: they are how PulseAudio is reached, not a network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

GUARD = textwrap.dedent(
    """
    import os, socket

    _real = socket.socket
    _log = os.environ["HAVEN_NET_LOG"]

    class _Guarded(_real):
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if family not in (socket.AF_UNIX, -1) or (family == -1 and fileno is None):
                with open(_log, "a") as f:
                    f.write(f"socket({family}, {type})\\n")
                raise OSError("network access is blocked in this test")
            super().__init__(family, type, proto, fileno)

    socket.socket = _Guarded
    def _no_connect(*args, **kwargs):
        with open(_log, "a") as f:
            f.write(f"create_connection{args}\\n")
        raise OSError("network access is blocked in this test")
    socket.create_connection = _no_connect
    """
)


@pytest.fixture
def guarded(tmp_path: Path) -> tuple[dict[str, str], Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "HAVEN_NET_LOG": str(log)}
    return env, log


def haven(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], input=stdin, capture_output=True,
        text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip


def test_the_guard_really_blocks(guarded: tuple[dict[str, str], Path]) -> None:
    env, log = guarded
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9))"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert probe.returncode != 0 and "blocked" in probe.stderr
    assert log.read_text()


def test_text_mode_log_and_speech_rendering_work_offline(
    guarded: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = guarded
    data = tmp_path / "data"
    script = "start check-in\nI'm done\nwe need a pause\n:wait 20m\nI'm ready\nI'm ready\nstop\n"
    ran = haven(env, "--data-dir", str(data), "text", "--json", stdin=script)
    assert ran.returncode == 0, ran.stderr
    assert '"pause"' in ran.stdout
    render = subprocess.run(
        [sys.executable, "-c",
         "from assistant.tts import Synthesizer\n"
         "with Synthesizer() as s: print(len(s.render('We need a pause.')))"],
        env=env, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert render.returncode == 0, render.stderr
    assert int(render.stdout) > 8000
    for args in (["history"], ["export"], ["check"], ["doctor"]):
        done = haven(env, "--data-dir", str(data), *args)
        assert "blocked" not in done.stderr, (args, done.stderr)
    assert not log.exists() or not log.read_text(), log.read_text()


def test_recognizer_decodes_offline(guarded: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log = guarded
    clip = tmp_path / "pause.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(clip), "We need a pause."],
        check=True, capture_output=True,
    )  # fmt: skip
    ran = haven(env, "detect", "--json", str(clip))
    assert ran.returncode == 0, ran.stderr
    assert '"intent": "pause"' in ran.stdout
    assert not log.exists() or not log.read_text(), log.read_text()
