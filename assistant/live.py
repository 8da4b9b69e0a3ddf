"""``haven run``: the live loop, or a clear fallback to text mode."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from .config import Settings

_LOG = logging.getLogger(__name__)


def run_live(
    args: argparse.Namespace,
    settings: Settings,
    data_dir: Path,
    out: Callable[[str], None],
    err: Callable[[str], None],
    text_mode: Callable[[argparse.Namespace], int],
) -> int:
    """Start hands-free listening; with ``--text`` or no microphone, run text mode."""
    if args.text:
        return text_mode(args)
    err(
        "haven: hands-free listening is not available in this build yet; "
        "starting text mode instead (type what you would say)."
    )
    args.json = getattr(args, "json", False)
    return text_mode(args)
