"""``haven demo``: two synthesized partners talk to Haven, through the real hearing.

Partner voices are rendered with espeak-ng and streamed, in time, into the same
listening loop ``haven run`` uses (VAD, recognizer, matcher, engine, speaker). On a
machine with no speaker, Haven's replies are still rendered by the TTS engine, to
know how long they last, and "played" on a timeline, so a partner can call a pause
while Haven is speaking and the prompt is cut off, just as in a room.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .audio import RATE, AudioChunk, chunks_from_array
from .events import EarconKind
from .tts import Synthesizer

CHUNK_MS = 30


@dataclass(frozen=True)
class Line:
    """One thing a partner says in the scenario."""

    who: str
    """The partner's name."""
    voice: str
    """espeak-ng voice."""
    text: str
    """What they say."""
    after: str
    """Say it once Haven has said a prompt with this id (or "" to start)."""
    delay: float = 0.8
    """Seconds after that prompt started (or ended, when ``when_done``)."""
    when_done: bool = True
    """Wait for Haven to finish speaking first (False: barge in)."""
    skip_minutes: float = 0.0
    """Minutes the demo clock jumps forward before waiting for this line's cue."""


def scenario(partner_a: str, partner_b: str) -> tuple[Line, ...]:
    """Start a check-in, a pause called while Haven speaks, both ready, finish."""
    a, b = (partner_a, "en-us+m3"), (partner_b, "en-us+f2")
    done_a = [Line(*a, "I'm done", "checkin.appreciation")]
    lines = [
        Line(*a, "Haven, start a check-in.", ""),
        Line(*b, "We need a pause.", "checkin.appreciation", delay=1.5, when_done=False),
        Line(*a, "No thanks.", "pause.breathing_offer"),
        Line(*a, "I'm ready.", "pause.ask_ready", skip_minutes=20),
        Line(*b, "I'm ready.", "pause.ask_ready"),
        *done_a,
        Line(*b, "I'm done", "checkin.appreciation"),
    ]
    for topic in ("news", "worry", "wish"):
        cue = f"checkin.{topic}"
        lines += [Line(*a, "I'm done", cue), Line(*b, "I'm done", cue)]
    return tuple(lines)


class SkippingClock:
    """Wall time, plus whatever the demo skipped (a pause's twenty minutes)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Wall time plus the skipped seconds."""
        with self._lock:
            return time.time() + self._offset

    def skip(self, seconds: float) -> None:
        """Jump forward."""
        with self._lock:
            self._offset += seconds


class TimelineSpeaker:
    """Renders Haven's speech for real, and plays it on a timeline (no device needed).

    ``speaking`` is true while the rendered audio would be sounding; ``stop`` cuts it.
    Safe to use from the engine and listening threads.
    """

    def __init__(self, synth: Synthesizer, speed: float, on_text: Callable[[str], None]) -> None:
        self._synth = synth
        self._speed = speed
        self._on_text = on_text
        self._lock = threading.Lock()
        self._queue: list[tuple[float, float, str]] = []  # (start, end, text)
        self._last_text = ""

    def speak(self, text: str) -> None:
        seconds = len(self._synth.render(text)) / RATE / self._speed
        with self._lock:
            now = time.monotonic()
            start = max([now, *(end for _, end, _ in self._queue)])
            self._queue.append((start, start + seconds, text))
        self._on_text(text)

    def earcon(self, kind: EarconKind) -> None:
        """Tones are not shown in the demo."""

    def stop(self) -> None:
        with self._lock:
            self._queue.clear()

    def _current(self) -> tuple[float, float, str] | None:
        now = time.monotonic()
        self._queue = [item for item in self._queue if item[1] > now]
        return next((item for item in self._queue if item[0] <= now), None)

    @property
    def speaking(self) -> bool:
        with self._lock:
            return self._current() is not None or bool(self._queue)

    @property
    def last_spoken_text(self) -> str:
        with self._lock:
            current = self._current()
            if current is not None:
                self._last_text = current[2]
            return self._last_text


