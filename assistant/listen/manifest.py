"""The detectors' manifest: how they were made, and whether they still fit the YAML."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ModelError

MANIFEST = "manifest.json"
RECIPE = "haven-listen-1"
"""Names the training recipe; part of the data hash, so a new recipe means retraining."""
TRAIN_HINT = "run `haven train` to make them (a few minutes, fully offline)"


def detectors_dir(models_dir: Path) -> Path:
    """Where detectors live inside a models folder."""
    return models_dir / "detectors"


def lang_dir_of(intents_dir: Path, settings: Settings) -> Path:
    """The language folder (``intents/en``) from either it or its parent ``intents/``."""
    if (intents_dir / "intents").is_dir():
        return intents_dir
    return intents_dir / settings.language


def data_hash(lang_dir: Path, wake_name: str) -> str:
    """SHA-256 over the intents YAML, the wake name and the recipe."""
    digest = hashlib.sha256()
    digest.update(f"{RECIPE}\n{wake_name.strip().lower()}\n".encode())
    files = sorted((lang_dir / "intents").glob("*.yaml"))
    lists = lang_dir / "lists.yaml"
    if lists.exists():
        files.append(lists)
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_manifest(models_dir: Path) -> dict[str, Any]:
    """The manifest as a dict; ModelError when it is missing or unreadable."""
    path = detectors_dir(models_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"no listening detectors in {path.parent}; {TRAIN_HINT}") from exc
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{path}: cannot read the detectors' manifest ({exc}); {TRAIN_HINT}"
        ) from exc
    if not isinstance(doc, dict) or doc.get("recipe") != RECIPE:
        raise ModelError(f"{path}: the detectors were made by an older Haven; {TRAIN_HINT}")
    return doc


def write_manifest(models_dir: Path, doc: dict[str, Any]) -> Path:
    """Write the manifest atomically."""
    path = detectors_dir(models_dir) / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def haven_train_is_stale(models_dir: Path, intents_dir: Path, settings: Settings) -> str | None:
    """Why the detectors need ``haven train`` again, or None when they fit the YAML."""
    try:
        doc = read_manifest(models_dir)
    except ModelError as exc:
        return str(exc)
    for name, info in dict(doc.get("detectors", {})).items():
        if not (detectors_dir(models_dir) / str(info.get("file", ""))).is_file():
            return f"the {name} detector file is missing; {TRAIN_HINT}"
    if str(doc.get("wake_name", "")).lower() != settings.wake_name.strip().lower():
        return (
            f"the detectors listen for '{doc.get('wake_name')}' but wake_name is "
            f"'{settings.wake_name}'; run `haven train`"
        )
    lang_dir = lang_dir_of(intents_dir, settings)
    if doc.get("data_hash") != data_hash(lang_dir, settings.wake_name):
        return (
            f"the intents in {lang_dir} changed since the detectors were made "
            f"({doc.get('created', '?')}); run `haven train`"
        )
    return None
