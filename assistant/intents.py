"""Intents: load hassil templates from YAML, match text, enumerate sentences.

Every file under ``<lang dir>/intents/`` plus ``<lang dir>/lists.yaml`` is one
piece of a single hassil ``Intents`` document: intents, slot lists and expansion
rules are merged, and a name defined twice is an error.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hassil import Intents, recognize_all
from hassil.sample import sample_intents

from .errors import ConfigError, Problem
from .yamlfile import Collector, LineDict, line_of, load_yaml

_LOG = logging.getLogger(__name__)

_TOP_KEYS = {"language", "intents", "lists", "expansion_rules", "skip_words"}
_SLOT = re.compile(r"\{[^}]*\}")
RANGE_STANDIN = "twenty"
"""Stands for any number when templates are expanded without their ranges."""
_PUNCT = re.compile(r"[^\w'\s-]+")
_WAKE_LEADS = ("hey", "okay", "ok", "hi")
"""Words that may come before the wake name."""


@dataclass(frozen=True)
class IntentMatch:
    """An utterance matched to an intent."""

    intent: str
    """Intent name."""
    slots: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Slot values by name (numbers as int)."""
    text: str = ""
    """The text that was matched (wake phrase removed)."""


@dataclass(frozen=True)
class IntentSource:
    """Where an intent was defined."""

    path: Path
    """The YAML file."""
    line: int
    """Line of the intent's name."""


