"""The soak run: half an hour of ordinary talk with commands sprinkled in, heard live.

    python -m bench.soak [--minutes 30] [--seed 6] [--write]

The stream is built here, deterministically from the seed, and never committed:

- ordinary talk, full of Haven's trigger words out of context: every line of
  ``bench/data/ordinary.txt`` and held-out sentences of Debian's fortunes (training never
  used either), spoken by several espeak-ng voices and, when installed, flite voices, with
  gaps of 0.5-2 s and a quiet pink-noise floor;
- every 1-2 minutes a command: either addressed to Haven ("Haven, start check-in",
  "hey Haven, bedtime gratitude", from a seeded sample of the intents' natural sentences)
  or one of the always-armed pause phrasings ("we need a pause", "time out"), with 1-2 s
  of quiet around it, its time and intent known.

It is written as one 16 kHz mono WAV and fed through the file source, chunk by chunk as
the live loop gets them, into ``assistant.live.create_hearing`` (whatever hearing the live
loop uses), with the intents live while Haven is idle. A command is found when a decision
with its intent is made between its start and ``FOUND_WITHIN_S`` after its end; every
other decision with an intent is a false accept. Resident memory (VmRSS) is read after
the first ``WARMUP_S`` seconds of audio and at the end.

Prints a table; ``--write`` replaces the "## Soak" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from platformdirs import user_cache_path

from assistant.audio import RATE, write_wav
from assistant.clock import SystemClock
from assistant.config import Settings
from assistant.engine import Engine
from assistant.library import Library, default_intents_dir
from assistant.listen import augment
from assistant.listen.corpus import PAUSE_PHRASES, WAKE_LEADS, build_phrases
from assistant.listen.negatives import fortune_sentences
from assistant.listen.scenes import trim
from assistant.listen.synth import ClipCache, Voice, render, render_many
from assistant.live import create_addressed, create_hearing, create_recognizer
from assistant.sources import wav_chunks
from assistant.stt.base import Recognition

from .devset import ordinary_sentences

_LOG = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Soak"
SOAK_MINUTES = 30.0
"""Length of the soak stream."""
FALSE_ACCEPTS_PER_HOUR = 2.0
"""The false-accept budget: issue #3's target (at most 2 per hour of ordinary talk)."""
MAX_RSS_GROWTH_MB = 10.0
"""Resident memory may grow by less than this between the warm-up and the end."""
WARMUP_S = 120.0
"""Audio fed before the first memory reading."""
FOUND_WITHIN_S = 2.0
"""A command's decision may come up to this long after the command's end."""
TALK_GAP_S = (0.5, 2.0)
"""Quiet between sentences of ordinary talk."""
COMMAND_GAP_S = (1.0, 2.0)
"""Quiet before and after a command (people pause before and after addressing Haven)."""
COMMAND_EVERY_S = (60.0, 120.0)
"""Time from one command to the next."""
PAUSE_SHARE = 1 / 3
"""Share of the commands that are pause phrasings (the rest are addressed to Haven)."""
SPEECH_DBFS = (-30.0, -18.0)
"""Speech level of each sentence."""
NOISE_DBFS = -60.0
"""The pink-noise floor under everything."""
IDLE_ONLY = frozenset({"stop", "skip", "slower", "repeat", "resume"})
"""Global intents that mean nothing while idle: not used as sprinkled commands."""

ESPEAK_TALKERS = (
    Voice("espeak", "en-us+m3", 50, 150 / 175),
    Voice("espeak", "en-us+f2", 50, 150 / 175),
    Voice("espeak", "en-gb-x-rp", 50, 160 / 175),
)
FLITE_TALKERS = (Voice("flite", "slt"), Voice("flite", "rms"), Voice("flite", "awb"))
"""The voices of the intent-accuracy benchmark's tuning set (``bench/devset.py``), so the
soak's rates compare with its figures."""


def voices() -> tuple[Voice, ...]:
    """The talkers: the espeak-ng voices, and flite's when flite is installed."""
    return ESPEAK_TALKERS + (FLITE_TALKERS if shutil.which("flite") else ())


def voice_name(voice: Voice) -> str:
    """Short label of a voice ("espeak en-us+m3")."""
    return f"{voice.engine} {voice.name}"


def max_false_accepts(minutes: float) -> int:
    """False accepts allowed in ``minutes`` of talk at the budgeted rate (rounded down)."""
    return math.floor(FALSE_ACCEPTS_PER_HOUR * minutes / 60.0 + 1e-9)


