"""``haven run`` and ``haven demo``: wiring the live loop, or a clear fallback.

This is where the audio stack is built: microphone (or scripted partners), VAD and
recognizer, engine and log, TTS and speaker. Everything is a context manager and
closed in reverse order; SIGTERM and Ctrl-C end the loop within a second.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType

import numpy as np

from .app import Heard, Hearing, LiveLoop, Notice
from .clock import Clock, SystemClock
from .config import Settings
from .engine import Engine
from .errors import NoDeviceError
from .events import Event, IntentHeard
from .library import Library, default_models_dir
from .log import SessionLog
from .logkeeper import LogKeeper
from .schedule import Scheduler
from .session import Session
from .stt.base import Recognizer
from .stt.decide import Tuning
from .textmode import event_text

_LOG = logging.getLogger(__name__)
Out = Callable[[str], None]


def describe(item: Event | Notice | Heard) -> str | None:
    """A console line for what the loop shows."""
    if isinstance(item, Notice):
        return f"  {item.text}"
    if isinstance(item, Heard):
        if item.crisis:
            return "  (heard words of danger)"
        if item.match is None:
            return f"  (not for me: {item.text!r})" if item.text else None
        ms = (item.decided - item.end_of_speech) * 1000
        return f"  (heard: {item.match.intent} in {ms:.0f} ms)"
    if isinstance(item, IntentHeard):
        return None  # shown with its timing as Heard
    return event_text(item)


LISTENING_ADAPTED = False
"""Whether the live listening uses ``haven adapt``'s adapted speech model. Not yet: its
detectors, floors and both-passes rules were tuned on the plain model, and with an adapted
model (the earlier MLLR transform) the 30-minute soak heard 2 false pauses and missed 1
command (BENCHMARKS.md). ``haven detect FILE`` uses the adapted model."""


LISTENING_TUNING = Tuning(sound_agreement=None)
"""The grammar recognizer's rejection in the live listening: without the acoustic-score
rule (``Tuning.sound_agreement``) that `haven detect` uses. The listening's routes and
thresholds were tuned, and its false fires per hour of talk measured, without it; it stays
off here until the talk benchmark is run with it."""


def create_recognizer(
    library: Library, settings: Settings, adapted: bool = LISTENING_ADAPTED,
    tuning: Tuning = LISTENING_TUNING,
) -> Recognizer:  # fmt: skip
    """The recognizer the live listening uses (pocketsphinx, the embedded default)."""
    from .stt import recognizer_for

    return recognizer_for(library, settings, adapted=adapted, tuning=tuning)


def create_addressed(
    library: Library, settings: Settings, adapted: bool = LISTENING_ADAPTED,
    tuning: Tuning = LISTENING_TUNING,
) -> Recognizer:  # fmt: skip
    """The second recognizer the listening uses (its named route): the same engine, given
    every command said after the wake name ("Haven, start check-in") as one phrase."""
    from .listen.routes import addressed_intents
    from .stt import make_recognizer

    return make_recognizer(addressed_intents(library.intents, settings.wake_name),
                           settings.engine, vosk_model=settings.vosk_model,
                           adapted=adapted, tuning=tuning)  # fmt: skip


def create_hearing(
    library: Library,
    settings: Settings,
    recognizer: Recognizer,
    echo_cancelled: bool = False,
    addressed: Recognizer | None = None,
    playback: Callable[[float, float], np.ndarray] | None = None,
) -> Hearing:
    """The listening the live loop, the demo, the soak and the benchmarks all use: the wake
    phrase, the always-armed pause and the step's replies, each confirmed by the grammar.
    ``echo_cancelled``: Haven's own voice is taken out of the microphone, so while Haven
    speaks the pause may be taken without its detector, and a pause with a length may be
    worded any way. ``addressed``: the recognizer of the named route
    (:func:`create_addressed`; without it that route is off). ``playback``: what Haven
    played between two ``time.monotonic()`` times (the speaker's ``PlaybackTap.window``):
    without the canceller, while Haven speaks, a pause its detector did not confirm is then
    taken when enough of the utterance is someone else's voice
    (``ListenTuning.doubletalk_s``)."""
    from .detect import top_level_intents
    from .listen.listener import build_listener
    from .listen.tuning import ListenTuning

    listener = build_listener(recognizer, library.intents, library.safety,
                              default_models_dir(), settings.wake_name,
                              ListenTuning(alone_over_haven=echo_cancelled,
                                           lengths_over_haven=echo_cancelled),
                              addressed, playback)  # fmt: skip
    listener.warm(top_level_intents(library))
    return listener


def _session(
    library: Library, settings: Settings, clock: Clock, data_dir: Path, mode: str, err: Out
) -> Session:
    logs = LogKeeper(
        lambda: SessionLog.in_data_dir(data_dir),
        mode,
        on_problem=lambda m: err(f"warning: {m}; Haven keeps going without the log"),
    )
    engine = Engine(library, settings, clock, random.Random())
    return Session(engine, logs, lambda e: None, Scheduler(settings.schedule(), clock.now()))


@contextmanager
def _signals(loop: LiveLoop) -> Iterator[None]:
    """SIGTERM ends the loop cleanly (Ctrl-C too, as KeyboardInterrupt)."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        loop.stop()

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_live(
    args: argparse.Namespace,
    library: Library,
    settings: Settings,
    data_dir: Path,
    out: Out,
    err: Out,
) -> int:
    """Listen on the microphone and guide, until Ctrl-C or SIGTERM."""
    from .mic import MicSource
    from .speaker import Speaker
    from .tts import Synthesizer

    input_device, output_device = settings.input_device or None, settings.output_device or None
    with ExitStack() as stack:
        if args.echo_cancel:
            from .echo import EchoCanceller

            devices = stack.enter_context(EchoCanceller())
            stack.enter_context(_environment(devices.env()))
            if input_device or output_device:
                err("warning: with --echo-cancel Haven uses the sound server's cancelled "
                    "pair, not input_device/output_device")  # fmt: skip
            input_device = output_device = None
            out(f"Echo cancellation on ({devices.source}): say \"we need a pause\" even "
                "over Haven's voice.")  # fmt: skip

        def open_mic() -> MicSource:
            return MicSource(input_device)

        first = open_mic()  # fails here, clearly, when there is no microphone
        first.close()
        out(f"Listening on {first.device.name!r}. Say \"{settings.wake_name}, what can I say\", "
            "or \"we need a pause\" at any time. Ctrl-C ends.")
        recognizer = stack.enter_context(create_recognizer(library, settings))
        synth = stack.enter_context(
            Synthesizer(settings.voice or None, settings.rate, settings.volume)
        )
        speaker = stack.enter_context(
            Speaker(synth, output_device, lambda text: None)
        )
        session = stack.enter_context(
            _session(library, settings, SystemClock(), data_dir, "run", err)
        )
        addressed = stack.enter_context(create_addressed(library, settings))
        hearing = create_hearing(library, settings, recognizer, bool(args.echo_cancel),
                                 addressed, speaker.tap.window)  # fmt: skip
        loop = stack.enter_context(
            LiveLoop(session, speaker, hearing, open_mic, lambda item: _print(out, item))
        )
        with _signals(loop):
            try:
                loop.run()
            except KeyboardInterrupt:
                out("Goodbye.")
    return 0


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (the sound server's client reads them when
    a stream connects), then put back what was there."""
    import os

    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _print(out: Out, item: Event | Notice | Heard) -> None:
    line = describe(item)
    if line is not None:
        out(line)


def no_microphone_message(exc: NoDeviceError) -> str:
    """What `haven run` says before falling back to typing."""
    return (
        f"haven: {exc}. Starting text mode instead: type what you would say "
        "(`haven run --text` does this directly; `haven devices` lists what is connected)."
    )


def run_demo(
    library: Library, settings: Settings, data_dir: Path, speed: float, out: Out, err: Out
) -> int:
    """Two synthesized partners and Haven, through the real hearing and engine."""
    from .demo import ScriptedPartners, SkippingClock, TimelineSpeaker, scenario
    from .tts import Synthesizer

    names = (settings.partner_a, settings.partner_b)
    if names == ("Partner A", "Partner B"):
        names = ("Sam", "Alex")
    settings = replace(settings, partner_a=names[0], partner_b=names[1])
    clock = SkippingClock()
    started = time.monotonic()

    def stamp() -> str:
        return f"[{time.monotonic() - started:5.1f}s]"

    with ExitStack() as stack:
        recognizer = stack.enter_context(create_recognizer(library, settings))
        synth = stack.enter_context(Synthesizer(settings.voice or None, settings.rate))
        speaker = TimelineSpeaker(synth, speed, lambda text: out(f"{stamp()} Haven: {text}"))
        partners = ScriptedPartners(
            scenario(*names), speaker, clock, speed,
            lambda line: out(f"{stamp()} {line.who}: {line.text}"),
            lambda minutes: out(f"{stamp()}   ... {minutes:.0f} minutes later ..."),
        )  # fmt: skip
        session = stack.enter_context(_session(library, settings, clock, data_dir, "demo", err))
        addressed = stack.enter_context(create_addressed(library, settings))
        hearing = create_hearing(library, settings, recognizer, addressed=addressed)

        def show(item: Event | Notice | Heard) -> None:
            from .events import Say

            if isinstance(item, Say):
                partners.prompt_said(item.prompt)
                return
            line = describe(item)
            if line is not None:
                out(f"{stamp()} {line}")

        loop = stack.enter_context(
            LiveLoop(session, speaker, hearing, partners.open, show, end_when_source_ends=True)
        )
        with _signals(loop):
            loop.run()
    if not partners.finished.is_set():
        err("haven demo: the scenario did not run to its end")
        return 1
    out("Demo finished.")
    return 0

