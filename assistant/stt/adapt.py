"""``haven adapt``: MAP adaptation of pocketsphinx's model to Haven's front end and rooms.

The wheel's English model was trained on clean read speech. Haven hears through its
Wiener filter and a fixed noise floor (``sphinx.PocketsphinxRecognizer.condition``), in
rooms with noise. This module renders speech with many synthetic voices (espeak-ng and
flite, never festival: that family is held out for the benchmarks), mixes in white, pink
and brown noise at several SNRs, conditions it exactly as the recognizer does, lets
pocketsphinx itself write the cepstra, and re-estimates the model's Gaussian means by
maximum a posteriori (MAP) adaptation with sphinxtrain's
``bw`` and ``map_adapt`` (Debian's ``sphinxtrain``; ``pocketsphinx_mdef_convert`` from
Debian's ``pocketsphinx`` writes the text model definition ``bw`` reads).

MAP moves each Gaussian from the wheel's value towards what the data says, weighted by
how much data that Gaussian saw against a prior weight ``tau``: a well-heard sound moves,
a rarely heard one keeps the wheel's value. ``rounds`` rounds each render new sentences
and align them with the previous round's model. A large ``tau`` and hundreds of voices
keep it from learning any one voice or sentence. Only the means are kept: adapting the
variances too narrowed them to synthetic speech, and real recordings went from 30% to 49%
word errors (``bench/real_speech.py``, BENCHMARKS.md); with the means alone they stay
within a few words of the plain model. The means file replaces the wheel's
(pocketsphinx's ``mean`` option) at load time.

The wheel ships its mixture weights only as an 8-bit ``sendump``; ``bw`` needs them as a
float ``mixture_weights`` file, which ``write_mixture_weights`` recovers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import AudioError, ModelError
from ..intents import IntentSet
from .grammar import build_grammar
from .lexicon import Lexicon
from .sphinx import (
    ADAPTED_DIR,
    ADAPTED_FILES,
    PocketsphinxRecognizer,
    SphinxModel,
    open_decoder,
)

_LOG = logging.getLogger(__name__)

SPHINXTRAIN = Path("/usr/lib/sphinxtrain")
MDEF_CONVERT = "pocketsphinx_mdef_convert"
INSTALL_HINT = "apt-get install sphinxtrain pocketsphinx"
TOOLS = ("bw", "map_adapt")
MANIFEST = "manifest.json"
_LOG_BASE = 1.0001
_SENSCR_SHIFT = 10
"""The sendump stores -log_1.0001(weight) >> 10 in one byte (pocketsphinx's ptm_mgau)."""


@dataclass(frozen=True)
class AdaptConfig:
    """What ``adapt`` renders and where it writes."""

    models_dir: Path
    """The adapted model goes to ``models_dir/sphinx/``."""
    utterances: int = 900
    """Sentences rendered per round (each is used clean and at every SNR)."""
    rounds: int = 2
    """Rounds of alignment and MAP re-estimation, each on new sentences."""
    tau: float = 300.0
    """MAP prior weight: how many frames of data it takes to move a Gaussian halfway."""
    snrs: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)
    """Conditions each sentence is heard in (None: clean)."""
    command_share: float = 2 / 3
    """Share of sentences that are the intents' phrasings; the rest is ordinary talk."""
    seed: int = 0
    """Seed of every random choice (sentences, voices, levels, noise)."""
    workers: int = 2
    """Synthesizers run at once (threads, each driving one synthesizer process)."""


@dataclass(frozen=True)
class AdaptResult:
    """What ``adapt`` wrote."""

    folder: Path
    """Where the adapted means were written."""
    manifest: dict[str, object]


def tools_missing() -> list[str]:
    """The programs ``adapt`` needs that are not installed."""
    missing = [str(SPHINXTRAIN / n) for n in TOOLS if not (SPHINXTRAIN / n).exists()]
    if shutil.which(MDEF_CONVERT) is None:
        missing.append(MDEF_CONVERT)
    return missing


