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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import Clock
from .config import MAX_PAUSE_MINUTES, Settings
from .durations import spoken_minutes
from .events import (
    CrisisDetected,
    Earcon,
    Event,
    IntentHeard,
    OfferAnswered,
    PauseEnded,
    PauseExtended,
    PauseStarted,
    PracticeChanged,
    PracticeState,
    QuestionAsked,
    Say,
    StepStarted,
    StopSpeaking,
)
from .intents import IntentMatch
from .library import GLOBAL_INTENTS, Library
from .practices import Practice
from .prompts import PhrasingChooser, fill, spoken_list
from .questions import Question, pick_question
from .steps import (
    AnyStep,
    BranchStep,
    BreatheStep,
    EndStep,
    ListenStep,
    SayStep,
    TimerStep,
    TurnStep,
)

_LOG = logging.getLogger(__name__)
PAUSE = "pause"
_MAX_HOPS = 200
OFFER_ANSWERS = ("yes", "no", "snooze")
OFFER_WAIT = 120.0
"""Seconds an offer waits for an answer before it lapses quietly."""


class EngineError(RuntimeError):
    """A practice ran into a loop with no waiting step (a library bug)."""


@dataclass
class _Run:
    """Where one practice is. Private, mutable runtime state."""

    practice: Practice
    index: int = 0
    deadline: float | None = None
    step_end: float | None = None
    cues: list[Any] = field(default_factory=list)
    attempts: int = 0
    phase: int = 0
    partner: Literal["a", "b"] | None = None
    question: Question | None = None

    @property
    def step(self) -> AnyStep:
        return self.practice.steps[self.index]


@dataclass(frozen=True)
class Memory:
    """What the engine needs to know from earlier sessions (read from the log)."""

    used_practices: frozenset[str] = frozenset()
    """Practices run before: their scope statement is not repeated."""
    recent_questions: tuple[str, ...] = ()
    """Ids of open questions asked in recent sessions, newest first."""


@dataclass
class _Offer:
    practice: str
    expires: float


@dataclass
class _Pause:
    started: float
    planned: float
    interrupted: str | None


