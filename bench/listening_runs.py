"""The end-to-end listening runs: streams fed through a ``RecordingListener``.

``feed`` plays one stream into the listener in 30 ms chunks; ``run_recall`` builds and feeds
the "Haven, <command>", pause and reply streams per condition, ``run_talk`` hours of
ordinary talk, and ``idle_cpu`` measures the listener on quiet room noise.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from assistant.audio import RATE, chunks_from_array
from assistant.config import Settings
from assistant.library import GLOBAL_INTENTS, Library
from assistant.listen import augment
from assistant.listen.listener import Listener
from assistant.listen.routes import PAUSE
from assistant.listen.scenes import trim
from assistant.listen.synth import ClipCache, Voice, render_many

from . import listening as shared
from .listening_record import Item, Pass, RecordingListener

PRACTICES: tuple[frozenset[str], ...] = (
    frozenset({"done", "extend"}), frozenset({"resume", "extend"}), frozenset({"yes", "no"}),
)  # fmt: skip
"""Expected replies of the practice steps measured (a turn, the pause practice, a question)."""
REPLY_CONDITIONS = ("clean", "noise 10 dB", "babble 10 dB")


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


Segments = Iterator[tuple[np.ndarray, float, float]]
"""A stream's parts as ``bench.listening.segments`` yields them: (audio, speech start, length)."""


@dataclass(frozen=True)
class Stream:
    """One recall stream, built when ``parts`` is called (the same audio every time)."""

    name: str
    condition: str
    allowed: frozenset[str]
    expected: frozenset[str]
    texts: tuple[tuple[str, str, str], ...]
    """(text, voice, expected verdict) of each item, in the order said."""
    parts: Callable[[], Segments]


def recall_streams(library: Library, cache: ClipCache, voices: Sequence[Voice],
                   conditions: Sequence[str], per_voice: int, pause_step: int, replies: int,
                   seed: int) -> Iterator[Stream]:  # fmt: skip
    """The recall's streams per condition: "Haven, <command>" (``wake``), the pause
    phrasings (``pause idle``) and, in ``REPLY_CONDITIONS``, the replies of each practice
    step (``reply done/extend`` ...). Items the live set cannot take are left out."""
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

    def one(name: str, cond: str, js: Sequence[tuple[str, Voice]], allowed: frozenset[str],
            expected: frozenset[str], expects: Sequence[str]) -> Stream:  # fmt: skip
        kept = [(j, e) for j, e in zip(js, expects, strict=True) if e]
        # the same audio for the same items in the same condition (pause idle and speaking)
        key = int.from_bytes(hashlib.sha1(f"{cond}|{kept}".encode()).digest()[:4], "big")
        sources = [by_job[(t, v.key)] for (t, v), _ in kept]

        def parts() -> Segments:
            return shared.segments(sources, cond, babble_src, np.random.default_rng([seed, key]))

        texts = tuple((t, shared.voice_name(v), e) for (t, v), e in kept)
        return Stream(name, cond, allowed, expected, texts, parts)

    for cond in conditions:
        yield one("wake", cond, wake_jobs, idle, frozenset(),
                  [shared.expect_of(library, t, idle) for t, _ in wake_jobs])  # fmt: skip
        yield one("pause idle", cond, pause_jobs, idle, frozenset(), ["pause"] * len(pause_jobs))
        if cond not in REPLY_CONDITIONS:
            continue
        for e in PRACTICES:
            allowed = frozenset(GLOBAL_INTENTS) | e
            js = [(t, v) for t, v, _ in reply_jobs[e]]
            yield one("reply " + "/".join(sorted(e)), cond, js, allowed, e,
                      [shared.expect_of(library, t, allowed) for t, _ in js])  # fmt: skip


def run_recall(listener: RecordingListener, library: Library, cache: ClipCache,
               voices: Sequence[Voice], conditions: Sequence[str], per_voice: int,
               pause_step: int, replies: int, seed: int,
               log: Callable[[str], None]) -> list[Pass]:  # fmt: skip
    """Each of ``recall_streams`` fed to the listener, one Pass each.

    "pause speaking" is the idle pause stream's record replayed with only the pause live:
    the endpointer and detectors do not depend on what is live, and the armed route comes
    first, so it is exactly what the Listener decides on that audio while Haven speaks.
    """
    passes: list[Pass] = []
    tuning = asdict(listener.tuning)
    for stream in recall_streams(library, cache, voices, conditions, per_voice, pause_step,
                                 replies, seed):  # fmt: skip
        began = time.monotonic()
        seconds, items = feed(listener, stream.parts(), stream.allowed, stream.expected,
                              stream.texts)  # fmt: skip
        passes.append(Pass(stream.name, stream.condition, sorted(stream.allowed),
                           sorted(stream.expected), tuning, seconds, items,
                           listener.utts))  # fmt: skip
        log(f"{stream.name} / {stream.condition}: {len(items)} items, {seconds / 60:.1f} min "
            f"of audio in {time.monotonic() - began:.0f} s")  # fmt: skip
        if stream.name == "pause idle":
            passes.append(replace(passes[-1], name="pause speaking", allowed=[PAUSE],
                                  derived=True))  # fmt: skip
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
