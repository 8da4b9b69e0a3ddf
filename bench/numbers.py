"""-teen or -ty: how pause lengths like "forty minutes" are heard.

Before "minutes", "forty" (F AO R T IY) and "fourteen" (F AO R T IY N) differ by one
short N that runs into the M. Every -teen (13 to 19) and -ty (30 to 90) number is said
in two pause phrasings by every dev-set voice, clean and with white noise at 10 dB, and
decoded the way ``haven detect FILE`` does, with the plain and the adapted model. The
table counts what the minutes slot came back as, and how often the pause the engine
would plan (``durations.heard_pause_minutes``, at least 20 minutes) is shorter than what
was said.

    python -m bench.numbers
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.config import MIN_PAUSE_MINUTES
from assistant.detect import detect_file, top_level_intents
from assistant.durations import heard_pause_minutes
from assistant.library import Library, default_intents_dir
from assistant.stt.decide import TWINS
from assistant.stt.sphinx import PocketsphinxRecognizer, SphinxModel
from bench import devset

CACHE = Path(__file__).resolve().parent / "out" / "numbers"
CARRIERS = ("we need a pause for {} minutes", "let's take a break for {} minutes")
TEENS = {13 + i: word for i, word in enumerate(TWINS)}
TENS = {30 + 10 * i: word for i, word in enumerate(TWINS.values())}
TWIN = {**dict(zip(TEENS, TENS, strict=True)), **dict(zip(TENS, TEENS, strict=True))}
"""Each number -> its twin (14 -> 40, 40 -> 14)."""


@dataclass(frozen=True)
class Heard:
    """One decoded clip."""

    said: int
    voice: str
    snr: float | None
    heard: int | None
    """The minutes slot of an accepted pause (None: rejected or no length)."""


def clips(voices: Sequence[str]) -> list[tuple[int, str, float | None, Path]]:
    """(minutes, voice, snr, wav) for every number, phrasing, voice and condition."""
    CACHE.mkdir(parents=True, exist_ok=True)
    jobs = [
        (minutes, carrier.format(word), voice)
        for minutes, word in {**TEENS, **TENS}.items()
        for carrier in CARRIERS
        for voice in voices
    ]

    def make(job: tuple[int, str, str]) -> list[tuple[int, str, float | None, Path]]:
        minutes, text, voice = job
        stem = devset._key(text, voice)
        clean, noisy = CACHE / f"{stem}.wav", CACHE / f"{stem}.10dB.wav"
        if not clean.exists():
            devset.speak(text, voice, clean)
        if not noisy.exists():
            devset.add_noise(clean, noisy, 10.0, "whitenoise", minutes)
        return [(minutes, voice, None, clean), (minutes, voice, 10.0, noisy)]

    with ThreadPoolExecutor(2, thread_name_prefix="bench-numbers") as pool:
        return [item for made in pool.map(make, jobs) for item in made]


def hear(model: SphinxModel, items: Sequence[tuple[int, str, float | None, Path]]) -> list[Heard]:
    """Decode every clip as ``haven detect FILE`` does."""
    library = Library.load(default_intents_dir())
    allowed = top_level_intents(library)
    out = []
    with PocketsphinxRecognizer(library.intents, model=model) as recognizer:
        for said, voice, snr, wav in items:
            found = detect_file(recognizer, library.intents, wav, allowed)
            value = found.slots.get("minutes") if found.intent == "pause" else None
            out.append(Heard(said, voice, snr, value if isinstance(value, int) else None))
    return out


def row(label: str, results: Sequence[Heard]) -> str:
    """One table row: right, heard as the twin, other, not heard; pauses planned short."""
    n = len(results)
    right = sum(r.heard == r.said for r in results)
    as_twin = sum(r.heard == TWIN[r.said] for r in results)
    missing = sum(r.heard is None for r in results)
    other = n - right - as_twin - missing
    short = sum(
        r.heard is not None and max(heard_pause_minutes(r.heard), MIN_PAUSE_MINUTES) < r.said
        for r in results
    )

    def pct(k: int) -> str:
        return f"{100 * k / max(1, n):.0f}% ({k})"

    cells = [pct(right), pct(as_twin), pct(other), pct(missing), pct(short)]
    return f"| {label} | {n} | " + " | ".join(cells) + " |"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.numbers")
    parser.add_argument("--voices", default="", help="comma-separated (default: all found)")
    args = parser.parse_args(argv)
    voices = args.voices.split(",") if args.voices else devset.available_voices()
    items = clips(voices)
    models = {"plain": SphinxModel.bundled(adapted=False), "adapted": SphinxModel.bundled()}
    if models["adapted"].adapted is None:
        del models["adapted"]
    print(f"{len(items)} clips: {len(CARRIERS)} phrasings x {len(TEENS) + len(TENS)} numbers "
          f"x {len(voices)} voices, clean and 10 dB white noise")  # fmt: skip
    print("| model, said, condition | clips | right | heard as its twin | other number "
          "| not heard | pause planned shorter than said |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, model in models.items():
        results = hear(model, items)
        for kind, numbers in (("-teen", TEENS), ("-ty", TENS)):
            for snr in (None, 10.0):
                part = [r for r in results if r.said in numbers and r.snr == snr]
                cond = "clean" if snr is None else "10 dB"
                print(row(f"{name}, {kind}, {cond}", part), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
