"""The end-to-end listening report: the "## Listening" section of BENCHMARKS.md.

``render_e2e`` turns the records of ``python -m bench.listening_e2e`` runs into acceptance
per route and condition, false fires per hour, idle CPU and decision time, a threshold sweep,
and whether the targets of issue #7 are met; everything replayed from the records of one run
(``bench.listening_record.replay``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from assistant.listen.corpus import prompt_sentences
from assistant.listen.routes import PAUSE
from assistant.listen.tuning import ListenTuning

from .listening import CONDITIONS, ROOT
from .listening_record import ALONE, GRID_WAKE, Item, Pass, Utt, replay
from .listening_runs import PRACTICES

TENS = ("clean", "noise 10 dB", "babble 10 dB")
SPAN = (0.3, 1.2)
"""A decision belongs to an item when its speech ends this long before/after the item's."""


def _hits(p: Pass, got: list[tuple[str, str]]) -> list[list[str]]:
    ends = np.array([u.end for u in p.utts])
    out = []
    for item in p.items:
        near = np.flatnonzero((ends >= item.start - SPAN[0]) & (ends <= item.end + SPAN[1]))
        out.append([got[i][0] for i in near if got[i][0]])
    return out


def saying(p: Pass) -> list[str]:
    """What Haven is taken to be saying over each utterance of a pass with only the pause
    live (Haven speaking): a prompt of the YAML, by the utterance's place (the same in
    every replay), so the live loop's test for Haven's own words costs what it would."""
    if set(p.allowed) != {PAUSE}:
        return []
    prompts = prompt_sentences(ROOT / "intents" / "en" / "prompts")
    return [prompts[(i * 7919) % len(prompts)] for i in range(len(p.utts))]


def _right(expect: str, verdict: str) -> bool:
    return verdict == expect or (expect == "pause" and verdict.split("(")[0] == "pause")


def accepted(p: Pass, tuning: ListenTuning, labels: Sequence[str]) -> tuple[int, int, int]:
    """(accepted, wrong, items) of one recall pass replayed at ``tuning``: accepted when
    a decision with the right intent and slots comes for the item, wrong when only others."""
    hits = _hits(p, replay(p.utts, tuning, p.allowed, p.expected, labels, saying(p)))
    right = sum(any(_right(i.expect, v) for v in h) for i, h in zip(p.items, hits, strict=True))
    wrong = sum(bool(h) and not any(_right(i.expect, v) for v in h)
                for i, h in zip(p.items, hits, strict=True))  # fmt: skip
    return right, wrong, len(p.items)


def fired(p: Pass, tuning: ListenTuning, labels: Sequence[str]) -> list[tuple[Utt, str, str]]:
    """Every decision made on a talk pass (each one a false fire): the utterance, the
    verdict, and "via (voice: what was said)"."""
    got = replay(p.utts, tuning, p.allowed, p.expected, labels, saying(p))
    out = []
    for u, (v, via) in zip(p.utts, got, strict=True):
        if v:
            said = next((f'{i.voice}: "{i.text}"' for i in p.items
                         if i.start - SPAN[0] <= u.end <= i.end + SPAN[1]), "?")  # fmt: skip
            out.append((u, v, f"{via} ({said})"))
    return out


def carrier(p: Pass, item: Item, tuning: ListenTuning) -> Utt | None:
    """The utterance near ``item`` that carried it: the one its route scores highest (the
    wake detector for commands, the pause detector for pauses), then the longest. The
    first one near it is often a short noise fragment before the words."""
    near = [u for u in p.utts if item.start - SPAN[0] <= u.end <= item.end + SPAN[1]]
    pause = p.name.startswith("pause")
    return max(near, key=lambda u: ((u.armed >= tuning.pause) if pause else u.wake,
                                    u.end - u.start), default=None)  # fmt: skip


