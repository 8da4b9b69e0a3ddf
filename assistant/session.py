"""A session: one engine, its session log, and where its events go.

Text mode, the live loop and the demo all drive a Session: it feeds intents and
clock ticks to the engine, writes what the engine did to the log, and hands every
event to a sink (the console, the speaker). A log that cannot be written (a full
disk) never stops the guidance: the session warns once and retries on each event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from .engine import Engine, Memory
from .errors import StorageError
from .events import Event, IntentHeard, OfferAnswered, Say
from .intents import IntentMatch
from .log import SessionLog
from .questions import RECENT_SESSIONS
from .schedule import Scheduler

_LOG = logging.getLogger(__name__)

Sink = Callable[[Event], None]


class Session:
    """Drives an engine and records what happens. A context manager."""

    def __init__(
        self,
        engine: Engine,
        log: SessionLog | None,
        sink: Sink,
        mode: str,
        on_log_problem: Callable[[str], None] | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self._log = log
        self._sink = sink
        self._mode = mode
        self._on_log_problem = on_log_problem
        self._backlog: list[Event] = []
        self._log_failing = False
        self.interrupted_before: list[int] = []
        """Ids of earlier sessions that ended in a crash, noted at start."""

    def __enter__(self) -> Session:
        if self._log is not None:
            self.interrupted_before = self._log.mark_interrupted()
            self._guard(lambda log: log.start_session(self._mode, self.engine.clock.now()))
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
        if self._log is not None:
            self._guard(lambda log: log.end_session(self.engine.clock.now(), status))

    def hear(self, match: IntentMatch) -> None:
        """Pass a recognized intent to the engine."""
        self._route(self.engine.hear(match))

    def start(self, practice: str) -> None:
        """Start a practice directly."""
        self._route(self.engine.start(practice))

    def crisis(self) -> None:
        """Crisis words were heard: the engine stops and reads the resources.

        Nothing of it reaches the log: the events go to the sink only.
        """
        for event in self.engine.crisis():
            self._sink(event)

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
        for event in events:
            self._sink(event)
            if (
                isinstance(event, OfferAnswered)
                and event.answer == "snoozed"
                and self.scheduler is not None
            ):
                self.scheduler.snooze(event.practice, event.at, event.minutes)
        if self._log is not None and events:
            self._backlog.extend(e for e in events if not isinstance(e, IntentHeard | Say))
            self._flush_backlog()

    def _flush_backlog(self) -> None:
        log = self._log
        if log is None:
            return
        if log.session_id is None and not self._guard(
            lambda lg: lg.start_session(self._mode, self.engine.clock.now())
        ):
            return
        while self._backlog:
            event = self._backlog[0]
            if not self._guard(lambda lg, ev=event: lg.record(ev)):  # type: ignore[misc]
                return
            self._backlog.pop(0)

    def _guard(self, action: Callable[[SessionLog], object]) -> bool:
        """Run a log action; on failure warn once, keep going, retry later."""
        if self._log is None:
            return False
        try:
            action(self._log)
        except StorageError as exc:
            if not self._log_failing:
                self._log_failing = True
                _LOG.warning("session log not written: %s; guidance goes on", exc)
                if self._on_log_problem is not None:
                    self._on_log_problem(str(exc))
            return False
        if self._log_failing:
            self._log_failing = False
            _LOG.info("session log writable again")
        return True


def memory_from_log(log: SessionLog) -> Memory:
    """What the engine should remember from earlier sessions."""
    used = {p.practice for s in log.sessions() for p in s.practices}
    return Memory(frozenset(used), tuple(log.recent_questions(RECENT_SESSIONS)))
