"""The double-talk test: someone speaking over Haven, or only Haven's own voice heard back.

Haven's voice is rendered by the real synthesizer (pyttsx3 on espeak-ng), as the speaker
renders it; the partners speak with flite and festival. The room is simulated (a delay,
reverberation, room tone); the real endpointer cuts the utterances and, for the listener,
the real pocketsphinx grammar decodes them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.app import Heard
from assistant.audio import RATE, chunks_from_array, read_wav
from assistant.config import Settings
from assistant.library import Library, default_models_dir
from assistant.listen import augment
from assistant.listen.detector import Detectors
from assistant.listen.doubletalk import foreign_seconds, played_span, window_of
from assistant.listen.listener import Listener
from assistant.listen.tuning import ListenTuning
from assistant.live import create_recognizer
from assistant.playback import PlaybackTap
from assistant.stt.base import Recognizer
from assistant.tts import Synthesizer
from tests.speech import synthesize

ROOT = Path(__file__).resolve().parent.parent
PROMPT = ("Partner A, what is one thing you appreciated about Partner B today? "
          "Take your time. When you finish, say I'm done.")  # fmt: skip
GATE = ListenTuning().doubletalk_s


@pytest.fixture(scope="module")
def haven() -> Iterator[Synthesizer]:
    with Synthesizer(None, Settings().rate) as synth:
        yield synth


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("doubletalk-clips")


def in_the_room(played: np.ndarray, leak_db: float, delay_s: float,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """What the microphone hears of ``played``: ``leak_db`` below a -22 dBFS speech level,
    ``delay_s`` later (negative: the speaker's stamps run late), reverberant, over room
    tone (float, the same length)."""
    voice = augment.reverb(augment.set_level(played.astype(np.float64), -22.0 + leak_db),
                           rng, 0.4)  # fmt: skip
    shift = round(delay_s * RATE)
    mic = np.roll(voice, shift)
    mic[: max(0, shift)] = 0.0
    mic[len(mic) + min(0, shift) :] = 0.0
    return mic + augment.set_level(rng.normal(0, 1, len(mic)), -62.0)


def over(mic: np.ndarray, speech: np.ndarray, at_s: float) -> np.ndarray:
    """``speech`` at -22 dBFS added to ``mic`` from ``at_s`` on."""
    out = mic.copy()
    voice = augment.set_level(speech.astype(np.float64), -22.0)
    at = round(at_s * RATE)
    out[at : at + len(voice)] += voice[: len(out) - at]
    return out


def foreign(mic: np.ndarray, played: np.ndarray, start_s: float, end_s: float) -> float:
    """The test on the stretch of ``mic`` from ``start_s`` to ``end_s``, given ``played``
    on the same timeline, as the listener calls it."""
    ref = window_of(played, *played_span(start_s, end_s - start_s))
    heard = augment.to_int16(mic[round(start_s * RATE) : round(end_s * RATE)])
    return foreign_seconds(heard, ref)


@pytest.mark.parametrize("leak_db", [-20.0, -6.0, 0.0])
@pytest.mark.parametrize("delay_s", [-0.15, 0.05, 0.4])
def test_havens_voice_alone_is_not_someone_else(
    haven: Synthesizer, leak_db: float, delay_s: float
) -> None:
    played = np.concatenate([np.zeros(RATE, np.int16), haven.render(PROMPT),
                             np.zeros(RATE, np.int16)])  # fmt: skip
    mic = in_the_room(played, leak_db, delay_s, np.random.default_rng(1))
    for start in np.arange(0.5, len(played) / RATE - 3.0, 1.0):  # stretches of every part
        assert foreign(mic, played, start, start + 2.5) < GATE


@pytest.mark.parametrize("leak_db", [-20.0, -6.0])
@pytest.mark.parametrize(("text", "voice"), [("we need a pause", "flite-slt"),
                                             ("wait, I need a break", "flite-awb")])
def test_a_partner_speaking_over_haven_is_someone_else(
    haven: Synthesizer, clips: Path, leak_db: float, text: str, voice: str
) -> None:
    """Over Haven's last words (it goes on speaking a moment after a pause is called),
    with the partner nearer the microphone than Haven's speaker. (Said wholly over the
    middle of a sentence, or with Haven as loud as the partner, a pause is often hidden
    by Haven's words around it: ``bench/doubletalk.py`` measures how often.)"""
    prompt = haven.render(PROMPT)
    played = np.concatenate([np.zeros(RATE, np.int16), prompt, np.zeros(RATE, np.int16)])
    rng = np.random.default_rng(2)
    partner = read_wav(synthesize(text, voice, clips, pad_seconds=0.0))
    at = 1.0 + len(prompt) / RATE - 0.5
    room = in_the_room(played, leak_db, 0.1, rng)
    # the utterance as the endpointer cuts it over Haven's voice: from some of Haven's
    # words before (its voice is speech to the endpointer too) to the partner's last
    begin, end = at - 1.6, at + 0.2 + len(partner) / RATE
    assert foreign(over(room, partner, at), played, begin, end) >= GATE
    assert foreign(room, played, begin, end) < GATE  # the same stretch without the partner


def test_when_haven_played_nothing_all_speech_is_someone_else(clips: Path) -> None:
    speech = read_wav(synthesize("we need a pause", "flite-slt", clips, pad_seconds=0.3))
    mic = augment.to_int16(speech + np.random.default_rng(3).normal(0, 30, len(speech)))
    seconds = foreign_seconds(mic, np.zeros(0, dtype=np.int16))
    assert 0.4 <= seconds <= len(speech) / RATE
    assert foreign_seconds(np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int16)) == 0.0


