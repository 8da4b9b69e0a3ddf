"""A throwaway user-mode PulseAudio server with a virtual speaker and microphone.

``pulse_server`` (session-scoped) starts the daemon from design.md's recipe in a temp
dir: a null sink ``vsink`` (16 kHz mono) and a virtual source ``vmic`` fed by its
monitor, both defaults. Whatever is played to the default output (or with
:func:`play_into_mic`) is heard on the default input. PortAudio reaches it through the
ALSA ``pulse`` plugin, as devices named ``pulse`` and ``default``.

Two things the recipe alone does not give:

- The null sink runs with 2 s blocks when nobody asks for less, so a new stream can wait
  up to 2 s for its first callback. The fixture keeps a 10 ms ``pacat`` playing
  silence into the sink, which holds it at low latency, and suspends and resumes the
  sink once so that its first 2 s block is cut short too.
- PortAudio lists devices once, when it loads, so the fixture rescans after the server
  is up and again after it is gone.

A device that vanishes: PulseAudio normally *rescues* a stream whose source is removed by
moving it to another source (the sink's monitor, here), so the client never notices. A
daemon started with ``PulseDaemon(directory, rescue_streams=False)`` kills the stream
instead, as a device that is really gone does (an unplugged ALSA card); the stream must
then be on a source that is not the default (``PULSE_SOURCE``), because a change of the
default source moves streams regardless. :func:`remove_source` and :func:`restore_source`
unload and re-create ``vmic`` under the same name.

Without the ``pulseaudio`` tools the tests skip, unless ``HAVEN_REQUIRE_AUDIO=1`` (set by
``make test``), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest

REQUIRE_ENV = "HAVEN_REQUIRE_AUDIO"
TOOLS = ("pulseaudio", "pactl", "paplay", "parec", "pacat")
SINK = "vsink"
SOURCE = "vmic"
RATE = 16000
_ENV_KEYS = ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME")


class PulseUnavailable(Exception):
    """The daemon cannot be started here."""


@dataclass(frozen=True)
class PulseServer:
    """A running daemon."""

    directory: Path
    """Its runtime dir, HOME and socket dir."""
    pid: int
    """The daemon's process id."""

    @property
    def address(self) -> str:
        """The value for ``PULSE_SERVER``."""
        return f"unix:{self.directory / 'native'}"

    def env(self) -> dict[str, str]:
        """The variables that point a client at this server."""
        return {
            "PULSE_SERVER": self.address,
            "XDG_RUNTIME_DIR": str(self.directory),
            "HOME": str(self.directory),
        }


