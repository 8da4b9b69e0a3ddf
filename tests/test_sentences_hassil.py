"""Self-check of the English intent templates with hassil alone (no Haven code).

Loads intents/en/lists.yaml and intents/en/intents/*.yaml the way the loader does
(deep-merge of `intents`, `lists` and `expansion_rules`), then checks:

- every sentence test in tests/sentences/en/<intent>.yaml: positives give that intent with
  exactly the listed slots, near misses give no intent at all;
- no sentence an intent's templates accept is accepted by any other intent.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hassil import Intents, recognize, recognize_all
from hassil.sample import sample_intents

ROOT = Path(__file__).resolve().parents[1]
INTENTS_DIR = ROOT / "intents" / "en"
SENTENCES_DIR = ROOT / "tests" / "sentences" / "en"
LANGUAGE = "en"
MERGED_KEYS = ("intents", "lists", "expansion_rules")

BIG_INTENTS = {"pause", "resume", "start_checkin", "gratitude", "stop"}
ALL_INTENTS = {
    "pause", "resume", "start_checkin", "weekly_checkin", "gratitude", "breathe", "repair",
    "floor", "stop", "help", "repeat", "skip", "done", "extend", "slower", "decompress",
    "open_question", "say_gently", "calm", "not_calm", "yes", "no", "snooze",
}  # fmt: skip

# Stand-ins for range slots when sentences are sampled without expanding ranges.
RANGE_STANDINS = {"minutes": "twenty"}


def _deep_merge(dst: dict[str, Any], src: dict[str, Any], where: str) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _deep_merge(dst[key], value, f"{where}.{key}")
        elif isinstance(value, list) and isinstance(dst.get(key), list):
            dst[key].extend(value)
        elif key in dst:
            raise ValueError(f"{where}: {key!r} defined twice")
        else:
            dst[key] = value


def intent_files() -> list[Path]:
    return sorted((INTENTS_DIR / "intents").glob("*.yaml"))


@lru_cache(maxsize=1)
def merged_dict() -> dict[str, Any]:
    merged: dict[str, Any] = {"language": LANGUAGE, **{key: {} for key in MERGED_KEYS}}
    for path in [INTENTS_DIR / "lists.yaml", *intent_files()]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data.get("language") == LANGUAGE, f"{path}: language must be {LANGUAGE!r}"
        unknown = set(data) - {"language", *MERGED_KEYS}
        assert not unknown, f"{path}: unknown keys {sorted(unknown)}"
        for key in MERGED_KEYS:
            _deep_merge(merged[key], data.get(key) or {}, f"{path}:{key}")
    return merged


def build_intents(names: set[str] | None = None) -> Intents:
    merged = merged_dict()
    intents = merged["intents"]
    if names is not None:
        intents = {name: body for name, body in intents.items() if name in names}
    return Intents.from_dict({**merged, "intents": intents})


@lru_cache(maxsize=1)
def all_intents() -> Intents:
    return build_intents()


def sentence_files() -> list[Path]:
    return sorted(SENTENCES_DIR.glob("*.yaml"))


def template_sentences(name: str) -> list[str]:
    """Every sentence one intent accepts, ranges replaced by a stand-in number word."""
    texts = sample_intents(
        build_intents({name}), language=LANGUAGE, expand_ranges=False, intent_names={name}
    )
    out = set()
    for _intent, text in texts:
        for slot, word in RANGE_STANDINS.items():
            text = text.replace("{" + slot + "}", word)
        assert "{" not in text, f"unexpanded slot in {text!r}"
        out.add(text)
    return sorted(out)


# -- files --------------------------------------------------------------------------


def test_one_intent_per_file_named_like_the_file() -> None:
    for path in intent_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names = list(data["intents"])
        # YAML 1.1 reads bare yes/no/on/off keys as booleans: names must stay strings.
        assert names == [path.stem], f"{path}: expected intent {path.stem!r}, got {names!r}"


def test_intent_set_is_the_contract() -> None:
    assert set(merged_dict()["intents"]) == ALL_INTENTS
    assert {p.stem for p in sentence_files()} == ALL_INTENTS


def test_no_wake_word_in_sentences() -> None:
    for name in sorted(ALL_INTENTS):
        for text in template_sentences(name):
            assert "haven" not in text.split(), f"{name}: wake word in {text!r}"


@pytest.mark.parametrize("name", sorted(ALL_INTENTS))
def test_enough_phrasings(name: str) -> None:
    wanted = 8 if name in BIG_INTENTS else 4
    assert len(template_sentences(name)) >= wanted


# -- sentence tests -----------------------------------------------------------------


@pytest.mark.parametrize("path", sentence_files(), ids=lambda p: p.stem)
def test_sentence_file(path: Path) -> None:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = spec["intent"]
    assert name == path.stem, f"{path}: intent {name!r} does not match the file name"
    assert set(spec) <= {"intent", "match", "no_match"}, f"{path}: unknown keys"
    positives = spec["match"]
    negatives = spec["no_match"]
    assert len(positives) >= (10 if name in BIG_INTENTS else 6), f"{path}: too few positives"
    assert len(negatives) >= 4, f"{path}: too few near misses"

    intents = all_intents()
    failures = []
    for case in positives:
        if isinstance(case, str):
            case = {"sentence": case}
        text, slots = case["sentence"], case.get("slots") or {}
        result = recognize(text, intents, language=LANGUAGE)
        got = None if result is None else result.intent.name
        got_slots = {} if result is None else {k: v.value for k, v in result.entities.items()}
        if got != name or got_slots != slots:
            failures.append(f"{text!r}: expected {name} {slots}, got {got} {got_slots}")
    for text in negatives:
        result = recognize(text, intents, language=LANGUAGE)
        if result is not None:
            failures.append(f"near miss {text!r} matched {result.intent.name}")
    assert not failures, f"{path}:\n  " + "\n  ".join(failures)


# -- disjointness -------------------------------------------------------------------


def test_sampled_sentences_match_no_other_intent() -> None:
    """The loader's view: sample each intent, recognize against all the others alone."""
    intents = all_intents()
    by_intent: dict[str, list[str]] = {}
    for name, text in sample_intents(intents, language=LANGUAGE, max_sentences_per_intent=500):
        by_intent.setdefault(name, []).append(text)
    assert set(by_intent) == ALL_INTENTS
    clashes = []
    for name, texts in sorted(by_intent.items()):
        others = build_intents(ALL_INTENTS - {name})
        for text in texts:
            result = recognize(text, others, language=LANGUAGE)
            if result is not None:
                clashes.append(f"{text!r}: {name} and {result.intent.name}")
    assert not clashes, "\n".join(clashes)


def test_every_template_sentence_is_unambiguous() -> None:
    """Exhaustive: every expansion of every template matches its own intent and no other."""
    intents = all_intents()
    problems = []
    for name in sorted(ALL_INTENTS):
        for text in template_sentences(name):
            matched = {r.intent.name for r in recognize_all(text, intents, language=LANGUAGE)}
            if matched != {name}:
                problems.append(f"{text!r}: {name} -> {sorted(matched)}")
    assert not problems, "\n".join(problems)


def test_wake_word_rule_is_defined() -> None:
    rule = merged_dict()["expansion_rules"]["haven"]
    assert re.search(r"\bhaven\b", rule)
