"""Scheduled offers: pure time arithmetic, on a fixed time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from assistant.schedule import GRACE, RETRY, WINDOW, Rule, Scheduler


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def at(text: str) -> float:
    return datetime.fromisoformat(text + "+00:00").timestamp()


def test_rules_parse_and_reject() -> None:
    assert Rule.parse("21:30") == Rule(21, 30, None)
    assert Rule.parse("Sunday 19:00") == Rule(19, 0, 6)
    assert str(Rule.parse("sun 7:05")) == "sun 07:05"
    for bad in ("25:00", "9pm", "funday 10:00", ""):
        with pytest.raises(ValueError, match="not a time"):
            Rule.parse(bad)


def test_daily_offer_on_time_then_next_day() -> None:
    s = Scheduler({"gratitude": Rule(21, 30)}, at("2026-11-24T08:00"))  # a Tuesday
    assert s.next_due() == at("2026-11-24T21:30")
    assert s.due(at("2026-11-24T21:29")) == []
    assert s.due(at("2026-11-24T21:30")) == [("gratitude", at("2026-11-24T21:30"))]
    assert s.next_due() == at("2026-11-25T21:30")


def test_weekly_offer_lands_on_its_day() -> None:
    s = Scheduler({"weekly_checkin": Rule(19, 0, 6)}, at("2026-11-24T08:00"))
    assert s.next_due() == at("2026-11-29T19:00")  # the Sunday


def test_started_just_after_the_time_still_offers_but_not_hours_later() -> None:
    late = at("2026-11-24T21:30") + GRACE - 60
    s = Scheduler({"gratitude": Rule(21, 30)}, late)
    assert s.due(late) == [("gratitude", at("2026-11-24T21:30"))]
    much_later = at("2026-11-24T23:45")
    s = Scheduler({"gratitude": Rule(21, 30)}, much_later)
    assert s.due(much_later) == []
    assert s.next_due() == at("2026-11-25T21:30")


def test_long_gap_is_not_replayed() -> None:
    """The machine slept through the time: the offer is not made when it wakes."""
    s = Scheduler({"gratitude": Rule(21, 30)}, at("2026-11-24T08:00"))
    assert s.due(at("2026-11-25T03:00")) == []
    assert s.next_due() == at("2026-11-25T21:30")


def test_busy_retries_within_the_window_only() -> None:
    s = Scheduler({"gratitude": Rule(21, 30)}, at("2026-11-24T08:00"))
    now = at("2026-11-24T21:30")
    [(practice, occurrence)] = s.due(now)
    while True:
        s.busy(practice, occurrence, now)
        nxt = s.next_due()
        assert nxt is not None
        if nxt >= at("2026-11-25T00:00"):
            break
        assert nxt == now + RETRY
        now = nxt
        assert s.due(now) == [("gratitude", occurrence)]
    assert now - occurrence <= WINDOW


def test_snooze_offers_again_and_keeps_the_schedule() -> None:
    s = Scheduler({"gratitude": Rule(21, 30)}, at("2026-11-24T08:00"))
    now = at("2026-11-24T21:30")
    s.due(now)
    s.snooze("gratitude", now, 10)
    assert s.next_due() == now + 600
    assert s.due(now + 600) == [("gratitude", now + 600)]
    assert s.next_due() == at("2026-11-25T21:30")
