"""How the endpointer alone cuts the recall streams: is each item one utterance?

No decoding: the recall's wake and pause streams (``listening_runs.recall_streams``, the
same items and noise as the recall) go through an ``Endpointer`` per ``VadConfig`` to
compare, and each item is counted as held whole by one utterance, cut into pieces, or
never opened. A command cut in two cannot be heard whole by any route, so this bounds
what the recall can reach in noise, in seconds rather than an hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from assistant.audio import chunks_from_array
from assistant.vad import Endpointer, Utterance, VadConfig

from .listening_runs import Segments, Stream

LEAD_S = 0.3
"""An utterance may open this much before an item's speech and still hold it (the
endpointer's pre-roll: soft onsets are quiet)."""
SHORT_S = 0.15
"""...and end this much before the item's end, or cover 90% of it, and still hold it whole."""

VARIANTS: Mapping[str, VadConfig] = {
    "rises at 4 dB/s (before 2026-12-04)": replace(VadConfig(), speech_rise_db_per_s=4.0),
    "holds 2 s over any noise": replace(VadConfig(), steady_db=float("inf")),
    "holds 2 s over steady noise only (shipped)": VadConfig(),
}
"""The noise floor while an utterance is open, as the endpointer has tried it."""


@dataclass(frozen=True)
class Cuts:
    """Items of one stream by how the endpointer cut them."""

    whole: int
    cut: int
    missed: int

    def __str__(self) -> str:
        return f"{self.whole} / {self.cut} / {self.missed}"


def utterances(
    parts: Segments, config: VadConfig
) -> tuple[list[Utterance], list[tuple[float, float]]]:
    """The endpointer's utterances over the whole stream, and each part's speech span
    (start, end) in stream seconds."""
    endpointer = Endpointer(config)
    found: list[Utterance] = []
    spans: list[tuple[float, float]] = []
    t = 0.0
    for audio, speech_at, length in parts:
        spans.append((t + speech_at, t + length))
        for chunk in chunks_from_array(audio):
            found += endpointer.feed(chunk)
        t += length
    last = endpointer.flush()
    if last is not None:
        found.append(last)
    return found, spans


def count(found: Sequence[Utterance], spans: Iterable[tuple[float, float]]) -> Cuts:
    """How ``found`` holds each item's speech span."""
    whole = cut = missed = 0
    for start, end in spans:
        over = [u for u in found if u.speech_end > start and u.speech_start < end]
        if not over:
            missed += 1
            continue
        best = max(min(u.speech_end, end) - max(u.speech_start - LEAD_S, start) for u in over)
        if best >= 0.9 * (end - start) - SHORT_S:
            whole += 1
        else:
            cut += 1
    return Cuts(whole, cut, missed)


def stream_cuts(stream: Stream, config: VadConfig) -> Cuts:
    """One recall stream through one endpointer (the trailing quiet part is no item)."""
    found, spans = utterances(stream.parts(), config)
    return count(found, spans[: len(stream.texts)])


def render(streams: Sequence[Stream], variants: Mapping[str, VadConfig] = VARIANTS) -> str:
    """A markdown table: one row per variant, one column per stream (whole / cut /
    never opened)."""
    head = " | ".join(f"{'commands' if s.name == 'wake' else 'pauses'}, {s.condition}"
                      for s in streams)  # fmt: skip
    lines = [f"| floor while an utterance is open | {head} |",
             "|---|" + "---|" * len(streams)]  # fmt: skip
    for label, config in variants.items():
        cells = " | ".join(str(stream_cuts(s, config)) for s in streams)
        lines.append(f"| {label} | {cells} |")
    n = ", ".join(f"{len(s.texts)} {'commands' if s.name == 'wake' else 'pauses'}"
                  for s in streams[:2])  # fmt: skip
    return (f"Items held by one utterance / cut into pieces / never opened ({n} per "
            "condition):\n\n" + "\n".join(lines))
