"""Trained detectors: `haven train --size small` end to end, loading, staleness, streaming.

Training runs once per session (about a minute and a half on two cores) into a temporary
models folder; the clips it synthesizes are cached in a temporary folder too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import chunks_from_array, read_wav
from assistant.cli_train import register
from assistant.config import Settings
from assistant.errors import ModelError
from assistant.listen.detector import Detectors, load_head
from assistant.listen.manifest import haven_train_is_stale

ROOT = Path(__file__).resolve().parent.parent
INTENTS = ROOT / "intents"
SHIPPED = ROOT / "models"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder made by the real CLI command at the small size."""
    root = tmp_path_factory.mktemp("train")
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--intents")
    register(parser.add_subparsers())
    args = parser.parse_args([
        "--data-dir", str(root / "data"), "--intents", str(INTENTS), "train", "--size", "small",
        "--seed", "1", "--models", str(root / "models"), "--cache", str(root / "cache"),
    ])
    assert args.func(args) == 0
    return root / "models"


def _say(tmp: Path, text: str, voice: list[str]) -> np.ndarray:
    raw, out = tmp / "raw.wav", tmp / "out.wav"
    if voice[0] == "flite":
        subprocess.run(["flite", "-voice", voice[1], "-t", text, "-o", str(raw)], check=True)
    else:
        subprocess.run(["espeak-ng", *voice, "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    return read_wav(out)


def _utterance(det: Detectors, clip: np.ndarray, replies: tuple[str, ...] = ()) -> list[str]:
    return _heard(det, clip, replies)[0]


def _heard(
    det: Detectors, clip: np.ndarray, replies: tuple[str, ...] = ()
) -> tuple[list[str], dict[str, tuple[str, float, float]]]:
    """Stream 2 s quiet, the clip, 0.6 s quiet; decide at the end of speech."""
    rng = np.random.default_rng(0)
    lead, tail = np.zeros(32000), np.zeros(9600)
    audio = np.concatenate([lead, clip, tail]) + rng.normal(0, 4, len(clip) + 41600)
    det.reset()
    for chunk in chunks_from_array(np.clip(audio, -32768, 32767).astype(np.int16)):
        det.feed(chunk)
    end = (32000 + len(clip)) / 16000
    found = det.decide(end, 2.0, replies)
    return [f"{d.kind}:{d.label}" for d in found], det.scores(end, 2.0)


def test_train_writes_detectors_and_manifest(trained: Path) -> None:
    folder = trained / "detectors"
    doc = json.loads((folder / "manifest.json").read_text())
    assert set(doc["detectors"]) == {"wake", "pause", "reply"}
    assert doc["size"] == "small" and doc["seed"] == 1 and doc["wake_name"] == "Haven"
    assert len(doc["data_hash"]) == 64 and doc["created"][:2] == "20"
    for info in doc["detectors"].values():
        assert 0 < info["threshold"] < 1
        assert info["validation"]["validation_positives"] > 0
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total < 5_000_000
    assert load_head(folder / "reply.npz").labels[0] == "none"


def test_staleness_follows_yaml_and_wake_name(trained: Path, tmp_path: Path) -> None:
    assert haven_train_is_stale(trained, INTENTS, Settings()) is None
    renamed = haven_train_is_stale(trained, INTENTS, Settings(wake_name="Juniper"))
    assert renamed is not None and "haven train" in renamed
    copy = tmp_path / "intents"
    shutil.copytree(INTENTS, copy)
    pause = copy / "en" / "intents" / "pause.yaml"
    pause.write_text(pause.read_text() + '          - "<pause_lead> recess"\n')
    changed = haven_train_is_stale(trained, copy, Settings())
    assert changed is not None and "changed" in changed
    missing = haven_train_is_stale(tmp_path / "nothing", INTENTS, Settings())
    assert missing is not None and "haven train" in missing


def test_missing_or_damaged_detectors_raise_model_error(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="haven train"):
        Detectors.from_dir(tmp_path)
    broken = tmp_path / "models"
    shutil.copytree(trained, broken)
    (broken / "detectors" / "pause.npz").write_bytes(b"not a detector")
    with pytest.raises(ModelError, match="haven train"):
        Detectors.from_dir(broken)


def test_small_detectors_stream_and_decide(trained: Path, tmp_path: Path) -> None:
    with Detectors.from_dir(trained) as det:
        clip = _say(tmp_path, "we need a pause", ["flite", "slt"])
        found = _utterance(det, clip)
        assert all(f.split(":")[0] in ("armed", "wake", "reply") for f in found)
        scores = det.scores((32000 + len(clip)) / 16000, 2.0)
        assert set(scores) == {"wake", "pause", "reply"}
        assert scores["pause"][1] > scores["wake"][1]
        assert det.cpu_per_audio_second < 0.15
    with Detectors.from_dir(trained, thresholds={"pause": 0.0, "wake": 1.01}) as det:
        found = _utterance(det, clip)
        assert "armed:pause" in found and "wake:wake" not in found


@pytest.mark.skipif(not (SHIPPED / "detectors" / "manifest.json").exists(),
                    reason="no shipped detectors")
def test_shipped_detectors_hear_their_phrases_and_not_small_talk(tmp_path: Path) -> None:
    voices = [["-v", "en-us+f3", "-s", "150"], ["flite", "rms"], ["-v", "en-gb", "-p", "40"]]
    with Detectors.from_dir(SHIPPED) as det:
        heard = {
            "armed:pause": [_utterance(det, _say(tmp_path, "we need a pause", v)) for v in voices],
            "wake:wake": [_utterance(det, _say(tmp_path, "hey Haven, start check-in", v))
                          for v in voices],
        }
        for want, runs in heard.items():
            assert sum(want in found for found in runs) >= 2, (want, runs)
        # Replies are the weakest head: most canonical replies are recognized, fewer fire.
        replies = ("I'm done", "yes", "no", "I'm ready", "repeat that", "five more minutes")
        intents = ("done", "yes", "no", "resume", "repeat", "extend")
        right = fired = 0
        for text, intent in zip(replies, intents, strict=True):
            for v in voices:
                found, scores = _heard(det, _say(tmp_path, text, v), intents)
                right += scores["reply"][0] == intent
                fired += f"reply:{intent}" in found
        assert right >= 0.75 * 18 and fired >= 0.5 * 18, (right, fired)
        quiet = [_utterance(det, _say(tmp_path, text, v), intents)
                 for text in ("the dishwasher is finally fixed", "did you call your sister")
                 for v in voices]
        assert sum(len(found) for found in quiet) <= 1, quiet
