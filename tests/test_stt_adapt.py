"""``haven adapt``: MAP adaptation of pocketsphinx's model, made with real sphinxtrain.

Every test here runs the real tools: Debian's sphinxtrain (``bw``, ``map_adapt``) and
``pocketsphinx_mdef_convert``, espeak-ng and flite for the speech,
and the pocketsphinx decoder that writes the cepstra and later loads the adapted model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pocketsphinx import Config, Decoder

from assistant.__main__ import main
from assistant.audio import read_wav
from assistant.detect import detect_file, top_level_intents
from assistant.errors import ModelError
from assistant.library import Library
from assistant.stt import adapt as adapt_module
from assistant.stt import make_recognizer
from assistant.stt.adapt import (
    AdaptConfig,
    adapt,
    read_gaussians,
    tools_missing,
    write_mixture_weights,
)
from assistant.stt.sphinx import ADAPTED_DIR, ADAPTED_FILES, PocketsphinxRecognizer, SphinxModel
from tests.speech import have, synthesize

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    bool(tools_missing()) or not have("flite-slt") or not have("espeak-us-m3"),
    reason="needs sphinxtrain, pocketsphinx_mdef_convert, flite and espeak-ng (make sysdeps)",
)
WHEEL = SphinxModel.bundled(adapted=False).hmm


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "intents")


@pytest.fixture(scope="module")
def small_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A models folder with a model adapted by ``haven adapt`` from 2 x 12 sentences."""
    models = tmp_path_factory.mktemp("models")
    code = main(["adapt", "--utterances", "12", "--rounds", "2", "--seed", "3",
                 "--models", str(models)])  # fmt: skip
    assert code == 0
    yield models


