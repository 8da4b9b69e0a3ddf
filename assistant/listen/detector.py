"""Trained detectors: loading them, and running them on a stream (pure numpy heads).

Three heads read the same speech embeddings:

- ``wake``: the wake phrase at the start of an utterance ("Haven, ...", "hey Haven ...");
  scored on every window ending 0.3-2.6 s after the start of speech, best one kept.
- ``armed``: the always-armed pause phrasings, with no wake phrase, even while Haven talks.
- ``reply``: the few step replies live without the wake phrase (multi-class).

The armed and reply heads decide once per utterance, on the windows ending just after the
end of speech (deciding at every frame fires far more often on ordinary talk).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np

from ..audio import AudioChunk, to_mono16k
from ..errors import ModelError
from .features import DIM, EmbeddingStream, SpeechEmbedder
from .manifest import TRAIN_HINT, detectors_dir, read_manifest
from .mlp import Mlp

_LOG = logging.getLogger(__name__)

Kind = Literal["wake", "armed", "reply"]
KINDS: tuple[Kind, ...] = ("armed", "wake", "reply")
FRAMES = 16
"""Embedding frames one window holds (about 2 s of audio)."""
END_SPAN = (0.05, 0.4)
"""Armed and reply heads: windows ending this long after the end of speech are scored."""
WAKE_SPAN = (0.3, 2.6)
"""Wake head: windows ending this long after the start of speech are scored."""
FORMAT = 1


@dataclass(frozen=True)
class Head:
    """One trained detector."""

    name: str
    """File stem (``wake``, ``pause``, ``reply``)."""
    kind: Kind
    """Which role it plays."""
    labels: tuple[str, ...]
    """Class names; ``labels[0]`` is always "none"."""
    mlp: Mlp
    """The weights."""
    threshold: float
    """Fire when the best non-"none" probability reaches this."""

    def best(self, windows: np.ndarray) -> tuple[str, float, int]:
        """(label, score, index of the window) of the strongest non-"none" class.

        ``windows`` are consecutive (80 ms apart); a class scores the lower of two
        neighbouring windows, best pair kept: a real phrase holds for several frames,
        a chance match rarely does.
        """
        if not len(windows):
            return self.labels[0], 0.0, -1
        probs = self.mlp.probabilities(windows)[:, 1:]
        if len(probs) >= 2:
            probs = np.minimum(probs[:-1], probs[1:])
            shift = 1
        else:
            shift = 0
        flat = int(np.argmax(probs))
        row, col = divmod(flat, probs.shape[1])
        return self.labels[col + 1], float(probs[row, col]), row + shift


def save_head(path: Path, head: Head) -> None:
    """Write a head as a small .npz (float32 weights, no pickles)."""
    m = head.mlp
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(
        tmp, format=np.int32(FORMAT), kind=np.str_(head.kind), labels=np.array(head.labels),
        threshold=np.float32(head.threshold), mean=m.mean, scale=m.scale, w1=m.w1, b1=m.b1,
        w2=m.w2, b2=m.b2,
    )
    tmp.replace(path)


def load_head(path: Path) -> Head:
    """Read a head written by ``save_head``; ModelError if missing, damaged or old."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ModelError(f"{path}: detector format {int(data['format'])} is too old; "
                                 "run `haven train`")
            kind = str(data["kind"])
            if kind not in KINDS:
                raise ModelError(f"{path}: unknown detector kind '{kind}'; run `haven train`")
            mlp = Mlp(*(np.asarray(data[k], dtype=np.float32)
                        for k in ("mean", "scale", "w1", "b1", "w2", "b2")))
            labels = tuple(str(x) for x in data["labels"])
            threshold = float(data["threshold"])
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: detector missing; {TRAIN_HINT}") from exc
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the detector ({exc}); {TRAIN_HINT}") from exc
    if mlp.w1.shape[0] != FRAMES * DIM or mlp.w2.shape[1] != len(labels):
        raise ModelError(f"{path}: detector shapes do not fit; run `haven train`")
    return Head(path.stem, kind, labels, mlp, threshold)


@dataclass(frozen=True)
class Detection:
    """A detector fired on one utterance."""

    kind: Kind
    """``armed`` (pause), ``wake`` or ``reply``."""
    label: str
    """``pause``, ``wake``, or the reply intent (``done``, ``yes``, ...)."""
    score: float
    """The head's probability for ``label``."""
    t: float
    """Stream time (s) of the end of the window that fired."""


