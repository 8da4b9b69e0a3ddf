"""Voice activity detection and endpointing: an energy detector over a tracked noise floor.

Pure numpy, no model. Each 10 ms frame's level (dBFS) is compared with a noise floor
that follows the quietest recent stretches: it falls at once and rises slowly, so steady
noise (a fan, a fridge) raises it while speech does not; over steady noise it holds
while an utterance is young, so it does not climb into a command and cut it up. The
floor follows the level over the last fifth of a second (the *background* level), and a
frame counts as speech only when both its own level and the background level stand clear
of the floor: a babble of voices (a TV, a room of people) is steady over a fifth of a
second while its 10 ms frames rise and fall by several dB, so on 10 ms levels alone it
kept an utterance open for ever (a command over it never ended). The frame's own level
still ends speech at once. In a quiet room the two tests cut almost as the 10 ms test
alone did: the same spans for the clips of the detect tests; in three hours of festival
talk, 92 of 2556 utterances end a little earlier (by 0.05-0.4 s, where the level lingers
just above ``min_level_db`` after the last word and the background level has already
fallen). Enough speech frames in a row open an utterance; enough trailing silence closes
it, and the utterance is handed on at once, so a command is decided as soon as it is
said. The trailing silence is a knob per listening step: short for commands, long for
open answers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from .audio import RATE, AudioChunk
from .errors import AudioError

FRAME_MS = 10
"""Analysis frame length (ms)."""
_FRAME = RATE * FRAME_MS // 1000
_SILENCE_DB = -90.0


@dataclass(frozen=True)
class VadConfig:
    """Knobs of the detector and endpointer."""

    threshold_db: float = 4.5
    """How far above the noise floor a frame's level, and the background level, must be
    to count as speech (dB). Chosen on espeak-ng/flite streams (4 to 6 dB barely differ
    at 10 and 20 dB SNR; 4.5 keeps more commands at 5 dB than 5 and cuts fewer pieces of
    babble than 4)."""
    background_ms: int = 200
    """The background level is the mean power over this long; the noise floor follows it
    (10: the 10 ms frames themselves, as before; babble then never falls below speech)."""
    min_level_db: float = -50.0
    """Frames quieter than this are never speech (dBFS)."""
    start_ms: int = 60
    """Speech needed, in a row, to open an utterance."""
    end_ms: int = 500
    """Trailing non-speech that closes an utterance (short for commands)."""
    pre_roll_ms: int = 300
    """Audio kept before the detected start (soft onsets are quiet)."""
    post_roll_ms: int = 250
    """Audio kept after the last speech frame."""
    max_ms: int = 10_000
    """An utterance is cut here even if speech goes on."""
    floor_rise_db_per_s: float = 4.0
    """How fast the noise floor may rise during sustained sound."""
    speech_rise_db_per_s: float = 0.0
    """How fast it may rise while an utterance is open over steady noise (``steady_db``),
    for the utterance's first ``speech_rise_ms``. Rising at 4 dB/s there, the floor
    climbed into commands said 10 dB over steady noise and cut them up (the listening
    benchmark's festival commands: 42 of 108 cut; held, 13)."""
    speech_rise_ms: int = 2000
    """After this long in one utterance the floor rises at ``floor_rise_db_per_s`` again,
    so a sound that starts and stays (a vacuum cleaner switched on) still ends its
    utterance."""
    steady_db: float = 3.0
    """The noise counts as steady when its background level, over the ``steady_ms``
    before an utterance opens, spreads less than this (10th to 90th percentile, dB). Over
    a babble of voices (wider than that) the floor keeps rising at the usual rate: held
    there, it let the babble around a command keep the utterance open (pause recall at
    10 dB babble 52 -> 41 of 86)."""
    steady_ms: int = 1000
    """How much of the background before an utterance the steadiness test looks at."""

    def with_end(self, end_ms: int) -> VadConfig:
        """The same config with another trailing-silence delay."""
        return replace(self, end_ms=end_ms)


@dataclass(frozen=True)
class Utterance:
    """A stretch of speech cut from a stream, with some margin."""

    samples: np.ndarray
    """16 kHz mono int16 audio, pre- and post-roll included."""
    start: float
    """Stream time of the first sample (seconds)."""
    speech_start: float
    """Stream time speech was first detected (seconds)."""
    speech_end: float
    """Stream time of the last speech frame's end (seconds)."""
    truncated: bool = False
    """True when cut at ``max_ms`` rather than by silence."""

    @property
    def seconds(self) -> float:
        """Length of the audio kept."""
        return len(self.samples) / RATE


def frame_powers(samples: np.ndarray) -> np.ndarray:
    """Mean power of each whole 10 ms frame (full scale is 1)."""
    n = len(samples) // _FRAME
    if n == 0:
        return np.zeros(0)
    frames = samples[: n * _FRAME].astype(np.float64).reshape(n, _FRAME) / 32768.0
    return np.asarray(np.mean(frames * frames, axis=1), dtype=np.float64)


def to_db(power: np.ndarray) -> np.ndarray:
    """Power to dBFS (digital silence is -90)."""
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(power)
    return np.asarray(np.maximum(levels, _SILENCE_DB), dtype=np.float64)


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """Level of each whole 10 ms frame in dBFS (digital silence is -90)."""
    return to_db(frame_powers(samples))


def trailing_means(past: np.ndarray, powers: np.ndarray, frames: int) -> np.ndarray:
    """For each of ``powers``, the mean of it and up to ``frames - 1`` before it (``past``
    holds the powers before the first)."""
    joined = np.concatenate([past, powers])
    sums = np.concatenate([[0.0], np.cumsum(joined)])
    at = np.arange(len(past), len(joined))
    low = np.maximum(at + 1 - max(1, frames), 0)
    return np.asarray((sums[at + 1] - sums[low]) / (at + 1 - low), dtype=np.float64)


class Endpointer:
    """Cuts a stream of AudioChunks into utterances.

    Not thread-safe: feed it from the one thread that reads the audio source.
    """

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        """The knobs in force; replace it (``with_end``) to change the delay per step."""
        self._floor: float | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._past = np.zeros(0)
        """Powers of the frames before this chunk's, as many as the longer level needs."""
        self._frames_seen = 0
        keep = math.ceil(self.config.pre_roll_ms / FRAME_MS) + 64
        self._history: deque[np.ndarray] = deque(maxlen=keep)
        self._speech: list[np.ndarray] = []
        self._run = 0
        self._silence = 0
        self._in_speech = False
        self._start_frame = 0
        self._utt_start_frame = 0
        self._last_speech_frame = 0
        self._quiet_bg: deque[float] = deque(maxlen=max(1, self.config.steady_ms // FRAME_MS))
        self._steady = False

    @property
    def noise_floor_db(self) -> float | None:
        """The current noise floor estimate (dBFS), None before any audio."""
        return self._floor

    @property
    def in_speech(self) -> bool:
        """Whether an utterance is open."""
        return self._in_speech

    def feed(self, chunk: AudioChunk) -> list[Utterance]:
        """Take one chunk; return the utterances it completed (usually none)."""
        if chunk.rate != RATE or chunk.channels != 1 or chunk.width != 2:
            raise AudioError(
                f"the endpointer needs 16 kHz mono 16-bit audio, got {chunk.rate} Hz, "
                f"{chunk.channels} channel(s), {8 * chunk.width}-bit"
            )
        data = np.concatenate([self._pending, chunk.to_array()])
        n = len(data) // _FRAME
        self._pending = data[n * _FRAME :].copy()
        done: list[Utterance] = []
        powers = frame_powers(data[: n * _FRAME])
        cfg = self.config
        levels = to_db(powers)
        frames = cfg.background_ms // FRAME_MS
        background = to_db(trailing_means(self._past, powers, frames))
        joined = np.concatenate([self._past, powers])
        self._past = joined[max(0, len(joined) - frames + 1) :] if frames > 1 else joined[:0]
        for i in range(n):
            frame = data[i * _FRAME : (i + 1) * _FRAME]
            utterance = self._step(frame, float(levels[i]), float(background[i]))
            if utterance is not None:
                done.append(utterance)
        return done

    def flush(self) -> Utterance | None:
        """End of stream: the open utterance, if any."""
        if not self._in_speech:
            return None
        return self._close(truncated=False)

    def _step(self, frame: np.ndarray, level: float, background: float) -> Utterance | None:
        cfg = self.config
        index = self._frames_seen
        self._frames_seen += 1
        self._track_floor(background, index)
        floor = self._floor if self._floor is not None else level
        clear = floor + cfg.threshold_db
        speech = level >= max(clear, cfg.min_level_db) and background >= clear
        if not self._in_speech:
            self._history.append(frame)
            self._quiet_bg.append(background)
            self._run = self._run + 1 if speech else 0
            if self._run * FRAME_MS >= cfg.start_ms:
                low, high = np.percentile(np.asarray(self._quiet_bg), [10, 90])
                self._steady = float(high - low) <= cfg.steady_db
                pre = min(len(self._history), (cfg.pre_roll_ms // FRAME_MS) + self._run)
                self._speech = list(self._history)[-pre:]
                self._in_speech = True
                self._start_frame = index - self._run + 1
                self._utt_start_frame = index - pre + 1
                self._last_speech_frame = index
                self._silence = 0
            return None
        self._speech.append(frame)
        if speech:
            self._silence = 0
            self._last_speech_frame = index
        else:
            self._silence += 1
        if self._silence * FRAME_MS >= cfg.end_ms:
            return self._close(truncated=False)
        if len(self._speech) * FRAME_MS >= cfg.max_ms:
            return self._close(truncated=True)
        return None

    def _track_floor(self, level: float, index: int) -> None:
        cfg = self.config
        if self._floor is None:
            self._floor = level
        elif level < self._floor:
            self._floor = 0.5 * self._floor + 0.5 * level
        else:
            held = (self._in_speech and self._steady
                    and (index - self._start_frame) * FRAME_MS < cfg.speech_rise_ms)
            per_s = cfg.speech_rise_db_per_s if held else cfg.floor_rise_db_per_s
            self._floor = min(level, self._floor + per_s * FRAME_MS / 1000.0)

    @property
    def quiet_ms(self) -> int:
        """Trailing non-speech of the open utterance, so far (0 when none is open)."""
        return self._silence * FRAME_MS if self._in_speech else 0

    def peek(self) -> Utterance | None:
        """The open utterance as it stands, without closing it (None when none is open).

        For deciding early: a listener may act on it after a short quiet and skip the
        utterance when it closes, if no speech came in between.
        """
        return self._snapshot(truncated=False) if self._in_speech else None

    def _snapshot(self, truncated: bool) -> Utterance:
        cfg = self.config
        keep_after = cfg.post_roll_ms // FRAME_MS
        last = self._last_speech_frame - self._utt_start_frame
        frames = self._speech[: max(1, last + 1 + keep_after)]
        samples = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
        return Utterance(
            samples=samples.astype(np.int16),
            start=self._utt_start_frame * FRAME_MS / 1000.0,
            speech_start=self._start_frame * FRAME_MS / 1000.0,
            speech_end=(self._last_speech_frame + 1) * FRAME_MS / 1000.0,
            truncated=truncated,
        )

    def _close(self, truncated: bool) -> Utterance:
        utterance = self._snapshot(truncated)
        self._in_speech = False
        self._speech = []
        self._run = 0
        self._silence = 0
        self._history.clear()
        return utterance


def utterances(
    chunks: Iterable[AudioChunk], config: VadConfig | None = None
) -> Iterator[Utterance]:
    """Every utterance in a stream, each yielded as soon as its trailing silence is heard."""
    endpointer = Endpointer(config)
    for chunk in chunks:
        yield from endpointer.feed(chunk)
    last = endpointer.flush()
    if last is not None:
        yield last


RECORDING = VadConfig(threshold_db=9.0, background_ms=10, pre_roll_ms=700,
                      speech_rise_db_per_s=4.0)
"""The detector on 10 ms levels alone, its floor rising at one rate (as measured), for a
recording that holds one command (:func:`speech_span`, ``haven detect FILE``): there the
span runs from the first onset to the last end anyway, so babble cannot keep it open,
while in steady noise the background test trims and splits commands (the spoken dev set
at 10 dB SNR: 64.2% accepted with it, 73.6% without; BENCHMARKS.md, Intent accuracy). A
700 ms lead-in (300 ms live) gives the recognizer's noise estimate and cepstral mean
some noise before the first word: in noise the onset the detector finds is late, and the
first word's start was being lost."""


def speech_span(samples: np.ndarray, config: VadConfig | None = None) -> Utterance | None:
    """All speech in a recording as one utterance, from the first onset to the last end.

    For a file holding one command, this keeps words apart by long gaps together
    instead of cutting them, with the live loop's detector on 10 ms levels
    (``RECORDING``, the default).
    """
    from .audio import chunks_from_array

    cfg = config or RECORDING
    found = list(utterances(chunks_from_array(np.asarray(samples, dtype=np.int16)), cfg))
    if not found:
        return None
    first, last = found[0], found[-1]
    begin = round(first.start * RATE)
    end_time = last.speech_end + cfg.post_roll_ms / 1000.0
    end = min(len(samples), round(end_time * RATE))
    return Utterance(
        samples=np.asarray(samples[begin:end], dtype=np.int16),
        start=first.start,
        speech_start=first.speech_start,
        speech_end=last.speech_end,
        truncated=any(u.truncated for u in found),
    )