def _decode(config: Config, samples: np.ndarray) -> str:
    decoder = Decoder(config)
    decoder.start_utt()
    decoder.process_raw(samples.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp else ""


def test_recovered_mixture_weights_decode_like_the_sendump(tmp_path: Path) -> None:
    """bw needs float mixture weights; the ones recovered from the 8-bit sendump must make
    the decoder hear exactly what the sendump makes it hear."""
    base = SphinxModel.bundled(adapted=False)
    hmm = tmp_path / "hmm"
    shutil.copytree(base.hmm, hmm)
    (hmm / "sendump").unlink()
    shape = write_mixture_weights(base.hmm / "sendump", hmm / "mixture_weights")
    assert shape == (5126, 3, 128)
    clip = read_wav(synthesize("go forward ten meters then turn left", "flite-slt", tmp_path))
    results = []
    for folder in (base.hmm, hmm):
        config = Config(hmm=str(folder), dict=str(base.dictionary), lm=str(base.lm),
                        logfn="/dev/null")
        results.append(_decode(config, clip))
    assert results[0] == results[1]
    assert "forward" in results[0].split()


def test_adapt_writes_an_adapted_model_and_its_manifest(small_models: Path) -> None:
    folder = small_models / ADAPTED_DIR
    wheel, adapted = read_gaussians(WHEEL / "means"), read_gaussians(folder / "means")
    assert adapted.shape == wheel.shape == (42 * 3 * 128 * 13,)
    assert np.all(np.isfinite(adapted))
    moved = np.abs(adapted - wheel) > 1e-3 * (np.abs(wheel) + 1e-3)
    assert 0.05 < moved.mean() < 1.0, "MAP moves the means that saw data, not the others"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "means"], (
        "variances and mixture weights stay the wheel's"
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["sentences"] == 24, "12 sentences in each of 2 rounds"
    assert len(manifest["rounds"]) == 2
    assert manifest["utterances"] >= 84, "24 sentences in 4 conditions, few dropped"
    assert manifest["conditions"] == ["clean", "20 dB", "10 dB", "5 dB"]
    assert manifest["seed"] == 3
    assert "MAP of the means" in manifest["method"]


def test_adapt_is_repeatable_for_a_seed(library: Library, tmp_path: Path) -> None:
    """Same seed: the same sentences, voices and noise, so nearly the same model (the
    rendered espeak-ng audio itself differs a little from run to run)."""
    made = []
    for run in ("a", "b"):
        config = AdaptConfig(models_dir=tmp_path / run, utterances=6, rounds=1,
                             snrs=(None, 10.0), seed=5)  # fmt: skip
        made.append(read_gaussians(adapt(library.intents, config).folder / "means"))
    wheel = read_gaussians(WHEEL / "means")
    change = np.abs(made[0] - wheel)
    assert change.max() > 0.1, "the adaptation moved some means"
    assert np.abs(made[0] - made[1]).max() < 0.25 * change.max()


def test_the_recognizer_loads_the_adapted_model_and_still_hears_commands(
    small_models: Path, library: Library, tmp_path: Path
) -> None:
    with make_recognizer(library.intents, "pocketsphinx", models_dir=small_models) as rec:
        assert isinstance(rec, PocketsphinxRecognizer)
        assert rec.model.adapted == small_models / ADAPTED_DIR
        allowed = top_level_intents(library)
        for text, intent in (("we need a pause", "pause"), ("start a check in", "start_checkin")):
            wav = synthesize(text, "flite-rms", tmp_path)
            found = detect_file(rec, library.intents, wav, allowed)
            assert found.intent == intent, (text, found.text)
        ordinary = synthesize("I checked in at the hotel before dinner", "flite-rms", tmp_path)
        assert detect_file(rec, library.intents, ordinary, allowed).intent is None


def test_without_an_adapted_model_the_plain_model_is_used(tmp_path: Path) -> None:
    assert SphinxModel.bundled(tmp_path).adapted is None
    assert SphinxModel.bundled(adapted=False).adapted is None


def test_the_shipped_adapted_model_is_found_in_models() -> None:
    shipped = ROOT / "models" / ADAPTED_DIR
    for name in ADAPTED_FILES:
        assert (shipped / name).is_file(), f"models/sphinx/{name} is made by `haven adapt`"
    assert SphinxModel.bundled().adapted == shipped


def test_a_broken_adapted_model_names_the_folder_and_the_fix(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / ADAPTED_DIR
    folder.mkdir()
    for name in ADAPTED_FILES:
        (folder / name).write_text("not a model\n")
    with pytest.raises(ModelError) as caught:
        make_recognizer(library.intents, "pocketsphinx", models_dir=tmp_path)
    assert str(folder) in str(caught.value)
    assert "haven adapt" in str(caught.value)


def test_a_truncated_adapted_model_names_the_file(library: Library, tmp_path: Path) -> None:
    """pocketsphinx would end the process on it; the recognizer refuses it first."""
    folder = tmp_path / ADAPTED_DIR
    folder.mkdir()
    (folder / "means").write_bytes((WHEEL / "means").read_bytes()[:-1000])
    with pytest.raises(ModelError) as caught:
        make_recognizer(library.intents, "pocketsphinx", models_dir=tmp_path)
    assert str(folder / "means") in str(caught.value)
    assert "haven adapt" in str(caught.value)


def test_missing_tools_name_the_packages(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapt_module, "SPHINXTRAIN", tmp_path / "nowhere")
    assert tools_missing()
    with pytest.raises(ModelError, match="apt-get install sphinxtrain pocketsphinx"):
        adapt(library.intents, AdaptConfig(models_dir=tmp_path, utterances=2))
    assert not (tmp_path / ADAPTED_DIR).exists(), "nothing written when the tools are missing"


def test_the_live_listening_keeps_the_plain_model_and_detect_uses_the_adapted_one(
    library: Library,
) -> None:
    """The listener was tuned on the plain model (live.LISTENING_ADAPTED explains why)."""
    from assistant.config import Settings
    from assistant.live import LISTENING_ADAPTED, create_addressed, create_recognizer
    from assistant.stt import recognizer_for

    assert LISTENING_ADAPTED is False
    for make in (create_recognizer, create_addressed):
        with make(library, Settings()) as rec:
            assert isinstance(rec, PocketsphinxRecognizer)
            assert rec.model.adapted is None
    with recognizer_for(library, Settings()) as rec:
        assert isinstance(rec, PocketsphinxRecognizer)
        assert rec.model.adapted == ROOT / "models" / ADAPTED_DIR