def write_mixture_weights(sendump: Path, out: Path) -> tuple[int, int, int]:
    """Recover float mixture weights (senones x streams x densities) from ``sendump``."""
    try:
        data = sendump.read_bytes()
    except OSError as exc:
        raise ModelError(f"{sendump}: cannot read the model's mixture weights ({exc})") from exc
    offset, clusters = 0, 0
    while True:
        (size,) = struct.unpack_from("<i", data, offset)
        offset += 4
        if size == 0:
            break
        text = data[offset : offset + size].rstrip(b"\0").decode("ascii", "replace")
        offset += size
        if text.startswith("cluster_count "):
            clusters = int(text.split()[1])
    if clusters:
        raise ModelError(f"{sendump}: clustered mixture weights are not supported")
    rows, cols = struct.unpack_from("<ii", data, offset)
    offset += 8
    body = np.frombuffer(data, dtype=np.uint8, offset=offset)
    streams = body.size // (rows * cols)
    if streams < 1 or body.size != streams * rows * cols:
        raise ModelError(f"{sendump}: {body.size} weights do not fill {rows} x {cols} tables")
    scores = body.reshape(streams, rows, cols).astype(np.float64)
    weights = np.exp(-scores * (1 << _SENSCR_SHIFT) * np.log(_LOG_BASE)).transpose(2, 0, 1)
    weights /= weights.sum(axis=2, keepdims=True)
    senones, n_streams, densities = weights.shape
    with open(out, "wb") as fh:
        fh.write(b"s3\nversion 1.0\nendhdr\n")
        fh.write(struct.pack("<I", 0x11223344))
        fh.write(struct.pack("<4i", senones, n_streams, densities, weights.size))
        fh.write(weights.astype("<f4").tobytes())
    return senones, n_streams, densities


def read_gaussians(path: Path) -> np.ndarray:
    """Every value of a sphinx3 ``means`` or ``variances`` file, in file order."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc})") from exc
    end = data.find(b"endhdr\n")
    if not data.startswith(b"s3\n") or end < 0:
        raise ModelError(f"{path}: not a sphinx3 parameter file")
    offset = end + len(b"endhdr\n") + 4
    codebooks, streams, densities = struct.unpack_from("<3i", data, offset)
    offset += 12 + 4 * streams
    (count,) = struct.unpack_from("<i", data, offset)
    values = np.frombuffer(data, dtype="<f4", count=count, offset=offset + 4)
    if codebooks * densities * streams <= 0 or values.size != count:
        raise ModelError(f"{path}: {values.size} values where the header says {count}")
    return values


def sentences(intents: IntentSet, count: int, command_share: float, seed: int) -> list[str]:
    """``count`` sentences: the intents' phrasings and ordinary talk, chosen by ``seed``."""
    from ..listen import negatives

    rng = random.Random(seed)
    commands = sorted({text for _, text in build_grammar(intents, intents.names).sentences()})
    talk = negatives.couple_sentences()
    try:
        talk += negatives.fortune_sentences("train")
    except ModelError:
        _LOG.info("no fortunes installed: ordinary talk is Haven's own list only")
    n_commands = round(count * command_share)
    picked = [rng.choice(commands) for _ in range(n_commands)]
    return picked + [rng.choice(talk) for _ in range(count - n_commands)]


def words_of(text: str) -> list[str]:
    """Lower-case words as the dictionary spells them."""
    return re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split()


