"""Benchmark of the learned detectors on speech and voices training never heard.

Run: ``python -m bench.listening [--models models] [--hours 3]``.

- Wake phrase detection rate: "Haven, <command>" with commands kept out of training,
  spoken whole by festival voices (never used in training), clean, in white-ish noise
  (white, pink, brown) and in babble at 20, 10 and 5 dB SNR.
- Always-armed pause recall: the fixed pause phrasings, with lead-ins never trained,
  same voices and conditions.
- False fires per hour: ordinary talk streamed through every detector (all replies live):
  held-out fortunes sentences, the seed articles (kept out of all training) and, when
  present, ``bench/data/ordinary.txt``, spoken by the festival voices.
- CPU while idle listening: features for quiet room noise, per second of audio.

Utterance boundaries come from the synthesis (an oracle VAD), jittered by up to 0.1 s.
Prints a table and writes the "## Listening (learned detectors)" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
from platformdirs import user_cache_path

from assistant.audio import chunks_from_array
from assistant.listen import augment
from assistant.listen.corpus import PAUSE_LEADS_TEST, PAUSE_PHRASES, build_phrases
from assistant.listen.detector import Detectors
from assistant.listen.negatives import article_sentences, fortune_sentences
from assistant.listen.scenes import trim
from assistant.listen.synth import ClipCache, festival_voices, render_many

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
SECTION = "## Listening (learned detectors)"
RATE = 16000
CONDITIONS = [("clean", "", 0.0)] + [
    (f"{kind} {snr} dB", kind, float(snr)) for kind in ("noise", "babble") for snr in (20, 10, 5)
]


def _scene(clip: np.ndarray, kind: str, snr: float, babble_src: list[np.ndarray],
           rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    speech = augment.set_level(trim(clip), float(rng.uniform(-28, -16)))
    lead, tail = int(RATE * rng.uniform(2.0, 2.6)), int(RATE * 0.8)
    audio = np.zeros(lead + len(speech) + tail)
    audio[lead : lead + len(speech)] = speech
    level = augment.rms(speech)
    audio += augment.coloured_noise("pink", len(audio), rng) * level * 10 ** (-55 / 20)
    if kind == "noise":
        colour = augment.NOISE_KINDS[int(rng.integers(3))]
        audio += augment.mix_at_snr(np.zeros(len(audio)),
                                    augment.coloured_noise(colour, len(audio), rng), snr, level)
    elif kind == "babble":
        audio += augment.mix_at_snr(np.zeros(len(audio)),
                                    augment.babble(babble_src, len(audio), rng), snr, level)
    return augment.to_int16(audio, rng), lead / RATE, (lead + len(speech)) / RATE


def _run(det: Detectors, audio: np.ndarray, start: float, end: float,
         rng: np.random.Generator) -> dict[str, float]:
    """Each head's score for its own target (wake, pause) on one utterance."""
    det.reset()
    for chunk in chunks_from_array(audio):
        det.feed(chunk)
    jitter = rng.uniform(-0.1, 0.1, 2)
    scores = det.scores(end + jitter[1], start + jitter[0])
    return {name: score for name, (_, score, _) in scores.items()}


Scores = dict[str, dict[str, list[float]]]