def causes(p: Pass, tuning: ListenTuning, labels: Sequence[str]) -> dict[str, int]:
    """Why the items a recall pass missed were missed, by the utterance that carried each
    (``carrier``)."""
    hits = _hits(p, replay(p.utts, tuning, p.allowed, p.expected, labels, saying(p)))
    out: dict[str, int] = {}
    for item, found in zip(p.items, hits, strict=True):
        if any(_right(item.expect, v) for v in found):
            continue
        u = carrier(p, item, tuning)
        pause = p.name.startswith("pause")
        score, threshold = ((u.armed, tuning.pause) if pause else
                            (u.wake, tuning.wake)) if u else (0.0, 0.0)  # fmt: skip
        heard = (u.pause if pause else u.cuts.get(str(tuning.wake))) if u else None
        alone = pause and tuning.alone and u is not None and u.end - u.start <= tuning.alone_s
        why = ("no end of speech found" if u is None or u.start < item.start - 2.0
               else "merged into a long utterance" if u.end - u.start > 6.0
               else "detector below threshold, the grammar's passes disagree"
               if score < threshold and alone
               else "wake detector below threshold, the named grammar missed it"
               if score < threshold and u.named is not None and not pause
               else "detector below threshold" if score < threshold
               else "name alone (command cut off)" if heard == ALONE
               else "grammar rejected it" if not heard
               else "grammar heard another intent or slots")  # fmt: skip
        if not pause and tuning.named_first and why.startswith("grammar"):
            why += " (the whole phrase, then the cut)"
        out[why] = out.get(why, 0) + 1
    return out


def _per_hour(rate: float) -> str:
    return f"{rate:.2f}" if np.isfinite(rate) else "not measured"


def _pct(counts: Sequence[tuple[int, int, int]]) -> str:
    right, n = sum(c[0] for c in counts), sum(c[2] for c in counts)
    return f"{right / n:.0%} ({right}/{n})" if n else "-"


Counts = dict[tuple[str, str], list[tuple[int, int, int]]]
Talk = dict[str, tuple[list[tuple[Utt, str, str]], float]]


def measure(passes: Sequence[Pass], tuning: ListenTuning,
            labels: Sequence[str]) -> tuple[Counts, Talk]:  # fmt: skip
    """Acceptance per (route, condition); the decisions on each talk pass and its hours."""
    counts: Counts = {}
    talk: Talk = {}
    for p in passes:
        if p.name.startswith("talk"):  # slices of one talk run add up
            found, hours = talk.get(p.name, ([], 0.0))
            talk[p.name] = (found + fired(p, tuning, labels), hours + p.seconds / 3600)
        else:
            key = ("reply" if p.name.startswith("reply") else p.name, p.condition)
            counts.setdefault(key, []).append(accepted(p, tuning, labels))
    return counts, talk


def sweep(passes: Sequence[Pass], base: ListenTuning, labels: Sequence[str],
          grid: Mapping[str, Sequence[float]]) -> list[str]:  # fmt: skip
    """Markdown rows: one knob moved at a time from ``base``."""
    rows = ["| tuning | wake+command | pause (speaking) | replies | false fires/h idle | "
            "in a practice |", "|---|---|---|---|---|---|"]  # fmt: skip
    for knob, values in grid.items():
        for value in values:
            tuning = ListenTuning(**{**asdict(base), knob: value})
            m, talk = measure(passes, tuning, labels)

            def cell(route: str, m: Counts = m) -> str:
                return " / ".join(_pct(m[(route, c)]).split(" ")[0] if (route, c) in m else "-"
                                  for c in TENS)  # fmt: skip

            fa = [f"{len(talk[k][0]) / talk[k][1]:.2f}" if k in talk else "-"
                  for k in ("talk idle", "talk practice")]  # fmt: skip
            mark = " (shipped)" if tuning == base else ""
            rows.append(f"| {knob} {value}{mark} | {cell('wake')} | {cell('pause speaking')} | "
                        f"{cell('reply')} | {fa[0]} | {fa[1]} |")  # fmt: skip
    return rows


