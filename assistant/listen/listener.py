"""The live loop's listening: a wake phrase, an always-armed pause, and the step's replies.

Every chunk goes to the energy endpointer and to the detectors' embedding stream. When an
utterance ends, it reaches the engine only by one of these routes, each (but for the two
exceptions named) a learned detector *and* the grammar recognizer agreeing:

1. **armed**: the pause detector scores it as one of the always-armed pause phrasings, and
   the grammar, with only ``pause`` live, hears a pause. Works at any moment, also while
   Haven speaks (then, unless Haven's voice is cancelled, a length counts only after one
   of the always-armed phrasings: ``ListenTuning.lengths_over_haven``). Because the
   pause must not be missed, a short utterance also takes this route without the
   detector when both of the grammar's passes hear one of the always-armed phrasings
   (``ListenTuning.alone``): the open pass, which knows ordinary English too, names a
   pause only when the whole utterance sounds like one. It is tried after the other routes,
   and says ``via`` "alone" (the live loop drops it over Haven's voice when it is made of
   Haven's own words).
2. **wake**: the wake detector hears the name ("Haven, ...", "hey Haven ..."), and the
   grammar, with every allowed intent live, hears a command in what follows the name.
   The name alone ("Haven?") opens a short command window: the next utterance is decoded
   with every allowed intent live (**window**).
   **named**: without the wake detector, a short utterance that the grammar, given
   every allowed command *after the name* ("[hey] Haven <command>") as one phrase, hears
   whole in both of its passes (``ListenTuning.named``). The open pass, which knows
   ordinary English too, must hear the name and the command itself. The detector,
   trained on synthetic voices, scores most commands in steady noise below its
   threshold; the grammar still hears many of them. When the wake detector does fire,
   this route is asked first and the cut after the name only when it hears nothing
   (``ListenTuning.named_first``): the cut can clip the command and hear another.
3. **reply**: inside a practice, the replies the current step is waiting for need no
   name. Answers to a question Haven just asked ("I'm ready", "yes", "I'm calm") go to
   the grammar with only those few replies live (its open pass must agree). "I'm done"
   and "five more minutes", live through minutes of a partner's talk, also need the
   reply detector (``ListenTuning.gated``).

Early: the pause (while Haven speaks) and "Haven, <command>" (a confident name) are
decided after 150 ms of quiet (``ListenTuning.early_ms``), before the endpointer closes the
utterance (it waits half a second, for speech that resumes), so a barge-in cuts Haven off
sooner and a command is answered sooner. While Haven is silent, in a quiet room, the
pause waits for the close (``ListenTuning.early_pause_idle``): the start of a longer
sentence is not a pause; in a noisy room, where the close comes late, it does not
(``early_pause_noisy``).
The grammar decodes for the early decisions are run ahead, after 50 ms of quiet
(``speculate_ms``), and kept only if the quiet holds: the decision then costs almost
nothing when it is due.

Ordinary talk full of words like pause, check or thanks reaches no route (the detector-free
pause is never run ahead: it would decode at every short gap between words). Inside a
practice every utterance is also decoded once so crisis words are never missed (the
safety gate reads the open pass).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..app import ALONE, Heard
from ..audio import RATE, AudioChunk
from ..errors import ModelError
from ..intents import IntentMatch, IntentSet, strip_wake
from ..safety import SafetyGate
from ..stt.base import Recognition, Recognizer
from ..vad import Endpointer, Utterance, VadConfig, frame_levels
from .detector import Detectors
from .doubletalk import foreign_seconds, played_span
from .manifest import read_manifest
from .routes import (
    PAUSE,
    armed_score,
    both_passes,
    check_wake_name,
    reply_score,
    split_replies,
)
from .tuning import ListenTuning
from .wakecut import speech_seconds, wake_cuts

_LOG = logging.getLogger(__name__)

SEED_SECONDS = 2.0
"""Quiet audio the detectors are given before a stream starts (their windows look back)."""


@dataclass(frozen=True)
class _Decided:
    match: IntentMatch | None
    result: Recognition | None
    via: str
    crisis: bool = False


class Listener:
    """Endpointer + detectors + grammar recognizer + matcher. Implements ``Hearing``.

    Used from the listening thread only. Times are the stream's own: seconds of audio fed
    since the last :meth:`reset`.
    """

    def __init__(
        self,
        recognizer: Recognizer,
        intents: IntentSet,
        safety: SafetyGate,
        detectors: Detectors,
        wake_name: str,
        tuning: ListenTuning | None = None,
        vad: VadConfig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        addressed: Recognizer | None = None,
        playback: Callable[[float, float], np.ndarray] | None = None,
    ) -> None:
        if not any(h.kind == "wake" for h in detectors.heads):
            raise ModelError("the detectors have no wake head; run `haven train`")
        self._recognizer = recognizer
        self._addressed = addressed
        """The recognizer of the named route (the intents said after the name), if any."""
        self._playback = playback
        """What Haven played between two ``monotonic`` times (16 kHz), if known."""
        self._intents = intents
        self._safety = safety
        self._detectors = detectors
        self._wake_name = wake_name
        self.tuning = tuning or ListenTuning()
        """Thresholds in use."""
        self._vad = vad or VadConfig()
        self._monotonic = monotonic
        self._endpointer = Endpointer(self._vad)
        self._fed = 0
        self._captured: tuple[float, float] | None = None
        """(stream time, ``time.monotonic()``) of the last chunk whose source stamped when
        it was captured."""
        self._window_until = -1.0
        self._early_end: float | None = None
        """speech_end of the open utterance when it was last decided early."""
        self._early_hit: float | None = None
        """speech_start of the open utterance, once an early decision acted on it."""
        self._ahead_end: float | None = None
        """speech_end of the open utterance when its early decodes were last run ahead."""
        self._spotted = -1.0
        """Stream time of the last check of the open utterance while Haven speaks."""
        self._memo: dict[tuple[float, float, float, frozenset[str]], Recognition] = {}
        """Early decodes of the open utterance: (speech start, speech end, cut, live); cut
        -1 for the named route's."""
        self._seed()
        self._reply_labels = frozenset(
            label for h in detectors.heads if h.kind == "reply" for label in h.labels[1:]
        )

    def reset(self) -> None:
        """Forget the stream (after a gap in the audio)."""
        self._endpointer = Endpointer(self._vad)
        self._detectors.reset()
        self._fed = 0
        self._captured = None
        self._window_until = -1.0
        self._early_end = self._early_hit = self._ahead_end = None
        self._spotted = -1.0
        self._memo.clear()
        self._seed()

    def _seed(self) -> None:
        """Give the detectors a quiet past, so speech in the first seconds has its windows."""
        tone = np.random.default_rng(0).normal(0.0, 20.0, int(SEED_SECONDS * RATE))
        self._detectors.feed(AudioChunk(RATE, 2, 1, tone.astype("<i2").tobytes(), -SEED_SECONDS))

    def warm(self, allowed: frozenset[str]) -> None:
        """Build the grammars a first command would need now, rather than when it is said."""
        quiet = np.zeros(RATE // 2, dtype=np.int16)
        for live in (frozenset({PAUSE}), allowed):
            if live:
                self._recognizer.decode(quiet, live)
        commands = allowed - {PAUSE}
        if self._addressed is not None and self.tuning.named and commands:
            self._addressed.decode(quiet, allowed)

    @property
    def stream_seconds(self) -> float:
        """Audio fed since the last reset."""
        return self._fed / RATE

    def feed(
        self, chunk: AudioChunk, allowed: frozenset[str], expected: frozenset[str] = frozenset()
    ) -> list[Heard]:
        """Take one chunk; decide each utterance that ended in it."""
        if chunk.captured is not None:  # where the stream is on the monotonic clock
            self._captured = (self._fed / RATE, chunk.captured)
        stamped = AudioChunk(chunk.rate, chunk.width, chunk.channels, chunk.audio,
                             self._fed / RATE)  # fmt: skip
        self._detectors.feed(stamped)
        self._fed += chunk.samples
        heard = []
        for utterance in self._endpointer.feed(stamped):
            if utterance.speech_start == self._early_hit:  # a pause, acted on early
                decided = self.decide(utterance, allowed, expected, routes=False)
            else:  # the pause again too: its detector sees more of the quiet after it now
                decided = self.decide(utterance, allowed, expected)
            self._early_end = self._early_hit = self._ahead_end = None
            self._memo.clear()
            heard.append(self._heard(decided, utterance))
        if allowed == frozenset({PAUSE}) and self.tuning.spot_every_s > 0:
            spotted = self._spot()
            if spotted is not None:
                heard.append(spotted)
        quiet = self._endpointer.quiet_ms
        if quiet >= min(self.tuning.speculate_ms, self.tuning.early_ms):
            snap = self._endpointer.peek()
            if snap is None or snap.speech_start == self._early_hit:
                return heard
            ahead = snap.speech_end != self._ahead_end  # new speech since: run the decodes ahead
            due = quiet >= self.tuning.early_ms and snap.speech_end != self._early_end
            if not (ahead or due):
                return heard
            clear = self._clear(snap)
            if ahead:
                self._ahead_end = snap.speech_end
                self._memo.clear()
                self._route(snap, allowed, expected, early=True, ahead=True, clear=clear)
            if due:
                self._early_end = snap.speech_end
                decided = self.decide(snap, allowed, expected, early=True, clear=clear)
                if decided.match is not None:
                    self._early_hit = snap.speech_start
                    heard.append(self._heard(decided, snap))
        return heard

    def _spot(self) -> Heard | None:
        """While Haven speaks: a pause at the end of the open utterance, before it closes
        (``ListenTuning.spot_every_s``); the rest of that utterance is not routed again."""
        cfg, now = self.tuning, self._fed / RATE
        if now - self._spotted < cfg.spot_every_s or not self._endpointer.in_speech:
            return None  # (before the snapshot: it copies the whole open utterance)
        snap = self._endpointer.peek()
        if (snap is None or snap.speech_start == self._early_hit
                or snap.speech_end - snap.speech_start < cfg.spot_min_s):  # fmt: skip
            return None
        self._spotted = now
        if armed_score(self._detectors, snap.speech_end) < cfg.pause:
            return None
        windows = [self._tail(snap, seconds) for seconds in sorted(cfg.spot_s)]
        if not windows or not (cfg.alone_over_haven
                               or cfg.someone_else(self._foreign(windows[-1], True))):  # fmt: skip
            return None
        for window in windows:
            checked: list[Recognition] = []
            found = self._grammar(window.samples, frozenset({PAUSE}), checked)
            heard = checked[-1]
            if (found is not None and (both_passes(heard) or not cfg.spot_both)
                    and cfg.armed_takes(heard.text, "minutes" in found.slots, True)):  # fmt: skip
                _LOG.info("a pause over Haven's voice, %.1f s into the utterance",
                          snap.speech_end - snap.speech_start)  # fmt: skip
                self._early_hit = snap.speech_start
                return self._heard(_Decided(found, heard, "armed"), window)
        return None

    @staticmethod
    def _tail(snap: Utterance, seconds: float) -> Utterance:
        """The last ``seconds`` of the open utterance ``snap``."""
        tail = snap.samples[-int(seconds * RATE) :]
        start = snap.start + (len(snap.samples) - len(tail)) / RATE
        return Utterance(tail, start, max(start, snap.speech_start), snap.speech_end)

    def _clear(self, utterance: Utterance) -> bool:
        """Whether ``utterance`` stands ``ListenTuning.early_snr_db`` above the noise
        floor (its loudest tenth of 10 ms frames against the endpointer's floor), so it
        may be decided early."""
        floor = self._endpointer.noise_floor_db
        if floor is None or not len(utterance.samples):
            return True
        loud = float(np.percentile(frame_levels(utterance.samples), 90))
        return loud - floor >= self.tuning.early_snr_db

    def _heard(self, decided: _Decided, utterance: Utterance) -> Heard:
        stream_now = self._fed / RATE
        end_of_speech = self._monotonic() - max(0.0, stream_now - utterance.speech_end)
        text = decided.result.text if decided.result is not None and decided.match else ""
        if decided.match is not None or decided.crisis:
            _LOG.info("heard %r -> %s via %s", text, decided.match and decided.match.intent,
                      decided.via)  # fmt: skip
        return Heard(text, decided.match, end_of_speech, self._monotonic(), decided.crisis,
                     decided.via, utterance.speech_end)  # fmt: skip

    # ---- one utterance -------------------------------------------------------------------

    def decide(
        self,
        utterance: Utterance,
        allowed: frozenset[str],
        expected: frozenset[str],
        *,
        early: bool = False,
        routes: bool = True,
        clear: bool = True,
    ) -> _Decided:
        """Which route, if any, takes this utterance to the engine.

        ``early``: the utterance may still go on (decided after a short quiet): only the
        always-armed pause (while Haven speaks or in a noisy room,
        ``ListenTuning.early_pause_idle``, ``early_pause_noisy``) and a
        whole command after the wake phrase are tried (a pause or "Haven, <command>"
        said early is still one), the step's replies and a bare
        name wait for the whole utterance; the grammar decodes run ahead are reused.
        ``routes=False``: only listen for crisis words (a route was acted on early).
        ``clear``: the speech stands clear of the noise (``ListenTuning.early_snr_db``);
        if not, a command is not decided early (the pause is, even while Haven is silent).
        """
        return self._route(utterance, allowed, expected, early=early, routes=routes, clear=clear)

    def _route(
        self,
        utterance: Utterance,
        allowed: frozenset[str],
        expected: frozenset[str],
        *,
        early: bool = False,
        routes: bool = True,
        ahead: bool = False,
        clear: bool = True,
    ) -> _Decided:
        """:meth:`decide`'s work (run ahead of time too, ``ahead``, with its decodes kept)."""
        if not routes:
            return self._crisis(utterance, expected, [])
        start, end = utterance.speech_start, utterance.speech_end
        memo = (start, end) if early else None
        scored = self._detectors.scores(end, start)
        by_kind = {h.kind: scored[h.name] for h in self._detectors.heads}
        _LOG.debug("utterance %.2f-%.2f s: %s", start, end,
                   ", ".join(f"{k} {v[0]} {v[1]:.3f}" for k, v in by_kind.items()))  # fmt: skip
        in_window = start <= self._window_until
        checked: list[Recognition] = []

        commands = allowed if allowed != frozenset({PAUSE}) else frozenset()
        # early, the pause only while Haven speaks or in a noisy room
        # (``ListenTuning.early_pause_idle``, ``early_pause_noisy``)
        pausing = PAUSE in allowed and (not early or not commands or self.tuning.early_pause_idle
                                        or (self.tuning.early_pause_noisy and not clear))
        armed = by_kind.get("armed", ("", 0.0, 0.0))[1]
        detected = armed >= self.tuning.pause
        if pausing and detected:
            found = self._grammar(utterance.samples, frozenset({PAUSE}), checked, memo)
            if (found is not None
                    and (armed >= self.tuning.pause_both_below or both_passes(checked[-1]))
                    and self.tuning.armed_takes(checked[-1].text, "minutes" in found.slots,
                                                speaking=not commands)):  # fmt: skip
                return _Decided(found, checked[-1], "armed")
        wake = by_kind.get("wake", ("", 0.0, 0.0))[1]
        woken = bool(commands) and wake >= self.tuning.wake
        if early:
            woken = woken and wake >= self.tuning.early_wake and clear
            found = self._after_wake(utterance, commands, checked, memo)[0] if woken else None
            if found is not None and self._named_agrees(utterance, commands, wake, found, memo):
                self._window_until = -1.0
                return _Decided(found, checked[-1], "wake")
            alone = pausing and not detected and not ahead
            found = self._alone(utterance, allowed, armed, checked, memo) if alone else None
            if found is not None:  # not run ahead: it would decode at every gap between words
                return _Decided(found, checked[-1], ALONE)
            return _Decided(None, None, "")
        named_first = woken and self.tuning.named_first and not in_window
        if named_first:
            found = self._named(utterance, commands, wake, checked)
            if found is not None:
                self._window_until = -1.0
                return _Decided(found, checked[-1], "named")
        if woken:
            found, rest = self._after_wake(utterance, commands, checked)
            if found is not None:
                self._window_until = -1.0
                return _Decided(found, checked[-1], "wake")
            if rest:
                self._window_until = end + self.tuning.window_s
                _LOG.info("wake phrase alone: listening for a command until %.1f s",
                          self._window_until)  # fmt: skip
        elif commands and in_window:
            found = self._grammar(utterance.samples, commands, checked)
            self._window_until = -1.0  # one utterance per window
            if found is not None:
                return _Decided(found, checked[-1], "window")
        if commands and not in_window and not named_first:
            found = self._named(utterance, commands, wake, checked)
            if found is not None:
                self._window_until = -1.0
                return _Decided(found, checked[-1], "named")
        gated, live = split_replies(expected, commands, self._reply_labels, self.tuning.gated)
        if gated and reply_score(self._detectors, end, gated) >= self.tuning.reply:
            live |= gated
        if live:
            found = self._grammar(utterance.samples, frozenset(live), checked)
            if found is not None:
                return _Decided(found, checked[-1], "reply")
        alone = PAUSE in allowed and not detected  # (a detected pause was decoded already)
        found = self._alone(utterance, allowed, armed, checked) if alone else None
        if found is not None:
            return _Decided(found, checked[-1], ALONE)
        return self._crisis(utterance, expected, checked)

    def _crisis(
        self, utterance: Utterance, expected: frozenset[str], checked: list[Recognition]
    ) -> _Decided:
        """Nothing for Haven; were crisis words said? (decodes once in a practice)."""
        if not checked and expected and self.tuning.crisis_in_practice:
            self._grammar(utterance.samples, frozenset(expected), checked)
        crisis = any(r.open_text and self._safety.is_crisis(r.open_text) for r in checked)
        return _Decided(None, checked[-1] if checked else None, "", crisis)

    def _alone(
        self, utterance: Utterance, allowed: frozenset[str], armed: float,
        checked: list[Recognition], memo: tuple[float, float] | None = None,
    ) -> IntentMatch | None:  # fmt: skip
        """The always-armed pause without its detector (``armed``: its score here): a
        short utterance in which both of the grammar's passes hear a pause phrasing
        (``ListenTuning.alone``). Tried after the other routes, so it never delays them.
        ``allowed`` only the pause: Haven is speaking (``ListenTuning.alone_over_haven``)."""
        length = utterance.speech_end - utterance.speech_start
        speaking = allowed == frozenset({PAUSE})
        if armed < self.tuning.alone_floor:
            return None
        foreign = self._foreign(utterance, speaking)
        if not self.tuning.takes_alone(length, speaking, foreign):
            return None
        found = self._grammar(utterance.samples, frozenset({PAUSE}), checked, memo)
        if found is None or (self.tuning.alone_both and not both_passes(checked[-1])):
            return None
        strict = self.tuning.short_needs_detector(speaking, foreign)
        return found if self.tuning.alone_heard(checked[-1].text, strict) else None

    def _foreign(self, utterance: Utterance, speaking: bool) -> float:
        """Seconds of ``utterance`` that are not Haven's own voice, while Haven speaks and
        the double-talk test is wanted and possible (else 0)."""
        cfg = self.tuning
        if not speaking or cfg.alone_over_haven or cfg.doubletalk_s <= 0 or not cfg.alone:
            return 0.0
        if self._playback is None or utterance.speech_end - utterance.speech_start > cfg.alone_s:
            return 0.0
        played = self._playback(*played_span(self._clock_at(utterance.start), utterance.seconds))
        foreign = foreign_seconds(utterance.samples, played, self._endpointer.noise_floor_db)
        _LOG.debug("over Haven's voice: %.2f s of %.2f s is someone else's", foreign,
                   utterance.seconds)  # fmt: skip
        return foreign

    def _clock_at(self, t: float) -> float:
        """``monotonic`` time of stream time ``t``: by the source's capture stamps when it
        gives them (a busy listening thread can be behind the microphone), else as if the
        last chunk fed had just been captured."""
        if self._captured is not None:
            return self._captured[1] + (t - self._captured[0])
        return self._monotonic() - (self._fed / RATE - t)

    def _named_agrees(
        self, utterance: Utterance, commands: frozenset[str], wake: float,
        found: IntentMatch, memo: tuple[float, float] | None,
    ) -> bool:  # fmt: skip
        """Whether the named route hears ``found`` (the cut's command) too, or is not
        asked (``ListenTuning.named_first``; it cannot run on this utterance)."""
        if not self.tuning.named_first or not self._names(utterance, wake):
            return True
        named = self._named(utterance, commands, wake, [], memo)
        return named is not None and (named.intent, dict(named.slots)) == (
            found.intent, dict(found.slots))

    def _names(self, utterance: Utterance, wake: float) -> bool:
        """Whether the named route runs on ``utterance`` (``wake``: its wake score)."""
        length = utterance.speech_end - utterance.speech_start
        return (self._addressed is not None and self.tuning.named
                and length <= self.tuning.named_s and wake >= self.tuning.named_wake)  # fmt: skip

    def _named(
        self, utterance: Utterance, commands: frozenset[str], wake: float,
        checked: list[Recognition], memo: tuple[float, float] | None = None,
    ) -> IntentMatch | None:  # fmt: skip
        """The named route: the name and a command heard as one phrase by both passes
        (``wake``: the wake detector's score here, held against ``named_wake``; ``memo``
        as for ``_grammar``)."""
        if self._addressed is None or not self._names(utterance, wake):
            return None
        key = (*memo, -1.0, commands) if memo is not None else None
        result = self._memo.get(key) if key is not None else None
        if result is None:
            result = self._addressed.decode(utterance.samples, commands)
            if key is not None:
                self._memo[key] = result
        checked.append(result)
        text, named = strip_wake(result.heard, self._wake_name)
        heard = both_passes(result) if self.tuning.named_both else result.accepted
        if not named or not text or not heard:
            return None
        return self._intents.match(text, commands)

    def _grammar(
        self,
        samples: np.ndarray,
        live: frozenset[str],
        checked: list[Recognition],
        memo: tuple[float, float] | None = None,
        cut: float = 0.0,
    ) -> IntentMatch | None:
        """Decode and match; ``memo`` (speech start and end) keeps an early decode of the
        open utterance for the next early decision on the same speech."""
        key = (*memo, cut, live) if memo is not None else None
        result = self._memo.get(key) if key is not None else None
        if result is None:
            result = self._recognizer.decode(samples, live)
            if key is not None:
                self._memo[key] = result
        checked.append(result)
        text, _ = strip_wake(result.heard, self._wake_name)
        return self._intents.match(text, live) if text else None

    def _after_wake(
        self,
        utterance: Utterance,
        live: frozenset[str],
        checked: list[Recognition],
        memo: tuple[float, float] | None = None,
    ) -> tuple[IntentMatch | None, bool]:
        """A command after the wake phrase, and whether the name was said alone (a cut
        left too little speech for a command and no other cut found one). Every cut is
        tried: the likeliest can fall late in a quickly spoken command."""
        alone = False
        for cut in wake_cuts(self._detectors, utterance, self.tuning.wake):
            rest = utterance.samples[int(cut * RATE) :]
            if speech_seconds(rest, self._vad) < 0.25:
                alone = True
                continue
            found = self._grammar(rest, live, checked, memo, round(cut, 3))
            _LOG.debug("after the wake phrase (cut at %.2f s): %r %s", cut, checked[-1].text,
                       checked[-1].reason)  # fmt: skip
            if found is not None:
                return found, False
        return None, alone


def build_listener(
    recognizer: Recognizer,
    intents: IntentSet,
    safety: SafetyGate,
    models_dir: Path,
    wake_name: str,
    tuning: ListenTuning | None = None,
    addressed: Recognizer | None = None,
    playback: Callable[[float, float], np.ndarray] | None = None,
) -> Listener:
    """The listener with the detectors in ``models_dir`` (ModelError names `haven train`);
    ``addressed``: the recognizer of the named route (see :func:`addressed_intents`);
    ``playback``: what Haven played between two ``time.monotonic()`` times, at 16 kHz
    (``PlaybackTap.window``), for the double-talk test."""
    doc = read_manifest(models_dir)
    check_wake_name(str(doc.get("wake_name", "")), wake_name)
    return Listener(recognizer, intents, safety, Detectors.from_dir(models_dir), wake_name,
                    tuning, addressed=addressed, playback=playback)  # fmt: skip
