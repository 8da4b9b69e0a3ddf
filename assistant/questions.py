"""The bank of open questions, and picking one that was not asked recently."""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, Problem
from .prompts import placeholders_in
from .yamlfile import Collector, LineDict, line_of, load_yaml

RECENT_SESSIONS = 20
"""A question is not asked again within this many sessions."""
_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Question:
    """One open-ended question."""

    id: str
    """Stable id, stored in the log (never the text)."""
    text: str
    """What Haven asks."""


def collect_questions(lang_dir: Path) -> tuple[tuple[Question, ...], list[Problem]]:
    """Load ``questions.yaml`` (missing file: no questions)."""
    path = lang_dir / "questions.yaml"
    if not path.exists():
        return (), []
    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        return (), list(exc.problems)
    errors = Collector(path)
    items = doc.get("questions") if isinstance(doc, LineDict) else None
    if isinstance(doc, LineDict):
        errors.unknown_keys(doc, {"questions"}, "questions.yaml")
    if not isinstance(items, list):
        errors.add(line_of(doc) or 1, "expected 'questions:' with a list of {id, text}")
        return (), errors.problems
    found: dict[str, Question] = {}
    for i, item in enumerate(items):
        line = line_of(items, i)
        if not isinstance(item, LineDict) or set(item) != {"id", "text"}:
            errors.add(line, 'each question is {id: some_id, text: "...?"}')
            continue
        qid, text = item["id"], item["text"]
        if not isinstance(qid, str) or not _ID.fullmatch(qid):
            errors.add(line, f"question id '{qid}' must be lower-case letters, digits, _")
        elif qid in found:
            errors.add(line, f"question id '{qid}' is used twice")
        elif not isinstance(text, str) or not text.strip():
            errors.add(line, f"question '{qid}' needs text")
        else:
            try:
                names = placeholders_in(text)
            except ValueError:
                names = ["?"]
            if names:
                errors.add(line, f"question '{qid}' cannot use placeholders")
            else:
                found[qid] = Question(qid, text.strip())
    return tuple(found.values()), errors.problems


def pick_question(
    bank: tuple[Question, ...], recent: Collection[str], rng: random.Random
) -> Question | None:
    """A question not among ``recent`` (ids, newest first); the oldest asked if all were."""
    if not bank:
        return None
    fresh = [q for q in bank if q.id not in recent]
    if fresh:
        return rng.choice(fresh)
    order = list(recent)
    return max(bank, key=lambda q: order.index(q.id) if q.id in order else len(order))
