"""The ``haven`` command line. The only place that prints and picks exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__, datadir
from .check import check_all, stale_detectors
from .clock import ManualClock
from .config import SETTINGS_FILE, Settings, default_data_dir
from .engine import Engine
from .errors import AudioError, ConfigError, HavenError, ModelError, StorageError
from .history import describe
from .library import Library, default_intents_dir, default_models_dir
from .log import FILENAME, SessionLog
from .logkeeper import LogKeeper
from .schedule import Scheduler
from .session import Session
from .textmode import TextConversation

EXIT_OK, EXIT_CONFIG, EXIT_USAGE, EXIT_AUDIO, EXIT_STORAGE, EXIT_MODEL = 0, 1, 2, 3, 4, 5
_LOG = logging.getLogger("haven")


class UsageError(Exception):
    """A command-line argument that cannot be used."""


def _out(text: str) -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _data_dir(args: argparse.Namespace) -> Path:
    return datadir.prepare(Path(args.data_dir) if args.data_dir else default_data_dir())


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(_data_dir(args) / SETTINGS_FILE)


def _library(args: argparse.Namespace, settings: Settings) -> Library:
    return Library.load(
        Path(args.intents) if args.intents else default_intents_dir(), settings.language
    )


def cmd_text(args: argparse.Namespace) -> int:
    """Typed conversation over the engine."""
    settings = _settings(args)
    library = _library(args, settings)
    start = _parse_start(args.start) if getattr(args, "start", None) else time.time()
    clock = ManualClock(start)
    rng = random.Random(args.seed)
    data_dir = _data_dir(args)
    with datadir.InstanceLock(data_dir):
        logs = LogKeeper(
            lambda: SessionLog.in_data_dir(data_dir),
            "text",
            on_problem=lambda m: _err(f"warning: {m}; Haven keeps going without the log"),
        )
        holder: list[TextConversation] = []
        session = Session(
            Engine(library, settings, clock, rng),
            logs,
            lambda e: holder[0].show(e),
            scheduler=Scheduler(settings.schedule(), start),
        )
        convo = TextConversation(
            session, library.intents, library.safety, clock, settings.wake_name, _out, args.json
        )
        holder.append(convo)
        with session:
            if session.interrupted_before and not args.json:
                _out(
                    f"  (note: {len(session.interrupted_before)} earlier session(s) ended "
                    "unexpectedly; their log is kept)"
                )
            if not args.json and sys.stdin.isatty():
                _out("Type what you would say; ':wait 20m' moves time on, ':quit' ends.")
            convo.run(sys.stdin)
    return EXIT_OK


def _parse_start(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError as exc:
        raise UsageError(f"--start '{text}': write it like 2026-11-24T21:00") from exc


def cmd_schedule(args: argparse.Namespace) -> int:
    """Show or set when bedtime gratitude and the weekly check-in are offered."""
    path = _data_dir(args) / SETTINGS_FILE
    settings = Settings.load(path)
    changes: dict[str, Any] = {}
    if args.clear:
        changes = {"gratitude_at": "", "weekly_checkin_at": ""}
    if args.gratitude is not None:
        changes["gratitude_at"] = "" if args.gratitude == "off" else args.gratitude
    if args.weekly is not None:
        changes["weekly_checkin_at"] = "" if args.weekly == "off" else args.weekly
    if changes:
        settings = replace(settings, **changes)
        problems = settings.problems()
        if problems:
            for _, message, hint in problems:
                _err(f"haven schedule: {message}" + (f" ({hint})" if hint else ""))
            return EXIT_USAGE
        settings.save(path)
    _out(f"bedtime gratitude: {settings.gratitude_at or 'not scheduled'} (daily)")
    _out(f"weekly check-in: {settings.weekly_checkin_at or 'not scheduled'}")
    if changes:
        _out(
            "Haven offers these while `haven run` is on; a time missed while it was off "
            "is not replayed later."
        )
    return EXIT_OK


def cmd_setup(args: argparse.Namespace) -> int:
    """Ask for the personal settings in text and save them."""
    path = _data_dir(args) / SETTINGS_FILE
    current = Settings.load(path)
    answers = iter(sys.stdin.readline, "")
    values: dict[str, Any] = {}
    for key, question, convert in SETUP_QUESTIONS:
        shown = getattr(current, key)
        while True:
            _out(f"{question} [{shown}]: ")
            line = next(answers, "").strip()
            if not line:
                break
            try:
                value: Any = convert(line)
            except ValueError as exc:
                _out(f"  {exc}")
                continue
            trial: dict[str, Any] = {key: value}
            problems = [p for p in replace(current, **trial).problems() if p[0] == key]
            if problems:
                _out(f"  {problems[0][1]}" + (f" ({problems[0][2]})" if problems[0][2] else ""))
                continue
            values[key] = value
            break
    settings = replace(current, **values)
    settings.save(path)
    _out(f"Saved to {path}. Thank you, {settings.partner_a} and {settings.partner_b}.")
    return EXIT_OK


def _lead(text: str) -> str:
    low = text.strip().lower()
    if low in ("a", "b"):
        return low
    raise ValueError("answer a or b")


SETUP_QUESTIONS: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("partner_a", "First partner's name", str),
    ("partner_b", "Second partner's name", str),
    ("lead", "Who goes first in turn-taking, a or b", _lead),
    ("pause_minutes", "Pause length in minutes (20 or more)", int),
    ("voice", "Voice (a name fragment, empty for the default)", str),
    ("rate", "Speaking rate in words per minute", int),
    ("locale", "Locale (en-US or en-GB)", str),
)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check microphone, speaker, TTS, recognizer, data folder and disk."""
    from .doctor import run_checks

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    try:
        settings = Settings.load(data_dir / SETTINGS_FILE)
    except ConfigError:
        settings = Settings()
    intents = Path(args.intents) if args.intents else default_intents_dir()
    results = run_checks(settings, data_dir, intents, default_models_dir())
    width = max(len(r.name) for r in results)
    for result in results:
        mark = "ok " if result.ok else "FIX"
        _out(f"{mark} {result.name:<{width}}  {result.detail}")
        if not result.ok and result.fix:
            _out(f"    {'':<{width}}  -> {result.fix}")
    bad = [r for r in results if not r.ok]
    _out("All good." if not bad else f"{len(bad)} thing(s) to fix.")
    return EXIT_OK if not bad else EXIT_CONFIG


