"""What Haven played, and when: the reference the double-talk test compares the microphone with.

The speaker's audio callback hands every block it sends to the device to a
:class:`PlaybackTap`, stamped with the ``time.monotonic()`` at which the block should leave
the device. The listening thread asks for a stretch of time and gets that audio back at
16 kHz, with silence where Haven played nothing. Only the last ``keep_s`` seconds are kept.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from .audio import RATE, to_mono16k


class PlaybackTap:
    """A short history of the audio Haven played. Thread-safe: written by the audio
    thread (:meth:`add`), read by the listening thread (:meth:`window`)."""

    def __init__(self, keep_s: float = 15.0) -> None:
        self._keep_s = keep_s
        self._lock = threading.Lock()
        self._blocks: deque[tuple[float, int, np.ndarray]] = deque()
        """(monotonic time of the block's first sample at the device, rate, samples)."""

    def add(self, at: float, samples: np.ndarray, rate: int) -> None:
        """Record ``samples`` (float32 in [-1, 1], mono) leaving the device from ``at``
        (``time.monotonic()``) on. Called on the audio thread: keeps a reference, no copy."""
        if not len(samples):
            return
        with self._lock:
            self._blocks.append((at, rate, samples))
            while self._blocks and self._blocks[0][0] < at - self._keep_s:
                self._blocks.popleft()

    def window(self, start: float, end: float) -> np.ndarray:
        """The audio played from ``start`` to ``end`` (``time.monotonic()``), as 16 kHz
        int16, silent where nothing played."""
        with self._lock:
            blocks = [b for b in self._blocks if b[0] < end and b[0] + len(b[2]) / b[1] > start]
        length = max(0, round((end - start) * RATE))
        laid: dict[int, np.ndarray] = {}  # the blocks at their device rate (one, but for a reopen)
        for at, rate, samples in blocks:
            out = laid.setdefault(rate, np.zeros(round((end - start) * rate), dtype=np.float32))
            first = round((at - start) * rate)
            lo, hi = max(0, first), min(len(out), first + len(samples))
            if hi > lo:
                out[lo:hi] = samples[lo - first : hi - first]
        mixed = np.zeros(length, dtype=np.float64)
        for rate, out in laid.items():
            audio = to_mono16k(out * 32767.0, rate)[:length]
            mixed[: len(audio)] += audio
        return np.clip(mixed, -32768, 32767).astype(np.int16)
