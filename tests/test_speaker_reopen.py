"""The speaker's output device vanishes mid-session and comes back (issue 6, item 2).

On a private PulseAudio daemon that kills (does not move) the streams of a removed sink,
the Speaker plays into a sink of its own, ``hsink`` (pinned with ``PULSE_SINK``; the
default sink is another, so removing ``hsink`` cannot just move the stream). The sink is
unloaded while a prompt plays: that prompt and the ones after come out as text, with one
warning. The sink is created again under the same name: a later prompt is really played
(recorded from the sink's monitor), the Speaker says it is back, and ``stop()`` still cuts
it off within 50 ms. The Speaker reopens ``default`` by the same PortAudio index, with
no rescan (which would also close the microphone's stream).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.devices import rescan
from assistant.speaker import BACKOFF, LOST, Speaker
from assistant.tts import Synthesizer
from tests.pulse import (
    NamedSinkRecorder,
    PulseDaemon,
    PulseUnavailable,
    _unavailable,
    add_sink,
    remove_sink,
    sink_exists,
)

HAVEN_SINK = "hsink"
LONG_PROMPT = (
    "Let's begin your check-in. Each of you will share one appreciation, some news, "
    "a worry and a wish. Take your time, and speak one at a time while the other listens."
)
_ENV_KEYS = ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME", "PULSE_SINK")


@pytest.fixture
def vanishing_daemon() -> Iterator[PulseDaemon]:
    """A daemon of its own, with this process (and PortAudio) pointed at it, playing into
    ``hsink``; the environment and PortAudio's device list are put back afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="haven-ps-", dir="/tmp"))
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    daemon = PulseDaemon(directory, rescue_streams=False)
    try:
        try:
            server = daemon.start()
        except PulseUnavailable as exc:
            _unavailable(str(exc))
        add_sink(HAVEN_SINK, server.env())
        # a client must never start a daemon of its own while this one is down
        (directory / ".config" / "pulse").mkdir(parents=True, exist_ok=True)
        (directory / ".config" / "pulse" / "client.conf").write_text("autospawn = no\n")
        os.environ.update(server.env(), PULSE_SINK=HAVEN_SINK)
        rescan()  # no stream is open in this process here
        yield daemon
    finally:
        daemon.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        rescan()
        shutil.rmtree(directory, ignore_errors=True)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.005)


def timed_speak(speaker: Speaker, text: str) -> None:
    """speak() is called on the engine's thread: it must return at once, device or not."""
    asked = time.monotonic()
    speaker.speak(text)
    assert time.monotonic() - asked < 0.05  # no render, no device open on this thread