def cmd_devices(args: argparse.Namespace) -> int:
    """List audio inputs and outputs."""
    from .devices import list_devices

    devices = list_devices()
    if args.json:
        for dev in devices:
            _out(json.dumps(asdict(dev)))
        return EXIT_OK
    if not devices:
        _out("No audio devices found. `haven run --text` works without any.")
    for dev in devices:
        roles = [r for r, n in (("in", dev.inputs), ("out", dev.outputs)) if n]
        default = [
            d
            for d, flag in (
                ("default input", dev.is_default_input),
                ("default output", dev.is_default_output),
            )
            if flag
        ]
        extra = f" ({', '.join(default)})" if default else ""
        _out(
            f"{dev.index:>3}  {dev.name}  [{'/'.join(roles)}, "
            f"{dev.default_samplerate:.0f} Hz]{extra}"
        )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """The live loop; with no microphone, a clear message and text mode instead."""
    if args.text:
        return cmd_text(args)
    from .errors import NoDeviceError
    from .live import no_microphone_message, run_live

    settings = _settings(args)
    library = _library(args, settings)
    data_dir = _data_dir(args)
    try:
        with datadir.InstanceLock(data_dir):
            return run_live(args, library, settings, data_dir, _out, _err)
    except NoDeviceError as exc:
        _err(no_microphone_message(exc))
    return cmd_text(args)


def cmd_demo(args: argparse.Namespace) -> int:
    """Two synthesized partners and Haven, through the real hearing."""
    import tempfile

    from .live import run_demo

    settings = _settings(args) if args.data_dir else Settings()
    library = _library(args, settings)
    if args.data_dir:
        data_dir = _data_dir(args)
        with datadir.InstanceLock(data_dir):
            return run_demo(library, settings, data_dir, args.speed, _out, _err)
    with tempfile.TemporaryDirectory(prefix="haven-demo-") as tmp:
        return run_demo(library, settings, datadir.prepare(Path(tmp)), args.speed, _out, _err)


