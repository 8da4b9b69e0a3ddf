"""Settings: who the partners are and how Haven speaks, from ``settings.yaml``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from platformdirs import user_data_path

from .errors import ConfigError, Problem, StorageError
from .schedule import Rule
from .yamlfile import Collector, LineDict, line_of, load_yaml

MIN_PAUSE_MINUTES = 20
"""Physiological flooding takes about twenty minutes to settle: no pause is shorter."""
MAX_PAUSE_MINUTES = 24 * 60
SETTINGS_FILE = "settings.yaml"


@dataclass(frozen=True)
class Settings:
    """Personal settings. Every field has a safe default."""

    partner_a: str = "Partner A"
    """First partner's name, as Haven says it."""
    partner_b: str = "Partner B"
    """Second partner's name."""
    lead: Literal["a", "b"] = "a"
    """Who goes first in turn-taking practices."""
    pause_minutes: int = MIN_PAUSE_MINUTES
    """Default pause length in minutes (never below 20)."""
    extend_minutes: int = 10
    """Minutes added by "more time" when no number is said."""
    locale: str = "en-US"
    """Locale: language of intents and prompts, and which crisis resources to read."""
    wake_name: str = "Haven"
    """The name that addresses Haven ("Haven, start check-in")."""
    voice: str = ""
    """TTS voice name or id fragment (empty: the engine's default)."""
    rate: int = 165
    """Speaking rate in words per minute."""
    volume: float = 0.9
    """Speaking volume, 0 to 1."""
    engine: Literal["pocketsphinx", "vosk"] = "pocketsphinx"
    """Speech recognizer."""
    vosk_model: str = ""
    """Path of a Vosk model folder (empty: look in models/)."""
    input_device: str = ""
    """Microphone name fragment or index (empty: the default device)."""
    output_device: str = ""
    """Speaker name fragment or index (empty: the default device)."""
    gratitude_at: str = ""
    """Daily time to offer bedtime gratitude, like "21:30" (empty: not scheduled)."""
    weekly_checkin_at: str = ""
    """Weekly day and time to offer the weekly check-in, like "sun 19:00"."""

    def schedule(self) -> dict[str, Rule]:
        """Practice id -> when to offer it."""
        rules = {}
        for practice, text in (
            ("gratitude", self.gratitude_at),
            ("weekly_checkin", self.weekly_checkin_at),
        ):
            if text:
                rules[practice] = Rule.parse(text)
        return rules

    @property
    def language(self) -> str:
        """Language code of the locale ("en")."""
        return self.locale.split("-")[0].lower()

    def name_of(self, who: Literal["a", "b"]) -> str:
        """A partner's name."""
        return self.partner_a if who == "a" else self.partner_b

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read a settings file; a missing file means all defaults."""
        if not path.exists():
            return cls()
        doc = load_yaml(path)
        if doc is None:
            return cls()
        errors = Collector(path)
        if not isinstance(doc, LineDict):
            errors.add(1, "settings must be a mapping like 'partner_a: Sam'")
            errors.raise_if_any()
        known = {f.name: f for f in fields(cls)}
        errors.unknown_keys(doc, set(known), "settings")
        values: dict[str, Any] = {}
        for key, value in doc.items():
            if key in known:
                values[key] = value
        settings = cls()
        try:
            settings = replace(settings, **values)
        except TypeError as exc:  # pragma: no cover - unknown keys are reported above
            errors.add(doc.line, str(exc))
        for problem in settings.problems():
            errors.add(line_of(doc, problem[0]), problem[1], problem[2])
        errors.raise_if_any()
        return settings

    def problems(self) -> list[tuple[str, str, str]]:
        """(field, message, hint) for every invalid value."""
        found: list[tuple[str, str, str]] = []
        for key in ("partner_a", "partner_b", "locale", "wake_name", "voice"):
            value = getattr(self, key)
            if not isinstance(value, str) or (key != "voice" and not value.strip()):
                found.append((key, f"'{key}' must be non-empty text", "write it in quotes"))
        if self.lead not in ("a", "b"):
            found.append(("lead", "'lead' must be a or b", "who goes first: a or b"))
        if self.engine not in ("pocketsphinx", "vosk"):
            found.append(("engine", "'engine' must be pocketsphinx or vosk", ""))
        pause = self.pause_minutes
        if isinstance(pause, bool) or not isinstance(pause, int):
            found.append(("pause_minutes", "'pause_minutes' must be a whole number", ""))
        elif not MIN_PAUSE_MINUTES <= pause <= MAX_PAUSE_MINUTES:
            found.append(
                (
                    "pause_minutes",
                    f"'pause_minutes' is {pause}; a pause lasts 20 minutes to 24 hours",
                    "a body flooded by conflict needs at least 20 minutes to settle",
                )
            )
        ext = self.extend_minutes
        if isinstance(ext, bool) or not isinstance(ext, int) or not 1 <= ext <= 240:
            found.append(("extend_minutes", "'extend_minutes' must be 1 to 240", ""))
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, int) or not 80 <= rate <= 300:
            found.append(("rate", "'rate' must be 80 to 300 words per minute", ""))
        vol = self.volume
        if isinstance(vol, bool) or not isinstance(vol, int | float) or not 0 <= vol <= 1:
            found.append(("volume", "'volume' must be between 0 and 1", ""))
        for key in ("gratitude_at", "weekly_checkin_at"):
            value = getattr(self, key)
            if not isinstance(value, str):
                found.append((key, f"'{key}' must be text like \"21:30\"", "quote it"))
            elif value:
                try:
                    rule = Rule.parse(value)
                except ValueError as exc:
                    found.append((key, str(exc), ""))
                else:
                    if key == "weekly_checkin_at" and rule.weekday is None:
                        found.append((key, "the weekly check-in needs a day", "like sun 19:00"))
        for key in ("vosk_model", "input_device", "output_device"):
            if not isinstance(getattr(self, key), str | int):
                found.append((key, f"'{key}' must be text", ""))
        return found

    def save(self, path: Path) -> None:
        """Write the settings file (0600)."""
        problems = self.problems()
        if problems:
            raise ConfigError([Problem(path, 0, msg, hint) for _, msg, hint in problems])
        text = yaml.safe_dump(asdict(self), sort_keys=False, allow_unicode=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(".tmp")
            tmp.write_text("# Haven settings (haven setup writes this file)\n" + text, "utf-8")
            tmp.chmod(0o600)
            tmp.replace(path)
        except OSError as exc:
            raise StorageError(f"{path}: cannot save settings: {exc}") from exc


def default_data_dir() -> Path:
    """Where Haven keeps the users' files (per user, per platform)."""
    return user_data_path("haven", appauthor=False)
