"""Latency of `haven run`: from the end of what a partner said to Haven's decision, and to
the first sample of Haven's reply; CPU and memory while idle listening.

    python -m bench.latency [--runs 20] [--no-device] [--write]

Two commands, each run ``--runs`` times (after one warm-up run that is reported apart:
the recognizer builds a grammar the first time a set of intents is live):

- ``start_checkin``: "Haven, start check-in" while Haven is idle;
- ``pause`` (barge-in): "we need a pause" said about a second into Haven's welcome.

Two sources, both through the live loop (``assistant.app.LiveLoop``) and the hearing it
uses (``assistant.live.create_hearing``):

- **file**: the clips are fed in real time, 30 ms chunks as the microphone gives them,
  with silence in between. Haven's speech is rendered for real and played on a timeline
  (the demo's ``TimelineSpeaker``); the "first sample" is when the first reply (an earcon,
  or speech once rendered) is ready to be handed to a device.
- **device**: a private user-mode PulseAudio daemon (``tests/pulse.py``): the clips are
  played into the virtual microphone with ``paplay``; Haven listens on it and speaks into
  a sink of its own. Both sinks' monitors are recorded in 10 ms blocks, so the end of the
  partner's speech and the first sample of Haven's reply are taken from the audio itself
  (for the pause: the first sound after Haven's welcome went quiet).

The end of speech is the true one (from the clip, or from the recorded audio), not
Haven's own estimate. CPU is the process's CPU time over 10 s of idle listening (% of one
core, the device's callbacks included); memory is VmRSS. The table is printed;
``--write`` replaces the "## Latency" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from assistant.app import Heard, LiveLoop, Notice, SpeakerLike
from assistant.audio import RATE, AudioChunk, read_wav
from assistant.clock import SystemClock
from assistant.config import Settings
from assistant.engine import Engine
from assistant.events import EarconKind, Event
from assistant.library import Library, default_intents_dir
from assistant.live import create_addressed, create_hearing, create_recognizer
from assistant.log import SessionLog
from assistant.logkeeper import LogKeeper
from assistant.schedule import Scheduler
from assistant.session import Session
from assistant.stt.base import Recognizer
from assistant.tts import Synthesizer
from assistant.vad import VadConfig, frame_levels

from .report import write_section

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Latency"
CHUNK_MS = 30
VOICE = "en-us+m3"
START_TEXT = "Haven, start check-in."
PAUSE_TEXT = "We need a pause."
DECIDE_TIMEOUT = 8.0
TRIES = 3
"""A command is said again (up to this many times) when it was not heard."""


# ---- measurements -------------------------------------------------------------------------


@dataclass
class Sample:
    """One command heard: seconds from the true end of speech."""

    decision: float
    reply: float | None


@dataclass
class Series:
    """All runs of one command on one source."""

    source: str
    intent: str
    samples: list[Sample] = field(default_factory=list)
    missed: int = 0
    """Times the command was said and nothing was decided."""
    cold: Sample | None = None
    """The warm-up run (first use of the grammar for this set of intents)."""
    own_estimate: list[float] = field(default_factory=list)
    """Decision minus Haven's own end-of-speech estimate (the VAD's), seconds."""


def _ms(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{1000 * statistics.median(ordered):.0f}", f"{1000 * p95:.0f}"


def speech_end_offset(samples: np.ndarray) -> float:
    """Seconds into ``samples`` where speech ends (last 10 ms frame within 35 dB of the
    loudest and above -50 dBFS)."""
    levels = frame_levels(samples)
    loud = np.flatnonzero(levels >= max(float(levels.max()) - 35.0, -50.0))
    return (int(loud[-1]) + 1) * 0.010 if len(loud) else 0.0


def clip(text: str, voice: str = VOICE) -> np.ndarray:
    """``text`` said by an espeak-ng voice, 16 kHz int16, no padding."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "160", "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return read_wav(wav)


def rss_mb() -> float:
    """This process's resident memory (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle_cost(seconds: float = 10.0) -> tuple[float, float]:
    """CPU (% of one core) over ``seconds`` of whatever runs now, and VmRSS (MB)."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    return 100 * cpu, rss_mb()


# ---- the parts both sources share ----------------------------------------------------------


