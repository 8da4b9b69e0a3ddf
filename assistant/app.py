"""The live loop: audio in -> hearing -> engine -> speaker and log, with timers.

Threads (each named, owned here, joined on close):

- ``haven-listen`` reads the audio source, finds utterances and decodes them, and
  puts what it heard in the inbox. While Haven speaks, only the pause is live
  (barge-in), and words that echo the prompt being played are ignored.
- the caller's thread runs :meth:`LiveLoop.run`: it takes what was heard, drives the
  session (engine + log), fires timers, and sends speech to the speaker.

A microphone that fails or vanishes is reopened with backoff; the session and its
timers go on meanwhile.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from .audio import AudioChunk
from .errors import AudioError
from .events import Earcon, EarconKind, Event, Say, StopSpeaking
from .intents import IntentMatch, normalize
from .listen.phrasing import haven_said
from .session import Session

_LOG = logging.getLogger(__name__)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Seconds between attempts to reopen a lost microphone."""
BARGE_IN = frozenset({"pause"})
"""What can be heard while Haven is speaking."""
ECHO_TAIL = 0.8
"""Seconds (of audio) after Haven's voice stops that it still counts as speaking. The
utterance holding Haven's last words (leaking back into the microphone) is only closed
once the endpointer has heard its trailing silence (``VadConfig.end_ms``, 0.5 s), plus the
room's and the device's delay: decided on the full set of intents, the end of a prompt
like "say I'm ready" would be taken as a reply."""
ALONE = "alone"
"""``Heard.via`` of the always-armed pause taken without its detector (both grammar passes
heard one of the fixed phrasings): checked against Haven's own words while Haven speaks."""


@dataclass(frozen=True)
class Heard:
    """One utterance, decided."""

    text: str
    """What the recognizer made of it ("" when nothing)."""
    match: IntentMatch | None
    """The intent, if it was addressed to Haven and understood."""
    end_of_speech: float
    """``time.monotonic()`` when the speech ended."""
    decided: float
    """``time.monotonic()`` when the decision was made."""
    crisis: bool = False
    """Crisis words were heard."""
    via: str = ""
    """How it reached Haven: "wake" (after the wake phrase), "named" (the name and the
    command heard as one phrase by the grammar, without the wake detector), "armed" (the
    always-armed pause), "alone" (the always-armed pause heard by the grammar's two
    passes without its detector), "reply" (a reply the current step expects), "window"
    (just after a bare wake phrase) or "" (the grammar alone)."""
    at: float = 0.0
    """Stream time (seconds since listening began) of the end of the speech."""


class Hearing(Protocol):
    """Turns audio into decisions. Called from the listening thread only."""

    def feed(
        self, chunk: AudioChunk, allowed: frozenset[str], expected: frozenset[str] = frozenset()
    ) -> list[Heard]:
        """Take one chunk; return the utterances that ended in it.

        ``allowed`` is every intent that does something now; ``expected`` the replies the
        current step waits for (a listener may take those without the wake phrase).
        """
        ...

    def reset(self) -> None:
        """Forget any utterance in progress (after a gap in the audio)."""
        ...


class SpeakerLike(Protocol):
    """What the loop needs of the speaker."""

    def speak(self, text: str) -> None: ...
    def earcon(self, kind: EarconKind) -> None: ...
    def stop(self) -> None: ...
    @property
    def speaking(self) -> bool: ...
    @property
    def last_spoken_text(self) -> str: ...


SourceOpener = Callable[[], AbstractContextManager[Iterable[AudioChunk]]]


@dataclass(frozen=True)
class Notice:
    """Something the person at the console should know (not an engine event)."""

    text: str
    """The message."""


