"""A session: one engine, its session log, and where its events go.

Text mode, the live loop and the demo all drive a Session: it feeds intents and
clock ticks to the engine, writes what the engine did to the log (through a
LogKeeper, so a full disk never stops the guidance), and hands every event to a
sink (the console, the speaker).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from types import TracebackType

from .engine import Engine, Memory
from .events import Event, OfferAnswered, PracticeChanged, StopSpeaking
from .intents import IntentMatch
from .log import SessionLog
from .logkeeper import LogKeeper
from .questions import RECENT_SESSIONS
from .schedule import Scheduler

_LOG = logging.getLogger(__name__)

Sink = Callable[[Event], None]


class Session:
    """Drives an engine and records what happens. A context manager that owns the log."""

    def __init__(
        self,
        engine: Engine,
        logs: LogKeeper | None,
        sink: Sink,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self._logs = logs
        self.sink = sink
        """Where every event goes (the console, the speaker); settable by the app."""

    @property
    def interrupted_before(self) -> list[int]:
        """Ids of earlier sessions that ended in a crash, noted at start."""
        return self._logs.interrupted_before if self._logs else []

    def __enter__(self) -> Session:
        if self._logs is not None:
            self._logs.open(self.engine.clock.now())
            self.engine.remember(memory_from_log(self._logs.log))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close("interrupted" if exc_type not in (None, KeyboardInterrupt) else "ended")

    def close(self, status: str = "ended") -> None:
        """Stop whatever runs and end the session in the log."""
        self._route(self.engine.close())
        if self._logs is not None:
            self._logs.close(self.engine.clock.now(), status)
            self._logs = None

    def hear(self, match: IntentMatch) -> None:
        """Pass a recognized intent to the engine."""
        self._route(self.engine.hear(match))

    def start(self, practice: str) -> None:
        """Start a practice directly."""
        self._route(self.engine.start(practice))

    def crisis(self) -> None:
        """Crisis words were heard: the engine stops and reads the resources.

        Nothing of the crisis reaches the log: only the practice's end is written,
        as "stopped", exactly as if someone had said "stop".
        """
        events = self.engine.crisis()
        if self._logs is not None:
            self._logs.record(e for e in events if isinstance(e, PracticeChanged))
        for event in events:
            self.sink(event)

    def next_deadline(self) -> float | None:
        """When ``tick`` next has work: an engine timer or a scheduled offer."""
        times = [self.engine.next_deadline()]
        if self.scheduler is not None:
            times.append(self.scheduler.next_due())
        return min((t for t in times if t is not None), default=None)

    def tick(self) -> None:
        """Let the engine do whatever is due now, and make scheduled offers."""
        self._route(self.engine.tick())
        if self.scheduler is None:
            return
        now = self.engine.clock.now()
        for practice, occurrence in self.scheduler.due(now):
            offered = self.engine.offer(practice)
            if offered:
                self._route(offered)
            else:
                self.scheduler.busy(practice, occurrence, now)

    def _route(self, events: list[Event]) -> None:
        """Barge-in first, then the log (write-ahead), then everything else to the sink."""
        for event in events:
            if isinstance(event, StopSpeaking):
                self.sink(event)
        if self._logs is not None and events:
            self._logs.record(events)
        for event in events:
            if not isinstance(event, StopSpeaking):
                self.sink(event)
            if (
                isinstance(event, OfferAnswered)
                and event.answer == "snoozed"
                and self.scheduler is not None
            ):
                self.scheduler.snooze(event.practice, event.at, event.minutes)


def memory_from_log(log: SessionLog | None) -> Memory:
    """What the engine should remember from earlier sessions (nothing without a log)."""
    if log is None:
        return Memory()
    runs = Counter(p.practice for s in log.sessions() for p in s.practices)
    return Memory(dict(runs), tuple(log.recent_questions(RECENT_SESSIONS)))
