"""Rejection: combine a grammar pass and an open pass into one accept/reject decision.

The grammar pass always finds *some* phrase; the open pass (commands plus ordinary
English) only produces a command when the audio really sounds like one. A result is
accepted when

- the open pass itself is a command of an allowed intent (both passes then usually
  agree word for word; when both name the same intent the grammar's words are kept,
  since its number ranges are not skewed by the open model's counts), or
- the grammar pass found a whole phrase and the two passes agree on at least
  ``min_agreement`` of the words, in order, counted against the longer of the two
  (a command with a word misheard passes; a phrase the grammar fitted into a longer
  sentence, whose other words the open pass heard, does not), or
- they agree on at least ``sound_agreement`` of the words, end on the same word, and the
  grammar's path scores acoustically no worse than the open pass's (in noise the open
  pass drifts to everyday words for its word statistics, not for the sound).

Per-word confidence is whether the other pass heard the same word at that place, so
a later verifier can weigh the words a decision rests on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from types import MappingProxyType
from typing import Any

from ..intents import IntentMatch, IntentSet
from .denoise import DenoiseConfig


@dataclass(frozen=True)
class Tuning:
    """Knobs of the pocketsphinx recognizer (tuned on espeak-ng and flite voices only)."""

    noise_floor: float = 100.0
    """Std. dev. of the quiet noise added before decoding (int16 units, about -50 dBFS)."""
    background_words: int = 5000
    """Common English words the open pass may hear instead of a command."""
    backoff: float = 0.02
    """Probability mass a command context leaves for words off the command path."""
    background_weight: float = 0.02
    """Share of the open pass's unigram mass given to the background words."""
    min_agreement: float = 0.75
    """Share of a grammar phrase's words the open pass must also hear to accept it."""
    sound_agreement: float | None = 0.6
    """The share that is enough when the grammar's path sounds no worse than the open
    pass's words (``score_gap`` at most ``max_gap``) and both passes end on the same word:
    the open pass then chose its other words for its language model, not for the sound,
    as it does in noise. Chosen on the dev set's espeak-ng and flite voices and checked
    on ordinary talk the dev set does not hold (BENCHMARKS.md, "Rejection"). None: off."""
    max_gap: float = 0.0
    """Largest ``score_gap`` (the open pass's acoustic score minus the grammar path's, per
    frame) at which ``sound_agreement`` applies."""
    denoise: DenoiseConfig | None = field(default_factory=DenoiseConfig)
    """Wiener noise reduction before decoding (None: off)."""
    front_end: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """pocketsphinx settings applied over the model's own (``cmn``, ``remove_noise``...)."""


@dataclass(frozen=True)
class Verdict:
    """The decision on one utterance."""

    text: str
    """The text chosen ("" when nothing in-grammar was heard)."""
    accepted: bool
    """Whether ``text`` is taken as a command."""
    confidence: float
    """0 to 1."""
    word_confidence: tuple[float, ...]
    """One value per word of ``text``."""
    reason: str = ""
    """Why it was rejected ("" when accepted)."""
    match: IntentMatch | None = None
    """The intent ``text`` expresses, when accepted."""
    source: str = "grammar"
    """Which pass ``text`` comes from: "grammar" or "open"."""
    scores: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """Evidence: agreement and which pass matched."""


def align(reference: list[str], other: list[str]) -> list[bool]:
    """For each word of ``reference``, whether an in-order alignment matches it in ``other``.

    Spelling aside: the two passes' vocabularies write some words differently ("let's" and
    "lets", "check-in" and "check in"), so apostrophes are dropped and hyphenated words
    are compared part by part; a word matches when all of its parts do."""
    ref = [(i, part) for i, word in enumerate(reference) for part in _parts(word)]
    oth = [part for word in other for part in _parts(word)]
    n, m = len(ref), len(oth)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = ref[i - 1][1] == oth[j - 1]
            cost[i][j] = min(
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
                cost[i - 1][j - 1] + (0 if same else 1),
            )
    matched = [True] * len(reference)
    i, j = n, m
    while i > 0 or j > 0:
        same = i > 0 and j > 0 and ref[i - 1][1] == oth[j - 1]
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (0 if same else 1):
            if not same:
                matched[ref[i - 1][0]] = False
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            matched[ref[i - 1][0]] = False
            i -= 1
        else:
            j -= 1
    return matched


def ends_together(grammar_words: list[str], open_words: list[str]) -> bool:
    """Whether the open pass's last word is the grammar phrase's last word (spelling
    aside). A command fitted onto the start of a longer sentence fails this: the open
    pass heard the rest of the sentence after it."""
    if not grammar_words or not open_words:
        return False
    return _parts(grammar_words[-1])[-1] == _parts(open_words[-1])[-1]


