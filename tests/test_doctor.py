"""`haven doctor` and `haven devices`, on a real virtual audio device and on none."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_haven
from tests.pulse import PulseServer


def test_doctor_all_good_on_the_virtual_device(pulse_server: PulseServer, data_dir: Path) -> None:
    ran = run_haven(["doctor"], data_dir=data_dir)
    assert ran.code == 0, ran.out + ran.err
    for name in ("intents", "data folder", "disk space", "text to speech", "speaker",
                 "microphone", "recognizer", "listening detectors"):  # fmt: skip
        assert any(line.startswith(f"ok  {name}") for line in ran.out.splitlines()), ran.out
    assert "All good." in ran.out


def test_devices_lists_the_virtual_device(pulse_server: PulseServer) -> None:
    ran = run_haven(["devices", "--json"])
    assert ran.code == 0
    devices = ran.events()
    assert any(d["inputs"] > 0 for d in devices) and any(d["outputs"] > 0 for d in devices)


def test_doctor_names_what_to_fix(data_dir: Path, tmp_path: Path) -> None:
    data_dir.mkdir(parents=True)
    data_dir.chmod(0o755)
    (data_dir / "settings.yaml").write_text(
        "engine: vosk\nvosk_model: /nowhere\nwake_name: Iris\n"
    )
    env_server = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = f"unix:{tmp_path}/no-such-socket"
    try:
        ran = run_haven(["doctor"], data_dir=data_dir)
    finally:
        if env_server is None:
            del os.environ["PULSE_SERVER"]
        else:
            os.environ["PULSE_SERVER"] = env_server
    assert ran.code == 1
    out = ran.out
    assert "FIX data folder" in out and "chmod 700" in out
    assert "FIX recognizer" in out and "haven models install" in out
    assert "FIX microphone" in out and "haven run --text" in out
    assert "FIX listening detectors" in out and "'Iris'" in out and "haven train" in out
    assert "Traceback" not in ran.err