def render_e2e(docs: Sequence[dict[str, Any]], tuning: ListenTuning, day: str,
               dev: Sequence[dict[str, Any]] = (), note: str = "") -> str:  # fmt: skip
    """The body of the "## Listening" section of BENCHMARKS.md."""
    passes = [p for d in docs for p in d["passes"]]
    labels = next(d["labels"] for d in docs)
    m, talk = measure(passes, tuning, labels)
    cpu = next((d["cpu"] for d in docs if "cpu" in d), float("nan"))
    lat = sorted(u.latency for p in passes if p.name in ("wake", "pause idle")
                 or p.name.startswith("reply") for u in p.utts if u.latency >= 0)  # fmt: skip
    mismatches = sum(p.mismatches for p in passes)

    def rate(route: str, cond: str) -> float:
        c = m.get((route, cond), [])
        return sum(x[0] for x in c) / max(1, sum(x[2] for x in c))

    idle_fa, idle_h = talk.get("talk idle", ([], float("nan")))
    prac_fa, prac_h = talk.get("talk practice", ([], float("nan")))
    fa = (len(idle_fa) / idle_h, len(prac_fa) / prac_h)
    worst10 = min(rate("wake", "noise 10 dB"), rate("wake", "babble 10 dB"))
    pause10 = min(rate("pause speaking", "noise 10 dB"), rate("pause speaking", "babble 10 dB"))

    def met(ok: bool) -> str:
        return "**met**" if ok else "not met"

    lines = [
        f"Measured {day} with `python -m bench.listening_e2e` (parts `recall`, `talk`, `talk "
        "--practice`, `cpu`, then `report --write`): the `Listener` that `haven run` builds "
        "(shipped detectors, pocketsphinx grammar), fed continuous streams in 30 ms chunks; "
        "the endpointer finds the utterances (no oracle boundaries). Voices: festival (kal, ked, "
        "slt HTS at three speeds), which training never uses and no setting was chosen on; "
        "wake commands, pause lead-ins and reply phrasings training never saw. Items are 1.5-2.5 "
        "s apart over room tone (-62 dBFS); noise (white, pink or brown per item) and babble "
        "(3-6 festival voices, held-out sentences) run through the whole stream at the SNR "
        "against a -22 dBFS speech level (each item -24 to -20 dBFS). An item counts when a "
        "decision with its intent and slots comes for it. 2-core machine shared with other "
        "jobs.",
        "",
        f"`ListenTuning`: wake {tuning.wake}, pause {tuning.pause}, reply {tuning.reply} "
        f"(chosen on an espeak-ng/flite dev run); the pause without its detector when both "
        f"grammar passes hear it (`alone`, utterances up to {tuning.alone_s} s): "
        f"{'on' if tuning.alone else 'off'}, and while Haven speaks (`alone_over_haven`, "
        f"with `--echo-cancel`): {'on' if tuning.alone_over_haven else 'off'}, or when at "
        f"least {tuning.doubletalk_s:g} s of the utterance is not Haven's voice "
        f"(`doubletalk_s`; these streams hold no Haven voice, so that is all the speech "
        f"there: the \"Double talk\" section measures the test over Haven's voice), the "
        f"short phrasings after a lead-in then too (`doubletalk_short`): "
        f"{'on' if tuning.doubletalk_short else 'off'}; "
        f"\"Haven, <command>\" heard whole by the grammar of the commands after the name "
        f"(`named`, utterances up to {tuning.named_s} s, wake score at least "
        f"{tuning.named_wake}): {'on' if tuning.named else 'off'}, and asked before the cut "
        f"after the name when the wake detector fires (`named_first`): "
        f"{'on' if tuning.named_first else 'off'}.",
        "",
        "| target (issue #7) | measured | |",
        "|---|---|---|",
        f"| \"Haven, <command>\" >= 95% clean | {rate('wake', 'clean'):.0%} | "
        f"{met(rate('wake', 'clean') >= 0.95)} |",
        f"| \"Haven, <command>\" >= 90% at 10 dB (noise / babble) | "
        f"{rate('wake', 'noise 10 dB'):.0%} / {rate('wake', 'babble 10 dB'):.0%} | "
        f"{met(worst10 >= 0.9)} |",
        f"| pause recall >= 95% clean (Haven speaking, where the double-talk test opens / "
        f"idle; over Haven's voice: \"Double talk\") | "
        f"{rate('pause speaking', 'clean'):.0%} / {rate('pause idle', 'clean'):.0%} | "
        f"{met(rate('pause speaking', 'clean') >= 0.95)} |",
        f"| pause recall >= 90% at 10 dB (noise / babble, Haven speaking, where the test "
        f"opens) | "
        f"{rate('pause speaking', 'noise 10 dB'):.0%} / "
        f"{rate('pause speaking', 'babble 10 dB'):.0%} | {met(pause10 >= 0.9)} |",
        f"| <= 0.5 false fires per hour, any intent (idle / in a practice) | "
        f"{_per_hour(fa[0])} / {_per_hour(fa[1])} | "
        f"{met(all(np.isfinite(fa)) and max(fa) <= 0.5)} |",
        f"| idle listening <= 15% of one core | {cpu:.1%} | {met(cpu <= 0.15)} |",
        "",
        *([note.strip(), ""] if note.strip() else []),
        "| condition | \"Haven, <command>\" accepted | wrong intent/slots | pause recall, Haven "
        "speaking | pause recall, idle | replies in a practice |",
        "|---|---|---|---|---|---|",
    ]
    for cond, _, _ in CONDITIONS:
        wake = m.get(("wake", cond), [])
        lines.append(f"| {cond} | {_pct(wake)} | {sum(c[1] for c in wake)} | "
                     f"{_pct(m.get(('pause speaking', cond), []))} | "
                     f"{_pct(m.get(('pause idle', cond), []))} | "
                     f"{_pct(m.get(('reply', cond), []))} |")  # fmt: skip
    practices = ", ".join("{" + ", ".join(sorted(e)) + "}" for e in PRACTICES)
    lines += [
        "",
        f"Replies: the expected sets {practices}, every global intent live too; phrasings "
        "from the intents' sentences after the 24 per reply the reply detector trained on.",
        "",
        "Why items were missed (by the utterance near each missed item its route's detector "
        "scored highest: the endpointer, the detector at its threshold, the cut after the "
        "name, or the grammar; an item decided as another intent counts as heard "
        "otherwise even when a later utterance was rejected):",
        "",
        "| pass | condition | missed | causes |",
        "|---|---|---|---|",
    ]
    for p in passes:
        if p.name in ("wake", "pause idle") and p.condition in TENS:
            why = causes(p, tuning, labels)
            text = ", ".join(f"{k} {v}" for k, v in sorted(why.items(), key=lambda kv: -kv[1]))
            lines.append(f"| {p.name} | {p.condition} | {sum(why.values())}/{len(p.items)} | "
                         f"{text} |")  # fmt: skip
    lines += [
        "",
        f"False fires over {idle_h:.2f} h of ordinary talk (the "
        f"seed articles, `bench/data/ordinary.txt`, held-out fortunes; 0.5-1.5 s gaps): idle "
        f"(top-level intents live) **{len(idle_fa)} = {fa[0]:.2f}/h**; in a practice "
        + (f"({{done, extend}} expected, {prac_h:.2f} h) **{len(prac_fa)} = {fa[1]:.2f}/h**."
           if np.isfinite(prac_h) else "(`talk --practice`): not measured in this "
           "run."),
        "",
    ]
    for name, found in (("idle", idle_fa), ("in a practice", prac_fa)):
        lines += [f"- {name}: {v} via {via}" for _, v, via in found]
    if lat:
        lines += ["", f"Decision after the end of speech (accepted items, all conditions, "
                  f"n={len(lat)}): median {np.median(lat):.2f} s, p95 "
                  f"{np.percentile(lat, 95):.2f} s; this includes the endpointer's 0.5 s of "
                  "trailing quiet and was taken at the tuning the run used."]  # fmt: skip
    lines += ["", f"Idle listening (endpointer + embeddings on quiet room noise, CPU time / "
              f"audio time): {cpu:.1%} of one core.",
              f"Replaying the records gives the Listener's own decisions: {mismatches} "
              "disagreements.", "", "Threshold sweep (festival, for reading the trade-off "
              "only; acceptance clean / noise 10 dB / babble 10 dB):", ""]  # fmt: skip
    recorded = {float(w) for p in passes for u in p.utts for w in u.cuts}
    grid = {"wake": [w for w in GRID_WAKE if w in recorded],
            "pause": (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
            "reply": (0.0, 0.005, 0.02, 0.05, 0.1, 0.3, 0.5),
            "alone": (False, True), "alone_over_haven": (False, True),
            "doubletalk_s": (0.0, 0.3, 1.0), "doubletalk_short": (False, True),
            "alone_bare_words": (2, 3, 100), "named": (False, True),
            "named_both": (False, True), "pause_both_below": (0.0, 0.3, 0.5, 0.9),
            "alone_floor": (0.0, 0.001, 0.01, 0.05), "alone_both": (False, True),
            "named_wake": (0.0, 0.01, 0.1, 0.3), "named_first": (False, True)}  # fmt: skip
    lines += sweep(passes, tuning, labels, grid)
    if dev:
        dpasses = [p for d in dev for p in d["passes"]]
        hours = sum(p.seconds for p in dpasses if p.name.startswith("talk")) / 3600
        lines += ["", "### Tuning (dev run: espeak-ng and flite voices)", "",
                  f"Voices of the training engines at fixed settings, the same phrasings, "
                  f"{hours:.1f} h of ordinary talk. The shipped `ListenTuning` was chosen here:",
                  "", *sweep(dpasses, tuning, labels, grid)]  # fmt: skip
    return "\n".join(lines) + "\n"