def cmd_check(args: argparse.Namespace) -> int:
    root = Path(args.intents) if args.intents else default_intents_dir()
    data_dir = Path(args.data_dir) if args.data_dir else None
    problems = check_all(root, data_dir)
    for problem in problems:
        _out(str(problem))
    stale = stale_detectors(root, default_models_dir(), data_dir)
    if stale:
        _err(f"warning: {stale}")
    if problems:
        _err(f"{len(problems)} problem(s) found")
        return EXIT_CONFIG
    _out(f"ok: {root} is valid")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    with SessionLog.in_data_dir(_data_dir(args)) as log:
        summaries = log.sessions(args.limit)
    if args.json:
        for summary in summaries:
            _out(json.dumps(summary.to_dict()))
        return EXIT_OK
    if not summaries:
        _out("No sessions yet.")
    for summary in summaries:
        for line in describe(summary):
            _out(line)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with SessionLog.in_data_dir(_data_dir(args)) as log:
        data = log.export()
    if args.last:
        data["sessions"] = data["sessions"][-1:]
    text = json.dumps(data, indent=2)
    if args.output in (None, "-"):
        _out(text)
        return EXIT_OK
    path = Path(args.output)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the export: {exc}") from exc
    _err(f"exported {len(data['sessions'])} session(s) to {path}")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    what = "the last session" if args.last else "every session"
    if not args.yes:
        if not sys.stdin.isatty():
            _err(f"haven forget deletes {what} for good; add --yes to confirm")
            return EXIT_USAGE
        answer = input(f"Delete {what} from the log for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            _out("Nothing deleted.")
            return EXIT_OK
    data_dir = _data_dir(args)
    with datadir.InstanceLock(data_dir):
        try:
            log = SessionLog.in_data_dir(data_dir)
        except StorageError:
            if args.last:
                raise
            return _set_aside(data_dir)
        with log:
            removed = log.forget(last=args.last)
    _out(f"Forgot {removed} session(s).")
    return EXIT_OK


def _set_aside(data_dir: Path) -> int:
    """The log cannot be opened: move it aside (never delete what we cannot read)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for path in sorted(data_dir.glob(f"{FILENAME}*")):
        target = path.with_name(f"{path.name}.unreadable-{stamp}")
        path.rename(target)
        moved.append(target)
    for target in moved:
        _out(f"Moved the unreadable log aside: {target}")
    _out("A new, empty log starts next time. Delete the moved file yourself when sure.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (built on demand, never at import time)."""
    parser = argparse.ArgumentParser(
        prog="haven", description="Haven: a voice companion for couples, fully offline."
    )
    parser.add_argument("--version", action="version", version=f"haven {__version__}")
    parser.add_argument("--data-dir", help="where the log and settings live")
    parser.add_argument("--intents", help="folder of intents, prompts and practices")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(func=fn)
        return p

    p = add("run", cmd_run, "listen and guide, hands-free (the main job)")
    p.add_argument("--text", action="store_true", help="type instead of speaking")
    p.add_argument("--json", action="store_true", help="with --text: JSON events")
    p.add_argument(
        "--echo-cancel",
        action="store_true",
        help="take Haven's own voice out of the microphone (PulseAudio/PipeWire's echo "
        "canceller), so a pause is heard even over a loud speaker",
    )
    p.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--start", default=None, help=argparse.SUPPRESS)
    p = add("demo", cmd_demo, "two synthesized partners show what Haven does (no audio needed)")
    p.add_argument("--speed", type=float, default=1.0, help="faster than real time, like 3")
    p = add("text", cmd_text, "a typed conversation, same engine, no audio")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.add_argument("--seed", type=int, default=None, help="fix the choice of phrasings")
    p.add_argument(
        "--start",
        default=None,
        help="start the clock at this local time, like 2026-11-24T21:00 (to try schedules)",
    )
    p = add("schedule", cmd_schedule, "offer bedtime gratitude daily, the weekly check-in weekly")
    p.add_argument("--gratitude", metavar="HH:MM", help="daily time, or 'off'")
    p.add_argument("--weekly", metavar="'DAY HH:MM'", help="like 'sun 19:00', or 'off'")
    p.add_argument("--clear", action="store_true", help="remove both")
    add("setup", cmd_setup, "names, who goes first, pause length, voice (asked in text)")
    add("check", cmd_check, "validate all YAML; file:line for each problem")
    add("doctor", cmd_doctor, "check microphone, speaker, voice, recognizer, data folder, disk")
    p = add("devices", cmd_devices, "list audio inputs and outputs")
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p = add("history", cmd_history, "list past sessions")
    p.add_argument("--json", action="store_true", help="one JSON object per session")
    p.add_argument("--limit", type=int, default=None, help="newest N sessions only")
    p = add("export", cmd_export, "write the log as JSON")
    p.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    p.add_argument("--last", action="store_true", help="only the newest session")
    p = add("forget", cmd_forget, "delete sessions from the log for good")
    p.add_argument("--last", action="store_true", help="only the newest session")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    from . import cli_hearing, cli_train

    cli_hearing.register(sub)
    cli_train.register(sub)
    cli_train.register_adapt(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="haven: %(levelname)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err("fix the file(s) above; `haven check` lists every problem")
        return EXIT_CONFIG
    except ModelError as exc:
        _err(f"haven: {exc}")
        return EXIT_MODEL
    except AudioError as exc:
        _err(f"haven: {exc}")
        return EXIT_AUDIO
    except StorageError as exc:
        _err(f"haven: {exc}")
        return EXIT_STORAGE
    except HavenError as exc:
        _err(f"haven: {exc}")
        return EXIT_CONFIG
    except UsageError as exc:
        _err(f"haven: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
