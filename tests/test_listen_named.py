"""The named route: "Haven, <command>" heard whole by the grammar, without the wake detector.

The intents said after the name (``IntentSet.addressed``), a second real pocketsphinx
recognizer for them, and the Listener with its wake detector made deaf, so only this
route can take a command. Speech is synthesized now (festival's kal voice, which the
detectors never trained on, and flite).
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.app import Heard
from assistant.audio import chunks_from_array
from assistant.config import Settings
from assistant.detect import listen_stream, top_level_intents
from assistant.errors import ConfigError
from assistant.library import Library, default_models_dir
from assistant.listen.listener import Listener, build_listener
from assistant.listen.routes import addressed_intents
from assistant.listen.synth import Voice, render
from assistant.listen.tuning import ListenTuning
from assistant.live import create_addressed, create_recognizer
from assistant.stt.base import Recognition, Recognizer

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000

needs_festival = pytest.mark.skipif(
    shutil.which("text2wave") is None or shutil.which("flite") is None,
    reason="needs festival and flite",
)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "intents")


@pytest.fixture(scope="module")
def recognizer(library: Library) -> Iterator[Recognizer]:
    with create_recognizer(library, Settings()) as rec:
        yield rec


@pytest.fixture(scope="module")
def addressed(library: Library) -> Iterator[Recognizer]:
    with create_addressed(library, Settings()) as rec:
        yield rec


class Counting:
    """A recognizer that counts what it is asked to decode."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def decode(self, samples: np.ndarray, allowed: Collection[str]) -> Recognition:
        self.seconds.append(len(samples) / RATE)
        return self.inner.decode(samples, allowed)


def deaf_wake(library: Library, recognizer: Recognizer, addressed: object,
              **tuning: object) -> Listener:  # fmt: skip
    """A listener whose wake detector can never pass: only the named route takes commands."""
    base = ListenTuning(wake=1.01, early_wake=1.01, named_wake=0.0)
    return build_listener(recognizer, library.intents, library.safety, default_models_dir(),
                          "Haven", replace(base, **tuning), addressed)  # type: ignore[arg-type]  # fmt: skip


def speech(parts: list[tuple[str, Voice] | float]) -> np.ndarray:
    """Speech and gaps (seconds) in a row over quiet room tone, with a lead-in."""
    rng = np.random.default_rng(2)
    pieces = [rng.normal(0.0, 30.0, 2 * RATE)]
    for part in parts:
        if isinstance(part, float):
            pieces.append(rng.normal(0.0, 30.0, int(part * RATE)))
        else:
            clip = render(*part).astype(np.float64)
            pieces.append(clip + rng.normal(0.0, 30.0, len(clip)))
    pieces.append(rng.normal(0.0, 30.0, int(1.5 * RATE)))
    return np.clip(np.concatenate(pieces), -32768, 32767).astype(np.int16)


def run(listener: Listener, audio: np.ndarray, allowed: frozenset[str]) -> list[Heard]:
    listener.reset()
    heard = []
    for chunk in chunks_from_array(audio):
        heard += listener.feed(chunk, allowed)
    return [h for h in heard if h.match is not None]


def fired(heard: list[Heard]) -> list[tuple[str, str]]:
    return [(h.match.intent, h.via) for h in heard if h.match is not None]


KAL = Voice("festival", "kal_diphone")
SLT = Voice("flite", "slt")


# ---- the intents after the name -----------------------------------------------------------


def test_every_command_is_said_after_the_name_but_the_pause(library: Library) -> None:
    named = addressed_intents(library.intents, "Haven")
    assert named.names == library.intents.names
    hit = named.match("hey haven start our daily check-in")
    assert hit is not None and hit.intent == "start_checkin"
    hit = named.match("haven give us ten more minutes")
    assert hit is not None and (hit.intent, dict(hit.slots)) == ("extend", {"minutes": 10})
    assert named.match("okay haven bedtime gratitude") is not None
    assert named.match("start our daily check-in") is None  # no name: not for the route
    assert named.match("haven") is None
    pause = named.match("we need a pause")  # always armed: no name needed
    assert pause is not None and pause.intent == "pause"
    # the intents themselves are untouched
    assert library.intents.match("start our daily check-in") is not None
    assert library.intents.match("haven start our daily check-in") is None


def test_the_name_is_a_setting(library: Library) -> None:
    named = addressed_intents(library.intents, "Iris")
    assert named.match("hey iris bedtime gratitude") is not None
    assert named.match("hey haven bedtime gratitude") is None
    with pytest.raises(ConfigError, match="wake_name"):
        addressed_intents(library.intents, "Haven 2")


# ---- the route --------------------------------------------------------------------------------


