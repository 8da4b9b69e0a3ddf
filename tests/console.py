"""Test helper: a process's stdout read on a thread, so a test can wait for a line."""

from __future__ import annotations

import queue
import subprocess
import threading
import time


class Console:
    """Reads a process's stdout on a thread, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str], timeout: float = 60) -> None:
        self.timeout = timeout
        """How long :meth:`wait_for` waits by default (s)."""
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(proc,), name="console")
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float | None = None) -> str:
        """The next line containing ``text``; the lines before it are kept too."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"never saw {text!r}; saw:\n" + "\n".join(self.lines))

    def join(self) -> None:
        self._thread.join(timeout=10)
        while not self._queue.empty():
            self.lines.append(self._queue.get())

    def heard(self) -> list[str]:
        """The intents acted on, in order."""
        return [line.split("heard: ")[1].split()[0] for line in self.lines if "(heard:" in line]