def test_the_tap_gives_back_what_was_played_where_it_was_played() -> None:
    tap = PlaybackTap(keep_s=5.0)
    rate = 48000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate // 100) / rate)).astype(np.float32)
    for k in range(50):  # half a second of 10 ms blocks from t = 100.0
        tap.add(100.0 + k * 0.01, tone, rate)
    window = tap.window(99.5, 101.0)  # 16 kHz, 1.5 s
    assert len(window) == round(1.5 * RATE)
    level = np.abs(window.astype(np.float64))
    assert level[: round(0.49 * RATE)].max() == 0  # before it played: silence
    assert level[round(0.51 * RATE) : round(0.99 * RATE)].max() > 10000  # the tone, resampled
    assert level[round(1.01 * RATE) :].max() == 0  # after: silence
    tap.add(107.0, tone, rate)  # more than keep_s later: the old blocks are let go
    assert np.abs(tap.window(99.5, 101.0)).max() == 0


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "intents")


@pytest.fixture(scope="module")
def recognizer(library: Library) -> Iterator[Recognizer]:
    with create_recognizer(library, Settings()) as rec:
        yield rec


def feed_over_haven(
    library: Library, recognizer: Recognizer, audio: np.ndarray, played: np.ndarray | None,
    tuning: ListenTuning,
) -> list[tuple[float, Heard]]:  # fmt: skip
    """Feed ``audio`` while Haven speaks (only the pause live) to a listener with
    ``tuning``, told ``played`` as what Haven played (on the same timeline; None: not
    known); (stream time, what was taken) for each decision."""
    fed = [0.0]

    def playback(start: float, end: float) -> np.ndarray:
        assert played is not None
        return window_of(played, start, end)

    listener = Listener(recognizer, library.intents, library.safety,
                        Detectors.from_dir(default_models_dir()), "Haven", tuning,
                        monotonic=lambda: fed[0],
                        playback=None if played is None else playback)  # fmt: skip
    out = []
    for chunk in chunks_from_array(augment.to_int16(audio)):
        fed[0] += chunk.seconds  # the stream's own clock stands in for time.monotonic
        out += [(fed[0], h) for h in listener.feed(chunk, frozenset({"pause"})) if h.match]
    return out


def listening(library: Library, recognizer: Recognizer, audio: np.ndarray,
              played: np.ndarray | None, **tuning: object) -> list[tuple[str, str]]:  # fmt: skip
    """What a listener whose pause detector never passes (so only the detector-free route
    can take a pause) takes from ``audio``: (intent, via) each."""
    chosen = ListenTuning(**{"pause": 1.01, **tuning})  # type: ignore[arg-type]
    taken = feed_over_haven(library, recognizer, audio, played, chosen)
    return [(h.match.intent, h.via) for _, h in taken if h.match is not None]


def when(library: Library, recognizer: Recognizer, audio: np.ndarray, played: np.ndarray,
         **tuning: object) -> list[float]:  # fmt: skip
    """Stream times at which a listener with the shipped pause detector took a pause."""
    chosen = ListenTuning(**tuning)  # type: ignore[arg-type]
    return [t for t, _ in feed_over_haven(library, recognizer, audio, played, chosen)]


def have_festival() -> bool:
    return shutil.which("text2wave") is not None


