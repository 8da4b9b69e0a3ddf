"""Words, compared: the always-armed pause phrasings, and Haven's own words heard back.

Pure functions over the recognizer's text. ``armed_phrasing`` says which always-armed
phrasing an utterance is (perhaps after a lead-in such as "wait"); ``haven_said`` says
whether a pause heard while Haven speaks is made only of words Haven is saying, i.e. its
own voice leaking back into the microphone.
"""

from __future__ import annotations

from ..intents import normalize

ARMED_LEADS = ("hold on", "wait", "sorry", "stop")
"""Words that may come before an always-armed phrasing (the pause intent's ``pause_lead``)."""

SPELLINGS = (("let us", "lets"), ("i am", "im"), ("we are", "were"), ("timeout", "time out"))
"""Ways of writing the same phrasing, compared as one (after apostrophes are dropped): the
grammar and the open pass spell "let's" and "I'm" either way."""

FUNCTION_WORDS = frozenset((
    "a", "an", "the", "i", "we", "you", "us", "me", "it", "this", "that", "to", "for", "of",
    "now", "please", "can", "could", "may", "lets", "im", "were", "both", "really", "just",
))  # fmt: skip
"""Words that say nothing of where a phrase came from ("we need a pause" and "I need a
pause" are the same words of Haven's "just say we need a pause")."""


def spelled(text: str) -> str:
    """``text`` normalized, apostrophes dropped, one spelling per ``SPELLINGS`` pair."""
    padded = " " + " ".join(w.replace("'", "") for w in normalize(text).split()) + " "
    for written, same in SPELLINGS:
        padded = padded.replace(f" {written} ", f" {same} ")
    return padded.strip()


def armed_phrasing(text: str, phrases: tuple[str, ...]) -> tuple[str, str | None]:
    """(lead-in, phrasing): which of ``phrases`` ``text`` is, perhaps after one of
    ``ARMED_LEADS`` ("", None when it is none of them), spelling aside (``SPELLINGS``:
    "lets take a break" is "let's take a break", "timeout" is "time out")."""
    words, lead = _without_lead(spelled(text))
    phrase = next((p for p in phrases if spelled(p) == words), None)
    return lead, None if phrase is None else spelled(phrase)


def haven_said(heard: str, spoken: str) -> bool:
    """Whether every word of ``heard`` that tells phrases apart (not a lead-in, not one of
    ``FUNCTION_WORDS``) is a word of ``spoken``: Haven saying "just say we need a pause",
    heard back as "sorry, I need a pause", is Haven's own voice. A phrase with no such
    word is never taken for Haven's."""
    words, _ = _without_lead(spelled(heard))
    telling = [w for w in words.split() if w not in FUNCTION_WORDS]
    said = set(spelled(spoken).split())
    return bool(telling) and all(w in said for w in telling)


def _without_lead(words: str) -> tuple[str, str]:
    """(the rest, the lead-in) of spelled ``words``."""
    for candidate in ARMED_LEADS:
        if words.startswith(candidate + " "):
            return words[len(candidate) + 1 :], candidate
    return words, ""
