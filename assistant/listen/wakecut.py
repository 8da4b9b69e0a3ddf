"""Where the command starts after the wake phrase ("Haven, <command>").

The wake detector fires on a run of embedding windows near the end of the name; the
grammar decodes what follows a cut placed from that run. Pure functions over the
detectors' stream and the utterance.
"""

from __future__ import annotations

import logging

import numpy as np

from ..audio import RATE
from ..vad import Utterance, VadConfig, frame_levels
from .detector import Detectors, wake_windows

_LOG = logging.getLogger(__name__)

CUT_CENTRE = 0.15
"""Seconds after the wake head starts firing where the command most often starts."""
MAX_CUTS = 5
"""Cuts tried after the wake phrase before giving up (each is one grammar decode)."""


def speech_seconds(samples: np.ndarray, vad: VadConfig) -> float:
    """Seconds of frames loud enough to be speech (a rough, floor-free measure)."""
    if len(samples) < 160:
        return 0.0
    levels = frame_levels(samples)
    loudest = float(np.max(levels))
    loud = levels >= max(vad.min_level_db, loudest - 25.0)
    return float(np.sum(loud)) * len(samples) / len(levels) / RATE


def wake_cuts(detectors: Detectors, utterance: Utterance, threshold: float) -> list[float]:
    """Where the command after the wake phrase may start, as offsets into
    ``utterance.samples`` (s), likeliest first.

    The wake head fires on a run of windows (a plateau; the longest run counts) from near
    the end of the name for as long as the name is in view. On voices it never heard,
    the command decodes best when cut between 0.1 s before the plateau starts and 0.35 s
    before it ends: a little of the name left in makes the grammar reject, a clipped
    first consonant rarely does. Cuts 0.1 s apart are tried, nearest ``CUT_CENTRE``
    after the plateau's start first.
    """
    head = next(h for h in detectors.heads if h.kind == "wake")
    windows, ends = wake_windows(detectors.stream, utterance.speech_start, utterance.speech_end)
    if not len(windows):
        return []
    probs = head.mlp.probabilities(windows)[:, 1:].max(axis=1)
    first, last = longest_run(probs >= threshold)
    if last < first:
        first = last = int(np.argmax(probs))
    begin, end = ends[first] - utterance.start, ends[last] - utterance.start
    centre = begin + CUT_CENTRE
    _LOG.debug("wake plateau %.2f-%.2f s into the utterance", begin, end)
    cuts = np.arange(begin - 0.1, max(begin, end - 0.35) + 1e-6, 0.1)
    ordered = sorted((float(c) for c in cuts), key=lambda c: abs(c - centre))
    return [max(0.0, c) for c in ordered[:MAX_CUTS]]


def longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(first, last) index of the longest run of True ((0, -1) when there is none)."""
    best, start = (0, -1), None
    for i, flag in enumerate([*flags.tolist(), False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - 1 - start > best[1] - best[0]:
                best = (start, i - 1)
            start = None
    return best