def adapt(
    intents: IntentSet, config: AdaptConfig, progress: Callable[[str], None] | None = None
) -> AdaptResult:
    """Render, condition and hear the corpus, re-estimate the model, write it."""
    say = progress or (lambda _text: None)
    missing = tools_missing()
    if missing:
        raise ModelError(f"missing programs: {', '.join(missing)}; {INSTALL_HINT}")
    base = SphinxModel.bundled(adapted=False)
    rounds = max(1, config.rounds)
    with tempfile.TemporaryDirectory(prefix="haven-adapt-") as tmp, PocketsphinxRecognizer(
        intents, model=base
    ) as recognizer:
        work = Path(tmp)
        hmm = _trainable_model(base, work / "hmm0")
        used: list[str] = []
        history: list[dict[str, object]] = []
        heard = 0
        for turn in range(rounds):
            seed = config.seed + 1000 * turn
            texts = sentences(intents, config.utterances, config.command_share, seed)
            used += texts
            step = work / f"round{turn + 1}"
            step.mkdir()
            say(f"Round {turn + 1} of {rounds}: rendering {len(texts)} sentences "
                "with espeak-ng and flite voices")  # fmt: skip
            this_round = replace(config, seed=seed)
            audio = _render(texts, this_round)
            say(f"Round {turn + 1}: hearing them clean and at {len(config.snrs) - 1} noise levels")
            ids = _cepstra(recognizer, audio, this_round, step / "cep")
            lines = _transcripts(texts, ids, base.dictionary, step)
            say(f"Round {turn + 1}: re-estimating from {lines} utterances (bw, map_adapt)")
            loglik = _bw(hmm, step)
            hmm = _map(hmm, step, work / f"hmm{turn + 1}", config.tau)
            history.append({"utterances": lines, "frame_log_likelihood": loglik})
            heard += lines
        _check_loads(base, hmm)
        out_dir = config.models_dir / ADAPTED_DIR
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest: dict[str, object] = {
            "made": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "method": f"MAP of the means (sphinxtrain bw + map_adapt, fixed tau "
            f"{config.tau:g}), {rounds} round(s); variances and mixture weights are the wheel's",
            "seed": config.seed,
            "sentences": len(used),
            "utterances": heard,
            "rounds": history,
            "conditions": ["clean" if s is None else f"{s:g} dB" for s in config.snrs],
            "voices": "espeak-ng and flite (listen.synth.random_training_voice); no festival",
            "data_hash": hashlib.sha256("\n".join(used).encode()).hexdigest()[:16],
        }
        for name in ADAPTED_FILES:
            shutil.copyfile(hmm / name, out_dir / f".{name}.new")
        for name in ADAPTED_FILES:
            os.replace(out_dir / f".{name}.new", out_dir / name)
        for stale in ("mllr_matrix", "variances", "sendump"):  # what earlier versions wrote
            (out_dir / stale).unlink(missing_ok=True)
        (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return AdaptResult(out_dir, manifest)


def _render(texts: Sequence[str], config: AdaptConfig) -> list[np.ndarray | None]:
    from ..listen import synth

    rng = np.random.default_rng(config.seed)
    voices = [synth.random_training_voice(rng) for _ in texts]

    def one(i: int) -> np.ndarray | None:
        try:
            return synth.render(texts[i], voices[i])
        except AudioError as exc:
            _LOG.warning("could not render %r: %s", texts[i], exc)
            return None

    with ThreadPoolExecutor(max(1, config.workers), thread_name_prefix="haven-adapt") as pool:
        return list(pool.map(one, range(len(texts))))


def _cepstra(
    recognizer: PocketsphinxRecognizer,
    audio: Sequence[np.ndarray | None],
    config: AdaptConfig,
    out: Path,
) -> list[tuple[str, int]]:
    """Each clip in each condition, conditioned as the recognizer does; pocketsphinx
    writes its cepstra (``mfclogdir``), so the features are exactly the decoder's."""
    from ..listen import augment

    rng = np.random.default_rng(config.seed + 1)
    done: list[tuple[str, int]] = []
    for snr in config.snrs:
        cond = "clean" if snr is None else f"{snr:g}dB"
        folder = out / cond
        folder.mkdir(parents=True)
        _, decoder = open_decoder(recognizer.model, recognizer.tuning.front_end, lm=None,
                                  mfclogdir=str(folder))  # fmt: skip
        decoder.add_keyphrase("listen", "hello")
        decoder.activate_search("listen")
        for i, clip in enumerate(audio):
            if clip is None or not len(clip):
                continue
            samples = _level(clip.astype(np.float64), rng)
            if snr is not None:
                kind = augment.NOISE_KINDS[i % len(augment.NOISE_KINDS)]
                noise = augment.coloured_noise(kind, len(samples), rng)
                samples = augment.mix_at_snr(samples, noise, snr)
            pcm = recognizer.condition(np.clip(np.round(samples), -32768, 32767).astype(np.int16))
            before = set(os.listdir(folder))
            decoder.start_utt()
            decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
            decoder.end_utt()
            written = [f for f in os.listdir(folder) if f not in before]
            if len(written) != 1:
                raise ModelError(f"pocketsphinx wrote {len(written)} cepstrum files for one clip")
            os.replace(folder / written[0], folder / f"u{i:05d}.mfc")
            done.append((cond, i))
    return done


def _level(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from ..listen import augment

    gain = 10 ** (rng.uniform(-24.0, -18.0) / 20.0) * 32768.0 / max(1.0, augment.rms(clip))
    pad = np.zeros(8000)
    return np.concatenate([pad, clip * gain, pad])


def _transcripts(
    texts: Sequence[str], ids: Sequence[tuple[str, int]], dictionary_path: Path, work: Path
) -> int:
    lexicon = Lexicon.load(dictionary_path)
    ctl: list[str] = []
    lsn: list[str] = []
    added: dict[str, str] = {}
    for cond, i in ids:
        words = words_of(texts[i])
        prons = lexicon.resolve(words)
        if not words or prons.missing:
            continue
        added.update(prons.added)
        ctl.append(f"{cond}/u{i:05d}")
        lsn.append(f"<s> {' '.join(words)} </s> (u{i:05d})")
    if not ctl:
        raise ModelError("no utterance could be transcribed for adaptation")
    (work / "ctl").write_text("\n".join(ctl) + "\n", encoding="utf-8")
    (work / "lsn").write_text("\n".join(lsn) + "\n", encoding="utf-8")
    dictionary = dictionary_path.read_text(encoding="utf-8")
    dictionary += "".join(f"{word} {phones}\n" for word, phones in sorted(added.items()))
    (work / "dict").write_text(dictionary, encoding="utf-8")
    return len(ctl)


def _trainable_model(base: SphinxModel, folder: Path) -> Path:
    """The wheel's model as ``bw`` reads it: text mdef, float mixture weights."""
    folder.mkdir()
    for name in ("means", "variances", "transition_matrices", "noisedict", "feat.params"):
        shutil.copyfile(base.hmm / name, folder / name)
    _run([MDEF_CONVERT, "-text", str(base.hmm / "mdef"), str(folder / "mdef")],
         folder.parent / "mdef.log")
    write_mixture_weights(base.hmm / "sendump", folder / "mixture_weights")
    return folder


def _feature_args(hmm: Path) -> list[str]:
    """``bw``'s feature options, from the model's own ``feat.params``."""
    args: list[str] = []
    for line in (hmm / "feat.params").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("-feat", "-svspec", "-cmn", "-agc", "-varnorm"):
            args += parts
    return args


def _bw(hmm: Path, work: Path) -> float:
    acc = work / "acc"
    acc.mkdir()
    log = work / "bw.log"
    _run(
        [str(SPHINXTRAIN / "bw"), "-hmmdir", str(hmm), "-moddeffn", str(hmm / "mdef"),
         "-ts2cbfn", ".ptm.", "-meanfn", str(hmm / "means"), "-varfn", str(hmm / "variances"),
         "-mixwfn", str(hmm / "mixture_weights"), "-tmatfn", str(hmm / "transition_matrices"),
         *_feature_args(hmm), "-dictfn", str(work / "dict"), "-fdictfn", str(hmm / "noisedict"),
         "-ctlfn", str(work / "ctl"), "-lsnfn", str(work / "lsn"), "-accumdir", str(acc),
         "-cepdir", str(work / "cep"), "-cepext", "mfc", "-timing", "no"],
        log,
    )
    found = re.search(r"overall> stats \d+ \(-\d+\) (\S+)", log.read_text(errors="replace"))
    return float(found.group(1)) if found else float("nan")


def _run(cmd: list[str], log: Path) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ModelError(f"cannot run {cmd[0]}: {exc}; {INSTALL_HINT}") from exc
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise ModelError(f"{Path(cmd[0]).name} failed ({done.returncode}): {' | '.join(tail)}")


def _map(prior: Path, step: Path, out: Path, tau: float) -> Path:
    """``map_adapt``: the means in ``prior`` moved towards ``step``'s accumulators (its
    variances and mixture weights are written aside and not used)."""
    out.mkdir()
    for name in ("mdef", "transition_matrices", "noisedict", "feat.params", "variances",
                 "mixture_weights"):  # fmt: skip
        shutil.copyfile(prior / name, out / name)
    _run(
        [str(SPHINXTRAIN / "map_adapt"), "-moddeffn", str(prior / "mdef"), "-ts2cbfn", ".ptm.",
         "-meanfn", str(prior / "means"), "-varfn", str(prior / "variances"),
         "-mixwfn", str(prior / "mixture_weights"), "-tmatfn", str(prior / "transition_matrices"),
         "-accumdir", str(step / "acc"), "-bayesmean", "no", "-fixedtau", "yes",
         "-tau", f"{tau:g}", "-mapmeanfn", str(out / "means"),
         "-mapvarfn", str(step / "map_variances"),
         "-mapmixwfn", str(step / "map_mixture_weights")],
        step / "map_adapt.log",
    )
    return out


def _check_loads(base: SphinxModel, hmm: Path) -> None:
    """The decoder must accept the new model before it replaces the shipped one."""
    try:
        open_decoder(replace(base, adapted=hmm), {}, lm=None)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"pocketsphinx rejects the adapted model in {hmm}: {exc}") from exc
