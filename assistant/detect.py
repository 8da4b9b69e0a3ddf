"""``haven detect``: run recordings through the live loop's recognizer and matcher.

Each file (or each utterance of a raw PCM stream) goes through the same steps as
live audio: the energy VAD finds the speech, the recognizer decodes it against the
allowed intents (by default every intent that is live while Haven is idle), the wake
name is stripped and hassil matches the text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .app import ALONE
from .audio import RATE, AudioChunk, read_wav
from .intents import IntentSet, strip_wake
from .library import GLOBAL_INTENTS, Library
from .stt.base import Recognition, Recognizer
from .vad import Endpointer, Utterance, VadConfig, speech_span

if TYPE_CHECKING:
    from .app import Hearing


@dataclass(frozen=True)
class Detection:
    """What Haven understood from one recording or utterance."""

    file: str
    """The file name ("-" for standard input)."""
    text: str
    """The accepted text ("" when nothing was accepted)."""
    intent: str | None
    """The intent understood, or None."""
    slots: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Slot values of the intent."""
    confidence: float = 0.0
    """The recognizer's confidence, 0 to 1."""
    ms: float = 0.0
    """Decoding time in milliseconds."""
    start: float = 0.0
    """Where the speech started in the file or stream (seconds)."""
    recognition: Recognition | None = None
    """The recognizer's full result (None when the VAD found no speech)."""

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` object: file, text, intent, slots, confidence, ms."""
        return {
            "file": self.file,
            "text": self.text,
            "intent": self.intent,
            "slots": dict(self.slots),
            "confidence": round(self.confidence, 3),
            "ms": round(self.ms, 1),
        }


def top_level_intents(library: Library) -> frozenset[str]:
    """Intents live while Haven is idle: the global ones and every practice trigger."""
    return frozenset(GLOBAL_INTENTS) | frozenset(library.trigger_map())


def detect_utterance(
    recognizer: Recognizer,
    intents: IntentSet,
    samples: np.ndarray,
    allowed: Collection[str],
    label: str,
    wake_name: str = "Haven",
    start: float = 0.0,
) -> Detection:
    """Decode and match one utterance (already cut by the VAD)."""
    result = recognizer.decode(samples, allowed)
    text, _ = strip_wake(result.heard, wake_name)
    match = intents.match(text, allowed) if text else None
    return Detection(
        file=label,
        text=text if match else "",
        intent=match.intent if match else None,
        slots=MappingProxyType(dict(match.slots)) if match else MappingProxyType({}),
        confidence=result.confidence,
        ms=result.decode_ms,
        start=start,
        recognition=result,
    )


def detect_file(
    recognizer: Recognizer,
    intents: IntentSet,
    path: Path,
    allowed: Collection[str],
    wake_name: str = "Haven",
    vad: VadConfig | None = None,
) -> Detection:
    """One recording, all of its speech taken as one utterance."""
    samples = read_wav(path)
    span = speech_span(samples, vad)
    if span is None:
        return Detection(file=str(path), text="", intent=None)
    return detect_utterance(
        recognizer, intents, span.samples, allowed, str(path), wake_name, span.speech_start
    )


def detect_stream(
    recognizer: Recognizer,
    intents: IntentSet,
    chunks: Iterable[AudioChunk],
    allowed: Collection[str],
    label: str = "-",
    wake_name: str = "Haven",
    vad: VadConfig | None = None,
) -> Iterator[Detection]:
    """Every utterance of a stream, each decided as soon as its speech ends."""
    endpointer = Endpointer(vad)

    def decide(utterance: Utterance) -> Detection:
        return detect_utterance(
            recognizer,
            intents,
            utterance.samples,
            allowed,
            label,
            wake_name,
            utterance.speech_start,
        )

    for chunk in chunks:
        for utterance in endpointer.feed(chunk):
            yield decide(utterance)
    last = endpointer.flush()
    if last is not None:
        yield decide(last)


@dataclass(frozen=True)
class Fired:
    """An intent the live listening fired on, somewhere in a stream."""

    file: str
    """The file name."""
    t: float
    """Seconds into the file where the speech that fired it ended."""
    intent: str
    """The intent."""
    slots: Mapping[str, Any]
    """Its slot values."""
    via: str
    """``wake`` (after the wake phrase, or in the window it opens) or ``armed``."""

    def to_json(self) -> dict[str, Any]:
        """The stable ``--stream`` object: file, t, intent, slots, via."""
        return {"file": self.file, "t": round(self.t, 2), "intent": self.intent,
                "slots": dict(self.slots), "via": self.via}  # fmt: skip


def listen_stream(
    hearing: Hearing, chunks: Iterable[AudioChunk], allowed: frozenset[str], label: str
) -> Iterator[Fired]:
    """Run the live listening over one continuous stream, with no practice running.

    Quiet room tone is put around the file, as a live microphone always has audio before
    and after an utterance: 2 s before (``t`` is still counted from the file's start), 1 s
    after (so the last utterance is closed).
    """
    hearing.reset()
    tone = np.random.default_rng(0).normal(0.0, 20.0, 3 * RATE).astype(np.int16)
    step = RATE * 30 // 1000
    lead = [AudioChunk(RATE, 2, 1, tone[i : i + step].tobytes()) for i in range(0, 2 * RATE, step)]
    tail = [AudioChunk(RATE, 2, 1, tone[i : i + step].tobytes())
            for i in range(2 * RATE, 3 * RATE, step)]  # fmt: skip
    offset = sum(c.seconds for c in lead)
    for chunk in chain(lead, chunks, tail):
        for heard in hearing.feed(chunk, allowed):
            if heard.match is None:
                continue
            via = "armed" if heard.via in ("armed", ALONE) else "wake"
            yield Fired(label, max(0.0, heard.at - offset), heard.match.intent,
                        MappingProxyType(dict(heard.match.slots)), via)  # fmt: skip
