"""Speech recognition: grammars from the intents, pocketsphinx (default) and Vosk engines."""

from __future__ import annotations

from .base import Recognition, Recognizer, WordScore

__all__ = ["Recognition", "Recognizer", "WordScore"]
