"""Text to speech: pyttsx3 (espeak-ng on Linux) rendered to 16 kHz mono samples.

Only ``save_to_file`` is used, never ``say()``: in pyttsx3 2.99 ``say()`` plays through
``aplay`` by itself, the first one after ``init()`` is silently deferred, and after a
``save_to_file`` later ``say()`` calls land in that file. Each render writes a fresh
temporary WAV that is read back and deleted; playing it is the speaker's job.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .audio import read_wav
from .errors import AudioError

logger = logging.getLogger(__name__)

ESPEAK_HINT = "install espeak-ng with: apt-get install espeak-ng libespeak-ng1"

_ENGINE_LOCK = threading.Lock()
"""pyttsx3 hands out one engine per driver per process, and espeak-ng's voice, rate and
volume are process-wide: every use of the engine holds this lock."""

_CacheKey = tuple[str, str | None, int]


@dataclass(frozen=True)
class VoiceInfo:
    """A voice the engine offers."""

    id: str
    """Engine identifier, for example ``gmw/en-us``."""
    name: str
    """Readable name, for example ``English (America)``."""


def _quiet_print(*args: object, **kwargs: object) -> None:
    """Stands in for ``print`` inside pyttsx3's driver ("Audio saved to ..." on every save)."""


def _settle(engine: Any, timeout: float = 0.5) -> None:
    """Wait until espeak-ng has applied queued settings.

    In the retrieval mode pyttsx3 uses, espeak-ng applies ``SetParameter`` on its own
    thread. ``runAndWait()`` first calls the driver's ``stop()``, which cancels whatever
    espeak-ng has not run yet, so a rate change made just before is often lost.
    """
    module = getattr(getattr(engine, "proxy", None), "_module", None)
    is_playing = getattr(getattr(module, "_espeak", None), "IsPlaying", None)
    if is_playing is None:
        return
    deadline = time.monotonic() + timeout
    while is_playing() and time.monotonic() < deadline:
        time.sleep(0.001)


def _start_engine(driver: str | None) -> Any:
    try:
        import pyttsx3

        engine = pyttsx3.init(driver)
    except Exception as exc:  # pyttsx3 raises RuntimeError, OSError, ImportError, ...
        raise AudioError(f"the text-to-speech engine cannot start ({exc}); {ESPEAK_HINT}") from exc
    module = getattr(getattr(engine, "proxy", None), "_module", None)
    if module is not None:
        # The driver prints to stdout on every save; library code must stay silent.
        module.print = _quiet_print
    return engine


class Synthesizer:
    """Renders text to speech as 16 kHz mono int16 samples.

    ``voice`` is part of a voice id or name (``en-us``, ``English (America)``), optionally
    with an espeak-ng variant (``en-us+f2``); ``None`` keeps the engine's default.
    ``rate`` is in words per minute, ``volume`` from 0 to 1. Rendered prompts are kept in
    a small LRU cache keyed by (text, voice, rate); the arrays returned are read-only.
    Safe to use from several threads (renders run one at a time).
    """

    def __init__(
        self,
        voice: str | None = None,
        rate: int = 175,
        volume: float = 1.0,
        *,
        cache_size: int = 32,
        driver: str | None = None,
    ) -> None:
        if not 40 <= rate <= 600:
            raise AudioError(f"speech rate must be 40 to 600 words per minute, got {rate}")
        if not 0.0 <= volume <= 1.0:
            raise AudioError(f"speech volume must be between 0 and 1, got {volume}")
        self.rate = rate
        """Words per minute."""
        self.volume = volume
        """Loudness from 0 to 1."""
        self._cache_size = max(0, cache_size)
        self._cache: OrderedDict[_CacheKey, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._closed = False
        self._engine = _start_engine(driver)
        self.voice: str | None = self._resolve_voice(voice) if voice else None
        """The engine's id of the chosen voice (``None``: the engine's default)."""

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the cache; later renders raise :class:`AudioError`.

        The engine itself stays loaded: espeak-ng can be initialised only once per process.
        """
        with self._cache_lock:
            self._closed = True
            self._cache.clear()

    def voices(self) -> list[VoiceInfo]:
        """The voices the engine offers."""
        with _ENGINE_LOCK:
            raw = self._engine.getProperty("voices")
        return [VoiceInfo(str(v.id), str(v.name or v.id)) for v in raw]

    def _resolve_voice(self, spec: str) -> str:
        base, plus, variant = spec.strip().partition("+")
        wanted = base.strip().lower()
        voices = self.voices()
        exact = [
            v
            for v in voices
            if wanted in (v.id.lower(), v.name.lower(), v.id.lower().rsplit("/", 1)[-1])
        ]
        partial = [v for v in voices if wanted in v.id.lower() or wanted in v.name.lower()]
        matches = exact or partial
        if not wanted or not matches:
            examples = ", ".join(v.id for v in voices if "/en" in v.id)[:200]
            raise AudioError(f"no text-to-speech voice matches {spec!r}; try one of: {examples}")
        return matches[0].id + (plus + variant.strip() if variant.strip() else "")

    def render(self, text: str) -> np.ndarray:
        """Speech for ``text`` as 16 kHz mono int16 (empty for blank text)."""
        text = " ".join(text.split())
        if not text:
            return np.zeros(0, dtype=np.int16)
        key: _CacheKey = (text, self.voice, self.rate)
        with self._cache_lock:
            if self._closed:
                raise AudioError("the synthesizer is closed")
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        samples = self._synthesize(text)
        samples.setflags(write=False)
        with self._cache_lock:
            if self._cache_size:
                self._cache[key] = samples
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return samples

    def _synthesize(self, text: str) -> np.ndarray:
        # A render that espeak-ng cancels leaves the file empty: try once more.
        for attempt in (1, 2):
            samples = self._synthesize_once(text)
            if samples is not None:
                logger.debug("rendered %d samples for %r", len(samples), text[:40])
                return samples
            logger.debug("text-to-speech wrote nothing for %r (attempt %d)", text[:40], attempt)
        raise AudioError(f"text-to-speech wrote no audio for {text[:40]!r}")

    def _synthesize_once(self, text: str) -> np.ndarray | None:
        """Render into a fresh temp file; ``None`` when the engine wrote nothing."""
        fd, name = tempfile.mkstemp(prefix="haven-tts-", suffix=".wav")
        os.close(fd)
        path = Path(name)
        errors: list[object] = []

        def on_error(**event: object) -> None:
            errors.append(event.get("exception"))

        try:
            with _ENGINE_LOCK:
                token = self._engine.connect("error", on_error)
                try:
                    if self.voice is not None:
                        self._engine.setProperty("voice", self.voice)
                    self._engine.setProperty("rate", self.rate)
                    self._engine.setProperty("volume", self.volume)
                    _settle(self._engine)
                    self._engine.save_to_file(text, str(path))
                    self._engine.runAndWait()
                finally:
                    self._engine.disconnect(token)
            if errors:
                raise AudioError(f"text-to-speech failed on {text[:40]!r}: {errors[0]}")
            if path.stat().st_size <= 44:
                return None
            return read_wav(path)
        except (RuntimeError, OSError, ValueError) as exc:
            raise AudioError(f"text-to-speech failed on {text[:40]!r}: {exc}") from exc
        finally:
            path.unlink(missing_ok=True)