def missing_tools() -> str:
    """Which PulseAudio tools are missing, with the apt hint; empty when all are here."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return ""
    return (
        f"{', '.join(missing)} not installed "
        "(apt-get install pulseaudio pulseaudio-utils libasound2-plugins)"
    )


def _config(directory: Path) -> str:
    return "\n".join(
        [
            "load-module module-native-protocol-unix auth-anonymous=1 "
            f"socket={directory / 'native'}",
            f"load-module module-null-sink sink_name={SINK} rate={RATE} channels=1",
            f"load-module module-virtual-source source_name={SOURCE} master={SINK}.monitor",
            f"set-default-sink {SINK}",
            f"set-default-source {SOURCE}",
            "load-module module-always-sink",
            "",
        ]
    )


def _alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"pulseaudio" in cmdline and Path(f"/proc/{pid}").exists()


class PulseDaemon:
    """Starts and always stops one daemon in ``directory`` (a context manager).

    ``rescue_streams=False`` makes the daemon kill a stream whose device goes away
    instead of moving it elsewhere (``rescue-streams = no`` in its daemon.conf).
    """

    def __init__(self, directory: Path, *, rescue_streams: bool = True) -> None:
        self.directory = directory
        self.rescue_streams = rescue_streams
        self.server: PulseServer | None = None
        self._keepalive: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PulseServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PULSE_SERVER=f"unix:{self.directory / 'native'}",
            XDG_RUNTIME_DIR=str(self.directory),
            HOME=str(self.directory),
        )
        return env

    def start(self, timeout: float = 10.0) -> PulseServer:
        missing = missing_tools()
        if missing:
            raise PulseUnavailable(missing)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        config = self.directory / "pa.pa"
        config.write_text(_config(self.directory))
        if not self.rescue_streams:  # read from $HOME/.config/pulse (HOME is the dir)
            conf_dir = self.directory / ".config" / "pulse"
            conf_dir.mkdir(parents=True, exist_ok=True)
            (conf_dir / "daemon.conf").write_text("rescue-streams = no\n")
        log = self.directory / "pulse.log"
        env = self._env()
        started = subprocess.run(
            [
                "pulseaudio",
                "-n",
                "-F",
                str(config),
                "--exit-idle-time=-1",
                "--daemonize=yes",
                "--system=false",
                f"--log-target=file:{log}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        pid_file = self.directory / "pulse" / "pid"
        deadline = time.monotonic() + timeout
        while True:
            if pid_file.exists() and self.server is None:
                with contextlib.suppress(ValueError):
                    self.server = PulseServer(self.directory, int(pid_file.read_text().strip()))
            info = subprocess.run(
                ["pactl", "info"], env=env, capture_output=True, timeout=timeout, check=False
            )
            if info.returncode == 0 and self.server is not None:
                break
            if time.monotonic() > deadline:
                details = started.stderr.strip()
                if log.exists():
                    details += "\n" + log.read_text(errors="replace")[-2000:]
                raise PulseUnavailable(
                    f"pulseaudio did not answer (exit {started.returncode}): {details}"
                )
            time.sleep(0.05)
        # Hold the null sink at 10 ms blocks (otherwise a new stream can wait up to 2 s
        # for its first callback) by playing silence into it at low latency.
        self._keepalive = subprocess.Popen(
            [
                "pacat",
                "--playback",
                f"--device={SINK}",
                "--latency-msec=10",
                "--raw",
                f"--rate={RATE}",
                "--channels=1",
                "--format=s16le",
                "/dev/zero",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not self._keepalive_connected(env):
            if time.monotonic() > deadline or self._keepalive.poll() is not None:
                raise PulseUnavailable("pacat could not play into the virtual sink")
            time.sleep(0.02)
        # The sink's first block was scheduled at 2 s before anyone asked for less:
        # suspending and resuming it restarts its clock at the low latency.
        for suspend in ("1", "0"):
            subprocess.run(
                ["pactl", "suspend-sink", SINK, suspend], env=env, timeout=10, check=True
            )
        return self.server

    @staticmethod
    def _keepalive_connected(env: dict[str, str]) -> bool:
        inputs = subprocess.run(
            ["pactl", "list", "short", "sink-inputs"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return bool(inputs.stdout.strip())

    def stop(self) -> None:
        """Stop the daemon, gently then by pid. Safe to call at any point."""
        if self._keepalive is not None:
            self._keepalive.terminate()
            try:
                self._keepalive.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._keepalive.kill()
                self._keepalive.wait()
            self._keepalive = None
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                ["pulseaudio", "--kill"], env=self._env(), capture_output=True, timeout=5
            )
        pid_file = self.directory / "pulse" / "pid"
        pid = self.server.pid if self.server else None
        if pid is None and pid_file.exists():
            with contextlib.suppress(ValueError, OSError):
                pid = int(pid_file.read_text().strip())
        if pid is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                deadline = time.monotonic() + 2
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not _alive(pid):
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        self.server = None


def _rescan() -> None:
    """Make PortAudio (if loaded) see the current sound server."""
    from assistant.devices import rescan

    rescan()


def require_pulse_tools() -> None:
    """Skip the calling test when the tools are missing (fail with HAVEN_REQUIRE_AUDIO=1)."""
    missing = missing_tools()
    if missing:
        _unavailable(missing)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but no PulseAudio test server: {reason}", pytrace=False)
    pytest.skip(f"no PulseAudio test server: {reason}")


@pytest.fixture(scope="session")
def pulse_server() -> Iterator[PulseServer]:
    """A private PulseAudio daemon, with this process's environment pointed at it."""
    # Unix socket paths are limited to about 100 bytes: keep the dir short.
    directory = Path(tempfile.mkdtemp(prefix="haven-pa-", dir="/tmp"))
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    daemon = PulseDaemon(directory)
    try:
        try:
            server = daemon.start()
        except PulseUnavailable as exc:
            _unavailable(str(exc))
        os.environ.update(server.env())
        _rescan()
        yield server
    finally:
        daemon.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with contextlib.suppress(Exception):
            _rescan()
        shutil.rmtree(directory, ignore_errors=True)


