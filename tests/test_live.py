"""`haven run` on a real (virtual) audio device, and `haven demo` to its end.

A user-mode PulseAudio daemon (``tests/pulse.py``) gives a virtual microphone that hears
whatever is played into the virtual speaker ``vsink``: that is where the partners'
synthesized voices go. Haven speaks into a null sink of its own, ``hsink``, whose monitor
is recorded, so a test knows when Haven's voice is actually going out.

- Barge-in: "start check-in", then, once Haven's welcome is audibly playing, "we need a
  pause" from the other partner (a different synthesizer). The prompt is cut off and the
  pause begins, on the console and in the log. Two voice pairs (espeak-ng and flite).
- Haven's own voice leaking back into the microphone 20 dB down (``module-loopback``
  from ``hsink``'s monitor into ``vsink``): over the whole welcome and first prompt,
  Haven acts on nothing it said itself. This also holds the double-talk test to its
  promise on a real device: Haven's voice, compared with what its speaker played, must
  not pass for someone else's (``listen/doubletalk.py``).
- A pause said *over* Haven's voice when that voice also reaches the microphone (12 dB
  down): without echo cancellation the energy endpointer cannot tell the partner from
  Haven, the pause and Haven's words become one utterance that only closes when Haven's
  sentence ends, and it is missed (checked by hand, 2026-12-01, at -20 and -12 dB). With
  `haven run --echo-cancel` (the sound server's WebRTC canceller, ``assistant/echo.py``)
  it is heard, cuts the welcome off and starts the pause.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from assistant.app import Heard, LiveLoop
from assistant.audio import AudioChunk, read_wav, write_wav
from assistant.events import EarconKind
from tests.conftest import ROOT, run_haven
from tests.console import Console
from tests.pulse import RATE, SINK, PulseServer, SinkRecorder, play_into_mic

HAVEN_SINK = "hsink"
"""The null sink Haven speaks into (``PULSE_SINK``)."""


def speech(path: Path, text: str, voice: str = "en-us+m3") -> Path:
    """``text`` spoken by ``voice`` (an espeak-ng voice, or ``flite-NAME``), padded, 16 kHz."""
    raw = path.with_suffix(".raw.wav")
    if voice.startswith("flite-"):
        cmd = ["flite", "-voice", voice.removeprefix("flite-"), "-t", text, "-o", str(raw)]
    else:
        cmd = ["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    audio = read_wav(raw)
    raw.unlink()
    pad = np.zeros(RATE // 2, dtype=np.int16)
    write_wav(path, np.concatenate([pad, audio, pad]))
    return path


class MonitorRecorder(SinkRecorder):
    """A ``tests.pulse.SinkRecorder`` on any sink (Haven's own here) that can also wait
    for sound and for quiet."""

    def wait_for_sound(self, after: float, timeout: float = 30.0) -> float:
        """The arrival time of the first loud block after ``after`` (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = [at for at in self.loud_times() if at > after]
            if loud:
                return loud[0]
            time.sleep(0.02)
        raise AssertionError(f"{self!r}: no sound within {timeout:g} s")

    def wait_for_quiet(self, seconds: float, timeout: float = 60.0) -> float:
        """Wait until nothing loud arrived for ``seconds``; the time of the last sound."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = self.loud_times()
            last = loud[-1] if loud else 0.0
            if time.monotonic() - last >= seconds:
                return last
            time.sleep(0.05)
        raise AssertionError(f"still sounding after {timeout:g} s")


def _pactl(*args: str) -> str:
    done = subprocess.run(["pactl", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@contextlib.contextmanager
def haven_sink(leak_db: float | None = None) -> Iterator[None]:
    """Haven's own sink; with ``leak_db``, its monitor is fed into ``vsink`` (the
    microphone) that many dB down, as a speaker across the room would be heard."""
    modules = [
        _pactl("load-module", "module-null-sink", f"sink_name={HAVEN_SINK}", f"rate={RATE}",
               "channels=1"),
    ]  # fmt: skip
    try:
        if leak_db is not None:
            modules.append(
                _pactl("load-module", "module-loopback", f"source={HAVEN_SINK}.monitor",
                       f"sink={SINK}", "latency_msec=20", "source_dont_move=true",
                       "sink_dont_move=true")
            )  # fmt: skip
            inputs = _pactl("list", "short", "sink-inputs").splitlines()
            loop = [line.split()[0] for line in inputs if "module-loopback" in line]
            assert len(loop) == 1, inputs
            _pactl("set-sink-input-volume", loop[0], f"{leak_db:g}dB")
        yield
    finally:
        for module in reversed(modules):
            subprocess.run(["pactl", "unload-module", module], check=False, capture_output=True)


@dataclass
class Ran:
    """How a `haven run` ended."""

    code: int
    err: str
    shutdown: float
    """Seconds from SIGTERM to exit."""


class Haven:
    """`haven run` in a subprocess, speaking into :data:`HAVEN_SINK`; always stopped."""

    def __init__(self, data: Path, *extra: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PULSE_SINK": HAVEN_SINK}
        self.log = data / "stderr.txt"
        with self.log.open("w") as log:  # -v: what it heard and why, for failures
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "assistant", "--data-dir", str(data), "-v", "run",
                 *extra],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                text=True, cwd=ROOT, env=env,
            )  # fmt: skip
        self.console = Console(self.proc)
        self.ran: Ran | None = None

    def terminate(self) -> Ran:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        shutdown = time.monotonic() - t0
        self.console.join()
        self.ran = Ran(self.proc.returncode, self.stderr(), shutdown)
        return self.ran

    def stderr(self) -> str:
        """What it logged, without the long lists of made-up pronunciations."""
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if "made pronunciations" not in line)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.console.join()


@contextlib.contextmanager
def haven_run(data: Path, *extra: str) -> Iterator[Haven]:
    """Start `haven run` on the pulse server; kill it on the way out if still running."""
    haven = Haven(data, *extra)
    try:
        haven.console.wait_for("Listening on")
        yield haven
    except BaseException as exc:
        haven.kill()
        exc.add_note("haven's log:\n" + haven.stderr())
        raise
    finally:
        haven.kill()


def start_checkin(haven: Haven, wav: Path, tries: int = 3) -> int:
    """Play "Haven, start check-in" until the check-in starts; how many times it took.

    A person repeats a command that was not heard; the wake-phrase detector's recall on
    synthetic voices is measured in BENCHMARKS.md, not here (this test is about what
    comes after).
    """
    for attempt in range(1, tries + 1):
        play_into_mic(wav)
        try:
            haven.console.wait_for("[checkin started]", timeout=10)
            return attempt
        except AssertionError:
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    # in a room, a partner is nearer the microphone than Haven's speaker is
    (data / "settings.yaml").write_text("volume: 0.5\n")
    return data


def pause_over_the_welcome(haven: Haven, voice: MonitorRecorder, start: Path,
                           pause: Path) -> None:  # fmt: skip
    """Start a check-in, then, once Haven's welcome is really going out of its speaker,
    the other partner says the pause; wait until the pause has started."""
    time.sleep(1.0)
    start_checkin(haven, start)
    voice.wait_for_sound(after=time.monotonic())
    time.sleep(0.5)
    play_into_mic(pause)
    haven.console.wait_for("[pause started]")


def assert_clean_exit(ran: Ran) -> None:
    assert ran.code == 0, ran.err
    assert ran.shutdown < 3.0, f"shutdown took {ran.shutdown:.1f} s"
    assert "Traceback" not in ran.err, ran.err


@pytest.mark.parametrize(
    ("starter", "pauser"), [("en-us+m3", "flite-slt"), ("en-us+m3", "en+f3")]
)
def test_run_on_a_virtual_device_hears_guides_and_shuts_down_cleanly(
    pulse_server: PulseServer, tmp_path: Path, starter: str, pauser: str
) -> None:
    """Start a check-in, then "we need a pause" over Haven's welcome: cut off, paused."""
    start = speech(tmp_path / "start.wav", "Haven, start check-in.", starter)
    pause = speech(tmp_path / "pause.wav", "We need a pause.", pauser)
    data = data_dir(tmp_path)
    with haven_sink(), MonitorRecorder(HAVEN_SINK) as voice, haven_run(data) as haven:
        pause_over_the_welcome(haven, voice, start, pause)
        haven.console.wait_for("Haven: ")  # the pause's own words are queued
        ran = haven.terminate()
    assert_clean_exit(ran)
    lines = haven.console.lines
    assert haven.console.heard() == ["start_checkin", "pause"], "\n".join(lines)
    cut = next(i for i, line in enumerate(lines) if "(cut off:" in line)
    heard_pause = next(i for i, line in enumerate(lines) if "(heard: pause" in line)
    started = lines.index("  [pause started]")
    assert heard_pause < cut < started, "\n".join(lines)
    with sqlite3.connect(data / "haven.sqlite3") as conn:
        assert conn.execute("SELECT status FROM sessions").fetchall() == [("ended",)]
        practices = conn.execute("SELECT id, practice, outcome FROM practices").fetchall()
        # the check-in was paused, and the pause practice began
        assert [(p, o) for _, p, o in practices] == [("checkin", "stopped"), ("pause", "stopped")]
        events = conn.execute(
            "SELECT state FROM practice_events WHERE practice_id = ?", (practices[0][0],)
        ).fetchall()
        assert events == [("paused",)]
        pauses = conn.execute("SELECT planned_seconds, ended_at FROM pauses").fetchall()
        assert len(pauses) == 1 and pauses[0][0] > 0
        assert pauses[0][1] is not None  # closed when Haven was stopped


def test_haven_does_not_trigger_itself_from_its_voice_leaking_into_the_mic(
    pulse_server: PulseServer, tmp_path: Path
) -> None:
    """Haven's voice reaches the microphone 20 dB down: it acts on nothing it says.

    Over the welcome and the first prompt (about 15 s of speech), only the command the
    partner played is acted on; what Haven heard of itself is at most "not for me".
    """
    start = speech(tmp_path / "start.wav", "Haven, start check-in.")
    data = data_dir(tmp_path)
    with (
        haven_sink(leak_db=-20),
        MonitorRecorder(HAVEN_SINK) as voice,
        haven_run(data) as haven,
    ):
        time.sleep(1.0)
        start_checkin(haven, start)
        first = voice.wait_for_sound(after=time.monotonic())
        last = voice.wait_for_quiet(seconds=3.0)
        assert last - first > 5.0  # the welcome and the first prompt were spoken
        ran = haven.terminate()
    assert_clean_exit(ran)
    assert haven.console.heard() == ["start_checkin"], "\n".join(haven.console.lines)
    with sqlite3.connect(data / "haven.sqlite3") as conn:
        assert conn.execute("SELECT practice, outcome FROM practices").fetchall() == [
            ("checkin", "stopped")
        ]
        assert conn.execute("SELECT count(*) FROM pauses").fetchone() == (0,)


def test_a_pause_over_havens_own_voice_is_heard_with_echo_cancellation(
    pulse_server: PulseServer, tmp_path: Path
) -> None:
    """Haven's voice reaches the microphone 12 dB down (a speaker across a small room).

    Without echo cancellation a pause said over it is missed (the module docstring). With
    `haven run --echo-cancel` the sound server's canceller takes Haven's voice out, and
    "we need a pause" over the welcome cuts it off and starts the pause; the canceller is
    unloaded when Haven ends.
    """
    start = speech(tmp_path / "start.wav", "Haven, start check-in.")
    pause = speech(tmp_path / "pause.wav", "We need a pause.", "flite-rms")
    data = data_dir(tmp_path)
    with (
        haven_sink(leak_db=-12),
        MonitorRecorder(HAVEN_SINK) as voice,
        haven_run(data, "--echo-cancel") as haven,
    ):
        assert any("Echo cancellation on" in line for line in haven.console.lines)
        pause_over_the_welcome(haven, voice, start, pause)
        ran = haven.terminate()
        modules = _pactl("list", "short", "modules")
    assert_clean_exit(ran)
    lines = haven.console.lines
    assert haven.console.heard() == ["start_checkin", "pause"], "\n".join(lines)
    assert any("(cut off:" in line for line in lines), "\n".join(lines)
    assert "module-echo-cancel" not in modules


@contextlib.contextmanager
def no_sound_server(tmp_path: Path) -> Iterator[None]:
    """Point clients at a sound server that is not there, for the block."""
    with mock.patch.dict(os.environ, {"PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"}):
        yield


def test_echo_cancellation_without_a_sound_server_says_what_to_do(tmp_path: Path) -> None:
    with no_sound_server(tmp_path):
        ran = run_haven(["run", "--echo-cancel"], "", tmp_path / "data")
    assert ran.code != 0
    assert "echo cancellation needs" in ran.err and "Traceback" not in ran.err


def test_run_without_a_microphone_falls_back_to_text(tmp_path: Path) -> None:
    with no_sound_server(tmp_path):
        ran = run_haven(["run"], "start check-in\nstop\n", tmp_path / "data")
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


class _Speaker:
    """Speaks (as far as the loop can tell) for the first ``until`` chunks fed."""

    def __init__(self, hearing: _Hearing, until: int,
                 text: str = "When you're ready, say start check-in.") -> None:  # fmt: skip
        self._hearing, self._until = hearing, until
        self.last_spoken_text = text

    @property
    def speaking(self) -> bool:
        return self._hearing.fed < self._until

    def speak(self, text: str) -> None: ...
    def earcon(self, kind: EarconKind) -> None: ...
    def stop(self) -> None: ...


class _Hearing:
    """Hears Haven's own "start check-in" (an echo of its prompt) at chunk ``echo_at``, or
    what ``script`` says at each chunk: (text, via)."""

    def __init__(self, echo_at: tuple[int, ...] = (),
                 script: dict[int, tuple[str, str]] | None = None) -> None:  # fmt: skip
        from assistant.library import Library, default_intents_dir

        self.intents = Library.load(default_intents_dir()).intents
        self.script = script or {at: ("start check-in", "") for at in echo_at}
        self.fed = 0
        self.allowed: list[frozenset[str]] = []

    def feed(
        self, chunk: AudioChunk, allowed: frozenset[str], expected: frozenset[str] = frozenset()
    ) -> list[Heard]:
        self.allowed.append(allowed)
        self.fed += 1
        if self.fed - 1 not in self.script:
            return []
        text, via = self.script[self.fed - 1]
        now = time.monotonic()
        return [Heard(text, self.intents.match(text, allowed), now, now, via=via)]

    def reset(self) -> None: ...


def _loop_over(hearing: _Hearing, speaker: _Speaker, chunks: int) -> LiveLoop:
    """A live loop (a real engine and session) fed ``chunks`` of silence, run to the end."""
    import random

    from assistant.clock import SystemClock
    from assistant.config import Settings
    from assistant.engine import Engine
    from assistant.library import Library, default_intents_dir
    from assistant.session import Session

    silence = AudioChunk(RATE, 2, 1, bytes(2 * round(RATE * 0.03)))

    @contextlib.contextmanager
    def source() -> Iterator[list[AudioChunk]]:
        yield [silence] * chunks

    settings = Settings()
    library = Library.load(default_intents_dir(), settings.language)
    engine = Engine(library, settings, SystemClock(), random.Random())
    with Session(engine, None, lambda event: None) as session:
        loop = LiveLoop(session, speaker, hearing, source, lambda item: None,
                        end_when_source_ends=True)  # fmt: skip
        with loop:
            loop.run()
    return loop


def test_haven_counts_as_speaking_until_its_last_words_have_left_the_endpointer() -> None:
    """For ``ECHO_TAIL`` of audio after Haven's voice stops only the pause is live, and an
    echo of its prompt is dropped; after that, the same words are a command."""
    from assistant.app import BARGE_IN, ECHO_TAIL

    stops, tail = 20, round(ECHO_TAIL / 0.03)
    hearing = _Hearing(echo_at=(stops + 5, stops + tail + 10))
    loop = _loop_over(hearing, _Speaker(hearing, until=stops), stops + tail + 20)
    assert all(a == BARGE_IN for a in hearing.allowed[: stops + tail - 1])
    assert all(a != BARGE_IN and "start_checkin" in a for a in hearing.allowed[stops + tail + 1 :])
    # the echo in the tail was dropped, the same words later reached the engine
    assert [h.match.intent for h in loop.decisions if h.match] == ["start_checkin"]


def test_a_pause_its_detector_did_not_confirm_is_dropped_when_it_is_havens_own_words() -> None:
    """Over Haven saying "just say we need a pause", the detector-free pause (via "alone")
    heard as Haven's words is its voice leaking back; the detector's pause, and other
    words, always count."""
    from assistant.app import ALONE

    prompt = "You could take a pause now. Just say we need a pause."
    script = {5: ("sorry, I need a pause", ALONE), 15: ("we need a pause", "armed"),
              25: ("I need a break", ALONE), 60: ("we need a pause", ALONE)}  # fmt: skip
    hearing = _Hearing(script=script)
    loop = _loop_over(hearing, _Speaker(hearing, until=30, text=prompt), 90)
    kept = [(h.text, h.via) for h in loop.decisions if h.match]
    # the first is Haven's own words; the last is said after Haven (and its echo) stopped
    assert kept == [("we need a pause", "armed"), ("I need a break", ALONE),
                    ("we need a pause", ALONE)]  # fmt: skip
