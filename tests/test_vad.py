"""The energy VAD / endpointer and the raw PCM source, on synthetic signals."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import RATE, AudioChunk, chunks_from_array, read_wav
from assistant.errors import AudioError
from assistant.listen.augment import babble, set_level, to_int16
from assistant.sources import raw_pcm_chunks
from assistant.vad import (
    Endpointer,
    VadConfig,
    frame_levels,
    speech_span,
    trailing_means,
    utterances,
)
from tests.speech import have, synthesize


def tone(seconds: float, amplitude: float = 8000.0, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    # a syllable-like envelope so it is not a flat tone
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (amplitude * env * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def noise(seconds: float, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, sigma, int(seconds * RATE)), -32768, 32767).astype(np.int16)


def test_levels_of_digital_silence_are_floored() -> None:
    levels = frame_levels(np.zeros(RATE // 10, dtype=np.int16))
    assert len(levels) == 10 and float(levels.max()) == -90.0


def test_one_utterance_with_margins() -> None:
    audio = np.concatenate([noise(1.0, 30), tone(1.2) + noise(1.2, 30, 1), noise(1.5, 30, 2)])
    found = list(utterances(chunks_from_array(audio)))
    assert len(found) == 1
    u = found[0]
    assert abs(u.speech_start - 1.0) < 0.1
    assert abs(u.speech_end - 2.2) < 0.1
    assert u.start <= u.speech_start - 0.25  # pre-roll kept
    assert u.seconds == pytest.approx(len(u.samples) / RATE)


def test_endpoint_is_decided_as_soon_as_the_silence_is_long_enough() -> None:
    endpointer = Endpointer(VadConfig(end_ms=400))
    audio = np.concatenate([noise(0.5, 20), tone(1.0), noise(2.0, 20, 1)])
    done_at = None
    for chunk in chunks_from_array(audio, chunk_ms=30):
        if endpointer.feed(chunk):
            done_at = chunk.timestamp + chunk.seconds
            break
    assert done_at is not None
    # speech ended at 1.5 s; the decision comes 0.4 s later, not at the end of the stream
    assert 1.85 <= done_at <= 2.05


def test_short_and_long_end_delays_split_differently() -> None:
    gap = np.concatenate([tone(0.6), noise(0.8, 20), tone(0.6)])
    audio = np.concatenate([noise(0.5, 20), gap, noise(2.0, 20, 3)])
    short = list(utterances(chunks_from_array(audio), VadConfig(end_ms=500)))
    long = list(utterances(chunks_from_array(audio), VadConfig().with_end(1500)))
    assert len(short) == 2 and len(long) == 1


def test_steady_noise_is_not_speech_but_speech_over_it_is() -> None:
    hum = noise(3.0, 300)
    assert list(utterances(chunks_from_array(hum))) == []
    spoken = tone(1.0, 6000).astype(np.int32) + noise(1.0, 300, 5)
    audio = np.concatenate([hum, spoken.clip(-32768, 32767).astype(np.int16), noise(1.0, 300, 6)])
    found = list(utterances(chunks_from_array(audio)))
    assert len(found) == 1 and abs(found[0].speech_start - 3.0) < 0.15


BABBLE = (
    ("We drove up to the lake on Sunday and the water was freezing.", "espeak-us-m3"),
    ("I think the meeting moved to Thursday afternoon, didn't it?", "flite-rms"),
    ("She keeps a little notebook of every bird she sees.", "espeak-gb-rp"),
    ("The recipe says two cups of flour, but I always add more.", "flite-awb"),
)


@pytest.mark.skipif(not all(have(v) for _, v in BABBLE), reason="espeak-ng and flite needed")
def test_a_command_over_babble_ends_where_the_command_does(tmp_path: Path) -> None:
    """Four voices talking over each other 10 dB under a command: its end is found. With
    the 10 ms levels alone (the endpointer before ``background_ms``), the babble's peaks
    keep the utterance open well past the command; so they do when the floor holds during
    speech over babble as it does over steady noise."""
    rng = np.random.default_rng(1)
    talk = [read_wav(synthesize(text, voice, tmp_path, 0.0)) for text, voice in BABBLE]
    audio = babble(talk, 10 * RATE, rng, voices=4) * 32767 * 10 ** (-32 / 20)
    command = set_level(read_wav(synthesize("we need a pause", "flite-slt", tmp_path, 0.0)), -22)
    at = 4 * RATE
    audio[at : at + len(command)] += command
    end = (at + len(command)) / RATE
    stream = to_int16(audio, rng)

    def cut_at_the_command(config: VadConfig) -> bool:
        return any(abs(u.speech_end - end) < 0.4 and u.speech_end - u.speech_start < 3.0
                   for u in utterances(chunks_from_array(stream), config))  # fmt: skip

    assert cut_at_the_command(VadConfig())
    assert not cut_at_the_command(VadConfig(threshold_db=9.0, background_ms=10))
    # the floor held in speech as over steady noise: the babble after it kept it open
    assert not cut_at_the_command(VadConfig(steady_db=100.0))


def test_levels_are_trailing_means_across_chunks() -> None:
    powers = np.arange(1.0, 11.0)
    whole = trailing_means(np.zeros(0), powers, 4)
    assert whole[:4].tolist() == [1.0, 1.5, 2.0, 2.5] and whole[-1] == 8.5
    assert trailing_means(powers[:6], powers[6:], 4).tolist() == whole[6:].tolist()
    chunked = Endpointer(VadConfig(end_ms=300))
    audio = np.concatenate([noise(0.5, 30), tone(0.8) + noise(0.8, 30, 1), noise(1.0, 30, 2)])
    pieces = [chunked.feed(c) for c in chunks_from_array(audio, chunk_ms=10)]
    one_go = Endpointer(VadConfig(end_ms=300)).feed(AudioChunk(RATE, 2, 1, audio.tobytes()))
    assert [u.speech_end for p in pieces for u in p] == [u.speech_end for u in one_go]


def test_max_length_cuts() -> None:
    audio = np.concatenate([noise(0.5, 30), tone(4.0)])
    found = list(utterances(chunks_from_array(audio), VadConfig(max_ms=1500)))
    assert found[0].truncated and found[0].seconds <= 1.6


def test_speech_span_joins_a_whole_recording() -> None:
    parts = [noise(0.3, 10), tone(0.5), noise(0.9, 10, 1), tone(0.5), noise(0.5, 10)]
    audio = np.concatenate(parts)
    span = speech_span(audio)
    assert span is not None
    assert span.speech_end - span.speech_start > 1.7
    assert speech_span(noise(1.0, 10)) is None


def test_endpointer_refuses_audio_it_cannot_read() -> None:
    with pytest.raises(AudioError):
        Endpointer().feed(AudioChunk(44100, 2, 2, b"\0" * 400))


def test_raw_pcm_from_a_stream_any_rate_and_channels() -> None:
    mono = tone(1.0)
    chunks = list(raw_pcm_chunks(io.BytesIO(mono.astype("<i2").tobytes())))
    assert all(c.rate == RATE and c.channels == 1 for c in chunks)
    joined = np.concatenate([c.to_array() for c in chunks])
    assert np.array_equal(joined, mono)
    assert chunks[1].timestamp == pytest.approx(0.03)
    stereo44 = np.repeat(tone(1.0, freq=200)[::1], 2)  # 16 kHz stereo, same on both sides
    out = list(raw_pcm_chunks(io.BytesIO(stereo44.astype("<i2").tobytes() + b"\1"), channels=2))
    assert sum(c.samples for c in out) == RATE
    resampled = list(raw_pcm_chunks(io.BytesIO(np.zeros(8000, "<i2").tobytes()), rate=8000))
    assert sum(c.samples for c in resampled) == pytest.approx(RATE, abs=40)
    with pytest.raises(AudioError):
        list(raw_pcm_chunks(io.BytesIO(b""), rate=100))


@pytest.mark.skipif(not have("flite-slt"), reason="flite needed")
def test_a_long_command_over_steady_noise_stays_one_utterance(tmp_path: Path) -> None:
    """A long command 10 dB over white noise is one utterance: the noise floor holds while
    an utterance is young. Rising at the out-of-speech rate (4 dB/s), it climbed into the
    command and cut it in three."""
    rng = np.random.default_rng(3)
    text = "haven, could we start the speaker listener technique please"
    command = set_level(read_wav(synthesize(text, "flite-slt", tmp_path, 0.0)), -22)
    audio = rng.normal(0.0, 1.0, 9 * RATE) * 32767 * 10 ** (-32 / 20)
    at = 3 * RATE
    audio[at : at + len(command)] += command
    start, end = at / RATE, (at + len(command)) / RATE
    stream = to_int16(audio, rng)

    def pieces(config: VadConfig) -> list[tuple[float, float]]:
        found = utterances(chunks_from_array(stream), config)
        return [(u.speech_start, u.speech_end) for u in found
                if u.speech_end > start and u.speech_start < end]  # fmt: skip

    [(first, last)] = pieces(VadConfig())
    assert abs(first - start) < 0.5 and abs(last - end) < 0.5
    assert len(pieces(VadConfig(speech_rise_db_per_s=4.0))) == 3
