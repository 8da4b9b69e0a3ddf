"""Grammars from the intents: word graph, JSGF, Vosk phrase list, command LM, lexicon."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pocketsphinx
import pytest

from assistant.intents import IntentSet
from assistant.stt.arpa import command_lm
from assistant.stt.decide import Tuning, align, decide, longer_twins
from assistant.stt.grammar import build_grammar, vosk_phrase_list
from assistant.stt.lexicon import Lexicon, ipa_to_cmu
from assistant.stt.wordgraph import WordGraph, iter_phrases

ROOT = Path(__file__).resolve().parent.parent
DICT = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"


@pytest.fixture(scope="module")
def intents() -> IntentSet:
    return IntentSet.from_dir(ROOT / "intents" / "en")


def test_word_graph_accepts_exactly_its_phrases() -> None:
    phrases = [("we", "need", "a", "pause"), ("we", "need", "a", "break"), ("pause",)]
    graph = WordGraph.from_phrases(phrases)
    for phrase in phrases:
        assert graph.accepts(phrase)
    assert not graph.accepts(("we", "need", "a"))
    assert not graph.accepts(("we", "need", "a", "pause", "now"))
    assert sorted(iter_phrases(graph)) == sorted(phrases)
    # shared prefix and suffix: 'we need a' is stored once
    assert graph.states < sum(len(p) for p in phrases)


def test_slot_tokens_become_shared_subgraphs() -> None:
    graph = WordGraph.from_phrases(
        [("pause", "for", "{n}", "minutes")],
        {"{n}": [("five",), ("forty-five",), ("one", "hundred")]},
    )
    assert graph.accepts(("pause", "for", "one", "hundred", "minutes"))
    assert not graph.accepts(("pause", "for", "{n}", "minutes"))
    assert "{n}" not in graph.words


def test_every_template_sentence_is_in_the_grammar(intents: IntentSet) -> None:
    grammar = build_grammar(intents)
    graph = grammar.word_graph()
    rng = random.Random(3)
    spoken = [(i, t) for i, t in intents.sentences(max_per_intent=300) if not any(
        c.isdigit() for c in t
    )]
    for intent, text in rng.sample(spoken, 400):
        assert graph.accepts(text.split()), (intent, text)
    # and every phrase of the grammar matches its own intent
    for intent, text in rng.sample(list(grammar.sentences()), 300):
        match = intents.match(text)
        assert match is not None and match.intent == intent, (intent, text)


def test_grammar_is_limited_to_the_allowed_intents(intents: IntentSet) -> None:
    grammar = build_grammar(intents, {"help", "stop"})
    assert grammar.intents == {"help", "stop"}
    assert {p.intent for p in grammar.phrases} == {"help", "stop"}
    assert "pause" not in grammar.vocabulary


def test_number_ranges_are_spelled_the_way_hassil_reads_them(intents: IntentSet) -> None:
    grammar = build_grammar(intents, {"pause"})
    assert "{minutes}" in grammar.slots
    assert len(grammar.slots["{minutes}"]) == 240
    graph = grammar.word_graph()
    words = ["let's", "take", "a", "break", "for", "forty-five", "minutes"]
    assert graph.accepts(words)
    match = intents.match(" ".join(words))
    assert match is not None and match.slots["minutes"] == 45


def test_jsgf_export_loads_in_pocketsphinx(intents: IntentSet, tmp_path: Path) -> None:
    grammar = build_grammar(intents, {"help", "stop", "repeat"})
    text = grammar.to_jsgf("haven")
    assert text.startswith("#JSGF V1.0;")
    path = tmp_path / "haven.gram"
    path.write_text(text)
    config = pocketsphinx.Config(lm=None, logfn="/dev/null")
    decoder = pocketsphinx.Decoder(config)
    for word, phones in Lexicon.load(DICT).resolve(grammar.vocabulary).added.items():
        decoder.add_word(word, phones, False)
    decoder.add_jsgf_file("haven", str(path))
    fsg = decoder.get_fsg("haven")
    assert fsg.accept("what can you do")
    assert not fsg.accept("what can you")


def test_vosk_phrase_list_is_json_with_the_unknown_token(intents: IntentSet) -> None:
    grammar = build_grammar(intents, {"help"})
    phrases = json.loads(vosk_phrase_list(grammar, "[unk]"))
    assert "what can you do" in phrases
    assert phrases[-1] == "[unk]"
    korean = json.loads(vosk_phrase_list(grammar.__class__(frozenset(), ()), "<UNK>"))
    assert korean == ["<UNK>"]


def test_command_lm_is_a_valid_arpa_model(intents: IntentSet, tmp_path: Path) -> None:
    grammar = build_grammar(intents, {"help"})
    text = command_lm(grammar.sentences(), {"the": 0.05, "weather": 0.001, "help": 0.001})
    path = tmp_path / "cmd.arpa"
    path.write_text(text)
    config = pocketsphinx.Config(lm=None, logfn="/dev/null")
    decoder = pocketsphinx.Decoder(config)
    lm = pocketsphinx.NGramModel(config, decoder.logmath, str(path))
    # a command continuation is far likelier than an off-path background word
    assert lm.prob(["can", "you", "what"]) > lm.prob(["the", "you", "what"])
    assert lm.prob(["weather"]) > -500_000_000


def test_lexicon_composes_words_the_dictionary_lacks() -> None:
    lexicon = Lexicon.load(DICT, use_espeak=False)
    prons = lexicon.resolve(["check-in", "appreciations", "checkin", "pause", "xqzt"])
    assert prons.added["check-in"] == "CH EH K IH N"
    assert prons.added["appreciations"].endswith(" Z")
    assert prons.added["checkin"] == "CH EH K IH N"
    assert "pause" not in prons.added
    assert prons.missing == ("xqzt",)


def test_lexicon_falls_back_to_espeak_ipa() -> None:
    assert ipa_to_cmu("dˌiːkəmpɹˈɛs") == "D IY K AH M P R EH S"
    lexicon = Lexicon.load(DICT)
    phones = lexicon.phones("decompress")
    assert phones is not None and phones.startswith("D ")


def test_alignment_and_decision(intents: IntentSet) -> None:
    assert align(["a", "b", "c"], ["a", "x", "c"]) == [True, False, True]
    tuning = Tuning()
    allowed = set(intents.names)
    both = decide("we need a pause", "we need a pause", intents, allowed, tuning)
    assert both.accepted and both.match is not None and both.match.intent == "pause"
    one_word_off = decide(
        "let's do our check in", "let's do our check you", intents, allowed, tuning
    )
    assert one_word_off.accepted and one_word_off.source == "grammar"
    fitted = decide(
        "i'm flooded", "i'm flooded with may after valid eight", intents, allowed, tuning
    )
    assert not fitted.accepted
    nothing = decide("", "the rain finally stopped", intents, allowed, tuning)
    assert not nothing.accepted and nothing.reason


def test_a_half_heard_phrase_counts_when_the_grammar_path_sounds_no_worse(
    intents: IntentSet,
) -> None:
    """In noise the open pass drifts to other words for its language model: when the
    grammar's path scores at least as well acoustically and both passes end on the same
    word, 60% of the words are enough."""
    allowed = set(intents.names)
    said, heard = "let us close the day with gratitude", "let talk slower the day with gratitude"
    tuning = Tuning()
    plain = decide(said, heard, intents, allowed, tuning)
    assert not plain.accepted  # 5 of 7 words: below min_agreement, and no acoustic evidence
    better = decide(said, heard, intents, allowed, tuning, {"score_gap": -0.4})
    assert better.accepted and better.match is not None and better.match.intent == "gratitude"
    worse = decide(said, heard, intents, allowed, tuning, {"score_gap": 0.3})
    assert not worse.accepted and worse.scores["score_gap"] == 0.3
    off = decide(said, heard, intents, allowed, replace(tuning, sound_agreement=None),
                 {"score_gap": -0.4})  # fmt: skip
    assert not off.accepted
    # a command fitted onto the start of a longer sentence: the open pass heard more after it
    longer = decide("we had a awful day today", "we had a awful day can we continue", intents,
                    allowed, tuning, {"score_gap": -1.4})  # fmt: skip
    assert not longer.accepted
    # fewer than 60% of the words: rejected however well the grammar's path sounds
    fitted = decide("i'm flooded", "i'm flooded with may after valid eight", intents, allowed,
                    tuning, {"score_gap": -2.0})  # fmt: skip
    assert not fitted.accepted


def test_alignment_ignores_how_the_passes_spell_a_word() -> None:
    """The open pass's everyday words spell "let's" as "lets" and "check in" as "check-in"."""
    assert align(["let's", "take", "a", "break"], ["lets", "take", "a", "break"]) == [True] * 4
    said = ["can", "we", "start", "the", "weekly", "check", "in"]
    assert align(said, ["can", "start", "the", "weekly", "check-in"]) == [
        True, False, True, True, True, True, True
    ]  # fmt: skip
    assert align(["a", "check-in"], ["a", "check", "out"]) == [True, False]


def test_when_the_passes_disagree_on_a_teen_the_longer_reading_wins(intents: IntentSet) -> None:
    def said(number: str) -> list[str]:
        return f"we need a pause for {number} minutes".split()

    assert longer_twins(said("fourteen"), said("forty")) == said("forty")
    assert longer_twins(said("fourteen"), said("fourteen")) == said("fourteen")
    assert longer_twins(said("fourteen"), said("four")) == said("fourteen")
    assert longer_twins(said("forty"), said("fourteen")) == said("forty")
    allowed = set(intents.names)
    verdict = decide("we need a pause for fourteen minutes", "we need a pause for forty minutes",
                     intents, allowed, Tuning())  # fmt: skip
    assert verdict.accepted and verdict.match is not None
    assert verdict.match.slots["minutes"] == 40
    # the other way round too: the grammar's -ty is kept when the open pass heard -teen
    verdict = decide("we need a pause for forty minutes", "we need a pause for fourteen minutes",
                     intents, allowed, Tuning())  # fmt: skip
    assert verdict.match is not None and verdict.match.slots["minutes"] == 40
