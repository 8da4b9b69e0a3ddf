"""Audio sources that are not devices: raw PCM from a stream (stdin) and WAV files.

Every source yields 16 kHz mono 16-bit :class:`~assistant.audio.AudioChunk` objects,
so a pipe, a file and a microphone are interchangeable. For example::

    sox talk.wav -t raw -r 16000 -c 1 -b 16 -e signed - | haven detect -
    arecord -f S16_LE -r 16000 -c 1 | haven detect -
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .audio import RATE, AudioChunk, to_mono16k, wav_to_chunks
from .errors import AudioError


def raw_pcm_chunks(
    stream: BinaryIO, rate: int = RATE, channels: int = 1, chunk_ms: int = 30
) -> Iterator[AudioChunk]:
    """Signed 16-bit little-endian PCM from ``stream``, as 16 kHz mono chunks.

    ``rate`` and ``channels`` describe the incoming audio; it is mixed down and
    resampled as it is read. Timestamps count samples from the start of the stream.
    A trailing partial frame (an odd byte) is dropped.
    """
    if rate < 4000 or rate > 192_000:
        raise AudioError(f"unsupported sample rate {rate} Hz (use 8000 to 192000)")
    if channels < 1 or channels > 8:
        raise AudioError(f"unsupported channel count {channels} (use 1 to 8)")
    frame_bytes = 2 * channels
    want = max(1, rate * chunk_ms // 1000) * frame_bytes
    carry = b""
    produced = 0
    while True:
        try:
            block = stream.read(want)
        except OSError as exc:
            raise AudioError(f"cannot read audio from the stream: {exc}") from exc
        if not block:
            break
        data = carry + block
        usable = len(data) - len(data) % frame_bytes
        carry = data[usable:]
        if not usable:
            continue
        samples = np.frombuffer(data[:usable], dtype="<i2")
        if channels > 1:
            samples = samples.reshape(-1, channels)
        mono = to_mono16k(samples, rate) if (rate != RATE or channels != 1) else samples
        if not len(mono):
            continue
        yield AudioChunk(RATE, 2, 1, mono.astype("<i2").tobytes(), timestamp=produced / RATE)
        produced += len(mono)


def wav_chunks(path: Path, chunk_ms: int = 30) -> Iterator[AudioChunk]:
    """A WAV file (any rate or channel count) as 16 kHz mono chunks."""
    yield from wav_to_chunks(path, chunk_ms)
