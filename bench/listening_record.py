"""The end-to-end listening record: what a run keeps of each utterance, and its replay.

``RecordingListener`` is the ``Listener`` as ``haven run`` builds it, plus a record (``Utt``)
of every utterance it decides on: the detector scores and the grammar's verdict on every
route for a grid of thresholds. ``replay`` gives ``Listener.decide``'s verdicts for any
``ListenTuning`` on that grid from the record alone; ``check`` compares them with the
Listener's own; ``save``/``load`` keep a run's record as JSON.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from assistant.app import ALONE as ALONE_VIA
from assistant.audio import RATE
from assistant.library import Library
from assistant.listen.detector import Detectors
from assistant.listen.doubletalk import foreign_seconds
from assistant.listen.listener import Listener, _Decided
from assistant.listen.manifest import read_manifest
from assistant.listen.phrasing import haven_said
from assistant.listen.routes import PAUSE, both_passes, check_wake_name, reply_score, split_replies
from assistant.listen.tuning import ListenTuning
from assistant.stt.base import Recognition, Recognizer
from assistant.vad import Utterance

from .listening import verdict

GRID_WAKE = (0.3, 0.5, 0.7, 0.8, 0.9, 0.99)
"""Wake thresholds recorded (the cut after the name depends on the threshold)."""
MIN_PAUSE, MIN_REPLY = 0.05, 0.005
"""Below these scores the pause and reply routes are not decoded (the sweep's floor)."""
ALONE = "<alone>"


@dataclass
class Utt:
    """One utterance the endpointer cut, and what each route made of it."""

    start: float
    end: float
    armed: float
    wake: float
    reply: float
    pause: str | None = None
    """The grammar with only the pause live (None: not decoded, the detector's score
    below MIN_PAUSE and the speech too long for the detector-free route)."""
    pause_both: bool = False
    """Both of the grammar's passes heard that pause (the detector-free route)."""
    pause_text: str = ""
    """The words the grammar heard there (the detector-free route takes only the
    always-armed phrasings)."""
    cuts: dict[str, str] = field(default_factory=dict)
    """Wake threshold -> the command found after the name, "" or ALONE."""
    window: str | None = None
    named: str | None = None
    """The named route's verdict: the name and a command heard as one phrase (None: not
    decoded, no commands live, the speech too long, or no recognizer for it)."""
    named_loose: str | None = None
    """The same with the grammar's own acceptance (``ListenTuning.named_both`` False)."""
    replies: str | None = None
    """The grammar with all the step's replies live (the gated ones too)."""
    ungated: str | None = None
    """The grammar with only the replies that need no detector (``ListenTuning.gated``)."""
    heard: str = ""
    via: str = ""
    latency: float = -1.0
    """End of speech to decision (s), as ``Heard`` reports it (for a decision made)."""
    early: bool = False
    """Decided after a short quiet, before the endpointer closed the utterance (only the
    pause is tried then)."""
    clear: bool = True
    """Early: the speech stood clear of the noise, so a command could be decided too."""
    foreign: float = -1.0
    """Seconds of it the double-talk test finds are not Haven's voice, against silent
    playback: the benchmark's streams hold no Haven voice, so this is the audible speech
    that test sees (``ListenTuning.doubletalk_s``; ``bench/doubletalk.py`` measures it over
    Haven's voice). -1: not recorded (an older record; the replay takes the speech's
    length)."""


@dataclass
class Item:
    """Something spoken into a stream on purpose."""

    text: str
    voice: str
    expect: str
    start: float
    end: float


@dataclass
class Pass:
    """One stream fed through one Listener."""

    name: str
    condition: str
    allowed: list[str]
    expected: list[str]
    tuning: dict[str, Any]
    seconds: float
    items: list[Item]
    utts: list[Utt]
    mismatches: int = 0
    derived: bool = False
    """Replayed from another pass's record with another live set (not fed again)."""


class CachedRecognizer:
    """The recognizer with a memory: the same audio and live set decode once."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self._memo: dict[tuple[bytes, frozenset[str]], Recognition] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    def decode(self, samples: np.ndarray, allowed: Collection[str]) -> Recognition:
        key = (hashlib.blake2b(samples.tobytes(), digest_size=16).digest(), frozenset(allowed))
        if key not in self._memo:
            self._memo[key] = self.inner.decode(samples, allowed)
        return self._memo[key]

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> CachedRecognizer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()


class _Clock:
    """``time.monotonic`` minus the time spent recording (so latency is the Listener's)."""

    def __init__(self) -> None:
        self.excluded = 0.0

    def now(self) -> float:
        return time.monotonic() - self.excluded


class RecordingListener(Listener):
    """The Listener, unchanged, plus a record of every utterance for the threshold sweep.

    The real decision is made first (its decodes are real, its timing is its own); then
    the other routes and thresholds are decoded through the cache for the record.
    """

    def __init__(self, recognizer: CachedRecognizer, library: Library, tuning: ListenTuning,
                 models: Path, wake_name: str = "Haven",
                 addressed: CachedRecognizer | None = None) -> None:  # fmt: skip
        check_wake_name(str(read_manifest(models).get("wake_name", "")), wake_name)
        self.clock = _Clock()
        super().__init__(recognizer, library.intents, library.safety, Detectors.from_dir(models),
                         wake_name, tuning, monotonic=self.clock.now,
                         addressed=addressed)  # fmt: skip
        self.utts: list[Utt] = []
        self._labels = frozenset(label for h in self._detectors.heads if h.kind == "reply"
                                 for label in h.labels[1:])  # fmt: skip
        self._alone_until = -1.0

    def reset(self) -> None:
        super().reset()
        self._alone_until = -1.0

    def warm_up(self, allowed: frozenset[str], expected: frozenset[str]) -> None:
        """Build the grammars of every live set the routes may use (a one-off cost)."""
        commands = allowed if allowed != frozenset({PAUSE}) else frozenset()
        gated, ungated = split_replies(expected, commands, self._labels, self.tuning.gated)
        tone = np.random.default_rng(0).normal(0, 30, RATE // 2).astype(np.int16)
        for live in ({PAUSE}, commands, gated | ungated, ungated, expected):
            if live:
                self._recognizer.decode(tone, frozenset(live))
        if commands and self._addressed is not None:
            self._addressed.decode(tone, commands)

    def decide(self, utterance: Utterance, allowed: frozenset[str], expected: frozenset[str],
               **how: Any) -> _Decided:  # fmt: skip
        """``Listener.decide``, recorded: an early decision, before the endpointer closes
        the utterance, too, and the close of an utterance acted on early (the Listener
        only listens for crisis words there; the record holds what every route would
        hear, for a replay with a tuning that would not have acted early)."""
        decided = super().decide(utterance, allowed, expected, **how)
        began = time.monotonic()
        early = bool(how.get("early", False))
        kept = dict(self._memo)  # the record's own decodes must not reach the Listener's
        try:
            utt = self._record(utterance, allowed, expected, decided, early)
        finally:
            self._memo = kept
        utt.early = early
        utt.clear = bool(how.get("clear", True))
        self.utts.append(utt)
        self.clock.excluded += time.monotonic() - began
        return decided

    def _record(self, utterance: Utterance, allowed: frozenset[str], expected: frozenset[str],
                decided: _Decided, early: bool = False) -> Utt:  # fmt: skip
        """``early``: reuse the decodes the Listener ran ahead (as its early decision did),
        rather than decode the longer audio there is now."""
        start, end = utterance.speech_start, utterance.speech_end
        scored = self._detectors.scores(end, start)
        kind = {h.kind: scored[h.name][1] for h in self._detectors.heads}
        commands = allowed if allowed != frozenset({PAUSE}) else frozenset()
        gated, ungated = split_replies(expected, commands, self._labels, self.tuning.gated)
        utt = Utt(start, end, kind.get("armed", 0.0), kind.get("wake", 0.0),
                  reply_score(self._detectors, end, gated) if gated else 0.0,
                  heard=verdict(decided.match), via=decided.via)  # fmt: skip
        samples = utterance.samples
        memo = (start, end) if early else None
        if PAUSE in allowed and (utt.armed >= MIN_PAUSE or end - start <= self.tuning.alone_s):
            checked: list[Recognition] = []
            utt.pause = verdict(self._grammar(samples, frozenset({PAUSE}), checked, memo))
            utt.pause_both = both_passes(checked[-1])
            utt.pause_text = checked[-1].text
            utt.foreign = foreign_seconds(samples, np.zeros(0, dtype=np.int16),
                                          self._endpointer.noise_floor_db)  # fmt: skip
        if commands:
            window_open = start <= self._alone_until
            used = self.tuning
            for w in GRID_WAKE:
                if utt.wake < w:
                    continue
                self.tuning = replace(used, wake=w)
                try:
                    found, alone = self._after_wake(utterance, commands, [], memo)
                finally:
                    self.tuning = used
                utt.cuts[str(w)] = ALONE if alone else verdict(found)
                if alone:
                    self._alone_until = max(self._alone_until, end + used.window_s)
            if window_open:
                utt.window = verdict(self._grammar(samples, commands, []))
            if self._addressed is not None and end - start <= self.tuning.named_s:
                used = self.tuning
                try:
                    self.tuning = replace(used, named=True, named_wake=0.0, named_both=True)
                    utt.named = verdict(self._named(utterance, commands, utt.wake, []))
                    self.tuning = replace(self.tuning, named_both=False)
                    utt.named_loose = verdict(self._named(utterance, commands, utt.wake, []))
                finally:
                    self.tuning = used
        if gated and (utt.reply >= MIN_REPLY or self.tuning.crisis_in_practice):
            utt.replies = verdict(self._grammar(samples, gated | ungated, []))
        if ungated:
            utt.ungated = verdict(self._grammar(samples, ungated, []))
        return utt


def replay(utts: Sequence[Utt], tuning: ListenTuning, allowed: Collection[str],
           expected: Collection[str], labels: Collection[str],
           saying: Sequence[str] = ()) -> list[tuple[str, str]]:  # fmt: skip
    """(verdict, via) per utterance, as ``Listener.decide`` would give with ``tuning``.

    ``tuning.wake`` must be one of GRID_WAKE; pause and reply at least MIN_PAUSE/MIN_REPLY;
    ``gated``, ``alone_s`` and ``named_s`` as the run used (the record's decodes depend on
    them). ``saying``: what Haven is saying over each utterance (only the pause live);
    a detector-free pause made of those words is dropped, as the live loop drops it.
    """
    allowed_set = frozenset(allowed)
    commands = allowed_set if allowed_set != frozenset({PAUSE}) else frozenset()
    gated, ungated = split_replies(frozenset(expected), commands, frozenset(labels),
                                   tuning.gated)  # fmt: skip
    out: list[tuple[str, str]] = []
    window_until = -1.0
    speaking = not commands
    hit = None  # speech start of the utterance last acted on early: not routed again
    for i, u in enumerate(utts):
        if i and out[-1][0] and utts[i - 1].early:
            hit = utts[i - 1].start
        if u.start == hit:
            out.append(("", ""))
            continue
        in_window = u.start <= window_until
        pausing = (not u.early or speaking or tuning.early_pause_idle
                   or (tuning.early_pause_noisy and not u.clear))
        armed = PAUSE in allowed_set and u.pause is not None and pausing
        if (armed and u.armed >= tuning.pause and u.pause
                and (u.armed >= tuning.pause_both_below or u.pause_both)
                and tuning.armed_takes(u.pause_text, "minutes=" in u.pause, speaking)):
            out.append((u.pause, "armed"))
            continue
        # the detector-free pause, tried after the other routes
        foreign = u.foreign if u.foreign >= 0 else u.end - u.start
        alone = (armed and tuning.alone_floor <= u.armed < tuning.pause
                 and (u.pause_both or not tuning.alone_both)
                 and tuning.takes_alone(u.end - u.start, not commands, foreign)
                 and tuning.alone_heard(u.pause_text,
                                        tuning.short_needs_detector(speaking, foreign))
                 and not (saying and haven_said(u.pause_text, saying[len(out)])))  # fmt: skip
        named = u.named if tuning.named_both else u.named_loose
        if u.early:  # before the endpointer closes: a whole command after the name, or wait
            sure = commands and u.clear and u.wake >= max(tuning.wake, tuning.early_wake)
            found = u.cuts[str(tuning.wake)] if sure else None
            if tuning.named_first and tuning.named and named is not None and named != found:
                found = None  # the named route hears another command: wait for the close
            if found and found != ALONE:
                window_until = -1.0
                out.append((found, "wake"))
            else:
                out.append((u.pause, ALONE_VIA) if alone and u.pause else ("", ""))
            continue
        woken = commands and u.wake >= tuning.wake
        named_first = woken and tuning.named_first and not in_window
        if named_first and tuning.named and named and u.wake >= tuning.named_wake:
            window_until = -1.0
            out.append((named, "named"))
            continue
        if woken:
            found = u.cuts[str(tuning.wake)]
            if found and found != ALONE:
                window_until = -1.0
                out.append((found, "wake"))
                continue
            if found == ALONE:
                window_until = u.end + tuning.window_s
        elif commands and in_window:
            window_until = -1.0
            if u.window:
                out.append((u.window, "window"))
                continue
        if (commands and not in_window and not named_first and tuning.named and named
                and u.wake >= tuning.named_wake):  # fmt: skip
            window_until = -1.0
            out.append((named, "named"))
            continue
        with_gated = bool(gated) and u.reply >= tuning.reply
        reply = u.replies if with_gated else u.ungated if ungated else None
        if reply:
            out.append((reply, "reply"))
        else:
            out.append((u.pause, ALONE_VIA) if alone and u.pause else ("", ""))
    return out


def check(p: Pass, labels: Collection[str]) -> int:
    """Utterances where the replay disagrees with the real Listener (should be none)."""
    if p.derived:
        return 0
    tuning = ListenTuning(**p.tuning)
    got = replay(p.utts, tuning, p.allowed, p.expected, labels)
    return sum(1 for u, (v, via) in zip(p.utts, got, strict=True) if (u.heard, u.via) != (v, via)
               and (u.heard or v))  # fmt: skip


def save(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    tmp.replace(path)


def load(path: Path) -> dict[str, Any]:
    """A saved run: its Passes rebuilt."""
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in fields(Utt)}  # a record of other code may keep other things
    doc["passes"] = [Pass(**{**p, "items": [Item(**i) for i in p["items"]],
                             "utts": [Utt(**{k: v for k, v in u.items() if k in known})
                                      for u in p["utts"]]}) for p in doc["passes"]]  # fmt: skip
    return doc
