"""Parse spoken-style durations: "90s", "20m", "2h", "1m30s", or plain seconds."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s|ms)")


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; raises ValueError with a readable message."""
    if isinstance(text, bool):
        raise ValueError(f"'{text}' is not a duration")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"duration {text} is negative")
        return float(text)
    clean = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", clean):
        return float(clean)
    pos, total = 0, 0.0
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for match in _PART.finditer(clean):
        if match.start() != pos:
            break
        total += float(match.group(1)) * scale[match.group(2)]
        pos = match.end()
    if pos != len(clean) or not clean:
        raise ValueError(f"'{text}' is not a duration; write it like 90s, 5m, 1m30s or 2h")
    return total


def spoken_minutes(seconds: float) -> str:
    """'20 minutes', '1 minute', '90 seconds' -- for prompts."""
    if seconds < 90 and seconds % 60:
        return f"{round(seconds)} seconds"
    minutes = round(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def heard_pause_minutes(minutes: int) -> int:
    """The pause length to plan for a heard "<minutes> minutes": 13 to 19 become their
    "-ty" twins (thirteen -> thirty ... nineteen -> ninety).

    Before "minutes", "forty" and "fourteen" differ by one short N that runs into the M,
    and the recognizer mostly hears the "-ty" numbers as "-teen" (BENCHMARKS.md, "-teen or
    -ty"). A pause is never shortened below what was asked, so the reading that cannot be
    shorter wins; a pause under 20 minutes is raised to 20 anyway, so this only ever
    lengthens one.
    """
    return minutes * 10 - 100 if 13 <= minutes <= 19 else minutes
