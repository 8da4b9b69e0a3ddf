"""The listening benchmark's material (``bench.listening_e2e`` runs it).

- What is said: "Haven, <command>" with the commands training never heard
  (``phrases.commands_test``), the always-armed pause phrasings with lead-ins never trained
  (``PAUSE_LEADS_TEST``), step replies past the ones the reply detector trained on, and hours
  of ordinary talk (the seed articles, ``bench/data/ordinary.txt``, held-out fortunes).
- How it is heard: continuous streams (``segments``): items 1.5-2.5 s apart over room tone,
  clean, in white/pink/brown noise and in babble at 20, 10 and 5 dB SNR.

The report on what was heard is ``bench.listening_report``.

The detector-only benchmark that was here (oracle utterance boundaries) is superseded: the
end-to-end records keep every detector score of every utterance the endpointer cut.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from assistant.intents import IntentMatch
from assistant.library import Library
from assistant.listen import augment
from assistant.listen.corpus import (
    PAUSE_LEADS_TEST,
    PAUSE_PHRASES,
    build_phrases,
    reply_sentences,
)  # fmt: skip
from assistant.listen.negatives import article_sentences, fortune_sentences
from assistant.listen.scenes import trim
from assistant.listen.synth import Voice

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
RATE = 16000
_SMALL = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred")
CONDITIONS = [("clean", "", 0.0)] + [
    (f"{kind} {snr} dB", kind, float(snr)) for kind in ("noise", "babble") for snr in (20, 10, 5)
]


def wake_texts() -> list[str]:
    """ "Haven, <command>" with every wake lead and the commands training never heard."""
    phrases = build_phrases(ROOT / "intents" / "en", "Haven")
    return [f"{lead}Haven, {cmd}" for lead in ("", "hey ", "okay ")
            for cmd in phrases.commands_test]  # fmt: skip


def pause_texts() -> list[str]:
    """The always-armed pause phrasings with the lead-ins training never heard."""
    return [f"{lead} {p}".strip() for lead in PAUSE_LEADS_TEST for p in PAUSE_PHRASES
            if not (lead and p == "pause")]  # fmt: skip


def wake_jobs_for(voices: Sequence[Voice], per_voice: int, rng: np.random.Generator,
                  texts: Sequence[str] = ()) -> list[tuple[str, Voice]]:  # fmt: skip
    """``per_voice`` random wake-plus-command texts (``texts``, or all) for each voice."""
    texts = list(texts) or wake_texts()
    return [(texts[int(rng.integers(len(texts)))], v) for v in voices for _ in range(per_voice)]


def babble_jobs_for(voices: Sequence[Voice], count: int = 45) -> list[tuple[str, Voice]]:
    """Held-out fortunes sentences that make the babble."""
    return [(t, voices[i % len(voices)]) for i, t in enumerate(fortune_sentences("test")[:count])]


def talk_jobs(hours: float, rng: np.random.Generator,
              voices: Sequence[Voice]) -> list[tuple[str, Voice]]:
    """Ordinary talk, a little more than ``hours`` of it: the seed articles (kept out of all
    training), ``bench/data/ordinary.txt`` and held-out fortunes in a seeded order."""
    texts = fortune_sentences("test")
    extra = article_sentences(SEEDS) if SEEDS.is_dir() else []
    ordinary = ROOT / "bench" / "data" / "ordinary.txt"
    if ordinary.exists():
        extra += [line.strip() for line in ordinary.read_text().splitlines()
                  if line.strip() and not line.startswith("#")]  # fmt: skip
    order = list(extra) + [texts[int(i)] for i in rng.permutation(len(texts))]
    jobs: list[tuple[str, Voice]] = []
    spoken = 0.0
    for i, text in enumerate(order):
        jobs.append((text, voices[i % len(voices)]))
        spoken += 0.42 * len(text.split()) + 0.9
        if spoken > hours * 3600 * 1.1:
            break
    return jobs


def noise_bed(kind: str, snr: float, n: int, level: float, babble_src: list[np.ndarray],
              rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of the condition's noise (none, white/pink/brown picked at random, or
    babble) at ``snr`` dB below a speech level of ``level`` (int16 units)."""
    if kind == "noise":
        colour = augment.NOISE_KINDS[int(rng.integers(3))]
        return augment.coloured_noise(colour, n, rng) * level * 10 ** (-snr / 20)
    if kind == "babble":
        return augment.babble(babble_src, n, rng) * level * 10 ** (-snr / 20)
    return np.zeros(n)


