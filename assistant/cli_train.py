"""``haven train``: make the listening detectors from the intents YAML (the CLI side).

``register(subparsers)`` adds the command; the lead's ``build_parser`` calls it. This is
the only part of the listening code that prints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from platformdirs import user_cache_path

from .config import SETTINGS_FILE, Settings, default_data_dir
from .library import default_intents_dir, default_models_dir
from .listen.manifest import lang_dir_of
from .listen.synth import engines_missing
from .listen.train import SIZES, TrainConfig, train

EXIT_OK, EXIT_MODEL = 0, 5


def _out(text: str) -> None:
    print(text, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    """Synthesize training speech, fit the detectors, write them and their manifest."""
    missing = engines_missing()
    if missing:
        print(f"haven: missing programs: {', '.join(missing)}; "
              "apt-get install espeak-ng flite sox", file=sys.stderr, flush=True)
        return EXIT_MODEL
    data_dir = Path(args.data_dir) if getattr(args, "data_dir", None) else default_data_dir()
    settings = Settings.load(data_dir / SETTINGS_FILE)
    intents = Path(args.intents) if getattr(args, "intents", None) else default_intents_dir()
    models = Path(args.models) if args.models else default_models_dir()
    cache = Path(args.cache) if args.cache else user_cache_path("haven") / "listen"
    config = TrainConfig(
        lang_dir=lang_dir_of(intents, settings),
        models_dir=models,
        cache_dir=cache,
        wake_name=settings.wake_name,
        size=args.size,
        seed=args.seed,
        haven_rate=settings.rate,
        partners=(settings.partner_a, settings.partner_b),
    )
    _out(f"Training detectors for '{settings.wake_name}' ({args.size}, seed {args.seed}); "
         f"clips cached in {cache}")
    started = time.monotonic()
    result = train(config, _out)
    for name, info in result.manifest["detectors"].items():
        val = info["validation"]
        _out(f"  {name}: threshold {info['threshold']:.2f}, validation recall "
             f"{val['validation_recall']:.0%}, {val['validation_false_fires']} false fires in "
             f"{val['validation_negatives']} ordinary utterances")
    _out(f"Wrote {len(result.files)} files to {result.files[0].parent} "
         f"in {time.monotonic() - started:.0f} s")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``haven train`` to the CLI's subcommands."""
    text = "make the listening detectors (wake phrase, pause, replies) from the intents"
    parser: argparse.ArgumentParser = subparsers.add_parser("train", help=text, description=text)
    parser.add_argument("--size", choices=sorted(SIZES), default="full",
                        help="small: about two minutes, for tests; full: the shipped detectors")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--models", default=None, help="models folder (default: models/)")
    parser.add_argument("--cache", default=None, help="where synthesized clips are cached")
    parser.set_defaults(func=cmd_train)
    return parser


def cmd_adapt(args: argparse.Namespace) -> int:
    """Fit pocketsphinx's model to Haven's front end and noise; write the adapted model."""
    from .library import Library
    from .stt.adapt import INSTALL_HINT, AdaptConfig, adapt, tools_missing

    missing = tools_missing() + engines_missing()
    if missing:
        print(f"haven: missing programs: {', '.join(missing)}; {INSTALL_HINT} espeak-ng flite sox",
              file=sys.stderr, flush=True)
        return EXIT_MODEL
    intents = Path(args.intents) if getattr(args, "intents", None) else default_intents_dir()
    models = Path(args.models) if args.models else default_models_dir()
    library = Library.load(intents)
    config = AdaptConfig(models_dir=models, utterances=args.utterances, rounds=args.rounds,
                         seed=args.seed)  # fmt: skip
    started = time.monotonic()
    result = adapt(library.intents, config, _out)
    _out(f"Wrote the adapted model to {result.folder} from "
         f"{result.manifest['utterances']} utterances in {time.monotonic() - started:.0f} s")
    return EXIT_OK


def register_adapt(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``haven adapt`` to the CLI's subcommands."""
    text = ("fit the speech model to Haven's noise filter and to noisy rooms "
            "(needs Debian's sphinxtrain and pocketsphinx)")
    parser: argparse.ArgumentParser = subparsers.add_parser("adapt", help=text, description=text)
    parser.add_argument("--utterances", type=int, default=900,
                        help="sentences to render per round (each heard clean and at 20, 10 "
                        "and 5 dB)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of re-estimation, each on new sentences")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--models", default=None, help="models folder (default: models/)")
    parser.set_defaults(func=cmd_adapt)
    return parser
