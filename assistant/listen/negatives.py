"""Negative text: ordinary talk the detectors must ignore.

Two sources: Haven's own list of everyday couple sentences (``data/negatives.txt``, with
trigger words out of context), and generic sentences from Debian's ``fortunes`` files,
split by a hash into a training part and a held-out part the benchmark uses. The seed
articles are never read here: they stay out of training.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import ModelError

DATA_FILE = Path(__file__).resolve().parent / "data" / "negatives.txt"
FORTUNE_DIRS = (Path("/usr/share/games/fortunes"), Path("/usr/share/fortune"))
FORTUNE_HINT = "install Debian's fortunes: apt-get install fortunes"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SPEAKABLE = re.compile(r"^[A-Za-z][A-Za-z ,.'!?;:-]*$")


def couple_sentences(path: Path = DATA_FILE) -> list[str]:
    """Haven's own everyday sentences, in file order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the negative sentences ({exc})") from exc
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def held_out(text: str, share: float = 0.2) -> bool:
    """Whether a sentence belongs to the held-out (benchmark) part: a stable hash split."""
    digest = hashlib.sha1(text.lower().encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def split_sentences(text: str, min_words: int = 3, max_words: int = 16) -> Iterator[str]:
    """Speakable sentences of a block of prose: plain letters and punctuation only."""
    flat = " ".join(text.split())
    for piece in _SENTENCE_END.split(flat):
        sentence = piece.strip().strip("\"'")
        words = sentence.split()
        if min_words <= len(words) <= max_words and _SPEAKABLE.match(sentence):
            yield sentence


def fortune_files(dirs: Iterable[Path] = FORTUNE_DIRS) -> list[Path]:
    """The fortunes text files installed (no index files, no offensive subfolder)."""
    found: list[Path] = []
    for folder in dirs:
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.suffix == "" and not path.is_symlink():
                    found.append(path)
    return found


def fortune_sentences(part: str = "train", dirs: Iterable[Path] = FORTUNE_DIRS) -> list[str]:
    """Sentences from the fortunes files: ``part`` is "train" or "test" (held out)."""
    files = fortune_files(dirs)
    if not files:
        raise ModelError(f"no fortunes files found; {FORTUNE_HINT}")
    seen: set[str] = set()
    out: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for block in text.split("\n%\n"):
            for sentence in split_sentences(block):
                key = sentence.lower()
                if key in seen or held_out(sentence) != (part == "test"):
                    continue
                seen.add(key)
                out.append(sentence)
    return out


def article_sentences(folder: Path) -> list[str]:
    """Sentences of the text files in ``folder`` (the benchmark's seed articles)."""
    out: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        out.extend(split_sentences(path.read_text(encoding="utf-8", errors="replace")))
    return out
