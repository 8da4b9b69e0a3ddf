"""`haven check`: passes on the shipped YAML, fails with file:line on broken copies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import INTENTS, run_haven


def test_shipped_yaml_passes() -> None:
    ran = run_haven(["check"])
    assert ran.code == 0, ran.out + ran.err
    assert "ok:" in ran.out


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A private copy of the shipped intents, to break one thing in."""
    root = tmp_path / "intents"
    shutil.copytree(INTENTS, root)
    return root


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``path``; return the 1-based line it was on."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def check_fails_at(root: Path, path: Path, line: int, words: str) -> str:
    ran = run_haven(["--intents", str(root), "check"])
    assert ran.code == 1, ran.out + ran.err
    assert "Traceback" not in ran.err
    pattern = re.escape(f"{path}:{line}: ") + ".*" + words
    assert re.search(pattern, ran.out), f"expected {path.name}:{line} {words!r} in:\n{ran.out}"
    return ran.out


def test_malformed_yaml(broken: Path) -> None:
    path = broken / "en/practices/checkin.yaml"
    line = edit(path, "  - say: checkin.how\n", "  - say: checkin.how\n   bad: [indent\n")
    check_fails_at(broken, path, line + 1, "malformed YAML")


def test_unknown_key_in_a_step(broken: Path) -> None:
    path = broken / "en/practices/gratitude.yaml"
    line = edit(path, "      timeout: 20s\n", "      timeout: 20s\n      timout: 30s\n")
    check_fails_at(broken, path, line + 1, "unknown key 'timout'")


def test_practice_names_an_unknown_intent(broken: Path) -> None:
    path = broken / "en/practices/gratitude.yaml"
    line = edit(path, "expect: [yes, no]", "expect: [yes, nope]")
    check_fails_at(broken, path, line, "intent 'nope' but no intent file defines it")


def test_practice_names_an_unknown_prompt(broken: Path) -> None:
    path = broken / "en/practices/checkin.yaml"
    line = edit(path, "say: checkin.how", "say: checkin.howdy")
    check_fails_at(broken, path, line, "prompt 'checkin.howdy' but no prompts file")


def test_bad_placeholder(broken: Path) -> None:
    path = broken / "en/prompts/gratitude.yaml"
    line = edit(path, "{partner}, what's one thing", "{partnr}, what's one thing")
    check_fails_at(broken, path, line, "unknown placeholder '{partnr}'")


def test_two_intents_match_the_same_sentence(broken: Path) -> None:
    path = broken / "en/intents/stop.yaml"
    text = path.read_text()
    marker = "          - "
    line = edit(path, marker, marker + '"time out"\n' + marker)
    out = check_fails_at(broken, path, text[: text.index("stop:")].count("\n") + 1, "matches both")
    assert "'pause'" in out and "'stop'" in out
    assert line > 0


def test_bad_duration_and_bad_settings(broken: Path, tmp_path: Path) -> None:
    path = broken / "en/practices/checkin.yaml"
    line = edit(path, "duration: 2m", "duration: two minutes")
    check_fails_at(broken, path, line, "not a duration")
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.yaml").write_text("partner_a: Sam\npause_minutes: 10\n")
    ran = run_haven(["--data-dir", str(data), "check"])
    assert ran.code == 1
    assert f"{data / 'settings.yaml'}:2: 'pause_minutes' is 10" in ran.out


def test_every_error_reported_not_just_the_first(broken: Path) -> None:
    edit(broken / "en/practices/checkin.yaml", "say: checkin.how", "say: checkin.howdy")
    edit(broken / "en/prompts/gratitude.yaml", "{partner}, what's one", "{partnr}, what's one")
    ran = run_haven(["--intents", str(broken), "check"])
    assert ran.code == 1
    assert "checkin.howdy" in ran.out and "partnr" in ran.out


def test_a_broken_file_stops_text_mode_with_a_message(broken: Path, tmp_path: Path) -> None:
    edit(broken / "en/practices/checkin.yaml", "steps:", "steps: [")
    ran = run_haven(["--intents", str(broken), "text"], "start check-in\n", tmp_path / "d")
    assert ran.code == 1
    assert "checkin.yaml:" in ran.err and "Traceback" not in ran.err
