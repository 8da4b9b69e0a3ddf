"""``haven check``: validate every YAML file Haven reads, collecting all problems."""

from __future__ import annotations

from pathlib import Path

from .config import SETTINGS_FILE, Settings
from .errors import ConfigError, Problem
from .library import Library


def check_all(intents_root: Path, data_dir: Path | None, language: str = "en") -> list[Problem]:
    """Every problem in the intents, prompts, practices and settings; [] when all is well."""
    problems: list[Problem] = []
    try:
        Library.load(intents_root, language, overlaps=True)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if data_dir is not None:
        try:
            Settings.load(data_dir / SETTINGS_FILE)
        except ConfigError as exc:
            problems.extend(exc.problems)
    return problems
