"""Scenes: one utterance in a room (noise, babble, Haven talking, reverb), with its timing.

A scene is what the detectors see around one utterance: some lead-in (quiet, noise, or the
tail of other talk), the utterance, and a short tail. Its timing says which embedding
windows are positives for which head and which are negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import augment

RATE = 16000
SceneKind = Literal["wake", "pause", "reply", "negative", "haven", "noise"]
MIN_LEAD = 2.1
"""Seconds of audio before the end of speech, so a full window exists there."""
PRE_SPEECH = 1.8
"""Seconds of audio before the start of speech, so full windows exist right after it
(a live stream always has past audio; a scene must too, or the wake phrase has no window)."""


@dataclass(frozen=True)
class Scene:
    """One augmented utterance and where its parts are."""

    audio: np.ndarray
    """16 kHz int16 samples."""
    kind: SceneKind
    """What the utterance is."""
    label: str
    """Reply intent, "pause", "wake", or "" for negatives."""
    start: float
    """Seconds from the scene start to the start of speech."""
    end: float
    """Seconds to the end of speech."""
    wake_end: float
    """Seconds to the end of the wake phrase (wake scenes), else -1."""
    validation: bool
    """Held out of fitting; used to pick thresholds and report metrics."""
    condition: str
    """Background, for reports: clean, white, pink, brown, babble, haven."""


def trim(clip: np.ndarray, floor_db: float = -45.0) -> np.ndarray:
    """Cut leading and trailing near-silence (10 ms frames below ``floor_db`` of the peak)."""
    data = np.asarray(clip, dtype=np.float64)
    if len(data) < 320:
        return np.asarray(clip)
    frames = data[: len(data) // 160 * 160].reshape(-1, 160)
    energy = np.sqrt(np.mean(frames**2, axis=1)) + 1e-9
    loud = np.flatnonzero(20 * np.log10(energy / energy.max()) > floor_db)
    if not len(loud):
        return np.asarray(clip)
    return np.asarray(clip[loud[0] * 160 : (loud[-1] + 1) * 160])


@dataclass(frozen=True)
class Room:
    """Sounds a scene can borrow: other talk for babble and lead-ins, Haven's voice."""

    talk: Sequence[np.ndarray]
    """Trimmed negative sentences (babble and preceding talk)."""
    haven: Sequence[np.ndarray]
    """Trimmed prompts in Haven's voice."""


def build_scene(
    parts: Sequence[np.ndarray],
    kind: SceneKind,
    label: str,
    room: Room,
    rng: np.random.Generator,
    validation: bool,
    haven_share: float = 0.1,
) -> Scene:
    """Lay out speech ``parts`` (wake phrase then command, or one utterance) in a room."""
    pieces = [trim(p).astype(np.float64) for p in parts]
    gap = int(RATE * rng.uniform(0.04, 0.35))
    speech = pieces[0]
    wake_len = len(speech)
    for piece in pieces[1:]:
        speech = np.concatenate([speech, np.zeros(gap), piece])
    if rng.random() < 0.35:
        speech = augment.reverb(speech, rng)
    speech = augment.set_level(speech, float(rng.uniform(-34, -12)))
    level = augment.rms(speech)
    lead = max(float(rng.uniform(0.35, 1.4)), MIN_LEAD - len(speech) / RATE, PRE_SPEECH)
    tail = float(rng.uniform(0.5, 0.8))
    n_lead, n_tail = int(RATE * lead), int(RATE * tail)
    total = n_lead + len(speech) + n_tail
    audio = np.zeros(total)
    audio[n_lead : n_lead + len(speech)] = speech
    if room.talk and rng.random() < 0.3:
        other = augment.set_level(room.talk[int(rng.integers(len(room.talk)))], float(
            rng.uniform(-36, -14)))
        stop = n_lead - int(RATE * rng.uniform(0.3, 0.6))
        take = min(stop, len(other))
        audio[stop - take : stop] += other[len(other) - take :]
    condition = _background(audio, level, kind, room, rng, haven_share)
    wake_end = (n_lead + wake_len) / RATE if kind == "wake" else -1.0
    return Scene(
        augment.to_int16(audio, rng),
        kind,
        label,
        n_lead / RATE,
        (n_lead + len(speech)) / RATE,
        wake_end,
        validation,
        condition,
    )


def _background(
    audio: np.ndarray,
    level: float,
    kind: SceneKind,
    room: Room,
    rng: np.random.Generator,
    haven_share: float,
) -> str:
    """Add the room's background in place; returns its name."""
    n = len(audio)
    draw = rng.random()
    floor = augment.coloured_noise("pink", n, rng) * level * 10 ** (-rng.uniform(45, 65) / 20)
    audio += floor
    if room.haven and draw < haven_share:
        voice = np.concatenate([room.haven[int(rng.integers(len(room.haven)))] for _ in range(3)])
        start = int(rng.integers(0, max(1, len(voice) - n)))
        bed = np.asarray(voice[start : start + n], dtype=np.float64)
        bed = np.pad(bed, (0, n - len(bed)))
        audio += augment.mix_at_snr(np.zeros(n), bed, float(rng.uniform(-3, 12)), level)
        return "haven"
    draw = rng.random()
    if draw < 0.3:
        return "clean"
    snr = float(rng.uniform(3, 25))
    if draw < 0.65 or not room.talk:
        kind_n = augment.NOISE_KINDS[int(rng.integers(3))]
        audio += augment.mix_at_snr(np.zeros(n), augment.coloured_noise(kind_n, n, rng), snr, level)
        return kind_n
    audio += augment.mix_at_snr(np.zeros(n), augment.babble(room.talk, n, rng), snr, level)
    return "babble"


def noise_scene(room: Room, rng: np.random.Generator, validation: bool) -> Scene:
    """A few seconds of noise, babble or Haven talking, with no one addressing Haven."""
    n = int(RATE * rng.uniform(3.6, 5.0))
    audio = np.zeros(n)
    level = 32767 * 10 ** (rng.uniform(-34, -14) / 20)
    draw = rng.random()
    condition: str
    if draw < 0.5:
        kind_n = augment.NOISE_KINDS[int(rng.integers(3))]
        audio += augment.coloured_noise(kind_n, n, rng) * level * float(rng.uniform(0.1, 1.0))
        condition = kind_n
    elif room.haven and draw < 0.75:
        voice = np.concatenate([room.haven[int(rng.integers(len(room.haven)))] for _ in range(3)])
        audio += augment.set_level(np.pad(voice, (0, max(0, n - len(voice))))[:n], -24)
        condition = "haven"
    else:
        audio += augment.babble(room.talk, n, rng) * level * 0.5
        condition = "babble"
    start = float(rng.uniform(PRE_SPEECH, PRE_SPEECH + 0.6))
    return Scene(augment.to_int16(audio, rng), "noise", "", start, n / RATE - 0.55, -1.0,
                 validation, condition)
