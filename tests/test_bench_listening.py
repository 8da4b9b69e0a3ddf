"""The end-to-end listening benchmark's machinery, on a tiny stream (so it cannot rot).

A few espeak-ng and flite clips (rendered into a tmp cache) go through the same code as
``python -m bench.listening_e2e``: a continuous stream fed to the recording Listener
(shipped detectors, real pocketsphinx), records replayed at other thresholds, saved and
loaded, and the BENCHMARKS.md section rendered.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.library import Library, default_models_dir
from assistant.listen.synth import ClipCache, Voice, render_many
from assistant.listen.tuning import ListenTuning
from assistant.live import create_addressed, create_recognizer
from bench import listening_record, listening_report
from bench.listening import segments, verdict, voice_name
from bench.listening_record import CachedRecognizer, Pass, RecordingListener, check, replay
from bench.listening_runs import feed, idle_allowed

ROOT = Path(__file__).resolve().parent.parent
VOICES = (Voice("espeak", "en-us+m3", 50, 0.9), Voice("flite", "slt"))
ITEMS = (
    ("Haven, start check-in", VOICES[0], "start_checkin"),
    ("we need a pause", VOICES[1], "pause"),
    ("I think we should take the dog to the park tomorrow", VOICES[0], ""),
    ("hey Haven, bedtime gratitude", VOICES[1], "gratitude"),
)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("espeak-ng", "flite", "sox")),
    reason="needs espeak-ng, flite and sox",
)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "intents")


@pytest.fixture(scope="module")
def listener(library: Library) -> Iterator[RecordingListener]:
    with create_recognizer(library, Settings()) as rec, \
            create_addressed(library, Settings()) as named:
        yield RecordingListener(CachedRecognizer(rec), library, ListenTuning(),
                                default_models_dir(),
                                addressed=CachedRecognizer(named))  # fmt: skip


@pytest.fixture(scope="module")
def run(library: Library, listener: RecordingListener,
        tmp_path_factory: pytest.TempPathFactory) -> Pass:  # fmt: skip
    cache = ClipCache(tmp_path_factory.mktemp("clips"))
    clips = render_many([(t, v) for t, v, _ in ITEMS], cache)
    allowed = idle_allowed(library)
    parts = segments(clips, "noise 20 dB", [], np.random.default_rng(3))
    texts = [(t, voice_name(v), e) for t, v, e in ITEMS]
    seconds, items = feed(listener, parts, allowed, frozenset(), texts)
    return Pass("wake", "clean", sorted(allowed), [], {**vars(listener.tuning)}, seconds, items,
                listener.utts)  # fmt: skip


def test_the_stream_is_cut_by_the_endpointer_and_every_utterance_recorded(run: Pass) -> None:
    assert len(run.items) == len(ITEMS)
    assert run.seconds > sum(i.end - i.start for i in run.items) + 2 * len(ITEMS)
    assert len(run.utts) >= 3
    for u in run.utts:
        assert 0.0 <= u.armed <= 1.0 and 0.0 <= u.wake <= 1.0
        assert u.end > u.start


def test_the_real_listener_hears_the_commands(run: Pass, listener: RecordingListener) -> None:
    right, wrong, n = listening_report.accepted(run, listener.tuning, sorted(listener._labels))
    assert n == len(ITEMS)
    assert right >= 2, [(u.heard, u.via) for u in run.utts]
    assert wrong == 0
    # decided early: after early_ms of quiet; else at the close, after 0.5 s of quiet
    early = listener.tuning.early_ms / 1000 - 0.01
    latencies = [(u.latency, u.early) for u in run.utts if u.heard]
    assert latencies and all(t > (early if soon else 0.4) for t, soon in latencies)


def test_the_replay_gives_the_listeners_own_decisions(
    run: Pass, listener: RecordingListener
) -> None:
    labels = sorted(listener._labels)
    assert check(run, labels) == 0
    # a stricter tuning can only take decisions away
    strict = ListenTuning(wake=0.99, pause=0.9, reply=0.5)
    loose = replay(run.utts, listener.tuning, run.allowed, run.expected, labels)
    tight = replay(run.utts, strict, run.allowed, run.expected, labels)
    assert sum(bool(v) for v, _ in tight) <= sum(bool(v) for v, _ in loose)
    with pytest.raises(KeyError):  # a wake threshold off the recorded grid
        replay([u for u in run.utts if u.wake >= 0.5], ListenTuning(wake=0.55), run.allowed,
               run.expected, labels)  # fmt: skip


def test_the_record_replays_a_tuning_that_decides_the_pause_at_another_moment(
    library: Library, listener: RecordingListener, run: Pass, tmp_path: Path
) -> None:
    """Fed again with the pause decided early while Haven is silent: the record keeps the
    close of the utterance acted on early too, so either record replays the other
    tuning's decisions, utterance by utterance."""
    from dataclasses import replace as replaced

    shipped = listener.tuning
    eager = replaced(shipped, early_pause_idle=True)
    cache = ClipCache(tmp_path / "clips")
    clips = render_many([(t, v) for t, v, _ in ITEMS], cache)
    parts = segments(clips, "noise 20 dB", [], np.random.default_rng(3))
    texts = [(t, voice_name(v), e) for t, v, e in ITEMS]
    listener.tuning = eager
    try:
        feed(listener, parts, frozenset(run.allowed), frozenset(), texts)
    finally:
        listener.tuning = shipped
    again = replaced(run, tuning=vars(eager), utts=listener.utts)
    labels = sorted(listener._labels)
    assert check(again, labels) == 0
    assert any(u.heard == "pause" and u.early for u in again.utts)  # early there
    assert not any(u.heard == "pause" and u.early for u in run.utts)  # at the close here
    for record, tuning, other in ((again, shipped, run), (run, eager, again)):
        got = replay(record.utts, tuning, run.allowed, run.expected, labels)
        assert got == [(u.heard, u.via) for u in other.utts]


