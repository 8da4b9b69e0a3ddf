"""``haven detect`` and ``haven models install`` (the CLI side of hearing).

``register(subparsers)`` adds the commands; each command function takes the parsed
arguments and returns an exit code. This is the only hearing module that prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .audio import wav_to_chunks
from .config import SETTINGS_FILE, Settings, default_data_dir
from .detect import Detection, detect_file, detect_stream, listen_stream, top_level_intents
from .errors import AudioError, HavenError
from .library import Library, default_intents_dir, default_models_dir
from .models import install_model
from .sources import raw_pcm_chunks
from .stt import ENGINES, Recognizer, make_recognizer, recognizer_for

EXIT_OK, EXIT_AUDIO = 0, 3


def _out(text: str) -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace) -> Settings:
    data_dir = Path(args.data_dir) if getattr(args, "data_dir", None) else default_data_dir()
    return Settings.load(data_dir / SETTINGS_FILE)


def _library(args: argparse.Namespace, settings: Settings) -> Library:
    root = Path(args.intents) if getattr(args, "intents", None) else default_intents_dir()
    return Library.load(root, settings.language)


def _show(detection: Detection, as_json: bool) -> None:
    if as_json:
        _out(json.dumps(detection.to_json(), ensure_ascii=False))
        return
    where = detection.file if detection.file != "-" else f"-@{detection.start:.2f}s"
    if detection.intent:
        slots = " ".join(f"{k}={v}" for k, v in detection.slots.items())
        _out(
            f"{where}: {detection.intent}{' ' + slots if slots else ''} "
            f'"{detection.text}" (confidence {detection.confidence:.2f}, {detection.ms:.0f} ms)'
        )
        return
    rec = detection.recognition
    if rec is None:
        _out(f"{where}: - (no speech found)")
        return
    heard = f'; grammar heard "{rec.text}"' if rec.text else ""
    opened = f'; open pass heard "{rec.open_text}"' if rec.open_text else ""
    reason = rec.reason or "no intent matches"
    _out(f"{where}: - ({reason}{heard}{opened}; {detection.ms:.0f} ms)")


def cmd_detect(args: argparse.Namespace) -> int:
    """Decode WAV files (or raw PCM on stdin) and print the intent understood for each."""
    settings = _settings(args)
    library = _library(args, settings)
    models_dir = Path(args.models_dir) if args.models_dir else None
    if args.allow:
        allowed = frozenset(a.strip() for a in args.allow.split(",") if a.strip())
        unknown = sorted(allowed - set(library.intents.names))
        if unknown:
            raise HavenError(f"no such intent(s): {', '.join(unknown)}")
    else:
        allowed = top_level_intents(library)
    status = EXIT_OK
    adapted, tuning = True, None
    if args.stream:  # the live listening, which keeps the plain model for now
        from .live import LISTENING_ADAPTED, LISTENING_TUNING

        adapted, tuning = LISTENING_ADAPTED, LISTENING_TUNING
    with recognizer_for(library, settings, args.engine, models_dir, adapted,
                        tuning) as recognizer:  # fmt: skip
        if args.stream:
            from .listen.routes import addressed_intents

            named = addressed_intents(library.intents, settings.wake_name)
            engine = args.engine or settings.engine
            with make_recognizer(named, engine, vosk_model=settings.vosk_model,
                                 models_dir=models_dir, adapted=adapted,
                                 tuning=tuning) as addressed:  # fmt: skip
                return _detect_streams(args, library, settings, recognizer, allowed, addressed)
        for name in args.files:
            if name == "-":
                chunks = raw_pcm_chunks(sys.stdin.buffer, rate=args.rate, channels=args.channels)
                for found in detect_stream(
                    recognizer, library.intents, chunks, allowed, "-", settings.wake_name
                ):
                    _show(found, args.json)
                continue
            try:
                found = detect_file(
                    recognizer, library.intents, Path(name), allowed, settings.wake_name
                )
            except AudioError as exc:
                _err(f"haven: {exc}")
                status = EXIT_AUDIO
                continue
            _show(found, args.json)
    return status


def _detect_streams(
    args: argparse.Namespace,
    library: Library,
    settings: Settings,
    recognizer: Recognizer,
    allowed: frozenset[str],
    addressed: Recognizer,
) -> int:
    """``--stream``: the live listening over each file; one JSON line per intent fired."""
    from .listen.listener import build_listener

    listener = build_listener(recognizer, library.intents, library.safety,
                              default_models_dir(), settings.wake_name,
                              addressed=addressed)  # fmt: skip
    status = EXIT_OK
    for name in args.files:
        try:
            chunks = (
                raw_pcm_chunks(sys.stdin.buffer, rate=args.rate, channels=args.channels)
                if name == "-"
                else wav_to_chunks(Path(name))
            )
            for fired in listen_stream(listener, chunks, allowed, name):
                _out(json.dumps(fired.to_json(), ensure_ascii=False))
        except AudioError as exc:
            _err(f"haven: {exc}")
            status = EXIT_AUDIO
    return status


class _Bar:
    """A one-line progress bar per stage on stderr."""

    def __init__(self) -> None:
        self._stage = ""
        self._shown = -1

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self._stage:
            self.close()
            self._stage, self._shown = stage, -1
        mb = done / 1e6
        if total:
            percent = min(100, done * 100 // total)
            if percent == self._shown:
                return
            self._shown = percent
            filled = percent * 30 // 100
            line = f"{stage:8} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}% {mb:7.1f} MB"
        else:
            line = f"{stage:8} {mb:7.1f} MB"
        sys.stderr.write("\r" + line)
        sys.stderr.flush()

    def close(self) -> None:
        if self._stage:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._stage = ""


def cmd_models_install(args: argparse.Namespace) -> int:
    """Unpack, check and install a Vosk model archive or URL into models/."""
    models_dir = Path(args.models_dir) if args.models_dir else None
    bar = _Bar() if not args.quiet else None
    try:
        target = install_model(args.source, models_dir, bar, replace=args.replace)
    finally:
        if bar is not None:
            bar.close()
    _out(f"installed {target}")
    _out("use it with `engine: vosk` in the settings, or `haven detect --engine vosk FILE.wav`")
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``detect`` and ``models`` to the haven command line."""
    p = subparsers.add_parser(
        "detect",
        help="what Haven understands in WAV files (or raw PCM on stdin)",
        description="Run each file through the live loop's recognizer and matcher, with "
        "every intent that is live while Haven is idle, and print one line per file.",
    )
    p.add_argument("files", nargs="+", metavar="FILE.wav", help='WAV files; "-" reads stdin')
    p.add_argument("--engine", choices=ENGINES, default=None, help="default: the settings'")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--stream", action="store_true",
        help="run the live listening (wake phrase, always-armed pause) over each file as one "
        "stream; print a JSON line per intent fired: file, t, intent, slots, via",
    )  # fmt: skip
    p.add_argument("--allow", default="", help="comma-separated intents (default: top level)")
    p.add_argument("--rate", type=int, default=16000, help="stdin sample rate (s16le)")
    p.add_argument("--channels", type=int, default=1, help="stdin channels")
    p.add_argument("--models-dir", default=None, help="where Vosk models are (default models/)")
    p.set_defaults(func=cmd_detect)

    models = subparsers.add_parser(
        "models", help="speech models", description="Manage speech models."
    )
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    p = msub.add_parser(
        "install",
        help="install a Vosk model from an archive or URL",
        description="Unpack a Vosk model (.zip or .tar.gz, a file or a URL), check that it "
        "has am/, conf/ and graph/, and put it in models/.",
    )
    p.add_argument("source", metavar="ARCHIVE_OR_URL")
    p.add_argument("--models-dir", default=None, help="install here (default models/)")
    p.add_argument("--replace", action="store_true", help="replace a model of the same name")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_models_install)