class Stack:
    """Library, settings, recognizer and hearing: loaded once, shared by every run."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.settings = Settings()
        self.library = Library.load(default_intents_dir(), self.settings.language)
        self._stack = contextlib.ExitStack()
        self.recognizer: Recognizer = self._stack.enter_context(
            create_recognizer(self.library, self.settings))
        addressed = self._stack.enter_context(create_addressed(self.library, self.settings))
        self.hearing = create_hearing(self.library, self.settings, self.recognizer,
                                      addressed=addressed)  # fmt: skip

    def session(self) -> Session:
        logs = LogKeeper(
            lambda: SessionLog.in_data_dir(self.data), "run", on_problem=lambda m: None
        )
        clock = SystemClock()
        engine = Engine(self.library, self.settings, clock, random.Random())
        return Session(
            engine, logs, lambda e: None, Scheduler(self.settings.schedule(), clock.now())
        )

    def close(self) -> None:
        self._stack.close()


class Running:
    """One live loop on its own session, its engine side on a thread; always closed."""

    def __init__(
        self,
        stack: Stack,
        speaker: SpeakerLike,
        open_source: Callable[[], contextlib.AbstractContextManager[Iterator[AudioChunk]]],
    ) -> None:
        self.replies: list[float] = []
        """``time.monotonic()`` of each thing Haven was asked to say or sound."""
        self.session = stack.session().__enter__()
        self.loop = LiveLoop(self.session, speaker, stack.hearing, open_source, self._show)
        self.loop.__enter__()
        self._engine = threading.Thread(target=self.loop.run, name="bench-engine")
        self._engine.start()

    def _show(self, item: Event | Notice | Heard) -> None:
        pass

    def decision(self, intent: str, after: float, timeout: float = DECIDE_TIMEOUT) -> Heard | None:
        """The first decision for ``intent`` made after ``after`` (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for heard in list(self.loop.decisions):
                if heard.decided > after and heard.match and heard.match.intent == intent:
                    return heard
            time.sleep(0.01)
        return None

    def close(self) -> None:
        self.loop.stop()
        self._engine.join(timeout=10)
        self.loop.close()
        self.session.close()


# ---- the file source -----------------------------------------------------------------------


class ScriptedSource:
    """Silence in real time, and a clip whenever :meth:`say` asks; a source opener."""

    def __init__(self) -> None:
        self._clips: queue.Queue[tuple[np.ndarray, threading.Event, list[float]]] = queue.Queue()
        self._closed = threading.Event()

    def say(self, samples: np.ndarray) -> float:
        """Feed ``samples`` next; returns ``time.monotonic()`` of the true end of speech."""
        done, end = threading.Event(), [0.0]
        self._clips.put((samples, done, end))
        done.wait()
        return end[0]

    def close(self) -> None:
        self._closed.set()

    @contextlib.contextmanager
    def open(self) -> Iterator[Iterator[AudioChunk]]:
        yield self._stream()

    def _stream(self) -> Iterator[AudioChunk]:
        step = RATE * CHUNK_MS // 1000
        silence = np.zeros(step, dtype=np.int16)
        fed = 0
        next_at = time.monotonic()
        while not self._closed.is_set():
            try:
                samples, done, end = self._clips.get_nowait()
            except queue.Empty:
                samples, done, end = silence, None, []
            stop = speech_end_offset(samples) if done is not None else 0.0
            for i in range(0, len(samples), step):
                block = samples[i : i + step]
                if len(block) < step:
                    block = np.concatenate([block, silence[: step - len(block)]])
                next_at += CHUNK_MS / 1000
                time.sleep(max(0.0, next_at - time.monotonic()))
                if done is not None and i <= stop * RATE < i + step:
                    # this chunk holds the last speech: it "arrived" now, its tail is later
                    end[0] = time.monotonic() - (i + step - stop * RATE) / RATE
                yield AudioChunk(RATE, 2, 1, block.astype("<i2").tobytes(), fed / RATE)
                fed += step
            if done is not None:
                done.set()


class TimelineReplies:
    """The demo's timeline speaker, noting when each reply is ready to be played."""

    def __init__(self, synth: Synthesizer) -> None:
        from assistant.demo import TimelineSpeaker

        self.ready: list[float] = []
        self._inner = TimelineSpeaker(synth, 1.0, lambda text: None)

    def speak(self, text: str) -> None:
        self._inner.speak(text)  # renders here: the reply is ready when this returns
        self.ready.append(time.monotonic())

    def earcon(self, kind: EarconKind) -> None:
        self.ready.append(time.monotonic())

    def reply_after(self, decided: float) -> float | None:
        """When the first reply after ``decided`` was ready."""
        return min((t for t in self.ready if t > decided), default=None)

    def stop(self) -> None:
        self._inner.stop()

    @property
    def speaking(self) -> bool:
        return self._inner.speaking

    @property
    def last_spoken_text(self) -> str:
        return self._inner.last_spoken_text


def file_runs(stack: Stack, runs: int, log: Callable[[str], None]) -> list[Series]:
    start, pause = clip(START_TEXT), clip(PAUSE_TEXT)
    series = {i: Series("file", i) for i in ("start_checkin", "pause")}
    with Synthesizer(stack.settings.voice or None, stack.settings.rate) as synth:
        for run in range(runs + 1):
            source = ScriptedSource()
            speaker = TimelineReplies(synth)
            running = Running(stack, speaker, source.open)
            try:
                time.sleep(1.0)  # a second of quiet first, as in a room
                for intent, samples in (("start_checkin", start), ("pause", pause)):
                    if intent == "pause":  # about a second into Haven's welcome
                        while not speaker.speaking:
                            time.sleep(0.01)
                        time.sleep(1.0)
                    _measure(
                        series[intent],
                        run,
                        partial(source.say, samples),
                        running,
                        speaker.reply_after,
                    )
            finally:
                source.close()
                running.close()
            log(f"file run {run}: " + ", ".join(_last(s) for s in series.values()))
    return list(series.values())


def _measure(
    series: Series,
    run: int,
    say: Callable[[], float],
    running: Running,
    reply_after: Callable[[float], float | None],
) -> None:
    """Say the command (again if unheard) and note how long Haven took."""
    for _ in range(TRIES):
        said = time.monotonic()
        end = say()
        heard = running.decision(series.intent, said)
        if heard is None:
            series.missed += 1
            continue
        reply = None
        deadline = time.monotonic() + 5
        while reply is None and time.monotonic() < deadline:
            reply = reply_after(heard.decided)
            time.sleep(0.02)
        sample = Sample(heard.decided - end, None if reply is None else reply - end)
        if run == 0:
            series.cold = sample
        else:
            series.samples.append(sample)
            series.own_estimate.append(heard.decided - heard.end_of_speech)
        return


def _last(series: Series) -> str:
    sample = series.samples[-1] if series.samples else series.cold
    if sample is None:
        return f"{series.intent} -"
    reply = "-" if sample.reply is None else f"{1000 * sample.reply:.0f}"
    return f"{series.intent} {1000 * sample.decision:.0f}/{reply} ms"


# ---- the virtual device --------------------------------------------------------------------


HAVEN_SINK = "hsink"


def device_runs(
    stack: Stack, runs: int, log: Callable[[str], None]
) -> tuple[list[Series], tuple[float, float]]:
    from assistant.devices import rescan
    from assistant.mic import MicSource
    from assistant.speaker import Speaker
    from tests.pulse import PulseDaemon, SinkRecorder, start_playing_into_mic
    from tests.test_live import MonitorRecorder, speech

    series = {i: Series("device", i) for i in ("start_checkin", "pause")}
    directory = Path(tempfile.mkdtemp(prefix="haven-lat-", dir="/tmp"))
    saved = {
        k: os.environ.get(k) for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME", "PULSE_SINK")
    }
    with PulseDaemon(directory / "pa") as server, contextlib.ExitStack() as stack_cm:
        os.environ.update(server.env())
        subprocess.run(
            [
                "pactl",
                "load-module",
                "module-null-sink",
                f"sink_name={HAVEN_SINK}",
                f"rate={RATE}",
                "channels=1",
            ],
            check=True,
            capture_output=True,
        )
        os.environ["PULSE_SINK"] = HAVEN_SINK  # Haven's speaker: read when a stream opens
        rescan()
        stack_cm.callback(_restore, saved)
        wavs = {
            "start_checkin": speech(directory / "start.wav", START_TEXT, VOICE),
            "pause": speech(directory / "pause.wav", PAUSE_TEXT, VOICE),
        }
        synth = stack_cm.enter_context(
            Synthesizer(stack.settings.voice or None, stack.settings.rate)
        )
        speaker = stack_cm.enter_context(Speaker(synth, None, lambda text: None))
        # idle listening: nothing else of ours running
        running = Running(stack, speaker, lambda: MicSource(None))
        try:
            time.sleep(2.0)
            idle = idle_cost()
        finally:
            running.close()
        mic_side = stack_cm.enter_context(SinkRecorder())
        voice = stack_cm.enter_context(MonitorRecorder(HAVEN_SINK))
        mic_side.wait_for_blocks()
        for run in range(runs + 1):
            speaker.stop()
            running = Running(stack, speaker, lambda: MicSource(None))
            try:
                time.sleep(1.0)
                for intent in ("start_checkin", "pause"):
                    if intent == "pause":  # about a second into Haven's welcome
                        voice.wait_for_sound(after=time.monotonic() - 0.5)
                        time.sleep(1.0)

                    def say(wav: Path = wavs[intent]) -> float:
                        began = time.monotonic()
                        player = start_playing_into_mic(wav)
                        player.wait(timeout=30)
                        loud = [t for t in mic_side.loud_times() if t > began]
                        return loud[-1] if loud else time.monotonic()

                    def reply_after(
                        decided: float, pausing: bool = intent == "pause"
                    ) -> float | None:
                        return _reply_onset(voice.loud_times(), decided, pausing)

                    _measure(series[intent], run, say, running, reply_after)
            finally:
                running.close()
            log(f"device run {run}: " + ", ".join(_last(s) for s in series.values()))
    for s in series.values():
        s.cold = None  # the recognizer was warmed by the file runs already
    return list(series.values()), idle


def _reply_onset(loud: list[float], decided: float, after_quiet: bool) -> float | None:
    """The first loud block after ``decided``; with ``after_quiet``, the first one after a
    gap of at least 30 ms (Haven's cut-off prompt may still be sounding at the decision)."""
    later = [t for t in loud if t > decided - 0.005]
    if not after_quiet:
        return later[0] if later else None
    previous = decided
    for t in later:
        if t - previous >= 0.03:
            return t
        previous = t
    return None


def _restore(saved: dict[str, str | None]) -> None:
    from assistant.devices import rescan

    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    with contextlib.suppress(Exception):
        rescan()


# ---- the report ----------------------------------------------------------------------------


def table(series: list[Series]) -> str:
    rows = [
        "| source | command | runs | decision median / p95 (ms) "
        "| first reply sample median / p95 (ms) | Haven's own estimate, median (ms) "
        "| cold first run (ms) | not heard |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in series:
        dec = _ms([x.decision for x in s.samples])
        rep = _ms([x.reply for x in s.samples if x.reply is not None])
        own = _ms(s.own_estimate)[0]
        cold = "(warm)"
        if s.cold is not None:
            cold = f"{1000 * s.cold.decision:.0f}"
        what = "pause (barge-in)" if s.intent == "pause" else s.intent
        rows.append(
            f"| {s.source} | {what} | {len(s.samples)} | {dec[0]} / {dec[1]} | "
            f"{rep[0]} / {rep[1]} | {own} | {cold} | {s.missed} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-device", action="store_true", help="the file source only")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            results = file_runs(stack, args.runs, log)
            idle: tuple[float, float] | None = None
            if not args.no_device:
                device, idle = device_runs(stack, args.runs, log)
                results += device
        finally:
            stack.close()
    load_after = os.getloadavg()
    text = table(results)
    idle_line = "-" if idle is None else f"{idle[0]:.0f}% of one core, {idle[1]:.0f} MB resident"
    print(text)
    print(f"idle listening: {idle_line}")
    print(f"load average: {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    if args.write:
        write_section(
            ROOT / "BENCHMARKS.md", SECTION, section(text, idle_line, load_before, load_after, args)
        )
        print("wrote the Latency section of BENCHMARKS.md")
    return 0


def section(
    text: str,
    idle: str,
    before: tuple[float, float, float],
    after: tuple[float, float, float],
    args: argparse.Namespace,
) -> str:
    from assistant.listen.tuning import ListenTuning

    end_ms, tuning = VadConfig().end_ms, ListenTuning()
    day = time.strftime("%Y-%m-%d")
    return f"""{day}, `python -m bench.latency --runs {args.runs}`: {args.runs} runs per row
after one warm-up run ("cold"), the commands said by espeak-ng `{VOICE}`; the pause said about a
second into Haven's welcome (barge-in). Times are from the true end of speech (the clip's, or the
audio recorded off the virtual microphone) to the decision, and to the first sample of Haven's
reply (file source: the reply is ready to hand to a device; device: the first sound on
Haven's sink, for the pause the first after its cut-off welcome went quiet).

{text}

"not heard": times the command was said and nothing was decided within {DECIDE_TIMEOUT:g} s (it
was then said again, up to {TRIES} times). "cold": the warm-up run, when the recognizer builds
the grammar for a set of intents the first time (the device runs reuse the warm recognizer).
The hearing is whatever `create_hearing` returned that day (the wake-phrase listener).
"Haven's own estimate" is the decision minus the endpointer's end of speech, in stream time
(it leaves out the decoding that ran ahead and the device's buffering).

Idle listening on the virtual device (microphone, speaker stream, hearing): {idle}.

Machine: 2 cores; load average {before[0]:.1f} at the start, {after[0]:.1f} at the end.

Where the time goes: the endpointer closes an utterance only after `VadConfig.end_ms` =
{end_ms} ms of quiet, but the always-armed pause (while Haven speaks) and "Haven, <command>"
are decided before that: their grammar decodes run ahead after
`ListenTuning.speculate_ms` = {tuning.speculate_ms} ms of quiet (about 120 ms on these
machines, both pocketsphinx passes), and the decision is taken once the quiet reaches
`ListenTuning.early_ms` = {tuning.early_ms} ms, reusing them (speech that resumes throws
them away). So a decision comes about {tuning.speculate_ms} ms + one decode after the end of
speech on the file source; the device adds PulseAudio's and PortAudio's buffering
(about 80-100 ms here). Replies ("I'm done", "I'm ready") still wait for the endpointer.
"""


if __name__ == "__main__":
    raise SystemExit(main())
