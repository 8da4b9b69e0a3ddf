"""What the detectors hear in training: phrases from the intents YAML, and Haven's prompts.

- Wake phrase: ``<lead> <wake_name>`` with the leads of the ``haven`` expansion rule.
- Always-armed pause: a short fixed list of pause phrasings (each must be accepted by the
  ``pause`` intent, so the grammar agrees), with a few lead-ins.
- Step replies: short natural sentences of a few intents, from
  ``IntentSet.sentences(names=..., max_per_intent=...)``.
- Commands after the wake phrase: short sentences of the other intents, split by a stable
  hash so the benchmark can use commands training never heard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..intents import IntentSet, normalize
from .negatives import held_out

WAKE_LEADS = ("", "hey", "okay")
"""Words before the name ("Haven", "hey Haven", "okay Haven")."""
PAUSE_PHRASES = (
    "we need a pause",
    "I need a break",
    "time out",
    "can we pause",
    "let's take a break",
    "I'm flooded",
    "pause",
)
"""The always-armed pause phrasings, as the issue lists them."""
PAUSE_VARIANTS = (
    "we need a break",
    "I need a pause",
    "can we take a break",
    "time out please",
    "let's pause",
    "we need to pause",
    "I'm overwhelmed",
    "pause please",
    "we need a time out",
)
"""Close variants also trained (all accepted by the pause intent)."""
PAUSE_LEADS_TRAIN = ("", "", "", "hold on,", "wait,")
PAUSE_LEADS_TEST = ("", "sorry,", "stop,")
LEAD_INS = ("okay", "look", "honestly", "hey", "please", "um", "you know what", "listen",
            "I think", "right now", "babe", "no", "alright", "just")
"""Words said before a pause phrasing in training (as a separate piece, spoken on its own),
so the detector learns to ignore whatever comes first. Never "sorry" or "stop": those are
the benchmark's."""
"""Lead-ins the benchmark uses: "sorry" and "stop" are never trained."""
REPLY_INTENTS = ("done", "repeat", "resume", "yes", "no", "extend")
"""The step replies live without the wake phrase (labels of the reply detector)."""
REPLY_CANONICAL = {
    "done": "I'm done",
    "repeat": "repeat that",
    "resume": "I'm ready",
    "yes": "yes",
    "no": "no",
    "extend": "five more minutes",
}
NOT_COMMANDS = {"pause", *REPLY_INTENTS}
_NUMBERS = {
    "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
    "7": "seven", "8": "eight", "9": "nine", "10": "ten", "15": "fifteen", "20": "twenty",
    "30": "thirty",
}
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_ODD = re.compile(
    r"\b(lets|ok|sure sure|yep please|yeah please|nah thanks|please another|one more minutes"
    r"|(absolutely|definitely|alright|sure|okay) (please|sure)"
    r"|(two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty) more minute)\b(?!s)"
)


@dataclass(frozen=True)
class Phrases:
    """Every text training and the benchmark speak, by role."""

    wake: tuple[str, ...]
    """Wake phrases ("hey Haven")."""
    commands_train: tuple[str, ...]
    """Commands that follow the wake phrase in training."""
    commands_test: tuple[str, ...]
    """Commands kept for the benchmark (never trained)."""
    pause: tuple[str, ...]
    """Pause phrasings trained (the fixed list and its variants, with lead-ins)."""
    replies: Mapping[str, tuple[str, ...]]
    """Reply intent -> its short sentences."""
    prompts: tuple[str, ...]
    """What Haven itself says (spoken in Haven's voice as a negative)."""


def spoken(text: str) -> str:
    """Digits as words (only the small numbers kept) and squeezed spaces."""
    words = [_NUMBERS.get(w, w) for w in text.split()]
    return " ".join(words)


def wake_phrases(wake_name: str) -> tuple[str, ...]:
    """The name alone and with each lead word."""
    return tuple(f"{lead} {wake_name}".strip() for lead in WAKE_LEADS)


def _short(sentences: Iterable[str], max_words: int) -> list[str]:
    found: dict[str, None] = {}
    for sentence in sentences:
        text = normalize(sentence)
        words = text.split()
        if not text or any(w.isdigit() and w not in _NUMBERS for w in words):
            continue
        text = spoken(text)
        if len(words) <= max_words and not _ODD.search(text):
            found.setdefault(text, None)
    return list(found)


def reply_sentences(intents: IntentSet, per_intent: int = 24) -> dict[str, tuple[str, ...]]:
    """Short natural sentences for each reply intent, canonical one first."""
    by_intent: dict[str, list[str]] = {name: [] for name in REPLY_INTENTS}
    for name, text in intents.sentences(names=REPLY_INTENTS, max_per_intent=4000):
        by_intent[name].append(text)
    out: dict[str, tuple[str, ...]] = {}
    for name, texts in by_intent.items():
        limit = 5 if name == "extend" else 4
        short = _short(texts, limit)
        short.sort(key=lambda s: (len(s.split()), s))
        canonical = normalize(REPLY_CANONICAL[name])
        picked = [canonical] + [s for s in short if s != canonical]
        out[name] = tuple(picked[:per_intent])
    return out


def command_sentences(intents: IntentSet, per_intent: int = 12) -> list[str]:
    """Short sentences of every intent that is not a pause or a step reply."""
    names = [n for n in intents.names if n not in NOT_COMMANDS]
    by_intent: dict[str, list[str]] = {}
    for name, text in intents.sentences(names=names, max_per_intent=400):
        by_intent.setdefault(name, []).append(text)
    out: list[str] = []
    for name in sorted(by_intent):
        short = _short(by_intent[name], 5)
        short.sort(key=lambda s: (len(s.split()), s))
        out.extend(short[:per_intent])
    return out


def pause_phrases(leads: Iterable[str] = PAUSE_LEADS_TRAIN) -> tuple[str, ...]:
    """Pause phrasings with lead-ins."""
    base = PAUSE_PHRASES + PAUSE_VARIANTS
    return tuple(
        f"{lead} {p}".strip()
        for lead in dict.fromkeys(leads)
        for p in base
        if not (lead and p.startswith("pause"))
    )


def prompt_sentences(prompts_dir: Path, names: Iterable[str] = ("Sam", "Alex")) -> list[str]:
    """Every prompt text under ``prompts_dir`` with placeholders filled in."""
    fill = list(names) or ["you"]
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            text = _PLACEHOLDER.sub(lambda m: fill[len(out) % len(fill)], node)
            if len(text.split()) >= 2:
                out.append(" ".join(text.split()))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted(prompts_dir.glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return out


def build_phrases(lang_dir: Path, wake_name: str, partners: Iterable[str] = ()) -> Phrases:
    """All phrases for one language folder (``intents/en``) and wake name."""
    intents = IntentSet.from_dir(lang_dir)
    commands = command_sentences(intents)
    train = tuple(c for c in commands if not held_out(c, 0.25))
    test = tuple(c for c in commands if held_out(c, 0.25))
    prompts_dir = lang_dir / "prompts"
    prompts = prompt_sentences(prompts_dir, partners) if prompts_dir.is_dir() else []
    return Phrases(
        wake=wake_phrases(wake_name),
        commands_train=train,
        commands_test=test,
        pause=pause_phrases(),
        replies=reply_sentences(intents),
        prompts=tuple(prompts),
    )