def partner_over_haven(haven: Synthesizer, prompt_text: str, phrase: str,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(what Haven played, the microphone): Haven's ``prompt_text`` leaking back 20 dB
    down, and a partner (festival's kal voice) saying ``phrase`` as its last words die
    away."""
    from assistant.listen.synth import Voice, render

    prompt = haven.render(prompt_text)
    played = np.concatenate([np.zeros(2 * RATE, np.int16), prompt, np.zeros(3 * RATE, np.int16)])
    room = in_the_room(played, -20.0, 0.1, np.random.default_rng(seed))
    said = render(phrase, Voice("festival", "kal_diphone"))
    return played, over(room, said, 2.0 + len(prompt) / RATE + 0.8)


@pytest.mark.skipif(not have_festival(), reason="festival is not installed")
def test_over_havens_voice_the_detector_free_pause_needs_someone_else_speaking(
    library: Library, recognizer: Recognizer, haven: Synthesizer
) -> None:
    # festival's kal voice: the pause detector misses it
    played, audio = partner_over_haven(haven, "Thank you. Take a slow breath.",
                                       "we need a pause", 4)  # fmt: skip
    assert listening(library, recognizer, audio, played) == [("pause", "alone")]
    # not knowing what Haven played, the route stays closed over Haven's voice, as before
    assert listening(library, recognizer, audio, None) == []
    # Haven saying the phrase itself, loud in the room, is its own voice: never a pause
    said = haven.render("We need a pause.")
    played = np.concatenate([np.zeros(2 * RATE, np.int16), said, np.zeros(3 * RATE, np.int16)])
    echo = in_the_room(played, -3.0, 0.1, np.random.default_rng(5))
    assert listening(library, recognizer, echo, played) == []
    # ...which the grammar does hear as a pause: the route would take it, were it open
    assert listening(library, recognizer, echo, played, alone_over_haven=True) == [
        ("pause", "alone")]


@pytest.mark.skipif(not have_festival(), reason="festival is not installed")
def test_once_someone_else_is_heard_a_short_phrasing_after_a_lead_in_is_taken(
    library: Library, recognizer: Recognizer, haven: Synthesizer
) -> None:
    played, audio = partner_over_haven(haven, "Now take turns. Say what you noticed.",
                                       "sorry, I'm flooded", 6)  # fmt: skip
    assert listening(library, recognizer, audio, played) == [("pause", "alone")]
    # the old rule: over Haven a short phrasing needed its detector even after a lead-in
    assert listening(library, recognizer, audio, played, doubletalk_short=False) == []
    # with the canceller nothing tests who is speaking, so the old rule holds there
    assert listening(library, recognizer, audio, played, alone_over_haven=True) == []


def test_a_short_phrasing_needs_its_detector_over_haven_until_someone_else_is_heard() -> None:
    tuning = ListenTuning()
    assert not tuning.short_needs_detector(speaking=False)
    assert tuning.short_needs_detector(speaking=True, foreign=tuning.doubletalk_s / 2)
    assert not tuning.short_needs_detector(speaking=True, foreign=tuning.doubletalk_s)
    assert ListenTuning(doubletalk_short=False).short_needs_detector(True, foreign=2.0)
    assert ListenTuning(alone_over_haven=True).short_needs_detector(True, foreign=2.0)
    assert ListenTuning(doubletalk_s=0.0).short_needs_detector(True, foreign=2.0)


@pytest.mark.skipif(not have_festival(), reason="festival is not installed")
@pytest.mark.parametrize(("phrase", "at"), [("I need a break", 4.0), ("can we pause", 5.5)])
def test_a_pause_said_while_haven_is_still_talking_is_heard_before_haven_stops(
    library: Library, recognizer: Recognizer, haven: Synthesizer, phrase: str, at: float
) -> None:
    """``ListenTuning.spot_every_s``: Haven's voice never leaves the quiet an early decision
    waits for, so the partner's words and Haven's are one utterance until Haven stops."""
    from assistant.listen.synth import Voice, render

    text = ("Next, your own view of what happened. Speak from I, not you. Then your partner "
            "sums it up, and says what they can understand.")  # fmt: skip
    prompt = haven.render(text)
    played = np.concatenate([np.zeros(2 * RATE, np.int16), prompt, np.zeros(3 * RATE, np.int16)])
    room = in_the_room(played, -20.0, 0.1, np.random.default_rng(7))
    said = render(phrase, Voice("festival", "kal_diphone"))
    audio = over(room, said, at)  # seconds into the stream, Haven talking on
    haven_stops, said_until = 2.0 + len(prompt) / RATE, at + len(said) / RATE
    spotted = when(library, recognizer, audio, played)
    assert len(spotted) == 1 and at < spotted[0] < said_until + 1.0 < haven_stops
    # without the checks it is heard later (at a gap in Haven's voice) or not at all
    assert all(t > spotted[0] for t in when(library, recognizer, audio, played,
                                            spot_every_s=0.0))  # fmt: skip
    # Haven alone: nothing
    assert when(library, recognizer, room, played) == []
