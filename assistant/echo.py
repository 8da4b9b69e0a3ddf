"""Echo cancellation for barge-in: the sound server's own canceller, for one `haven run`.

In a room, Haven's voice reaches the microphone too. The energy endpointer cannot tell it
from a partner's, so "we need a pause" said over Haven's prompt merges with Haven's words
into one utterance and is missed. PulseAudio (and PipeWire's pulse server) ship an echo
canceller, ``module-echo-cancel`` (WebRTC's): it gives a new source, the microphone with
whatever was played into its paired sink taken out. :class:`EchoCanceller` loads it for the
session, between the sound server's default (or ``PULSE_SOURCE`` / ``PULSE_SINK``) devices,
and unloads it on exit; Haven then opens its default input and output through it.

WebRTC's noise suppression is left off (it took the partner's pause down with the echo,
measured on the virtual device) and its analog gain control too (there is no hardware
gain to drive); its digital gain control is on.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from .errors import AudioError

_LOG = logging.getLogger(__name__)

AEC_ARGS = "noise_suppression=0 analog_gain_control=0 digital_gain_control=1"
"""WebRTC canceller settings (see the module docstring)."""
HINT = "echo cancellation needs a PulseAudio or PipeWire sound server and pactl " \
       "(apt-get install pulseaudio-utils)"  # fmt: skip

@dataclass(frozen=True)
class EchoDevices:
    """The cancelled pair of devices, once loaded."""

    source: str
    """Sound-server name of the microphone with Haven's voice taken out."""
    sink: str
    """Sound-server name of the output Haven plays into (the canceller's reference)."""
    module: str
    """Index of the loaded module (unloaded on exit)."""

    def env(self) -> dict[str, str]:
        """The variables that make a PulseAudio client default to this pair."""
        return {"PULSE_SOURCE": self.source, "PULSE_SINK": self.sink}


class EchoCanceller:
    """Loads ``module-echo-cancel`` for the lifetime of the context; a context manager.

    ``environ`` gives the masters (``PULSE_SOURCE``/``PULSE_SINK`` if set, else the
    server's defaults). Raises :class:`AudioError` naming what to do when the server or
    ``pactl`` is missing or refuses the module.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._tag = str(os.getpid())
        self.devices: EchoDevices | None = None
        """The loaded pair (None before entering and after exit)."""

    def _pactl(self, *args: str) -> str:
        if shutil.which("pactl") is None:
            raise AudioError(f"pactl not found: {HINT}")
        try:
            done = subprocess.run(["pactl", *args], capture_output=True, text=True,
                                  timeout=10, env=self._environ, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AudioError(f"pactl {args[0]} failed ({exc}); {HINT}") from exc
        if done.returncode != 0:
            why = (done.stderr or done.stdout or "").strip() or f"exit code {done.returncode}"
            raise AudioError(f"pactl {args[0]} {args[1] if len(args) > 1 else ''}: {why}; {HINT}")
        return str(done.stdout).strip()

    def __enter__(self) -> EchoDevices:
        source, sink = f"haven_aec_source_{self._tag}", f"haven_aec_sink_{self._tag}"
        args = [
            "load-module", "module-echo-cancel", "aec_method=webrtc",
            f'aec_args="{AEC_ARGS}"', f"source_name={source}", f"sink_name={sink}",
            "use_master_format=1",
        ]  # fmt: skip
        if self._environ.get("PULSE_SOURCE"):
            args.append(f"source_master={self._environ['PULSE_SOURCE']}")
        if self._environ.get("PULSE_SINK"):
            args.append(f"sink_master={self._environ['PULSE_SINK']}")
        module = self._pactl(*args)
        self.devices = EchoDevices(source, sink, module)
        _LOG.info("echo cancellation on: module %s, source %s, sink %s", module, source, sink)
        return self.devices

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        devices, self.devices = self.devices, None
        if devices is None:
            return
        try:
            self._pactl("unload-module", devices.module)
        except AudioError as problem:  # the server may be gone; nothing is left to undo
            _LOG.warning("could not unload the echo canceller: %s", problem)
