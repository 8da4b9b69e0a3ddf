"""Intent accuracy of `haven detect` on the spoken dev set.

    python -m bench.intent_accuracy [--per-intent 4] [--engine pocketsphinx] [--write]

Prints command acceptance (intent and slots right) per SNR and voice family, false
accepts per hour of non-command speech, and decode time per clip. ``--write`` puts
the table in BENCHMARKS.md under "Intent accuracy (haven detect)". festival voices
are held out: no threshold was chosen by looking at them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.detect import detect_file, top_level_intents
from assistant.library import Library, default_intents_dir
from assistant.stt import make_recognizer
from assistant.stt.base import Recognizer
from assistant.stt.sphinx import SphinxModel

from .devset import HELD_OUT, SNRS, Clip, build

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Intent accuracy (haven detect)"
TARGETS: dict[float | None, float] = {None: 97.0, 20.0: 95.0, 10.0: 90.0}
"""Issue #3: command acceptance (percent, all voices) per condition."""
MAX_FALSE_PER_HOUR = 2.0


@dataclass(frozen=True)
class Outcome:
    """One clip's result."""

    clip: Clip
    """The clip."""
    intent: str | None
    """Intent detected."""
    slots: dict[str, Any]
    """Slots detected."""
    ms: float
    """Decode time."""

    @property
    def right(self) -> bool:
        """Command: intent and slots right. Ordinary: nothing fired."""
        if self.clip.kind == "command":
            return self.intent == self.clip.intent and self.slots == self.clip.slots
        return self.intent is None


_STATE: dict[str, Any] = {}


def _init(engine: str, plain: bool) -> None:
    library = Library.load(default_intents_dir())
    _STATE["library"] = library
    _STATE["allowed"] = top_level_intents(library)
    recognizer: Recognizer = make_recognizer(library.intents, engine, adapted=not plain)
    _STATE["recognizer"] = recognizer


def _run(clip: Clip) -> Outcome:
    library: Library = _STATE["library"]
    found = detect_file(_STATE["recognizer"], library.intents, Path(clip.path), _STATE["allowed"])
    return Outcome(clip, found.intent, dict(found.slots), found.ms)


def evaluate(
    clips: Sequence[Clip], engine: str, workers: int, plain: bool = False
) -> list[Outcome]:
    """Decode every clip with ``workers`` processes, one recognizer each (``plain``:
    pocketsphinx without Haven's adaptation of its model)."""
    with mp.get_context("fork").Pool(workers, _init, (engine, plain)) as pool:
        return pool.map(_run, clips, chunksize=8)