def rss_mb() -> float:
    """This process's resident memory (VmRSS) in MB, after a garbage collection.

    glibc keeps freed heap pages (and raises its mmap threshold after big numpy arrays are
    freed), so RSS also holds memory nobody uses; ``malloc_trim`` hands it back first,
    so the reading follows what is live rather than the allocator's history.
    """
    gc.collect()
    _malloc_trim()
    return _status_kb("VmRSS") / 1024.0


def _malloc_trim() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return
    libc.malloc_trim(0)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB."""
    return _status_kb("VmHWM") / 1024.0


def _status_kb(key: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {key}")


# ---- the stream ----------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One sentence in the stream."""

    start: float
    """Seconds from the stream's start to the start of speech."""
    end: float
    """Seconds to the end of speech."""
    text: str
    """What is said."""
    voice: str
    """Who says it."""
    intent: str | None = None
    """The intent of a command (None: ordinary talk)."""
    kind: str = "talk"
    """"talk", "addressed" (wake name and command) or "pause" (always-armed phrasing)."""


@dataclass(frozen=True)
class Stream:
    """The soak stream on disk and what is in it."""

    path: Path
    """16 kHz mono WAV."""
    seconds: float
    """Its length."""
    segments: tuple[Segment, ...]
    """Every sentence, in time order."""
    seed: int
    """The seed it was built from."""
    voices: tuple[str, ...]
    """The voices speaking."""

    @property
    def commands(self) -> list[Segment]:
        """The sprinkled commands."""
        return [s for s in self.segments if s.intent is not None]

    @property
    def talk(self) -> list[Segment]:
        """The ordinary talk."""
        return [s for s in self.segments if s.intent is None]


def addressed_commands(library: Library, allowed: frozenset[str]) -> list[tuple[str, str]]:
    """(intent, sentence) pairs: the intents' short natural sentences live while idle."""
    phrases = build_phrases(library.lang_dir, "Haven")
    out: list[tuple[str, str]] = []
    for text in dict.fromkeys(phrases.commands_train + phrases.commands_test):
        match = library.intents.match(text, allowed)
        if match is not None and match.intent not in IDLE_ONLY | {"pause"}:
            out.append((match.intent, text))
    return out


def plan_commands(
    library: Library,
    allowed: frozenset[str],
    wake_name: str,
    count: int,
    rng: random.Random,
) -> list[tuple[str, str]]:
    """``count`` (intent, spoken text) commands: addressed ones and pause phrasings.

    Addressed commands pick an intent at random, then one of its sentences not used yet,
    then a wake lead ("", "hey", "okay"); pause phrasings cycle through the fixed list in
    a shuffled order. Which slots are pauses is random too.
    """
    by_intent: dict[str, list[str]] = {}
    for intent, text in addressed_commands(library, allowed):
        by_intent.setdefault(intent, []).append(text)
    pauses = list(PAUSE_PHRASES)
    rng.shuffle(pauses)
    n_pause = round(count * PAUSE_SHARE)
    kinds = ["pause"] * n_pause + ["addressed"] * (count - n_pause)
    rng.shuffle(kinds)
    out: list[tuple[str, str]] = []
    for kind in kinds:
        if kind == "pause":
            text = pauses[len([k for k, _ in out if k == "pause"]) % len(pauses)]
            out.append(("pause", text))
            continue
        intent = rng.choice(sorted(i for i, texts in by_intent.items() if texts))
        sentence = by_intent[intent].pop(rng.randrange(len(by_intent[intent])))
        lead = rng.choice(WAKE_LEADS)
        spoken = f"{lead} {wake_name}, {sentence}".strip()
        out.append((intent, spoken))
    return out


def talk_sentences(rng: random.Random) -> list[str]:
    """Ordinary talk: every line of ordinary.txt and held-out fortunes, shuffled together.

    ordinary.txt comes first in a shuffled order mixed with fortunes, so a shorter stream
    still hears most of the trigger-word lines.
    """
    ordinary = ordinary_sentences(0)
    fortunes = fortune_sentences("test")
    rng.shuffle(fortunes)
    pool = ordinary + fortunes[: len(ordinary)]
    rng.shuffle(pool)
    return pool + fortunes[len(ordinary) :]


