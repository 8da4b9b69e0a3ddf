"""Audio devices as PortAudio sees them, and how a device setting picks one.

sounddevice is imported on first use, not at import time: PortAudio scans the devices
once when it loads, so a sound server started later (tests start a PulseAudio daemon)
is only seen after :func:`rescan`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from .errors import AudioError, NoDeviceError

logger = logging.getLogger(__name__)

Direction = Literal["input", "output"]
"""Which way a device carries sound."""

PORTAUDIO_HINT = "install it with: apt-get install libportaudio2"


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    """PortAudio's device index (valid until the next rescan)."""
    name: str
    """Device name, for example ``pulse`` or ``USB Audio: - (hw:1,0)``."""
    inputs: int
    """Maximum input channels (0 for a pure output)."""
    outputs: int
    """Maximum output channels (0 for a pure input)."""
    default_samplerate: float
    """The device's native sample rate in Hz."""
    is_default_input: bool
    """PortAudio's default input device."""
    is_default_output: bool
    """PortAudio's default output device."""

    def channels(self, direction: Direction) -> int:
        """Maximum channels in ``direction``."""
        return self.inputs if direction == "input" else self.outputs

    def is_default(self, direction: Direction) -> bool:
        """Whether this is the default device for ``direction``."""
        return self.is_default_input if direction == "input" else self.is_default_output


def portaudio() -> ModuleType:
    """The sounddevice module; :class:`AudioError` when libportaudio is missing."""
    try:
        import sounddevice
    except OSError as exc:
        raise AudioError(f"PortAudio cannot be loaded ({exc}); {PORTAUDIO_HINT}") from exc
    module: ModuleType = sounddevice
    return module


def converter_offset(time_info: Any, field: str) -> float | None:
    """Seconds from a PortAudio callback to when its buffer meets the converter: ahead
    for ``"outputBufferDacTime"``, behind (negative) for ``"inputBufferAdcTime"``; None
    when PortAudio gives no believable time (some host APIs leave them 0)."""
    try:
        offset = float(getattr(time_info, field)) - float(time_info.currentTime)
    except (AttributeError, TypeError, ValueError):
        return None
    return offset if 0.0 < abs(offset) < 2.0 else None


def rescan() -> None:
    """Make PortAudio enumerate the devices again.

    Needed after a device is plugged in or a sound server starts. Call it only while no
    stream is open: it invalidates every device index.
    """
    sd = portaudio()
    sd._terminate()
    sd._initialize()
    logger.debug("PortAudio rescanned its devices")


def _default_index(sd: ModuleType, kind: Direction) -> int:
    try:
        return int(sd.query_devices(kind=kind)["index"])
    except sd.PortAudioError:
        return -1


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio knows; ``[]`` when there are none (no sound card, no server)."""
    sd = portaudio()
    try:
        raw = list(sd.query_devices())
    except sd.PortAudioError as exc:
        raise AudioError(f"PortAudio cannot list the audio devices: {exc}") from exc
    default_in = _default_index(sd, "input")
    default_out = _default_index(sd, "output")
    return [
        DeviceInfo(
            index=int(dev["index"]),
            name=str(dev["name"]),
            inputs=int(dev["max_input_channels"]),
            outputs=int(dev["max_output_channels"]),
            default_samplerate=float(dev["default_samplerate"]),
            is_default_input=int(dev["index"]) == default_in,
            is_default_output=int(dev["index"]) == default_out,
        )
        for dev in raw
    ]


def find_device(spec: str | int | None, direction: Direction) -> DeviceInfo:
    """The device a setting names: ``None`` for the default, an index, or part of a name.

    Names match case-insensitively, an exact name before a substring. Raises
    :class:`NoDeviceError` when there is no device at all for ``direction`` and
    :class:`AudioError` naming ``spec`` when nothing matches it.
    """
    usable = [dev for dev in list_devices() if dev.channels(direction) > 0]
    if not usable:
        raise NoDeviceError(f"no audio {direction} device found")
    if spec is None:
        return next((dev for dev in usable if dev.is_default(direction)), usable[0])
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec.strip())
    if isinstance(spec, int):
        for dev in usable:
            if dev.index == spec:
                return dev
    else:
        wanted = spec.strip().lower()
        for matches in (
            [dev for dev in usable if dev.name.lower() == wanted],
            [dev for dev in usable if wanted in dev.name.lower()],
        ):
            if matches:
                return matches[0]
    choices = ", ".join(f"{dev.index}: {dev.name!r}" for dev in usable)
    raise AudioError(f"no audio {direction} device matches {spec!r}; available: {choices}")
