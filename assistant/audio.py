"""AudioChunk, the one audio type every source yields, and WAV input/output."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from .errors import AudioError

RATE = 16000
"""Sample rate every recognizer consumes (Hz)."""


@dataclass(frozen=True)
class AudioChunk:
    """A piece of 16-bit PCM audio."""

    rate: int
    """Samples per second."""
    width: int
    """Bytes per sample (2 for 16-bit)."""
    channels: int
    """Interleaved channels."""
    audio: bytes
    """Raw little-endian PCM."""
    timestamp: float = 0.0
    """Seconds since the start of the stream at the first sample."""
    captured: float | None = None
    """``time.monotonic()`` when the first sample was captured, if the source knows it (a
    microphone does; a file does not)."""

    @property
    def samples(self) -> int:
        """Frames in this chunk."""
        return len(self.audio) // (self.width * self.channels)

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.samples / self.rate

    def to_array(self) -> np.ndarray:
        """Samples as int16, shape (frames,) for mono or (frames, channels)."""
        if self.width != 2:
            raise AudioError(f"only 16-bit audio is supported, got {8 * self.width}-bit")
        data = np.frombuffer(self.audio, dtype="<i2")
        return data if self.channels == 1 else data.reshape(-1, self.channels)


def to_mono16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mix down to mono and resample to 16 kHz (band-limited, with soxr), as int16."""
    if rate == RATE and samples.ndim == 1 and samples.dtype == np.int16:
        return samples  # nothing to do (and no float copies of a long recording)
    data = samples.astype(np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if rate != RATE and len(data):
        data = soxr.resample(data, rate, RATE, quality="HQ")
    return np.clip(np.round(data), -32768, 32767).astype(np.int16)


class StreamResampler:
    """Mono 16 kHz from blocks of a stream at another rate, with no seams between blocks.

    Resampling each block on its own would click at every block edge; soxr keeps the
    filter's state from one block to the next.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        """The input rate (Hz)."""
        self._stream = (
            soxr.ResampleStream(rate, RATE, 1, dtype="float32", quality="HQ")
            if rate != RATE
            else None
        )

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """One block (int16, mono or (frames, channels)) -> 16 kHz mono int16."""
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 2:
            data = data.mean(axis=1)
        if self._stream is not None:
            data = self._stream.resample_chunk(data)
        return np.clip(np.round(data), -32768, 32767).astype(np.int16)


def read_wav(path: Path) -> np.ndarray:
    """Read any 8/16/32-bit PCM WAV as 16 kHz mono int16 samples."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise AudioError(f"{path}: no such file") from exc
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"{path}: not a PCM WAV file ({exc}); convert it with sox") from exc
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2")
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise AudioError(f"{path}: {8 * width}-bit WAV is not supported; convert it to 16-bit")
    if channels > 1:
        data = data.reshape(-1, channels)
    return to_mono16k(data, rate)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    """Write mono int16 samples to a WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def chunks_from_array(samples: np.ndarray, chunk_ms: int = 30) -> Iterator[AudioChunk]:
    """Split 16 kHz mono int16 samples into AudioChunks of ``chunk_ms``."""
    step = RATE * chunk_ms // 1000
    for start in range(0, len(samples), step):
        piece = np.asarray(samples[start : start + step], dtype="<i2")
        yield AudioChunk(RATE, 2, 1, piece.tobytes(), timestamp=start / RATE)


def wav_to_chunks(path: Path, chunk_ms: int = 30) -> Iterator[AudioChunk]:
    """A WAV file as a stream of 16 kHz mono AudioChunks."""
    yield from chunks_from_array(read_wav(path), chunk_ms)