def test_the_endpointer_only_count_tells_whole_from_cut_from_missed() -> None:
    from assistant.vad import Utterance
    from bench.listening_cuts import Cuts, count

    def utt(a: float, b: float) -> Utterance:
        return Utterance(np.zeros(16, np.int16), a - 0.3, a, b)

    spans = [(1.0, 2.0), (4.0, 6.0), (8.0, 9.0)]
    # the first held (opening a little early, ending a little short), the second in two
    # pieces, the third never opened
    found = [utt(0.8, 1.9), utt(4.0, 4.9), utt(5.2, 6.0)]
    assert count(found, spans) == Cuts(1, 1, 1)
    assert str(Cuts(1, 1, 1)) == "1 / 1 / 1"


def test_the_endpointer_only_table_runs_the_recall_streams(
    library: Library, tmp_path: Path
) -> None:
    """The ``cuts`` part on the recall's own streams (here espeak-ng and flite voices,
    so only the shape is checked): every item is counted once per variant."""
    from bench.listening_cuts import VARIANTS, render, stream_cuts
    from bench.listening_runs import recall_streams

    streams = [s for s in recall_streams(library, ClipCache(tmp_path / "clips"), VOICES,
                                         ["noise 20 dB"], 1, 40, 0, 7)
               if s.name in ("wake", "pause idle")]  # fmt: skip
    assert [s.name for s in streams] == ["wake", "pause idle"]
    for s in streams:
        got = stream_cuts(s, next(iter(VARIANTS.values())))
        assert got.whole + got.cut + got.missed == len(s.texts) > 0
        assert got.whole >= 1  # 20 dB over the noise
    table = render(streams)
    assert "| commands, noise 20 dB | pauses, noise 20 dB |" in table
    assert "(shipped) |" in table and table.count("\n|") == len(VARIANTS) + 2  # head, rule, rows


def test_save_load_and_the_report(run: Pass, listener: RecordingListener, tmp_path: Path) -> None:
    from dataclasses import asdict

    doc = {"voices": "festival", "seed": 0, "labels": sorted(listener._labels),
           "passes": [asdict(run)], "cpu": 0.05}  # fmt: skip
    listening_record.save(tmp_path / "recall-festival.json", doc)
    loaded = listening_record.load(tmp_path / "recall-festival.json")
    assert loaded["passes"][0].utts == run.utts
    text = listening_report.render_e2e([loaded], ListenTuning(), "2026-11-24")
    assert "| target (issue #7) | measured | |" in text
    assert "| clean |" in text and "| wake 0.99 |" in text
    assert "5.0% of one core" in text
    assert "| alone_bare_words 3 (shipped) |" in text
    assert "in a practice (`talk --practice`): not measured" in text  # no practice run here


def test_verdicts_carry_the_slots(library: Library) -> None:
    match = library.intents.match("we need a pause for ten minutes")
    assert match is not None
    assert verdict(match).startswith("pause")
    assert verdict(None) == ""
