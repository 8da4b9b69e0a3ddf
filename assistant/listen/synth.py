"""Training speech: many synthetic voices, rendered once and cached outside the repo.

Three engines: espeak-ng (voices, variants, pitch and speed), flite (four voices, duration
stretch and pitch target) for training, and festival (kal, ked and the slt HTS voice),
which training never uses: it is held out for the benchmark. Every rendering goes through
sox to 16 kHz mono 16-bit, with an optional tempo and pitch shift on the way.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..audio import read_wav, write_wav
from ..errors import AudioError

_LOG = logging.getLogger(__name__)

Engine = Literal["espeak", "flite", "festival"]
CACHE_VERSION = "1"
"""Bumped when the way clips are rendered changes, so old cached clips are not reused."""

ESPEAK_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5")
FLITE_VOICES = ("slt", "rms", "awb", "kal16")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


@dataclass(frozen=True)
class Voice:
    """One way of speaking: an engine, a voice and its settings."""

    engine: Engine
    """Which synthesizer."""
    name: str
    """Engine voice (espeak-ng ``en-us+m3``, flite ``slt``, festival ``kal_diphone``)."""
    pitch: int = 50
    """espeak-ng pitch 0-99; for flite and festival, the mean F0 in Hz (0: the voice's own)."""
    speed: float = 1.0
    """Speaking rate relative to the voice's normal one (espeak-ng: 175 wpm x speed)."""
    tempo: float = 1.0
    """sox tempo factor applied afterwards (1: none)."""
    semitones: float = 0.0
    """sox pitch shift applied afterwards, in semitones (0: none)."""

    @property
    def key(self) -> str:
        """Stable text naming every setting (part of the cache key)."""
        return (
            f"{self.engine}|{self.name}|{self.pitch}|{self.speed:.3f}|"
            f"{self.tempo:.3f}|{self.semitones:.2f}"
        )


def haven_voice(rate_wpm: int = 165, name: str = "en-us") -> Voice:
    """Haven's own voice as the speaker renders it (pyttsx3 on espeak-ng): plain, no variant."""
    return Voice("espeak", name or "en-us", 50, rate_wpm / 175.0)


def random_training_voice(rng: np.random.Generator, wild: float = 0.5) -> Voice:
    """A random espeak-ng or flite voice with random settings (never festival).

    ``wild`` is the share of voices that also get a sox tempo or pitch shift.
    """
    tempo = float(rng.uniform(0.85, 1.2)) if rng.random() < wild else 1.0
    semis = float(rng.uniform(-2.5, 2.5)) if rng.random() < wild else 0.0
    if rng.random() < 0.65:
        base = ESPEAK_VOICES[int(rng.integers(len(ESPEAK_VOICES)))]
        variant = ESPEAK_VARIANTS[int(rng.integers(len(ESPEAK_VARIANTS)))]
        return Voice(
            "espeak",
            base + variant,
            int(rng.integers(25, 80)),
            round(float(rng.uniform(0.72, 1.15)), 2),
            round(tempo, 2),
            round(semis, 1),
        )
    name = FLITE_VOICES[int(rng.integers(len(FLITE_VOICES)))]
    f0 = 0 if rng.random() < 0.4 else int(rng.integers(85, 190))
    return Voice(
        "flite", name, f0, round(float(rng.uniform(0.8, 1.25)), 2), round(tempo, 2), round(semis, 1)
    )


def festival_voices() -> list[Voice]:
    """The held-out voices: each festival voice at three speeds.

    The HTS voice ignores festival's duration stretch, so its speed is a sox tempo change.
    """
    voices = []
    for name in FESTIVAL_VOICES:
        for speed in (0.9, 1.0, 1.15):
            if name.endswith("_hts"):
                voices.append(Voice("festival", name, 0, 1.0, tempo=speed))
            else:
                voices.append(Voice("festival", name, 0, speed))
    return voices


def _command(voice: Voice, text: str, raw: Path, work: Path) -> list[str]:
    if voice.engine == "espeak":
        wpm = max(80, min(450, round(175 * voice.speed)))
        return ["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(wpm),
                "-w", str(raw), text]
    if voice.engine == "flite":
        cmd = ["flite", "-voice", voice.name, "-t", text, "-o", str(raw),
               "--setf", f"duration_stretch={1.0 / voice.speed:.3f}"]
        if voice.pitch:
            cmd += ["--setf", f"int_f0_target_mean={voice.pitch}"]
        return cmd
    script = work / "text.txt"
    script.write_text(text + "\n", encoding="utf-8")
    cmd = ["text2wave", "-eval", f"(voice_{voice.name})",
           "-eval", f"(Parameter.set 'Duration_Stretch {1.0 / voice.speed:.3f})"]
    return [*cmd, str(script), "-o", str(raw)]


def render(text: str, voice: Voice) -> np.ndarray:
    """Speak ``text`` with ``voice``: 16 kHz mono int16 samples (no cache)."""
    with tempfile.TemporaryDirectory(prefix="haven-synth-") as tmp:
        work = Path(tmp)
        raw, out = work / "raw.wav", work / "out.wav"
        effects: list[str] = []
        if abs(voice.tempo - 1.0) > 1e-3:
            effects += ["tempo", "-s", f"{voice.tempo:.3f}"]
        if abs(voice.semitones) > 1e-3:
            effects += ["pitch", f"{100 * voice.semitones:.0f}"]
        try:
            subprocess.run(_command(voice, text, raw, work), check=True, capture_output=True,
                           timeout=60)
            subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out),
                            *effects], check=True, capture_output=True, timeout=60)
        except FileNotFoundError as exc:
            raise AudioError(f"{exc.filename} is not installed; apt-get install espeak-ng "
                             "flite festival festvox-kallpc16k sox") from exc
        except subprocess.CalledProcessError as exc:
            raise AudioError(f"speech synthesis failed for {voice.key}: "
                             f"{exc.stderr.decode(errors='replace')[-300:]}") from exc
        return read_wav(out)


@dataclass(frozen=True)
class ClipCache:
    """Rendered clips as WAV files under one folder, named by a hash of text and voice."""

    root: Path
    """Cache folder (never inside the repository)."""

    def path(self, text: str, voice: Voice) -> Path:
        """Where the clip of ``text`` in ``voice`` is kept."""
        digest = hashlib.sha1(f"{CACHE_VERSION}|{voice.key}|{text}".encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.wav"

    def get(self, text: str, voice: Voice) -> np.ndarray:
        """The clip, rendered now if it is not cached yet."""
        path = self.path(text, voice)
        if path.exists():
            try:
                return read_wav(path)
            except AudioError:
                _LOG.warning("re-rendering damaged cached clip %s", path)
        samples = render(text, voice)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp_path = Path(tmp.name)
        write_wav(tmp_path, samples)
        tmp_path.replace(path)
        return samples


def render_many(
    jobs: Sequence[tuple[str, Voice]],
    cache: ClipCache,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """Render (text, voice) jobs, at most ``workers`` synthesizers at a time, in job order."""
    workers = max(1, min(2, workers))
    results: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="haven-synth") as pool:
        for done, clip in enumerate(pool.map(lambda job: cache.get(*job), jobs), start=1):
            results.append(clip)
            if progress is not None and (done % 1000 == 0 or done == len(jobs)):
                progress(done, len(jobs))
    return results


def engines_missing(festival: bool = False) -> list[str]:
    """Programs synthesis needs that are not on PATH."""
    needed = ["espeak-ng", "flite", "sox"] + (["text2wave"] if festival else [])
    return [name for name in needed if shutil.which(name) is None]
