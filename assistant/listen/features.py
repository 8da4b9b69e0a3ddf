"""Speech embeddings from the openWakeWord 0.4.0 resource files, run with onnxruntime.

Two ONNX graphs ship inside the ``openwakeword`` 0.4.0 wheel: ``melspectrogram.onnx``
(16 kHz int16 audio -> 32 mel bands every 10 ms) and ``embedding_model.onnx`` (76 mel
frames -> one 96-dim embedding). An embedding is taken every 8 mel frames (80 ms), so a
second of audio gives 12.5 frames. Both graphs are frame-local: the mel frame ``i`` depends
only on samples ``[160 i, 160 i + 640)``, so embeddings of a whole clip equal the ones a
stream computes piece by piece. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

_LOG = logging.getLogger(__name__)

RATE = 16000
"""Sample rate the graphs expect (Hz)."""
MEL_HOP = 160
"""Samples per mel frame (10 ms)."""
MEL_CONTEXT = 3
"""A clip of n samples gives n // 160 - 3 mel frames."""
WINDOW = 76
"""Mel frames one embedding looks at (0.76 s)."""
STEP = 8
"""Mel frames between two embeddings (80 ms)."""
DIM = 96
"""Size of one embedding."""
BLOCK = STEP * MEL_HOP
"""New samples per block of mel frames (1280, 80 ms)."""
BLOCK_CONTEXT = MEL_HOP * MEL_CONTEXT
"""Samples of context each block of mel frames needs beyond its own (480)."""
FRAME_SECONDS = STEP * MEL_HOP / RATE
"""Seconds between two embeddings (0.08)."""
RESOURCE_HINT = "install it with: pip install openwakeword==0.4.0 (its wheel ships the models)"


def resource_dir() -> Path:
    """Folder holding ``melspectrogram.onnx`` and ``embedding_model.onnx``.

    Found from the installed ``openwakeword`` package's location without importing it
    (its ``__init__`` pulls in scikit-learn and more, none of which Haven needs).
    """
    spec = importlib.util.find_spec("openwakeword")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the openwakeword package is not installed; {RESOURCE_HINT}")
    for root in spec.submodule_search_locations:
        folder = Path(root) / "resources" / "models"
        if (folder / "melspectrogram.onnx").is_file() and (
            folder / "embedding_model.onnx"
        ).is_file():
            return folder
    raise ModelError(
        "openwakeword is installed but has no melspectrogram.onnx/embedding_model.onnx "
        f"(versions after 0.4.0 download them at run time); {RESOURCE_HINT}"
    )


def end_sample(index: int) -> int:
    """Sample (from the start of the audio) just past embedding ``index``'s receptive field."""
    return MEL_HOP * (STEP * index + WINDOW + MEL_CONTEXT)


