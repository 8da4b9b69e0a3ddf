"""Speaking and earcons on one output device, stoppable mid-word (barge-in).

A PortAudio output stream stays open for the Speaker's life; its callback copies
queued audio out in blocks of ``block_ms``, or silence when there is none. ``stop()``
just empties the queue, so the sound ends within one block plus the device latency.
Text is rendered on the Speaker's own thread, ``haven-speaker``.

A device that cannot be opened, or whose stream PortAudio ends (the sink was removed, the
sound server restarted), is opened again by the ``haven-speaker`` thread when there is
something to play, no more often than :data:`BACKOFF` allows; meanwhile every prompt goes
to ``on_text``. It is reopened by the same PortAudio index, without re-initialising
PortAudio (that would also kill the microphone's stream): PortAudio's ``pulse`` and
``default`` devices connect to the sound server afresh at each open, so they come back.
A hardware device that was unplugged and plugged in again is only seen after
:func:`assistant.devices.rescan`, which the Speaker never calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from . import earcons
from .audio import RATE
from .devices import DeviceInfo, converter_offset, find_device, portaudio
from .errors import AudioError
from .events import EarconKind
from .playback import PlaybackTap
from .tts import Synthesizer

logger = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Seconds after losing the output device before each attempt to open it again (the
last repeats). An attempt is only made when there is something to play."""
LOST = "the output device stopped"
"""The problem recorded when PortAudio ends the stream by itself."""


@dataclass(frozen=True)
class _Job:
    """Something to play: text to speak, or an earcon."""

    text: str = ""
    """Words to speak (empty for an earcon)."""
    earcon: EarconKind | None = None
    """The earcon to play, if this is one."""


@dataclass(frozen=True)
class _Clip:
    """Audio ready for the device."""

    samples: np.ndarray
    """float32 mono at the device rate."""
    text: str
    """The words it says (empty for an earcon)."""


def to_device_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """16 kHz int16 samples as float32 in [-1, 1] at ``rate`` (linear interpolation)."""
    data = np.asarray(samples, dtype=np.float32) / 32768.0
    if rate == RATE or not len(data):
        return data
    n_out = round(len(data) * rate / RATE)
    positions = np.arange(n_out) * (RATE / rate)
    resampled: np.ndarray = np.interp(positions, np.arange(len(data)), data).astype(np.float32)
    return resampled