def _pct(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "-"
    right = sum(o.right for o in outcomes)
    return f"{100 * right / len(outcomes):.1f}% ({right}/{len(outcomes)})"


def report(outcomes: list[Outcome], engine: str, seconds: float) -> str:
    """The results as Markdown."""
    commands = [o for o in outcomes if o.clip.kind == "command"]
    ordinary = [o for o in outcomes if o.clip.kind == "ordinary"]
    families = sorted({o.clip.family for o in commands}, key=lambda f: (f == HELD_OUT, f))
    lines = [
        "| condition | all voices | " + " | ".join(
            f"{f}{' (held out)' if f == HELD_OUT else ''}" for f in families
        ) + " |",
        "|---|---|" + "---|" * len(families),
    ]
    for snr in SNRS:
        rows = [o for o in commands if o.clip.snr == snr]
        if not rows:
            continue
        by = defaultdict(list)
        for o in rows:
            by[o.clip.family].append(o)
        name = "clean" if snr is None else f"{snr:g} dB SNR"
        lines.append(
            f"| {name} | {_pct(rows)} | " + " | ".join(_pct(by[f]) for f in families) + " |"
        )
    hours = sum(o.clip.seconds for o in ordinary) / 3600
    false = [o for o in ordinary if o.intent is not None]
    by_family: dict[str, list[Outcome]] = defaultdict(list)
    for o in ordinary:
        by_family[o.clip.family].append(o)
    fa_parts = []
    for family, rows in sorted(by_family.items()):
        h = sum(o.clip.seconds for o in rows) / 3600
        n = sum(o.intent is not None for o in rows)
        fa_parts.append(f"{family}: {n} in {h * 60:.1f} min")
    ms = sorted(o.ms for o in outcomes if o.ms > 0)
    wrong_intent = sum(
        1 for o in commands if o.intent is not None and o.intent != o.clip.intent
    )
    wrong_slots = sum(
        1 for o in commands if o.intent == o.clip.intent and o.slots != o.clip.slots
    )
    lines += [
        "",
        f"- False accepts on non-command speech: **{len(false)} in {hours:.2f} h = "
        f"{len(false) / hours if hours else 0:.1f} per hour** ({', '.join(fa_parts)}).",
        f"- Commands: {len(commands)} clips ({len({o.clip.text for o in commands})} sentences x "
        f"{len({o.clip.voice for o in commands})} voices x {len(SNRS)} conditions); "
        f"wrong intent {wrong_intent}, right intent with wrong slots {wrong_slots}, "
        "the rest of the misses rejected.",
        f"- Decode time per clip ({engine}, both passes, 2-core machine shared with other "
        f"jobs): median {statistics.median(ms):.0f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms"
        if ms
        else "- Decode time: no clips decoded",
        f"- Whole run: {seconds / 60:.1f} min.",
    ]
    lines += ["", _targets(commands, len(false) / hours if hours else 0.0)]
    if false:
        lines += ["", "False accepts:", ""]
        lines += [f"- {o.clip.voice}: \"{o.clip.text}\" -> {o.intent}" for o in false[:20]]
    return "\n".join(lines)


def _targets(commands: list[Outcome], false_per_hour: float) -> str:
    """Which of issue #3's targets the run meets."""
    parts = []
    for snr, goal in TARGETS.items():
        rows = [o for o in commands if o.clip.snr == snr]
        if rows:
            got = 100 * sum(o.right for o in rows) / len(rows)
            name = "clean" if snr is None else f"{snr:g} dB"
            parts.append(f"{name} {got:.1f}% vs >= {goal:g}% {'met' if got >= goal else 'NOT met'}")
    ok = false_per_hour <= MAX_FALSE_PER_HOUR
    parts.append(
        f"false accepts {false_per_hour:.1f}/h vs <= {MAX_FALSE_PER_HOUR:g}/h "
        f"{'met' if ok else 'NOT met'}"
    )
    return "Targets from issue #3: " + "; ".join(parts) + "."


def write_section(text: str, engine: str) -> None:
    """Replace (or add) the intent-accuracy section of BENCHMARKS.md."""
    path = ROOT / "BENCHMARKS.md"
    today = dt.date.today().isoformat()
    body = (
        f"{SECTION}\n\nMeasured {today} with `python -m bench.intent_accuracy --write` "
        f"(engine: {engine}; every top-level intent live, as `haven detect` runs). "
        "Acceptance means intent and slots right; a miss is a rejection or a wrong answer. "
        "espeak-ng and flite voices were used to choose the rejection and noise-reduction "
        "settings; no setting was chosen from the festival voices' results. SNR is the "
        "speech-active level (samples above 2% of the clip's peak, so the 0.5 s of padding "
        "and the pauses do not count) over the noise's mean power; white, pink and brown "
        "noise take turns by sentence. Measured on 10 ms frames within 40 dB of the loudest "
        "(closer to ITU-T P.56) the same clips are about 1.5 dB *noisier* than named, and "
        "over the whole padded clip about 4.4 dB noisier.\n\n"
        f"{text}\n"
    )
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION in old:
        head, rest = old.split(SECTION, 1)
        tail = rest.split("\n## ", 1)
        new = head + body + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        new = old.rstrip() + "\n\n" + body
    path.write_text(new, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intent_accuracy")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "devset"))
    parser.add_argument("--per-intent", type=int, default=4, help="sentences per intent")
    parser.add_argument("--fortunes", type=int, default=60, help="extra fortune lines")
    parser.add_argument("--engine", default="pocketsphinx")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--voices", default="", help="comma-separated (default: all found)")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--plain", action="store_true",
                        help="pocketsphinx without models/sphinx/ (haven adapt), for comparison")
    args = parser.parse_args(argv)
    if args.engine == "pocketsphinx":
        folder = SphinxModel.bundled(adapted=not args.plain).adapted
        label = f"pocketsphinx adapted ({folder.relative_to(ROOT)}/)" if folder else (
            "pocketsphinx, plain model")
    else:
        label = args.engine
    started = time.perf_counter()
    library = Library.load(default_intents_dir())
    voices = [v for v in args.voices.split(",") if v] or None
    clips = build(
        Path(args.out),
        library.intents,
        top_level_intents(library),
        per_intent=args.per_intent,
        voices=voices,
        fortunes=args.fortunes,
        workers=args.workers,
    )
    print(f"dev set: {len(clips)} clips in {args.out}", flush=True)
    outcomes = evaluate(clips, args.engine, args.workers, args.plain)
    text = report(outcomes, label, time.perf_counter() - started)
    print(text)
    if args.write:
        write_section(text, label)
        print("wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
