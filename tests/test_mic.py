"""MicSource against a virtual PulseAudio microphone, and its errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import RATE, AudioChunk, write_wav
from assistant.devices import find_device, list_devices
from assistant.errors import AudioError
from assistant.mic import NO_MICROPHONE, MicSource
from assistant.tts import Synthesizer
from tests.pulse import PulseDaemon, PulseServer, require_pulse_tools, start_playing_into_mic

REPO = Path(__file__).resolve().parents[1]


def rms(chunk: AudioChunk) -> float:
    return float(np.sqrt(np.mean(chunk.to_array().astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with Synthesizer(voice="en-us") as synth:
        samples = synth.render("We need a pause, please.")
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    write_wav(path, samples)
    return path


def run_python(script: str, env: dict[str, str], timeout: float = 30.0) -> str:
    """Run ``script`` in a fresh interpreter (its own PortAudio) and return its stdout."""
    env = {**env, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_devices_list_the_virtual_device(pulse_server: PulseServer) -> None:
    devices = list_devices()
    assert any(dev.name == "pulse" and dev.inputs and dev.outputs for dev in devices)
    assert sum(dev.is_default_input for dev in devices) == 1
    assert find_device(None, "input").is_default_input


def test_mic_hears_speech_played_into_the_sink(
    pulse_server: PulseServer, speech_wav: Path
) -> None:
    with MicSource() as mic:
        quiet = [next(mic) for _ in range(10)]
        taken = time.monotonic()
        player = start_playing_into_mic(speech_wav)
        heard: list[AudioChunk] = []
        ended: float | None = None
        deadline = time.monotonic() + 10.0
        for chunk in mic:
            heard.append(chunk)
            if ended is None and player.poll() is not None:
                ended = time.monotonic()
            if (ended is not None and time.monotonic() > ended + 0.3) or (
                time.monotonic() > deadline
            ):
                break
        player.wait(timeout=5)
        assert mic.overflows == 0
    assert player.returncode == 0
    assert all(c.rate == RATE and c.width == 2 and c.channels == 1 for c in heard)
    assert all(c.samples == 480 for c in quiet + heard)
    stamps = [c.timestamp for c in quiet + heard]
    assert np.allclose(np.diff(stamps), 0.03, atol=1e-3)
    # each chunk also says when it was captured, on the monotonic clock: 30 ms apart
    # (give or take the device's scheduling), and before it was handed over
    captured = np.array([c.captured for c in quiet + heard], dtype=float)
    assert np.all(np.isfinite(captured)) and captured[9] <= taken
    assert abs(float(np.median(np.diff(captured))) - 0.03) < 0.005
    assert max(rms(c) for c in quiet) < 50
    loud = [c for c in heard if rms(c) > 300]
    assert max(rms(c) for c in heard) > 1500
    clip_seconds = len(np.frombuffer(speech_wav.read_bytes()[44:], dtype="<i2")) / RATE
    assert 0.4 * clip_seconds < len(loud) * 0.03 < 1.2 * clip_seconds


def test_mic_by_name_and_index(pulse_server: PulseServer) -> None:
    with MicSource("PULSE") as by_name:
        assert by_name.device.name == "pulse"
        assert by_name.native_rate == round(by_name.device.default_samplerate)
        assert next(by_name).samples == 480
        index = by_name.device.index
    with MicSource(index, chunk_ms=20) as by_index:
        assert by_index.device.index == index
        assert next(by_index).samples == 320


def test_close_ends_iteration(pulse_server: PulseServer) -> None:
    mic = MicSource()
    next(mic)
    mic.close()
    mic.close()
    with pytest.raises(StopIteration):
        next(mic)


def test_unknown_device_name_is_named_in_the_error(pulse_server: PulseServer) -> None:
    with pytest.raises(AudioError, match="no-such-mic-xyz"):
        MicSource("no-such-mic-xyz")


def test_no_microphone_at_all() -> None:
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/haven/native"}
    out = run_python(
        """
        from assistant.devices import list_devices
        from assistant.errors import NoDeviceError
        from assistant.mic import MicSource
        if list_devices():
            print("HARDWARE")
        else:
            try:
                MicSource()
            except NoDeviceError as exc:
                print(f"NoDeviceError: {exc}")
        """,
        env,
    )
    if out.strip() == "HARDWARE":
        pytest.skip("this machine has sound hardware, so it always has a microphone device")
    assert out.strip() == f"NoDeviceError: {NO_MICROPHONE}"


def test_vanished_device_raises_audio_error() -> None:
    require_pulse_tools()
    directory = Path(tempfile.mkdtemp(prefix="haven-pa-", dir="/tmp"))
    try:
        out = run_python(
            f"""
            import os, time
            from pathlib import Path
            from tests.pulse import PulseDaemon
            daemon = PulseDaemon(Path({str(directory)!r}))
            try:
                os.environ.update(daemon.start().env())
                from assistant.errors import AudioError
                from assistant.mic import MicSource
                with MicSource(stall_seconds=2.0) as mic:
                    next(mic)
                    daemon.stop()
                    gone = time.monotonic()
                    try:
                        for _ in mic:
                            pass
                        print("ended")
                    except AudioError as exc:
                        print(f"{{time.monotonic() - gone:.2f}} {{exc}}")
            finally:
                daemon.stop()
            """,
            dict(os.environ),
        )
    finally:
        PulseDaemon(directory).stop()  # in case the child died before its own cleanup
        shutil.rmtree(directory, ignore_errors=True)
    seconds, _, message = out.strip().partition(" ")
    assert "microphone 'default'" in message
    assert float(seconds) < 2.5
