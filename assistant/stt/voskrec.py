"""The Vosk engine: a runtime grammar (JSON phrase list) per allowed set, word confidences on.

Vosk turns a phrase list into a small bigram model over the listed words, so it can
return a word sequence that is no listed phrase. A result is accepted only when it
is exactly one of the grammar's phrases, holds no unknown-word token, and every word's
confidence is at least ``confidence_floor``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

import numpy as np

from ..errors import ModelError
from ..intents import IntentSet
from ..models import supports_grammar, vosk_model_problems
from .base import Recognition, WordScore
from .grammar import Grammar, build_grammar, vosk_phrase_list
from .wordgraph import WordGraph

_LOG = logging.getLogger(__name__)

RATE = 16000
_UNKNOWN_TOKENS = ("[unk]", "<UNK>", "<unk>")


@dataclass(frozen=True)
class VoskTuning:
    """Knobs of the Vosk recognizer."""

    confidence_floor: float = 0.6
    """Every word of an accepted phrase must have at least this confidence."""
    command_end_s: float = 0.5
    """Trailing silence that ends a command (when Vosk's endpointer can be set)."""
    answer_end_s: float = 1.5
    """Trailing silence that ends an open answer."""
    max_utterance_s: float = 15.0
    """Longest utterance Vosk's endpointer lets through."""


@dataclass
class _Grammar:
    grammar: Grammar
    graph: WordGraph
    recognizer: Any


class VoskRecognizer:
    """Vosk grammar decoding behind the Recognizer protocol."""

    def __init__(
        self,
        intents: IntentSet,
        model_path: Path,
        tuning: VoskTuning | None = None,
        cache_size: int = 8,
    ) -> None:
        problems = vosk_model_problems(model_path)
        if problems:
            raise ModelError(
                f"{model_path} is not a Vosk model ({'; '.join(problems)}); "
                "install one with `haven models install ARCHIVE_OR_URL`"
            )
        if not supports_grammar(model_path):
            raise ModelError(
                f"{model_path} has a static graph (HCLG.fst) and cannot use runtime grammars; "
                "install a 'small' Vosk model with `haven models install ARCHIVE_OR_URL`"
            )
        try:
            import vosk
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ModelError("vosk is not installed: pip install vosk") from exc
        vosk.SetLogLevel(-1)
        self._vosk: Any = vosk
        self.intents = intents
        """The intents whose phrases are recognized."""
        self.tuning = tuning or VoskTuning()
        """Acceptance and endpointing knobs."""
        self.model_path = model_path
        """The model folder."""
        self.missing_words: set[str] = set()
        """Grammar words the model does not know (their phrases are left out)."""
        started = time.perf_counter()
        try:
            self._model: Any = vosk.Model(str(model_path))
        except Exception as exc:  # vosk raises a bare Exception when loading fails
            raise ModelError(f"Vosk could not load {model_path}: {exc}") from exc
        _LOG.info("loaded Vosk model %s in %.1f s", model_path, time.perf_counter() - started)
        self.unknown_token = next(
            (t for t in _UNKNOWN_TOKENS if self._model.vosk_model_find_word(t) >= 0), None
        )
        """The model's unknown-word token, if it has one (listed in every grammar)."""
        self._cache: OrderedDict[frozenset[str], _Grammar] = OrderedDict()
        self._cache_size = max(1, cache_size)
        self._end_s = self.tuning.command_end_s

    @property
    def name(self) -> str:
        """Engine name."""
        return "vosk"

    @property
    def supports_endpointer_delays(self) -> bool:
        """Whether this vosk build can change its endpointer delays (newer than 0.3.45)."""
        return hasattr(self._vosk.KaldiRecognizer, "SetEndpointerDelays")

    def set_answer_mode(self, open_answer: bool) -> bool:
        """Long trailing silence for open answers, short for commands; False if unsupported.

        Haven's own VAD cuts utterances either way; this only matters when Vosk's
        endpointer is used on a stream.
        """
        self._end_s = self.tuning.answer_end_s if open_answer else self.tuning.command_end_s
        if not self.supports_endpointer_delays:
            _LOG.debug("vosk has no SetEndpointerDelays; keeping the model's endpointer")
            return False
        for entry in self._cache.values():
            self._apply_delays(entry.recognizer)
        return True

    def __enter__(self) -> VoskRecognizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Free the recognizers and the model."""
        self._cache.clear()
        self._model = None

    def grammar(self, allowed: Collection[str]) -> Grammar:
        """The grammar used for ``allowed`` (built on first use)."""
        return self._entry(allowed).grammar

    def decode(self, samples: np.ndarray, allowed: Collection[str]) -> Recognition:
        """Decode one utterance against the allowed intents' phrases."""
        if self._model is None:
            raise ModelError("this recognizer is closed")
        started = time.perf_counter()
        entry = self._entry(allowed)
        rec = entry.recognizer
        rec.AcceptWaveform(np.asarray(samples, dtype="<i2").tobytes())
        raw = json.loads(rec.FinalResult())
        rec.Reset()
        result = self._judge(raw, entry)
        elapsed = (time.perf_counter() - started) * 1000.0
        return Recognition(
            text=result[0],
            accepted=result[1],
            confidence=result[2],
            words=result[3],
            engine=self.name,
            decode_ms=elapsed,
            audio_seconds=len(samples) / RATE,
            open_text=str(raw.get("text", "")),
            reason=result[4],
            scores=MappingProxyType({"min_word_confidence": result[2]}),
        )

    def _judge(
        self, raw: dict[str, Any], entry: _Grammar
    ) -> tuple[str, bool, float, tuple[WordScore, ...], str]:
        items = raw.get("result") or []
        words = tuple(
            WordScore(
                str(w.get("word", "")),
                float(w.get("start", 0.0)),
                float(w.get("end", 0.0)),
                float(w.get("conf", 0.0)),
            )
            for w in items
        )
        spoken = [w.word for w in words] or str(raw.get("text", "")).split()
        unknown = [w for w in spoken if w in _UNKNOWN_TOKENS]
        known = [w for w in spoken if w not in _UNKNOWN_TOKENS]
        text = " ".join(known)
        confidence = min((w.confidence for w in words), default=0.0 if not spoken else 1.0)
        if not known:
            return "", False, 0.0, words, "nothing in-grammar heard"
        if unknown:
            return text, False, 0.0, words, "unknown words heard"
        if not entry.graph.accepts(known):
            return text, False, confidence, words, "not one of the grammar's phrases"
        if confidence < self.tuning.confidence_floor:
            return text, False, confidence, words, f"word confidence {confidence:.2f} too low"
        if self.intents.match(text, entry.grammar.intents) is None:
            return text, False, confidence, words, "no intent matches"
        return text, True, confidence, words, ""

    def _entry(self, allowed: Collection[str]) -> _Grammar:
        key = frozenset(allowed)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        grammar = build_grammar(self.intents, key)
        missing = sorted(w for w in grammar.vocabulary if self._model.vosk_model_find_word(w) < 0)
        if missing:
            _LOG.warning("Vosk model lacks: %s (their phrases are left out)", ", ".join(missing))
            self.missing_words.update(missing)
            grammar = grammar.without_words(missing)
        if not grammar.phrases:
            raise ModelError(
                "the Vosk model knows no phrase of " + ", ".join(sorted(key)) + "; "
                "is it the right language?"
            )
        phrases = vosk_phrase_list(grammar, self.unknown_token)
        rec = self._vosk.KaldiRecognizer(self._model, RATE, phrases)
        rec.SetWords(True)
        self._apply_delays(rec)
        entry = _Grammar(grammar, grammar.word_graph(), rec)
        self._cache[key] = entry
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return entry

    def _apply_delays(self, rec: Any) -> None:
        if hasattr(rec, "SetEndpointerDelays"):
            rec.SetEndpointerDelays(0.0, self._end_s, self.tuning.max_utterance_s)
