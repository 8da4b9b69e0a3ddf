"""Prompts: the words Haven speaks, several phrasings each, with checked placeholders.

Files under ``<lang dir>/prompts/*.yaml`` look like::

    prompts:
      checkin.welcome:
        - "Hi {partner_a} and {partner_b}. Let's check in."
        - "Welcome, you two. Time for our check-in."
    phrases:
      done: "I'm done"

``phrases`` gives, per intent, the short example Haven speaks when it tells people
what they can say right now.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .errors import ConfigError, Problem
from .yamlfile import Collector, LineDict, LineList, line_of, load_yaml

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "partner_a",  # first partner's name
        "partner_b",  # second partner's name
        "partner",  # whose turn it is
        "other",  # the other partner
        "minutes",  # a length, spoken ("20 minutes")
        "return_time",  # clock time a pause ends ("8:40")
        "options",  # what can be said right now ("I'm done, or repeat that")
        "remaining",  # time left in a timer or turn, spoken
        "practice",  # title of the current practice
        "question",  # an open question from the bank
        "name",  # the wake name ("Haven")
        "count",  # how many (cycles, appreciations)
    }
)


@dataclass(frozen=True)
class Prompt:
    """One prompt id with its phrasings."""

    id: str
    """Dotted id, for example ``checkin.welcome``."""
    texts: tuple[str, ...]
    """Alternative phrasings; one is chosen each time, never the same twice running."""
    path: Path
    """File it was defined in."""
    line: int
    """Line of its id."""


@dataclass(frozen=True)
class PromptBook:
    """All prompts and intent phrases of one language."""

    prompts: Mapping[str, Prompt]
    """Prompts by id."""
    phrases: Mapping[str, str]
    """A short example utterance per intent, for reprompts and help."""

    @classmethod
    def from_dir(cls, lang_dir: Path) -> PromptBook:
        """Load every ``lang_dir/prompts/*.yaml``; raise all problems together."""
        book, problems = cls.collect(lang_dir)
        if problems:
            raise ConfigError(problems)
        return book

    @classmethod
    def collect(cls, lang_dir: Path) -> tuple[PromptBook, list[Problem]]:
        """Load what is valid, and list the problems in the rest."""
        prompts: dict[str, Prompt] = {}
        phrases: dict[str, str] = {}
        problems: list[Problem] = []
        for path in sorted((lang_dir / "prompts").glob("*.yaml")):
            try:
                doc = load_yaml(path)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            errors = Collector(path)
            _read_file(doc, errors, prompts, phrases)
            problems.extend(errors.problems)
        return cls(MappingProxyType(prompts), MappingProxyType(phrases)), problems


def placeholders_in(text: str) -> list[str]:
    """Names of the ``{placeholders}`` in ``text``; raises ValueError on bad braces."""
    names = []
    for _, name, spec, conv in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            raise ValueError(f"bad placeholder '{{{name}}}'")
        names.append(name)
    return names


def _read_file(
    doc: object, errors: Collector, prompts: dict[str, Prompt], phrases: dict[str, str]
) -> None:
    if not isinstance(doc, LineDict):
        errors.add(1, "expected a mapping with 'prompts' and/or 'phrases'")
        return
    errors.unknown_keys(doc, {"prompts", "phrases"}, "a prompts file")
    section = doc.get("prompts", LineDict())
    if not isinstance(section, LineDict):
        errors.add(line_of(doc, "prompts"), "'prompts' must map ids to lists of phrasings")
        section = LineDict()
    for pid, value in section.items():
        line = line_of(section, pid)
        if pid in prompts:
            other = prompts[pid]
            errors.add(line, f"prompt '{pid}' is already defined at {other.path}:{other.line}")
            continue
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, LineList | list) or not texts:
            errors.add(line, f"prompt '{pid}' needs a phrasing or a list of phrasings")
            continue
        good = True
        for i, text in enumerate(texts):
            tline = line_of(texts, i) if isinstance(texts, LineList) else line
            if not isinstance(text, str) or not text.strip():
                errors.add(tline, f"prompt '{pid}': phrasing {i + 1} must be non-empty text")
                good = False
                continue
            good = _check_placeholders(errors, tline, pid, text) and good
        if good:
            prompts[pid] = Prompt(pid, tuple(texts), errors.path, line)
    section = doc.get("phrases", LineDict())
    if not isinstance(section, LineDict):
        errors.add(line_of(doc, "phrases"), "'phrases' must map intent names to example text")
        return
    for intent, text in section.items():
        if not isinstance(text, str) or not text.strip():
            errors.add(line_of(section, intent), f"phrase for '{intent}' must be text")
        else:
            phrases[intent] = text


def _check_placeholders(errors: Collector, line: int, pid: str, text: str) -> bool:
    try:
        names = placeholders_in(text)
    except ValueError as exc:
        errors.add(line, f"prompt '{pid}': {exc}", "use {name}; write {{ for a brace")
        return False
    unknown = [n for n in names if n not in PLACEHOLDERS]
    for name in unknown:
        errors.add(
            line,
            f"prompt '{pid}': unknown placeholder '{{{name}}}'",
            "known: " + ", ".join(sorted(PLACEHOLDERS)),
        )
    return not unknown


class PhrasingChooser:
    """Picks a phrasing per prompt, never the same one twice in a row."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._last: dict[str, int] = {}

    def choose(self, prompt: Prompt) -> str:
        """A phrasing of ``prompt`` other than the one used last time."""
        count = len(prompt.texts)
        options = [i for i in range(count) if i != self._last.get(prompt.id)] or [0]
        index = self._rng.choice(options)
        self._last[prompt.id] = index
        return prompt.texts[index]


def fill(text: str, values: Mapping[str, str]) -> str:
    """Fill placeholders; any not known in this context are left as plain words."""
    return string.Formatter().vformat(text, (), _Defaulting(values))


def spoken_list(items: Iterable[str]) -> str:
    """'a', 'a or b', 'a, b, or c'."""
    words = [f'"{w}"' for w in items]
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + ", or " + words[-1]


class _Defaulting(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return key.replace("_", " ")