def recall_scores(det: Detectors, cache: ClipCache, seed: int) -> Scores:
    """Per condition, the wake head's scores on wake utterances and the pause head's on
    pause utterances (a detection is a score at or above the head's threshold)."""
    phrases = build_phrases(ROOT / "intents" / "en", "Haven")
    rng = np.random.default_rng(seed)
    voices = festival_voices()
    wake_texts = [f"{lead}Haven, {cmd}" for lead in ("", "hey ", "okay ")
                  for cmd in phrases.commands_test]
    pause_texts = [f"{lead} {p}".strip() for lead in PAUSE_LEADS_TEST for p in PAUSE_PHRASES
                   if not (lead and p == "pause")]
    wake_jobs = [(wake_texts[int(rng.integers(len(wake_texts)))], v) for v in voices
                 for _ in range(12)]
    pause_jobs = [(t, v) for v in voices for t in pause_texts]
    babble_jobs = [(t, voices[i % len(voices)])
                   for i, t in enumerate(fortune_sentences("test")[:45])]
    clips = render_many(wake_jobs + pause_jobs + babble_jobs, cache)
    wake_clips = clips[: len(wake_jobs)]
    pause_clips = clips[len(wake_jobs) : len(wake_jobs) + len(pause_jobs)]
    babble_src = [trim(c) for c in clips[len(wake_jobs) + len(pause_jobs) :]]
    table: Scores = {}
    for name, kind, snr in CONDITIONS:
        row: dict[str, list[float]] = {"wake": [], "pause": []}
        for head, group in (("wake", wake_clips), ("pause", pause_clips)):
            for clip in group:
                audio, start, end = _scene(clip, kind, snr, babble_src, rng)
                row[head].append(_run(det, audio, start, end, rng)[head])
        table[name] = row
    return table


def false_fire_scores(
    det: Detectors, cache: ClipCache, hours: float, seed: int
) -> tuple[float, dict[str, list[float]]]:
    """Hours streamed, and each head's best score on every ordinary utterance (replies:
    any reply label counts)."""
    rng = np.random.default_rng(seed + 1)
    texts = fortune_sentences("test")
    extra = article_sentences(SEEDS) if SEEDS.is_dir() else []
    ordinary = ROOT / "bench" / "data" / "ordinary.txt"
    if ordinary.exists():
        extra += [line.strip() for line in ordinary.read_text().splitlines()
                  if line.strip() and not line.startswith("#")]
    voices = festival_voices()
    order = list(extra) + [texts[int(i)] for i in rng.permutation(len(texts))]
    need = hours * 3600
    jobs, spoken = [], 0.0
    for i, text in enumerate(order):
        jobs.append((text, voices[i % len(voices)]))
        spoken += 0.42 * len(text.split()) + 0.9
        if spoken > need * 1.1:
            break
    clips = render_many(jobs, cache)
    det.reset()
    t = 0.0
    scores: dict[str, list[float]] = {h.name: [] for h in det.heads}
    stream_seconds = 0.0
    for clip in clips:
        speech = augment.set_level(trim(clip), float(rng.uniform(-30, -14)))
        gap = int(RATE * rng.uniform(0.5, 1.5))
        audio = np.zeros(gap + len(speech) + int(0.5 * RATE))
        audio[gap : gap + len(speech)] = speech
        audio += augment.coloured_noise("pink", len(audio), rng) * 32767 * 10 ** (-62 / 20)
        samples = augment.to_int16(audio, rng)
        for chunk in chunks_from_array(samples):
            det.feed(type(chunk)(chunk.rate, chunk.width, chunk.channels, chunk.audio,
                                 t + chunk.timestamp))
        start, end = t + gap / RATE, t + (gap + len(speech)) / RATE
        jitter = rng.uniform(-0.1, 0.1, 2)
        for name, (_, score, _) in det.scores(end + jitter[1], start + jitter[0]).items():
            scores[name].append(score)
        t += len(samples) / RATE
        stream_seconds += len(samples) / RATE
        if stream_seconds >= need:
            break
    return stream_seconds / 3600, scores


def idle_cpu(det: Detectors, seconds: float = 120.0) -> float:
    """Share of one core the features take on a quiet room (process CPU / audio time)."""
    rng = np.random.default_rng(5)
    audio = augment.to_int16(augment.coloured_noise("pink", int(RATE * seconds), rng) * 30, rng)
    det.reset()
    began = time.process_time()
    for chunk in chunks_from_array(audio):
        det.feed(chunk)
    return (time.process_time() - began) / seconds


def _rate(values: list[float], threshold: float) -> float:
    return float(np.mean(np.asarray(values) >= threshold)) if values else 0.0


def _fires(values: list[float], threshold: float, hours: float) -> float:
    return float(np.sum(np.asarray(values) >= threshold)) / hours