# ---- streams ---------------------------------------------------------------------------


def segments(clips: Sequence[np.ndarray], condition: str, babble_src: list[np.ndarray],
             rng: np.random.Generator, gaps: tuple[float, float] = (1.5, 2.5),
             levels: tuple[float, float] = (-24.0, -20.0),
             ) -> Iterator[tuple[np.ndarray, float, float]]:  # fmt: skip
    """Each clip with the quiet before it, in the condition's noise: (int16 audio, speech
    start and end within it). Noise is set against a nominal speech level of -22 dBFS
    (speech levels vary by +-2 dB, so does each item's SNR), above 50 Hz (``audible``);
    room tone at -62 dBFS."""
    kind, snr = next((k, s) for name, k, s in CONDITIONS if name == condition)
    nominal = 32767 * 10 ** (-22 / 20)
    for i, clip in enumerate([*clips, None]):
        speech = np.zeros(int(2.0 * RATE)) if clip is None else augment.set_level(
            trim(clip), float(rng.uniform(*levels)))  # fmt: skip
        gap = int(RATE * (2.5 if i == 0 else rng.uniform(*gaps)))
        audio = np.zeros(gap + len(speech))
        audio[gap:] = speech
        audio += augment.coloured_noise("pink", len(audio), rng) * 32767 * 10 ** (-62 / 20)
        audio += audible(noise_bed(kind, snr, len(audio), nominal, babble_src, rng))
        yield augment.to_int16(audio, rng), gap / RATE, len(audio) / RATE


def audible(noise: np.ndarray, cutoff: float = 50.0) -> np.ndarray:
    """``noise`` without what is below ``cutoff`` Hz, at the same RMS: as a loudspeaker plays
    it and a microphone picks it up. Brown and pink noise otherwise carry most of their power
    in a sub-audible wander that the energy endpointer takes for speech."""
    if not noise.any():
        return noise
    spectrum = np.fft.rfft(noise)
    spectrum[np.fft.rfftfreq(len(noise), 1.0 / RATE) < cutoff] = 0
    out = np.fft.irfft(spectrum, len(noise))
    before, after = float(np.sqrt(np.mean(noise**2))), float(np.sqrt(np.mean(out**2)))
    return np.asarray(out * (before / (after or 1.0)))


def verdict(match: IntentMatch | None) -> str:
    """An intent and its slots as one comparable string ("" for none)."""
    if match is None:
        return ""
    slots = ",".join(f"{k}={v}" for k, v in sorted(match.slots.items()))
    return f"{match.intent}({slots})" if slots else match.intent


def reply_texts(library: Library, expected: frozenset[str], rng: np.random.Generator,
                count: int) -> list[tuple[str, str]]:  # fmt: skip
    """(intent, sentence) replies the reply detector never trained on (after its first 24)."""
    pool = reply_sentences(library.intents, per_intent=400)
    out = []
    for intent in sorted(expected):
        texts = [t for t in pool[intent][24:] if not any(w in t for w in _SMALL)]
        picks = rng.choice(len(texts), size=min(count, len(texts)), replace=False)
        out += [(intent, texts[int(p)]) for p in picks]
    return out


def expect_of(library: Library, text: str, allowed: frozenset[str]) -> str:
    """The verdict a right decision gives for ``text`` (the wake phrase removed)."""
    command = text.split(",", 1)[1] if "," in text and "Haven" in text.split(",", 1)[0] else text
    return verdict(library.intents.match(command, allowed))


def voice_name(v: Voice) -> str:
    extra = f" x{v.speed:g}" if v.speed != 1 else f" t{v.tempo:g}" if v.tempo != 1 else ""
    return f"{v.engine} {v.name}{extra}"
