"""The practice model: steps as frozen dataclasses, loaded and validated from YAML.

A practice file (``<lang dir>/practices/<id>.yaml``)::

    practice: checkin
    title: daily check-in
    triggers: [start_checkin]
    steps:
      - say: checkin.welcome
      - turn: {partner: lead, duration: 2m, prompt: checkin.appreciation}
      - end: checkin.close

Each step is a mapping with exactly one kind key (say, listen, timer, breathe, turn,
branch, end) plus optional ``id`` and ``next``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from .durations import parse_duration
from .errors import ConfigError, Problem
from .steps import (
    BREATH_PATTERNS,
    STEP_KINDS,
    AnyStep,
    BranchStep,
    BreatheStep,
    Cue,
    EndStep,
    ListenStep,
    PartnerRef,
    SayStep,
    TimerStep,
    TurnStep,
)
from .yamlfile import Collector, LineDict, LineList, line_of, load_yaml


@dataclass(frozen=True)
class Practice:
    """A guided practice."""

    id: str
    """Practice id, for example ``checkin``."""
    title: str
    """Spoken name ("the daily check-in")."""
    triggers: tuple[str, ...]
    """Intents that start it when nothing is running."""
    scope: str | None
    """Prompt stating the practice's scope, spoken on first use."""
    steps: tuple[AnyStep, ...]
    """The steps, in order."""
    path: Path
    """File it was loaded from."""
    line: int = 1
    """Line of the practice id."""
    index: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Step id -> position."""
    alternate_lead: bool = False
    """Whether who goes first alternates from one session of this practice to the next."""

    def step_index(self, step_id: str) -> int:
        """Position of a step id."""
        return self.index[step_id]

    def prompt_ids(self) -> list[tuple[str, int]]:
        """Every prompt id the practice names, with the line naming it."""
        found: list[tuple[str, int]] = [(self.scope, self.line)] if self.scope else []
        for step in self.steps:
            found += [(p, step.line_of(key)) for key, p in _step_prompts(step)]
        return found

    def intent_names(self) -> list[tuple[str, int]]:
        """Every intent the practice names, with the line naming it."""
        found = [(t, self.line) for t in self.triggers]
        for step in self.steps:
            if isinstance(step, ListenStep):
                found += [(i, step.line_of("expect")) for i in step.expect]
            if isinstance(step, ListenStep | TimerStep):
                found += [(i, step.line_of("on")) for i in step.on]
        return found


def _step_prompts(step: AnyStep) -> list[tuple[str, str]]:
    """(setting, prompt id) for every prompt a step names."""
    found: list[tuple[str, str | None]] = []
    if isinstance(step, SayStep):
        found.append(("say", step.prompt))
    elif isinstance(step, EndStep):
        found.append(("end", step.prompt))
    elif isinstance(step, ListenStep):
        found += [("prompt", step.prompt), ("reprompt", step.reprompt)]
    elif isinstance(step, TimerStep | TurnStep):
        found += [("prompt", step.prompt), ("end", step.end)]
        found += [("cues", c.prompt) for c in step.cues]
    elif isinstance(step, BreatheStep):
        found += [("prompt", step.prompt), ("end", step.end)]
        found += [("pattern", p) for p, _ in step.phases]
    return [(key, p) for key, p in found if p]


def load_practices(lang_dir: Path) -> dict[str, Practice]:
    """Load every ``lang_dir/practices/*.yaml``; all problems reported together."""
    practices, problems = collect_practices(lang_dir)
    if problems:
        raise ConfigError(problems)
    return practices


def collect_practices(lang_dir: Path) -> tuple[dict[str, Practice], list[Problem]]:
    """Load the valid practices, and list the problems in the rest."""
    practices: dict[str, Practice] = {}
    problems: list[Problem] = []
    for path in sorted((lang_dir / "practices").glob("*.yaml")):
        try:
            practice = load_practice(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if practice.id in practices:
            other = practices[practice.id]
            problems.append(
                Problem(path, practice.line, f"practice '{practice.id}' is also in {other.path}")
            )
            continue
        practices[practice.id] = practice
    return practices, problems


def load_practice(path: Path) -> Practice:
    """Load and validate one practice file."""
    doc = load_yaml(path)
    errors = Collector(path)
    if not isinstance(doc, LineDict):
        errors.add(1, "a practice file must be a mapping with 'practice' and 'steps'")
        errors.raise_if_any()
    errors.unknown_keys(
        doc, {"practice", "title", "triggers", "scope", "alternate_lead", "steps"}, "a practice"
    )
    alternate = doc.get("alternate_lead", False)
    if not isinstance(alternate, bool):
        errors.add(line_of(doc, "alternate_lead"), "'alternate_lead' must be true or false")
        alternate = False
    pid = doc.get("practice")
    if not isinstance(pid, str) or not pid.isidentifier():
        errors.add(line_of(doc, "practice"), "'practice' must be an id like checkin")
        pid = path.stem
    title = doc.get("title", pid.replace("_", " "))
    if not isinstance(title, str):
        errors.add(line_of(doc, "title"), "'title' must be text")
        title = pid
    triggers = _names(errors, doc, "triggers")
    scope = doc.get("scope")
    if scope is not None and not isinstance(scope, str):
        errors.add(line_of(doc, "scope"), "'scope' must be a prompt id")
        scope = None
    raw_steps = doc.get("steps")
    steps: list[AnyStep] = []
    if not isinstance(raw_steps, LineList) or not raw_steps:
        errors.add(line_of(doc, "steps"), "'steps' must be a non-empty list")
    else:
        for i, raw in enumerate(raw_steps):
            step = _parse_step(errors, raw, i, line_of(raw_steps, i))
            if step is not None:
                steps.append(replace(step, lines=MappingProxyType(_field_lines(raw))))
    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id in index:
            errors.add(step.line, f"step id '{step.id}' is used twice")
        index[step.id] = i
    for step in steps:
        for target in _targets(step):
            if target not in index:
                errors.add(step.line, f"step '{step.id}' goes to unknown step '{target}'")
    if steps and not any(isinstance(s, EndStep) for s in steps):
        errors.add(line_of(doc, "steps"), "a practice needs at least one 'end' step")
    errors.raise_if_any()
    return Practice(
        pid,
        title,
        tuple(triggers),
        scope,
        tuple(steps),
        path,
        line_of(doc, "practice"),
        MappingProxyType(index),
        alternate,
    )


def _field_lines(raw: LineDict) -> dict[str, int]:
    """Line of each key of a step and of its settings mapping."""
    lines = dict(raw.key_lines)
    for value in raw.values():
        if isinstance(value, LineDict):
            lines.update(value.key_lines)
    return lines


def _targets(step: AnyStep) -> list[str]:
    found = [step.next] if step.next else []
    if isinstance(step, ListenStep):
        found += list(step.on.values()) + ([step.on_timeout] if step.on_timeout else [])
    if isinstance(step, TimerStep):
        found += list(step.on.values())
    if isinstance(step, BranchStep):
        found += list(step.cases.values()) + ([step.default] if step.default else [])
    return found


def _names(errors: Collector, doc: LineDict, key: str) -> list[str]:
    value = doc.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(line_of(doc, key), f"'{key}' must be a list of intent names")
        return []
    return list(value)


_COMMON = {"id", "next"}
_FIELDS: Mapping[str, set[str]] = MappingProxyType(
    {
        "say": set(),
        "end": set(),
        "listen": {
            "prompt",
            "expect",
            "timeout",
            "reprompt",
            "attempts",
            "on",
            "on_timeout",
            "partner",
        },
        "timer": {"prompt", "duration", "cues", "end", "chime", "extendable", "skippable", "on"},
        "breathe": {"prompt", "pattern", "phases", "cycles", "end"},
        "turn": {"partner", "duration", "prompt", "cues", "end"},
        "branch": {"on", "cases", "default"},
    }
)


class _Fields:
    """Typed access to a step's fields, reporting problems with their line."""

    def __init__(self, errors: Collector, body: LineDict, where: str) -> None:
        self.errors, self.body, self.where = errors, body, where

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.body.get(key)
        if value is None:
            if required:
                self.errors.add(self.body.line, f"{self.where} needs '{key}'")
            return None
        if not isinstance(value, str) or not value:
            self.errors.add(line_of(self.body, key), f"{self.where}: '{key}' must be text")
            return None
        return value

    def seconds(self, key: str, default: float | None = None) -> float:
        value = self.body.get(key, default)
        if value is None:
            self.errors.add(self.body.line, f"{self.where} needs '{key}' (like 90s or 5m)")
            return 0.0
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.errors.add(line_of(self.body, key), f"{self.where}: {exc}")
            return 0.0

    def flag(self, key: str, default: bool) -> bool:
        value = self.body.get(key, default)
        if not isinstance(value, bool):
            self.errors.add(line_of(self.body, key), f"{self.where}: '{key}' must be true or false")
            return default
        return value

    def count(self, key: str, default: int) -> int:
        value = self.body.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.errors.add(line_of(self.body, key), f"{self.where}: '{key}' must be a count")
            return default
        return value

    def partner(self, key: str, default: PartnerRef | None) -> PartnerRef | None:
        value = self.body.get(key, default)
        if value is None or value in ("a", "b", "lead", "follow", "both"):
            return value
        self.errors.add(
            line_of(self.body, key), f"{self.where}: partner must be a, b, lead, follow or both"
        )
        return default

    def mapping(self, key: str) -> dict[str, str]:
        value = self.body.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.errors.add(line_of(self.body, key), f"{self.where}: '{key}' must map to step ids")
            return {}
        return {str(k): v for k, v in value.items()}

    def cues(self) -> tuple[Cue, ...]:
        raw = self.body.get("cues", [])
        if not isinstance(raw, list):
            self.errors.add(line_of(self.body, "cues"), f"{self.where}: 'cues' must be a list")
            return ()
        cues = []
        for i, item in enumerate(raw):
            line = line_of(raw, i)
            if not isinstance(item, LineDict) or set(item) != {"before_end", "say"}:
                self.errors.add(line, f"{self.where}: a cue is {{before_end: 1m, say: prompt.id}}")
                continue
            try:
                cues.append(Cue(parse_duration(item["before_end"]), str(item["say"])))
            except ValueError as exc:
                self.errors.add(line, f"{self.where}: {exc}")
        return tuple(sorted(cues, key=lambda c: -c.before_end))


def _parse_step(errors: Collector, raw: Any, index: int, line: int) -> AnyStep | None:
    if not isinstance(raw, LineDict):
        errors.add(line, "each step must be a mapping like {say: prompt.id}")
        return None
    kinds = [k for k in raw if k in STEP_KINDS]
    if len(kinds) != 1:
        errors.add(
            line,
            "a step needs exactly one kind" + (f", found {', '.join(kinds)}" if kinds else ""),
            "one of: " + ", ".join(STEP_KINDS),
        )
        return None
    kind = kinds[0]
    errors.unknown_keys(raw, _COMMON | {kind}, f"a {kind} step")
    sid = raw.get("id", f"{kind}{index + 1}")
    nxt = raw.get("next")
    if not isinstance(sid, str) or (nxt is not None and not isinstance(nxt, str)):
        errors.add(line, "'id' and 'next' must be step ids")
        return None
    where = f"step '{sid}'"
    value = raw[kind]
    if kind in ("say", "end"):
        if kind == "end" and value is None:
            return EndStep(sid, line, nxt, None)
        if not isinstance(value, str):
            errors.add(line, f"{where}: '{kind}' takes a prompt id")
            return None
        return SayStep(sid, line, nxt, value) if kind == "say" else EndStep(sid, line, nxt, value)
    if not isinstance(value, LineDict):
        errors.add(line, f"{where}: '{kind}' takes a mapping of settings")
        return None
    errors.unknown_keys(value, _FIELDS[kind], f"{where} ({kind})")
    f = _Fields(errors, value, where)
    if kind == "listen":
        expect = value.get("expect")
        if (
            not isinstance(expect, list)
            or not expect
            or not all(isinstance(e, str) for e in expect)
        ):
            errors.add(line_of(value, "expect"), f"{where}: 'expect' must list intent names")
            expect = []
        return ListenStep(
            sid,
            line,
            nxt,
            f.text("prompt"),
            tuple(expect),
            f.seconds("timeout", 60),
            f.text("reprompt", required=True) or "",
            -1 if value.get("attempts") == "forever" else f.count("attempts", 2),
            MappingProxyType(f.mapping("on")),
            f.text("on_timeout"),
            f.partner("partner", None),
        )
    if kind == "timer":
        raw_duration = value.get("duration")
        duration: float | Literal["pause", "extension"] = (
            raw_duration if raw_duration in ("pause", "extension") else f.seconds("duration")
        )
        return TimerStep(
            sid,
            line,
            nxt,
            f.text("prompt"),
            duration,
            f.cues(),
            f.text("end"),
            f.flag("chime", False),
            f.flag("extendable", False),
            f.flag("skippable", True),
            MappingProxyType(f.mapping("on")),
        )
    if kind == "breathe":
        pattern = f.text("pattern") or "cyclic_sigh"
        if pattern not in BREATH_PATTERNS:
            errors.add(
                line_of(value, "pattern"),
                f"{where}: unknown breathing pattern '{pattern}'",
                "one of: " + ", ".join(BREATH_PATTERNS),
            )
            return None
        return BreatheStep(
            sid,
            line,
            nxt,
            f.text("prompt"),
            pattern,
            BREATH_PATTERNS[pattern],
            f.count("cycles", 6),
            f.text("end"),
        )
    if kind == "turn":
        return TurnStep(
            sid,
            line,
            nxt,
            f.partner("partner", "lead") or "lead",
            f.seconds("duration"),
            f.text("prompt", required=True) or "",
            f.cues(),
            f.text("end"),
        )
    on = f.text("on", required=True) or "last_intent"
    if on != "last_intent" and not on.startswith("setting:"):
        errors.add(line_of(value, "on"), f"{where}: branch on 'last_intent' or 'setting:<name>'")
    return BranchStep(sid, line, nxt, on, MappingProxyType(f.mapping("cases")), f.text("default"))
