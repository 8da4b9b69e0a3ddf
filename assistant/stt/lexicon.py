"""Pronunciations for grammar words, including words the dictionary lacks.

The pocketsphinx wheel ships CMUdict. Words from the intents that it lacks
("check-in", "checkin", "decompress", a partner's name) are composed from known
parts (hyphenated parts, a plural of a known word, two known words run together)
or, failing that, spelled by espeak-ng in IPA and mapped to CMU phones. Words none
of that can pronounce are reported, never silently dropped.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..errors import ModelError

_LOG = logging.getLogger(__name__)

_VOICELESS_END = {"P", "T", "K", "F", "TH"}
_SIBILANT_END = {"S", "Z", "SH", "ZH", "CH", "JH"}

_IPA: dict[str, str] = {
    # diphthongs first: the tokenizer tries the longest symbol
    "eɪ": "EY",
    "aɪ": "AY",
    "ɔɪ": "OY",
    "aʊ": "AW",
    "oʊ": "OW",
    "əʊ": "OW",
    "ɪə": "IH R",
    "eə": "EH R",
    "ʊə": "UH R",
    "iː": "IY",
    "uː": "UW",
    "ɑː": "AA",
    "ɔː": "AO",
    "ɜː": "ER",
    "tʃ": "CH",
    "dʒ": "JH",
    "i": "IY",
    "ɪ": "IH",
    "ᵻ": "IH",
    "e": "EH",
    "ɛ": "EH",
    "æ": "AE",
    "a": "AA",
    "ɑ": "AA",
    "ɒ": "AA",
    "ɔ": "AO",
    "ʊ": "UH",
    "u": "UW",
    "ʌ": "AH",
    "ə": "AH",
    "ɐ": "AH",
    "ɜ": "ER",
    "ɝ": "ER",
    "ɚ": "ER",
    "o": "OW",
    "p": "P",
    "b": "B",
    "t": "T",
    "d": "D",
    "k": "K",
    "g": "G",
    "ɡ": "G",
    "f": "F",
    "v": "V",
    "θ": "TH",
    "ð": "DH",
    "s": "S",
    "z": "Z",
    "ʃ": "SH",
    "ʒ": "ZH",
    "h": "HH",
    "m": "M",
    "n": "N",
    "ŋ": "NG",
    "l": "L",
    "ɫ": "L",
    "ɹ": "R",
    "r": "R",
    "w": "W",
    "j": "Y",
    "ɾ": "T",
    "x": "K",
}
_IPA_IGNORED = set("ˈˌːˑ.-_ ʔ\u0329\u032f\u0361")


@dataclass(frozen=True)
class Pronunciations:
    """How a set of words will be pronounced."""

    added: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Words the dictionary lacks -> the CMU phones made for them."""
    missing: tuple[str, ...] = ()
    """Words no rule could pronounce; phrases using them cannot be recognized."""


class Lexicon:
    """A CMU-style pronouncing dictionary plus rules for the words it lacks."""

    def __init__(self, entries: Mapping[str, str], use_espeak: bool = True) -> None:
        self._entries = dict(entries)
        self._use_espeak = use_espeak

    @classmethod
    def load(cls, path: Path, use_espeak: bool = True) -> Lexicon:
        """Read a dictionary file: ``word PH ON ES`` per line (alternates ``word(2)``)."""
        entries: dict[str, str] = {}
        try:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    parts = line.split()
                    if len(parts) >= 2 and "(" not in parts[0] and parts[0] not in entries:
                        entries[parts[0]] = " ".join(parts[1:])
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the pronouncing dictionary: {exc}") from exc
        return cls(entries, use_espeak)

    def words(self) -> Iterator[str]:
        """Every word the dictionary itself knows."""
        return iter(self._entries)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._entries

    def phones(self, word: str) -> str | None:
        """CMU phones for ``word`` from the dictionary or a rule; None if none fits."""
        word = word.lower()
        if word in self._entries:
            return self._entries[word]
        return self._composed(word) or self._from_espeak(word) or self._compound(word)

    def resolve(self, words: Iterable[str]) -> Pronunciations:
        """Pronunciations to add for the words the dictionary lacks, and the hopeless ones."""
        added: dict[str, str] = {}
        missing: list[str] = []
        for word in sorted(set(words)):
            if word in self._entries:
                continue
            phones = self.phones(word)
            if phones:
                added[word] = phones
            else:
                missing.append(word)
        if added:
            made = ", ".join(f"{w} /{p}/" for w, p in added.items())
            _LOG.info("made pronunciations for %s", made)
        if missing:
            _LOG.warning("no pronunciation for: %s", ", ".join(missing))
        return Pronunciations(MappingProxyType(added), tuple(missing))

    def _composed(self, word: str) -> str | None:
        if "-" in word or "'" in word.strip("'"):
            parts = [p for p in word.replace("'", "-").split("-") if p]
            found = [self.phones(p) for p in parts]
            if parts and all(found):
                return " ".join(p for p in found if p)
        for suffix in ("s", "es"):
            stem = word[: -len(suffix)]
            if word.endswith(suffix) and stem in self._entries:
                base = self._entries[stem]
                last = base.split()[-1]
                if last in _SIBILANT_END:
                    return f"{base} IH Z"
                return f"{base} {'S' if last in _VOICELESS_END else 'Z'}"
        return None

    def _compound(self, word: str) -> str | None:
        best: str | None = None
        for cut in range(len(word) - 2, 1, -1):
            head, tail = word[:cut], word[cut:]
            if head in self._entries and tail in self._entries:
                best = f"{self._entries[head]} {self._entries[tail]}"
                break
        return best

    def _from_espeak(self, word: str) -> str | None:
        if not self._use_espeak or not word.replace("'", "").isalpha():
            return None
        exe = shutil.which("espeak-ng")
        if exe is None:
            return None
        try:
            done = subprocess.run(
                [exe, "-q", "--ipa", "-v", "en-us", word],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            _LOG.info("espeak-ng could not spell %r: %s", word, exc)
            return None
        return ipa_to_cmu(done.stdout.strip()) or None


def ipa_to_cmu(ipa: str) -> str:
    """Map an IPA string (as espeak-ng writes it) to CMU phones; unknown symbols dropped."""
    phones: list[str] = []
    i = 0
    while i < len(ipa):
        if ipa[i] in _IPA_IGNORED:
            i += 1
            continue
        for size in (2, 1):
            piece = ipa[i : i + size]
            if piece in _IPA:
                phones.extend(_IPA[piece].split())
                i += size
                break
        else:
            i += 1
    return " ".join(phones)
