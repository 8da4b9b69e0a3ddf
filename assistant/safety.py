"""The safety gate: crisis phrases and the neutral resources Haven reads out.

``<lang dir>/safety.yaml`` lists crisis phrases; ``<lang dir>/resources/<locale>.yaml``
holds the resources for each locale. When a crisis phrase is heard, the practice
stops, the resources are spoken, and nothing of it is written to the shared log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .errors import ConfigError, Problem
from .intents import normalize
from .yamlfile import Collector, LineDict, line_of, load_yaml


@dataclass(frozen=True)
class SafetyGate:
    """Crisis phrases and per-locale resources."""

    phrases: tuple[str, ...] = ()
    """Normalized crisis phrases."""
    resources: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Locale -> sentences to speak."""

    def is_crisis(self, text: str) -> bool:
        """Whether ``text`` contains a crisis phrase at word boundaries."""
        clean = f" {normalize(text)} "
        return any(f" {phrase} " in clean for phrase in self.phrases)

    def resources_for(self, locale: str) -> tuple[str, ...]:
        """Resources for ``locale``, falling back to any of the same language."""
        if locale in self.resources:
            return self.resources[locale]
        language = locale.split("-")[0]
        for key, lines in sorted(self.resources.items()):
            if key.split("-")[0] == language:
                return lines
        return ()

    @classmethod
    def collect(cls, lang_dir: Path) -> tuple[SafetyGate, list[Problem]]:
        """Load what is valid and list the problems."""
        problems: list[Problem] = []
        phrases: list[str] = []
        path = lang_dir / "safety.yaml"
        if path.exists():
            try:
                doc = load_yaml(path)
            except ConfigError as exc:
                doc, problems = None, list(exc.problems)
            errors = Collector(path)
            if doc is not None and not isinstance(doc, LineDict):
                errors.add(1, "safety.yaml must be a mapping with 'crisis_phrases'")
            elif isinstance(doc, LineDict):
                errors.unknown_keys(doc, {"crisis_phrases"}, "safety.yaml")
                raw = doc.get("crisis_phrases", [])
                if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
                    errors.add(line_of(doc, "crisis_phrases"), "'crisis_phrases' must be text")
                else:
                    phrases = [normalize(p) for p in raw if normalize(p)]
            problems += errors.problems
        resources: dict[str, tuple[str, ...]] = {}
        for res_path in sorted((lang_dir / "resources").glob("*.yaml")):
            try:
                doc = load_yaml(res_path)
            except ConfigError as exc:
                problems += exc.problems
                continue
            errors = Collector(res_path)
            lines = doc.get("resources") if isinstance(doc, LineDict) else None
            if isinstance(doc, LineDict):
                errors.unknown_keys(doc, {"resources"}, "a resources file")
            if (
                not isinstance(lines, list)
                or not lines
                or not all(isinstance(x, str) and x.strip() for x in lines)
            ):
                errors.add(line_of(doc) or 1, "'resources' must be a list of sentences to speak")
            elif not re.fullmatch(r"[a-z]{2}-[A-Z]{2}", res_path.stem):
                errors.add(
                    1, f"name the file after its locale, like en-US.yaml, not {res_path.name}"
                )
            else:
                resources[res_path.stem] = tuple(lines)
            problems += errors.problems
        return cls(tuple(phrases), MappingProxyType(resources)), problems
