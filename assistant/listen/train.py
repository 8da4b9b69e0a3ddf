"""``haven train``: synthesize speech, build scenes, fit one small head per detector.

Deterministic for a seed: every random choice comes from numpy Generators seeded from it,
and the work is split so the order of parallel jobs never matters. Rendered clips are
cached outside the repository; the detectors and a manifest go to ``models/detectors/``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import LEAD_INS, REPLY_INTENTS, Phrases, build_phrases
from .detector import END_SPAN, FRAMES, WAKE_SPAN, Head, save_head
from .features import RATE, SpeechEmbedder, end_sample
from .manifest import RECIPE, data_hash, detectors_dir, write_manifest
from .mlp import TrainSettings, fit
from .negatives import couple_sentences, fortune_sentences
from .scenes import Room, Scene, build_scene, noise_scene, trim
from .synth import ClipCache, Voice, haven_voice, random_training_voice, render_many

_LOG = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Size:
    """How much speech one training run makes."""

    wake: int
    """Wake phrase scenes."""
    pause: int
    """Pause phrase scenes."""
    reply: int
    """Scenes per reply intent."""
    couple_voices: int
    """Voices each everyday sentence is spoken in."""
    fortunes: int
    """Fortunes sentences spoken (one voice each)."""
    prompts: int
    """Haven prompts spoken in Haven's voice."""
    noise: int
    """Scenes of noise, babble or Haven talking alone."""
    epochs: int
    """Training epochs per head."""


SIZES = {
    "small": Size(wake=160, pause=200, reply=30, couple_voices=1, fortunes=150, prompts=60,
                  noise=40, epochs=8),
    "full": Size(wake=1300, pause=1400, reply=220, couple_voices=3, fortunes=2300, prompts=330,
                 noise=250, epochs=12),
}
FA_BUDGET = {"wake": 2.5, "pause": 5.0, "reply": 2.5}
"""Validation false fires per hour each head's threshold allows (the pause, tuned for
recall, gets the most; the lead confirms it with the grammar)."""


@dataclass(frozen=True)
class TrainConfig:
    """One ``haven train`` run."""

    lang_dir: Path
    """Language folder of the intents (``intents/en``)."""
    models_dir: Path
    """Models folder; detectors go to its ``detectors/``."""
    cache_dir: Path
    """Where rendered clips are cached (outside the repository)."""
    wake_name: str = "Haven"
    """The name that addresses Haven."""
    size: str = "full"
    """A key of SIZES."""
    seed: int = 0
    """Seed of every random choice."""
    workers: int = 2
    """Synthesizers and embedders run at once (at most 2)."""
    haven_rate: int = 165
    """Haven's speaking rate (its own voice is a training negative)."""
    partners: tuple[str, ...] = ("Sam", "Alex")
    """Names put into Haven's prompts."""


@dataclass(frozen=True)
class TrainResult:
    """What a run made."""

    manifest: dict[str, Any]
    """The manifest written beside the detectors."""
    files: tuple[Path, ...]
    """Detector files and the manifest."""
    seconds: float
    """Wall time of the run."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage."""


@dataclass(frozen=True)
class _Item:
    """One planned utterance: its texts in one voice, and its role."""

    texts: tuple[str, ...]
    voice: Voice
    kind: str
    label: str
    validation: bool


