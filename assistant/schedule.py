"""Schedules: offer bedtime gratitude daily and the weekly check-in weekly, on time.

Pure time arithmetic over local wall-clock times. An offer missed while Haven was
off is never replayed later: only an occurrence at most ``GRACE`` seconds old is
offered, and a busy Haven retries for at most ``WINDOW`` seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

GRACE = 15 * 60.0
"""How late an offer may still be made after its time (e.g. Haven just started)."""
WINDOW = 60 * 60.0
"""How long after its time a busy Haven keeps trying to make the offer."""
RETRY = 5 * 60.0
"""How often a busy Haven tries again."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun)[a-z]*\s+)?([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Rule:
    """A time of day, every day or on one weekday."""

    hour: int
    """0-23, local time."""
    minute: int
    """0-59."""
    weekday: int | None = None
    """0 = Monday ... 6 = Sunday; None for every day."""

    @classmethod
    def parse(cls, text: str) -> Rule:
        """'21:30' (daily) or 'sun 19:00' / 'Sunday 19:00' (weekly); ValueError otherwise."""
        match = _RULE.match(text.strip().lower())
        if not match:
            raise ValueError(f"'{text}' is not a time; write 21:30, or a day and time: sun 19:00")
        day, hour, minute = match.groups()
        return cls(int(hour), int(minute), DAYS.index(day[:3]) if day else None)

    def __str__(self) -> str:
        when = f"{self.hour:02d}:{self.minute:02d}"
        return when if self.weekday is None else f"{DAYS[self.weekday]} {when}"

    def last_at_or_before(self, t: float) -> float:
        """The latest occurrence at or before ``t`` (epoch seconds)."""
        local = time.localtime(t)
        for back in range(8):
            day = time.localtime(t - back * 86400)
            candidate = time.mktime(
                (day.tm_year, day.tm_mon, day.tm_mday, self.hour, self.minute, 0, 0, 0, -1)
            )
            weekday_ok = self.weekday is None or day.tm_wday == self.weekday
            if weekday_ok and candidate <= t:
                return candidate
        raise AssertionError(f"no occurrence in the week before {local}")  # pragma: no cover

    def next_after(self, t: float) -> float:
        """The first occurrence strictly after ``t``."""
        for ahead in range(9):
            day = time.localtime(t + ahead * 86400)
            candidate = time.mktime(
                (day.tm_year, day.tm_mon, day.tm_mday, self.hour, self.minute, 0, 0, 0, -1)
            )
            weekday_ok = self.weekday is None or day.tm_wday == self.weekday
            if weekday_ok and candidate > t:
                return candidate
        raise AssertionError("no occurrence in the next week")  # pragma: no cover


@dataclass
class Scheduler:
    """Decides when to offer each scheduled practice. Owned by one Session."""

    rules: Mapping[str, Rule]
    """Practice id -> when to offer it."""
    started: float
    """When Haven started: older occurrences are never replayed."""
    _next: dict[str, float] = field(default_factory=dict)
    _extra: list[tuple[float, str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for practice, rule in self.rules.items():
            last = rule.last_at_or_before(self.started)
            if self.started - last <= GRACE:  # just started, a moment after its time
                self._extra.append((self.started, practice, last))
            self._next[practice] = rule.next_after(self.started)

    def next_due(self) -> float | None:
        """The earliest time something is due."""
        return min([*self._next.values(), *(at for at, _, _ in self._extra)], default=None)

    def due(self, now: float) -> list[tuple[str, float]]:
        """(practice, its scheduled time) to offer now, each taken off the schedule."""
        found: list[tuple[str, float]] = []
        for practice, at in list(self._next.items()):
            if at <= now:
                found.append((practice, at))
                self._next[practice] = self.rules[practice].next_after(max(now, at))
        for entry in [e for e in self._extra if e[0] <= now]:
            self._extra.remove(entry)
            found.append((entry[1], entry[2]))
        return sorted(
            ((p, occ) for p, occ in found if now - occ <= WINDOW), key=lambda item: item[1]
        )

    def busy(self, practice: str, occurrence: float, now: float) -> None:
        """Haven was busy when ``practice`` came due: try again soon, within the window."""
        retry = now + RETRY
        if retry - occurrence <= WINDOW:
            self._extra.append((retry, practice, occurrence))

    def snooze(self, practice: str, now: float, minutes: int) -> None:
        """Offer again in ``minutes`` (the regular schedule is unchanged)."""
        at = now + minutes * 60.0
        self._extra.append((at, practice, at))
