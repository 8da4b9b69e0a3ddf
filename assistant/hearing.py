"""Hearing for the live loop: endpointing, then the grammar recognizer, then the matcher.

Each utterance the VAD cuts from the stream is decoded against the intents live at
that moment (all of them while idle, the step's replies and the global ones during
a practice, only the pause while Haven speaks) and matched to an intent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .app import Heard
from .audio import AudioChunk
from .intents import IntentSet, strip_wake
from .safety import SafetyGate
from .stt.base import Recognizer
from .vad import Endpointer, VadConfig

_LOG = logging.getLogger(__name__)


class GrammarHearing:
    """VAD + grammar recognizer + hassil matcher. Used from the listening thread only."""

    def __init__(
        self,
        recognizer: Recognizer,
        intents: IntentSet,
        safety: SafetyGate,
        wake_name: str,
        vad: VadConfig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._recognizer = recognizer
        self._intents = intents
        self._safety = safety
        self._wake_name = wake_name
        self._vad = vad or VadConfig()
        self._endpointer = Endpointer(self._vad)
        self._monotonic = monotonic

    def reset(self) -> None:
        """Forget any utterance in progress."""
        self._endpointer = Endpointer(self._vad)

    def feed(
        self, chunk: AudioChunk, allowed: frozenset[str], expected: frozenset[str] = frozenset()
    ) -> list[Heard]:
        """Take one chunk; decide each utterance that ended in it (``expected`` unused)."""
        heard = []
        for utterance in self._endpointer.feed(chunk):
            chunk_end = chunk.timestamp + chunk.seconds
            end_of_speech = self._monotonic() - max(0.0, chunk_end - utterance.speech_end)
            result = self._recognizer.decode(utterance.samples, allowed)
            text, _ = strip_wake(result.heard, self._wake_name)
            crisis = bool(result.open_text) and self._safety.is_crisis(result.open_text)
            match = self._intents.match(text, allowed) if text else None
            _LOG.info("heard %r -> %s (%s)", result.text, match and match.intent, result.reason)
            heard.append(Heard(result.text, match, end_of_speech, self._monotonic(), crisis))
        return heard
