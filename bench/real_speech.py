"""Real human recordings, with and without Haven's adaptation of the speech model.

Every other benchmark speaks with synthetic voices, and ``haven adapt`` fits the model on
synthetic voices too, so this one checks the adapted model on people: the recordings that
Debian's ``pocketsphinx-testdata`` ships with their transcripts (cards: five short
utterances by one speaker; librivox: five sentences read from *Sense and Sensibility*;
"go forward ten meters"). Each is decoded with the wheel's general English language model
(open vocabulary, so the word error rate measures the acoustic model), after the
recognizer's own noise filter and floor, clean and with white, pink or brown noise at
20 and 10 dB. Eleven utterances are a small sample: read it as a check that the
adaptation does not hurt real voices, not as an accuracy figure.

    python -m bench.real_speech
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.audio import read_wav
from assistant.library import Library, default_intents_dir
from assistant.listen import augment
from assistant.stt.sphinx import PocketsphinxRecognizer, SphinxModel, open_decoder

DATA = Path("/usr/share/pocketsphinx/test/data")
SNRS: tuple[float | None, ...] = (None, 20.0, 10.0)


def recordings(root: Path = DATA) -> list[tuple[Path, list[str]]]:
    """(audio file, reference words) for every transcribed recording found."""
    found: list[tuple[Path, list[str]]] = []
    for folder, listing in (("cards", "cards.transcription"), ("librivox", "transcription")):
        path = root / folder / listing
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) > 3:
                found.append((root / folder / f"{words[-1][1:-1]}.wav", words[1:-2]))
    if (root / "goforward.raw").exists():
        found.append((root / "goforward.raw", ["go", "forward", "ten", "meters"]))
    return found


def edits(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (r != h))
    return row[-1]


def word_errors(model: SphinxModel, items: list[tuple[Path, list[str]]], snr: float | None) -> int:
    """Word errors over ``items`` at ``snr`` (None: as recorded)."""
    library = Library.load(default_intents_dir())
    errors = 0
    with PocketsphinxRecognizer(library.intents, model=model) as rec:
        _, decoder = open_decoder(model, rec.tuning.front_end, lm=str(model.lm))
        rng = np.random.default_rng(7)
        for n, (path, ref) in enumerate(items):
            raw = np.fromfile(path, dtype="<i2") if path.suffix == ".raw" else read_wav(path)
            samples = raw.astype(np.float64)
            if snr is not None:
                kind = augment.NOISE_KINDS[n % len(augment.NOISE_KINDS)]
                noise = augment.coloured_noise(kind, len(samples), rng)
                samples = augment.mix_at_snr(samples, noise, snr)
            pcm = rec.condition(np.clip(np.round(samples), -32768, 32767).astype(np.int16))
            decoder.start_utt()
            decoder.process_raw(pcm.tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            errors += edits(ref, hyp.hypstr.split() if hyp else [])
    return errors


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.real_speech").parse_args(argv)
    items = recordings()
    if not items:
        print(f"no recordings in {DATA}: apt-get install pocketsphinx-testdata (make bench-deps)")
        return 1
    words = sum(len(ref) for _, ref in items)
    models = {
        "plain model": SphinxModel.bundled(adapted=False),
        "adapted": SphinxModel.bundled(),
    }
    if models["adapted"].adapted is None:
        print("no adapted model in models/sphinx/: run `haven adapt` first")
        return 1
    print(f"{len(items)} recordings, {words} words; word error rate (errors)")
    print("| condition | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for snr in SNRS:
        cells = []
        for model in models.values():
            n = word_errors(model, items, snr)
            cells.append(f"{100 * n / words:.1f}% ({n})")
        name = "as recorded" if snr is None else f"{snr:g} dB SNR"
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
