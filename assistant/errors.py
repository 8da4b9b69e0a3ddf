"""Haven's one small exception hierarchy.

Library code raises these; only the CLI turns them into messages and exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class HavenError(Exception):
    """Base of every error Haven raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a YAML file."""

    path: Path
    """The file the problem is in."""
    line: int
    """1-based line number (0 when unknown)."""
    message: str
    """What is wrong, in plain words."""
    hint: str = ""
    """What to do about it."""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(HavenError):
    """One or more problems in YAML intents, practices, prompts or settings."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ModelError(HavenError):
    """A speech model is missing or cannot be loaded."""


class AudioError(HavenError):
    """An audio file, device or stream cannot be used."""


class NoDeviceError(AudioError):
    """No usable audio input or output device."""


class StorageError(HavenError):
    """The session log cannot be read or written."""


class LogUnavailable(StorageError):
    """The session log cannot be written just now (disk full, read-only, busy, I/O).

    Unlike a damaged file, this may pass: Haven keeps guiding and tries again.
    """