def frames_for(samples: int) -> int:
    """How many embeddings a clip of ``samples`` samples gives."""
    mels = STEP * max(0, (samples - BLOCK_CONTEXT) // BLOCK)
    return 0 if mels < WINDOW else (mels - WINDOW) // STEP + 1


class SpeechEmbedder:
    """The two ONNX graphs, loaded once. Not thread-safe: one user at a time."""

    def __init__(self, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(f"onnxruntime is not installed; {RESOURCE_HINT}") from exc
        folder = resource_dir()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._mel: Any = ort.InferenceSession(
                str(folder / "melspectrogram.onnx"), options, providers=["CPUExecutionProvider"]
            )
            self._emb: Any = ort.InferenceSession(
                str(folder / "embedding_model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"cannot load the speech embedding models: {exc}") from exc

    def mel(self, samples: np.ndarray) -> np.ndarray:
        """Mel frames (8 per 1280 samples) of int16 samples, as a stream computes them.

        The graph floors each frame relative to the loudest one it is given, so frames
        depend on how audio is cut: they are always computed in blocks of 8 frames from
        1760 samples (1280 new plus 480 of context), one block per run (the floor is taken
        over the whole input, batch included), exactly as ``EmbeddingStream`` does, so
        training and live listening see the same numbers.
        """
        audio = np.asarray(samples, dtype=np.int16)
        blocks = (len(audio) - BLOCK_CONTEXT) // BLOCK if len(audio) >= BLOCK_CONTEXT else 0
        out = np.zeros((max(blocks, 0) * STEP, 32), dtype=np.float32)
        for b in range(max(blocks, 0)):
            part = audio[None, BLOCK * b : BLOCK * b + BLOCK + BLOCK_CONTEXT].astype(np.float32)
            spec = self._mel.run(None, {"input": part})[0]
            out[b * STEP : (b + 1) * STEP] = np.asarray(spec, dtype=np.float32).reshape(-1, 32)
        return out / 10.0 + 2.0

    def embed_mel(self, mel: np.ndarray, batch: int = 256) -> np.ndarray:
        """Embeddings (frames, 96) of mel frames, one every 8 frames over 76."""
        count = 0 if len(mel) < WINDOW else (len(mel) - WINDOW) // STEP + 1
        out = np.zeros((count, DIM), dtype=np.float32)
        for first in range(0, count, batch):
            idx = range(first, min(count, first + batch))
            windows = np.stack([mel[STEP * i : STEP * i + WINDOW] for i in idx])
            result = self._emb.run(None, {"input_1": windows[..., None].astype(np.float32)})[0]
            out[first : first + len(idx)] = np.asarray(result).reshape(len(idx), DIM)
        return out

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """Embeddings (frames, 96) of a whole clip; frame k ends at ``end_sample(k)``."""
        return self.embed_mel(self.mel(samples))


class EmbeddingStream:
    """Embeddings of a stream, computed as audio arrives, with the time each one ends.

    Holds the last ``keep_seconds`` of embeddings. Every 80 ms of new audio costs one
    mel run over 110 ms and one embedding run.
    """

    def __init__(self, embedder: SpeechEmbedder, keep_seconds: float = 12.0) -> None:
        self._embedder = embedder
        keep = int(keep_seconds / FRAME_SECONDS) + 1
        self._frames: deque[np.ndarray] = deque(maxlen=keep)
        self._ends: deque[float] = deque(maxlen=keep)
        self._audio = np.zeros(0, dtype=np.int16)
        """Samples not yet turned into mel frames, starting at sample ``_audio_start``."""
        self._audio_start = 0
        self._mel = np.zeros((0, 32), dtype=np.float32)
        """The last mel frames, enough for the next embedding window."""
        self._mel_start = 0
        """Index (from the stream start) of ``_mel[0]``."""
        self._next_embedding = 0
        self._origin: float | None = None
        self.cpu_seconds = 0.0
        """CPU time spent computing features, in the feeding thread."""
        self.audio_seconds = 0.0
        """Audio fed so far."""

    @property
    def origin(self) -> float:
        """Stream time of the first sample fed (0 before any audio)."""
        return self._origin or 0.0

    def push(self, samples: np.ndarray, timestamp: float | None = None) -> int:
        """Add 16 kHz mono int16 samples; returns how many new embeddings were made."""
        started = time.thread_time()
        if self._origin is None:
            self._origin = 0.0 if timestamp is None else timestamp
        self.audio_seconds += len(samples) / RATE
        self._audio = np.concatenate([self._audio, np.asarray(samples, dtype=np.int16)])
        made = 0
        # Mel frames in blocks of 8: frame i needs samples [160 i, 160 i + 640).
        while True:
            first = self._mel_start + len(self._mel)
            need_end = MEL_HOP * (first + STEP + MEL_CONTEXT)
            if self._audio_start + len(self._audio) < need_end:
                break
            lo = MEL_HOP * first - self._audio_start
            block = self._embedder.mel(self._audio[lo : need_end - self._audio_start])[:STEP]
            self._mel = np.concatenate([self._mel, block])
            drop = MEL_HOP * (first + STEP) - self._audio_start
            self._audio = self._audio[drop:]
            self._audio_start += drop
            made += self._embed_ready()
        self.cpu_seconds += time.thread_time() - started
        return made

    def _embed_ready(self) -> int:
        made = 0
        while True:
            lo = STEP * self._next_embedding - self._mel_start
            if lo + WINDOW > len(self._mel):
                break
            window = self._mel[lo : lo + WINDOW]
            frame = self._embedder.embed_mel(window)[0]
            self._frames.append(frame)
            self._ends.append(self.origin + end_sample(self._next_embedding) / RATE)
            self._next_embedding += 1
            made += 1
        keep_from = STEP * self._next_embedding - self._mel_start
        if keep_from > 0:
            self._mel = self._mel[keep_from:]
            self._mel_start += keep_from
        return made

    @property
    def latest_end(self) -> float:
        """Stream time the newest embedding ends at (-inf when there is none)."""
        return self._ends[-1] if self._ends else float("-inf")

    def window(self, end: float, frames: int) -> np.ndarray | None:
        """The ``frames`` embeddings ending at or just before ``end`` (None if too few)."""
        ends = np.asarray(self._ends)
        last = int(np.searchsorted(ends, end + 1e-6, side="right")) - 1
        if last + 1 < frames:
            return None
        stack = list(self._frames)
        return np.stack(stack[last + 1 - frames : last + 1])

    def windows(self, start: float, end: float, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Every run of ``frames`` embeddings ending within [start, end], with its end time."""
        ends = np.asarray(self._ends)
        if len(ends) < frames:
            return np.zeros((0, frames, DIM), dtype=np.float32), np.zeros(0)
        stack = np.stack(list(self._frames))
        picks = [i for i in range(frames - 1, len(ends)) if start <= ends[i] <= end]
        if not picks:
            return np.zeros((0, frames, DIM), dtype=np.float32), np.zeros(0)
        out = np.stack([stack[i + 1 - frames : i + 1] for i in picks])
        return out, ends[picks]
