"""The double-talk test: is there a voice in the microphone besides Haven's own?

    python -m bench.doubletalk [--levels=-20,-12,-6,0] [--limit N] [--seed S] [--decode]

Every prompt of the YAML is rendered in Haven's voice (``synth.haven_voice``) and "played";
the microphone hears it through a room (a synthetic reverberation of 0.2-0.6 s, a delay of
30-350 ms from the device and the room) that many dB below the partners' speech level
(-22 dBFS), over room tone. Each prompt is heard twice: alone, and with a partner saying an
always-armed pause phrasing over it (festival voices, which no detector or setting was
made with; the partner's level varies by 3 dB either way). The live endpointer cuts the
microphone's stream into utterances, and for each, ``listen.doubletalk.foreign_seconds``
compares it with what was played, as the live listener does while Haven speaks. No
decoding: this measures only the test that opens the detector-free pause over Haven's
voice (``ListenTuning.doubletalk_s``), not what the grammar then hears.

``--decode``: the same microphone streams through the whole listening instead (the
``Listener`` with the shipped detectors and grammar, only the pause live, told what Haven
played): the pauses Haven's voice alone fires (after the live loop's test for Haven's own
words) and the partners' pauses heard over Haven, per route, with the shipped tuning and
with the short phrasings needing their detector over Haven (``doubletalk_short`` off).
"""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
from platformdirs import user_cache_path

from assistant.app import ALONE, Heard
from assistant.audio import RATE, chunks_from_array
from assistant.listen import augment
from assistant.listen.corpus import PAUSE_PHRASES, prompt_sentences
from assistant.listen.doubletalk import (
    DoubleTalkConfig,
    foreign_seconds,
    played_span,
    window_of,
)
from assistant.listen.listener import Listener
from assistant.listen.phrasing import haven_said
from assistant.listen.synth import ClipCache, festival_voices, haven_voice, render_many
from assistant.listen.tuning import ListenTuning
from assistant.vad import Endpointer, Utterance

from .listening import ROOT

SPEECH_DBFS = -22.0
ROOM_DBFS = -62.0
LEADS = ("", "wait, ", "sorry, ", "hold on, ")


@dataclass(frozen=True)
class Cut:
    """One utterance the endpointer cut from the microphone while Haven spoke."""

    level: float
    """Haven's voice at the microphone, dB against the partners' speech level."""
    partner: bool
    """A partner's pause phrasing is in it."""
    foreign: float
    """Seconds of it the test finds are not Haven's voice."""
    seconds: float
    """Its speech, seconds."""


def utterances(audio: np.ndarray) -> tuple[list[Utterance], float | None]:
    """The live endpointer's cuts of ``audio``, and its noise floor at the end."""
    endpointer = Endpointer()
    cuts = [u for chunk in chunks_from_array(audio) for u in endpointer.feed(chunk)]
    last = endpointer.flush()
    return [*cuts, *([last] if last is not None else [])], endpointer.noise_floor_db


