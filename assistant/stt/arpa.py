"""A small ARPA n-gram language model: the commands, with ordinary English as the way out.

A closed grammar must return some command for any speech. This model instead lets
the decoder say "ordinary words" too: command phrases get trigram probabilities,
and every context backs off to a unigram distribution that mixes the commands'
words with a few thousand common English words. Ordinary talk then decodes as
ordinary words, which match no intent, while a command's own path stays cheapest
for a command. ``backoff`` and ``background_weight`` trade one against the other.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

_START, _END = "<s>", "</s>"
_FLOOR = 1e-12


def command_lm(
    sentences: Iterable[tuple[str, str]],
    background: Mapping[str, float],
    *,
    order: int = 3,
    backoff: float = 0.02,
    background_weight: float = 0.02,
) -> str:
    """ARPA text for (intent, sentence) pairs plus a background unigram distribution.

    Each intent gets the same total weight however many phrasings it has, so an
    intent with thousands of variants does not crowd out one with a handful.
    ``backoff`` is the probability mass every seen context leaves for unseen words;
    ``background_weight`` is the share of the unigram mass given to ``background``.
    """
    pairs = [(intent, text.split()) for intent, text in sentences]
    per_intent = Counter(intent for intent, _ in pairs)
    counts: list[defaultdict[tuple[str, ...], float]] = [
        defaultdict(float) for _ in range(order + 1)
    ]
    for intent, words in pairs:
        weight = 1.0 / per_intent[intent]
        tokens = [_START, *words, _END]
        for n in range(1, order + 1):
            for i in range(len(tokens) - n + 1):
                gram = tuple(tokens[i : i + n])
                if gram != (_START,):
                    counts[n][gram] += weight
    total = sum(counts[1].values()) or 1.0
    bg_total = sum(background.values()) or 1.0
    vocab = {g[0] for g in counts[1]} | set(background) | {_END}
    probs: list[dict[tuple[str, ...], float]] = [{}]
    unigram: dict[tuple[str, ...], float] = {
        (w,): (1 - background_weight) * counts[1].get((w,), 0.0) / total
        + background_weight * background.get(w, 0.0) / bg_total
        for w in vocab
    }
    unigram[(_START,)] = 0.0
    probs.append(unigram)
    for n in range(2, order + 1):
        by_context: defaultdict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
        for gram, count in counts[n].items():
            by_context[gram[:-1]][gram[-1]] = count
        level: dict[tuple[str, ...], float] = {}
        for context, nexts in by_context.items():
            mass = sum(nexts.values())
            for word, count in nexts.items():
                level[(*context, word)] = (1 - backoff) * count / mass
        probs.append(level)
    weights: list[dict[tuple[str, ...], float]] = [{}]
    for n in range(1, order):
        followers: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
        for gram in probs[n + 1]:
            followers[gram[:-1]].append(gram[-1])
        level_weights: dict[tuple[str, ...], float] = {}
        for context, words in followers.items():
            seen = sum(probs[n + 1][(*context, w)] for w in words)
            lower = sum(_prob(probs, weights, (*context[1:], w)) for w in words)
            level_weights[context] = (1 - seen) / max(_FLOOR, 1 - lower)
        weights.append(level_weights)
    return _write(probs, weights, order)


def _prob(
    probs: list[dict[tuple[str, ...], float]],
    weights: list[dict[tuple[str, ...], float]],
    gram: tuple[str, ...],
) -> float:
    """Backed-off probability of ``gram`` from the levels built so far."""
    n = len(gram)
    if n == 1:
        return probs[1].get(gram, 0.0)
    if n < len(probs) and gram in probs[n]:
        return probs[n][gram]
    weight = weights[n - 1].get(gram[:-1], 1.0) if n - 1 < len(weights) else 1.0
    return weight * _prob(probs, weights, gram[1:])


def _write(
    probs: list[dict[tuple[str, ...], float]],
    weights: list[dict[tuple[str, ...], float]],
    order: int,
) -> str:
    lines = ["\\data\\"]
    lines += [f"ngram {n}={len(probs[n])}" for n in range(1, order + 1)]
    for n in range(1, order + 1):
        lines += ["", f"\\{n}-grams:"]
        for gram, p in sorted(probs[n].items()):
            logp = -99.0 if p <= 0 else math.log10(p)
            line = f"{logp:.5f} {' '.join(gram)}"
            if n < order and n < len(weights) and gram in weights[n]:
                line += f" {math.log10(max(weights[n][gram], _FLOOR)):.5f}"
            lines.append(line)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)
