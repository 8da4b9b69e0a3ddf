"""`haven run` on a real (virtual) audio device, and `haven demo` to its end.

A user-mode PulseAudio daemon gives a virtual microphone that hears whatever is
played into the virtual speaker; Haven speaks into a second sink. (A pause said *over*
Haven's voice is not yet heard reliably by the grammar recognizer, and Haven's own
voice fed back at full level was once taken for "pause": both are open work for the
listening issue; the demo shows barge-in on its timeline speaker.)
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from assistant.audio import write_wav
from assistant.tts import Synthesizer
from tests.conftest import ROOT, run_haven
from tests.pulse import PulseServer, play_into_mic


def speech(path: Path, text: str, voice: str = "en-us+m3") -> Path:
    with Synthesizer(voice, 160) as synth:
        audio = np.asarray(synth.render(text), dtype=np.int16)
    pad = np.zeros(8000, dtype=np.int16)
    write_wav(path, np.concatenate([pad, audio, pad]))
    return path


class Console:
    """Reads a process's stdout on a thread, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(proc,), name="console")
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"never saw {text!r}; saw:\n" + "\n".join(self.lines))

    def join(self) -> None:
        self._thread.join(timeout=10)
        while not self._queue.empty():
            self.lines.append(self._queue.get())


def test_run_on_a_virtual_device_hears_guides_and_shuts_down_cleanly(
    pulse_server: PulseServer, tmp_path: Path
) -> None:
    start = speech(tmp_path / "start.wav", "Start check-in.")
    data = tmp_path / "data"
    data.mkdir()
    # in a room, a partner is nearer the microphone than Haven's speaker is
    (data / "settings.yaml").write_text("volume: 0.5\n")
    # Haven speaks into a sink of its own: with Haven's voice fed straight back into the
    # microphone at full level, the grammar recognizer once took it for "pause" (an open
    # bug for the listening issue), so this test keeps the loopback out.
    module = subprocess.run(
        ["pactl", "load-module", "module-null-sink", "sink_name=hsink", "rate=16000",
         "channels=1"], capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PULSE_SINK": "hsink"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "--data-dir", str(data), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    console = Console(proc)
    try:
        console.wait_for("Listening on")
        time.sleep(1.0)
        play_into_mic(start)
        console.wait_for("[checkin started]")
        console.wait_for("Haven: ")  # the welcome is being spoken into the room now
        time.sleep(14)  # Haven speaks its welcome and the first turn begins
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutdown = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        console.join()
        subprocess.run(["pactl", "unload-module", module], check=False)
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, err
    assert shutdown < 3.0, f"shutdown took {shutdown:.1f} s"
    assert "Traceback" not in err
    # only the command played was acted on
    heard = [line for line in console.lines if "(heard:" in line]
    assert [h.split("heard: ")[1].split()[0] for h in heard] == ["start_checkin"]
    with sqlite3.connect(data / "haven.sqlite3") as conn:
        assert conn.execute("SELECT status FROM sessions").fetchall() == [("ended",)]
        assert conn.execute("SELECT practice, outcome FROM practices").fetchall() == [
            ("checkin", "stopped")
        ]


def test_run_without_a_microphone_falls_back_to_text(tmp_path: Path) -> None:
    env_server = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = f"unix:{tmp_path}/no-such-socket"
    try:
        ran = run_haven(["run"], "start check-in\nstop\n", tmp_path / "data")
    finally:
        if env_server is None:
            del os.environ["PULSE_SERVER"]
        else:
            os.environ["PULSE_SERVER"] = env_server
    assert ran.code == 0, ran.err
    assert "no microphone" in ran.err.lower() and "text mode" in ran.err
    assert "[checkin started]" in ran.out


def test_demo_runs_to_the_end(tmp_path: Path) -> None:
    ran = run_haven(["demo", "--speed", "3"], data_dir=tmp_path / "data", timeout=300)
    assert ran.code == 0, ran.out + ran.err
    out = ran.out
    for expected in ("(heard: start_checkin", "(cut off:", "(heard: pause", "[pause started]",
                     "minutes later", "[checkin resumed]", "[checkin finished]",
                     "Demo finished."):  # fmt: skip
        assert expected in out, f"{expected!r} missing from:\n{out}"
