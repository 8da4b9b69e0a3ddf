"""Noise reduction before decoding: a short-time Wiener filter (numpy only).

The noise spectrum is estimated from the utterance itself: the VAD keeps a few
hundred milliseconds of pre-roll and the gaps between words, and steady noise (a fan,
a hum, hiss) fills every frame, so the quietest frames of the utterance show it. The
per-bin noise power is the mean of the quietest ``quiet_share`` of the frames (by
frame energy), corrected for the bias of picking quiet ones.

Each frame is then scaled per frequency bin by a Wiener gain whose a-priori SNR is
smoothed over time ("decision-directed", Ephraim and Malah 1984), which avoids most of
the warbling "musical noise" of plain spectral subtraction. A gain floor keeps some
of the noise, so the acoustic model is not fed holes. Clean audio passes nearly
unchanged: when the quiet frames are silent the gain is 1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenoiseConfig:
    """Knobs of the Wiener filter (chosen on espeak-ng and flite voices only)."""

    frame: int = 512
    """STFT frame length in samples (32 ms at 16 kHz)."""
    hop: int = 128
    """STFT hop in samples (75% overlap)."""
    quiet_share: float = 0.2
    """Share of the quietest frames whose mean spectrum is taken as the noise."""
    smoothing: float = 0.8
    """Decision-directed weight of the previous frame's clean-speech estimate."""
    gain_floor: float = 0.1
    """Lowest gain applied to any bin (0.1 is -20 dB)."""
    oversubtract: float = 1.0
    """Factor on the noise estimate (above 1 removes more noise and more speech)."""
    min_noise_dbfs: float = -70.0
    """Below this noise level (dB re full scale, per sample) the audio is left alone."""
    max_snr_db: float = 35.0
    """Above this SNR (loudest vs quietest ``quiet_share`` of frames) it is left alone:
    clean speech gains nothing and its quiet tails would be thinned."""


def _frames(x: np.ndarray, frame: int, hop: int) -> np.ndarray:
    count = 1 + (len(x) - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    return np.asarray(x[index])


def noise_spectrum(power: np.ndarray, quiet_share: float) -> np.ndarray:
    """Per-bin noise power from frame power spectra (frames x bins)."""
    energy = power.sum(axis=1)
    count = max(3, round(quiet_share * len(energy)))
    quiet = np.argsort(energy)[: min(count, len(energy))]
    # the quietest frames of pure noise are below its mean: about 1 dB for 20% of
    # 257-bin frames; correct per-bin by the ratio of the overall to the picked mean
    # only where the noise dominates (it cannot be known elsewhere), so a flat 1.12
    return np.asarray(power[quiet].mean(axis=0) * 1.12)


def wiener(samples: np.ndarray, config: DenoiseConfig | None = None) -> np.ndarray:
    """``samples`` (int16) with stationary noise reduced; same length and type."""
    cfg = config or DenoiseConfig()
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < cfg.frame * 4:
        return np.asarray(samples, dtype=np.int16)
    pad = cfg.frame
    tail = (-(len(x) + 2 * pad - cfg.frame)) % cfg.hop
    padded = np.concatenate([np.zeros(pad), x, np.zeros(pad + tail)])
    window = np.hanning(cfg.frame + 1)[:-1]
    spec = np.fft.rfft(_frames(padded, cfg.frame, cfg.hop) * window, axis=1)
    power = spec.real**2 + spec.imag**2
    inner = power[pad // cfg.hop : len(power) - (pad + tail) // cfg.hop]
    noise = noise_spectrum(inner if len(inner) >= 8 else power, cfg.quiet_share)
    noise_level = float(noise.sum()) / (cfg.frame * float(np.sum(window**2))) * 2.0
    dbfs = 10 * np.log10(max(noise_level, 1e-12) / 32768.0**2)
    energy = np.sort(inner.sum(axis=1) if len(inner) >= 8 else power.sum(axis=1))
    share = max(3, round(cfg.quiet_share * len(energy)))
    loud = float(energy[-share:].mean())
    if loud <= 0.0:  # digital silence: nothing to clean
        return np.asarray(samples, dtype=np.int16)
    snr = 10 * np.log10(loud / max(float(energy[:share].mean()), 1e-9))
    if dbfs < cfg.min_noise_dbfs or snr > cfg.max_snr_db:
        _LOG.debug("wiener: left alone (noise %.1f dBFS, SNR %.1f dB)", dbfs, snr)
        return np.asarray(samples, dtype=np.int16)
    noise = np.maximum(noise * cfg.oversubtract, 1e-6)
    gains = np.empty_like(power)
    previous = np.zeros(power.shape[1])
    alpha, floor = cfg.smoothing, cfg.gain_floor
    for t in range(len(power)):
        post = power[t] / noise
        prior = alpha * previous / noise + (1.0 - alpha) * np.maximum(post - 1.0, 0.0)
        gain = np.maximum(prior / (1.0 + prior), floor)
        gains[t] = gain
        previous = gain**2 * power[t]
    cleaned = np.fft.irfft(spec * gains, n=cfg.frame, axis=1) * window
    out = np.zeros(len(padded))
    norm = np.zeros(len(padded))
    for t in range(len(cleaned)):
        start = t * cfg.hop
        out[start : start + cfg.frame] += cleaned[t]
        norm[start : start + cfg.frame] += window**2
    out = out[pad : pad + len(x)] / np.maximum(norm[pad : pad + len(x)], 1e-3)
    _LOG.debug("wiener: noise %.1f dBFS over %d frames", dbfs, len(power))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)