def test_speaker_comes_back_after_its_sink_vanishes(
    vanishing_daemon: PulseDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    assert vanishing_daemon.server is not None
    env = vanishing_daemon.server.env()
    texts: list[str] = []
    with (
        Synthesizer(voice="en-us", rate=175) as synth,
        caplog.at_level(logging.INFO, logger="assistant.speaker"),
        NamedSinkRecorder(HAVEN_SINK, env) as before,
        Speaker(synth, None, texts.append) as speaker,
    ):
        assert speaker.output is not None and speaker.problem == ""
        device = speaker.output
        timed_speak(speaker, "Welcome to Haven.")
        assert speaker.wait(timeout=10.0)
        assert len(before.loud_times()) > 30, "the first prompt was not played"

        # the sink goes away in the middle of a prompt
        timed_speak(speaker, LONG_PROMPT)
        wait_until(lambda: speaker.speaking, 3.0, "the long prompt plays")
        time.sleep(0.5)
        remove_sink(HAVEN_SINK, env)
        lost_at = time.monotonic()
        assert not sink_exists(HAVEN_SINK, env)
        wait_until(lambda: speaker.problem == LOST, 3.0, "the speaker sees the loss")
        assert not speaker.speaking
        wait_until(lambda: LONG_PROMPT in texts, 3.0, "the cut-off prompt is text")

        # meanwhile every prompt comes out as text, none is lost
        timed_speak(speaker, "Breathe in.")  # before the first retry is due
        assert speaker.wait(timeout=5.0)
        time.sleep(max(0.0, lost_at + BACKOFF[0] + 0.2 - time.monotonic()))
        timed_speak(speaker, "Breathe out.")  # a first retry, which fails
        assert speaker.wait(timeout=5.0)
        retried_at = time.monotonic()
        assert texts == [LONG_PROMPT, "Breathe in.", "Breathe out."]
        assert speaker.problem

        # the sink is back; the next retry waits for its backoff
        add_sink(HAVEN_SINK, env)
        with NamedSinkRecorder(HAVEN_SINK, env) as after:
            timed_speak(speaker, "Hold.")  # too soon: still text
            assert speaker.wait(timeout=5.0)
            assert texts[-1] == "Hold."
            time.sleep(max(0.0, retried_at + BACKOFF[1] + 0.2 - time.monotonic()))
            asked = time.monotonic()
            timed_speak(speaker, "Welcome back. Let's go on.")
            assert speaker.wait(timeout=10.0)
            assert speaker.problem == ""
            assert speaker.output == device  # the same PortAudio device, no rescan
            time.sleep(0.3)
            played = [t for t in after.loud_times() if t > asked]
            assert len(played) > 30, "the prompt after the return was not played"

            # and barge-in still cuts it within 50 ms
            timed_speak(speaker, LONG_PROMPT)
            wait_until(lambda: speaker.speaking, 3.0, "the long prompt plays again")
            time.sleep(0.5)
            stopped = time.monotonic()
            speaker.stop()
            while speaker.speaking and time.monotonic() - stopped < 1.0:
                time.sleep(0.001)
            assert time.monotonic() - stopped < 0.05
            time.sleep(0.4)
            loud = after.loud_times()
            assert all(t < stopped + 0.15 for t in loud), "sound after stop()"
    assert texts == [LONG_PROMPT, "Breathe in.", "Breathe out.", "Hold."]
    assert not [t for t in threading.enumerate() if t.name == "haven-speaker"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "speaking as text instead" in warnings[0] and LOST in warnings[0]
    assert "the speaker is back" in warnings[1]
    retries = [r.getMessage() for r in caplog.records if "next try in" in r.getMessage()]
    assert len(retries) == 1 and "next try in 2 s" in retries[0], retries


def test_speaker_comes_back_after_the_sound_server_restarts(
    vanishing_daemon: PulseDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    assert vanishing_daemon.server is not None
    env = vanishing_daemon.server.env()
    texts: list[str] = []
    with (
        caplog.at_level(logging.WARNING, logger="assistant.speaker"),
        Speaker(None, None, texts.append) as speaker,
    ):
        speaker.earcon("listening")
        assert speaker.wait(timeout=5.0)
        vanishing_daemon.stop()
        wait_until(lambda: speaker.problem == LOST, 5.0, "the speaker sees the server go")
        timed_speak(speaker, "Still here, as text.")
        assert speaker.wait(timeout=5.0)
        assert texts == ["Still here, as text."]

        restarted = vanishing_daemon.start()
        assert restarted.env() == env  # same socket: this process still points at it
        add_sink(HAVEN_SINK, env)
        with NamedSinkRecorder(HAVEN_SINK, env) as after:
            deadline = time.monotonic() + BACKOFF[0] + BACKOFF[1] + 5
            while speaker.problem and time.monotonic() < deadline:
                speaker.earcon("chime")  # something to play: a retry when the backoff allows
                assert speaker.wait(timeout=5.0)
                time.sleep(0.2)
            assert speaker.problem == ""
            asked = time.monotonic()
            speaker.earcon("chime")
            assert speaker.wait(timeout=5.0)
            time.sleep(0.3)
            assert [t for t in after.loud_times() if t > asked], "nothing played after the restart"
    assert texts == ["Still here, as text."]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "the speaker is back" in warnings[1]
