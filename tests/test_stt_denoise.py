"""The Wiener noise reduction in front of pocketsphinx, and the decision's evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.intents import IntentSet
from assistant.stt.decide import Tuning, decide
from assistant.stt.denoise import DenoiseConfig, wiener

RATE = 16000
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def intents() -> IntentSet:
    return IntentSet.from_dir(ROOT / "intents" / "en")


def _voiced(seconds: float, seed: int = 0) -> np.ndarray:
    """A speech-like signal: harmonics of a gliding pitch, in syllable-like bursts."""
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) ** 2
    envelope[: RATE // 2] = 0  # leading non-speech, as the VAD's pre-roll keeps
    rng = np.random.default_rng(seed)
    return np.asarray(voice * envelope * 4000 * (1 + 0.1 * rng.standard_normal(len(t))))


def _snr(reference: np.ndarray, other: np.ndarray) -> float:
    error = other.astype(np.float64) - reference
    return float(10 * np.log10(np.mean(reference**2) / np.mean(error**2)))


def test_white_noise_is_reduced() -> None:
    clean = _voiced(2.5)
    noise = np.random.default_rng(1).normal(0, 1, len(clean))
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (5 / 10))
    noisy = np.clip(np.round(clean + noise), -32768, 32767).astype(np.int16)
    cleaned = wiener(noisy)
    assert cleaned.dtype == np.int16 and len(cleaned) == len(noisy)
    assert _snr(clean, cleaned) > _snr(clean, noisy) + 4.0


def test_clean_audio_is_left_alone() -> None:
    clean = np.round(_voiced(2.0)).astype(np.int16)
    assert np.array_equal(wiener(clean), clean)
    silent_gaps = clean.copy()
    silent_gaps[::7] = 0
    assert np.array_equal(wiener(silent_gaps), silent_gaps)


def test_short_or_empty_input_passes_through() -> None:
    short = np.arange(100, dtype=np.int16)
    assert np.array_equal(wiener(short), short)
    assert len(wiener(np.zeros(0, dtype=np.int16))) == 0


def test_settings_are_honoured() -> None:
    clean = _voiced(2.0)
    noisy = np.round(clean + np.random.default_rng(2).normal(0, 800, len(clean))).astype(np.int16)
    gentle = wiener(noisy, DenoiseConfig(gain_floor=0.9))
    strong = wiener(noisy, DenoiseConfig(gain_floor=0.05))
    assert np.std(gentle[: RATE // 2]) > 2 * np.std(strong[: RATE // 2])
    untouched = wiener(noisy, DenoiseConfig(max_snr_db=-100.0))
    assert np.array_equal(untouched, noisy)


def test_recognizer_tuning_denoises_by_default() -> None:
    assert Tuning().denoise == DenoiseConfig()


def test_evidence_is_reported_but_does_not_decide(intents: IntentSet) -> None:
    phrase = "we need a pause"
    allowed = set(intents.names)
    plain = decide(phrase, "the weather was nice", intents, allowed, Tuning())
    with_evidence = decide(
        phrase, "the weather was nice", intents, allowed, Tuning(), {"score_gap": 3.0}
    )
    assert plain.accepted == with_evidence.accepted
    assert with_evidence.scores["score_gap"] == 3.0
    assert with_evidence.scores["agreement"] == plain.scores["agreement"]