def late(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` as a busy machine plays it: 10-40 ms of silence slipped in every 0.5-2 s
    (output underruns), so it runs later and later behind what Haven thinks it played."""
    parts, at = [], 0
    while at < len(x):
        step = int(rng.uniform(0.5, 2.0) * RATE)
        parts += [x[at : at + step], np.zeros(int(rng.uniform(0.010, 0.040) * RATE))]
        at += step
    return np.concatenate(parts)[: len(x) + RATE // 2]


def heard(
    prompt: np.ndarray, pause: np.ndarray | None, level: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """(what was played, what the microphone heard, the pause's span in s) for one
    prompt, a second of quiet before it and two after."""
    played = np.concatenate([np.zeros(RATE), prompt.astype(np.float64), np.zeros(2 * RATE)])
    delay = int(rng.uniform(-0.15, 0.5) * RATE)
    room = augment.reverb(augment.set_level(late(prompt.astype(np.float64), rng),
                                            SPEECH_DBFS + level),
                          rng, float(rng.uniform(0.2, 0.6)))  # fmt: skip
    mic = augment.set_level(rng.normal(0, 1, len(played)), ROOM_DBFS)
    at = RATE + delay
    mic[at : at + len(room)] += room[: len(mic) - at]
    span = (0.0, 0.0)
    if pause is not None:
        voice = augment.set_level(pause.astype(np.float64), SPEECH_DBFS + rng.uniform(-3, 3))
        begin = RATE + int(rng.uniform(0, max(1, len(prompt) - len(voice) // 2)))
        end = min(len(mic), begin + len(voice))
        mic[begin:end] += voice[: end - begin]
        span = (begin / RATE, end / RATE)
    return augment.to_int16(played, rng), augment.to_int16(mic, rng), span


def run(levels: Sequence[float], limit: int, seed: int,
        config: DoubleTalkConfig | None = None) -> tuple[list[Cut], int]:  # fmt: skip
    """Every prompt at every level, alone and with a partner's pause over it; (the
    utterances, the number of prompts)."""
    texts, prompts, pauses = material(limit)
    cuts: list[Cut] = []
    for level in levels:
        for k, prompt in enumerate(prompts):
            for partner in (False, True):
                rng = np.random.default_rng([seed, int(-level), k, int(partner)])
                played, mic, span = heard(prompt, pauses[k] if partner else None, level, rng)
                found, floor = utterances(mic)
                for u in found:
                    ref = window_of(played, *played_span(u.start, u.seconds))
                    ours = partner and u.speech_start < span[1] and u.speech_end > span[0]
                    cuts.append(Cut(level, ours, foreign_seconds(u.samples, ref, floor, config),
                                    u.speech_end - u.speech_start))  # fmt: skip
        print(f"{level:g} dB: {sum(c.level == level for c in cuts)} utterances", flush=True)
    return cuts, len(texts)


@dataclass(frozen=True)
class Fired:
    """A pause the whole listening took while Haven spoke."""

    level: float
    tuning: str
    partner: bool
    """A partner's pause phrasing was said over this prompt."""
    ours: bool
    """It came after the partner began (else: from Haven's voice alone)."""
    late: float
    """Its end of speech after the end of the partner's phrase, s (the phrase merged into
    Haven's ongoing voice is decided when that utterance closes)."""
    via: str
    heard: str
    prompt: str


def material(limit: int) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """(the prompts' texts, Haven's renderings of them, a partner's pause for each)."""
    cache = ClipCache(user_cache_path("haven") / "listen")
    texts = prompt_sentences(ROOT / "intents" / "en" / "prompts")[: limit or None]
    prompts = render_many([(t, haven_voice()) for t in texts], cache)
    voices = festival_voices()
    phrases = [lead + p for lead in LEADS for p in PAUSE_PHRASES]
    jobs = [(phrases[i % len(phrases)], voices[i % len(voices)]) for i in range(len(texts))]
    return texts, prompts, render_many(jobs, cache)


TUNINGS = {
    "shipped": ListenTuning(),
    "no checks before the close": ListenTuning(spot_every_s=0.0),
    "checks on the grammar's acceptance": ListenTuning(spot_both=False),
    "doubletalk_short off": ListenTuning(doubletalk_short=False),
}


def listen(listener: Listener, clock: list[float], mic: np.ndarray) -> list[Heard]:
    """What ``listener`` takes from ``mic`` with only the pause live; ``clock`` (the
    listener's ``monotonic``) follows the stream, so the playback shares its timeline."""
    out = []
    for chunk in chunks_from_array(mic):
        clock[0] += chunk.seconds
        out += [h for h in listener.feed(chunk, frozenset({"pause"})) if h.match is not None]
    return out


def decode_run(levels: Sequence[float], limit: int, seed: int) -> tuple[list[Fired], int]:
    """Every prompt at every level, alone and with a partner's pause over it, through the
    Listener (one per tuning, sharing the decodes); (the pauses taken, the prompts)."""
    from assistant.config import Settings
    from assistant.library import Library, default_models_dir
    from assistant.listen.detector import Detectors
    from assistant.live import create_recognizer

    from .listening_record import CachedRecognizer

    library = Library.load(ROOT / "intents")
    texts, prompts, pauses = material(limit)
    fires: list[Fired] = []
    with create_recognizer(library, Settings()) as inner:
        rec = CachedRecognizer(inner)

        clock, now = [0.0], [np.zeros(0, np.int16)]  # the stream's time; what Haven played
        listeners = {name: Listener(rec, library.intents, library.safety,
                                    Detectors.from_dir(default_models_dir()), "Haven", tuning,
                                    monotonic=lambda: clock[0],
                                    playback=lambda a, b: window_of(now[0], a, b))
                     for name, tuning in TUNINGS.items()}  # fmt: skip
        for level, k, partner in product(levels, range(len(prompts)), (False, True)):
            rng = np.random.default_rng([seed, int(-level), k, int(partner)])
            played, mic, span = heard(prompt=prompts[k], level=level, rng=rng,
                                      pause=pauses[k] if partner else None)  # fmt: skip
            now[0] = played
            for name, listener in listeners.items():
                listener.reset()
                clock[0] = 0.0
                for h in listen(listener, clock, mic):
                    if h.via == ALONE and haven_said(h.text, texts[k]):
                        continue  # the live loop drops Haven's own words
                    ours = partner and h.end_of_speech >= span[0]
                    fires.append(Fired(level, name, partner, ours, h.end_of_speech - span[1],
                                       h.via, h.text, texts[k]))  # fmt: skip
            if k == len(prompts) - 1 and partner:
                print(f"{level:g} dB: {sum(f.level == level for f in fires)} pauses", flush=True)
    return fires, len(texts)


def render_decoded(fires: Sequence[Fired], prompts: int, levels: Sequence[float],
                   day: str) -> str:  # fmt: skip
    """The markdown table of ``decode_run``."""
    lines = [
        f"Measured {day} with `python -m bench.doubletalk --decode` ({prompts} prompts, each "
        "alone and with a festival partner's pause over it, through the Listener with only "
        "the pause live and Haven's playback known).", "",
        "| Haven's voice at the microphone | tuning | Haven alone: pauses fired | partners' "
        "pauses heard (detector / detector-free) | of those, within 1 s of the phrase's end |",
        "|---|---|---|---|---|"]  # fmt: skip
    for level in levels:
        for name in TUNINGS:
            mine = [f for f in fires if f.level == level and f.tuning == name]
            alone = [f for f in mine if not f.ours]
            first = {f.prompt: f for f in reversed([f for f in mine if f.ours])}
            armed = sum(f.via != ALONE for f in first.values())
            soon = sum(f.late <= 1.0 for f in first.values())
            lines.append(f"| {level:g} dB | {name} | {len(alone)} | {len(first)} of {prompts} "
                         f"({armed} / {len(first) - armed}) | {soon} |")  # fmt: skip
    lines.append("")
    lines += [f'- {f.level:g} dB, {f.tuning}: "{f.heard}" via {f.via} in "{f.prompt}"'
              for f in fires if not f.ours]  # fmt: skip
    return "\n".join(lines)


def render(cuts: Sequence[Cut], prompts: int, day: str) -> str:
    """The markdown table."""
    gate = ListenTuning().doubletalk_s
    short = ListenTuning().alone_s
    lines = [
        f"Measured {day} with `python -m bench.doubletalk` ({prompts} prompts, each alone and "
        f"with a festival partner's pause over it; the test opens at {gate} s not Haven's).",
        "",
        "| Haven's voice at the microphone | Haven alone: utterances / opened / most "
        "foreign (s) | with a partner's pause: utterances / opened / up to "
        f"{short:g} s of speech and opened |",
        "|---|---|---|",
    ]
    for level in sorted({c.level for c in cuts}):
        alone = [c for c in cuts if c.level == level and not c.partner]
        over = [c for c in cuts if c.level == level and c.partner]
        most = max((c.foreign for c in alone), default=0.0)
        lines.append(
            f"| {level:g} dB | {len(alone)} / {sum(c.foreign >= gate for c in alone)} / "
            f"{most:.2f} | {len(over)} / {sum(c.foreign >= gate for c in over)} / "
            f"{sum(c.foreign >= gate and c.seconds <= short for c in over)} of "
            f"{sum(c.seconds <= short for c in over)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The double-talk test over Haven's voice")
    parser.add_argument("--levels", default="-20,-12,-6,0")
    parser.add_argument("--limit", type=int, default=0, help="prompts (0: all)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--decode",
        action="store_true",
        help="through the whole listening (pocketsphinx), not the test alone",
    )
    args = parser.parse_args(argv)
    levels = [float(x) for x in args.levels.split(",")]
    day = datetime.date.today().isoformat()
    if args.decode:
        fires, n = decode_run(levels, args.limit, args.seed)
        print(render_decoded(fires, n, levels, day))
        return
    cuts, prompts = run(levels, args.limit, args.seed)
    print(render(cuts, prompts, day))


if __name__ == "__main__":
    main()
