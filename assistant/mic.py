"""A live microphone as a stream of 16 kHz mono AudioChunks (sounddevice)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from .audio import RATE, AudioChunk, StreamResampler
from .devices import DeviceInfo, converter_offset, find_device, portaudio
from .errors import AudioError, NoDeviceError

logger = logging.getLogger(__name__)

NO_MICROPHONE = "no microphone found; connect one or use `haven run --text`"

_POLL_SECONDS = 0.05
"""How often a waiting iteration checks for close, failure or a stall."""


class MicSource:
    """Audio from an input device, as an iterable of 16 kHz mono :class:`AudioChunk`.

    ``device`` is ``None`` (the default input), an index or part of a device name. The
    stream opens at the device's native rate as soon as the object is built; chunks are
    converted to 16 kHz mono as they are taken. Timestamps count samples from the start
    of the stream, so a dropped chunk leaves a gap instead of shifting later ones.

    Iteration raises :class:`AudioError` when the stream fails or no audio arrives for
    ``stall_seconds`` (a vanished device); it ends when :meth:`close` is called, from
    any thread.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        chunk_ms: int = 30,
        max_queued: int = 100,
        stall_seconds: float = 3.0,
    ) -> None:
        sd = portaudio()
        try:
            info = find_device(device, "input")
        except NoDeviceError as exc:
            raise NoDeviceError(NO_MICROPHONE) from exc
        self.device: DeviceInfo = info
        """The device in use."""
        self.native_rate = round(info.default_samplerate)
        """The rate the device is opened at (Hz)."""
        self._resample = StreamResampler(self.native_rate)
        self._chunk = RATE * chunk_ms // 1000
        self._pending = np.zeros(0, dtype=np.int16)
        """Resampled audio not yet handed out (chunks are always ``chunk_ms`` long)."""
        self._pending_start: float | None = None
        self._stall_seconds = stall_seconds
        self._blocksize = max(1, round(self.native_rate * chunk_ms / 1000))
        self._queue: queue.Queue[tuple[int, np.ndarray, float]] = queue.Queue(maxsize=max_queued)
        self._frames = 0
        self._overflows = 0
        self._closed = threading.Event()
        self._failed = threading.Event()
        self._stream = self._open(sd)
        logger.info("microphone %r open at %d Hz", info.name, self.native_rate)

    def _open(self, sd: ModuleType) -> Any:
        problem: Exception | None = None
        for channels in sorted({1, min(2, self.device.inputs)}):
            stream = None
            try:
                stream = sd.InputStream(
                    device=self.device.index,
                    samplerate=self.native_rate,
                    channels=channels,
                    dtype="int16",
                    blocksize=self._blocksize,
                    latency="low",  # the pause is decided on the freshest audio
                    callback=self._callback,
                    finished_callback=self._finished,
                )
                stream.start()
                return stream
            except sd.PortAudioError as exc:
                problem = exc
                if stream is not None:
                    stream.close(ignore_errors=True)
        raise AudioError(
            f"cannot open microphone {self.device.name!r} (device {self.device.index}) "
            f"at {self.native_rate} Hz: {problem}"
        ) from problem

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """Runs on PortAudio's audio thread: copy the block into the queue, nothing more."""
        start = self._frames
        self._frames += frames
        if status.input_overflow:
            self._overflows += 1
        try:
            behind = converter_offset(time_info, "inputBufferAdcTime")
            captured = time.monotonic() + (behind if behind is not None and behind < 0 else 0.0)
            self._queue.put_nowait((start, indata.copy(), captured))
        except queue.Full:
            self._overflows += 1

    def _finished(self) -> None:
        """Runs on PortAudio's thread when the stream ends, by :meth:`close` or by failure."""
        if not self._closed.is_set():
            self._failed.set()

    @property
    def overflows(self) -> int:
        """Blocks lost so far: dropped because the queue was full, or overrun in the device."""
        return self._overflows

    def __iter__(self) -> MicSource:
        return self

    def __next__(self) -> AudioChunk:
        deadline = time.monotonic() + self._stall_seconds
        while not self._closed.is_set():
            try:
                start, block, captured = self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._failed.is_set():
                    raise AudioError(
                        f"microphone {self.device.name!r} stopped; unplugged or switched off?"
                    ) from None
                if time.monotonic() > deadline:
                    raise AudioError(
                        f"microphone {self.device.name!r} sent no audio for "
                        f"{self._stall_seconds:g} s; unplugged or switched off?"
                    ) from None
                continue
            if self._pending_start is None:
                self._pending_start = start / self.native_rate
            self._pending = np.concatenate([self._pending, self._resample(block)])
            ends = captured + len(block) / self.native_rate  # when the audio now held ends
            if len(self._pending) < self._chunk:
                continue  # the resampler's filter delay: the first block gives little out
            samples, self._pending = self._pending[: self._chunk], self._pending[self._chunk :]
            at = ends - len(self._pending) / RATE - self._chunk / RATE
            when = self._pending_start
            self._pending_start += self._chunk / RATE
            return AudioChunk(RATE, 2, 1, samples.astype("<i2").tobytes(), timestamp=when,
                              captured=at)  # fmt: skip
        raise StopIteration

    def __enter__(self) -> MicSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop and close the stream; a waiting iteration ends. Safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._stream.abort(ignore_errors=True)
            self._stream.close(ignore_errors=True)
        except Exception as exc:  # a vanished device can fail in odd ways
            logger.debug("closing microphone %r: %s", self.device.name, exc)
        logger.info("microphone %r closed (%d overflows)", self.device.name, self._overflows)
