"""End-to-end listening benchmark: the ``Listener`` as ``haven run`` uses it, on streams.

Run the parts (they may run at once; each writes a JSON record under the user cache)::

    python -m bench.listening_e2e recall|talk|cpu [--voices festival|dev] [--practice]
    python -m bench.listening_e2e cuts [--conditions "noise 10 dB,babble 10 dB"]
    python -m bench.listening_e2e report [--write]

Every stream is fed in 30 ms chunks to a real ``Listener`` (shipped detectors, pocketsphinx
grammar, built as ``assistant.live.create_hearing`` builds it): the endpointer finds the
utterances, there are no oracle boundaries. Per utterance the run records the detector
scores and the grammar's verdict on every route for a grid of thresholds, so the report
(``bench.listening_report.render_e2e``) replays ``Listener.decide`` for any ``ListenTuning``
on that grid without decoding again; the replay is checked against the Listener's own
decisions at the tuning the run used.

``recall``: "Haven, <command>" items (idle intents live), pause phrasings (idle; the same
record replayed with only the pause live, as while Haven speaks) and replies inside a
practice. ``talk``: hours of ordinary talk, idle or (``--practice``) inside a practice.
``cpu``: the listener on quiet room noise. ``cuts``: the endpointer alone on the recall's
wake and pause streams, per ``VadConfig`` tried (``bench.listening_cuts``; no decoding).
Festival voices are held out (never trained on, never used to tune); ``--voices dev``
(espeak-ng, flite) is the tuning run.

The record and its replay are ``bench.listening_record``, the runs ``bench.listening_runs``,
the report ``bench.listening_report``; this module is the command line.
"""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from platformdirs import user_cache_path

from assistant.config import Settings
from assistant.library import Library, default_models_dir
from assistant.listen.synth import ClipCache, Voice, festival_voices
from assistant.listen.tuning import ListenTuning

from .listening import CONDITIONS, ROOT
from .listening_cuts import render as render_cuts
from .listening_record import CachedRecognizer, RecordingListener, check, load, save
from .listening_report import render_e2e
from .listening_runs import idle_cpu, recall_streams, run_recall, run_talk

OUT = user_cache_path("haven") / "listen-e2e"
DEV_VOICES = (
    Voice("espeak", "en-us+m3", 50, 0.9), Voice("espeak", "en-gb-x-rp+f2", 60, 1.0),
    Voice("espeak", "en-us-nyc+m1", 40, 1.1), Voice("flite", "slt"), Voice("flite", "rms"),
    Voice("flite", "awb", 0, 0.9),
)  # fmt: skip
"""Tuning voices: the training engines, fixed settings."""


def report(folder: Path, write: bool, day: str = "",
           tuning: ListenTuning | None = None, note: str = "") -> str:  # fmt: skip
    """Render the saved runs in ``folder`` at ``tuning`` (the shipped one by default), the
    festival sweep and the dev sweep; ``note`` (markdown) goes after the targets."""
    docs = [load(f) for f in sorted(folder.glob("*-festival.json"))]
    dev = [load(f) for f in sorted(folder.glob("*-dev.json"))]
    if not docs:
        raise SystemExit(f"no runs in {folder}; run the recall, talk and cpu parts first")
    day = day or datetime.date.today().isoformat()
    text = render_e2e(docs, tuning or ListenTuning(), day, dev, note)
    print(text)
    if write:
        from .report import write_section

        write_section(ROOT / "BENCHMARKS.md", "## Listening", text)
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="End-to-end listening benchmark")
    parser.add_argument("part", choices=("recall", "talk", "cpu", "cuts", "report"))
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
    parser.add_argument("--conditions", default=",".join(c for c, _, _ in CONDITIONS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--adapted", action="store_true",
                        help="hear with haven adapt's model (live.LISTENING_ADAPTED is off)")
    parser.add_argument("--half-heard", action="store_true",
                        help="with haven detect's rejection (live.LISTENING_TUNING leaves out "
                             "Tuning.sound_agreement)")
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
    from assistant.live import create_addressed, create_recognizer

    library = Library.load(ROOT / "intents")
    voices = festival_voices() if args.voices == "festival" else list(DEV_VOICES)
    cache = ClipCache(Path(args.cache))
    if args.part == "cuts":
        streams = [s for s in recall_streams(library, cache, voices, args.conditions.split(","),
                                             args.per_voice, args.pause_step, 0, args.seed)
                   if s.name in ("wake", "pause idle")]  # fmt: skip
        print(render_cuts(streams))
        return
    began = time.monotonic()
    suffix = "-practice" if args.part == "talk" and args.practice else ""
    out = Path(args.out or OUT / f"{args.part}{suffix}-{args.voices}.json")
    from assistant.live import LISTENING_TUNING
    from assistant.stt.decide import Tuning

    tuning = Tuning() if args.half_heard else LISTENING_TUNING
    with create_recognizer(library, Settings(), args.adapted, tuning) as rec, \
            create_addressed(library, Settings(), args.adapted, tuning) as named:
        listener = RecordingListener(CachedRecognizer(rec), library, ListenTuning(),
                                     Path(args.models),
                                     addressed=CachedRecognizer(named))  # fmt: skip
        doc: dict[str, Any] = {"voices": args.voices, "seed": args.seed, "date": "",
                               "labels": sorted(listener._labels), "adapted": args.adapted,
                               "half_heard": args.half_heard}  # fmt: skip
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
