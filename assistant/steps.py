"""Practice steps: one frozen dataclass per step kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

PartnerRef = Literal["a", "b", "lead", "follow", "both"]
BREATH_PATTERNS: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {
        # physiological sigh: two inhales through the nose, a long slow exhale
        "cyclic_sigh": (("breathe.in", 2.0), ("breathe.top_up", 1.0), ("breathe.out_long", 6.0)),
        "box": (
            ("breathe.in", 4.0),
            ("breathe.hold", 4.0),
            ("breathe.out", 4.0),
            ("breathe.hold_empty", 4.0),
        ),
        "slow": (("breathe.in", 4.0), ("breathe.out", 6.0)),
    }
)


@dataclass(frozen=True)
class Cue:
    """Something said during a timer or turn."""

    before_end: float
    """Seconds before the end of the step at which to speak."""
    prompt: str
    """Prompt id."""


@dataclass(frozen=True)
class Step:
    """Fields every step has."""

    id: str
    """Unique within the practice; defaults to ``<kind><index>``."""
    line: int
    """Line in the practice file, for messages."""
    next: str | None
    """Step to go to afterwards (default: the following step)."""
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), kw_only=True)
    """Line of each of the step's settings (``expect``, ``prompt``, ...), for messages."""

    def line_of(self, key: str) -> int:
        """Line where setting ``key`` was written (the step's line if unknown)."""
        return self.lines.get(key, self.line)


@dataclass(frozen=True)
class SayStep(Step):
    """Speak one prompt and go on."""

    prompt: str
    """Prompt id."""


@dataclass(frozen=True)
class ListenStep(Step):
    """Ask, then wait for one of the expected intents."""

    prompt: str | None
    """Prompt to speak first (optional)."""
    expect: tuple[str, ...]
    """Intents that answer this step."""
    timeout: float
    """Seconds to wait before reprompting."""
    reprompt: str
    """Prompt spoken on timeout; should use {options}."""
    attempts: int
    """Reprompts before giving up; -1 (``forever`` in YAML) keeps asking."""
    on: Mapping[str, str]
    """Step to go to per intent heard (default: next step)."""
    on_timeout: str | None
    """Step to go to after the last reprompt (None = stop the practice)."""
    partner: PartnerRef | None
    """Who is being asked (fills {partner})."""


@dataclass(frozen=True)
class TimerStep(Step):
    """Wait for a while, with spoken cues."""

    prompt: str | None
    """Spoken at the start."""
    duration: float | Literal["pause", "extension"]
    """Seconds, or the pause length / the extension asked for."""
    cues: tuple[Cue, ...]
    """Spoken along the way."""
    end: str | None
    """Spoken when time is up."""
    chime: bool
    """Play the chime when time is up."""
    extendable: bool
    """Whether "five more minutes" makes it longer."""
    skippable: bool
    """Whether "skip" or "I'm done" ends it early."""
    on: Mapping[str, str]
    """Intents that jump elsewhere while waiting (for example breathe during a pause)."""


@dataclass(frozen=True)
class BreatheStep(Step):
    """Paced breathing: spoken phases repeated for some cycles."""

    prompt: str | None
    """Spoken before the first breath."""
    pattern: str
    """Name of the breathing pattern (see BREATH_PATTERNS)."""
    phases: tuple[tuple[str, float], ...]
    """(prompt id, seconds) for each phase of one cycle."""
    cycles: int
    """How many cycles."""
    end: str | None
    """Spoken after the last cycle."""


@dataclass(frozen=True)
class TurnStep(Step):
    """One partner speaks, the other listens, for a set time."""

    partner: PartnerRef
    """Whose turn: a, b, lead (the one who goes first), follow (the other) or both."""
    duration: float
    """Seconds the turn lasts at most."""
    prompt: str
    """Spoken at the start."""
    cues: tuple[Cue, ...]
    """Spoken along the way (for example, a minute left)."""
    end: str | None
    """Spoken when time is up (not when the speaker says they are done)."""


@dataclass(frozen=True)
class BranchStep(Step):
    """Go to a step depending on the last intent heard or a setting."""

    on: str
    """What to look at: ``last_intent`` or ``setting:<name>``."""
    cases: Mapping[str, str]
    """Value -> step id."""
    default: str | None
    """Step when no case matches (None = the following step)."""


@dataclass(frozen=True)
class EndStep(Step):
    """Say a closing prompt and finish the practice."""

    prompt: str | None
    """Closing words."""


AnyStep = SayStep | ListenStep | TimerStep | BreatheStep | TurnStep | BranchStep | EndStep
STEP_KINDS = ("say", "listen", "timer", "breathe", "turn", "branch", "end")