class Speaker:
    """Speaks text and plays earcons; :meth:`stop` silences it at once.

    ``synth`` renders the text (``None``: every text goes to ``on_text``). ``device`` is
    ``None`` (the default output), an index or part of a device name. With no output
    device, a device that cannot open or fails later, or a render that fails, the text is
    handed to ``on_text`` instead. Every prompt is either played or handed to ``on_text``:
    those queued, or cut off, when the device fails go to ``on_text`` too. One warning is
    logged when the device is lost (or cannot open at first) and one when it is back; the
    device is tried again, on the ``haven-speaker`` thread, when there is something to
    play and :data:`BACKOFF` allows. A failing render warns once per Speaker.
    ``on_text`` runs on the ``haven-speaker`` thread.

    ``on_first_sample`` gets ``time.monotonic()`` of the moment the first sample of each
    spoken utterance (not earcons) was handed to the device; it is called on the
    ``haven-speaker`` thread shortly after, with the time taken on the audio thread.
    The Speaker does not close ``synth``. :attr:`tap` keeps the last seconds of what it
    played, stamped with when each block leaves the device (the double-talk test's
    reference).
    """

    def __init__(
        self,
        synth: Synthesizer | None,
        device: str | int | None,
        on_text: Callable[[str], None],
        *,
        on_first_sample: Callable[[float], None] | None = None,
        latency: float = 0.04,
        block_ms: int = 10,
    ) -> None:
        self._synth = synth
        self._on_text = on_text
        self._on_first_sample = on_first_sample
        self._device = device
        self._wanted_latency = latency
        self._block_ms = block_ms
        self._cond = threading.Condition()
        # Everything below is guarded by self._cond.
        self._jobs: deque[_Job] = deque()
        self._clips: deque[_Clip] = deque()
        self._head = 0
        self._rendering = False
        self._current: _Job | None = None
        self._generation = 0
        self._first_samples: deque[float] = deque()
        self._since: float | None = None
        self._drain_until = 0.0
        self._last_text = ""
        self._closing = False
        self._problem = ""
        """Why there is no audio output ("" while the device plays)."""
        self._lost = False
        """The device was lost and the haven-speaker thread has not said so yet."""
        self._stream_id = 0
        """Which stream is current (a finished callback of an older one is ignored)."""
        self._ended_id = 0
        """The last current stream PortAudio ended."""
        self._latency = 0.0
        self.output: DeviceInfo | None = None
        """The output device in use (``None``: text only for now)."""
        self.rate = RATE
        """The output stream's sample rate (Hz)."""
        self.tap = PlaybackTap()
        """What was played, and when (written on the audio thread)."""
        # Owned by the haven-speaker thread once it runs.
        self._warned = False
        self._stream: Any = None
        self._attempt = 0
        self._retry_at = 0.0
        try:
            self._open()
        except AudioError as exc:
            self._problem = str(exc)
            self._lost = True
            self._retry_at = time.monotonic() + BACKOFF[0]
        self._thread = threading.Thread(target=self._run, name="haven-speaker", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        """Open and start the output stream (before the thread runs, then on it)."""
        sd: ModuleType = portaudio()
        info = find_device(self._device, "output")
        rate = round(info.default_samplerate)
        problem: Exception | None = None
        for channels in sorted({1, min(2, info.outputs)}):
            with self._cond:
                self._stream_id += 1
                stream_id = self._stream_id
            stream = None
            try:
                stream = sd.OutputStream(
                    device=info.index,
                    samplerate=rate,
                    channels=channels,
                    dtype="float32",
                    blocksize=max(1, round(rate * self._block_ms / 1000)),
                    latency=self._wanted_latency,
                    callback=self._callback,
                    finished_callback=partial(self._finished, stream_id),
                )
                stream.start()
            except sd.PortAudioError as exc:
                problem = exc
                if stream is not None:
                    stream.close(ignore_errors=True)
                continue
            self._stream = stream
            with self._cond:
                if self._ended_id == stream_id:  # it failed as it started
                    raise AudioError(f"speaker {info.name!r} (device {info.index}) stopped at once")
                self.output, self.rate = info, rate
                self._latency = float(stream.latency)
                self._problem = ""
                self._lost = False
            logger.info("speaker %r open at %d Hz, latency %.3f s", info.name, rate, self._latency)
            return
        raise AudioError(f"cannot open speaker {info.name!r} (device {info.index}): {problem}")

    def _close_stream(self) -> None:
        """Close the current stream, if any (the haven-speaker thread, or after its join)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
        except Exception as exc:  # a vanished device can fail in odd ways
            logger.debug("closing speaker: %s", exc)

    # -- the audio thread ---------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """Runs on PortAudio's audio thread: copy queued audio out, silence if none."""
        now = time.monotonic()
        ahead = converter_offset(time_info, "outputBufferDacTime")  # follows underruns
        leaves = now + (ahead if ahead is not None and ahead > 0 else self._latency)
        filled = 0
        with self._cond:
            while filled < frames and self._clips:
                clip = self._clips[0]
                if self._head == 0:
                    self._clip_started(clip, now)
                n = min(frames - filled, len(clip.samples) - self._head)
                piece = clip.samples[self._head : self._head + n]
                outdata[filled : filled + n] = piece[:, None]
                self.tap.add(leaves + filled / self.rate, piece, self.rate)
                filled += n
                self._head += n
                if self._head >= len(clip.samples):
                    self._clips.popleft()
                    self._head = 0
            if filled:
                self._drain_until = now + self._latency + filled / self.rate
                if not self._clips:
                    self._cond.notify_all()
        outdata[filled:] = 0

    def _clip_started(self, clip: _Clip, now: float) -> None:
        """Called with the lock held, on the audio thread."""
        if self._since is None or now > self._drain_until:
            self._since = now
        if clip.text:
            self._last_text = clip.text
            if self._on_first_sample is not None:
                self._first_samples.append(now)
                self._cond.notify_all()

    def _finished(self, stream_id: int) -> None:
        """Runs on PortAudio's thread when a stream ends: by close(), or the device failed.

        What was queued or playing is not lost: its text goes back to the front of the
        jobs, to be said as text (or played, if the device is back by then)."""
        with self._cond:
            if self._closing or stream_id != self._stream_id:
                return
            self._ended_id = stream_id
            if self._problem:  # still lost, or not yet open: _open sees ``_ended_id``
                return
            self._problem = LOST
            self._lost = True
            again = [_Job(text=clip.text) for clip in self._clips if clip.text]
            if self._rendering and self._current is not None and self._current.text:
                again.append(self._current)
            self._clear()  # also drops the render in flight: its job is in ``again``
            self._jobs.extendleft(reversed(again))
            self._cond.notify_all()

    # -- the haven-speaker thread ---------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._jobs or self._first_samples or self._closing or self._lost):
                    self._cond.wait()
                if self._closing:
                    return
                lost, self._lost = self._lost, False
                problem = self._problem
                first_samples = list(self._first_samples)
                self._first_samples.clear()
                job = self._jobs.popleft() if self._jobs else None
                generation = self._generation
                self._rendering = job is not None
                self._current = job
            if lost:
                self._device_lost(problem)
            for at in first_samples:
                self._call("on_first_sample", self._on_first_sample, at)
            if job is None:
                continue
            clip = None
            try:
                clip = self._prepare(job)
            except Exception:
                logger.exception("could not play %r", job.text or job.earcon)
            finally:
                with self._cond:
                    self._rendering = False
                    self._current = None
                    current = generation == self._generation and not self._closing
                    if clip is not None and len(clip.samples) and current and not self._problem:
                        self._clips.append(clip)
                    self._cond.notify_all()

    def _device_lost(self, problem: str) -> None:
        """On the haven-speaker thread: say so once, let the stream go, wait before trying."""
        logger.warning(
            "speaking as text instead: no audio output (%s); "
            "trying again when there is something to say",
            problem,
        )
        self._close_stream()
        self._attempt = 0
        self._retry_at = max(self._retry_at, time.monotonic() + BACKOFF[0])

    def _output_ready(self) -> bool:
        """On the haven-speaker thread: True when the device plays, reopening it if due."""
        with self._cond:
            if not self._problem:
                return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._close_stream()
        try:
            self._open()
        except Exception as exc:  # AudioError, or a vanished device failing oddly
            self._attempt += 1
            wait = BACKOFF[min(self._attempt, len(BACKOFF) - 1)]
            self._retry_at = now + wait
            logger.info("speaker still unavailable (%s); next try in %.0f s at the earliest",
                        exc, wait)  # fmt: skip
            return False
        self._attempt = 0
        logger.warning("the speaker is back: playing on %r again", self._device_name())
        return True

    def _device_name(self) -> str:
        with self._cond:
            return self.output.name if self.output is not None else "?"

    def _prepare(self, job: _Job) -> _Clip | None:
        ready = self._output_ready()
        if job.earcon is not None:
            if not ready:
                return None
            return _Clip(to_device_rate(earcons.earcon(job.earcon), self.rate), "")
        if not ready:
            self._call("on_text", self._on_text, job.text)  # warned when the device was lost
            return None
        if self._synth is None:
            self._call("on_text", self._on_text, job.text)
            return None
        try:
            samples = self._synth.render(job.text)
        except AudioError as exc:
            self._fall_back(job.text, str(exc))
            return None
        return _Clip(to_device_rate(samples, self.rate), job.text)

    def _fall_back(self, text: str, reason: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("speaking as text instead: %s", reason)
        self._call("on_text", self._on_text, text)

    @staticmethod
    def _call(name: str, hook: Callable[[Any], None] | None, value: object) -> None:
        if hook is None:
            return
        try:
            hook(value)
        except Exception:
            logger.exception("the Speaker's %s hook failed", name)

    # -- the public side ------------------------------------------------------------------

    def _clear(self) -> None:
        """Drop everything queued or playing; the lock must be held."""
        self._generation += 1
        self._jobs.clear()
        self._clips.clear()
        self._head = 0
        self._since = None
        self._drain_until = 0.0

    def _put(self, job: _Job) -> None:
        with self._cond:
            if self._closing:
                raise AudioError("the speaker is closed")
            self._jobs.append(job)
            self._cond.notify_all()

    def speak(self, text: str) -> None:
        """Queue ``text`` to be spoken after whatever is queued now. Returns at once."""
        if text.strip():
            self._put(_Job(text=text.strip()))

    def earcon(self, kind: EarconKind) -> None:
        """Queue the earcon ``kind``. Returns at once."""
        self._put(_Job(earcon=kind))

    def stop(self) -> None:
        """Cut off what is playing and drop what is queued (barge-in)."""
        with self._cond:
            self._clear()
            self._cond.notify_all()

    @property
    def problem(self) -> str:
        """Why prompts go to ``on_text`` now ("" while the device plays them)."""
        with self._cond:
            return self._problem

    @property
    def speaking(self) -> bool:
        """True while Haven's audio (speech or earcon) is going out of the device."""
        with self._cond:
            return self._is_sounding(time.monotonic())

    def _is_sounding(self, now: float) -> bool:
        """From the first sample handed to the device until the last has left it."""
        return self._since is not None and (bool(self._clips) or now < self._drain_until)

    @property
    def speaking_since(self) -> float | None:
        """``time.monotonic()`` when the current stretch of playback began, if any."""
        with self._cond:
            return self._since if self._is_sounding(time.monotonic()) else None

    @property
    def last_spoken_text(self) -> str:
        """The text of the last utterance that started playing (empty if none yet)."""
        with self._cond:
            return self._last_text

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued, rendering or playing; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                pause: float | None = None
                if not (self._jobs or self._rendering or self._clips):
                    if now >= self._drain_until or self._closing:
                        return True
                    pause = self._drain_until - now
                if deadline is not None:
                    if now >= deadline:
                        return False
                    pause = deadline - now if pause is None else min(pause, deadline - now)
                self._cond.wait(pause)

    def __enter__(self) -> Speaker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop playing, join the haven-speaker thread and close the stream. Idempotent."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._clear()
            self._cond.notify_all()
        self._thread.join()
        self._close_stream()
