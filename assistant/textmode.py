"""``haven text``: a typed conversation over the same engine, with a manual clock.

Each input line is one utterance. ``:wait 20m`` (or ``90s``, ``2h``) moves the
clock forward, firing timers on the way; ``:quit`` ends. Lines starting with
``#`` are comments.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from .clock import ManualClock
from .durations import parse_duration, spoken_minutes
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
    QuestionAsked,
    Say,
    StepStarted,
    StopSpeaking,
)
from .intents import IntentSet, strip_wake
from .safety import SafetyGate
from .session import Session


def event_json(event: Event, start: float) -> dict[str, Any]:
    """The JSON object for one event (a stable contract for intent, say, practice)."""
    t = round(event.at - start, 3)
    match event:
        case IntentHeard():
            return {"event": "intent", "intent": event.intent, "slots": dict(event.slots), "t": t}
        case Say():
            return {"event": "say", "text": event.text, "prompt": event.prompt, "t": t}
        case PracticeChanged():
            return {"event": "practice", "practice": event.practice, "state": event.state, "t": t}
        case StepStarted():
            return {
                "event": "step",
                "practice": event.practice,
                "step": event.step,
                "kind": event.kind,
                "t": t,
            }
        case PauseStarted():
            return {
                "event": "pause",
                "state": "started",
                "minutes": event.planned_seconds / 60,
                "interrupted": event.interrupted,
                "t": t,
            }
        case PauseExtended():
            return {
                "event": "pause",
                "state": "extended",
                "added_minutes": event.added_seconds / 60,
                "t": t,
            }
        case PauseEnded():
            return {
                "event": "pause",
                "state": "ended",
                "planned_minutes": event.planned_seconds / 60,
                "actual_minutes": round(event.actual_seconds / 60, 2),
                "t": t,
            }
        case Earcon():
            return {"event": "earcon", "kind": event.kind, "t": t}
        case StopSpeaking():
            return {"event": "stop_speaking", "t": t}
        case CrisisDetected():
            return {"event": "crisis", "t": t}
        case QuestionAsked():
            return {"event": "question", "question": event.question, "t": t}
        case OfferAnswered():
            return {
                "event": "offer",
                "practice": event.practice,
                "answer": event.answer,
                "minutes": event.minutes,
                "t": t,
            }


def event_text(event: Event) -> str | None:
    """A human line for one event, or None for events not worth showing."""
    match event:
        case Say():
            return f"Haven: {event.text}"
        case IntentHeard():
            slots = "".join(f" {k}={v}" for k, v in event.slots.items())
            return f"  (heard: {event.intent}{slots})"
        case PracticeChanged():
            return f"  [{event.practice} {event.state}]"
        case PauseStarted():
            return f"  [pause for {spoken_minutes(event.planned_seconds)}]"
        case Earcon():
            return f"  * {event.kind} *"
        case _:
            return None


class TextConversation:
    """Reads utterances and commands, drives a Session on a manual clock."""

    def __init__(
        self,
        session: Session,
        intents: IntentSet,
        safety: SafetyGate,
        clock: ManualClock,
        wake_name: str,
        write: Callable[[str], None],
        as_json: bool,
    ) -> None:
        self.session = session
        self.intents = intents
        self.safety = safety
        self.clock = clock
        self.wake_name = wake_name
        self.write = write
        self.as_json = as_json
        self.start = clock.now()

    def show(self, event: Event) -> None:
        """Sink for the session: print one event."""
        if self.as_json:
            self.write(json.dumps(event_json(event, self.start)))
        else:
            line = event_text(event)
            if line is not None:
                self.write(line)

    def run(self, lines: Iterable[str]) -> None:
        """Feed every line; returns at end of input or ``:quit``."""
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(":"):
                if not self.command(line):
                    return
                continue
            self.utter(line)

    def utter(self, line: str) -> None:
        """One typed utterance."""
        text, _ = strip_wake(line, self.wake_name)
        if self.safety.is_crisis(text):
            self.session.crisis()
            return
        match = self.intents.match(text)
        if match is None:
            if self.as_json:
                t = round(self.clock.now() - self.start, 3)
                self.write(json.dumps({"event": "unheard", "text": line, "t": t}))
            return
        self.session.hear(match)

    def command(self, line: str) -> bool:
        """A ``:command`` line; False means quit."""
        name, _, arg = line[1:].partition(" ")
        if name in ("quit", "q", "exit"):
            return False
        if name == "wait":
            try:
                seconds = parse_duration(arg)
            except ValueError as exc:
                self.notice(f"{exc}")
                return True
            self.wait(seconds)
            return True
        self.notice(f"unknown command ':{name}'; use ':wait 20m' or ':quit'")
        return True

    def wait(self, seconds: float) -> None:
        """Advance the clock, firing every deadline on the way in order."""
        end = self.clock.now() + seconds
        while True:
            deadline = self.session.next_deadline()
            if deadline is None or deadline > end:
                break
            self.clock.set(max(deadline, self.clock.now()))
            self.session.tick()
        self.clock.set(end)

    def notice(self, message: str) -> None:
        if self.as_json:
            self.write(json.dumps({"event": "error", "message": message}))
        else:
            self.write(f"  ! {message}")