def start_playing_into_mic(
    wav_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``paplay --device=vsink wav_path``: the virtual microphone hears it.

    ``env`` points at a server other than this process's (see :meth:`PulseServer.env`).
    """
    return subprocess.Popen(
        ["paplay", f"--device={SINK}", str(wav_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=None if env is None else {**os.environ, **env},
    )


def play_into_mic(wav_path: Path, timeout: float = 30.0, env: dict[str, str] | None = None) -> None:
    """Play ``wav_path`` into the virtual microphone and wait until it has played."""
    player = start_playing_into_mic(wav_path, env)
    _, err = player.communicate(timeout=timeout)
    if player.returncode != 0:
        raise RuntimeError(f"paplay failed ({player.returncode}): {err.decode(errors='replace')}")


def pactl(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``pactl args`` (on the server ``env`` names, else this process's); its stdout."""
    done = subprocess.run(
        ["pactl", *args],
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def source_exists(name: str = SOURCE, env: dict[str, str] | None = None) -> bool:
    """Whether the server has a source called ``name``."""
    rows = pactl("list", "short", "sources", env=env).splitlines()
    return any(row.split("\t")[1:2] == [name] for row in rows)


def remove_source(env: dict[str, str] | None = None) -> None:
    """Unload the virtual microphone ``vmic``, as if it were unplugged."""
    modules = pactl("list", "short", "modules", env=env).splitlines()
    ids = [
        row.split("\t")[0]
        for row in modules
        if "module-virtual-source" in row and f"source_name={SOURCE}" in row
    ]
    if not ids:
        raise RuntimeError(f"no module-virtual-source for {SOURCE} is loaded")
    for module in ids:
        pactl("unload-module", module, env=env)


def restore_source(env: dict[str, str] | None = None) -> None:
    """Create the virtual microphone ``vmic`` again, under the same name."""
    pactl(
        "load-module",
        "module-virtual-source",
        f"source_name={SOURCE}",
        f"master={SINK}.monitor",
        env=env,
    )


class SinkRecorder:
    """Records what reaches a sink (its monitor; the virtual sink by default) with
    ``parec``, 10 ms at a time, on this process's server or the one ``env`` names.

    Each block is kept with the ``time.monotonic()`` it arrived, to see when sound
    started and stopped. A context manager; its reader thread is ``sink-recorder``.
    """

    BLOCK = RATE // 100

    def __init__(self, sink: str = SINK, env: dict[str, str] | None = None) -> None:
        self.blocks: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={sink}.monitor",
                "--latency-msec=10",
                f"--rate={RATE}",
                "--channels=1",
                "--format=s16le",
                "--raw",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=None if env is None else {**os.environ, **env},
        )
        self._thread = threading.Thread(target=self._read, name="sink-recorder", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while True:
            data = self._proc.stdout.read(2 * self.BLOCK)
            if not data:
                return
            block = np.frombuffer(data, dtype="<i2")
            with self._lock:
                self.blocks.append((time.monotonic(), block))

    def loud_times(self, threshold: int = 500) -> list[float]:
        """Arrival times of blocks whose peak exceeds ``threshold``."""
        with self._lock:
            return [at for at, block in self.blocks if int(np.abs(block).max()) > threshold]

    def wait_for_blocks(self, timeout: float = 3.0) -> None:
        """Block until the recorder delivers audio (the stream is running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.blocks:
                    return
            time.sleep(0.01)
        raise RuntimeError("parec delivered nothing")

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._thread.join(timeout=5)

    def __enter__(self) -> SinkRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def add_sink(name: str, env: dict[str, str] | None = None) -> None:
    """Create a null sink ``name`` (16 kHz mono), like ``vsink``."""
    pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={RATE}",
          "channels=1", env=env)  # fmt: skip


def sink_exists(name: str, env: dict[str, str] | None = None) -> bool:
    """Whether the server has a sink called ``name``."""
    rows = pactl("list", "short", "sinks", env=env).splitlines()
    return any(row.split("\t")[1:2] == [name] for row in rows)


def remove_sink(name: str, env: dict[str, str] | None = None) -> None:
    """Unload the null sink ``name``, as if the speaker were unplugged."""
    modules = pactl("list", "short", "modules", env=env).splitlines()
    ids = [
        row.split("\t")[0]
        for row in modules
        if "module-null-sink" in row and f"sink_name={name}" in row.split()
    ]
    if not ids:
        raise RuntimeError(f"no module-null-sink for {name} is loaded")
    for module in ids:
        pactl("unload-module", module, env=env)


class NamedSinkRecorder(SinkRecorder):
    """A :class:`SinkRecorder` on the monitor of sink ``sink`` of the server ``env`` names
    (else this process's). Once recording, the sink is suspended and resumed, so that it
    runs at the recorder's 10 ms latency at once (a new null sink starts with 2 s blocks).
    It stops by itself when the sink is removed."""

    def __init__(self, sink: str, env: dict[str, str] | None = None) -> None:
        monitor = next(
            (
                row.split("\t")[0]
                for row in pactl("list", "short", "sources", env=env).splitlines()
                if row.split("\t")[1:2] == [f"{sink}.monitor"]
            ),
            None,
        )
        if monitor is None:
            raise RuntimeError(f"no sink {sink}")
        super().__init__(sink, env)
        deadline = time.monotonic() + 5
        while not any(
            row.split("\t")[1:2] == [monitor]
            for row in pactl("list", "short", "source-outputs", env=env).splitlines()
        ):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.close()
                raise RuntimeError(f"parec could not record {sink}.monitor")
            time.sleep(0.02)
        for suspend in ("1", "0"):
            pactl("suspend-sink", sink, suspend, env=env)
