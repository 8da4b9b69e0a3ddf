"""``haven doctor``: check everything Haven needs and say what to fix."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import SETTINGS_FILE, Settings
from .errors import ConfigError, HavenError, ModelError
from .library import Library

MIN_FREE_BYTES = 50 * 1024 * 1024
"""Below this, the log may soon be unable to grow."""


@dataclass(frozen=True)
class Check:
    """The result of one check."""

    name: str
    """What was checked ("microphone")."""
    ok: bool
    """Whether it works."""
    detail: str
    """What was found."""
    fix: str = ""
    """What to do when it does not work."""


def _device_check(name: str, direction: str, spec: str) -> Check:
    from .devices import find_device  # PortAudio loads only when checked

    try:
        dev = find_device(spec or None, direction)  # type: ignore[arg-type]
    except HavenError as exc:
        hint = "plug one in, or check `haven devices`; " + (
            "`haven run --text` works without one"
            if direction == "input"
            else "Haven prints what it would say instead"
        )
        return Check(name, False, str(exc), hint)
    return Check(name, True, f"{dev.name!r} at {dev.default_samplerate:.0f} Hz")


def check_microphone(settings: Settings) -> Check:
    """A microphone can be found."""
    return _device_check("microphone", "input", settings.input_device)


def check_speaker(settings: Settings) -> Check:
    """An output device can be found."""
    return _device_check("speaker", "output", settings.output_device)


def check_tts(settings: Settings) -> Check:
    """espeak-ng speaks through pyttsx3."""
    from .tts import Synthesizer

    try:
        with Synthesizer(settings.voice or None, settings.rate, settings.volume) as synth:
            samples = synth.render("Hello from Haven.")
    except HavenError as exc:
        return Check("text to speech", False, str(exc), "apt-get install espeak-ng")
    if len(samples) == 0 or not samples.any():
        return Check("text to speech", False, "rendered silence", "reinstall espeak-ng")
    return Check("text to speech", True, f"espeak-ng, {len(samples) / 16000:.1f} s of speech")


def check_recognizer(settings: Settings, models_dir: Path) -> Check:
    """The configured speech recognizer has its model."""
    if settings.engine == "vosk":
        where = Path(settings.vosk_model) if settings.vosk_model else models_dir
        found = (
            [where]
            if (where / "am").is_dir()
            else [p for p in sorted(where.glob("*")) if (p / "am").is_dir()]
        )
        if not found:
            return Check(
                "recognizer", False, f"no Vosk model in {where}",
                "run `haven models install ARCHIVE` or set engine: pocketsphinx",
            )  # fmt: skip
        return Check("recognizer", True, f"vosk, model {found[0]}")
    try:
        import pocketsphinx
    except ImportError as exc:
        return Check("recognizer", False, str(exc), "make run reinstalls it")
    model = Path(pocketsphinx.get_model_path()) / "en-us"
    if not (model / "en-us").is_dir():
        return Check("recognizer", False, f"no model in {model}", "pip install pocketsphinx")
    from .stt.sphinx import SphinxModel

    try:
        folder = SphinxModel.bundled(models_dir).adapted
    except ModelError as exc:
        return Check("recognizer", False, str(exc), "make run reinstalls it")
    adapted = f", adapted in {folder}" if folder else ", not adapted (haven adapt)"
    return Check("recognizer", True, f"pocketsphinx, model {model}{adapted}")


def check_detectors(settings: Settings, models_dir: Path, intents_root: Path) -> Check:
    """The learned listening detectors: present, made for this wake name and this YAML."""
    from .listen.detector import Detectors
    from .listen.manifest import haven_train_is_stale, read_manifest

    try:
        doc = read_manifest(models_dir)
        Detectors.from_dir(models_dir)
    except HavenError as exc:
        return Check("listening detectors", False, str(exc), "run `haven train`")
    stale = haven_train_is_stale(models_dir, intents_root, settings)
    if stale:
        return Check("listening detectors", False, stale, "run `haven train` (about 10 minutes)")
    return Check("listening detectors", True,
                 f"wake name '{doc.get('wake_name')}', made {doc.get('created', '?')}")  # fmt: skip


def check_intents(intents_root: Path, settings: Settings) -> Check:
    """The YAML library loads."""
    try:
        library = Library.load(intents_root, settings.language)
    except ConfigError as exc:
        return Check("intents", False, f"{len(exc.problems)} problem(s): {exc.problems[0]}",
                     "run `haven check` for the full list")  # fmt: skip
    return Check(
        "intents", True,
        f"{len(library.intents.names)} intents, {len(library.practices)} practices",
    )  # fmt: skip


def check_data_dir(data_dir: Path) -> Check:
    """The data folder is private and writable."""
    if not data_dir.exists():
        return Check("data folder", True, f"{data_dir} (made on first use)")
    mode = data_dir.stat().st_mode & 0o777
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        return Check("data folder", False, f"{data_dir}: {exc.strerror}",
                     "make it writable by you, or use --data-dir")  # fmt: skip
    loose = [p.name for p in data_dir.iterdir() if p.is_file() and p.stat().st_mode & 0o077]
    if mode & 0o077 or loose:
        return Check("data folder", False, f"{data_dir} can be read by others",
                     f"chmod 700 {data_dir} && chmod 600 {data_dir}/*")  # fmt: skip
    if (data_dir / SETTINGS_FILE).exists():
        try:
            Settings.load(data_dir / SETTINGS_FILE)
        except ConfigError as exc:
            return Check("data folder", False, str(exc.problems[0]), "fix settings.yaml")
    return Check("data folder", True, f"{data_dir}, private (0700)")


def check_disk(data_dir: Path) -> Check:
    """There is room for the log to grow."""
    where = data_dir if data_dir.exists() else data_dir.parent
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    text = f"{free / 1e9:.1f} GB free" if free > 1e9 else f"{free / 1e6:.0f} MB free"
    if free < MIN_FREE_BYTES:
        return Check("disk space", False, text, "free some space; Haven keeps guiding meanwhile")
    return Check("disk space", True, text)


def run_checks(
    settings: Settings, data_dir: Path, intents_root: Path, models_dir: Path
) -> list[Check]:
    """Every check, in the order a person would fix them."""
    checks: list[Callable[[], Check]] = [
        lambda: check_intents(intents_root, settings),
        lambda: check_data_dir(data_dir),
        lambda: check_disk(data_dir),
        lambda: check_tts(settings),
        lambda: check_speaker(settings),
        lambda: check_microphone(settings),
        lambda: check_recognizer(settings, models_dir),
        lambda: check_detectors(settings, models_dir, intents_root),
    ]
    results = []
    for check in checks:
        try:
            results.append(check())
        except (HavenError, OSError) as exc:
            results.append(Check(check.__name__, False, str(exc)))
    return results
