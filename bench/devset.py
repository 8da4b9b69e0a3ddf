"""The spoken dev set, generated at benchmark time (never committed).

Commands are sampled from the intents' own sentences and spoken by several voice
families: espeak-ng variants and flite voices (used for tuning) and festival voices
(held out: never used to choose any threshold). Each clip is also mixed with white,
pink or brown noise at 20, 10 and 5 dB SNR. Non-command speech is the ordinary talk
in ``bench/data/ordinary.txt`` (trigger words out of context) plus, when installed,
short lines from Debian's fortunes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio import RATE, read_wav, write_wav
from assistant.intents import IntentSet
from assistant.stt.grammar import build_grammar

_LOG = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
FORTUNES = Path("/usr/share/games/fortunes")

VOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "espeak-us-m3": ("espeak", ("espeak-ng", "-v", "en-us+m3", "-s", "150")),
    "espeak-us-f2": ("espeak", ("espeak-ng", "-v", "en-us+f2", "-s", "150")),
    "espeak-gb-rp": ("espeak", ("espeak-ng", "-v", "en-gb-x-rp", "-s", "160")),
    "flite-slt": ("flite", ("flite", "-voice", "slt")),
    "flite-rms": ("flite", ("flite", "-voice", "rms")),
    "flite-awb": ("flite", ("flite", "-voice", "awb")),
    "festival-kal": ("festival", ("text2wave", "-eval", "(voice_kal_diphone)")),
    "festival-ked": ("festival", ("text2wave", "-eval", "(voice_ked_diphone)")),
    "festival-slt-hts": ("festival", ("text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)")),
}
"""Voice -> (family, command). festival is the held-out family."""

HELD_OUT = "festival"
SNRS: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)
NOISES = ("whitenoise", "pinknoise", "brownnoise")
_FESTIVAL_DIRS = {
    "festival-kal": "kal_diphone",
    "festival-ked": "ked_diphone",
    "festival-slt-hts": "cmu_us_slt_arctic_hts",
}


@dataclass(frozen=True)
class Clip:
    """One dev-set recording."""

    path: str
    """WAV file (16 kHz mono)."""
    kind: str
    """"command" or "ordinary"."""
    text: str
    """What was said."""
    voice: str
    """Voice name."""
    family: str
    """Voice family (espeak, flite, festival)."""
    snr: float | None = None
    """Signal-to-noise ratio in dB (None: clean)."""
    intent: str | None = None
    """Expected intent (commands)."""
    slots: dict[str, Any] = field(default_factory=dict)
    """Expected slots (commands)."""
    seconds: float = 0.0
    """Clip length."""


def available_voices() -> list[str]:
    """Voices whose synthesizer (and, for festival, voice data) is installed."""
    found = []
    for name, (family, cmd) in VOICES.items():
        if shutil.which(cmd[0]) is None:
            continue
        roots = Path("/usr/share/festival/voices").glob("*")
        if family == "festival" and not any((p / _FESTIVAL_DIRS[name]).is_dir() for p in roots):
            continue
        found.append(name)
    return found


def command_sentences(
    intents: IntentSet, allowed: Iterable[str], per_intent: int, seed: int = 0
) -> list[tuple[str, str, dict[str, Any]]]:
    """(intent, sentence, slots) sampled from each allowed intent's own sentences."""
    rng = random.Random(seed)
    grammar = build_grammar(intents, set(allowed))
    by_intent: dict[str, list[str]] = {}
    for intent, text in grammar.sentences(values_per_slot=1):
        by_intent.setdefault(intent, []).append(text)
    out = []
    for intent in sorted(by_intent):
        texts = sorted(set(by_intent[intent]))
        for text in rng.sample(texts, min(per_intent, len(texts))):
            match = intents.match(text)
            if match is None or match.intent != intent:
                continue
            out.append((intent, text, dict(match.slots)))
    return out