class LiveLoop:
    """Runs Haven hands-free until :meth:`stop`. A context manager."""

    def __init__(
        self,
        session: Session,
        speaker: SpeakerLike,
        hearing: Hearing,
        open_source: SourceOpener,
        show: Callable[[Event | Notice | Heard], None],
        *,
        wall_clock: Callable[[], float] = time.monotonic,
        end_when_source_ends: bool = False,
        echo_tail: float = ECHO_TAIL,
    ) -> None:
        self.session = session
        self.speaker = speaker
        self._hearing = hearing
        self._open_source = open_source
        self._show = show
        self._monotonic = wall_clock
        self._end_when_source_ends = end_when_source_ends
        self._echo_tail = echo_tail
        self._audible_until = float("-inf")  # haven-listen only, stream time
        self._inbox: queue.Queue[Heard | Notice | None] = queue.Queue()
        self._stopping = threading.Event()
        self._allowed = frozenset(session.engine.allowed_intents())
        self._expected = frozenset(session.engine.expected_intents())
        self._source: AbstractContextManager[Iterable[AudioChunk]] | None = None
        self._listen = threading.Thread(target=self._listen_loop, name="haven-listen")
        self.decisions: list[Heard] = []
        """Every decision that reached the engine, for measurements."""

    # ---- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> LiveLoop:
        self._listen.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stop(self) -> None:
        """Ask the loop to end (safe from any thread and from signal handlers)."""
        self._stopping.set()
        self._inbox.put(None)

    def close(self) -> None:
        """Stop, and join the listening thread."""
        self.stop()
        if self._listen.is_alive():
            self._listen.join(timeout=5)
        self.speaker.stop()

    # ---- the engine side (caller's thread) --------------------------------------------

    def run(self) -> None:
        """Process what is heard and what is due until stopped."""
        self.session.sink = self._route
        while not self._stopping.is_set():
            item = self._next_item()
            if isinstance(item, Heard):
                self._handle(item)
            elif isinstance(item, Notice):
                self._show(item)
                if item.text == _SOURCE_ENDED and self._end_when_source_ends:
                    self._stopping.set()
            self.session.tick()
            self._allowed = frozenset(self.session.engine.allowed_intents())
            self._expected = frozenset(self.session.engine.expected_intents())

    def _next_item(self) -> Heard | Notice | None:
        deadline = self.session.next_deadline()
        timeout = 0.5
        if deadline is not None:
            timeout = min(timeout, max(0.0, deadline - self.session.engine.clock.now()))
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _handle(self, heard: Heard) -> None:
        self._show(heard)
        if heard.crisis:
            self.decisions.append(heard)
            self.session.crisis()
        elif heard.match is not None:
            self.decisions.append(heard)
            self.session.hear(heard.match)

    def _route(self, event: Event) -> None:
        """Session sink: the speaker gets speech and tones, the console sees everything."""
        if isinstance(event, StopSpeaking):
            if self.speaker.speaking:
                self._show(Notice(f"(cut off: {self.speaker.last_spoken_text})"))
            self.speaker.stop()
        elif isinstance(event, Say):
            self.speaker.speak(event.text)
        elif isinstance(event, Earcon):
            self.speaker.earcon(event.kind)
        self._show(event)

    # ---- the listening side (haven-listen thread) -------------------------------------

    def _listen_loop(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                with self._open_source() as source:
                    if attempt:
                        self._inbox.put(Notice("The microphone is back. Listening again."))
                    attempt = 0
                    self._hearing.reset()
                    self._audible_until, at = float("-inf"), 0.0
                    for chunk in self._chunks(source):
                        at += chunk.seconds  # the audio fed (not every source stamps it)
                        live = self._live_intents(at)
                        expected = self._expected & live
                        for heard in self._hearing.feed(chunk, live, expected):
                            if heard.match is None or self._accept(heard, at):
                                self._inbox.put(heard)
                if self._stopping.is_set():
                    return
                self._inbox.put(Notice(_SOURCE_ENDED))
                if self._end_when_source_ends:
                    return
            except AudioError as exc:
                if self._stopping.is_set():
                    return
                if attempt == 0:
                    self._inbox.put(Notice(f"I lost the microphone ({exc}). Trying again."))
            wait = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            attempt += 1
            _LOG.info("reopening the audio source in %.0f s", wait)
            if self._stopping.wait(wait):
                return

    def _chunks(self, source: Iterable[AudioChunk]) -> Iterator[AudioChunk]:
        for chunk in source:
            if self._stopping.is_set():
                return
            yield chunk

    def _haven_audible(self, at: float) -> bool:
        """Haven is speaking, or stopped less than ``echo_tail`` of stream time before
        ``at`` (its voice may still be in the utterance the endpointer is about to close).
        Stream time, like the endpointer's, so a source faster than real time (the demo)
        gets the same tail in audio."""
        if self.speaker.speaking:
            self._audible_until = at + self._echo_tail
            return True
        return at < self._audible_until

    def _live_intents(self, at: float) -> frozenset[str]:
        if self._haven_audible(at):
            return BARGE_IN
        return self._allowed

    def _accept(self, heard: Heard, at: float) -> bool:
        """Drop an echo of Haven's own prompt (it never triggers itself). The pause always
        counts, but for one its detector did not confirm (``via`` "alone") made only of
        words Haven is saying (``haven_said``): that is Haven's voice heard back."""
        if heard.match is None:
            return True
        if heard.match.intent in BARGE_IN:
            if heard.via != ALONE or not self._haven_audible(at):
                return True
            echo = haven_said(heard.text, self.speaker.last_spoken_text)
            if echo:
                _LOG.info("not a pause: %r is Haven's own words", heard.text)
            return not echo
        spoken = normalize(self.speaker.last_spoken_text)
        echo = bool(heard.text) and normalize(heard.text) in spoken
        return not (echo and self._haven_audible(at))


_SOURCE_ENDED = "The audio source ended."
