"""The practice engine: a state machine driven by intents and the clock.

It consumes ``IntentMatch``es and clock ticks, and returns events (say, earcon,
practice state changes, pauses) for the app to route to the speaker and the log.
It never touches audio devices, files or the real time: the clock is injected.

Pause is special: it preempts anything, from any state, is never shortened,
and resumes the interrupted practice only once both partners have said they are
ready. The interrupted practice picks up again at the step where it stopped.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import Clock
from .config import MAX_PAUSE_MINUTES, Settings
from .durations import heard_pause_minutes, spoken_minutes
from .events import (
    CrisisDetected,
    Earcon,
    Event,
    IntentHeard,
    OfferAnswered,
    PauseExtended,
    PauseStarted,
    Say,
    StopSpeaking,
)
from .intents import IntentMatch
from .library import GLOBAL_INTENTS, Library
from .practices import Practice
from .runner import MAX_HOPS, PAUSE, PauseState, Run, StepRunner
from .steps import (
    ListenStep,
    TimerStep,
)

_LOG = logging.getLogger(__name__)
OFFER_ANSWERS = ("yes", "no", "snooze")
OFFER_WAIT = 120.0
"""Seconds an offer waits for an answer before it lapses quietly."""


@dataclass(frozen=True)
class Memory:
    """What the engine needs to know from earlier sessions (read from the log)."""

    runs: Mapping[str, int] = field(default_factory=dict)
    """How often each practice ran before: a scope is stated on first use only, and
    practices that alternate who leads do so from these counts."""
    recent_questions: tuple[str, ...] = ()
    """Ids of open questions asked in recent sessions, newest first."""


@dataclass
class _Offer:
    practice: str
    expires: float


class Engine(StepRunner):
    """Runs practices. Call ``hear`` for each intent and ``tick`` when a deadline is due."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        clock: Clock,
        rng: random.Random | None = None,
        memory: Memory | None = None,
    ) -> None:
        memory = memory or Memory()
        super().__init__(
            library, settings, clock, rng, memory.runs, memory.recent_questions
        )
        self._offer: _Offer | None = None

    def remember(self, memory: Memory) -> None:
        """Take in what earlier sessions left (used practices, recent questions)."""
        for practice, count in memory.runs.items():
            self._runs[practice] = max(self._runs.get(practice, 0), count)
        self._recent_questions = list(memory.recent_questions)

    # ---- queries -------------------------------------------------------------------

    @property
    def state(self) -> Literal["idle", "running", "paused"]:
        """Idle, running a practice, or in a pause."""
        if self._pause is not None:
            return "paused"
        return "running" if self._stack else "idle"

    @property
    def practice(self) -> str | None:
        """The practice now in front (``pause`` during a pause)."""
        return self._stack[-1].practice.id if self._stack else None

    def next_deadline(self) -> float | None:
        """When ``tick`` next has work to do."""
        if self._stack:
            return self._stack[-1].deadline
        return self._offer.expires if self._offer else None

    def expected_intents(self) -> tuple[str, ...]:
        """Intents the current step is waiting for (besides the global ones)."""
        if not self._stack:
            return OFFER_ANSWERS if self._offer else ()
        return super().expected_intents()

    def allowed_intents(self) -> frozenset[str]:
        """Every intent that does something now: global, expected, or a practice trigger."""
        allowed = set(GLOBAL_INTENTS) | set(self.expected_intents())
        if not self._stack:
            allowed |= set(self._triggers)
        return frozenset(allowed)

    # ---- commands ------------------------------------------------------------------

    def start(self, practice_id: str) -> list[Event]:
        """Start a practice directly (as a schedule would)."""
        if self._stack:
            self._say("engine.busy")
        else:
            self._begin(self.library.practices[practice_id])
        return self._flush()

    def hear(self, match: IntentMatch) -> list[Event]:
        """React to one recognized intent."""
        now = self.clock.now()
        self._emit(IntentHeard(now, match.intent, dict(match.slots)))
        intent = match.intent
        self._last_intent = intent
        if intent == PAUSE:
            self._offer = None
            self._call_pause(match.slots)
        elif self._offer is not None and not self._stack and intent in OFFER_ANSWERS:
            self._answer_offer(intent, match.slots)
        elif intent in self.expected_intents():
            self._answer(intent, match.slots)
        elif intent in GLOBAL_INTENTS:
            self._global(intent)
        elif intent in self._triggers:
            if self._stack:
                self._say("engine.busy")
            else:
                self._begin(self.library.practices[self._triggers[intent]])
        else:
            self._say("engine.not_now")
        return self._flush()

    def offer(self, practice_id: str) -> list[Event]:
        """Offer a scheduled practice; only when nothing runs (returns [] otherwise)."""
        if self._stack or practice_id not in self.library.practices:
            return []
        self._offer = _Offer(practice_id, self.clock.now() + OFFER_WAIT)
        self._emit(Earcon(self.clock.now(), "listening"))
        self._say("schedule.offer", practice=self.library.practices[practice_id].title)
        return self._flush()

    def crisis(self) -> list[Event]:
        """Crisis words were heard: stop every practice and speak the resources.

        A pause already running goes on (it is never shortened). The CrisisDetected
        event is for the app; the log ignores it.
        """
        now = self.clock.now()
        self._offer = None
        self._emit(CrisisDetected(now))
        self._emit(StopSpeaking(now))
        for run in [r for r in self._stack if r.practice.id != PAUSE]:
            self._stack.remove(run)
            self._emit_state(run.practice.id, "stopped")
        if self._pause is not None:
            self._pause.interrupted = None
        self._say("safety.stopped")
        for line in self.library.safety.resources_for(self.settings.locale):
            self._emit(Say(now, line, "safety.resources"))
        return self._flush()  # a pause, if any, carries on at its step and time

    def tick(self) -> list[Event]:
        """Do whatever is due at the clock's current time."""
        now = self.clock.now()
        if self._offer is not None and not self._stack and self._offer.expires <= now:
            self._emit(OfferAnswered(now, self._offer.practice, "ignored"))
            self._offer = None
        for _ in range(MAX_HOPS):
            if not self._stack:
                break
            run = self._stack[-1]
            if run.deadline is None or run.deadline > now:
                break
            self._due(run)
        return self._flush()

    def close(self) -> list[Event]:
        """Stop whatever runs (at shutdown); the pause is recorded as ended."""
        while self._stack:
            run = self._stack.pop()
            self._emit_state(run.practice.id, "stopped")
        return self._flush()

    def _begin(self, practice: Practice) -> None:
        self._offer = None
        super()._begin(practice)

    def _answer_offer(self, intent: str, slots: Mapping[str, Any]) -> None:
        offer, self._offer = self._offer, None
        if offer is None:
            return
        now = self.clock.now()
        if intent == "yes":
            self._emit(OfferAnswered(now, offer.practice, "accepted"))
            self._begin(self.library.practices[offer.practice])
        elif intent == "snooze":
            minutes = self._minutes(slots)
            self._emit(OfferAnswered(now, offer.practice, "snoozed", minutes))
            self._say("schedule.snoozed", minutes=spoken_minutes(minutes * 60.0))
        else:
            self._emit(OfferAnswered(now, offer.practice, "declined"))
            self._say("schedule.declined")

    def _answer(self, intent: str, slots: Mapping[str, Any]) -> None:
        run = self._stack[-1]
        step = run.step
        if intent == "extend":
            added = self._minutes(slots) * 60.0
            if isinstance(step, ListenStep):  # e.g. "more time" when asked if ready
                self._extension = added
                if self._pause is not None:
                    self._pause.planned += added
                    self._emit(PauseExtended(self.clock.now(), added))
                self._goto(run, step.on.get(intent))
                return
            run.step_end = (run.step_end or self.clock.now()) + added
            if self._pause is not None and run.practice.id == PAUSE:
                self._pause.planned += added
                self._emit(PauseExtended(self.clock.now(), added))
            extended = "pause.extended" if self._pause is not None else "engine.extended"
            self._say(extended, minutes=spoken_minutes(added))
            self._schedule(run)
        elif isinstance(step, ListenStep | TimerStep) and intent in step.on:
            self._goto(run, step.on[intent])
        elif isinstance(step, ListenStep):
            self._goto(run, None)
        else:  # "done" in a turn or a skippable timer
            self._goto(run, None)

    def _global(self, intent: str) -> None:
        if intent == "resume":
            self._say("pause.not_yet" if self._pause else "engine.nothing_to_resume")
        elif intent == "repeat":
            if self._last_say is None:
                self._say("engine.nothing_to_repeat")
            else:
                self._emit(Say(self.clock.now(), self._last_say.text, self._last_say.prompt))
        elif intent == "slower":
            self.pace = min(2.0, self.pace * 1.25)
            self._say("engine.slower")
        elif intent == "help":
            self._say("engine.help_running" if self._stack else "engine.help_idle")
        elif intent == "skip":
            if not self._stack or self._pause is not None:
                self._say("engine.skip_refused")
            else:
                self._goto(self._stack[-1], None)
        elif intent == "stop":
            self._stop()

    def _stop(self) -> None:
        if not self._stack:
            self._say("engine.nothing_to_resume")
        elif self._pause is not None:
            # the pause itself is never cut short; only the practice beneath it ends
            for run in [r for r in self._stack if r.practice.id != PAUSE]:
                self._stack.remove(run)
                self._emit_state(run.practice.id, "stopped")
            self._pause.interrupted = None
            self._say("pause.stop_practice")
        else:
            run = self._stack[-1]
            self._say("engine.stopped")
            self._finish(run, "stopped")

    def _call_pause(self, slots: Mapping[str, Any]) -> None:
        now = self.clock.now()
        self._emit(StopSpeaking(now))
        heard = heard_pause_minutes(self._minutes(slots, default=self.settings.pause_minutes))
        asked = heard * 60.0
        planned = min(max(asked, self.settings.pause_minutes * 60.0), MAX_PAUSE_MINUTES * 60.0)
        if self._pause is not None:
            remaining = self._pause.started + self._pause.planned - now
            if planned > remaining:
                added = planned - remaining
                self._pause.planned += added
                self._emit(PauseExtended(now, added))
                self._say("pause.already")
                self._rewait(self._stack[-1], added)
                return
            self._say("pause.already")
            return
        interrupted = self._stack[-1].practice.id if self._stack else None
        if interrupted:
            self._stack[-1].deadline = None
            self._emit_state(interrupted, "paused")
        self._pause = PauseState(now, planned, interrupted)
        self._emit(PauseStarted(now, planned, interrupted))
        self._emit(Earcon(now, "pause"))
        self._begin(self.library.practices[PAUSE])

    def _rewait(self, front: Run, added: float) -> None:
        """The pause got longer: make sure the couple waits it out again."""
        if front.practice.id != PAUSE:
            return
        if front.step_end is not None:  # in a timer: it simply ends later
            front.step_end += added
            self._schedule(front)
            return
        waits = [
            i
            for i, step in enumerate(front.practice.steps)
            if isinstance(step, TimerStep) and step.duration == "pause"
        ]
        if waits and front.index > waits[0]:  # asking if ready: back to waiting
            front.index = waits[0]
            self._enter()

    def _minutes(self, slots: Mapping[str, Any], default: int | None = None) -> int:
        value = slots.get("minutes")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return default if default is not None else self.settings.extend_minutes
