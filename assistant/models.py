"""Vosk models: find one on disk, or install one from a downloaded archive or a URL.

A Vosk model is a folder with ``am/`` (acoustic model), ``conf/`` (feature and
decoder settings) and ``graph/`` (either a full ``HCLG.fst`` or the ``HCLr.fst`` +
``Gr.fst`` pair that allows runtime grammars). Haven never downloads one by itself:
``haven models install ARCHIVE_OR_URL`` does it when the user asks.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from .errors import ModelError
from .library import default_models_dir

_LOG = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
"""progress(stage, done, total): stage is "download" or "unpack"; sizes in bytes."""

INSTALL_HINT = "install one with `haven models install ARCHIVE_OR_URL` (a Vosk model .zip)"
_CHUNK = 1 << 16
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


def vosk_model_problems(path: Path) -> list[str]:
    """What is missing for ``path`` to be a usable Vosk model (empty when it is one)."""
    if not path.is_dir():
        return [f"{path} is not a folder"]
    problems = []
    if not (path / "am" / "final.mdl").is_file():
        problems.append("am/final.mdl is missing")
    if not (path / "conf" / "model.conf").is_file() and not (path / "conf" / "mfcc.conf").is_file():
        problems.append("conf/model.conf is missing")
    graph = path / "graph"
    has_full = (graph / "HCLG.fst").is_file()
    has_lookahead = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not has_full and not has_lookahead:
        problems.append("graph/ has neither HCLG.fst nor HCLr.fst with Gr.fst")
    return problems


def is_vosk_model(path: Path) -> bool:
    """Whether ``path`` is a complete Vosk model folder."""
    return not vosk_model_problems(path)


def supports_grammar(path: Path) -> bool:
    """Whether the model can decode runtime grammars (phrase lists): it has HCLr + Gr."""
    return (path / "graph" / "HCLr.fst").is_file() and (path / "graph" / "Gr.fst").is_file()


def find_vosk_model(models_dir: Path | None = None, configured: str | Path = "") -> Path:
    """The Vosk model to use: the configured folder, else the first one in ``models_dir``.

    Raises ModelError naming ``haven models install`` when there is none.
    """
    if configured:
        path = Path(configured).expanduser()
        problems = vosk_model_problems(path)
        if problems:
            raise ModelError(
                f"the configured Vosk model {path} cannot be used: {'; '.join(problems)}; "
                + INSTALL_HINT
            )
        return path
    folder = models_dir or default_models_dir()
    found = sorted(p for p in folder.iterdir() if is_vosk_model(p)) if folder.is_dir() else []
    if not found:
        raise ModelError(f"no Vosk model found in {folder}; {INSTALL_HINT}")
    if len(found) > 1:
        _LOG.info("several Vosk models in %s; using %s", folder, found[0].name)
    return found[0]


def install_model(
    source: str | Path,
    models_dir: Path | None = None,
    progress: Progress | None = None,
    replace: bool = False,
) -> Path:
    """Unpack and verify a Vosk model archive (zip, tar.gz, tar) or URL into ``models_dir``.

    Returns the installed folder. Nothing is left behind on failure.
    """
    target_root = models_dir or default_models_dir()
    target_root.mkdir(parents=True, exist_ok=True)
    text = str(source)
    with tempfile.TemporaryDirectory(prefix=".install-", dir=target_root) as tmp:
        work = Path(tmp)
        if text.startswith(("http://", "https://")):
            archive = work / (PurePosixPath(text.split("?")[0]).name or "model.zip")
            _download(text, archive, progress)
        else:
            archive = Path(text).expanduser()
            if not archive.is_file():
                raise ModelError(f"{archive}: no such file")
        unpacked = work / "unpacked"
        unpacked.mkdir()
        _unpack(archive, unpacked, progress)
        root = _model_root(unpacked)
        problems = vosk_model_problems(root)
        if problems:
            raise ModelError(f"{archive.name} is not a Vosk model: {'; '.join(problems)}")
        name = root.name if root != unpacked else archive.name.split(".")[0]
        target = target_root / name
        if target.exists():
            if not replace:
                raise ModelError(f"{target} already exists; remove it first or pass --replace")
            shutil.rmtree(target)
        shutil.move(str(root), str(target))
    _LOG.info("installed Vosk model %s", target)
    return target


def _download(url: str, dest: Path, progress: Progress | None) -> None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response, dest.open("wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if progress:
                    progress("download", done, total)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot download {url}: {exc}; download the archive another way and run "
            "`haven models install FILE`"
        ) from exc


def _unpack(archive: Path, dest: Path, progress: Progress | None) -> None:
    name = archive.name.lower()
    try:
        if zipfile.is_zipfile(archive):
            _unzip(archive, dest, progress)
        elif name.endswith(_TAR_SUFFIXES) or tarfile.is_tarfile(archive):
            _untar(archive, dest, progress)
        else:
            raise ModelError(f"{archive}: not a zip or tar archive")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise ModelError(f"{archive}: cannot unpack: {exc}") from exc


def _safe_target(dest: Path, member: str) -> Path:
    target = (dest / member).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise ModelError(f"archive member {member!r} points outside the archive; refusing it")
    return target


def _unzip(archive: Path, dest: Path, progress: Progress | None) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        done = 0
        for member in members:
            target = _safe_target(dest, member.filename)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, target.open("wb") as out:
                while True:
                    block = src.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress("unpack", done, total)


def _untar(archive: Path, dest: Path, progress: Progress | None) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        total = sum(m.size for m in members if m.isfile())
        done = 0
        for member in members:
            target = _safe_target(dest, member.name)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                _LOG.info("skipping non-file archive member %s", member.name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            if src is None:
                continue
            with src, target.open("wb") as out:
                while True:
                    block = src.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress("unpack", done, total)


def _model_root(unpacked: Path) -> Path:
    """The folder holding am/: the top level or the one folder inside it."""
    if (unpacked / "am").is_dir():
        return unpacked
    entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        if (inner / "am").is_dir():
            return inner
        nested = [p for p in inner.iterdir() if (p / "am").is_dir()]
        if len(nested) == 1:
            return nested[0]
    for candidate in sorted(unpacked.rglob("am")):
        if candidate.is_dir():
            return candidate.parent
    return unpacked
