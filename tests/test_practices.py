"""The library practices (breathe, weekly check-in, floor time, repair, decompress, open
question, say it gently), walked step by step in text mode on the fake clock, plus checks
of the question bank, the crisis phrases, the resources and the prompts themselves."""

from __future__ import annotations

import itertools
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from assistant.intents import template_sentences
from assistant.library import Library
from assistant.prompts import placeholders_in
from assistant.steps import EndStep, ListenStep, SayStep, TimerStep, TurnStep
from tests.conftest import INTENTS, run_haven

Events = list[dict[str, Any]]
LIBRARY_PRACTICES = (
    "breathe",
    "weekly_checkin",
    "floor",
    "repair",
    "decompress",
    "open_question",
    "say_gently",
)
# lead: b, so Alex (b) always goes first and Sam (a) follows
LEAD, FOLLOW = "Alex", "Sam"


@cache
def library() -> Library:
    return Library.load(INTENTS)


def walk(data_dir: Path, lines: list[str], settings: str = "", seed: int = 1) -> Events:
    """Run one text-mode session with the names set; the JSON events it printed."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.yaml").write_text(
        f"partner_a: {FOLLOW}\npartner_b: {LEAD}\nlead: b\n{settings}"
    )
    ran = run_haven(["text", "--json", "--seed", str(seed)], "\n".join(lines), data_dir)
    assert ran.code == 0, ran.err
    events = ran.events()
    unheard = [e["text"] for e in events if e["event"] == "unheard"]
    assert not unheard, f"lines the script meant as commands were not understood: {unheard}"
    return events


def says(events: Events) -> list[str]:
    return [e["prompt"] for e in events if e["event"] == "say"]


def texts(events: Events, prompt: str) -> list[str]:
    return [e["text"] for e in events if e["event"] == "say" and e["prompt"] == prompt]


def times(events: Events, prompt: str) -> list[float]:
    return [e["t"] for e in events if e["event"] == "say" and e["prompt"] == prompt]


def states(events: Events) -> list[tuple[str, str]]:
    return [(e["practice"], e["state"]) for e in events if e["event"] == "practice"]


def steps(events: Events) -> list[str]:
    return [e["step"] for e in events if e["event"] == "step"]


def step_times(events: Events) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for e in events:
        if e["event"] == "step":
            found.setdefault(e["step"], []).append(e["t"])
    return found


def first_name(text: str) -> str:
    return re.split(r"[ ,.]", text, maxsplit=1)[0]


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)


# ---- breathe -----------------------------------------------------------------------


def test_breathe_is_five_minutes_of_cyclic_sighing(data_dir: Path) -> None:
    events = walk(data_dir, ["breathe with me", ":wait 6m"])
    assert states(events) == [("breathe", "started"), ("breathe", "finished")]
    ins, tops, outs = (
        times(events, p) for p in ("breathe.in", "breathe.top_up", "breathe.out_long")
    )
    assert len(ins) == len(tops) == len(outs) == 33
    # 2 s in, 1 s top-up, 6 s long breath out: a cycle every 9 seconds
    assert {round(b - a, 3) for a, b in itertools.pairwise(ins)} == {9.0}
    assert all(t - i == 2.0 for i, t in zip(ins, tops, strict=True))
    assert all(o - i == 3.0 for i, o in zip(ins, outs, strict=True))
    intro_at = times(events, "breathe_practice.how")[0]
    intro = texts(events, "breathe_practice.how")[0]
    spoken = len(intro.split()) * 60 / 165  # the default speaking rate, words per minute
    assert spoken < ins[0] - intro_at <= spoken + 2, "the first breath waits for the intro"
    end = times(events, "breathe_practice.end")[0]
    assert end == ins[-1] + 9.0
    assert 290 <= end <= 320, "about five minutes"
    assert says(events)[-1] == "breathe_practice.close"


# ---- weekly check-in ---------------------------------------------------------------


def test_weekly_checkin_walks_every_part_with_turn_timers(data_dir: Path) -> None:
    script = [
        "weekly check-in",
        ":wait 4m",  # Alex's appreciations run their time
        ":wait 4m",  # Sam's
        ":wait 4m",  # what went well, Alex
        ":wait 4m",  # Sam
        ":wait 5m",  # Alex's issue
        ":wait 3m",  # Sam sums up and validates
        "no",  # Alex does not feel understood yet
        ":wait 2m",  # Alex says what was missed
        "I'm done",  # Sam sums up again
        "yes",  # now Alex feels understood
        ":wait 5m",  # Sam's issue
        ":wait 3m",  # Alex sums up
        "yes",
        ":wait 8m",  # talking it through together
        ":wait 3m",  # what can I do to make you feel loved, Alex answers
        ":wait 3m",  # Sam answers
    ]
    events = walk(data_dir, script)
    assert states(events) == [("weekly_checkin", "started"), ("weekly_checkin", "finished")]
    assert steps(events)[2:] == [
        "appreciation_intro",
        "lead_appreciation",
        "follow_appreciation",
        "went_well_intro",
        "lead_went_well",
        "follow_went_well",
        "issue_intro",
        "lead_issue",
        "follow_summary",
        "lead_understood",
        "lead_clarify",
        "follow_summary",
        "lead_understood",
        "follow_issue",
        "lead_summary",
        "follow_understood",
        "together",
        "loved_intro",
        "lead_loved",
        "follow_loved",
        "close",
    ]
    at = {k: v[0] for k, v in step_times(events).items()}
    # each turn hands over exactly when its timer runs out
    for before, after, minutes in [
        ("lead_appreciation", "follow_appreciation", 4),
        ("follow_appreciation", "lead_went_well", 4),
        ("lead_went_well", "follow_went_well", 4),
        ("follow_went_well", "lead_issue", 4),
        ("lead_issue", "follow_summary", 5),
        ("follow_summary", "lead_understood", 3),
        ("follow_issue", "lead_summary", 5),
        ("lead_summary", "follow_understood", 3),
        ("together", "lead_loved", 8),
        ("lead_loved", "follow_loved", 3),
        ("follow_loved", "close", 3),
    ]:
        assert at[after] - at[before] == minutes * 60, (before, after)
    assert 45 * 60 <= at["close"] <= 60 * 60, "45 to 60 minutes in all"
    # a minute's warning before every 4- and 5-minute turn ends
    assert len(times(events, "weekly.one_minute")) == 7
    # turns alternate by name; the listener sums up before any talking it through
    assert [first_name(t) for t in texts(events, "weekly.appreciation")] == [LEAD, FOLLOW]
    assert [first_name(t) for t in texts(events, "weekly.summary")] == [FOLLOW, FOLLOW, LEAD]
    assert [first_name(t) for t in texts(events, "weekly.understood")] == [LEAD, LEAD, FOLLOW]
    assert "I feel" in " ".join(texts(events, "weekly.issue_intro"))
    order = says(events)
    assert order.index("weekly.together") > max(
        i for i, p in enumerate(order) if p == "weekly.summary"
    )
    loved = texts(events, "weekly.loved")
    assert len(loved) == 2 and all("loved this week" in t for t in loved)
    assert LEAD in loved[0] and FOLLOW in loved[1]


# ---- floor time ----------------------------------------------------------------------


def test_floor_time_swaps_every_five_minutes_with_paraphrase_cues(data_dir: Path) -> None:
    script = [
        "I need to talk about something hard",
        "I'm calm",  # Alex
        "I'm calm",  # Sam
        ":wait 5m",  # Alex holds the floor: two pieces, each said back by Sam
        ":wait 5m",  # then Sam holds the floor
        "no",  # Alex does not feel understood yet: another round for Alex
        "I'm done",
        "I'm done",
        "yes",  # Alex
        "yes",  # Sam
        "no",  # no problem-solving time
    ]
    events = walk(data_dir, script)
    assert states(events) == [("floor", "started"), ("floor", "finished")]
    order = says(events)
    assert order[:2] == ["floor.scope", "floor.welcome"], "scope first, on first use"
    asked = texts(events, "floor.ask_calm")
    assert [first_name(t) for t in asked] == [LEAD, FOLLOW]
    assert steps(events)[4:] == [
        "lead_floor",
        "follow_paraphrase",
        "lead_floor_more",
        "follow_paraphrase_more",
        "follow_floor",
        "lead_paraphrase",
        "follow_floor_more",
        "lead_paraphrase_more",
        "understood_lead",
        "lead_again",
        "lead_again_paraphrase",
        "understood_lead",
        "understood_follow",
        "solve_offer",
        "close",
    ]
    at = step_times(events)
    assert at["follow_floor"][0] - at["lead_floor"][0] == 300, "the floor changes hands at 5 min"
    assert at["understood_lead"][0] - at["follow_floor"][0] == 300
    assert at["follow_paraphrase"][0] - at["lead_floor"][0] == 90, "short pieces"
    # after every piece, Haven asks the listener (by name) to say back what they heard
    paraphrases = texts(events, "floor.paraphrase")
    assert [first_name(t) for t in paraphrases] == [FOLLOW, FOLLOW, LEAD, LEAD, FOLLOW]
    for text in paraphrases:
        other = LEAD if first_name(text) == FOLLOW else FOLLOW
        assert other in text
    assert len(texts(events, "floor.wrap_up")) == 4, "a gentle warning before each piece ends"
    # no problem-solving is offered until both have said they feel understood
    understood = [i for i, p in enumerate(order) if p == "floor.understood"]
    assert order.index("floor.solve_offer") > understood[-1]
    assert "floor.solve" not in order
    assert order[-1] == "floor.close"


def test_floor_time_problem_solving_once_both_feel_understood(data_dir: Path) -> None:
    script = [
        "I need to talk about something hard",
        "I'm calm",
        "I'm calm",
        ":wait 10m",
        "yes",
        "no",  # Sam does not feel understood: another round for Sam, said back by Alex
        "I'm done",
        "I'm done",
        "yes",
        "yes",  # ten minutes to look for a next step
        ":wait 10m",
    ]
    events = walk(data_dir, script)
    assert "follow_again" in steps(events)
    again = texts(events, "floor.speak_again")
    assert first_name(again[0]) == FOLLOW
    assert first_name(texts(events, "floor.paraphrase")[-1]) == LEAD
    solve = times(events, "floor.solve")[0]
    assert times(events, "floor.two_minutes") == [solve + 8 * 60]
    assert times(events, "floor.solve_end") == [solve + 10 * 60]
    assert states(events)[-1] == ("floor", "finished")


@pytest.mark.parametrize(
    ("trigger", "practice"),
    [("I need to talk about something hard", "floor"), ("we need to repair", "repair")],
)
def test_scope_is_stated_on_first_use_only(data_dir: Path, trigger: str, practice: str) -> None:
    first = walk(data_dir, [trigger, "not yet"])
    assert says(first)[:2] == [f"{practice}.scope", f"{practice}.welcome"]
    scope = " ".join(texts(first, f"{practice}.scope")).lower()
    for word in ("safe", "fear", "threats", "violence"):
        assert word in scope
    again = walk(data_dir, [trigger, "not yet"])
    assert f"{practice}.scope" not in says(again)


@pytest.mark.parametrize(
    ("trigger", "practice", "first_step"),
    [
        ("I need to talk about something hard", "floor", "lead_floor"),
        ("let's talk about what happened", "repair", "lead_feelings"),
    ],
)
def test_conflict_practices_begin_only_when_both_are_calm(
    data_dir: Path, trigger: str, practice: str, first_step: str
) -> None:
    # the second partner is not calm: it ends gently, suggesting a pause or later
    events = walk(data_dir / "second", [trigger, "I'm calm", "not yet"])
    assert states(events) == [(practice, "started"), (practice, "finished")]
    assert first_step not in steps(events)
    assert says(events)[-1] == f"{practice}.not_ready"
    assert "pause" in texts(events, f"{practice}.not_ready")[0]
    assert f"{practice}.how" not in says(events)
    # the first partner is not calm: the other is never asked
    events = walk(data_dir / "first", [trigger, "I'm still upset"])
    assert [first_name(t) for t in texts(events, f"{practice}.ask_calm")] == [LEAD]
    assert says(events)[-1] == f"{practice}.not_ready"
    # nobody answers: asked again with the options named, then a gentle end
    events = walk(data_dir / "nobody", [trigger, ":wait 2m"])
    again = texts(events, f"{practice}.ask_calm_again")
    assert len(again) == 2
    assert all("I'm calm" in t and "not yet" in t for t in again)
    assert says(events)[-1] == f"{practice}.not_ready"
    assert first_step not in steps(events)


# ---- repair ------------------------------------------------------------------------


def test_repair_walks_feelings_views_triggers_own_part_and_one_change(data_dir: Path) -> None:
    waits = ["2m", "2m", "4m", "2m", "4m", "2m", "3m", "3m", "3m", "3m", "2m", "2m"]
    events = walk(
        data_dir, ["we need to repair", "I'm calm", "I'm calm", *[f":wait {w}" for w in waits]]
    )
    assert states(events) == [("repair", "started"), ("repair", "finished")]
    turns = [s for s in steps(events) if s.startswith(("lead_", "follow_"))]
    assert turns == [
        "lead_feelings",
        "follow_feelings",
        "lead_reality",
        "follow_validates",
        "follow_reality",
        "lead_validates",
        "lead_triggers",
        "follow_triggers",
        "lead_own_part",
        "follow_own_part",
        "lead_different",
        "follow_different",
    ]
    at = {k: v[0] for k, v in step_times(events).items()}
    assert at["follow_validates"] - at["lead_reality"] == 4 * 60
    assert at["follow_reality"] - at["follow_validates"] == 2 * 60
    assert at["close"] - at["lead_feelings"] == sum(int(w[:-1]) for w in waits) * 60
    # each one's view is summed up and validated by the other, by name
    validates = texts(events, "repair.validate")
    assert [first_name(t) for t in validates] == [FOLLOW, LEAD]
    assert LEAD in validates[0] and FOLLOW in validates[1]
    order = says(events)
    assert is_subsequence(
        [
            "repair.feelings_intro",
            "repair.reality_intro",
            "repair.triggers_intro",
            "repair.own_part_intro",
            "repair.different_intro",
            "repair.close",
        ],
        order,
    )
    assert "reasons" in " ".join(texts(events, "repair.feelings_intro")).lower()
    assert all("sorry" in t.lower() for t in texts(events, "repair.own_part"))


def test_crisis_words_stop_repair_and_read_the_resources(data_dir: Path) -> None:
    events = walk(data_dir, ["we need to repair", "I'm calm", "I'm calm", "he hits me"])
    assert ("repair", "stopped") in states(events)
    assert any(e["event"] == "crisis" for e in events)
    spoken = says(events)
    assert spoken[spoken.index("safety.stopped") + 1] == "safety.resources"
    lines = " ".join(texts(events, "safety.resources"))
    assert "9 1 1" in lines and "9 8 8" in lines
    uk = walk(data_dir, ["we need to repair", "I am afraid of him"], settings="locale: en-GB\n")
    lines = " ".join(texts(uk, "safety.resources"))
    assert "9 9 9" in lines and "1 1 6, 1 2 3" in lines


# ---- decompress --------------------------------------------------------------------


def test_decompress_gives_each_partner_ten_minutes_on_their_side(data_dir: Path) -> None:
    events = walk(data_dir, ["I had a rough day", ":wait 10m", ":wait 3m", "I'm done"])
    assert states(events) == [("decompress", "started"), ("decompress", "finished")]
    at = {k: v[0] for k, v in step_times(events).items()}
    assert at["follow_talk"] - at["lead_talk"] == 10 * 60
    assert at["close"] - at["follow_talk"] == 3 * 60, "I'm done hands over early"
    assert first_name(texts(events, "decompress.speak")[0]) == LEAD
    assert FOLLOW in texts(events, "decompress.swap")[0]
    # halfway, the listener is reminded to take the speaker's side, without advice
    reminder = events[[e.get("prompt") for e in events].index("decompress.listener")]
    assert reminder["t"] - at["lead_talk"] == 5 * 60
    assert first_name(reminder["text"]) == FOLLOW and LEAD in reminder["text"]
    assert times(events, "decompress.one_minute")[0] - at["lead_talk"] == 9 * 60
    assert "advice" in " ".join(texts(events, "decompress.how"))


# ---- open question -----------------------------------------------------------------


def test_open_question_from_the_bank_each_answers_the_other_mirrors(data_dir: Path) -> None:
    script = ["ask us a question", ":wait 3m", ":wait 90s", ":wait 3m", ":wait 90s", "no"]
    events = walk(data_dir, script)
    assert states(events) == [("open_question", "started"), ("open_question", "finished")]
    asked = texts(events, "open_question.ask")
    bank = {q.id: q.text for q in library().questions}
    assert len(asked) == 1 and any(text in asked[0] for text in bank.values())
    logged = [e["question"] for e in events if e["event"] == "question"]
    assert len(logged) == 1 and bank[logged[0]] in asked[0]
    at = {k: v[0] for k, v in step_times(events).items()}
    assert at["follow_mirror"] - at["lead_answer"] == 3 * 60
    assert at["follow_answer"] - at["follow_mirror"] == 90
    mirrors = texts(events, "open_question.mirror")
    assert [first_name(t) for t in mirrors] == [FOLLOW, LEAD]
    assert first_name(texts(events, "open_question.answer_first")[0]) == LEAD
    assert says(events)[-1] == "open_question.close"


def test_open_question_does_not_repeat_across_sessions(data_dir: Path) -> None:
    seen = []
    for seed in (1, 1, 1):
        events = walk(data_dir, ["ask us a question", "stop"], seed=seed)
        seen += [e["question"] for e in events if e["event"] == "question"]
    assert len(seen) == 3 and len(set(seen)) == 3


def test_another_open_question_is_a_new_one(data_dir: Path) -> None:
    done = ["I'm done"] * 4
    events = walk(data_dir, ["ask us a question", *done, "yes", *done, "no"])
    asked = texts(events, "open_question.ask")
    assert len(asked) == 2
    logged = [e["question"] for e in events if e["event"] == "question"]
    assert len(set(logged)) == 2


# ---- say it gently -----------------------------------------------------------------


def test_say_gently_rehearses_a_soft_startup_and_offers_another_try(data_dir: Path) -> None:
    events = walk(data_dir, ["help me say this", "I'm done", "yes", ":wait 2m", "no"])
    assert states(events) == [("say_gently", "started"), ("say_gently", "finished")]
    assert says(events) == [
        "say_gently.welcome",
        "say_gently.shape",
        "say_gently.example",
        "say_gently.try",
        "say_gently.review",
        "say_gently.again",
        "say_gently.try_again",
        "say_gently.thirty_seconds",
        "say_gently.time_up",
        "say_gently.review",
        "say_gently.again",
        "say_gently.close",
    ]
    shape = " ".join(texts(events, "say_gently.shape")).lower()
    for part in ("when", "i feel", "because i need", "would you be willing"):
        assert part in shape
    # whoever asked may be alone: nobody is named
    spoken = " ".join(e["text"] for e in events if e["event"] == "say")
    assert LEAD not in spoken and FOLLOW not in spoken
    at = step_times(events)
    assert at["review"][1] - at["try_again"][0] == 2 * 60


# ---- the YAML itself ---------------------------------------------------------------

YES_NO_OPENERS = {
    "do", "does", "did", "is", "are", "was", "were", "can", "could", "would", "will",
    "have", "has", "had", "should", "shall", "am",
}  # fmt: skip


def test_question_bank() -> None:
    questions = library().questions
    assert len(questions) >= 60
    assert len({q.id for q in questions}) == len(questions)
    assert len({q.text.lower() for q in questions}) == len(questions)
    for q in questions:
        assert q.text.endswith("?") and q.text.count("?") == 1, q.id
        assert q.text.split()[0].lower() not in YES_NO_OPENERS, f"{q.id} is a yes/no question"
        assert not re.search(r"\b(worst|wrong|fault|annoy\w*|regret\w*|change about)\b", q.text)
        assert len(q.text) <= 110, f"{q.id} is long to hear"
        assert not re.search(r"[.;:!](?!$)", q.text), f"{q.id} should be one sentence"


def test_crisis_phrases_fire_on_danger_and_not_on_everyday_talk() -> None:
    gate = library().safety
    assert len(gate.phrases) >= 15
    for required in ("hurt me", "afraid of", "threatened", "suicide"):
        assert required in gate.phrases
    assert all(p == p.lower() for p in gate.phrases)
    for danger in (
        "he hits me",
        "she hits the kids",
        "I'm scared of him",
        "she threatened me",
        "I want to die",
        "I'm going to kill myself",
        "I want to end my life",
        "he said he would kill me",
        "sometimes I think about suicide",
        "he choked me last week",
        "I don't want to live anymore",
    ):
        assert gate.is_crisis(danger), danger
    for everyday in (
        "I'm afraid so",
        "that movie was killing me",
        "beats me",
        "you pushed me to apply for that job and I'm glad",
        "the baby kicked me all night",
        "I hurt myself at the gym",
        "we hit the road early",
        "I had a rough day at work",
        "we need a pause",
        "I feel lonely about our evenings",
    ):
        assert not gate.is_crisis(everyday), everyday


def test_no_command_sentence_contains_a_crisis_phrase() -> None:
    lib = library()
    for name in lib.intents.names:
        for sentence in template_sentences(lib.intents, name):
            assert not lib.safety.is_crisis(sentence), (name, sentence)


def test_resources_name_the_right_numbers() -> None:
    gate = library().safety
    us = " ".join(gate.resources["en-US"])
    for number in ("9 1 1", "9 8 8", "1 8 0 0, 7 9 9, 7 2 3 3"):
        assert number in us
    gb = " ".join(gate.resources["en-GB"])
    for number in ("9 9 9", "1 1 6, 1 2 3", "0 8 0 8, 2 0 0 0, 2 4 7"):
        assert number in gb
    for lines in gate.resources.values():
        assert all(len(line) < 200 for line in lines)
        assert not re.search(r"\b(fault|blame|abuser)\b", " ".join(lines).lower())


def test_schedule_and_safety_prompts() -> None:
    prompts = library().prompts.prompts
    for pid, needs in [
        ("schedule.offer", {"practice"}),
        ("schedule.declined", set()),
        ("schedule.snoozed", {"minutes"}),
        ("safety.stopped", set()),
    ]:
        assert len(prompts[pid].texts) >= 2, pid
        for text in prompts[pid].texts:
            assert needs <= set(placeholders_in(text)), (pid, text)
    assert all("later" in t and "no thanks" in t for t in prompts["schedule.offer"].texts)


@pytest.mark.parametrize("practice_id", LIBRARY_PRACTICES)
def test_prompt_placement(practice_id: str) -> None:
    """Names only where a partner is set; every reprompt names the options."""
    lib = library()
    practice = lib.practices[practice_id]
    prompts = lib.prompts.prompts

    def names(pid: str | None) -> set[str]:
        if pid is None:
            return set()
        return {n for text in prompts[pid].texts for n in placeholders_in(text)}

    nameless = [practice.scope]
    for step in practice.steps:
        if isinstance(step, SayStep | EndStep):
            nameless.append(step.prompt)
        elif isinstance(step, TimerStep):
            nameless += [step.prompt, step.end, *(c.prompt for c in step.cues)]
        elif isinstance(step, ListenStep):
            assert "options" in names(step.reprompt), f"{step.id}: the reprompt names the options"
            if step.partner is None:
                nameless.append(step.prompt)
        elif isinstance(step, TurnStep) and practice_id != "say_gently":
            assert "partner" in names(step.prompt), f"{step.id}: a turn says whose it is"
    for pid in nameless:
        assert not names(pid) & {"partner", "other"}, f"{pid} is spoken with nobody's turn"
    for pid, _ in practice.prompt_ids():
        for text in prompts[pid].texts:
            assert "..." not in text and "who was right" not in text.lower(), pid
            assert not re.search(r"\b(score|points|winner|loser)\b", text.lower()), pid


def test_floor_time_alternates_who_leads_between_sessions(data_dir: Path) -> None:
    firsts = []
    for _ in range(3):
        events = walk(data_dir, ["I need to talk about something hard", "stop"])
        firsts.append(first_name(texts(events, "floor.ask_calm")[0]))
    assert firsts == [LEAD, FOLLOW, LEAD]
