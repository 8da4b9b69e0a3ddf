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


def stale_detectors(intents_root: Path, models_dir: Path, data_dir: Path | None) -> str | None:
    """A warning when the listening detectors were trained on other YAML or settings."""
    from .listen.manifest import haven_train_is_stale

    settings = Settings()
    if data_dir is not None and (data_dir / SETTINGS_FILE).exists():
        try:
            settings = Settings.load(data_dir / SETTINGS_FILE)
        except ConfigError:
            return None
    return haven_train_is_stale(models_dir, intents_root, settings)
