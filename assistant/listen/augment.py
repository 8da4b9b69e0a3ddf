"""Augmentation in numpy: level, reverb, coloured noise and babble at a set SNR.

Tempo and pitch changes are made by sox when a clip is rendered (see ``synth.Voice``);
everything here works on float arrays in int16 units and is driven by a numpy Generator,
so a seed makes it repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

RATE = 16000
NoiseKind = Literal["white", "pink", "brown"]
NOISE_KINDS: tuple[NoiseKind, ...] = ("white", "pink", "brown")


def rms(x: np.ndarray) -> float:
    """Root mean square of the loudest half-second-ish part (speech level, not pauses)."""
    data = np.asarray(x, dtype=np.float64)
    if len(data) == 0:
        return 0.0
    frames = data[: len(data) // 400 * 400].reshape(-1, 400) if len(data) >= 400 else data[None]
    energy = np.sqrt(np.mean(frames**2, axis=1))
    top = np.sort(energy)[len(energy) // 2 :]
    return float(np.sqrt(np.mean(top**2))) if len(top) else 0.0


def coloured_noise(kind: NoiseKind, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white (flat), pink (1/f) or brown (1/f^2) noise of ``n`` samples."""
    white = rng.standard_normal(n)
    if kind == "white" or n < 2:
        out = white
    else:
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1.0 / RATE)
        freqs[0] = freqs[1]
        power = 1.0 if kind == "pink" else 2.0
        spectrum /= freqs ** (power / 2.0)
        out = np.fft.irfft(spectrum, n)
    scale = np.sqrt(np.mean(out**2)) or 1.0
    return np.asarray(out / scale, dtype=np.float64)


def mix_at_snr(
    signal: np.ndarray, noise: np.ndarray, snr_db: float, reference: float | None = None
) -> np.ndarray:
    """``signal`` plus ``noise`` scaled so the speech-to-noise ratio is ``snr_db``.

    ``noise`` is tiled or cut to the signal's length; ``reference`` is the speech level to
    measure against (the signal's own when None).
    """
    sig = np.asarray(signal, dtype=np.float64)
    if len(sig) == 0:
        return sig
    reps = int(np.ceil(len(sig) / max(1, len(noise))))
    bed = np.tile(np.asarray(noise, dtype=np.float64), reps)[: len(sig)]
    level = rms(sig) if reference is None else reference
    noise_level = float(np.sqrt(np.mean(bed**2))) or 1.0
    return sig + bed * (level / noise_level) * 10 ** (-snr_db / 20.0)


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float | None = None) -> np.ndarray:
    """Convolve with a synthetic room response (decaying noise, RT60 0.15-0.7 s)."""
    t60 = float(rng.uniform(0.15, 0.7)) if rt60 is None else rt60
    n = int(RATE * t60)
    t = np.arange(n) / RATE
    response = rng.standard_normal(n) * np.exp(-6.9 * t / t60)
    response[0] = 1.0 + abs(response[0])
    response[: int(0.004 * RATE)] *= np.linspace(1.0, 0.3, int(0.004 * RATE))
    response /= np.sqrt(np.sum(response**2))
    size = 1 << int(np.ceil(np.log2(len(x) + n)))
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(response, size), size)[: len(x)]
    mix = float(rng.uniform(0.3, 1.0))
    out = (1 - mix) * np.asarray(x, dtype=np.float64) + mix * wet
    level = rms(x)
    return out * (level / (rms(out) or 1.0))


def babble(
    clips: Sequence[np.ndarray], n: int, rng: np.random.Generator, voices: int | None = None
) -> np.ndarray:
    """Several overlapping sentences (a TV or another conversation), unit RMS, ``n`` long."""
    count = int(rng.integers(3, 7)) if voices is None else voices
    out = np.zeros(n)
    for _ in range(count):
        pos = 0 - int(rng.integers(0, RATE))
        gain = float(rng.uniform(0.5, 1.0))
        while pos < n and clips:
            clip = np.asarray(clips[int(rng.integers(len(clips)))], dtype=np.float64)
            clip = clip / (rms(clip) or 1.0)
            lo, hi = max(0, pos), min(n, pos + len(clip))
            if hi > lo:
                out[lo:hi] += gain * clip[lo - pos : hi - pos]
            pos += len(clip) + int(rng.integers(0, RATE // 3))
    scale = np.sqrt(np.mean(out**2)) or 1.0
    return out / scale


def set_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale to a speech level of ``dbfs`` (relative to int16 full scale)."""
    level = rms(x) or 1.0
    return np.asarray(x, dtype=np.float64) * (32767 * 10 ** (dbfs / 20.0) / level)


def to_int16(x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Clip to int16, with a dither of about one bit (no runs of digital zeros)."""
    data = np.asarray(x, dtype=np.float64)
    if rng is not None:
        data = data + rng.uniform(-1.5, 1.5, len(data))
    return np.clip(np.round(data), -32768, 32767).astype(np.int16)
