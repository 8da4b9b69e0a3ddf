"""Running the steps of a practice: entering steps, timers, cues, breathing, turns.

``StepRunner`` holds the practice stack and turns clock deadlines into events; the
``Engine`` (engine.py) builds on it with intents, the pause, offers and safety.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import Clock
from .config import Settings
from .durations import spoken_minutes
from .errors import HavenError
from .events import (
    Earcon,
    Event,
    PauseEnded,
    PracticeChanged,
    PracticeState,
    QuestionAsked,
    Say,
    StepStarted,
)
from .library import Library
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

PAUSE = "pause"
MAX_HOPS = 200


class EngineError(HavenError):
    """A practice ran into a loop with no waiting step (a library bug)."""


@dataclass
class Run:
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
    lead: Literal["a", "b"] = "a"

    @property
    def step(self) -> AnyStep:
        return self.practice.steps[self.index]


@dataclass
class PauseState:
    """The pause now running. Private, mutable runtime state."""

    started: float
    planned: float
    interrupted: str | None


class StepRunner:
    """Runs the steps of practices; the Engine adds intents, pause, offers and safety."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        clock: Clock,
        rng: random.Random | None,
        runs: Mapping[str, int],
        recent_questions: tuple[str, ...],
    ) -> None:
        self.library = library
        self.settings = settings
        self.clock = clock
        self._rng = rng or random.Random()
        self._chooser = PhrasingChooser(self._rng)
        self._runs = dict(runs)
        self._recent_questions = list(recent_questions)
        self._stack: list[Run] = []
        self._pause: PauseState | None = None
        self._out: list[Event] = []
        self._last_say: Say | None = None
        self._last_intent: str | None = None
        self._extension = 0.0
        self._triggers = library.trigger_map()
        self.pace = 1.0
        """Speaking pace factor; "slower" lowers it (the app applies it to the speaker)."""

    def expected_intents(self) -> tuple[str, ...]:
        """Intents the current step is waiting for (besides the global ones)."""
        if not self._stack:
            return ()
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

    def _begin(self, practice: Practice) -> None:
        before = self._runs.get(practice.id, 0)
        lead = self.settings.lead
        if practice.alternate_lead and before % 2 == 1:
            lead = "b" if lead == "a" else "a"
        self._stack.append(Run(practice, lead=lead))
        self._emit_state(practice.id, "started")
        if practice.scope and before == 0:
            self._say(practice.scope)
        self._runs[practice.id] = before + 1
        self._enter()

    def _goto(self, run: Run, target: str | None) -> None:
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
        for _ in range(MAX_HOPS):
            run = self._stack[-1]
            step = run.step
            now = self.clock.now()
            run.deadline = run.step_end = None
            run.cues, run.attempts, run.phase = [], 0, 0
            run.partner = self._partner_for(step)
            if self._asks_question(step):
                run.question = None  # a step that asks a question asks a fresh one
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

    def _start_waiting(self, run: Run, step: AnyStep, now: float) -> None:
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
                lead_in = self._speaking_time(self._last_say.text if self._last_say else "")
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

    def _schedule(self, run: Run) -> None:
        if run.step_end is None:
            return
        cue_at = [run.step_end - c.before_end for c in run.cues]
        run.deadline = min([*cue_at, run.step_end])

    def _due(self, run: Run) -> None:
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

    def _finish(self, run: Run, state: PracticeState) -> None:
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

    def _asks_question(self, step: AnyStep) -> bool:
        """Whether the step's own prompt can say {question}."""
        prompt_id = getattr(step, "prompt", None)
        prompt = self.library.prompts.prompts.get(prompt_id) if prompt_id else None
        return prompt is not None and any("{question}" in text for text in prompt.texts)

    def _speaking_time(self, text: str) -> float:
        """About how long Haven takes to say ``text``, plus a breath."""
        words = len(text.split())
        return words * 60.0 / self.settings.rate * self.pace + 1.0

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

    def _partner_for(self, step: AnyStep) -> Literal["a", "b"] | None:
        who = getattr(step, "partner", None)
        lead = self._stack[-1].lead if self._stack else self.settings.lead
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