def _parts(word: str) -> list[str]:
    return [part for part in word.replace("'", "").split("-") if part] or [word]


TWINS = {
    "thirteen": "thirty",
    "fourteen": "forty",
    "fifteen": "fifty",
    "sixteen": "sixty",
    "seventeen": "seventy",
    "eighteen": "eighty",
    "nineteen": "ninety",
}
"""Numbers the recognizer confuses: before "minutes" the N of "-teen" is all that tells
them apart, and it merges into the M (BENCHMARKS.md, "-teen or -ty")."""


def longer_twins(grammar_words: list[str], open_words: list[str]) -> list[str]:
    """The grammar's words, with each "-teen" the open pass heard as its "-ty" twin, at
    the same place, read as the "-ty": when the passes disagree, the longer duration
    wins, so a misheard number never shortens a pause below what was asked."""
    out = list(grammar_words)
    matcher = SequenceMatcher(a=grammar_words, b=open_words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace" or i2 - i1 != j2 - j1:
            continue
        for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
            if TWINS.get(grammar_words[i]) == open_words[j]:
                out[i] = open_words[j]
    return out


def decide(
    grammar_text: str,
    open_text: str,
    intents: IntentSet,
    allowed: Collection[str],
    tuning: Tuning,
    evidence: Mapping[str, float] | None = None,
) -> Verdict:
    """Accept or reject, from the grammar pass's whole phrase and the open pass's words.

    ``evidence`` (the engine's acoustic scores) is passed through to the verdict's
    scores; its ``score_gap`` lets a phrase the open pass half heard through (at least
    ``Tuning.sound_agreement`` of the words) count when the grammar's path sounds no
    worse (``Tuning.max_gap``). Without it, only ``min_agreement`` counts.
    """
    verdict = _decide(grammar_text, open_text, intents, allowed, tuning, evidence or {})
    if evidence:
        merged = {**evidence, **verdict.scores}
        verdict = replace(verdict, scores=MappingProxyType(merged))
    return verdict


def _decide(
    grammar_text: str,
    open_text: str,
    intents: IntentSet,
    allowed: Collection[str],
    tuning: Tuning,
    evidence: Mapping[str, float],
) -> Verdict:
    grammar_words, open_words = grammar_text.split(), open_text.split()
    open_match = intents.match(open_text, allowed) if open_words else None
    grammar_match = intents.match(grammar_text, allowed) if grammar_words else None
    same_intent = (
        open_match is not None
        and grammar_match is not None
        and open_match.intent == grammar_match.intent
    )
    if same_intent:
        longer = longer_twins(grammar_words, open_words)
        if longer != grammar_words:
            found = intents.match(" ".join(longer), allowed)
            if found is not None and grammar_match is not None and (
                found.intent == grammar_match.intent
            ):
                grammar_words, grammar_match = longer, found
    if open_match is not None and not same_intent:
        marks = align(open_words, grammar_words)
        agreement = sum(marks) / max(len(marks), len(grammar_words))
        return Verdict(
            text=open_text,
            accepted=True,
            confidence=0.5 + 0.5 * agreement,
            word_confidence=tuple(1.0 if ok else 0.5 for ok in marks),
            match=open_match,
            source="open",
            scores=MappingProxyType(
                {"agreement": agreement, "open_matched": 1.0, "grammar_matched": float(
                    grammar_match is not None and grammar_match.intent == open_match.intent
                )}
            ),
        )
    if grammar_match is None:
        return Verdict(
            text=grammar_text,
            accepted=False,
            confidence=0.0,
            word_confidence=tuple(0.0 for _ in grammar_words),
            reason="no whole phrase heard" if not grammar_words else "no intent matches",
            scores=MappingProxyType({"agreement": 0.0, "open_matched": 0.0}),
        )
    marks = align(grammar_words, open_words)
    agreement = sum(marks) / max(len(marks), len(open_words))
    gap = evidence.get("score_gap")
    floor = tuning.sound_agreement
    by_sound = (floor is not None and gap is not None and gap <= tuning.max_gap
                and agreement >= floor and ends_together(grammar_words, open_words))  # fmt: skip
    accepted = same_intent or agreement >= tuning.min_agreement or by_sound
    return Verdict(
        text=grammar_match.text,
        accepted=accepted,
        confidence=0.5 + 0.5 * agreement if same_intent else agreement,
        word_confidence=tuple(1.0 if ok else (0.5 if same_intent else 0.0) for ok in marks),
        reason="" if accepted else f"open pass heard only {agreement:.0%} of the phrase",
        match=grammar_match if accepted else None,
        scores=MappingProxyType(
            {"agreement": agreement, "open_matched": float(same_intent), "grammar_matched": 1.0}
        ),
    )