def end_windows(stream: EmbeddingStream, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Windows the armed and reply heads score for speech ending at ``end``."""
    lo, hi = end + END_SPAN[0], end + END_SPAN[1]
    windows, ends = stream.windows(lo, hi, FRAMES)
    if not len(windows) and stream.latest_end >= end - 0.2:
        windows, ends = stream.windows(stream.latest_end, stream.latest_end, FRAMES)
    return windows, ends


def wake_windows(
    stream: EmbeddingStream, start: float, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """Windows the wake head scores for an utterance from ``start`` to ``end``."""
    hi = min(start + WAKE_SPAN[1], end + END_SPAN[1])
    return stream.windows(start + WAKE_SPAN[0], max(hi, start + WAKE_SPAN[0]), FRAMES)


class Detectors:
    """All trained heads over one embedding stream.

    Feed audio as it arrives (``feed``, from the audio thread); at the VAD's end of speech
    call ``decide`` (from any thread), after feeding audio up to about 0.4 s past the end of
    speech. A lock keeps ``feed``, ``decide`` and ``reset`` from overlapping. Times are the
    stream's own (``AudioChunk.timestamp``).
    """

    def __init__(
        self,
        heads: Sequence[Head],
        embedder: SpeechEmbedder | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> None:
        overrides = dict(thresholds or {})
        self.heads = tuple(
            replace(h, threshold=overrides[h.name]) if h.name in overrides else h for h in heads
        )
        """The heads, in file order (thresholds as trained unless overridden by name)."""
        self._embedder = embedder or SpeechEmbedder(threads=1)
        self._stream = EmbeddingStream(self._embedder)
        self._lock = threading.Lock()

    @classmethod
    def from_dir(
        cls, models_dir: Path, thresholds: Mapping[str, float] | None = None
    ) -> Detectors:
        """Load every head the manifest in ``models_dir/detectors`` lists.

        ``thresholds`` overrides trained thresholds by head name ("wake", "pause", "reply").
        """
        doc = read_manifest(models_dir)
        folder = detectors_dir(models_dir)
        heads = [load_head(folder / str(info["file"])) for info in doc["detectors"].values()]
        if not heads:
            raise ModelError(f"{folder}: the manifest lists no detectors; {TRAIN_HINT}")
        return cls(heads, thresholds=thresholds)

    def __enter__(self) -> Detectors:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget all audio (a new stream starts with the next chunk)."""
        with self._lock:
            self._stream = EmbeddingStream(self._embedder)

    @property
    def cpu_per_audio_second(self) -> float:
        """CPU seconds spent on features per second of audio fed (0.01 = 1% of a core)."""
        s = self._stream
        return s.cpu_seconds / s.audio_seconds if s.audio_seconds else 0.0

    @property
    def stream(self) -> EmbeddingStream:
        """The embedding stream (for benchmarks and tests)."""
        return self._stream

    def feed(self, chunk: AudioChunk) -> None:
        """Add audio; embeddings are computed every 80 ms."""
        samples = chunk.to_array()
        if chunk.rate != 16000 or chunk.channels != 1:
            samples = to_mono16k(samples, chunk.rate)
        with self._lock:
            self._stream.push(samples, chunk.timestamp)

    def scores(
        self, end_of_speech: float, start_of_speech: float | None = None
    ) -> dict[str, tuple[str, float, float]]:
        """Every head's best (label, score, t) for one utterance, fired or not."""
        start = end_of_speech - 2.5 if start_of_speech is None else start_of_speech
        out: dict[str, tuple[str, float, float]] = {}
        for head in self.heads:
            with self._lock:
                if head.kind == "wake":
                    windows, ends = wake_windows(self._stream, start, end_of_speech)
                else:
                    windows, ends = end_windows(self._stream, end_of_speech)
            label, score, row = head.best(windows)
            out[head.name] = (label, score, float(ends[row]) if row >= 0 else end_of_speech)
        return out

    def decide(
        self,
        end_of_speech: float,
        start_of_speech: float | None = None,
        replies: Collection[str] = (),
    ) -> list[Detection]:
        """Detections for the utterance that just ended, the pause first.

        ``start_of_speech`` bounds the wake phrase search (2.5 s before the end when None);
        ``replies`` are the reply intents the current step accepts (none by default).
        """
        found: list[Detection] = []
        scored = self.scores(end_of_speech, start_of_speech)
        for head in self.heads:
            label, score, t = scored[head.name]
            if score < head.threshold:
                continue
            if head.kind == "reply" and label not in replies:
                continue
            found.append(Detection(head.kind, label, score, t))
        found.sort(key=lambda d: KINDS.index(d.kind))
        return found
