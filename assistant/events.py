"""What the practice engine emits: one small frozen dataclass per event.

The engine knows nothing of audio devices or files: the app routes these to the
speaker, the console and the session log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

PracticeState = Literal["started", "paused", "resumed", "finished", "stopped"]
EarconKind = Literal["listening", "pause", "timer", "chime"]


@dataclass(frozen=True)
class IntentHeard:
    """An utterance was matched to an intent."""

    at: float
    """Clock time in seconds."""
    intent: str
    """Intent name (a stable contract: pause, resume, start_checkin, ...)."""
    slots: Mapping[str, Any] = field(default_factory=dict)
    """Slot values, for example ``{"minutes": 5}``."""


@dataclass(frozen=True)
class Say:
    """Speak a prompt."""

    at: float
    """Clock time in seconds."""
    text: str
    """The words to speak, placeholders already filled."""
    prompt: str = ""
    """Id of the prompt it came from (empty for generated text)."""


@dataclass(frozen=True)
class StopSpeaking:
    """Cut off whatever is being spoken now (barge-in)."""

    at: float
    """Clock time in seconds."""


@dataclass(frozen=True)
class Earcon:
    """Play a short generated tone."""

    at: float
    """Clock time in seconds."""
    kind: EarconKind
    """Which tone."""


@dataclass(frozen=True)
class PracticeChanged:
    """A practice started, paused, resumed, finished or was stopped."""

    at: float
    """Clock time in seconds."""
    practice: str
    """Practice id, for example ``checkin``."""
    state: PracticeState
    """The new state."""


@dataclass(frozen=True)
class StepStarted:
    """A practice moved to a step."""

    at: float
    """Clock time in seconds."""
    practice: str
    """Practice id."""
    step: str
    """Step id (unique within the practice)."""
    kind: str
    """Step kind: say, listen, timer, breathe, turn, branch, end."""


@dataclass(frozen=True)
class PauseStarted:
    """A pause began."""

    at: float
    """Clock time in seconds."""
    planned_seconds: float
    """How long the pause was set for."""
    interrupted: str | None
    """The practice it interrupted, if any."""


@dataclass(frozen=True)
class PauseExtended:
    """A pause was made longer (never shorter)."""

    at: float
    """Clock time in seconds."""
    added_seconds: float
    """Seconds added to the pause."""


@dataclass(frozen=True)
class PauseEnded:
    """Both partners said they were ready and the pause ended."""

    at: float
    """Clock time in seconds."""
    planned_seconds: float
    """The length it was set for, extensions included."""
    actual_seconds: float
    """How long it really lasted."""


@dataclass(frozen=True)
class CrisisDetected:
    """Crisis words were heard; the practice stopped. Never written to the shared log."""

    at: float
    """Clock time in seconds."""


@dataclass(frozen=True)
class QuestionAsked:
    """An open question from the bank was asked (its id is logged, never its words)."""

    at: float
    """Clock time in seconds."""
    question: str
    """Question id."""


@dataclass(frozen=True)
class OfferAnswered:
    """A scheduled practice was offered and the couple answered (or did not)."""

    at: float
    """Clock time in seconds."""
    practice: str
    """The practice offered."""
    answer: Literal["accepted", "declined", "snoozed", "ignored"]
    """What they said."""
    minutes: int = 0
    """For a snooze: how long until the next offer."""


Event = (
    IntentHeard
    | Say
    | StopSpeaking
    | Earcon
    | PracticeChanged
    | StepStarted
    | PauseStarted
    | PauseExtended
    | PauseEnded
    | CrisisDetected
    | QuestionAsked
    | OfferAnswered
)
