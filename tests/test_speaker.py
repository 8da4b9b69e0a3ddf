"""Synthesizer, earcons and Speaker against real espeak-ng and a virtual PulseAudio device."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from assistant import earcons
from assistant.audio import RATE
from assistant.errors import AudioError
from assistant.events import EarconKind
from assistant.speaker import Speaker
from assistant.tts import Synthesizer
from tests.pulse import PulseServer, SinkRecorder

LONG_PROMPT = (
    "Let's begin your check-in. Each of you will share one appreciation, some news, "
    "a worry and a wish. Take your time, and speak one at a time while the other listens."
)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


@pytest.fixture(scope="module")
def synth() -> Iterator[Synthesizer]:
    with Synthesizer(voice="en-us", rate=175) as synthesizer:
        yield synthesizer


# -- Synthesizer -------------------------------------------------------------------------


def test_render_is_real_speech(synth: Synthesizer) -> None:
    samples = synth.render("Welcome to Haven. Let's take a breath together.")
    assert samples.dtype == np.int16
    assert samples.ndim == 1
    assert 1.5 < len(samples) / RATE < 6.0
    assert rms(samples) > 1000
    # Speech has pauses: the loudest 50 ms windows are far above the quietest ones.
    windows = samples[: len(samples) // 800 * 800].reshape(-1, 800).astype(np.float64)
    levels = np.sqrt((windows**2).mean(axis=1))
    assert levels.max() > 20 * max(levels.min(), 1.0)


def test_render_caches_and_returns_read_only(synth: Synthesizer) -> None:
    first = synth.render("We need a pause.")
    assert synth.render("  We need   a pause. ") is first
    assert not first.flags.writeable
    assert len(synth.render("   ")) == 0


def test_cache_is_bounded() -> None:
    with Synthesizer(cache_size=2) as small:
        one = small.render("one")
        small.render("two")
        small.render("three")
        assert small.render("three") is small.render("three")
        assert small.render("one") is not one


def test_slower_rate_is_longer() -> None:
    text = "Thank you for listening to each other tonight."
    with Synthesizer(rate=120) as slow, Synthesizer(rate=260) as fast:
        assert len(slow.render(text)) > 1.5 * len(fast.render(text))


def test_voice_by_name_and_variant() -> None:
    with Synthesizer(voice="English (America)") as by_name:
        assert by_name.voice is not None and by_name.voice.endswith("en-us")
    with Synthesizer(voice="en-us+f2") as variant:
        assert variant.voice is not None and variant.voice.endswith("en-us+f2")
        assert rms(variant.render("Good night.")) > 500


def test_bad_settings_raise_audio_error() -> None:
    with pytest.raises(AudioError, match="no-such-voice"):
        Synthesizer(voice="no-such-voice")
    with pytest.raises(AudioError, match="words per minute"):
        Synthesizer(rate=5)
    with pytest.raises(AudioError, match="volume"):
        Synthesizer(volume=1.5)


def test_engine_that_cannot_start_names_the_fix() -> None:
    with pytest.raises(AudioError, match="apt-get install espeak-ng"):
        Synthesizer(driver="no_such_driver")


def test_render_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Synthesizer() as quiet:
        quiet.render("Nothing on standard output, please.")
    assert capsys.readouterr().out == ""


def test_closed_synthesizer_raises() -> None:
    closed = Synthesizer()
    closed.close()
    with pytest.raises(AudioError, match="closed"):
        closed.render("hello")


# -- earcons -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", earcons.KINDS)
def test_earcon_shape_and_level(kind: EarconKind) -> None:
    samples = earcons.earcon(kind)
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert 0.1 < len(samples) / RATE < 0.8
    peak = int(np.abs(samples.astype(np.int32)).max())
    assert 0.2 * 32767 < peak <= 0.35 * 32767
    assert abs(int(samples[0])) < 300 and abs(int(samples[-1])) < 300


def test_earcons_have_different_pitches() -> None:
    def dominant(samples: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
        return float(np.fft.rfftfreq(len(samples), 1 / RATE)[spectrum.argmax()])

    pitches = [dominant(earcons.earcon(kind)) for kind in earcons.KINDS]
    assert min(abs(a - b) for i, a in enumerate(pitches) for b in pitches[i + 1 :]) > 50


def test_unknown_earcon_raises() -> None:
    with pytest.raises(AudioError, match="unknown earcon"):
        earcons.earcon("klaxon")  # type: ignore[arg-type]


# -- Speaker on the virtual device ---------------------------------------------------------


def test_speaker_plays_and_stop_cuts_within_50ms(
    pulse_server: PulseServer, synth: Synthesizer
) -> None:
    texts: list[str] = []
    first_samples: list[float] = []
    with SinkRecorder() as recorder:
        recorder.wait_for_blocks()
        with Speaker(synth, None, texts.append, on_first_sample=first_samples.append) as speaker:
            assert speaker.output is not None
            asked = time.monotonic()
            speaker.speak(LONG_PROMPT)
            deadline = asked + 2.0
            while not speaker.speaking and time.monotonic() < deadline:
                time.sleep(0.005)
            assert speaker.speaking
            since = speaker.speaking_since
            assert since is not None and asked <= since
            time.sleep(0.8)
            assert speaker.last_spoken_text == LONG_PROMPT
            stopped = time.monotonic()
            speaker.stop()
            while speaker.speaking and time.monotonic() - stopped < 1.0:
                time.sleep(0.001)
            assert time.monotonic() - stopped < 0.05
            assert speaker.speaking_since is None
            assert speaker.wait(timeout=1.0)
            time.sleep(0.4)
        loud = recorder.loud_times()
    assert texts == []
    assert len(first_samples) == 1 and asked <= first_samples[0] < asked + 0.5
    before = [t for t in loud if t < stopped]
    assert len(before) > 30, "the prompt did not reach the device"
    # The monitor capture adds its own ~10-30 ms; the device must fall silent soon after.
    assert all(t < stopped + 0.15 for t in loud), f"sound {max(loud) - stopped:.3f} s after stop"


def test_speaker_finishes_and_waits(pulse_server: PulseServer, synth: Synthesizer) -> None:
    with SinkRecorder() as recorder:
        recorder.wait_for_blocks()
        with Speaker(synth, "pulse", lambda text: None) as speaker:
            started = time.monotonic()
            speaker.speak("Time is up.")
            speaker.earcon("chime")
            assert speaker.wait(timeout=10.0)
            took = time.monotonic() - started
            assert not speaker.speaking
            assert speaker.speaking_since is None
            # the tap kept what went out, when it went out: the words and the chime
            played = speaker.tap.window(started, time.monotonic() + 0.5)
            spoken = synth.render("Time is up.")
        loud = recorder.loud_times()
    assert 1.0 < took < 5.0
    assert len(loud) > 50
    heard = np.flatnonzero(np.abs(played.astype(np.int32)) > 1000) / RATE
    assert len(heard) and heard[0] < took and heard[-1] - heard[0] > 0.8 * len(spoken) / RATE
    assert not np.any(played[-RATE // 4 :])  # nothing after the end


def test_speaker_threads_are_joined(pulse_server: PulseServer) -> None:
    with Speaker(None, None, lambda text: None) as speaker:
        speaker.earcon("listening")
        assert speaker.wait(timeout=5.0)
    assert not [t for t in threading.enumerate() if t.name == "haven-speaker"]


def test_missing_device_falls_back_to_text_with_one_warning(
    synth: Synthesizer, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    with (
        caplog.at_level(logging.WARNING, logger="assistant.speaker"),
        Speaker(synth, "no-such-speaker-xyz", texts.append) as speaker,
    ):
        assert speaker.output is None
        speaker.speak("Let's pause for twenty minutes.")
        speaker.earcon("pause")
        speaker.speak("I'll chime when it's time.")
        assert speaker.wait(timeout=5.0)
        assert not speaker.speaking
    assert texts == ["Let's pause for twenty minutes.", "I'll chime when it's time."]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no-such-speaker-xyz" in warnings[0].getMessage()


def test_failing_tts_falls_back_to_text(
    pulse_server: PulseServer, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Synthesizer()
    broken.close()  # every render now raises AudioError
    texts: list[str] = []
    with (
        caplog.at_level(logging.WARNING, logger="assistant.speaker"),
        Speaker(broken, None, texts.append) as speaker,
    ):
        assert speaker.output is not None
        speaker.speak("First.")
        speaker.speak("Second.")
        assert speaker.wait(timeout=5.0)
    assert texts == ["First.", "Second."]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_speak_after_close_raises() -> None:
    speaker = Speaker(None, "no-such-speaker-xyz", lambda text: None)
    speaker.close()
    speaker.close()
    with pytest.raises(AudioError, match="closed"):
        speaker.speak("hello")