def ordinary_sentences(fortunes: int = 0, seed: int = 0) -> list[str]:
    """The ordinary-talk list, plus ``fortunes`` short one-line fortunes if installed."""
    lines = [
        line.strip()
        for line in (DATA / "ordinary.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if fortunes and FORTUNES.is_dir():
        pool = []
        for path in sorted(FORTUNES.iterdir()):
            if path.suffix or path.name in ("art", "ascii-art"):
                continue
            text = path.read_text(encoding="utf-8", errors="ignore")
            for entry in text.split("\n%\n"):
                entry = " ".join(entry.split())
                if 20 <= len(entry) <= 90 and re.fullmatch(r"[A-Za-z ,.'?!-]+", entry):
                    pool.append(entry)
        lines += random.Random(seed).sample(pool, min(fortunes, len(pool)))
    return lines


def speak(text: str, voice: str, path: Path, pad: float = 0.5) -> None:
    """Synthesize ``text`` to a 16 kHz mono WAV with ``pad`` seconds of silence around it."""
    family, cmd = VOICES[voice]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if family == "espeak":
            subprocess.run([*cmd, "-w", str(raw), text], check=True, capture_output=True)
        elif family == "flite":
            subprocess.run([*cmd, "-t", text, "-o", str(raw)], check=True, capture_output=True)
        else:
            subprocess.run(
                [*cmd, "-o", str(raw)], input=text.encode(), check=True, capture_output=True
            )
        samples = read_wav(raw)
    silence = np.zeros(int(RATE * pad), dtype=np.int16)
    write_wav(path, np.concatenate([silence, samples, silence]))


def add_noise(clean: Path, out: Path, snr_db: float, kind: str, seed: int) -> None:
    """Mix sox-made noise of ``kind`` into ``clean`` at ``snr_db`` (speech-active power)."""
    speech = read_wav(clean).astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        noise_path = Path(tmp) / "noise.wav"
        subprocess.run(
            ["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(noise_path),
             "synth", f"{len(speech) / RATE:.3f}", kind, "vol", "0.5"],
            check=True,
            capture_output=True,
        )
        noise = read_wav(noise_path).astype(np.float64)
    noise = np.resize(noise, len(speech))
    rng = np.random.default_rng(seed)
    noise = np.roll(noise, int(rng.integers(0, max(1, len(noise)))))
    loud = np.abs(speech) > 0.02 * (np.abs(speech).max() or 1.0)
    p_speech = float(np.mean(speech[loud] ** 2)) if loud.any() else 1.0
    p_noise = float(np.mean(noise**2)) or 1.0
    noise *= np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    write_wav(out, np.clip(np.round(speech + noise), -32768, 32767).astype(np.int16))


def _key(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def build(
    out_dir: Path,
    intents: IntentSet,
    allowed: Iterable[str],
    per_intent: int = 4,
    voices: Sequence[str] | None = None,
    snrs: Sequence[float | None] = SNRS,
    ordinary_voices: Sequence[str] = ("espeak-us-m3", "flite-slt", "festival-kal"),
    fortunes: int = 60,
    workers: int = 2,
    seed: int = 0,
) -> list[Clip]:
    """Make (or reuse) every clip; return them and write ``manifest.jsonl``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    voices = [v for v in (voices or available_voices()) if v in available_voices()]
    jobs: list[tuple[Clip, str | None, int]] = []
    commands = command_sentences(intents, allowed, per_intent, seed)
    for n, (intent, text, slots) in enumerate(commands):
        for voice in voices:
            family = VOICES[voice][0]
            clean = out_dir / f"cmd-{_key(voice, text)}.wav"
            for snr in snrs:
                path = clean if snr is None else clean.with_name(f"{clean.stem}-{snr:g}dB.wav")
                clip = Clip(str(path), "command", text, voice, family, snr, intent, slots)
                jobs.append((clip, NOISES[n % len(NOISES)] if snr is not None else None, n))
    for n, text in enumerate(ordinary_sentences(fortunes, seed)):
        for voice in ordinary_voices:
            if voice not in voices:
                continue
            path = out_dir / f"ord-{_key(voice, text)}.wav"
            jobs.append((Clip(str(path), "ordinary", text, voice, VOICES[voice][0]), None, n))

    def make(job: tuple[Clip, str | None, int]) -> Clip | None:
        clip, noise, n = job
        path = Path(clip.path)
        try:
            if not path.exists():
                if clip.snr is None:
                    speak(clip.text, clip.voice, path)
                else:
                    clean = Path(clip.path.rsplit("-", 1)[0] + ".wav")
                    if not clean.exists():
                        speak(clip.text, clip.voice, clean)
                    add_noise(clean, path, clip.snr, noise or "whitenoise", seed + n)
        except subprocess.CalledProcessError as exc:
            # festival crashes on a few texts; such a clip is left out (and counted)
            _LOG.warning("%s could not say %r: %s", clip.voice, clip.text, exc)
            return None
        seconds = len(read_wav(path)) / RATE
        return Clip(**{**asdict(clip), "seconds": seconds})

    clean_first = sorted(jobs, key=lambda j: j[0].snr is not None)
    clean_jobs = [j for j in clean_first if j[0].snr is None]
    noisy_jobs = [j for j in clean_first if j[0].snr is not None]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        made = list(pool.map(make, clean_jobs)) + list(pool.map(make, noisy_jobs))
    clips = [c for c in made if c is not None]
    if len(clips) < len(made):
        _LOG.warning("%d clip(s) could not be synthesized", len(made) - len(clips))
    with (out_dir / "manifest.jsonl").open("w", encoding="utf-8") as handle:
        for clip in clips:
            handle.write(json.dumps(asdict(clip), ensure_ascii=False) + "\n")
    return clips
