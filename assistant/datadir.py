"""The users' data folder: private (0700), and used by one Haven at a time."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .errors import StorageError

LOCK_FILE = ".lock"


def prepare(path: Path) -> Path:
    """Create the folder if needed and make it private to the user (0700)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)
    except OSError as exc:
        raise StorageError(
            f"{path}: cannot create the data folder: {exc.strerror or exc}; "
            "choose another with --data-dir"
        ) from exc
    return path


class InstanceLock:
    """Held while a session runs, so two Havens never share one log. A context manager."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"{self._path}: cannot create the lock: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StorageError(
                f"{self._path.parent}: Haven is already running with this data folder "
                f"(pid {holder}); stop it first, or use another --data-dir"
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
