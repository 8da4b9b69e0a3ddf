"""Keeps the session log written through faults: a full disk never stops the guidance.

Events that cannot be written wait in memory, in order, and are written as soon as
the log works again; the first failure is reported once, not on every event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from .errors import LogUnavailable, StorageError
from .events import Event, IntentHeard, Say, StopSpeaking
from .log import SessionLog

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class LogKeeper:
    """Owns the session log of one session. Used from one thread."""

    def __init__(
        self,
        opener: Callable[[], SessionLog],
        mode: str,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self._opener = opener
        self._mode = mode
        self._on_problem = on_problem
        self._log: SessionLog | None = None
        self._started_at: float | None = None
        self._session_open = False
        self._backlog: list[Event] = []
        self._failing = False
        self.interrupted_before: list[int] = []
        """Ids of earlier sessions that ended in a crash, noted when the log opened."""

    @property
    def log(self) -> SessionLog | None:
        """The open log, if it could be opened."""
        return self._log

    def open(self, at: float) -> None:
        """Open the log and start the session; a damaged log raises, a full disk does not."""
        self._started_at = at
        self._ensure_open()

    def record(self, events: Iterable[Event]) -> None:
        """Queue what the log keeps (no words, no audio) and write all that is pending."""
        self._backlog.extend(
            e for e in events if not isinstance(e, IntentHeard | Say | StopSpeaking)
        )
        if self._backlog:
            self._flush()

    def close(self, at: float, status: str) -> None:
        """Write what is pending, end the session and close the file."""
        self._flush()
        if self._log is not None:
            if self._session_open:
                self._attempt(lambda log: log.end_session(at, status))
            self._log.close()
            self._log = None
        if self._backlog:
            _LOG.warning("%d event(s) could not be written to the session log", len(self._backlog))

    def _ensure_open(self) -> bool:
        if self._log is None:
            try:
                self._log = self._opener()
            except LogUnavailable as exc:
                self._problem(exc)
                return False
            self.interrupted_before = self._attempt_value(lambda log: log.mark_interrupted(), [])
        if not self._session_open and self._started_at is not None:
            started = self._started_at
            self._session_open = self._attempt(lambda log: log.start_session(self._mode, started))
        return self._session_open

    def _flush(self) -> None:
        if not self._backlog or not self._ensure_open():
            return
        while self._backlog:
            event = self._backlog[0]
            if not self._attempt(lambda log, ev=event: log.record(ev)):  # type: ignore[misc]
                return
            self._backlog.pop(0)

    def _attempt(self, action: Callable[[SessionLog], object]) -> bool:
        def run(log: SessionLog) -> bool:
            action(log)
            return True

        return self._attempt_value(run, False)

    def _attempt_value(self, action: Callable[[SessionLog], T], failed: T) -> T:
        if self._log is None:
            return failed
        try:
            value = action(self._log)
        except StorageError as exc:
            self._problem(exc)
            return failed
        if self._failing:
            self._failing = False
            _LOG.info("the session log is writable again")
        return value

    def _problem(self, exc: StorageError) -> None:
        if self._failing:
            return
        self._failing = True
        _LOG.warning("session log not written: %s; guidance goes on", exc)
        if self._on_problem is not None:
            self._on_problem(str(exc))
