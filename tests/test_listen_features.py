"""Speech embeddings: the openWakeWord 0.4.0 graphs run with onnxruntime, batch and stream."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import chunks_from_array, read_wav
from assistant.errors import ModelError
from assistant.listen import features
from assistant.listen.features import EmbeddingStream, SpeechEmbedder, end_sample, frames_for


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """'hey Haven, start check-in' spoken by espeak-ng, with silence around it."""
    out = tmp_path_factory.mktemp("speech") / "a.wav"
    raw = out.with_name("raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us+m3", "-w", str(raw), "hey Haven, start check-in"],
                   check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    clip = read_wav(out)
    rng = np.random.default_rng(0)
    pad = np.zeros(8000, dtype=np.int16)
    return (np.concatenate([pad, clip, pad]) + rng.integers(-3, 4, len(clip) + 16000)).astype(
        np.int16)


def test_resources_come_from_the_installed_wheel() -> None:
    folder = features.resource_dir()
    assert (folder / "melspectrogram.onnx").is_file()
    assert "openwakeword" in str(folder)


def test_missing_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"openwakeword==0\.4\.0"):
        features.resource_dir()


def test_stream_equals_whole_clip(speech: np.ndarray) -> None:
    embedder = SpeechEmbedder()
    whole = embedder.embed(speech)
    assert whole.shape == (frames_for(len(speech)), 96)
    stream = EmbeddingStream(embedder)
    for chunk in chunks_from_array(speech, chunk_ms=30):
        stream.push(chunk.to_array(), chunk.timestamp)
    frames, ends = stream.windows(0.0, 99.0, 1)
    assert len(frames) == len(whole)
    np.testing.assert_allclose(frames[:, 0], whole, atol=1e-4)
    assert ends[-1] == pytest.approx(end_sample(len(whole) - 1) / 16000)
    assert stream.cpu_seconds / stream.audio_seconds < 0.15


def test_speech_and_silence_embed_differently(speech: np.ndarray) -> None:
    embedder = SpeechEmbedder()
    talk = embedder.embed(speech)
    quiet = embedder.embed(np.random.default_rng(1).integers(-3, 4, len(speech)).astype(np.int16))
    assert np.linalg.norm(talk.mean(0) - quiet.mean(0)) > 1.0


def test_window_needs_enough_frames(speech: np.ndarray) -> None:
    stream = EmbeddingStream(SpeechEmbedder())
    stream.push(speech[:16000], 5.0)
    assert stream.window(99.0, 16) is None
    stream.push(speech[16000:], None)
    window = stream.window(stream.latest_end, 16)
    assert window is not None and window.shape == (16, 96)
    assert stream.origin == 5.0


def test_unused_path_is_a_path() -> None:
    assert isinstance(features.resource_dir(), Path)
