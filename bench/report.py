"""Writing benchmark results into BENCHMARKS.md, one ``## `` section at a time."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace the section under ``heading`` (up to the next "## ") with ``text``, or append it.

    ``heading`` is the whole heading line ("## Latency"); ``text`` is the body below it.
    Every other section is left exactly as it was.
    """
    lines = path.read_text().splitlines() if path.exists() else []
    body = [heading, "", *text.strip("\n").splitlines(), ""]
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading.strip())
    except StopIteration:
        while lines and not lines[-1].strip():
            lines.pop()
        new = [*lines, "", *body] if lines else body
    else:
        stop = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        new = [*lines[:start], *body, *lines[stop:]]
    path.write_text("\n".join(new).rstrip("\n") + "\n")
