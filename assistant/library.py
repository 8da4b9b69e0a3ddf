"""The library: intents, prompts and practices of one language, checked against each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .errors import ConfigError, Problem
from .intents import IntentSet, find_overlaps
from .practices import Practice, collect_practices
from .prompts import PromptBook
from .questions import Question, collect_questions
from .safety import SafetyGate
from .steps import ListenStep

GLOBAL_INTENTS: tuple[str, ...] = (
    "pause",
    "resume",
    "repeat",
    "skip",
    "slower",
    "stop",
    "help",
)
"""Live in every state; ``pause`` has the highest priority."""

REQUIRED_PROMPTS: tuple[str, ...] = (
    "engine.help_idle",
    "engine.help_running",
    "engine.not_now",
    "engine.busy",
    "engine.stopped",
    "engine.nothing_to_repeat",
    "engine.nothing_to_resume",
    "engine.slower",
    "engine.skip_refused",
    "engine.resume_practice",
    "pause.already",
    "pause.not_yet",
    "pause.extended",
    "pause.stop_practice",
    "engine.extended",
    "safety.stopped",
    "schedule.offer",
    "schedule.snoozed",
    "schedule.declined",
)
"""Prompts the engine itself speaks."""


def default_intents_dir() -> Path:
    """The ``intents/`` folder shipped beside the package."""
    return Path(__file__).resolve().parent.parent / "intents"


def default_models_dir() -> Path:
    """The ``models/`` folder shipped beside the package."""
    return Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Library:
    """Everything Haven can hear and say in one language."""

    intents: IntentSet
    """The intents and their templates."""
    prompts: PromptBook
    """Prompts and per-intent phrases."""
    practices: Mapping[str, Practice]
    """Practices by id."""
    lang_dir: Path
    """Where it was loaded from."""
    questions: tuple[Question, ...] = ()
    """The bank of open questions."""
    safety: SafetyGate = field(default_factory=SafetyGate)
    """Crisis phrases and resources."""

    @classmethod
    def load(cls, root: Path, language: str = "en", overlaps: bool = False) -> Library:
        """Load ``root/<language>`` and check every cross-reference.

        All problems found are raised together as one ConfigError. ``overlaps``
        also checks that no sentence matches two intents (slower).
        """
        lang_dir = root / language
        if not lang_dir.is_dir():
            raise ConfigError(
                [Problem(lang_dir, 0, "no such folder", f"intents for '{language}' go here")]
            )
        intents = IntentSet.from_dir(lang_dir)
        prompts, problems = PromptBook.collect(lang_dir)
        practices, more = collect_practices(lang_dir)
        questions, more_q = collect_questions(lang_dir)
        safety, more_s = SafetyGate.collect(lang_dir)
        library = cls(
            intents, prompts, MappingProxyType(practices), lang_dir, questions, safety
        )
        problems += more + more_q + more_s
        problems += library.cross_check()
        if overlaps:
            problems += find_overlaps(library.intents)
        if problems:
            raise ConfigError(problems)
        return library

    def cross_check(self) -> list[Problem]:
        """Names used but not defined, and the engine's own needs."""
        problems: list[Problem] = []
        known = set(self.intents.names)
        prompts = self.prompts.prompts
        here = self.lang_dir / "prompts"
        for name in GLOBAL_INTENTS:
            if name not in known:
                problems.append(Problem(self.lang_dir / "intents", 0, f"no intent '{name}'"))
        for pid in REQUIRED_PROMPTS:
            if pid not in prompts:
                problems.append(Problem(here, 0, f"prompt '{pid}' is missing", "Haven says it"))
        if "pause" not in self.practices:
            problems.append(Problem(self.lang_dir / "practices", 0, "no 'pause' practice"))
        triggers: dict[str, str] = {}
        for practice in self.practices.values():
            for intent, line in practice.intent_names():
                if intent not in known:
                    problems.append(
                        Problem(
                            practice.path,
                            line,
                            f"practice '{practice.id}' names intent '{intent}' "
                            "but no intent file defines it",
                            "add it under intents/ or fix the spelling",
                        )
                    )
            for pid, line in practice.prompt_ids():
                if pid not in prompts:
                    problems.append(
                        Problem(
                            practice.path,
                            line,
                            f"practice '{practice.id}' names prompt '{pid}' "
                            "but no prompts file defines it",
                            "add it under prompts/ or fix the spelling",
                        )
                    )
            for trigger in practice.triggers:
                if trigger in GLOBAL_INTENTS:
                    problems.append(
                        Problem(
                            practice.path,
                            practice.line,
                            f"'{trigger}' is a global intent and cannot start a practice",
                        )
                    )
                elif trigger in triggers:
                    problems.append(
                        Problem(
                            practice.path,
                            practice.line,
                            f"intent '{trigger}' already starts practice '{triggers[trigger]}'",
                        )
                    )
                triggers[trigger] = practice.id
            for step in practice.steps:
                if isinstance(step, ListenStep):
                    for intent in step.expect:
                        if intent in known and intent not in self.prompts.phrases:
                            problems.append(
                                Problem(
                                    practice.path,
                                    step.line,
                                    f"intent '{intent}' has no example phrase to offer",
                                    f"add '{intent}: ...' under phrases: in a prompts file",
                                )
                            )
        return problems

    def trigger_map(self) -> dict[str, str]:
        """Intent -> the practice it starts."""
        return {t: p.id for p in self.practices.values() for t in p.triggers}