def build_stream(
    path: Path,
    library: Library,
    settings: Settings,
    minutes: float = SOAK_MINUTES,
    seed: int = 6,
    cache: ClipCache | None = None,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> Stream:
    """Synthesize (or reuse from the clip cache) and write the soak stream to ``path``."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    cache = cache or ClipCache(user_cache_path("haven") / "soak")
    talkers = voices()
    total = round(minutes * 60 * RATE)
    allowed = idle_intents(library, settings)

    # when each command comes: every 1-2 minutes, none in the last 20 s
    times: list[float] = []
    at = rng.uniform(0.5, 1.0) * COMMAND_EVERY_S[0]
    while at < minutes * 60 - 20:
        times.append(at)
        at += rng.uniform(*COMMAND_EVERY_S)
    commands = plan_commands(library, allowed, settings.wake_name, len(times), rng)
    command_voices = [rng.choice(talkers) for _ in commands]
    command_clips = render_many(list(zip([t for _, t in commands], command_voices,
                                         strict=True)), cache, workers)

    talk = talk_sentences(rng)
    talk_voices = [rng.choice(talkers) for _ in talk]
    rendered: list[np.ndarray] = []
    batch = 64

    def talk_clip(i: int) -> np.ndarray:
        while i >= len(rendered):
            lo = len(rendered)
            jobs = list(zip(talk[lo : lo + batch], talk_voices[lo : lo + batch], strict=True))
            rendered.extend(render_many(jobs, cache, workers))
            if progress is not None:
                progress(f"synthesized {len(rendered)} sentences of talk")
        return rendered[i]

    audio = np.zeros(total, dtype=np.float32)
    segments: list[Segment] = []
    pos = 0
    next_talk = 0
    next_cmd = 0
    after_command = False

    def place(clip: np.ndarray, gap: float) -> tuple[int, int] | None:
        nonlocal pos
        speech = augment.set_level(trim(clip), nrng.uniform(*SPEECH_DBFS))
        start = pos + round(gap * RATE)
        end = start + len(speech)
        if end > total:
            return None
        audio[start:end] = speech
        pos = end
        return start, end

    while True:
        if next_cmd < len(times) and pos / RATE >= times[next_cmd]:
            intent, text = commands[next_cmd]
            voice = command_voices[next_cmd]
            span = place(command_clips[next_cmd], rng.uniform(*COMMAND_GAP_S))
            if span is None:
                break
            segments.append(Segment(span[0] / RATE, span[1] / RATE, text, voice_name(voice),
                                    intent, "pause" if intent == "pause" else "addressed"))
            after_command = True
            next_cmd += 1
            continue
        if next_talk >= len(talk):
            break
        gap = rng.uniform(*(COMMAND_GAP_S if after_command else TALK_GAP_S))
        after_command = False
        span = place(talk_clip(next_talk), gap)
        if span is None:
            break
        segments.append(Segment(span[0] / RATE, span[1] / RATE, talk[next_talk],
                                voice_name(talk_voices[next_talk])))
        next_talk += 1
    block = 30 * RATE
    noise_rms = 32767 * 10 ** (NOISE_DBFS / 20.0)
    for lo in range(0, total, block):
        n = min(block, total - lo)
        audio[lo : lo + n] += (augment.coloured_noise("pink", n, nrng) * noise_rms).astype(
            np.float32
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, np.clip(np.round(audio), -32768, 32767).astype(np.int16))
    names = tuple(dict.fromkeys(voice_name(v) for v in talkers))
    return Stream(path, total / RATE, tuple(segments), seed, names)


# ---- hearing it ----------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One decision the hearing returned."""

    at: float
    """Stream time of the chunk end when it was returned (the decision, in stream time)."""
    speech_end: float
    """Estimated stream time the speech ended (early by the decoding time, at most)."""
    text: str
    """What was heard."""
    intent: str | None
    """The intent, if any."""
    crisis: bool = False
    """Crisis words were heard."""
    via: str = ""
    """How it reached Haven (the hearing's ``Heard.via``)."""


@dataclass
class SoakResult:
    """What the soak measured."""

    stream: Stream
    """The stream heard."""
    decisions: list[Decision]
    """Every decision returned (with or without an intent)."""
    wall_s: float
    """Wall time of feeding the whole stream (synthesis not included)."""
    rss_readings: list[tuple[float, float]]
    """(stream time, resident MB): after the warm-up, each minute after, and at the last
    chunk (while the file source still holds the audio it read)."""
    rss_peak_mb: float
    """Peak resident memory of the process."""
    hearing: str = ""
    """The hearing ``create_hearing`` gave (its class name)."""
    found: dict[int, Decision] = field(default_factory=dict)
    """Command index (in ``stream.commands``) -> the decision that found it."""
    false_accepts: list[Decision] = field(default_factory=list)
    """Decisions with an intent that found no command."""

    @property
    def missed(self) -> list[Segment]:
        """Commands with no decision of their intent in time."""
        return [c for i, c in enumerate(self.stream.commands) if i not in self.found]

    @property
    def rss_warm_mb(self) -> float:
        """Resident memory after the warm-up."""
        return self.rss_readings[0][1]

    @property
    def rss_end_mb(self) -> float:
        """Resident memory at the end."""
        return self.rss_readings[-1][1]

    @property
    def rss_growth_mb(self) -> float:
        """Memory growth from the warm-up to the end."""
        return self.rss_end_mb - self.rss_warm_mb

    @property
    def rss_max_growth_mb(self) -> float:
        """The largest growth over the warm-up reading at any reading."""
        return max(mb for _, mb in self.rss_readings) - self.rss_warm_mb

    @property
    def hours(self) -> float:
        """Hours of audio."""
        return self.stream.seconds / 3600.0

    @property
    def false_accepts_per_hour(self) -> float:
        """False accepts per hour of audio."""
        return len(self.false_accepts) / self.hours if self.hours else 0.0

    def said_at(self, t: float) -> Segment | None:
        """The sentence being said (or just ended) at stream time ``t``."""
        best: Segment | None = None
        for seg in self.stream.segments:
            if seg.start <= t + 0.3:
                best = seg
            else:
                break
        return best

    def heard_near(self, command: Segment) -> list[Decision]:
        """Every decision (intent or not) about the command's speech."""
        return [d for d in self.decisions
                if command.start - 0.5 <= d.speech_end <= command.end + FOUND_WITHIN_S]


def idle_intents(library: Library, settings: Settings) -> frozenset[str]:
    """What the idle engine allows (no practice running)."""
    return frozenset(Engine(library, settings, SystemClock(), random.Random(0)).allowed_intents())


def hear(
    stream: Stream,
    library: Library,
    settings: Settings,
    warmup_s: float = WARMUP_S,
    progress: Callable[[str], None] | None = None,
) -> SoakResult:
    """Feed the stream through the file source into the live loop's hearing."""
    engine = Engine(library, settings, SystemClock(), random.Random(0))
    allowed = frozenset(engine.allowed_intents())
    expected = frozenset(engine.expected_intents())
    decisions: list[Decision] = []
    readings: list[tuple[float, float]] = []
    next_reading = warmup_s
    with create_recognizer(library, settings) as recognizer, \
            create_addressed(library, settings) as addressed:
        hearing = create_hearing(library, settings, recognizer, addressed=addressed)
        hearing_name = type(hearing).__name__
        gc.collect()
        started = time.monotonic()
        report_at = 60.0
        for chunk in wav_chunks(stream.path):
            chunk_end = chunk.timestamp + chunk.seconds
            for heard in hearing.feed(chunk, allowed, expected):
                if heard.at > 0:
                    speech_end = heard.at
                else:  # decided - end_of_speech is on one clock, whichever it is
                    speech_end = chunk_end - min(max(heard.decided - heard.end_of_speech, 0), 15)
                decisions.append(Decision(
                    chunk_end, speech_end, heard.text,
                    heard.match.intent if heard.match else None, heard.crisis, heard.via,
                ))  # fmt: skip
            if chunk_end >= next_reading or chunk_end >= stream.seconds - 1e-6:
                # read while the source still holds its audio, the last chunk included
                readings.append((chunk_end, rss_mb()))
                next_reading += 60.0
            if progress is not None and chunk_end >= report_at:
                report_at += 60.0
                progress(f"heard {chunk_end / 60:.0f} min in {time.monotonic() - started:.0f} s")
        wall = time.monotonic() - started
    if not readings:
        readings.append((stream.seconds, rss_mb()))
    result = SoakResult(stream, decisions, wall, readings, peak_rss_mb(), hearing_name)
    score(result)
    return result


def score(result: SoakResult) -> None:
    """Match decisions to commands: the first one of the right intent in time finds it."""
    commands = result.stream.commands
    result.found.clear()
    result.false_accepts.clear()
    for decision in result.decisions:
        if decision.intent is None:
            continue
        for i, command in enumerate(commands):
            if (i not in result.found and decision.intent == command.intent
                    and command.start <= decision.at <= command.end + FOUND_WITHIN_S):
                result.found[i] = decision
                break
        else:
            result.false_accepts.append(decision)


# ---- report --------------------------------------------------------------------------


def report(result: SoakResult, synth_s: float | None = None) -> str:
    """The markdown table and lists."""
    stream = result.stream
    commands = stream.commands
    addressed = [c for c in commands if c.kind == "addressed"]
    pauses = [c for c in commands if c.kind == "pause"]
    talk = stream.talk
    talk_s = sum(s.end - s.start for s in talk)
    budget = max_false_accepts(stream.seconds / 60)
    found_addr = sum(1 for i, c in enumerate(commands) if i in result.found and c.kind != "pause")
    found_pause = sum(1 for i, c in enumerate(commands) if i in result.found and c.kind == "pause")
    crises = [d for d in result.decisions if d.crisis]
    lags = sorted(d.at - commands[i].end for i, d in result.found.items())
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| audio | {stream.seconds / 60:.1f} min: {len(talk)} sentences of ordinary talk "
        f"({talk_s / 60:.1f} min of speech), {len(commands)} commands |",
        f"| voices | {', '.join(stream.voices)} |",
        f"| hearing | `{result.hearing}` (from `create_hearing`) |",
        f"| commands found | **{len(result.found)}/{len(commands)}** (addressed "
        f"{found_addr}/{len(addressed)}, pause phrasings {found_pause}/{len(pauses)}) |",
        "| decision after the command's end | "
        + (f"median {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s |" if lags else "- |"),
        f"| false accepts | **{len(result.false_accepts)}** = "
        f"{result.false_accepts_per_hour:.1f} per hour (budget {FALSE_ACCEPTS_PER_HOUR:g} "
        f"per hour: at most {budget} here) |",
        f"| routes of the found commands | {_routes(result.found.values())} |",
        f"| crisis words heard | {len(crises)} |",
        f"| decisions returned | {len(result.decisions)} |",
        f"| hearing wall time | {result.wall_s / 60:.1f} min = "
        f"{stream.seconds / result.wall_s:.1f}x real time |",
    ]
    if synth_s is not None:
        lines.append(f"| building the stream | {synth_s:.0f} s (synthesis, 2 workers) |")
    lines += [
        f"| resident memory | {result.rss_warm_mb:.1f} MB after {WARMUP_S / 60:.0f} min, "
        f"{result.rss_end_mb:.1f} MB at the end: **growth {result.rss_growth_mb:+.1f} MB** "
        f"(limit {MAX_RSS_GROWTH_MB:g}), at most {result.rss_max_growth_mb:+.1f} MB at the "
        f"{len(result.rss_readings)} readings; the process's peak {result.rss_peak_mb:.0f} MB "
        "(the file source reads the whole WAV at once) |",
    ]
    if result.missed:
        lines += ["", "Missed commands (and what was heard around them):", ""]
        for command in result.missed:
            heard = "; ".join(f"{d.text!r} -> {d.intent}" + (f" ({d.via})" if d.via else "")
                              for d in result.heard_near(command))
            lines.append(f"- {_clock(command.start)} {command.voice}: \"{command.text}\" "
                         f"({command.intent}); heard: {heard or 'nothing'}")
    if result.false_accepts:
        lines += ["", "False accepts:", ""]
        for d in result.false_accepts:
            seg = result.said_at(d.speech_end)
            said = f"{seg.voice}: \"{seg.text}\"" if seg else "?"
            via = f" ({d.via})" if d.via else ""
            lines.append(f"- {_clock(d.speech_end)} {said} -> heard {d.text!r} as {d.intent}{via}")
    if crises:
        lines += ["", "Crisis words heard:", ""]
        for d in crises:
            seg = result.said_at(d.speech_end)
            lines.append(f"- {_clock(d.speech_end)} \"{seg.text if seg else '?'}\"")
    return "\n".join(lines)


