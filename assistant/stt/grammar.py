"""Recognition grammars generated from the intents' hassil templates.

One :class:`Grammar` holds every phrase a set of intents accepts, with number ranges
kept as slot tokens (``{minutes}``) so they are not multiplied out. From it come a
minimal word graph (pocketsphinx FSG, or JSGF text), training sentences for a
command language model, and Vosk's JSON phrase list.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hassil.sample import sample_intents
from unicode_rbnf import RbnfEngine

from ..intents import IntentSet, normalize
from .wordgraph import WordGraph

_LOG = logging.getLogger(__name__)

_SLOT = re.compile(r"^\{([^}:]+)(?::[^}]*)?\}$")


@dataclass(frozen=True)
class Phrase:
    """One accepted word sequence."""

    intent: str
    """The intent it expresses."""
    words: tuple[str, ...]
    """Lower-case words; a ``{list}`` token stands for any value of a number range."""


@dataclass(frozen=True)
class Grammar:
    """All phrases of a set of intents."""

    intents: frozenset[str]
    """The intents included."""
    phrases: tuple[Phrase, ...]
    """Every phrase, ranges as slot tokens."""
    slots: Mapping[str, tuple[tuple[str, ...], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Slot token -> the word sequences of each value ("{minutes}" -> ("forty-five",) ...)."""

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word any phrase can use (slot values included)."""
        words = {w for p in self.phrases for w in p.words if w not in self.slots}
        words.update(w for seqs in self.slots.values() for seq in seqs for w in seq)
        return frozenset(words)

    def without_words(self, words: Collection[str]) -> Grammar:
        """The grammar minus every phrase using one of ``words`` (unpronounceable ones)."""
        bad = set(words)
        if not bad:
            return self
        slots = {
            name: tuple(seq for seq in seqs if not bad.intersection(seq))
            for name, seqs in self.slots.items()
        }
        phrases = tuple(
            p
            for p in self.phrases
            if not bad.intersection(p.words)
            and all(slots[w] for w in p.words if w in slots)
        )
        return Grammar(self.intents, phrases, MappingProxyType(slots))

    def word_graph(self) -> WordGraph:
        """The minimal word graph accepting exactly the phrases."""
        return WordGraph.from_phrases((p.words for p in self.phrases), self.slots)

    def to_jsgf(self, name: str = "haven") -> str:
        """A JSGF grammar accepting exactly the phrases."""
        return self.word_graph().to_jsgf(name)

    def sentences(self, values_per_slot: int = 3) -> Iterator[tuple[str, str]]:
        """(intent, text) for every phrase, each slot filled with a few values in turn.

        Values rotate across phrases so that every value appears somewhere; the
        output suits n-gram counting and Vosk's phrase list, not exact coverage.
        """
        turn = 0
        for phrase in self.phrases:
            slot_words = [w for w in phrase.words if w in self.slots]
            if not slot_words:
                yield phrase.intent, " ".join(phrase.words)
                continue
            for _ in range(values_per_slot):
                out: list[str] = []
                for word in phrase.words:
                    if word in self.slots:
                        values = self.slots[word]
                        out.extend(values[turn % len(values)])
                        turn += 7
                    else:
                        out.append(word)
                yield phrase.intent, " ".join(out)


def build_grammar(
    intents: IntentSet,
    allowed: Collection[str] | None = None,
    max_per_intent: int | None = None,
) -> Grammar:
    """The grammar of ``allowed`` intents (all when None), from their templates."""
    names = set(intents.names if allowed is None else allowed)
    unknown = names - set(intents.names)
    if unknown:
        _LOG.warning("grammar: no such intent(s): %s", ", ".join(sorted(unknown)))
        names -= unknown
    phrases: dict[tuple[str, ...], Phrase] = {}
    slot_names: set[str] = set()
    for intent, text in sample_intents(
        intents.hassil,
        intent_names=names,
        max_sentences_per_intent=max_per_intent,
        language=intents.language,
        expand_ranges=False,
    ):
        words: list[str] = []
        for token in text.split():
            match = _SLOT.match(token)
            if match:
                slot_names.add(match.group(1))
                words.append("{" + match.group(1) + "}")
            else:
                words.extend(normalize(token).split())
        if words and tuple(words) not in phrases:
            phrases[tuple(words)] = Phrase(intent, tuple(words))
    slots = {"{" + name + "}": _range_words(intents, name) for name in sorted(slot_names)}
    grammar = Grammar(frozenset(names), tuple(phrases.values()), MappingProxyType(slots))
    empty = [name for name, seqs in slots.items() if not seqs]
    return grammar.without_words(empty) if empty else grammar


def vosk_phrase_list(grammar: Grammar, unknown: str | None = "[unk]") -> str:
    """Vosk's grammar: a JSON list of phrases, plus the unknown-word token if given."""
    texts = sorted({text for _, text in grammar.sentences()})
    if unknown:
        texts.append(unknown)
    return json.dumps(texts, ensure_ascii=False)


def _range_words(intents: IntentSet, name: str) -> tuple[tuple[str, ...], ...]:
    """Spoken words of each value of a number range list, as hassil reads them back."""
    slot_list = intents.hassil.slot_lists.get(name)
    start, stop, step = (
        getattr(slot_list, "start", None),
        getattr(slot_list, "stop", None),
        getattr(slot_list, "step", 1),
    )
    if not isinstance(start, int) or not isinstance(stop, int):
        _LOG.warning("grammar: {%s} is not a number range; phrases using it are left out", name)
        return ()
    engine = RbnfEngine.for_language(intents.language)
    out = []
    for value in range(start, stop + 1, step or 1):
        text = engine.format_number(value).text
        out.append(tuple(normalize(text).split()))
    return tuple(out)
