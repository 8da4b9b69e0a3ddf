"""The embedded default recognizer: pocketsphinx with the English model its wheel ships.

Each utterance is decoded twice with one acoustic model (see ``decide.py`` for how
the two answers are combined):

- **grammar pass**: a finite-state grammar built from the allowed intents' phrases
  (a minimal word graph, so tens of thousands of phrasings stay small). It says
  *which* phrase was most likely said, if any was.
- **open pass**: an n-gram model of the same phrases whose every context can back
  off to a few thousand common English words (``arpa.py``). Ordinary talk decodes
  as ordinary words here, so it tells *whether* a command was said at all.

Grammars are built once per allowed set and cached (least recently used first out).
Nothing is downloaded: the model, dictionary and background vocabulary come from the
pocketsphinx wheel.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

import numpy as np

from ..errors import ModelError
from ..intents import IntentSet
from .arpa import command_lm
from .base import Recognition, WordScore
from .decide import Tuning, decide
from .denoise import wiener
from .grammar import Grammar, build_grammar
from .lexicon import Lexicon, Pronunciations
from .wordgraph import WordGraph

_LOG = logging.getLogger(__name__)

ADAPTED_DIR = "sphinx"
"""``haven adapt`` writes its model to ``models/sphinx/``; the recognizer loads it when present."""
ADAPTED_FILES = {"means": "mean"}
"""File of the adapted model -> the pocketsphinx option that loads it over the wheel's."""
FRAME_RATE = 100
"""pocketsphinx frames per second."""
_OOV = -500_000_000


@dataclass(frozen=True)
class SphinxModel:
    """Where the acoustic model, dictionary and general language model are."""

    hmm: Path
    """Acoustic model folder."""
    dictionary: Path
    """Pronouncing dictionary."""
    lm: Path
    """General English n-gram model (for the background vocabulary)."""
    adapted: Path | None = None
    """Folder of the MAP-adapted means (``haven adapt``) that replace the wheel's, if any."""

    @classmethod
    def bundled(cls, models_dir: Path | None = None, adapted: bool = True) -> SphinxModel:
        """The English model the pocketsphinx wheel ships, with Haven's adaptation of it
        (``models_dir/sphinx/``, default ``models/``) when ``adapted`` and present."""
        try:
            import pocketsphinx
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ModelError("pocketsphinx is not installed: pip install pocketsphinx") from exc
        root = Path(pocketsphinx.get_model_path()) / "en-us"
        model = cls(root / "en-us", root / "cmudict-en-us.dict", root / "en-us.lm.bin")
        for path in (model.hmm, model.dictionary, model.lm):
            if not path.exists():
                raise ModelError(f"pocketsphinx model file missing: {path}; reinstall pocketsphinx")
        if adapted:
            from ..library import default_models_dir

            folder = (models_dir or default_models_dir()) / ADAPTED_DIR
            if any((folder / name).exists() for name in ADAPTED_FILES):
                model = replace(model, adapted=folder)
        return model


def open_decoder(
    model: SphinxModel, front_end: Mapping[str, Any], **options: Any
) -> tuple[Any, Any]:
    """A pocketsphinx (config, decoder) on ``model``, its adaptation loaded, with the
    front-end settings set on the decoder (the model's ``feat.params`` would override
    them in the Config). ``options`` go to the Config (``lm``, ``mfclogdir``...)."""
    from pocketsphinx import Config, Decoder

    config = Config(hmm=str(model.hmm), dict=str(model.dictionary), logfn="/dev/null", **options)
    if model.adapted is not None:
        for name, option in ADAPTED_FILES.items():
            path = model.adapted / name
            _check_adapted(path, model.hmm / name)
            config[option] = str(path)
    decoder = Decoder(config)
    for key, value in front_end.items():
        decoder.config[key] = value
    decoder.reinit_feat()
    return config, decoder


def _check_adapted(path: Path, wheel: Path) -> None:
    """An adapted file must be laid out like the wheel's (same size, same dimensions):
    pocketsphinx ends the process, rather than raising, on a parameter file it cannot read."""
    fix = "remake it with `haven adapt` or delete the folder to use the plain model"
    try:
        size, expected = path.stat().st_size, wheel.stat().st_size
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: the adapted model is incomplete; {fix}") from None
    if size != expected or _layout(path) != _layout(wheel):
        raise ModelError(f"{path} does not fit pocketsphinx's model {wheel.parent}; {fix}")


def _layout(path: Path) -> bytes | None:
    """A sphinx3 Gaussian file's header and dimensions, through the value count (None when
    it is not one): everything but the values themselves."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    end = head.find(b"endhdr\n")
    if not head.startswith(b"s3\n") or end < 0:
        return None
    dims = end + len(b"endhdr\n") + 4  # after the byte-order magic
    if len(head) < dims + 12:
        return None
    streams = int.from_bytes(head[dims + 4 : dims + 8], "little")
    stop = dims + 12 + 4 * streams + 4
    return head[:stop] if 0 < streams <= 16 and len(head) >= stop else None


@dataclass(frozen=True)
class _Searches:
    """The two searches and the grammar of one allowed set."""

    grammar: Grammar
    """Phrases of the allowed intents (unpronounceable ones removed)."""
    graph: WordGraph
    """The grammar's word graph, to check a grammar result is a whole phrase."""
    fsg: str
    """Name of the grammar search."""
    lm: str
    """Name of the open search."""