def normalize(text: str) -> str:
    """Lower-case, drop punctuation except apostrophes and hyphens, squeeze spaces."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def strip_wake(text: str, wake_name: str) -> tuple[str, bool]:
    """Remove a leading wake phrase ("Haven, ...", "hey Haven ..."); say if one was there."""
    words = normalize(text).split()
    name = normalize(wake_name).split()
    for lead in ([], *([w] for w in _WAKE_LEADS)):
        prefix = lead + name
        if name and words[: len(prefix)] == prefix:
            return " ".join(words[len(prefix) :]), True
    return " ".join(words), False


class IntentSet:
    """All intents of one language, ready to match text."""

    def __init__(
        self,
        hassil_intents: Intents,
        sources: Mapping[str, IntentSource],
        language: str,
        document: Mapping[str, Any] | None = None,
    ) -> None:
        self.hassil = hassil_intents
        """The merged hassil Intents document."""
        self.sources = MappingProxyType(dict(sources))
        """Where each intent was defined."""
        self.language = language
        """Language code, for number words."""
        self._document = document
        """The merged YAML it was built from (for :meth:`addressed`)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Intent names, sorted."""
        return tuple(sorted(self.hassil.intents))

    @classmethod
    def from_dir(cls, lang_dir: Path) -> IntentSet:
        """Load ``lang_dir/intents/*.yaml`` and ``lang_dir/lists.yaml``."""
        files = sorted((lang_dir / "intents").glob("*.yaml"))
        lists_file = lang_dir / "lists.yaml"
        if lists_file.exists():
            files.append(lists_file)
        if not files:
            raise ConfigError(
                [Problem(lang_dir / "intents", 0, "no intent files found", "add <name>.yaml files")]
            )
        return cls.from_files(files)

    @classmethod
    def from_files(cls, files: list[Path]) -> IntentSet:
        """Merge several hassil YAML files into one IntentSet."""
        merged: dict[str, Any] = {"intents": {}, "lists": {}, "expansion_rules": {}}
        sources: dict[str, IntentSource] = {}
        defined_at: dict[tuple[str, str], tuple[Path, int]] = {}
        problems: list[Problem] = []
        language = ""
        for path in files:
            try:
                doc = load_yaml(path)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            errors = Collector(path)
            if not isinstance(doc, LineDict):
                errors.add(1, "expected a mapping with 'language' and 'intents' or 'lists'")
                problems.extend(errors.problems)
                continue
            errors.unknown_keys(doc, _TOP_KEYS, "an intents file")
            lang = doc.get("language")
            if not isinstance(lang, str):
                errors.add(line_of(doc, "language"), "missing 'language: en'")
            elif language and lang != language:
                errors.add(line_of(doc, "language"), f"language '{lang}' differs from '{language}'")
            else:
                language = lang
            for section in ("intents", "lists", "expansion_rules"):
                part = doc.get(section)
                if part is None:
                    continue
                if not isinstance(part, LineDict):
                    errors.add(line_of(doc, section), f"'{section}' must be a mapping")
                    continue
                for name, value in part.items():
                    line = line_of(part, name)
                    if (section, name) in defined_at:
                        other, other_line = defined_at[(section, name)]
                        errors.add(line, f"'{name}' is already defined at {other}:{other_line}")
                        continue
                    defined_at[(section, name)] = (path, line)
                    merged[section][name] = value
                    if section == "intents":
                        sources[name] = IntentSource(path, line)
                        _check_intent_shape(errors, name, value, line)
            problems.extend(errors.problems)
        if problems:
            raise ConfigError(problems)
        merged["language"] = language or "en"
        try:
            hassil_intents = Intents.from_dict(_plain(merged))
        except Exception as exc:  # hassil raises bare exceptions on template syntax
            raise ConfigError(_template_problems(merged, sources, defined_at, exc)) from exc
        return cls(hassil_intents, sources, merged["language"], _plain(merged))

    def addressed(self, wake_name: str, unaddressed: Collection[str] = ()) -> IntentSet:
        """The same intents, every sentence said after the wake phrase ("Haven, start
        check-in", "hey Haven, ...", the leads :func:`strip_wake` removes), except those of
        ``unaddressed`` (left as they are). For a recognizer that hears the name and the
        command as one phrase."""
        if self._document is None:
            raise ConfigError([Problem(Path("<intents>"), 0, "these intents were not loaded "
                                       "from files", "load them with IntentSet.from_dir")])
        name = normalize(wake_name)
        if not name or not all(w.isalpha() for w in name.split()):
            raise ConfigError([Problem(Path("<settings>"), 0, f"wake name {wake_name!r} is not "
                                       "plain words", "set wake_name to a word such as Haven")])
        lead = "[" + "|".join(_WAKE_LEADS) + "] " + name
        doc = copy.deepcopy(dict(self._document))
        for intent, body in doc["intents"].items():
            if intent in unaddressed:
                continue
            for block in body.get("data", []):
                block["sentences"] = [f"{lead} ({s})" for s in block.get("sentences", [])]
        return IntentSet(Intents.from_dict(doc), self.sources, self.language, doc)

    def match(self, text: str, allowed: Collection[str] | None = None) -> IntentMatch | None:
        """The intent ``text`` expresses, among ``allowed`` (all when None)."""
        clean = normalize(text)
        if not clean:
            return None
        for result in recognize_all(clean, self.hassil, language=self.language):
            name = result.intent.name
            if allowed is not None and name not in allowed:
                continue
            slots = {key: _plain_number(entity.value) for key, entity in result.entities.items()}
            return IntentMatch(name, MappingProxyType(slots), clean)
        return None

    def sentences(
        self, names: Collection[str] | None = None, max_per_intent: int | None = None
    ) -> Iterator[tuple[str, str]]:
        """(intent, sentence) pairs the templates accept, number words spelled out."""
        yield from sample_intents(
            self.hassil,
            intent_names=set(names) if names is not None else None,
            max_sentences_per_intent=max_per_intent,
            language=self.language,
        )


def template_sentences(intents: IntentSet, name: str) -> list[str]:
    """Every sentence one intent's templates accept, number ranges as one stand-in word."""
    found = set()
    for _, text in sample_intents(
        intents.hassil, intent_names={name}, language=intents.language, expand_ranges=False
    ):
        found.add(" ".join(_SLOT.sub(RANGE_STANDIN, text).split()))
    return sorted(found)


def find_overlaps(intents: IntentSet) -> list[Problem]:
    """Sentences of one intent that another intent also matches (every expansion checked)."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for name in intents.names:
        for sentence in template_sentences(intents, name):
            for result in recognize_all(sentence, intents.hassil, language=intents.language):
                other = result.intent.name
                if other == name or (name, other) in seen:
                    continue
                seen.add((name, other))
                seen.add((other, name))
                for side in (name, other):
                    source = intents.sources[side]
                    problems.append(
                        Problem(
                            source.path,
                            source.line,
                            f"'{sentence}' matches both '{name}' and '{other}'",
                            f"make the templates of '{side}' or the other more specific",
                        )
                    )
    return problems


def _plain_number(value: Any) -> Any:
    """Digits come back from hassil as floats: 20.0 -> 20."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_intent_shape(errors: Collector, name: str, value: Any, line: int) -> None:
    if not isinstance(value, LineDict) or not isinstance(value.get("data"), list):
        errors.add(line, f"intent '{name}' needs 'data: [{{sentences: [...]}}]'")
        return
    for i, block in enumerate(value["data"]):
        line = line_of(value["data"], i)
        if not isinstance(block, LineDict):
            errors.add(line, f"intent '{name}': each data item must be a mapping")
            continue
        sentences = block.get("sentences")
        if not isinstance(sentences, list) or not sentences:
            errors.add(line, f"intent '{name}': data item has no 'sentences' list")
        elif not all(isinstance(s, str) and s.strip() for s in sentences):
            errors.add(line, f"intent '{name}': every sentence must be non-empty text")


def _template_problems(
    merged: dict[str, Any],
    sources: Mapping[str, IntentSource],
    defined_at: Mapping[tuple[str, str], tuple[Path, int]],
    exc: Exception,
) -> list[Problem]:
    """Find which list, rule or template hassil could not parse, for a file:line message."""
    language = merged.get("language", "en")
    for (section, name), (path, line) in defined_at.items():
        if section == "intents":
            continue
        others: dict[str, dict[str, Any]] = {"lists": {}, "expansion_rules": {}}
        others[section] = {name: merged[section][name]}
        try:
            Intents.from_dict(_plain({"language": language, "intents": {}, **others}))
        except Exception as inner:  # hassil raises bare exceptions
            return [
                Problem(
                    path,
                    line,
                    f"{section} '{name}' cannot be used: {inner}",
                    "a list has values: or range: {from: 1, to: 10}; a rule is one template",
                )
            ]
    for name, source in sources.items():
        single = {
            "language": merged.get("language", "en"),
            "intents": {name: merged["intents"][name]},
            "lists": merged["lists"],
            "expansion_rules": merged["expansion_rules"],
        }
        try:
            Intents.from_dict(_plain(single))
        except Exception as inner:  # same bare exceptions as above
            return [
                Problem(
                    source.path,
                    source.line,
                    f"intent '{name}': bad template: {inner}",
                    "check brackets: (a|b) for alternatives, [x] optional, {slot}, <rule>",
                )
            ]
    first = next(iter(defined_at.values()), (Path("intents"), 1))
    return [Problem(first[0], first[1], f"the intents cannot be loaded: {exc}")]


def _plain(value: Any) -> Any:
    """Strip the line-tracking subclasses (hassil wants plain dicts and lists)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
