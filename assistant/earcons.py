"""Short, soft generated tones (earcons) as 16 kHz mono int16.

Every earcon is under 0.8 s, starts and ends in silence (raised-cosine fades, so no
clicks) and peaks well below full scale. Each kind has its own pitch:

- ``listening``: a quick rising pair (660 then 990 Hz), "go ahead".
- ``pause``: a low falling pair (440 then 330 Hz), calm and final.
- ``timer``: three gentle taps at 587 Hz.
- ``chime``: a three-note bell (1319, 1047, 784 Hz) with decaying partials.
"""

from __future__ import annotations

from typing import get_args

import numpy as np

from .audio import RATE
from .errors import AudioError
from .events import EarconKind

KINDS: tuple[EarconKind, ...] = get_args(EarconKind)
"""Every earcon kind."""

LEVEL = 0.3
"""Peak level as a fraction of full scale (about -10 dBFS)."""

_BELL_PARTIALS = ((1.0, 1.0), (2.0, 0.35), (2.76, 0.15), (5.4, 0.05))
"""(frequency ratio, amplitude) pairs of a soft bell."""


def silence(seconds: float) -> np.ndarray:
    """``seconds`` of silence as float64 samples."""
    return np.zeros(round(seconds * RATE))


def tone(
    freq: float,
    seconds: float,
    *,
    fade: float = 0.015,
    decay: float = 0.0,
    partials: tuple[tuple[float, float], ...] = ((1.0, 1.0),),
) -> np.ndarray:
    """A note as float64 samples peaking at 1.0.

    ``fade`` is the raised-cosine fade in and out in seconds; ``decay`` (per second) makes
    it die away exponentially like a struck bell; ``partials`` adds overtones.
    """
    t = np.arange(round(seconds * RATE)) / RATE
    wave = sum(amp * np.sin(2 * np.pi * freq * ratio * t) for ratio, amp in partials)
    wave = np.asarray(wave, dtype=np.float64) * np.exp(-decay * t)
    n_fade = min(round(fade * RATE), len(t) // 2)
    if n_fade:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n_fade))
        wave[:n_fade] *= ramp
        wave[-n_fade:] *= ramp[::-1]
    peak = float(np.max(np.abs(wave))) if len(wave) else 0.0
    return wave / peak if peak else wave


def _mix(notes: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """Overlay (start seconds, samples) notes."""
    length = max(round(start * RATE) + len(samples) for start, samples in notes)
    out = np.zeros(length)
    for start, samples in notes:
        offset = round(start * RATE)
        out[offset : offset + len(samples)] += samples
    return out


def _to_int16(wave: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(wave))) or 1.0
    return np.round(wave / peak * LEVEL * 32767).astype(np.int16)


def earcon(kind: EarconKind) -> np.ndarray:
    """The earcon ``kind`` as 16 kHz mono int16."""
    if kind == "listening":
        wave = _mix([(0.0, 0.7 * tone(660, 0.08)), (0.1, tone(990, 0.14))])
    elif kind == "pause":
        wave = _mix([(0.0, 0.7 * tone(440, 0.2, fade=0.04)), (0.22, tone(330, 0.32, fade=0.08))])
    elif kind == "timer":
        wave = _mix([(0.17 * i, tone(587, 0.11, fade=0.02)) for i in range(3)])
    elif kind == "chime":
        notes = ((1319, 1.0), (1047, 0.8), (784, 0.7))
        wave = _mix(
            [
                (0.2 * i, amp * tone(freq, 0.38, fade=0.005, decay=7.0, partials=_BELL_PARTIALS))
                for i, (freq, amp) in enumerate(notes)
            ]
        )
    else:
        raise AudioError(f"unknown earcon {kind!r}; expected one of {', '.join(KINDS)}")
    return _to_int16(wave)
