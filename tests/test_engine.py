"""The engine on its own, with a manual clock: the pause's promises and the global intents."""

from __future__ import annotations

import random
from functools import cache
from itertools import pairwise
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.clock import ManualClock
from assistant.config import Settings
from assistant.engine import Engine
from assistant.events import (
    Event,
    PauseEnded,
    PauseExtended,
    PauseStarted,
    PracticeChanged,
    Say,
    StopSpeaking,
)
from assistant.intents import IntentMatch
from assistant.library import Library
from assistant.prompts import PhrasingChooser, Prompt, fill
from tests.conftest import INTENTS

T0 = 1_800_000_000.0


@cache
def library() -> Library:
    return Library.load(INTENTS)


def engine(**overrides: object) -> tuple[Engine, ManualClock]:
    clock = ManualClock(T0)
    s = Settings(partner_a="Sam", partner_b="Alex", **overrides)  # type: ignore[arg-type]
    return Engine(library(), s, clock, random.Random(0)), clock


def hear(e: Engine, intent: str, **slots: object) -> list[Event]:
    return e.hear(IntentMatch(intent, MappingProxyType(dict(slots))))


def wait(e: Engine, clock: ManualClock, seconds: float) -> list[Event]:
    out: list[Event] = []
    end = clock.now() + seconds
    while (d := e.next_deadline()) is not None and d <= end:
        clock.set(max(d, clock.now()))
        out += e.tick()
    clock.set(end)
    return out


def prompts(events: list[Event]) -> list[str]:
    return [ev.prompt for ev in events if isinstance(ev, Say)]


def test_pause_from_idle_then_welcome_back() -> None:
    e, clock = engine()
    out = hear(e, "pause")
    assert isinstance(out[1], StopSpeaking)
    assert any(isinstance(ev, PauseStarted) and ev.planned_seconds == 1200 for ev in out)
    assert e.state == "paused"
    out = wait(e, clock, 20 * 60)
    assert "pause.ask_ready" in prompts(out)
    hear(e, "resume")
    out = hear(e, "resume")
    ended = [ev for ev in out if isinstance(ev, PauseEnded)]
    assert ended and ended[0].actual_seconds == 1200
    assert e.state == "idle"


def test_pause_length_from_settings_and_request_but_never_below_twenty() -> None:
    e, _ = engine(pause_minutes=30)
    out = hear(e, "pause", minutes=5)
    assert next(ev for ev in out if isinstance(ev, PauseStarted)).planned_seconds == 30 * 60
    e, _ = engine()
    out = hear(e, "pause", minutes=45)
    assert next(ev for ev in out if isinstance(ev, PauseStarted)).planned_seconds == 45 * 60


def test_a_heard_teen_pause_is_planned_as_its_ty_twin() -> None:
    """ "forty minutes" is often heard as "fourteen minutes" (BENCHMARKS.md, "-teen or
    -ty"); the reading that cannot shorten the pause wins."""
    for heard, planned in ((13, 30), (14, 40), (15, 50), (19, 90), (12, 20), (20, 20), (40, 40)):
        e, _ = engine()
        out = hear(e, "pause", minutes=heard)
        started = next(ev for ev in out if isinstance(ev, PauseStarted))
        assert started.planned_seconds == planned * 60, heard


def test_pause_during_pause_only_lengthens() -> None:
    e, clock = engine()
    hear(e, "pause")
    hear(e, "no")
    wait(e, clock, 10 * 60)
    out = hear(e, "pause")  # 20 more minutes from now: 10 minutes longer
    assert [ev.added_seconds for ev in out if isinstance(ev, PauseExtended)] == [600.0]
    assert "pause.already" in prompts(out)
    out = wait(e, clock, 19 * 60)
    assert "pause.ask_ready" not in prompts(out)
    out = wait(e, clock, 60)
    assert "pause.ask_ready" in prompts(out)


def test_extend_while_waiting_and_when_asked() -> None:
    e, clock = engine()
    hear(e, "pause")
    hear(e, "no")
    out = hear(e, "extend", minutes=10)
    assert [ev.added_seconds for ev in out if isinstance(ev, PauseExtended)] == [600.0]
    assert "pause.ask_ready" not in prompts(wait(e, clock, 29 * 60))
    assert "pause.ask_ready" in prompts(wait(e, clock, 60))
    hear(e, "resume")  # Sam is ready; Alex wants more time
    out = hear(e, "extend")
    assert [ev.added_seconds for ev in out if isinstance(ev, PauseExtended)] == [600.0]
    assert "pause.ask_ready" in prompts(wait(e, clock, 10 * 60))