@needs_festival
@pytest.mark.parametrize(
    ("text", "voice", "intent"),
    [("Haven, start our check-in", KAL, "start_checkin"),
     ("hey Haven, bedtime gratitude", KAL, "gratitude"),
     ("Haven, breathe with me", SLT, "breathe")],
)  # fmt: skip
def test_a_command_the_wake_detector_misses_is_taken_when_the_grammar_hears_it_whole(
    library: Library, recognizer: Recognizer, addressed: Recognizer, text: str, voice: Voice,
    intent: str,
) -> None:  # fmt: skip
    audio = speech([(text, voice)])
    idle = top_level_intents(library)
    assert fired(run(deaf_wake(library, recognizer, addressed), audio, idle)) == [(intent, "named")]
    # the route is what took it: without it (or without its recognizer) nothing does
    assert fired(run(deaf_wake(library, recognizer, addressed, named=False), audio, idle)) == []
    assert fired(run(deaf_wake(library, recognizer, None), audio, idle)) == []


@needs_festival
def test_without_the_name_a_command_is_still_not_for_haven(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    audio = speech([("start our check-in", KAL), 1.0, ("bedtime gratitude", SLT)])
    assert fired(run(deaf_wake(library, recognizer, addressed), audio,
                     top_level_intents(library))) == []  # fmt: skip


@needs_festival
def test_ordinary_talk_with_the_name_and_trigger_words_fires_nothing(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    talk: list[tuple[str, Voice] | float] = [
        ("the harbour was a safe haven for the boats", KAL), 0.8,
        ("haven't you checked in at the hotel yet", SLT), 0.8,
        ("I need a break from heavy traffic", KAL), 0.8,
        ("having a gentle start up is nice", SLT),
    ]
    assert fired(run(deaf_wake(library, recognizer, addressed), speech(talk),
                     top_level_intents(library))) == []  # fmt: skip


@needs_festival
def test_long_speech_is_never_decoded_for_the_named_route(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    counting = Counting(addressed)
    listener = deaf_wake(library, recognizer, counting)
    text = ("Haven, we talked for a long time about the weekend and whether we should "
            "start the check-in before or after dinner with the kids")  # fmt: skip
    assert fired(run(listener, speech([(text, SLT)]), top_level_intents(library))) == []
    assert all(s <= listener.tuning.named_s for s in counting.seconds)


@needs_festival
def test_while_haven_speaks_the_named_route_is_closed(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    counting = Counting(addressed)
    listener = deaf_wake(library, recognizer, counting)
    audio = speech([("Haven, start our check-in", KAL)])
    assert fired(run(listener, audio, frozenset({"pause"}))) == []
    assert counting.seconds == []


@needs_festival
def test_detect_stream_reports_the_named_route_as_wake(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    """The --stream contract has two routes: "wake" (the name, either way) and "armed"."""
    audio = speech([("Haven, start our check-in", KAL)])
    listener = deaf_wake(library, recognizer, addressed)
    found = list(listen_stream(listener, chunks_from_array(audio), top_level_intents(library),
                               "clip.wav"))  # fmt: skip
    assert [(f.intent, f.via) for f in found] == [("start_checkin", "wake")]


@needs_festival
def test_talk_the_name_detector_does_not_hear_at_all_is_not_decoded_for_the_route(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    """The shipped floor (``named_wake``): the wake detector must give the name some chance."""
    counting = Counting(addressed)
    listener = deaf_wake(library, recognizer, counting, named_wake=ListenTuning().named_wake)
    assert listener.tuning.named_wake > 0.0
    talk: list[tuple[str, Voice] | float] = [("Life is not for everyone.", SLT), 0.8,
                                             ("The user can figure it out.", KAL)]
    assert fired(run(listener, speech(talk), top_level_intents(library))) == []
    assert counting.seconds == []


@needs_festival
def test_when_the_name_is_heard_the_whole_phrase_is_asked_before_the_cut_after_it(
    library: Library, recognizer: Recognizer, addressed: Recognizer
) -> None:
    """``ListenTuning.named_first``: the cut after the name can clip the command or keep
    the name's last sound; the phrase heard whole with the name does not."""
    audio = speech([("Haven, stop", Voice("festival", "kal_diphone", 0, 0.9))])
    idle = top_level_intents(library)

    def heard(**tuning: object) -> list[tuple[str, str]]:
        listener = build_listener(recognizer, library.intents, library.safety,
                                  default_models_dir(), "Haven",
                                  ListenTuning(**tuning), addressed)  # type: ignore[arg-type]  # fmt: skip
        return fired(run(listener, audio, idle))

    assert heard() == [("stop", "named")]
    # the cut alone hears this one as another command: the wake detector did fire
    wrong = heard(named_first=False)
    assert len(wrong) == 1 and wrong[0][1] == "wake" and wrong[0][0] != "stop"
