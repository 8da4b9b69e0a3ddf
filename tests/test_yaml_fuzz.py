"""Bad YAML never gives a traceback: mutated files always end in file:line problems."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.library import Library
from tests.conftest import INTENTS

FILES = sorted(p.relative_to(INTENTS) for p in INTENTS.rglob("*.yaml"))
NOISE = st.sampled_from(
    ["", ":", "- ", "  ", "\t", "{", "}", "[", "]", "'", '"', "&a", "*a", "<<: *a", "?", "|",
     "#", "!!python/object:os.system", "%", "@", "\x00", "é", "yes", "null", "12:30", "{x}",
     "steps:", "say:", "listen: {}", "expect: [nope]", "duration: 5", "- end:"]
)  # fmt: skip


@st.composite
def mutation(draw: st.DrawFn) -> tuple[Path, str]:
    """One shipped file with a few lines broken in one of several ways."""
    rel = draw(st.sampled_from(FILES))
    lines = (INTENTS / rel).read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=max(0, len(lines) - 1)))
        kind = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "insert", "cut"]))
        line = lines[i] if lines else ""
        if kind == "delete" and lines:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "indent":
            lines[i] = "   " + line
        elif kind == "dedent":
            lines[i] = line.lstrip()
        elif kind == "insert":
            at = draw(st.integers(min_value=0, max_value=len(line)))
            lines[i] = line[:at] + draw(NOISE) + line[at:]
        else:
            at = draw(st.integers(min_value=0, max_value=len(line)))
            lines[i] = line[:at]
    return rel, "\n".join(lines)


@contextmanager
def library_copy() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "intents"
        shutil.copytree(INTENTS, root)
        yield root


def assert_located(exc: ConfigError) -> None:
    assert exc.problems, "a ConfigError always lists its problems"
    for problem in exc.problems:
        assert problem.message
        located = problem.line >= 1 or problem.path.is_dir() or not problem.path.suffix
        assert located, f"no line for a problem in a file: {problem}"
        assert str(problem).startswith(f"{problem.path}:{problem.line}: ")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation())
def test_mutated_library_files_fail_cleanly(case: tuple[Path, str]) -> None:
    rel, text = case
    with library_copy() as root:
        (root / rel).write_text(text, encoding="utf-8")
        try:
            Library.load(root)
        except ConfigError as exc:
            assert_located(exc)


SETTING_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
SETTING_KEYS = st.one_of(
    st.sampled_from(
        ["partner_a", "partner_b", "lead", "pause_minutes", "extend_minutes", "locale",
         "wake_name", "voice", "rate", "volume", "engine", "gratitude_at",
         "weekly_checkin_at", "input_device"]
    ),
    st.text(min_size=1, max_size=8),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(SETTING_KEYS, SETTING_VALUES, max_size=5))
def test_any_settings_file_loads_or_fails_cleanly(values: dict[str, object]) -> None:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.yaml"
        path.write_text(yaml.safe_dump(values), encoding="utf-8")
        try:
            settings_ = Settings.load(path)
        except ConfigError as exc:
            assert_located(exc)
        else:
            assert settings_.pause_minutes >= 20
            assert not settings_.problems()


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=80))
def test_settings_text_of_any_shape(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            Settings.load(path)
        except ConfigError as exc:
            assert_located(exc)