def _routes(decisions: Iterable[Decision]) -> str:
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.via or "grammar"] = counts.get(d.via or "grammar", 0) + 1
    return ", ".join(f"{via} {n}" for via, n in sorted(counts.items())) or "-"


def diagnose(result: SoakResult, library: Library, settings: Settings) -> str:
    """For each missed command, what the recognizer alone makes of it, all idle intents live:
    its span cut from the stream (wake phrase and command), and the command re-spoken by
    the same voice without the wake phrase."""
    if not result.missed:
        return ""
    from assistant.audio import read_wav

    allowed = idle_intents(library, settings)
    by_name = {voice_name(v): v for v in voices()}
    audio = read_wav(result.stream.path)
    lines = ["Each missed command decoded alone by the recognizer (all idle intents live):", ""]
    with create_recognizer(library, settings) as recognizer:
        for command in result.missed:
            span = audio[int((command.start - 0.3) * RATE) : int((command.end + 0.3) * RATE)]
            whole = recognizer.decode(span, allowed)
            bare = command.text.split(", ", 1)[-1]
            alone = recognizer.decode(render(bare, by_name[command.voice]), allowed)
            lines.append(
                f"- \"{command.text}\": {_verdict(whole)}; without the wake phrase "
                f"(\"{bare}\"): {_verdict(alone)}"
            )
    return "\n".join(lines)