def _val_text(text: str, share: float = 0.15) -> bool:
    digest = hashlib.sha1(f"val|{text.lower()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def _voice(rng: np.random.Generator, haven: Voice) -> Voice:
    while True:
        voice = random_training_voice(rng)
        plain = voice.engine == "espeak" and "+" not in voice.name
        if not (plain and voice.name == haven.name and abs(voice.pitch - 50) < 8):
            return voice


def plan(phrases: Phrases, size: Size, seed: int, haven: Voice) -> list[_Item]:
    """Every utterance of a run, in a fixed order."""
    rng = np.random.default_rng([seed, 1])
    items: list[_Item] = []

    def pick(seq: Sequence[str]) -> str:
        return seq[int(rng.integers(len(seq)))]

    for _ in range(size.wake):
        wake = pick(phrases.wake)
        texts = (wake, pick(phrases.commands_train)) if rng.random() < 0.8 else (wake,)
        items.append(_Item(texts, _voice(rng, haven), "wake", "wake", bool(rng.random() < 0.15)))
    couple = couple_sentences()
    for _ in range(size.pause):
        phrase, draw = pick(phrases.pause), rng.random()
        said: tuple[str, ...] = (phrase,)
        if draw < 0.25:
            said = (pick(LEAD_INS), phrase)
        elif draw < 0.4:
            said = (pick(couple), phrase)
        items.append(_Item(said, _voice(rng, haven), "pause", "pause", bool(rng.random() < 0.15)))
    for label in REPLY_INTENTS:
        for _ in range(size.reply):
            items.append(_Item((pick(phrases.replies[label]),), _voice(rng, haven), "reply", label,
                               bool(rng.random() < 0.15)))
    for text in couple:
        for _ in range(size.couple_voices):
            items.append(_Item((text,), _voice(rng, haven), "negative", "", _val_text(text)))
    fortunes = fortune_sentences("train")
    for i in rng.choice(len(fortunes), min(size.fortunes, len(fortunes)), replace=False):
        text = fortunes[int(i)]
        items.append(_Item((text,), _voice(rng, haven), "negative", "", _val_text(text)))
    prompts = list(phrases.prompts)
    for i in rng.choice(len(prompts), min(size.prompts, len(prompts)), replace=False):
        items.append(_Item((prompts[int(i)],), haven, "haven", "", _val_text(prompts[int(i)])))
    return items


def _scenes(items: list[_Item], clips: dict[tuple[str, Voice], np.ndarray], size: Size,
            seed: int) -> list[Scene]:
    talk = [trim(clips[(it.texts[0], it.voice)]) for it in items
            if it.kind == "negative" and not it.validation][:400]
    haven = [trim(clips[(it.texts[0], it.voice)]) for it in items if it.kind == "haven"]
    room = Room(talk, haven)
    scenes = []
    for i, it in enumerate(items):
        rng = np.random.default_rng([seed, 2, i])
        parts = [clips[(text, it.voice)] for text in it.texts]
        kind: Any = "negative" if it.kind == "haven" else it.kind
        share = 0.25 if it.kind == "pause" else 0.1
        scene = build_scene(parts, kind, it.label, room, rng, it.validation, share)
        scenes.append(scene)
    for j in range(size.noise):
        rng = np.random.default_rng([seed, 3, j])
        scenes.append(noise_scene(room, rng, bool(rng.random() < 0.15)))
    return scenes


def embed_all(scenes: Sequence[Scene], workers: int) -> list[np.ndarray]:
    """Embeddings of every scene, on at most two named threads."""
    local = threading.local()

    def one(scene: Scene) -> np.ndarray:
        if not hasattr(local, "embedder"):
            local.embedder = SpeechEmbedder(threads=1)
        embedder: SpeechEmbedder = local.embedder
        return embedder.embed(scene.audio)

    with ThreadPoolExecutor(max_workers=max(1, min(2, workers)),
                            thread_name_prefix="haven-embed") as pool:
        return list(pool.map(one, scenes))


def _frames_in(emb: np.ndarray, lo: float, hi: float, stride: int = 1) -> np.ndarray:
    ends = np.array([end_sample(k) / RATE for k in range(len(emb))])
    ks = np.flatnonzero((ends >= lo) & (ends <= hi))
    ks = ks[ks >= FRAMES - 1]
    return ks[::stride]


def _regions(head: str, scene: Scene, emb: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(positive frames, negative frames) a scene gives one head (window end indices)."""
    empty = np.zeros(0, dtype=int)
    if head == "wake":
        scan = _frames_in(emb, scene.start + WAKE_SPAN[0],
                          min(scene.start + WAKE_SPAN[1], scene.end + END_SPAN[1]))
        if scene.kind == "wake":
            return _frames_in(emb, scene.wake_end + 0.05, scene.wake_end + 0.45), empty
        extra = _frames_in(emb, 0, 99.0, stride=4)
        return empty, np.union1d(scan, extra)
    end = _frames_in(emb, scene.end + END_SPAN[0] - 0.05, scene.end + END_SPAN[1] + 0.05)
    if head == scene.kind:
        return end, empty
    inner = _frames_in(emb, scene.start + 0.5, scene.end + END_SPAN[1])
    return empty, np.union1d(end, inner)


def _utterance_windows(head: str, scene: Scene, emb: np.ndarray) -> np.ndarray:
    """Frames a live decision would score (as ``Detectors.scores`` picks them)."""
    if head == "wake":
        return _frames_in(emb, scene.start + WAKE_SPAN[0],
                          min(scene.start + WAKE_SPAN[1], scene.end + END_SPAN[1]))
    return _frames_in(emb, scene.end + END_SPAN[0], scene.end + END_SPAN[1])


def _stack(emb: np.ndarray, frames: np.ndarray) -> np.ndarray:
    return np.stack([emb[k - FRAMES + 1 : k + 1] for k in frames]) if len(frames) else np.zeros(
        (0, FRAMES, emb.shape[1]), dtype=np.float32)


def pick_threshold(neg: np.ndarray, hours: float, budget: float) -> float:
    """Lowest threshold (at least 0.5) with at most ``budget`` validation fires per hour."""
    allowed = int(budget * hours)
    ranked = np.sort(neg)[::-1]
    above = float(ranked[allowed]) + 1e-4 if len(ranked) > allowed else 0.0
    return float(min(0.999, max(0.5, above)))


def fit_head(name: str, kind: str, labels: tuple[str, ...], scenes: Sequence[Scene],
             embs: Sequence[np.ndarray], size: Size, seed: int) -> tuple[Head, dict[str, Any]]:
    """Fit one head on the training scenes; threshold and metrics from the validation ones."""
    rng = np.random.default_rng([seed, 4, len(name)])
    xs, ys = [], []
    for scene, emb in zip(scenes, embs, strict=True):
        if scene.validation:
            continue
        pos, neg = _regions(name, scene, emb, rng)
        index = labels.index(scene.label) if scene.label in labels else 0
        xs += [_stack(emb, pos), _stack(emb, neg)]
        ys += [np.full(len(pos), index), np.zeros(len(neg), dtype=int)]
    x, y = np.concatenate(xs), np.concatenate(ys)
    mlp = fit(x, y, len(labels), TrainSettings(epochs=size.epochs), seed)
    head = Head(name, kind, labels, mlp, 0.5)  # type: ignore[arg-type]
    pos_scores, neg_scores, right, neg_hours = [], [], [], 0.0
    for scene, emb in zip(scenes, embs, strict=True):
        if not scene.validation:
            continue
        label, score, _ = head.best(_stack(emb, _utterance_windows(name, scene, emb)))
        if scene.label in labels[1:] and scene.kind != "negative":
            pos_scores.append(score)
            right.append(label == scene.label)
        else:
            neg_scores.append(score)
            neg_hours += (scene.end - scene.start + 0.5) / 3600
    pos_arr, neg_arr = np.array(pos_scores), np.array(neg_scores)
    threshold = pick_threshold(neg_arr, neg_hours, FA_BUDGET[name])
    hits = (pos_arr >= threshold) & np.array(right, dtype=bool)
    metrics = {
        "train_windows": len(x),
        "train_positive_windows": int((y > 0).sum()),
        "validation_positives": len(pos_arr),
        "validation_recall": round(float(hits.mean()) if len(hits) else 0.0, 4),
        "validation_negatives": len(neg_arr),
        "validation_negative_hours": round(neg_hours, 3),
        "validation_false_fires": int((neg_arr >= threshold).sum()),
    }
    return Head(name, kind, labels, mlp, threshold), metrics  # type: ignore[arg-type]


def train(config: TrainConfig, progress: Progress | None = None) -> TrainResult:
    """Run the whole pipeline and write the detectors; returns what was made."""
    say = progress or (lambda _msg: None)
    began = time.monotonic()
    timings: dict[str, float] = {}
    size = SIZES[config.size]
    phrases = build_phrases(config.lang_dir, config.wake_name, config.partners)
    haven = haven_voice(config.haven_rate)
    items = plan(phrases, size, config.seed, haven)
    jobs = list(dict.fromkeys((text, it.voice) for it in items for text in it.texts))
    say(f"synthesizing {len(jobs)} clips ({config.size}) with up to 2 voices at once")
    rendered = render_many(jobs, ClipCache(config.cache_dir), config.workers,
                           lambda done, total: say(f"  {done}/{total} clips"))
    clips = dict(zip(jobs, rendered, strict=True))
    timings["synthesis"] = time.monotonic() - began
    scenes = _scenes(items, clips, size, config.seed)
    audio_hours = sum(len(s.audio) for s in scenes) / RATE / 3600
    say(f"embedding {len(scenes)} scenes ({audio_hours:.2f} h of audio)")
    mark = time.monotonic()
    embs = embed_all(scenes, config.workers)
    timings["embedding"] = time.monotonic() - mark
    mark = time.monotonic()
    out_dir = detectors_dir(config.models_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = [
        ("wake", "wake", ("none", "wake")),
        ("pause", "armed", ("none", "pause")),
        ("reply", "reply", ("none", *REPLY_INTENTS)),
    ]
    detectors: dict[str, Any] = {}
    files: list[Path] = []
    for name, kind, labels in specs:
        say(f"training the {name} detector")
        head, metrics = fit_head(name, kind, labels, scenes, embs, size, config.seed)
        path = out_dir / f"{name}.npz"
        save_head(path, head)
        files.append(path)
        detectors[name] = {"file": path.name, "kind": kind, "labels": list(labels),
                           "threshold": round(head.threshold, 4), "validation": metrics}
    timings["training"] = time.monotonic() - mark
    doc = {
        "recipe": RECIPE,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_hash": data_hash(config.lang_dir, config.wake_name),
        "wake_name": config.wake_name,
        "size": config.size,
        "seed": config.seed,
        "clips": len(jobs),
        "scenes": len(scenes),
        "audio_hours": round(audio_hours, 3),
        "train_seconds": round(time.monotonic() - began, 1),
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "detectors": detectors,
    }
    files.append(write_manifest(config.models_dir, doc))
    return TrainResult(doc, tuple(files), time.monotonic() - began, timings)