class ScriptedPartners:
    """The audio source: silence, and each partner's line when its moment comes."""

    def __init__(
        self,
        lines: tuple[Line, ...],
        speaker: TimelineSpeaker,
        clock: SkippingClock,
        speed: float,
        on_line: Callable[[Line], None],
        on_skip: Callable[[float], None],
    ) -> None:
        self._lines = lines
        self._speaker = speaker
        self._clock = clock
        self._speed = speed
        self._on_line = on_line
        self._on_skip = on_skip
        self._said: list[tuple[str, float]] = []  # (prompt id, monotonic time)
        self._lock = threading.Lock()
        self.finished = threading.Event()
        """Set once every line was said."""

    def prompt_said(self, prompt: str) -> None:
        """Called by the demo for every Say event."""
        with self._lock:
            self._said.append((prompt, time.monotonic()))

    @contextmanager
    def open(self) -> Iterator[Iterator[AudioChunk]]:
        """A source opener for the live loop."""
        yield self._stream()

    def render(self) -> dict[Line, np.ndarray]:
        """Each partner's lines as audio, in their own voices."""
        audio = {}
        for line in self._lines:
            with Synthesizer(line.voice, 160) as synth:
                audio[line] = np.asarray(synth.render(line.text), dtype=np.int16)
        return audio

    def _stream(self) -> Iterator[AudioChunk]:
        seen = 0
        # a quiet room (about -60 dBFS), not digital silence: a microphone never gives zeros
        tone = np.random.default_rng(0).normal(0.0, 30.0, RATE * 4).astype(np.int16)
        silence = tone[: RATE * CHUNK_MS // 1000]
        audio = {line: np.asarray(a, dtype=np.int32) for line, a in self.render().items()}
        audio = {line: np.clip(a + tone[: len(a)] if len(a) <= len(tone) else a, -32768, 32767)
                 .astype(np.int16) for line, a in audio.items()}  # fmt: skip
        for _ in range(int(1500 / CHUNK_MS)):  # the room before anyone speaks
            yield self._paced(AudioChunk(RATE, 2, 1, silence.tobytes()))
        for line in self._lines:
            if line.skip_minutes:  # let the pause settle in, then jump its minutes
                for _ in range(int(2000 / CHUNK_MS)):
                    yield self._paced(AudioChunk(RATE, 2, 1, silence.tobytes()))
                self._clock.skip(line.skip_minutes * 60)
                self._on_skip(line.skip_minutes)
            seen = yield from self._wait_for(line, seen, silence)
            self._on_line(line)
            for chunk in chunks_from_array(np.concatenate([audio[line], silence]), CHUNK_MS):
                yield self._paced(chunk)
        self.finished.set()
        for _ in range(int(2000 / CHUNK_MS)):  # a little quiet to end on
            yield self._paced(AudioChunk(RATE, 2, 1, silence.tobytes()))

    def _wait_for(
        self, line: Line, seen: int, silence: np.ndarray
    ) -> Generator[AudioChunk, None, int]:
        """Silence until the line's cue; returns how many prompts were consumed."""
        while True:
            with self._lock:
                cue = next(
                    (i for i, (p, _) in enumerate(self._said) if i >= seen and p == line.after),
                    None,
                )
                cue_time = self._said[cue][1] if cue is not None else 0.0
            ready = line.after == "" or cue is not None
            if ready and line.when_done and self._speaker.speaking:
                ready = False
            if ready and time.monotonic() - cue_time >= line.delay / self._speed:
                return (cue + 1) if cue is not None else seen
            yield self._paced(AudioChunk(RATE, 2, 1, silence.tobytes()))

    def _paced(self, chunk: AudioChunk) -> AudioChunk:
        time.sleep(chunk.seconds / self._speed)
        return chunk
