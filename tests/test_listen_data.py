"""Training text: negatives, the pause list, replies, and what stays out of training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.intents import IntentSet
from assistant.listen import corpus, negatives
from assistant.listen.mlp import TrainSettings, fit
from assistant.listen.synth import haven_voice
from assistant.listen.train import SIZES, plan

ROOT = Path(__file__).resolve().parent.parent
LANG = ROOT / "intents" / "en"
SEEDS = ROOT.parent / "shared" / "seeds"


def test_own_negatives_are_many_and_use_trigger_words() -> None:
    lines = negatives.couple_sentences()
    assert len(lines) >= 300
    text = " ".join(lines).lower()
    for word in ("pause", "break", "time out", "flooded", "done", "ready", "haven", "heaven"):
        assert word in text


def test_fortunes_split_into_train_and_held_out_parts() -> None:
    train = set(negatives.fortune_sentences("train"))
    test = set(negatives.fortune_sentences("test"))
    assert len(train) > 5000 and len(test) > 1000
    assert not train & test


def test_seed_articles_never_reach_training() -> None:
    if not SEEDS.is_dir():
        return
    seeds = {s.lower() for s in negatives.article_sentences(SEEDS)}
    phrases = corpus.build_phrases(LANG, "Haven")
    items = plan(phrases, SIZES["small"], 0, haven_voice())
    spoken = {t.lower() for it in items for t in it.texts}
    assert seeds and not seeds & spoken
    assert not seeds & {s.lower() for s in negatives.couple_sentences()}


def test_pause_phrasings_are_pauses_to_the_grammar() -> None:
    intents = IntentSet.from_dir(LANG)
    for leads in (corpus.PAUSE_LEADS_TRAIN, corpus.PAUSE_LEADS_TEST):
        for text in corpus.pause_phrases(leads):
            match = intents.match(text)
            assert match is not None and match.intent == "pause", text


def test_replies_come_from_their_intents() -> None:
    intents = IntentSet.from_dir(LANG)
    replies = corpus.reply_sentences(intents)
    assert set(replies) == set(corpus.REPLY_INTENTS)
    for name, texts in replies.items():
        assert texts[0] == corpus.REPLY_CANONICAL[name].lower()
        for text in texts:
            match = intents.match(text)
            assert match is not None and match.intent == name, text


def test_wake_phrases_follow_the_settings_name() -> None:
    assert corpus.wake_phrases("Juniper") == ("Juniper", "hey Juniper", "okay Juniper")


def test_plan_and_fit_are_deterministic() -> None:
    phrases = corpus.build_phrases(LANG, "Haven")
    a = plan(phrases, SIZES["small"], 3, haven_voice())
    b = plan(phrases, SIZES["small"], 3, haven_voice())
    c = plan(phrases, SIZES["small"], 4, haven_voice())
    assert a == b and a != c
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 16, 96)).astype(np.float32)
    y = (x[:, 0, 0] > 0.5).astype(int)
    settings = TrainSettings(epochs=2, min_steps=20)
    m1, m2 = fit(x, y, 2, settings, 9), fit(x, y, 2, settings, 9)
    np.testing.assert_array_equal(m1.w1, m2.w1)
    assert (m1.probabilities(x).argmax(1) == y).mean() > 0.9
