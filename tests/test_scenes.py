"""The three scenes, scripted in text mode through the real CLI, checking prompts and the log."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_haven


def says(events: list[dict[str, Any]]) -> list[str]:
    return [e["prompt"] for e in events if e["event"] == "say"]


def states(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["practice"], e["state"]) for e in events if e["event"] == "practice"]


def rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "haven.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def write_names(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.yaml").write_text("partner_a: Sam\npartner_b: Alex\nlead: b\n")


def test_daily_checkin_start_to_end(data_dir: Path) -> None:
    write_names(data_dir)
    script = "\n".join(
        [
            "Haven, start check-in",
            "I'm done",  # lead (Alex) appreciation, ended early
            ":wait 90s",  # Sam's appreciation runs out its time
            "I'm done",
            "I'm done",
            "I'm done",
            "I'm done",
            "I'm done",
            ":wait 2m",  # Sam's wish times out
        ]
    )
    ran = run_haven(["text", "--json", "--seed", "3"], script, data_dir)
    assert ran.code == 0, ran.err
    events = ran.events()
    assert events[0] == {"event": "intent", "intent": "start_checkin", "slots": {}, "t": 0.0}
    assert states(events) == [("checkin", "started"), ("checkin", "finished")]
    prompts = says(events)
    assert prompts[:3] == ["checkin.welcome", "checkin.how", "checkin.appreciation"]
    topics = [p for p in prompts if p.split(".")[1] in ("appreciation", "news", "worry", "wish")]
    assert topics == [
        f"checkin.{t}" for t in ("appreciation", "news", "worry", "wish") for _ in "ab"
    ]
    texts = [e["text"] for e in events if e["event"] == "say"]
    assert texts[2].startswith("Alex"), "the lead partner (b: Alex) goes first"
    assert texts[3].startswith("Sam")
    assert prompts[-1] == "checkin.close"
    # a turn that runs out its time gets a 30-second cue, then thanks
    i = prompts.index("checkin.thirty_seconds")
    assert prompts[i + 1] == "checkin.time_up"
    # the log: one finished practice with every step, no words stored
    assert rows(data_dir, "SELECT practice, outcome FROM practices") == [("checkin", "finished")]
    steps = [r[0] for r in rows(data_dir, "SELECT step FROM steps ORDER BY id")]
    assert "lead_appreciation" in steps and "follow_wish" in steps
    assert rows(data_dir, "SELECT status FROM sessions") == [("ended",)]
    raw = (data_dir / "haven.sqlite3").read_bytes()
    assert b"appreciated" not in raw and b"Alex" not in raw


def test_pause_mid_checkin_waits_for_both_and_continues(data_dir: Path) -> None:
    write_names(data_dir)
    script = "\n".join(
        [
            "start check-in",
            "I'm done",  # Sam's turn... lead is b: Alex done; now Sam speaks
            "we need a pause",
            "no",  # no guided breathing
            "I'm ready",  # too early: refused
            ":wait 19m",
            "we're ready",  # still too early
            "skip",  # cannot shorten the pause
            ":wait 1m",
            "I'm ready",  # Sam (partner a) is asked first
            "I'm ready",  # then Alex
        ]
    )
    ran = run_haven(["text", "--json", "--seed", "1"], script, data_dir)
    assert ran.code == 0, ran.err
    events = ran.events()
    assert states(events) == [
        ("checkin", "started"),
        ("checkin", "paused"),
        ("pause", "started"),
        ("pause", "finished"),
        ("checkin", "resumed"),
        ("checkin", "stopped"),  # end of input stops what still runs
    ]
    prompts = says(events)
    assert prompts.count("pause.not_yet") == 2
    assert "engine.skip_refused" in prompts
    # the ready question comes only once the 20 minutes are up
    pause_start = next(e["t"] for e in events if e["event"] == "pause")
    first_ask = next(e for e in events if e.get("prompt") == "pause.ask_ready")
    assert first_ask["t"] - pause_start >= 20 * 60
    asks = [e["text"] for e in events if e.get("prompt") == "pause.ask_ready"]
    assert asks[0].startswith("Sam") and asks[1].startswith("Alex")
    # back where it stopped: Sam's appreciation turn again
    resumed = [e for e in events if e["event"] == "step"][-1]
    assert resumed["step"] == "follow_appreciation"
    # the log: the pause with its planned and real length
    pauses = rows(data_dir, "SELECT planned_seconds, actual_seconds, interrupted FROM pauses")
    assert pauses == [(1200.0, 1200.0, "checkin")]
    kinds = rows(data_dir, "SELECT state FROM practice_events ORDER BY id")
    assert [k[0] for k in kinds] == ["paused", "resumed"]


def test_pause_is_never_shorter_than_twenty_minutes(data_dir: Path) -> None:
    ran = run_haven(["text", "--json"], "we need a break for five minutes\n:wait 6m\n", data_dir)
    events = ran.events()
    started = next(e for e in events if e["event"] == "pause")
    assert started["minutes"] == 20
    assert "pause.ask_ready" not in says(events)


def test_bedtime_gratitude(data_dir: Path) -> None:
    write_names(data_dir)
    script = "\n".join(
        ["bedtime gratitude", "I'm done", ":wait 90s", "yes", "I'm done", "I'm done"]
    )
    ran = run_haven(["text", "--json", "--seed", "2"], script, data_dir)
    assert ran.code == 0, ran.err
    events = ran.events()
    assert states(events) == [("gratitude", "started"), ("gratitude", "finished")]
    prompts = says(events)
    assert prompts == [
        "gratitude.welcome",
        "gratitude.how",
        "gratitude.ask",
        "gratitude.ask",
        "gratitude.time_up",
        "gratitude.again",
        "gratitude.ask",
        "gratitude.ask",
        "gratitude.close",
    ]
    asks = [e["text"] for e in events if e.get("prompt") == "gratitude.ask"]
    assert [a.split(",")[0] for a in asks] == ["Alex", "Sam", "Alex", "Sam"]
    assert rows(data_dir, "SELECT practice, outcome FROM practices") == [("gratitude", "finished")]


def test_gratitude_without_answer_closes_gently(data_dir: Path) -> None:
    ran = run_haven(["text", "--json"], "gratitude time\nI'm done\nI'm done\n:wait 1m\n", data_dir)
    prompts = says(ran.events())
    assert prompts[-3:] == ["gratitude.again", "gratitude.again", "gratitude.close"]


def test_history_export_forget_round_trip(data_dir: Path, tmp_path: Path) -> None:
    run_haven(["text"], "bedtime gratitude\nstop\n", data_dir)
    run_haven(["text"], "start check-in\nstop\n", data_dir)
    history = run_haven(["history"], data_dir=data_dir)
    assert history.code == 0
    assert "gratitude: stopped" in history.out and "checkin: stopped" in history.out
    as_json = run_haven(["history", "--json"], data_dir=data_dir).events()
    assert [s["practices"][0]["practice"] for s in as_json] == ["checkin", "gratitude"]
    out = tmp_path / "export.json"
    exported = run_haven(["export", "--last", "-o", str(out)], data_dir=data_dir)
    assert exported.code == 0, exported.err
    assert out.stat().st_mode & 0o777 == 0o600
    assert '"checkin"' in out.read_text() and '"gratitude"' not in out.read_text()
    refused = run_haven(["forget"], data_dir=data_dir)
    assert refused.code == 2 and "--yes" in refused.err
    assert "Forgot 1" in run_haven(["forget", "--last", "--yes"], data_dir=data_dir).out
    left = run_haven(["history", "--json"], data_dir=data_dir).events()
    assert [s["practices"][0]["practice"] for s in left] == ["gratitude"]
    assert "Forgot 1" in run_haven(["forget", "--yes"], data_dir=data_dir).out
    assert "No sessions" in run_haven(["history"], data_dir=data_dir).out


def test_a_crisis_leaves_no_trace_in_the_log(tmp_path: Path) -> None:
    """After crisis words, the log looks exactly as if someone had said "stop"."""
    crisis, plain = tmp_path / "crisis", tmp_path / "plain"
    ran = run_haven(["text", "--json"], "start check-in\nI'm done\nshe threatened me\n", crisis)
    events = ran.events()
    assert any(e["event"] == "crisis" for e in events)
    assert ("checkin", "stopped") in states(events)
    assert "safety.resources" in says(events)
    run_haven(["text", "--json"], "start check-in\nI'm done\nstop\n", plain)

    def shape(data_dir: Path) -> list[tuple[Any, ...]]:
        return (
            rows(
                data_dir,
                "SELECT p.practice, p.outcome, count(s.id) FROM practices p "
                "JOIN steps s ON s.practice_id = p.id GROUP BY p.id",
            )
            + rows(data_dir, "SELECT count(*) FROM pauses")
            + rows(data_dir, "SELECT status FROM sessions")
        )

    assert shape(crisis) == shape(plain) == [("checkin", "stopped", 4), (0,), ("ended",)]
    raw = b"".join(p.read_bytes() for p in crisis.iterdir() if p.name.startswith("haven"))
    for word in (b"crisis", b"threat", b"safety", b"9 1 1", b"988"):
        assert word not in raw
    export = run_haven(["export"], data_dir=crisis).out
    assert "crisis" not in export and "safety" not in export


def test_scheduled_gratitude_offered_snoozed_declined_and_not_replayed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    set_up = run_haven(["schedule", "--gratitude", "21:30"], data_dir=data_dir)
    assert set_up.code == 0 and "21:30" in set_up.out
    script = "\n".join(
        [
            ":wait 90m",  # 21:00 -> 22:30, passing 21:30
            "later",  # snoozed: the default ten minutes
            ":wait 10m",
            "no thanks",  # declined
            ":wait 23h50m",  # to 21:30 the next evening: the offer
            "yes",
            "stop",
        ]
    )
    ran = run_haven(["text", "--json", "--start", "2026-11-24T20:00"], script, data_dir)
    assert ran.code == 0, ran.err
    events = ran.events()
    offers = [e for e in events if e.get("prompt") == "schedule.offer"]
    assert [e["t"] for e in offers] == [90 * 60, 100 * 60, 90 * 60 + 24 * 3600]
    answers = [(e["answer"], e["minutes"]) for e in events if e["event"] == "offer"]
    assert answers == [("snoozed", 10), ("declined", 0), ("accepted", 0)]
    assert ("gratitude", "started") in states(events)
    # Haven was off through the time: started at 23:45, nothing is replayed
    late = run_haven(["text", "--json", "--start", "2026-11-24T23:45"], ":wait 1h\n", data_dir)
    assert not [e for e in late.events() if e.get("prompt") == "schedule.offer"]
    # ...but a start a few minutes after the time still gets the offer
    just = run_haven(["text", "--json", "--start", "2026-11-24T21:35"], ":wait 1m\n", data_dir)
    assert [e["t"] for e in just.events() if e.get("prompt") == "schedule.offer"] == [0]


def test_setup_asks_checks_and_saves(data_dir: Path) -> None:
    answers = "\n".join(["Sam", "Alex", "c", "b", "10", "25", "", "", "en-GB"]) + "\n"
    ran = run_haven(["setup"], answers, data_dir)
    assert ran.code == 0, ran.err
    assert "answer a or b" in ran.out
    assert "a pause lasts 20 minutes to 24 hours" in ran.out
    saved = (data_dir / "settings.yaml").read_text()
    assert (data_dir / "settings.yaml").stat().st_mode & 0o777 == 0o600
    for line in ("partner_a: Sam", "partner_b: Alex", "lead: b", "pause_minutes: 25",
                 "locale: en-GB"):  # fmt: skip
        assert line in saved
    events = run_haven(["text", "--json"], "start check-in\n", data_dir).events()
    first_turn = next(e for e in events if e.get("prompt") == "checkin.appreciation")
    assert first_turn["text"].startswith("Alex")
