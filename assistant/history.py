"""Plain-text lines describing past sessions, for ``haven history``."""

from __future__ import annotations

import time

from .durations import spoken_minutes
from .log import SessionSummary


def _when(t: float) -> str:
    return time.strftime("%a %d %b %Y %H:%M", time.localtime(t))


def describe(summary: SessionSummary) -> list[str]:
    """A heading line for the session, then one line per practice and pause."""
    length = ""
    if summary.ended_at is not None:
        length = f", {spoken_minutes(summary.ended_at - summary.started_at)}"
    lines = [
        f"#{summary.id} {_when(summary.started_at)} ({summary.mode}, {summary.status}{length})"
    ]
    for practice in summary.practices:
        paused = " (paused and resumed)" if practice.was_paused else ""
        took = ""
        if practice.ended_at is not None:
            took = f" after {spoken_minutes(practice.ended_at - practice.started_at)}"
        lines.append(f"  {practice.practice}: {practice.outcome}{took}{paused}")
    for pause in summary.pauses:
        if pause.actual_seconds is None:
            lines.append(f"  pause of {spoken_minutes(pause.planned_seconds)}, not ended")
        else:
            lines.append(
                f"  pause: planned {spoken_minutes(pause.planned_seconds)}, "
                f"lasted {spoken_minutes(pause.actual_seconds)}"
            )
    return lines