def test_stop_during_a_pause_ends_the_practice_but_not_the_pause() -> None:
    e, clock = engine()
    hear(e, "start_checkin")
    hear(e, "pause")
    out = hear(e, "stop")
    assert PracticeChanged(T0, "checkin", "stopped") in out
    assert e.state == "paused"
    assert "pause.stop_practice" in prompts(out)
    wait(e, clock, 20 * 60)
    hear(e, "resume")
    out = hear(e, "resume")
    assert e.state == "idle"
    assert not [ev for ev in out if isinstance(ev, PracticeChanged) and ev.state == "resumed"]


def test_breathing_offered_in_a_pause_keeps_the_return_time() -> None:
    e, clock = engine()
    hear(e, "pause")
    out = hear(e, "yes")
    assert "pause.breathe_intro" in prompts(out)
    out = wait(e, clock, 5 * 60)
    said = prompts(out)
    assert said.count("breathe.in") == 12 and said.count("breathe.out_long") == 12
    assert "pause.breathe_end" in said
    out = wait(e, clock, 15 * 60 - 1)
    assert "pause.ask_ready" not in prompts(out)
    assert "pause.ask_ready" in prompts(wait(e, clock, 1))


def test_globals_repeat_help_busy_and_not_now() -> None:
    e, _ = engine()
    assert prompts(hear(e, "repeat")) == ["engine.nothing_to_repeat"]
    assert prompts(hear(e, "help")) == ["engine.help_idle"]
    assert prompts(hear(e, "done")) == ["engine.not_now"]
    first = hear(e, "start_checkin")
    last_text = [ev.text for ev in first if isinstance(ev, Say)][-1]
    again = hear(e, "repeat")
    assert [ev.text for ev in again if isinstance(ev, Say)] == [last_text]
    assert prompts(hear(e, "gratitude")) == ["engine.busy"]
    assert prompts(hear(e, "help")) == ["engine.help_running"]
    assert e.allowed_intents() >= {"pause", "done", "extend", "stop"}
    assert "gratitude" not in e.allowed_intents()


def test_skip_moves_on_but_never_inside_a_pause() -> None:
    e, _ = engine()
    hear(e, "start_checkin")
    before = e._stack[-1].step.id
    hear(e, "skip")
    assert e._stack[-1].step.id != before
    hear(e, "pause")
    assert prompts(hear(e, "skip")) == ["engine.skip_refused"]


def test_slower_lowers_the_pace() -> None:
    e, _ = engine()
    hear(e, "slower")
    assert e.pace > 1.0


def test_phrasings_never_repeat_back_to_back() -> None:
    chooser = PhrasingChooser(random.Random(5))
    prompt = Prompt("x", ("a", "b", "c"), INTENTS, 1)
    picks = [chooser.choose(prompt) for _ in range(200)]
    assert all(a != b for a, b in pairwise(picks))
    assert set(picks) == {"a", "b", "c"}


def test_fill_leaves_unknown_placeholders_readable() -> None:
    assert fill("{partner}, go ahead", {}) == "partner, go ahead"


INTENT_CHOICES = [
    "resume", "skip", "stop", "done", "extend", "repeat", "help", "yes", "no",
    "start_checkin", "gratitude", "slower", "pause",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(INTENT_CHOICES),
            st.integers(min_value=1, max_value=900).map(float),
        ),
        max_size=40,
    )
)
def test_no_sequence_of_words_or_waits_ends_a_pause_early(script: list[str | float]) -> None:
    """Whatever anyone says, in any state, a pause lasts at least what was planned."""
    e, clock = engine()
    started: float | None = None
    for item in [*script[:20], "pause", *script[20:]]:
        if isinstance(item, float):
            out = wait(e, clock, item)
        else:
            out = hear(e, item)
            if item == "pause":
                assert isinstance(out[1], StopSpeaking)
                assert e.state == "paused"
        for ev in out:
            if isinstance(ev, PauseStarted):
                started = ev.at
                assert ev.planned_seconds >= 20 * 60
            if isinstance(ev, PauseEnded):
                assert started is not None
                assert ev.actual_seconds >= ev.planned_seconds >= 20 * 60
                assert ev.at - started >= 20 * 60
