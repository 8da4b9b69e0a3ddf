"""The recognizer protocol and the result every engine returns.

A recognizer decodes one utterance (16 kHz mono int16, cut by the VAD) against the
phrases of the intents allowed at that moment and says whether it heard one of them.
The result keeps what a later verifier (a learned detector, issue #7) needs to
overrule or confirm the decision: the text, an overall confidence, per-word scores
and timings, and the engine's own rejection evidence.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class WordScore:
    """One recognized word."""

    word: str
    """The word as the engine spells it."""
    start: float
    """Start within the utterance (seconds)."""
    end: float
    """End within the utterance (seconds)."""
    confidence: float
    """Engine confidence in this word, 0 to 1."""


@dataclass(frozen=True)
class Recognition:
    """What a recognizer made of one utterance."""

    text: str
    """Best in-grammar word sequence ("" when nothing in-grammar was found)."""
    accepted: bool
    """True when the engine's rejection gate let ``text`` through as a command."""
    confidence: float
    """Overall confidence that ``text`` was said, 0 to 1."""
    words: tuple[WordScore, ...] = ()
    """Per-word scores and timings of ``text``."""
    engine: str = ""
    """Which engine decoded it ("pocketsphinx", "vosk")."""
    decode_ms: float = 0.0
    """Wall-clock decoding time in milliseconds."""
    audio_seconds: float = 0.0
    """Length of the decoded audio."""
    open_text: str = ""
    """What an open (non-grammar) pass heard, when the engine ran one."""
    reason: str = ""
    """Why it was rejected, in a few words ("" when accepted)."""
    scores: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """Engine-specific evidence (score ratios, coverage) for logging and a verifier."""

    @property
    def heard(self) -> str:
        """The accepted text, or "" when rejected."""
        return self.text if self.accepted else ""


@runtime_checkable
class Recognizer(Protocol):
    """A speech recognizer bound to one IntentSet, used as a context manager.

    ``decode`` may be called many times with different ``allowed`` sets; engines
    cache one grammar per set. Not thread-safe: one thread decodes at a time.
    """

    @property
    def name(self) -> str:
        """Engine name."""
        ...

    def decode(self, samples: np.ndarray, allowed: Collection[str]) -> Recognition:
        """Decode one utterance of 16 kHz mono int16 samples against ``allowed`` intents."""
        ...

    def close(self) -> None:
        """Free the engine's native resources."""
        ...

    def __enter__(self) -> Recognizer: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
