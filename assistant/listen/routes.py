"""What the listener's routes share that holds no state: the pause and reply detectors'
scores, which
replies it gates, whether both of the grammar's passes heard a phrase, the wake name the
detectors were trained for, and the intents the named route hears."""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..intents import IntentSet
from ..stt.base import Recognition
from .detector import Detectors, end_windows

PAUSE = "pause"


def reply_score(detectors: Detectors, end: float, replies: frozenset[str]) -> float:
    """The reply detector's best score for any of ``replies`` (only those are live)."""
    head = next((h for h in detectors.heads if h.kind == "reply"), None)
    if head is None:
        return 0.0
    columns = [i for i, label in enumerate(head.labels) if label in replies]
    windows, _ = end_windows(detectors.stream, end)
    if not columns or not len(windows):
        return 0.0
    probs = head.mlp.probabilities(windows)[:, columns].max(axis=1)
    if len(probs) >= 2:
        probs = np.minimum(probs[:-1], probs[1:])
    return float(probs.max())


def armed_score(detectors: Detectors, end: float) -> float:
    """The pause detector's score for speech ending at ``end`` (only that head is run)."""
    head = next((h for h in detectors.heads if h.kind == "armed"), None)
    if head is None:
        return 0.0
    windows, _ = end_windows(detectors.stream, end)
    return head.best(windows)[1]


def split_replies(
    expected: frozenset[str], commands: frozenset[str], labels: frozenset[str],
    gated: tuple[str, ...],
) -> tuple[frozenset[str], frozenset[str]]:  # fmt: skip
    """(gated, ungated): the step's live replies that also need the reply detector (it
    knows them, ``labels``, and ``ListenTuning.gated`` names them), and the rest."""
    need = expected & labels & commands & frozenset(gated)
    return need, (expected & commands) - need


def both_passes(result: Recognition) -> bool:
    """Accepted, with the open pass itself hearing the intent the grammar heard."""
    return result.accepted and result.scores.get("open_matched", 0.0) == 1.0


def check_wake_name(detectors_wake: str, wake_name: str) -> None:
    """Refuse detectors trained for another name."""
    if detectors_wake and detectors_wake.strip().lower() != wake_name.strip().lower():
        raise ModelError(
            f"the detectors listen for '{detectors_wake}' but wake_name is '{wake_name}'; "
            "run `haven train`"
        )


def addressed_intents(intents: IntentSet, wake_name: str) -> IntentSet:
    """The intents the named route's recognizer hears: every command after the name (the
    pause, always armed, needs no name)."""
    return intents.addressed(wake_name, unaddressed=(PAUSE,))
