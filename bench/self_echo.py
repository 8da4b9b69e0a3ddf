"""Haven's own voice heard back: every prompt, leaking into the microphone while Haven speaks.

    python -m bench.self_echo [--levels -20,-12] [--limit N] [--out FILE]

Every prompt of the YAML (placeholders filled) is rendered in Haven's own voice (espeak-ng
as the speaker renders it, ``synth.haven_voice``), played back to back with 0.3-1.0 s gaps
as one stream over room tone, that many dB below the partners' speech level (-22 dBFS),
once as it is and once cut up by audio glitches (10-80 ms dropouts every 0.4-1.5 s). The
stream goes to the listening ``haven run`` builds (``live.create_hearing``, no echo
canceller) with only the pause live, as while Haven speaks. Every pause it fires is a
false one; a pause the detector did not confirm (``via`` "alone") is then checked as the
live loop checks it (``phrasing.haven_said``) against the prompt being played.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from platformdirs import user_cache_path

from assistant.app import ALONE
from assistant.audio import RATE, chunks_from_array
from assistant.config import Settings
from assistant.library import Library
from assistant.listen import augment
from assistant.listen.corpus import prompt_sentences
from assistant.listen.phrasing import haven_said
from assistant.listen.synth import ClipCache, haven_voice, render_many

from .listening import ROOT

SPEECH_DBFS = -22.0
ROOM_DBFS = -62.0
PAUSE = frozenset({"pause"})


@dataclass(frozen=True)
class Fire:
    """A pause fired on Haven's own voice."""

    condition: str
    prompt: str
    heard: str
    via: str
    dropped: bool
    """The live loop's echo test drops it (Haven's own words)."""


def glitched(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` with 10-80 ms of silence every 0.4-1.5 s (buffers lost on the way)."""
    out = x.copy()
    at = int(rng.uniform(0.2, 1.0) * RATE)
    while at < len(out):
        gap = int(rng.uniform(0.010, 0.080) * RATE)
        out[at : at + gap] = 0.0
        at += gap + int(rng.uniform(0.4, 1.5) * RATE)
    return out


def stream(clips: Sequence[np.ndarray], leak_db: float, dropouts: bool,
           rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, float]]]:  # fmt: skip
    """The prompts back to back over room tone; (int16 audio, each prompt's span in s)."""
    parts, spans, t = [augment.set_level(rng.normal(0, 1, RATE), ROOM_DBFS)], [], 1.0
    for clip in clips:
        voice = augment.set_level(clip.astype(np.float64), SPEECH_DBFS + leak_db)
        if dropouts:
            voice = glitched(voice, rng)
        gap = augment.set_level(rng.normal(0, 1, int(rng.uniform(0.3, 1.0) * RATE)), ROOM_DBFS)
        room = augment.set_level(rng.normal(0, 1, len(voice)), ROOM_DBFS)
        parts += [voice + room, gap]
        spans.append((t, t + len(voice) / RATE))
        t += (len(voice) + len(gap)) / RATE
    parts.append(augment.set_level(rng.normal(0, 1, 2 * RATE), ROOM_DBFS))
    return augment.to_int16(np.concatenate(parts), rng), spans


def playing(spans: Sequence[tuple[float, float]], at: float) -> int:
    """The prompt whose voice was last heard at stream time ``at``."""
    started = [i for i, (a, _) in enumerate(spans) if a <= at]
    return started[-1] if started else 0


def run(levels: Sequence[float], limit: int, seed: int) -> tuple[list[Fire], int, float]:
    """(the pauses fired, prompts played per condition, seconds of Haven's voice fed)."""
    from assistant.live import (
        LISTENING_ADAPTED,
        LISTENING_TUNING,
        create_addressed,
        create_hearing,
        create_recognizer,
    )  # fmt: skip

    library = Library.load(ROOT / "intents")
    settings = Settings()
    texts = prompt_sentences(ROOT / "intents" / "en" / "prompts")[: limit or None]
    voice = haven_voice(settings.rate, settings.voice)
    clips = render_many([(t, voice) for t in texts], ClipCache(user_cache_path("haven") / "listen"))
    fires: list[Fire] = []
    fed = 0.0
    with create_recognizer(library, settings, LISTENING_ADAPTED, LISTENING_TUNING) as rec, \
            create_addressed(library, settings, LISTENING_ADAPTED, LISTENING_TUNING) as named:
        hearing = create_hearing(library, settings, rec, addressed=named)
        for leak in levels:
            for dropouts in (False, True):
                condition = f"{leak:g} dB{', dropouts' if dropouts else ''}"
                rng = np.random.default_rng([seed, int(-leak), int(dropouts)])
                audio, spans = stream(clips, leak, dropouts, rng)
                fed += len(audio) / RATE
                hearing.reset()
                for chunk in chunks_from_array(audio):
                    for heard in hearing.feed(chunk, PAUSE):
                        if heard.match is None:
                            continue
                        prompt = texts[playing(spans, heard.at)]
                        dropped = heard.via == ALONE and haven_said(heard.text, prompt)
                        fires.append(Fire(condition, prompt, heard.text, heard.via, dropped))
                        print(f"  {condition}: {heard.text!r} via {heard.via}"
                              f"{' (dropped)' if dropped else ''} in {prompt!r}")
                print(f"{condition}: {sum(f.condition == condition for f in fires)} fired")
    return fires, len(texts), fed


def render(fires: Sequence[Fire], prompts: int, levels: Sequence[float], day: str) -> str:
    """The markdown table and the list of what fired."""
    lines = [f"Measured {day} with `python -m bench.self_echo` ({prompts} prompts per row).",
             "", "| Haven's voice at the microphone | pauses, detector route | detector-free "
             "route | left after the echo test |", "|---|---|---|---|"]  # fmt: skip
    for leak in levels:
        for dropouts in (False, True):
            condition = f"{leak:g} dB{', dropouts' if dropouts else ''}"
            mine = [f for f in fires if f.condition == condition]
            armed = sum(f.via != ALONE for f in mine)
            alone = sum(f.via == ALONE for f in mine)
            left = sum(not f.dropped for f in mine)
            lines.append(f"| {condition} below speech | {armed} | {alone} | {left} |")
    lines.append("")
    for f in fires:
        fate = "dropped" if f.dropped else "**fired**"
        lines.append(f'- {f.condition}, via {f.via}, {fate}: heard "{f.heard}" in "{f.prompt}"')
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Haven's own voice heard back")
    parser.add_argument("--levels", default="-20,-12", help="dB below the speech level")
    parser.add_argument("--limit", type=int, default=0, help="first N prompts only")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default="", help="JSON file of what fired")
    args = parser.parse_args(argv)
    levels = [float(x) for x in args.levels.split(",")]
    began = time.monotonic()
    fires, prompts, fed = run(levels, args.limit, args.seed)
    print(render(fires, prompts, levels, datetime.date.today().isoformat()))
    wall = time.monotonic() - began
    print(f"\n{fed / 3600:.2f} h of Haven's voice in {wall:.0f} s")
    if args.out:
        doc = {"prompts": prompts, "levels": levels, "fed_s": fed, "wall_s": wall,
               "fires": [f.__dict__ for f in fires]}  # fmt: skip
        Path(args.out).write_text(json.dumps(doc, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
