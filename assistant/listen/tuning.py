"""The listening's knobs: detector thresholds, the routes' conditions, the command window.

Kept apart from the ``Listener`` that reads them; the benchmark's replay
(``bench.listening_record``) reads them too. Every value names what chose it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..intents import normalize
from .corpus import PAUSE_PHRASES, PAUSE_VARIANTS
from .phrasing import armed_phrasing


@dataclass(frozen=True)
class ListenTuning:
    """Detector thresholds (the grammar confirms every detection) and the command window."""

    wake: float = 0.8
    """Wake detector score that sends an utterance to the grammar."""
    pause: float = 0.2
    """Pause detector score that sends an utterance to the grammar (tuned for recall)."""
    reply: float = 0.05
    """Reply detector score (best of the live gated replies) that sends an utterance to
    the grammar, which then has only the step's replies live."""
    gated: tuple[str, ...] = ("done", "extend")
    """Replies that need the reply detector too: the ones live during a partner's turn,
    minutes of talk in which a short sentence can sound like "I'm done". Other replies
    are answers to a question Haven just asked ("I'm ready", "yes", "I'm calm"), left to
    the grammar alone: the reply detector is too unsure of voices it never heard
    (bench: replies 62% with it, 92% without; every false fire was "I'm done")."""
    window_s: float = 6.0
    """How long a bare wake phrase keeps the command window open."""
    early_ms: int = 150
    """Quiet after speech at which the always-armed pause and the wake route are first
    tried, before the endpointer closes the utterance (it waits longer, for speech that
    resumes); when one fires, Haven acts at once and the rest of that utterance is not
    routed again."""
    early_wake: float = 0.97
    """Wake detector score a command needs to be decided early: a prefix of ordinary talk
    that the name detector half-believes waits for the whole utterance (in the soak, "go
    ahead and start eating without me", wake 0.88, was taken for "repeat the question"
    when decided early and rejected at the close). Commands below it are decided when the
    endpointer closes the utterance, as before."""
    early_snr_db: float = 14.0
    """A command is decided early only for speech this far above the noise floor (the
    loudest tenth of its 10 ms frames against the endpointer's floor, dB); in a noisier
    room it waits for the endpointer to close the utterance. In steady noise the
    endpointer hears 150 ms of quiet inside a command ("Haven, start ... check-in"), and
    both passes named another command from the prefix: at 10 dB (festival voices) 16 of
    41 early "Haven, <command>" decisions were wrong, and the right command was never
    heard. The pause is still decided early: holding it back too cost 8 of 86 pauses in
    babble at 10 dB and gained nothing in steady noise. On a festival command the
    measure gives about 32 dB in a quiet room, 15-21 dB at 20 dB SNR (the benchmark's,
    against its -22 dBFS speech level) and 7 dB at 10 dB; on a flite command about 2 dB
    more than the SNR."""
    early_pause_idle: bool = False
    """Decide the always-armed pause early while Haven is silent too. Off: the early
    pause is there so Haven stops talking at once; when Haven is silent nothing needs
    stopping, and the pause is decided when the endpointer closes the utterance (about
    0.35 s later), so the rest of a sentence can speak against it. In the listening
    benchmark's talk of 2026-12-04, five of six false pauses were decided early on the
    start of a longer sentence ("I need a break" of "I need a break from this job ...",
    "let us pause" of "Like the rest of us ..."); re-rendered on 2026-12-05, the same
    talk gave 5 false fires deciding early and 4 waiting (BENCHMARKS.md, "The pause at
    the close"). While Haven speaks the pause is still decided early."""
    early_pause_noisy: bool = True
    """...but in a noisy room (the speech less than ``early_snr_db`` above the noise
    floor) decide it early while Haven is silent too: there the endpointer's close comes
    late or not at all (the noise runs on into the utterance), and waiting for it lost
    idle pauses (festival voices, 2026-12-05, of 86: noise 10 dB 67 -> 62, babble 10 dB
    52 -> 43). With this, 67 and 51; in the benchmark's talk (a quiet room) nothing
    changes (4 false fires in 3.09 h either way, against 5 deciding early everywhere).
    At 20 dB SNR speech stands clear, waits, and 5 of 86 are still lost."""
    speculate_ms: int = 50
    """Quiet after speech at which the early routes' grammar decodes are run ahead of
    time (the decision still waits for ``early_ms``; speech that resumes discards them)."""
    alone: bool = True
    """Also take the pause without its detector when the grammar's two passes both hear
    one of ``alone_phrases``: the open pass, which knows 5000 ordinary words too, heard
    it and nothing else, and the grammar agrees. The detector, trained on a few synthetic
    voices, scores most pauses from voices it never heard near 0, while the grammar
    hears them (isolated clean clips of the held-out festival voices: both passes named
    the pause in 168 of 171)."""
    alone_over_haven: bool = False
    """Take it that way while only the pause is live (Haven is speaking) too; on with
    Haven's own voice cancelled (``haven run --echo-cancel``). Such a decision says
    ``via`` "alone", and the live loop drops it when its words are Haven's own
    (``phrasing.haven_said``); a short phrasing then needs the detector even after a
    lead-in. Off without the canceller: Haven's voice leaking back 20 dB down was heard
    as "wait, I'm flooded" and "we need to pause" by both passes in ``tests/test_live.py``
    (3 of 7 runs with it on), and ``bench/self_echo.py`` doubled its self-triggered
    pauses at 20 dB below speech. It would hear 80% of the festival pauses said over
    Haven rather than 59%."""
    doubletalk_s: float = 0.3
    """Without the canceller, take it that way while Haven speaks too when at least this
    many seconds of the utterance are not Haven's own voice: the listener compares the
    microphone with what Haven played (``listen.doubletalk``; ``haven run`` gives it the
    speaker's ``PlaybackTap``). In ``bench/doubletalk.py`` (every prompt, a simulated room
    with output underruns) Haven's voice alone, 20 to 0 dB below the partners' speech, left
    at most 0.1 s unexplained; on the virtual device of ``tests/test_live.py``, on a busy
    machine, up to 0.22 s. A pause said over Haven reaches 0.3 s in 85% of the bench's
    utterances short enough for this route with Haven 20 dB below the partner, 53% at 12
    dB below (0.1 s would take 100% and 88%). 0: never (the route stays closed over
    Haven's voice without the canceller, as the listener does when it is not told what
    Haven played)."""
    doubletalk_short: bool = True
    """Once the double-talk test finds someone else speaking over Haven (``doubletalk_s``;
    not with the canceller, where nothing tests it), take a short phrasing after a lead-in
    ("sorry, I'm flooded", "wait, time out") without its detector, as while Haven is
    silent. The rule that it needs the detector over Haven (``alone_heard``) is there for
    Haven's own voice heard as "wait, I'm flooded", which the test rules out; without this,
    such pauses said over Haven were lost even when both passes heard them (festival
    voices, clean: 11 of the 14 pauses the route missed)."""
    spot_every_s: float = 0.2
    """While Haven speaks, how often (stream seconds) the open utterance's last words are
    checked for a pause before it closes (0: never). A partner's "we need a pause" said
    over Haven's voice merges into one long utterance with it (Haven never leaves the
    150 ms of quiet an early decision waits for), which closed only when Haven's sentence
    ended: over Haven's voice 20 dB down, 37% of the partners' pauses were heard, while the
    pause detector scored 0.2 or more at the end of 74% of them
    (``bench.doubletalk --decode``). A check needs the pause detector at ``pause`` at the
    open utterance's end, someone else speaking there (the double-talk test over its last
    ``spot_s``, unless Haven's voice is cancelled) and the grammar hearing a pause in
    those last seconds (both passes, ``spot_both``)."""
    spot_s: tuple[float, ...] = (1.2, 1.8, 2.5)
    """Seconds of the open utterance's end a check decodes, shortest first (the first the
    grammar takes counts): the phrase must fill what is decoded, and Haven's words before
    it would not fit the pause grammar. The longest is what the double-talk test sees."""
    spot_min_s: float = 1.0
    """Speech an open utterance has before it is checked (shorter ones are decided early
    or at their close as before)."""
    spot_both: bool = True
    """A check needs both of the grammar's passes to hear the pause (False: the grammar's
    own acceptance, as the detector route at the close)."""
    lengths_over_haven: bool = False
    """While only the pause is live (Haven is speaking), let the detector route take a
    pause with a length however it is worded. On only when Haven's own voice is
    cancelled; when off, a length counts over Haven only after one of the always-armed
    phrasings of three words or more ("we need a break for thirty minutes"), while a
    pause without a length counts however it is worded. Haven's voice leaking back 20 dB
    down was heard by the detector and the grammar as "pause for thirty five minutes" (a
    CI run of ``tests/test_live.py``), and in a replay of every prompt at -26 and -20 dB,
    with and without dropouts, as "let us pause for fifty-five minute" (and once as
    "wait, may I have a moment", which this does not catch: 1 in 1228 prompts). The
    listening benchmark's pauses, said without a length, lose nothing by it."""
    pause_both_below: float = 0.0
    """Below this pause detector score the detector route, too, needs both of the
    grammar's passes to hear the pause (0: the grammar's own acceptance is enough)."""
    alone_both: bool = True
    """The detector-free route needs both passes to hear the phrasing (False: the
    grammar's own acceptance, the open pass agreeing on most of its words)."""
    alone_floor: float = 0.0
    """Pause detector score the detector-free route needs all the same (0: none)."""
    alone_s: float = 3.5
    """Longest speech (s) tried that way: a pause phrasing is short, so longer talk is
    never decoded for it."""
    alone_phrases: tuple[str, ...] = PAUSE_PHRASES + PAUSE_VARIANTS
    """What that route takes: the always-armed phrasings (perhaps after a lead-in such as
    "wait" or "sorry"). Not every way of asking for a pause the intent knows ("can I have
    a minute" is ordinary talk often enough)."""
    alone_bare_words: int = 3
    """A phrasing shorter than this ("time out", "I'm flooded", "pause") is taken that way
    only after a lead-in ("sorry, I'm flooded", "wait, time out"): the open pass leans
    towards commands, and in the soak (espeak-ng/flite) short sentences came out as bare
    short phrasings ("I've found my niche." as "I am flooded", "I hit a bookmark." as "I am
    overwhelmed"). Bare, they still need the detector."""

    named: bool = True
    """Try the **named** route: the grammar with the name before every command (a second
    recognizer, given to the Listener as ``addressed``) on utterances the wake route
    did not take."""
    named_wake: float = 0.01
    """Wake detector score the named route needs too: far below ``wake``, but not none.
    Without it, in the espeak-ng/flite soak, ordinary sentences were heard whole as
    "hi Haven, I'm ready" and "okay Haven, we've had an awful day" by both passes (2 in
    30 min); their wake scores were 0.000-0.001, while the dev commands in 10 dB noise
    that only this route took scored 0.03 and up (isolated clips)."""
    named_both: bool = True
    """The named route needs both passes to hear the name and the command whole (False:
    the grammar's own acceptance is enough, the open pass agreeing on most of its words,
    as ``haven detect`` decides)."""
    named_first: bool = True
    """When the wake detector fires, ask the named route first (the name and the command
    decoded as one phrase) and the cut after the name only when it hears nothing; a
    command decided early from the cut waits for the whole utterance when the named route
    hears another one in the same speech. The cut can clip a command's first sound or keep
    the name's last, and then hears another command ("Haven, skip please" as "help"): in
    the festival benchmark every clean "Haven, <command>" the wake route got wrong (7 of
    108), the named route heard right."""
    named_s: float = 5.0
    """Longest speech (s) decoded for the named route ("hey Haven, let's do our daily
    check-in now" takes about 3 s; longer talk is not a command)."""

    crisis_in_practice: bool = True
    """Decode every utterance during a practice, for the safety gate."""

    def takes_alone(self, seconds: float, speaking: bool, foreign: float = 0.0) -> bool:
        """Whether ``seconds`` of speech may take the pause without its detector
        (``speaking``: only the pause is live, Haven is talking; ``foreign``: seconds of
        it that are not Haven's own voice, see ``doubletalk_s``)."""
        over_haven = self.alone_over_haven or self.someone_else(foreign)
        return self.alone and seconds <= self.alone_s and (over_haven or not speaking)

    def someone_else(self, foreign: float) -> bool:
        """Whether the double-talk test's ``foreign`` seconds show someone else speaking
        over Haven (never with the canceller on: the listener does not test there)."""
        return not self.alone_over_haven and 0 < self.doubletalk_s <= foreign

    def short_needs_detector(self, speaking: bool, foreign: float = 0.0) -> bool:
        """Whether a short phrasing needs its detector even after a lead-in (the
        ``speaking`` argument of ``alone_heard``): while Haven speaks, unless the
        double-talk test found someone else (``doubletalk_short``)."""
        return speaking and not (self.doubletalk_short and self.someone_else(foreign))

    def armed_takes(self, text: str, length: bool, speaking: bool) -> bool:
        """Whether the detector route takes the pause the grammar heard as ``text``
        (``length``: it names a length; ``speaking``: only the pause is live, Haven is
        talking). See ``lengths_over_haven``."""
        if not speaking or not length or self.lengths_over_haven:
            return True
        words = normalize(text)
        if " for " not in words:
            return False
        phrase = armed_phrasing(words.rsplit(" for ", 1)[0], self.alone_phrases)[1]
        return phrase is not None and len(phrase.split()) >= self.alone_bare_words

    def alone_heard(self, text: str, speaking: bool = False) -> bool:
        """Whether the grammar's words ``text`` may take the detector-free pause
        (``speaking``: Haven is talking, and a short phrasing needs the detector even
        after a lead-in: Haven's voice leaking back 20 dB down was heard as "wait, I'm
        flooded" by both passes, twice in two runs of ``tests/test_live.py``)."""
        lead, phrase = armed_phrasing(text, self.alone_phrases)
        if phrase is None:
            return False
        return len(phrase.split()) >= self.alone_bare_words or (bool(lead) and not speaking)