class Engine:
    """Runs practices. Call ``hear`` for each intent and ``tick`` when a deadline is due."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        clock: Clock,
        rng: random.Random | None = None,
        memory: Memory | None = None,
    ) -> None:
        self.library = library
        self.settings = settings
        self.clock = clock
        self._rng = rng or random.Random()
        self._chooser = PhrasingChooser(self._rng)
        memory = memory or Memory()
        self._used = set(memory.used_practices)
        self._recent_questions = list(memory.recent_questions)
        self._offer: _Offer | None = None
        self._stack: list[_Run] = []
        self._pause: _Pause | None = None
        self._out: list[Event] = []
        self._last_say: Say | None = None
        self._last_intent: str | None = None
        self._extension = 0.0
        self._triggers = library.trigger_map()
        self.pace = 1.0
        """Speaking pace factor; "slower" lowers it (the app applies it to the speaker)."""

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
        step = self._stack[-1].step
        if isinstance(step, ListenStep):
            return step.expect
        if isinstance(step, TurnStep):
            return ("done", "extend")
        if isinstance(step, TimerStep):
            return (
                (("extend",) if step.extendable else ())
                + (("done",) if step.skippable else ())
                + tuple(step.on)
            )
        return ()

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
        for _ in range(_MAX_HOPS):
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

    # ---- output helpers -------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._out.append(event)

    def _flush(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    def _emit_state(self, practice: str, state: PracticeState) -> None:
        self._emit(PracticeChanged(self.clock.now(), practice, state))

    def _values(self) -> dict[str, str]:
        s = self.settings
        values = {"partner_a": s.partner_a, "partner_b": s.partner_b, "name": s.wake_name}
        if self._stack:
            run = self._stack[-1]
            values["practice"] = run.practice.title
            if run.partner:
                other: Literal["a", "b"] = "b" if run.partner == "a" else "a"
                values["partner"] = s.name_of(run.partner)
                values["other"] = s.name_of(other)
            if run.step_end is not None:
                values["remaining"] = spoken_minutes(max(0.0, run.step_end - self.clock.now()))
            if isinstance(run.step, TurnStep | TimerStep) and run.step_end is not None:
                values["minutes"] = values["remaining"]
        if self._pause is not None:
            end = self._pause.started + self._pause.planned
            values["return_time"] = _clock_time(end)
            values.setdefault("minutes", spoken_minutes(self._pause.planned))
            values["remaining"] = spoken_minutes(max(0.0, end - self.clock.now()))
        phrases = self.library.prompts.phrases
        options = [phrases[i] for i in self.expected_intents() if i in phrases]
        if not self._stack:
            options = [phrases[i] for i in self._triggers if i in phrases]
        values["options"] = spoken_list(options or [phrases.get("help", "help")])
        return values

    def _say(self, prompt_id: str, **extra: str) -> None:
        prompt = self.library.prompts.prompts[prompt_id]
        chosen = self._chooser.choose(prompt)
        if "{question}" in chosen:
            extra = {"question": self._question(), **extra}
        text = fill(chosen, {**self._values(), **extra})
        say = Say(self.clock.now(), text, prompt_id)
        self._last_say = say
        self._emit(say)

    # ---- practice flow ---------------------------------------------------------------

    def _begin(self, practice: Practice) -> None:
        self._offer = None
        self._stack.append(_Run(practice))
        self._emit_state(practice.id, "started")
        if practice.scope and practice.id not in self._used:
            self._say(practice.scope)
        self._used.add(practice.id)
        self._enter()

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

    def _goto(self, run: _Run, target: str | None) -> None:
        """Move ``run`` to ``target`` (None: the next step) and enter it."""
        step = run.step
        if target is None:
            target = step.next
        run.index = run.practice.step_index(target) if target else run.index + 1
        if run.index >= len(run.practice.steps):
            self._finish(run, "finished")
        else:
            self._enter()

    def _enter(self) -> None:
        """Enter the current step of the front run, passing through steps that don't wait."""
        for _ in range(_MAX_HOPS):
            run = self._stack[-1]
            step = run.step
            now = self.clock.now()
            run.deadline = run.step_end = None
            run.cues, run.attempts, run.phase = [], 0, 0
            run.partner = self._partner_for(step)
            self._emit(StepStarted(now, run.practice.id, step.id, _kind(step)))
            if isinstance(step, SayStep):
                self._say(step.prompt)
            elif isinstance(step, BranchStep):
                target = step.cases.get(self._branch_value(step.on), step.default)
                if target is None:
                    target = step.next
                run.index = run.practice.step_index(target) if target else run.index + 1
                if run.index >= len(run.practice.steps):
                    self._finish(run, "finished")
                    return
                continue
            elif isinstance(step, EndStep):
                if step.prompt:
                    self._say(step.prompt)
                self._finish(run, "finished")
                return
            else:
                self._start_waiting(run, step, now)
                return
            target = step.next
            run.index = run.practice.step_index(target) if target else run.index + 1
            if run.index >= len(run.practice.steps):
                self._finish(run, "finished")
                return
        raise EngineError(f"practice '{self._stack[-1].practice.id}' loops without waiting")

    def _start_waiting(self, run: _Run, step: AnyStep, now: float) -> None:
        if isinstance(step, ListenStep):
            if step.prompt:
                self._say(step.prompt)
            run.deadline = now + step.timeout
        elif isinstance(step, TimerStep | TurnStep):
            run.step_end = now + self._duration(step)
            run.cues = [c for c in step.cues if c.before_end < run.step_end - now]
            if step.prompt:
                self._say(step.prompt)
            self._schedule(run)
        elif isinstance(step, BreatheStep):
            lead_in = 0.0
            if step.prompt:
                self._say(step.prompt)
                lead_in = 4.0 * self.pace
            run.deadline = now + lead_in
            run.phase = -1

    def _duration(self, step: TimerStep | TurnStep) -> float:
        if isinstance(step, TurnStep) or isinstance(step.duration, float):
            return float(step.duration)
        if step.duration == "extension":
            return self._extension
        pause = self._pause
        if pause is None:  # a "pause" timer outside a pause: the default length
            return self.settings.pause_minutes * 60.0
        return max(0.0, pause.started + pause.planned - self.clock.now())

    def _schedule(self, run: _Run) -> None:
        if run.step_end is None:
            return
        cue_at = [run.step_end - c.before_end for c in run.cues]
        run.deadline = min([*cue_at, run.step_end])

    def _due(self, run: _Run) -> None:
        """A deadline of the front run has come."""
        step = run.step
        now = self.clock.now()
        if isinstance(step, ListenStep):
            run.attempts += 1
            if step.attempts < 0 or run.attempts <= step.attempts:
                self._say(step.reprompt)
                run.deadline = now + step.timeout
            elif step.on_timeout:
                self._goto(run, step.on_timeout)
            else:
                self._say("engine.stopped")
                self._finish(run, "stopped")
        elif isinstance(step, TimerStep | TurnStep):
            end = run.step_end if run.step_end is not None else now
            if run.cues and end - run.cues[0].before_end <= now < end:
                self._say(run.cues.pop(0).prompt)
                self._schedule(run)
                return
            if isinstance(step, TimerStep) and step.chime:
                self._emit(Earcon(now, "chime"))
            if step.end:
                self._say(step.end)
            self._goto(run, None)
        elif isinstance(step, BreatheStep):
            run.phase += 1
            if run.phase >= step.cycles * len(step.phases):
                if step.end:
                    self._say(step.end)
                self._goto(run, None)
                return
            prompt, seconds = step.phases[run.phase % len(step.phases)]
            self._say(prompt)
            run.deadline = now + seconds * self.pace

    def _finish(self, run: _Run, state: PracticeState) -> None:
        self._stack.remove(run)
        self._emit_state(run.practice.id, state)
        if run.practice.id != PAUSE or self._pause is None:
            return
        pause, self._pause = self._pause, None
        now = self.clock.now()
        self._emit(PauseEnded(now, pause.planned, now - pause.started))
        if self._stack:
            below = self._stack[-1]
            self._emit_state(below.practice.id, "resumed")
            self._say("engine.resume_practice")
            self._enter()

    # ---- intents ---------------------------------------------------------------------

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
            self._say("pause.extended", minutes=spoken_minutes(added))
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
        asked = self._minutes(slots, default=self.settings.pause_minutes) * 60.0
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
        self._pause = _Pause(now, planned, interrupted)
        self._emit(PauseStarted(now, planned, interrupted))
        self._emit(Earcon(now, "pause"))
        self._begin(self.library.practices[PAUSE])

    def _question(self) -> str:
        """The current run's open question, picked (and logged) on first use."""
        run = self._stack[-1] if self._stack else None
        if run is not None and run.question is not None:
            return run.question.text
        question = pick_question(self.library.questions, self._recent_questions, self._rng)
        if question is None:
            return "What made you smile this week?"
        self._recent_questions.insert(0, question.id)
        self._emit(QuestionAsked(self.clock.now(), question.id))
        if run is not None:
            run.question = question
        return question.text

    def _rewait(self, front: _Run, added: float) -> None:
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

    def _partner_for(self, step: AnyStep) -> Literal["a", "b"] | None:
        who = getattr(step, "partner", None)
        lead = self.settings.lead
        if who == "lead":
            return lead
        if who == "follow":
            return "b" if lead == "a" else "a"
        if who in ("a", "b"):
            return who  # type: ignore[no-any-return]
        return None

    def _branch_value(self, on: str) -> str:
        if on == "last_intent":
            return self._last_intent or ""
        return str(getattr(self.settings, on.removeprefix("setting:"), ""))


def _kind(step: AnyStep) -> str:
    return type(step).__name__.removesuffix("Step").lower()


def _clock_time(t: float) -> str:
    """'8:40 PM'-style local time for prompts."""
    local = time.localtime(t)
    hour = local.tm_hour % 12 or 12
    return f"{hour}:{local.tm_min:02d} {'AM' if local.tm_hour < 12 else 'PM'}"
