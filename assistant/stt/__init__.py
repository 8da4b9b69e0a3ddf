"""Speech recognition: grammars from the intents, pocketsphinx (default) and Vosk engines.

Build the recognizer the settings ask for with :func:`make_recognizer` (or
:func:`recognizer_for` from a Library and Settings) and use it as a context manager::

    with make_recognizer(library.intents, "pocketsphinx") as rec:
        result = rec.decode(samples, allowed={"pause", "start_checkin"})
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError
from .base import Recognition, Recognizer, WordScore

if TYPE_CHECKING:
    from ..config import Settings
    from ..intents import IntentSet
    from ..library import Library
    from .decide import Tuning

ENGINES: tuple[str, ...] = ("pocketsphinx", "vosk")
"""Engine names, the default first."""

__all__ = ["ENGINES", "Recognition", "Recognizer", "WordScore", "make_recognizer", "recognizer_for"]


def make_recognizer(
    intents: IntentSet,
    engine: str = "pocketsphinx",
    *,
    vosk_model: str | Path = "",
    models_dir: Path | None = None,
    adapted: bool = True,
    tuning: Tuning | None = None,
) -> Recognizer:
    """A recognizer for ``intents`` with the named engine.

    ``vosk`` uses ``vosk_model`` when given, else the first model in ``models_dir``
    (default ``models/``); with none there, ModelError names ``haven models install``.
    ``pocketsphinx`` loads the model ``haven adapt`` wrote to ``models_dir/sphinx/`` when present
    and ``adapted``; ``tuning``: its rejection knobs (default: ``Tuning()``).
    """
    if engine == "pocketsphinx":
        from .sphinx import PocketsphinxRecognizer, SphinxModel

        return PocketsphinxRecognizer(intents, SphinxModel.bundled(models_dir, adapted), tuning)
    if engine == "vosk":
        from ..models import find_vosk_model
        from .voskrec import VoskRecognizer

        return VoskRecognizer(intents, find_vosk_model(models_dir, vosk_model))
    raise ModelError(f"unknown speech engine {engine!r}; use one of: {', '.join(ENGINES)}")


def recognizer_for(
    library: Library,
    settings: Settings,
    engine: str | None = None,
    models_dir: Path | None = None,
    adapted: bool = True,
    tuning: Tuning | None = None,
) -> Recognizer:
    """The recognizer the settings choose (``engine`` overrides ``settings.engine``)."""
    return make_recognizer(
        library.intents,
        engine or settings.engine,
        vosk_model=settings.vosk_model,
        models_dir=models_dir,
        adapted=adapted,
        tuning=tuning,
    )