def _verdict(result: Recognition) -> str:
    if result.accepted:
        return f"accepted {result.text!r}"
    return f"rejected ({result.reason}; open pass {result.open_text!r})"


def commands_list(stream: Stream) -> str:
    """The commands of the stream, one a line."""
    return "\n".join(f"  {_clock(c.start)} {c.voice:22s} {c.intent:15s} {c.text}"
                     for c in stream.commands)


def _clock(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace the section under ``heading`` (up to the next "## ") or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    body = text.rstrip("\n") + "\n"
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + body
    else:
        stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                    len(lines))
        tail = "".join(lines[stop:])
        new = "".join(lines[:start]) + body + ("\n" + tail if tail else "")
    path.write_text(new, encoding="utf-8")


def section(
    result: SoakResult, synth_s: float | None, argv: Iterable[str], notes: str = ""
) -> str:
    """The whole BENCHMARKS.md section."""
    command = " ".join(["python -m bench.soak", *argv, "--write"])
    return (
        f"{SECTION}\n\n"
        f"Measured {date.today().isoformat()} with `{command}` (seed {result.stream.seed})"
        " (also `tests/test_soak.py`, in CI). One stream, built from the seed at run time: "
        "ordinary talk full of trigger words (every line of `bench/data/ordinary.txt` and "
        "held-out fortunes) with 0.5-2 s gaps over a pink-noise floor at "
        f"{NOISE_DBFS:g} dBFS, and a command every 1-2 minutes, about "
        f"{PAUSE_SHARE:.0%} of them pause phrasings and the rest addressed to Haven "
        "(a seeded sample of the intents' sentences after \"Haven\", \"hey Haven\" or "
        "\"okay Haven\"). It is fed through the WAV file source into the live loop's hearing "
        "(`create_hearing`) as fast as it decodes, with the idle intents live. A command is "
        f"found when a decision of its intent comes at most {FOUND_WITHIN_S:g} s after it "
        "ends; any other decision with an intent is a false accept. 2-core machine shared "
        "with other jobs.\n\n"
        f"{report(result, synth_s)}\n"
        + (f"\n{notes}\n" if notes else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=SOAK_MINUTES)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="synthesis processes")
    parser.add_argument("--cache", default=str(user_cache_path("haven") / "soak"))
    parser.add_argument("--keep", default="", help="also keep the stream WAV at this path")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    library = Library.load(default_intents_dir())
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="haven-soak-") as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "soak.wav"
        started = time.monotonic()
        stream = build_stream(path, library, settings, args.minutes, args.seed,
                              ClipCache(Path(args.cache)), args.workers,
                              lambda m: print(m, flush=True))
        synth_s = time.monotonic() - started
        print(f"stream: {stream.seconds / 60:.1f} min, {len(stream.commands)} commands, "
              f"built in {synth_s:.0f} s", flush=True)
        print(commands_list(stream), flush=True)
        result = hear(stream, library, settings, progress=lambda m: print(m, flush=True))
        notes = diagnose(result, library, settings)
    print(report(result, synth_s))
    if notes:
        print("\n" + notes)
    if args.write:
        shown = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--write"]
        write_section(ROOT / "BENCHMARKS.md", SECTION, section(result, synth_s, shown, notes))
        print("wrote the Soak section of BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
