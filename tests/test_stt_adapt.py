"""``haven adapt``: the MLLR transform of pocketsphinx's model, made with real sphinxtrain.

Every test here runs the real tools: Debian's sphinxtrain (``bw``, ``mllr_solve``) and
``pocketsphinx_mdef_convert``, espeak-ng and flite for the speech, and the pocketsphinx
decoder that writes the cepstra and later applies the transform.
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
from assistant.stt.adapt import AdaptConfig, adapt, tools_missing, write_mixture_weights
from assistant.stt.sphinx import TRANSFORM_DIR, TRANSFORM_FILE, PocketsphinxRecognizer, SphinxModel
from tests.speech import have, synthesize

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    bool(tools_missing()) or not have("flite-slt") or not have("espeak-us-m3"),
    reason="needs sphinxtrain, pocketsphinx_mdef_convert, flite and espeak-ng (make sysdeps)",
)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "intents")


@pytest.fixture(scope="module")
def small_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A models folder with a transform made by ``haven adapt`` from 16 sentences."""
    models = tmp_path_factory.mktemp("models")
    code = main(["adapt", "--utterances", "16", "--seed", "3", "--models", str(models)])
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


def test_adapt_writes_a_transform_and_its_manifest(small_models: Path) -> None:
    transform = small_models / TRANSFORM_DIR / TRANSFORM_FILE
    lines = transform.read_text().split()
    assert lines[:2] == ["1", "3"], "one class, three feature streams"
    assert lines[2] == "13", "stream 0 has 13 dimensions"
    # stream 0's 13 x 13 matrix, then its 13 offsets: a real transform is not the identity
    matrix = np.array([float(x) for x in lines[3 : 3 + 169]]).reshape(13, 13)
    assert not np.allclose(matrix, np.eye(13), atol=1e-3)
    assert np.all(np.isfinite(matrix))
    manifest = json.loads((small_models / TRANSFORM_DIR / "manifest.json").read_text())
    assert manifest["sentences"] == 16
    assert manifest["utterances"] >= 56, "16 sentences in 4 conditions, few dropped"
    assert manifest["conditions"] == ["clean", "20 dB", "10 dB", "5 dB"]
    assert manifest["seed"] == 3


def test_adapt_is_repeatable_for_a_seed(library: Library, tmp_path: Path) -> None:
    """Same seed: the same sentences, voices and noise, so the same transform to about two
    decimals (the rendered espeak-ng audio itself differs a little from run to run; six
    sentences make that show more than the shipped 900 do)."""
    made = []
    for run in ("a", "b"):
        config = AdaptConfig(models_dir=tmp_path / run, utterances=6, snrs=(None, 10.0), seed=5)
        text = adapt(library.intents, config).transform.read_text()
        made.append(np.array([float(x) for x in text.split()]))
    assert made[0].shape == made[1].shape
    assert np.allclose(made[0], made[1], atol=0.03)
    assert not np.allclose(made[0][3:172], np.eye(13).ravel(), atol=1e-3)


def test_the_recognizer_applies_the_transform_and_still_hears_commands(
    small_models: Path, library: Library, tmp_path: Path
) -> None:
    with make_recognizer(library.intents, "pocketsphinx", models_dir=small_models) as rec:
        assert isinstance(rec, PocketsphinxRecognizer)
        assert rec.model.mllr == small_models / TRANSFORM_DIR / TRANSFORM_FILE
        allowed = top_level_intents(library)
        for text, intent in (("we need a pause", "pause"), ("start a check in", "start_checkin")):
            wav = synthesize(text, "flite-rms", tmp_path)
            found = detect_file(rec, library.intents, wav, allowed)
            assert found.intent == intent, (text, found.text)
        ordinary = synthesize("I checked in at the hotel before dinner", "flite-rms", tmp_path)
        assert detect_file(rec, library.intents, ordinary, allowed).intent is None


def test_without_a_transform_the_plain_model_is_used(tmp_path: Path) -> None:
    assert SphinxModel.bundled(tmp_path).mllr is None
    assert SphinxModel.bundled(adapted=False).mllr is None


def test_the_shipped_transform_is_found_in_models() -> None:
    shipped = ROOT / "models" / TRANSFORM_DIR / TRANSFORM_FILE
    assert shipped.is_file(), "models/sphinx/mllr_matrix is made by `haven adapt` and committed"
    assert SphinxModel.bundled().mllr == shipped


def test_a_broken_transform_names_the_file_and_the_fix(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / TRANSFORM_DIR
    folder.mkdir()
    (folder / TRANSFORM_FILE).write_text("not a transform\n")
    with pytest.raises(ModelError) as caught:
        make_recognizer(library.intents, "pocketsphinx", models_dir=tmp_path)
    assert str(folder / TRANSFORM_FILE) in str(caught.value)
    assert "haven adapt" in str(caught.value)


def test_missing_tools_name_the_packages(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapt_module, "SPHINXTRAIN", tmp_path / "nowhere")
    assert tools_missing()
    with pytest.raises(ModelError, match="apt-get install sphinxtrain pocketsphinx"):
        adapt(library.intents, AdaptConfig(models_dir=tmp_path, utterances=2))
    assert not (tmp_path / TRANSFORM_DIR).exists(), "nothing written when the tools are missing"


def test_the_live_listening_keeps_the_plain_model_and_detect_uses_the_transform(
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
            assert rec.model.mllr is None
    with recognizer_for(library, Settings()) as rec:
        assert isinstance(rec, PocketsphinxRecognizer)
        assert rec.model.mllr == ROOT / "models" / TRANSFORM_DIR / TRANSFORM_FILE