@dataclass
class _Pass:
    text: str = ""
    words: list[tuple[str, int, int]] = field(default_factory=list)
    ascore: float = 0.0
    """Acoustic log-likelihood (natural log) of the whole path, all frames."""
    frames: int = 0
    """Frames the path covers."""
    filler_frames: int = 0
    """Frames spent in silence or filler ("[NOISE]", "[SPEECH]"...)."""


_MIN_LOG = -745.0
"""ln of the smallest double: pocketsphinx reports segment scores as probabilities."""


def _log(probability: float) -> float:
    return math.log(probability) if probability > 0 else _MIN_LOG


def _evidence(grammar_pass: _Pass, open_pass: _Pass) -> dict[str, float]:
    """Acoustic evidence for the decision: how much worse the grammar's path scores
    than the open pass's, per frame, and how much of each is silence or filler."""
    frames = max(1, grammar_pass.frames, open_pass.frames)
    found = {
        "grammar_filler": grammar_pass.filler_frames / max(1, grammar_pass.frames),
        "open_filler": open_pass.filler_frames / max(1, open_pass.frames),
        "open_words": float(len(open_pass.words)),
    }
    if grammar_pass.frames and open_pass.frames:
        found["score_gap"] = (open_pass.ascore - grammar_pass.ascore) / frames
    return found


