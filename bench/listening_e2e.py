"""End-to-end listening benchmark: the ``Listener`` as ``haven run`` uses it, on streams.

Run the parts (they may run at once; each writes a JSON record under the user cache)::

    python -m bench.listening_e2e recall|talk|cpu [--voices festival|dev] [--practice]
    python -m bench.listening_e2e report [--write]

Every stream is fed in 30 ms chunks to a real ``Listener`` (shipped detectors, pocketsphinx
grammar, built as ``assistant.live.create_hearing`` builds it): the endpointer finds the
utterances, there are no oracle boundaries. Per utterance the run records the detector
scores and the grammar's verdict on every route for a grid of thresholds, so the report
(``bench.listening.render_e2e``) replays ``Listener.decide`` for any ``ListenTuning`` on
that grid without decoding again; the replay is checked against the Listener's own
decisions at the tuning the run used.

``recall``: "Haven, <command>" items (idle intents live), pause phrasings (idle; the same
record replayed with only the pause live, as while Haven speaks) and replies inside a
practice. ``talk``: hours of ordinary talk, idle or (``--practice``) inside a practice.
``cpu``: the listener on quiet room noise. Festival voices are held out (never trained on,
never used to tune); ``--voices dev`` (espeak-ng, flite) is the tuning run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from platformdirs import user_cache_path

from assistant.audio import RATE, chunks_from_array
from assistant.config import Settings
from assistant.library import GLOBAL_INTENTS, Library, default_models_dir
from assistant.listen import augment
from assistant.listen.detector import Detectors
from assistant.listen.listener import (
    PAUSE,
    Listener,
    ListenTuning,
    _Decided,
    check_wake_name,
    reply_score,
)  # fmt: skip
from assistant.listen.manifest import read_manifest
from assistant.listen.scenes import trim
from assistant.listen.synth import ClipCache, Voice, festival_voices, render_many
from assistant.stt.base import Recognition, Recognizer
from assistant.vad import Utterance

from . import listening as shared

ROOT = shared.ROOT
OUT = user_cache_path("haven") / "listen-e2e"
GRID_WAKE = (0.3, 0.5, 0.7, 0.8, 0.9, 0.99)
"""Wake thresholds recorded (the cut after the name depends on the threshold)."""
MIN_PAUSE, MIN_REPLY = 0.05, 0.005
"""Below these scores the pause and reply routes are not decoded (the sweep's floor)."""
ALONE = "<alone>"
PRACTICES: tuple[frozenset[str], ...] = (
    frozenset({"done", "extend"}), frozenset({"resume", "extend"}), frozenset({"yes", "no"}),
)  # fmt: skip
"""Expected replies of the practice steps measured (a turn, the pause practice, a question)."""
REPLY_CONDITIONS = ("clean", "noise 10 dB", "babble 10 dB")
DEV_VOICES = (
    Voice("espeak", "en-us+m3", 50, 0.9), Voice("espeak", "en-gb-x-rp+f2", 60, 1.0),
    Voice("espeak", "en-us-nyc+m1", 40, 1.1), Voice("flite", "slt"), Voice("flite", "rms"),
    Voice("flite", "awb", 0, 0.9),
)  # fmt: skip
"""Tuning voices: the training engines, fixed settings."""


@dataclass
class Utt:
    """One utterance the endpointer cut, and what each route made of it."""

    start: float
    end: float
    armed: float
    wake: float
    reply: float
    pause: str | None = None
    """The grammar with only the pause live (None: not decoded, score below MIN_PAUSE)."""
    cuts: dict[str, str] = field(default_factory=dict)
    """Wake threshold -> the command found after the name, "" or ALONE."""
    window: str | None = None
    replies: str | None = None
    """The grammar with the step's replies live (known and unknown to the detector)."""
    unknown: str | None = None
    """The grammar with only the replies the detector does not know."""
    heard: str = ""
    via: str = ""
    latency: float = -1.0
    """End of speech to decision (s), as ``Heard`` reports it (for a decision made)."""
    early: bool = False
    """Decided after a short quiet, before the endpointer closed the utterance (only the
    pause is tried then)."""
    armed_live: bool = True
    """False when the pause route was skipped (already tried early on the same audio)."""


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
                 models: Path, wake_name: str = "Haven") -> None:  # fmt: skip
        check_wake_name(str(read_manifest(models).get("wake_name", "")), wake_name)
        self.clock = _Clock()
        super().__init__(recognizer, library.intents, library.safety, Detectors.from_dir(models),
                         wake_name, tuning, monotonic=self.clock.now)  # fmt: skip
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
        known = expected & self._labels & commands
        unknown = (expected & commands) - known
        tone = np.random.default_rng(0).normal(0, 30, RATE // 2).astype(np.int16)
        for live in ({PAUSE}, commands, known | unknown, unknown, expected):
            if live:
                self._recognizer.decode(tone, frozenset(live))

    def decide(self, utterance: Utterance, allowed: frozenset[str], expected: frozenset[str],
               **how: Any) -> _Decided:  # fmt: skip
        """``Listener.decide``, recorded (an early decision, before the endpointer closes
        the utterance, too; a crisis-only pass after one is not a decision point)."""
        decided = super().decide(utterance, allowed, expected, **how)
        if how.get("routes", True):
            began = time.monotonic()
            utt = self._record(utterance, allowed, expected, decided)
            utt.early = bool(how.get("early", False))
            utt.armed_live = bool(how.get("armed", True))
            self.utts.append(utt)
            self.clock.excluded += time.monotonic() - began
        return decided

    def _record(self, utterance: Utterance, allowed: frozenset[str], expected: frozenset[str],
                decided: _Decided) -> Utt:  # fmt: skip
        start, end = utterance.speech_start, utterance.speech_end
        scored = self._detectors.scores(end, start)
        kind = {h.kind: scored[h.name][1] for h in self._detectors.heads}
        commands = allowed if allowed != frozenset({PAUSE}) else frozenset()
        known = expected & self._labels & commands
        unknown = (expected & commands) - known
        utt = Utt(start, end, kind.get("armed", 0.0), kind.get("wake", 0.0),
                  reply_score(self._detectors, end, known) if known else 0.0,
                  heard=shared.verdict(decided.match), via=decided.via)  # fmt: skip
        samples = utterance.samples
        if PAUSE in allowed and utt.armed >= MIN_PAUSE:
            utt.pause = shared.verdict(self._grammar(samples, frozenset({PAUSE}), []))
        if commands:
            window_open = start <= self._alone_until
            used = self.tuning
            for w in GRID_WAKE:
                if utt.wake < w:
                    continue
                self.tuning = replace(used, wake=w)
                try:
                    found, alone = self._after_wake(utterance, commands, [])
                finally:
                    self.tuning = used
                utt.cuts[str(w)] = ALONE if alone else shared.verdict(found)
                if alone:
                    self._alone_until = max(self._alone_until, end + used.window_s)
            if window_open:
                utt.window = shared.verdict(self._grammar(samples, commands, []))
        if known and (utt.reply >= MIN_REPLY or self.tuning.crisis_in_practice):
            utt.replies = shared.verdict(self._grammar(samples, frozenset(known | unknown), []))
        if unknown:
            utt.unknown = shared.verdict(self._grammar(samples, frozenset(unknown), []))
        return utt


def replay(utts: Sequence[Utt], tuning: ListenTuning, allowed: Collection[str],
           expected: Collection[str], labels: Collection[str]) -> list[tuple[str, str]]:
    """(verdict, via) per utterance, as ``Listener.decide`` would give with ``tuning``.

    ``tuning.wake`` must be one of GRID_WAKE; pause and reply at least MIN_PAUSE/MIN_REPLY.
    """
    allowed_set = frozenset(allowed)
    commands = allowed_set if allowed_set != frozenset({PAUSE}) else frozenset()
    known = frozenset(expected) & frozenset(labels) & commands
    unknown = (frozenset(expected) & commands) - known
    out: list[tuple[str, str]] = []
    window_until = -1.0
    for u in utts:
        in_window = u.start <= window_until
        if u.armed_live and PAUSE in allowed_set and u.armed >= tuning.pause and u.pause:
            out.append((u.pause, "armed"))
            continue
        if u.early:  # before the endpointer closes: a whole command after the name, or wait
            sure = commands and u.wake >= max(tuning.wake, tuning.early_wake)
            found = u.cuts[str(tuning.wake)] if sure else None
            if found and found != ALONE:
                window_until = -1.0
                out.append((found, "wake"))
            else:
                out.append(("", ""))
            continue
        if commands and u.wake >= tuning.wake:
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
        with_known = bool(known) and u.reply >= tuning.reply
        reply = u.replies if with_known else u.unknown if unknown else None
        out.append((reply, "reply") if reply else ("", ""))
    return out


def feed(listener: RecordingListener, parts: Iterator[tuple[np.ndarray, float, float]],
         allowed: frozenset[str], expected: frozenset[str], texts: Sequence[tuple[str, str, str]],
         limit_s: float = float("inf")) -> tuple[float, list[Item]]:  # fmt: skip
    """Feed the parts; (seconds fed, the items with their stream times).

    The recognizer first decodes a moment of room tone with each live set the Listener may
    use, so the one-off grammar builds do not count as decision time (``haven run`` pays
    them once per set, too).
    """
    listener.warm_up(allowed, expected)
    listener.reset()
    listener.utts = []
    t, items = 0.0, []
    for i, (audio, speech_at, length) in enumerate(parts):
        if i < len(texts):
            text, voice, expect = texts[i]
            items.append(Item(text, voice, expect, t + speech_at, t + length))
        for chunk in chunks_from_array(audio):
            for heard in listener.feed(chunk, allowed, expected):
                if heard.match is not None:
                    listener.utts[-1].latency = heard.decided - heard.end_of_speech
        t += length
        if t >= limit_s:
            break
    return t, items


def run_recall(listener: RecordingListener, library: Library, cache: ClipCache,
               voices: Sequence[Voice], conditions: Sequence[str], per_voice: int,
               pause_step: int, replies: int, seed: int,
               log: Callable[[str], None]) -> list[Pass]:  # fmt: skip
    """Wake, pause (idle and while Haven speaks) and reply streams per condition.

    "pause speaking" is the idle pause stream's record replayed with only the pause live:
    the endpointer and detectors do not depend on what is live, and the armed route comes
    first, so it is exactly what the Listener decides on that audio while Haven speaks.
    """
    rng = np.random.default_rng(seed)
    idle = idle_allowed(library)
    live = [t for t in shared.wake_texts() if shared.expect_of(library, t, idle)]
    wake_jobs = shared.wake_jobs_for(voices, per_voice, rng, live)
    pause_jobs = [(t, v) for v in voices for t in shared.pause_texts()][::pause_step]
    reply_jobs = {e: [(t, v, i) for v in voices
                      for i, t in shared.reply_texts(library, e, rng, replies)]
                  for e in PRACTICES}  # fmt: skip
    babble_jobs = shared.babble_jobs_for(voices)
    jobs = wake_jobs + pause_jobs + [(t, v) for e in PRACTICES for t, v, _ in reply_jobs[e]]
    clips = render_many(jobs + babble_jobs, cache)
    babble_src = [trim(c) for c in clips[len(jobs) :]]
    by_job = dict(zip([(t, v.key) for t, v in jobs], clips[: len(jobs)], strict=False))
    passes: list[Pass] = []
    tuning = asdict(listener.tuning)

    def one(name: str, cond: str, js: Sequence[tuple[str, Voice]], allowed: frozenset[str],
            expected: frozenset[str], expects: Sequence[str]) -> None:  # fmt: skip
        kept = [(j, e) for j, e in zip(js, expects, strict=True) if e]
        # the same audio for the same items in the same condition (pause idle and speaking)
        key = int.from_bytes(hashlib.sha1(f"{cond}|{kept}".encode()).digest()[:4], "big")
        prng = np.random.default_rng([seed, key])
        parts = shared.segments([by_job[(t, v.key)] for (t, v), _ in kept], cond, babble_src, prng)
        texts = [(t, shared.voice_name(v), e) for (t, v), e in kept]
        began = time.monotonic()
        seconds, items = feed(listener, parts, allowed, expected, texts)
        passes.append(Pass(name, cond, sorted(allowed), sorted(expected), tuning, seconds, items,
                           listener.utts))  # fmt: skip
        log(f"{name} / {cond}: {len(items)} items, {seconds / 60:.1f} min of audio in "
            f"{time.monotonic() - began:.0f} s")  # fmt: skip

    for cond in conditions:
        one("wake", cond, wake_jobs, idle, frozenset(),
            [shared.expect_of(library, t, idle) for t, _ in wake_jobs])
        one("pause idle", cond, pause_jobs, idle, frozenset(), ["pause"] * len(pause_jobs))
        passes.append(replace(passes[-1], name="pause speaking", allowed=[PAUSE], derived=True))
        if cond not in REPLY_CONDITIONS:
            continue
        for e in PRACTICES:
            allowed = frozenset(GLOBAL_INTENTS) | e
            js = [(t, v) for t, v, _ in reply_jobs[e]]
            one("reply " + "/".join(sorted(e)), cond, js, allowed, e,
                [shared.expect_of(library, t, allowed) for t, _ in js])
    return passes


def idle_allowed(library: Library) -> frozenset[str]:
    """What the idle engine allows (the soak's definition)."""
    from .soak import idle_intents

    return idle_intents(library, Settings())


def run_talk(listener: RecordingListener, library: Library, cache: ClipCache,
             voices: Sequence[Voice], hours: float, seed: int, practice: bool,
             log: Callable[[str], None], part: tuple[int, int] = (0, 1),
             top_up: float = 0.0) -> Pass:  # fmt: skip
    """Hours of ordinary talk, idle or inside a practice (done/extend expected).

    ``part`` (k, n): only every n-th sentence from the k-th, ``hours / n`` of it, as its own
    stream (n processes share the work; the report adds their fires and hours up).
    ``top_up``: instead, that many hours of the sentences that come after (the sentence
    count is estimated from word counts and can fall short of ``hours``).
    """
    jobs = shared.talk_jobs(hours, np.random.default_rng(seed + 1), voices)
    if top_up:  # the sentences after the first ``hours`` worth
        more = shared.talk_jobs(hours + top_up, np.random.default_rng(seed + 1), voices)
        jobs, hours, seed = more[len(jobs) :], top_up, seed + 100
    jobs = jobs[part[0] :: part[1]]
    hours, seed = hours / part[1], seed + 10 * part[0]
    clips = render_many(jobs, cache)
    expected = PRACTICES[0] if practice else frozenset()
    allowed = frozenset(GLOBAL_INTENTS) | expected if practice else idle_allowed(library)
    parts = shared.segments(clips, "clean", [], np.random.default_rng(seed + 2), gaps=(0.5, 1.5),
                     levels=(-30.0, -14.0))  # fmt: skip
    began = time.monotonic()
    texts = [(t, shared.voice_name(v), "") for t, v in jobs]
    seconds, items = feed(listener, parts, allowed, expected, texts, hours * 3600)
    log(f"talk ({'practice' if practice else 'idle'}): {seconds / 3600:.2f} h, "
        f"{len(listener.utts)} utterances in {time.monotonic() - began:.0f} s")  # fmt: skip
    return Pass("talk practice" if practice else "talk idle", "clean", sorted(allowed),
                sorted(expected), asdict(listener.tuning), seconds, items,
                listener.utts)  # fmt: skip


def idle_cpu(listener: Listener, library: Library, seconds: float = 120.0) -> float:
    """Share of one core the listener takes on quiet room noise (CPU time / audio time)."""
    rng = np.random.default_rng(5)
    audio = augment.to_int16(augment.coloured_noise("pink", int(RATE * seconds), rng) * 30, rng)
    allowed = idle_allowed(library)
    listener.reset()
    began = time.process_time()
    for chunk in chunks_from_array(audio):
        listener.feed(chunk, allowed)
    return (time.process_time() - began) / seconds


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
    doc["passes"] = [Pass(**{**p, "items": [Item(**i) for i in p["items"]],
                             "utts": [Utt(**u) for u in p["utts"]]}) for p in doc["passes"]]
    return doc


def report(folder: Path, write: bool, day: str = "2026-11-24",
           tuning: ListenTuning | None = None, note: str = "") -> str:  # fmt: skip
    """Render the saved runs in ``folder`` at ``tuning`` (the shipped one by default), the
    festival sweep and the dev sweep; ``note`` (markdown) goes after the targets."""
    docs = [load(f) for f in sorted(folder.glob("*-festival.json"))]
    dev = [load(f) for f in sorted(folder.glob("*-dev.json"))]
    if not docs:
        raise SystemExit(f"no runs in {folder}; run the recall, talk and cpu parts first")
    text = shared.render_e2e(docs, tuning or ListenTuning(), day, dev, note)
    print(text)
    if write:
        from .report import write_section

        write_section(ROOT / "BENCHMARKS.md", "## Listening", text)
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="End-to-end listening benchmark")
    parser.add_argument("part", choices=("recall", "talk", "cpu", "report"))
    parser.add_argument("--write", action="store_true", help="report: write BENCHMARKS.md")
    parser.add_argument("--tuning", default="", help="report: wake,pause,reply (default: shipped)")
    parser.add_argument("--note", default="", help="report: a markdown file of findings")
    parser.add_argument("--voices", choices=("festival", "dev"), default="festival")
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--practice", action="store_true", help="talk inside a practice")
    parser.add_argument("--slice", default="0/1", help="talk: part k of n (k/n)")
    parser.add_argument("--top-up", type=float, default=0.0, help="talk: hours after --hours")
    parser.add_argument("--per-voice", type=int, default=12, help="wake items per voice")
    parser.add_argument("--pause-step", type=int, default=2, help="every n-th pause item")
    parser.add_argument("--replies", type=int, default=2, help="phrasings per reply and voice")
    parser.add_argument("--conditions", default=",".join(c for c, _, _ in shared.CONDITIONS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", default=str(default_models_dir()))
    parser.add_argument("--cache", default=str(user_cache_path("haven") / "listen"))
    parser.add_argument("--out", default="", help="JSON file (default: under the user cache)")
    args = parser.parse_args(argv)
    if args.part == "report":
        tuning = None
        if args.tuning:
            wake, pause, reply = (float(x) for x in args.tuning.split(","))
            tuning = ListenTuning(wake=wake, pause=pause, reply=reply)
        note = Path(args.note).read_text(encoding="utf-8") if args.note else ""
        report(Path(args.out) if args.out else OUT, args.write, tuning=tuning, note=note)
        return
    from assistant.live import create_recognizer

    library = Library.load(ROOT / "intents")
    voices = festival_voices() if args.voices == "festival" else list(DEV_VOICES)
    cache = ClipCache(Path(args.cache))
    began = time.monotonic()
    suffix = "-practice" if args.part == "talk" and args.practice else ""
    out = Path(args.out or OUT / f"{args.part}{suffix}-{args.voices}.json")
    with create_recognizer(library, Settings()) as rec:
        listener = RecordingListener(CachedRecognizer(rec), library, ListenTuning(),
                                     Path(args.models))  # fmt: skip
        doc: dict[str, Any] = {"voices": args.voices, "seed": args.seed, "date": "",
                               "labels": sorted(listener._labels)}  # fmt: skip
        if args.part == "recall":
            passes = run_recall(listener, library, cache, voices, args.conditions.split(","),
                                args.per_voice, args.pause_step, args.replies, args.seed,
                                print)  # fmt: skip
        elif args.part == "talk":
            k, n = (int(x) for x in args.slice.split("/"))
            passes = [run_talk(listener, library, cache, voices, args.hours, args.seed,
                               args.practice, print, (k, n), args.top_up)]  # fmt: skip
        else:
            passes, doc["cpu"] = [], idle_cpu(listener, library)
            print(f"idle listening: {doc['cpu']:.1%} of one core")
    for p in passes:
        p.mismatches = check(p, doc["labels"])
    doc["passes"] = [asdict(p) for p in passes]
    doc["wall_s"] = time.monotonic() - began
    save(out, doc)
    print(f"wrote {out} ({doc['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
