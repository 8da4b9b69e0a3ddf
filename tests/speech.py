"""Test helper: real synthetic speech, made at test time with espeak-ng or flite.

Clips are written as 16 kHz mono 16-bit WAV files into a directory the caller owns
(a session-scoped tmp dir), so nothing generated is ever committed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np

from assistant.audio import read_wav, write_wav

VOICES: dict[str, tuple[str, ...]] = {
    "espeak-us-m3": ("espeak-ng", "-v", "en-us+m3", "-s", "150"),
    "espeak-gb-rp": ("espeak-ng", "-v", "en-gb-x-rp", "-s", "160"),
    "espeak-ko": ("espeak-ng", "-v", "ko", "-s", "140"),
    "flite-slt": ("flite", "-voice", "slt"),
    "flite-rms": ("flite", "-voice", "rms"),
    "flite-awb": ("flite", "-voice", "awb"),
}
"""Voice name -> command that speaks text to a WAV file."""


def have(voice: str) -> bool:
    """Whether the voice's synthesizer is installed."""
    return shutil.which(VOICES[voice][0]) is not None


def synthesize(text: str, voice: str, out_dir: Path, pad_seconds: float = 0.4) -> Path:
    """Speak ``text`` with ``voice`` into ``out_dir``; silence padding on both sides.

    The same text and voice give the same file name, so a session cache is reused.
    """
    key = hashlib.sha1(f"{voice}|{text}|{pad_seconds}".encode()).hexdigest()[:16]
    path = out_dir / f"{voice}-{key}.wav"
    if path.exists():
        return path
    raw = out_dir / f"{voice}-{key}.raw.wav"
    cmd = list(VOICES[voice])
    if cmd[0] == "flite":
        cmd += ["-t", text, "-o", str(raw)]
    else:
        cmd += ["-w", str(raw), text]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    samples = read_wav(raw)
    raw.unlink()
    pad = np.zeros(int(16000 * pad_seconds), dtype=np.int16)
    write_wav(path, np.concatenate([pad, samples, pad]))
    return path


def add_noise(path: Path, snr_db: float, out_dir: Path, seed: int = 0) -> Path:
    """A copy of ``path`` with white noise at ``snr_db`` relative to its speech level."""
    samples = read_wav(path).astype(np.float64)
    active = samples[np.abs(samples) > 0.01 * (np.abs(samples).max() or 1.0)]
    power = float(np.mean(active**2)) if len(active) else 1.0
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(samples))
    out = out_dir / f"{path.stem}-snr{snr_db:g}.wav"
    write_wav(out, np.clip(np.round(samples + noise), -32768, 32767).astype(np.int16))
    return out