def render_markdown(recall: Scores, hours: float, fa: dict[str, list[float]], cpu: float,
                    thresholds: dict[str, float], models: Path) -> str:
    """The BENCHMARKS.md section: results at the trained thresholds, then a sweep."""
    n_wake, n_pause = len(recall["clean"]["wake"]), len(recall["clean"]["pause"])
    tw, tp, tr = thresholds["wake"], thresholds["pause"], thresholds["reply"]
    lines = [
        SECTION,
        "",
        f"Measured {date.today().isoformat()} with `python -m bench.listening` on the detectors "
        f"in `{models.name}/detectors/`; festival voices (kal, ked, slt HTS at three speeds), "
        "which training never uses; wake commands and pause lead-ins never trained; oracle "
        "utterance boundaries jittered by 0.1 s. Targets: wake >= 95% clean and >= 90% at 10 dB, "
        "pause >= 95% clean and >= 90% at 10 dB, <= 0.5 false fires per hour, "
        "idle <= 15% of a core.",
        "",
        f"At the trained thresholds (wake {tw:.3f}, pause {tp:.3f}, reply {tr:.3f}):",
        "",
        f"| condition | wake phrase detected (n={n_wake}) | pause recall (n={n_pause}) |",
        "|---|---|---|",
    ]
    for name, _, _ in CONDITIONS:
        row = recall[name]
        lines.append(f"| {name} | {_rate(row['wake'], tw):.0%} | {_rate(row['pause'], tp):.0%} |")
    lines += [
        "",
        f"False fires per hour over {hours:.1f} h of ordinary talk ({len(fa['wake'])} "
        f"utterances; every reply live): wake {_fires(fa['wake'], tw, hours):.2f}, "
        f"pause {_fires(fa['pause'], tp, hours):.2f}, "
        f"replies {_fires(fa['reply'], tr, hours):.2f}.",
        "",
        "Threshold sweep (for reading the trade-off; the shipped thresholds were picked on "
        "validation voices, not here): recall clean / noise 10 dB / babble 10 dB, false fires "
        "per hour.",
        "",
        "| threshold | wake recall | wake fires/h | pause recall | pause fires/h | reply fires/h |",
        "|---|---|---|---|---|---|",
    ]
    for t in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        wake = " / ".join(f"{_rate(recall[c]['wake'], t):.0%}"
                          for c in ("clean", "noise 10 dB", "babble 10 dB"))
        pause = " / ".join(f"{_rate(recall[c]['pause'], t):.0%}"
                           for c in ("clean", "noise 10 dB", "babble 10 dB"))
        lines.append(f"| {t} | {wake} | {_fires(fa['wake'], t, hours):.2f} | {pause} | "
                     f"{_fires(fa['pause'], t, hours):.2f} | {_fires(fa['reply'], t, hours):.2f} |")
    lines += ["", f"Idle listening: {cpu:.1%} of one core (features every 80 ms).", ""]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace or append this benchmark's section; other sections are left as they are."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                    len(lines))
        new = "".join(lines[:start]) + text + ("\n" if stop < len(lines) else "") + "".join(
            lines[stop:])
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--models", default=str(ROOT / "models"))
    parser.add_argument("--hours", type=float, default=3.0, help="ordinary talk streamed")
    parser.add_argument("--cache", default=str(user_cache_path("haven") / "listen"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    models = Path(args.models)
    cache = ClipCache(Path(args.cache))
    det = Detectors.from_dir(models)
    cpu = idle_cpu(det)
    recall = recall_scores(det, cache, args.seed)
    hours, fa = false_fire_scores(det, cache, args.hours, args.seed)
    thresholds = {h.name: h.threshold for h in det.heads}
    text = render_markdown(recall, hours, fa, cpu, thresholds, models)
    print(text)
    if not args.no_write:
        write_section(ROOT / "BENCHMARKS.md", text)


if __name__ == "__main__":
    main()