class PocketsphinxRecognizer:
    """Grammar decoding with an open-vocabulary check, behind the Recognizer protocol."""

    def __init__(
        self,
        intents: IntentSet,
        model: SphinxModel | None = None,
        tuning: Tuning | None = None,
        cache_size: int = 8,
    ) -> None:
        from pocketsphinx import NGramModel

        self.intents = intents
        """The intents whose phrases are recognized."""
        self.tuning = tuning or Tuning()
        """Rejection and front-end knobs."""
        self.model = model or SphinxModel.bundled()
        """Model files in use."""
        self.missing_words: set[str] = set()
        """Grammar words that could not be pronounced (their phrases are left out)."""
        self._cache_size = max(1, cache_size)
        self._cache: OrderedDict[frozenset[str], _Searches] = OrderedDict()
        self._serial = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="haven-sphinx-")
        self._lexicon = Lexicon.load(self.model.dictionary)
        try:
            config, self._decoder = open_decoder(self.model, self.tuning.front_end, lm=None)
            self._config = config
            general = NGramModel(config, self._decoder.logmath, str(self.model.lm))
        except ModelError:
            self._tmp.cleanup()
            raise
        except (RuntimeError, ValueError) as exc:
            self._tmp.cleanup()
            if self.model.adapted is not None:
                raise ModelError(
                    f"pocketsphinx could not load the adapted model in {self.model.adapted}: "
                    f"{exc}; remake it with `haven adapt` or delete the folder to use the "
                    "plain model"
                ) from exc
            raise ModelError(f"pocketsphinx could not load its model: {exc}") from exc
        self._background = self._background_words(general, self.tuning.background_words)
        self._known_added: set[str] = set()
        self._rng_seed = 0

    @property
    def name(self) -> str:
        """Engine name."""
        return "pocketsphinx"

    def __enter__(self) -> PocketsphinxRecognizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the decoder and the temporary grammar files."""
        self._cache.clear()
        self._decoder = None
        self._tmp.cleanup()

    def grammar(self, allowed: Collection[str]) -> Grammar:
        """The grammar used for ``allowed`` (built on first use)."""
        return self._searches(allowed).grammar

    def decode(self, samples: np.ndarray, allowed: Collection[str]) -> Recognition:
        """Decode one utterance against the allowed intents' phrases."""
        if self._decoder is None:
            raise ModelError("this recognizer is closed")
        started = time.perf_counter()
        searches = self._searches(allowed)
        audio = self.condition(np.asarray(samples, dtype=np.int16))
        grammar_pass = self._run(searches.fsg, audio)
        open_pass = self._run(searches.lm, audio)
        whole = bool(grammar_pass.text) and searches.graph.accepts(grammar_pass.text.split())
        verdict = decide(
            grammar_pass.text if whole else "",
            open_pass.text,
            self.intents,
            searches.grammar.intents,
            self.tuning,
            _evidence(grammar_pass, open_pass),
        )
        chosen = open_pass if verdict.source == "open" else grammar_pass
        words = tuple(
            WordScore(
                word,
                start / FRAME_RATE,
                (end + 1) / FRAME_RATE,
                verdict.word_confidence[i] if i < len(verdict.word_confidence) else 0.0,
            )
            for i, (word, start, end) in enumerate(chosen.words)
        )
        elapsed = (time.perf_counter() - started) * 1000.0
        return Recognition(
            text=verdict.text,
            accepted=verdict.accepted,
            confidence=verdict.confidence,
            words=words,
            engine=self.name,
            decode_ms=elapsed,
            audio_seconds=len(samples) / 16000.0,
            open_text=open_pass.text,
            reason=verdict.reason,
            scores=MappingProxyType(dict(verdict.scores)),
        )

    def condition(self, samples: np.ndarray) -> np.ndarray:
        """Reduce steady noise, then add a fixed, quiet noise floor (digital zeros upset
        the front end)."""
        if self.tuning.denoise is not None and len(samples):
            samples = wiener(samples, self.tuning.denoise)
        level = self.tuning.noise_floor
        if level <= 0 or not len(samples):
            return samples
        rng = np.random.default_rng(len(samples))
        noisy = samples.astype(np.float64) + rng.normal(0.0, level, len(samples))
        return np.clip(np.round(noisy), -32768, 32767).astype(np.int16)

    def _run(self, search: str, audio: np.ndarray) -> _Pass:
        decoder = self._decoder
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(audio.tobytes(), no_search=False, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return _Pass()
        segments = [seg for seg in (decoder.seg() or []) if seg.word != "</s>"]
        words = [
            (seg.word.split("(")[0], seg.start_frame, seg.end_frame)
            for seg in segments
            if not seg.word.startswith(("<", "[", "+"))
        ]
        ascore = sum(_log(seg.ascore) for seg in segments)
        frames = sum(seg.end_frame - seg.start_frame + 1 for seg in segments)
        fillers = frames - sum(e - s + 1 for _, s, e in words)
        return _Pass(" ".join(hyp.hypstr.split()), words, ascore, frames, fillers)

    def _searches(self, allowed: Collection[str]) -> _Searches:
        key = frozenset(allowed)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        built = self._build(key)
        self._cache[key] = built
        while len(self._cache) > self._cache_size:
            _, old = self._cache.popitem(last=False)
            for name in (old.fsg, old.lm):
                try:
                    self._decoder.remove_search(name)
                except (RuntimeError, KeyError):  # pragma: no cover - already gone
                    _LOG.debug("search %s was already removed", name)
        return built

    def _build(self, allowed: frozenset[str]) -> _Searches:
        from pocketsphinx import NGramModel

        started = time.perf_counter()
        grammar = build_grammar(self.intents, allowed)
        prons = self._lexicon.resolve(grammar.vocabulary)
        self._add_words(prons)
        if prons.missing:
            self.missing_words.update(prons.missing)
            grammar = grammar.without_words(prons.missing)
        if not grammar.phrases:
            raise ModelError(
                "no phrase of " + ", ".join(sorted(allowed)) + " can be pronounced; "
                "check the words of their templates"
            )
        graph = grammar.word_graph()
        self._serial += 1
        fsg_name, lm_name = f"fsg{self._serial}", f"lm{self._serial}"
        transitions = [
            (a.src, a.dst, 1.0, a.word) if a.word is not None else (a.src, a.dst, 1.0)
            for a in graph.arcs
        ]
        arpa_path = Path(self._tmp.name) / f"{lm_name}.arpa"
        arpa_path.write_text(
            command_lm(
                grammar.sentences(),
                self._background,
                backoff=self.tuning.backoff,
                background_weight=self.tuning.background_weight,
            ),
            encoding="utf-8",
        )
        try:
            fsg = self._decoder.create_fsg(fsg_name, graph.start, graph.final, transitions)
            self._decoder.add_fsg(fsg_name, fsg)
            lm = NGramModel(self._config, self._decoder.logmath, str(arpa_path))
            self._decoder.add_lm(lm_name, lm)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"pocketsphinx rejected the generated grammar: {exc}") from exc
        _LOG.info(
            "grammar for %d intent(s): %d phrases, %d states, built in %.0f ms",
            len(grammar.intents),
            len(grammar.phrases),
            graph.states,
            (time.perf_counter() - started) * 1000,
        )
        return _Searches(grammar, graph, fsg_name, lm_name)

    def _add_words(self, prons: Pronunciations) -> None:
        new = [(w, p) for w, p in prons.added.items() if w not in self._known_added]
        for i, (word, phones) in enumerate(new):
            self._decoder.add_word(word, phones, i == len(new) - 1)
            self._known_added.add(word)

    def _background_words(self, general: Any, count: int) -> dict[str, float]:
        """The ``count`` most frequent dictionary words under the general model."""
        probs: dict[str, float] = {}
        for word in self._lexicon.words():
            logp = general.prob([word])
            if logp > _OOV:
                probs[word] = 1.0001 ** float(logp)
        top = sorted(probs.items(), key=lambda kv: kv[1], reverse=True)[:count]
        return dict(top)
