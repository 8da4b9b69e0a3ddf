"""A minimal word graph (DAWG) of phrases, for finite-state grammars.

Tens of thousands of phrases share most of their words; the minimal acyclic
automaton that accepts exactly them has a few hundred states, which keeps a
pocketsphinx grammar small and fast where a flat list of alternatives is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Arc:
    """One transition of a word graph."""

    src: int
    """State the arc leaves."""
    dst: int
    """State the arc enters."""
    word: str | None
    """The word spoken on the arc; None for an empty (null) transition."""


@dataclass(frozen=True)
class WordGraph:
    """An acyclic automaton over words with one start and one final state."""

    start: int
    """The start state."""
    final: int
    """The only final state."""
    states: int
    """Number of states (numbered 0 to states - 1)."""
    arcs: tuple[Arc, ...]
    """Every transition."""

    @classmethod
    def from_phrases(
        cls,
        phrases: Iterable[Sequence[str]],
        slots: Mapping[str, Iterable[Sequence[str]]] | None = None,
    ) -> WordGraph:
        """The minimal graph accepting ``phrases``.

        A word that is a key of ``slots`` stands for any of its word sequences
        (a number range, say); each such arc is replaced by a shared sub-graph.
        """
        graph = _minimal(phrases)
        if not slots:
            return graph
        return graph._splice({name: _minimal(seqs) for name, seqs in slots.items()})

    @property
    def words(self) -> frozenset[str]:
        """Every word on some arc."""
        return frozenset(arc.word for arc in self.arcs if arc.word is not None)

    def accepts(self, words: Sequence[str]) -> bool:
        """Whether the word sequence is one of the graph's phrases."""
        nexts: dict[int, list[Arc]] = {}
        for arc in self.arcs:
            nexts.setdefault(arc.src, []).append(arc)
        current = _closure({self.start}, nexts)
        for word in words:
            current = _closure(
                {a.dst for s in current for a in nexts.get(s, []) if a.word == word}, nexts
            )
            if not current:
                return False
        return self.final in current

    def out_degree(self) -> dict[int, int]:
        """Arcs leaving each state."""
        degree: dict[int, int] = {}
        for arc in self.arcs:
            degree[arc.src] = degree.get(arc.src, 0) + 1
        return degree

    def to_jsgf(self, name: str = "haven") -> str:
        """The graph as a JSGF grammar: one rule per state, ``<s0>`` public."""
        by_state: dict[int, list[Arc]] = {}
        for arc in self.arcs:
            by_state.setdefault(arc.src, []).append(arc)
        lines = ["#JSGF V1.0;", "", f"grammar {name};", ""]
        for state in sorted(by_state, key=lambda s: (s != self.start, s)):
            options = []
            for arc in by_state[state]:
                tail = "" if arc.dst == self.final else f" <s{arc.dst}>"
                head = arc.word if arc.word is not None else "<NULL>"
                options.append(f"{head}{tail}")
            public = "public " if state == self.start else ""
            lines.append(f"{public}<s{state}> = " + " | ".join(f"( {o} )" for o in options) + ";")
        return "\n".join(lines) + "\n"

    def _splice(self, subgraphs: Mapping[str, WordGraph]) -> WordGraph:
        arcs: list[Arc] = []
        next_state = self.states
        shared: dict[tuple[str, int, int], None] = {}
        for arc in self.arcs:
            sub = subgraphs.get(arc.word) if arc.word is not None else None
            if sub is None:
                arcs.append(arc)
                continue
            key = (arc.word or "", arc.src, arc.dst)
            if key in shared:
                continue
            shared[key] = None
            offset = next_state
            next_state += sub.states
            arcs.append(Arc(arc.src, sub.start + offset, None))
            arcs.extend(Arc(a.src + offset, a.dst + offset, a.word) for a in sub.arcs)
            arcs.append(Arc(sub.final + offset, arc.dst, None))
        return WordGraph(self.start, self.final, next_state, tuple(_close_nulls(arcs)))


def _close_nulls(arcs: list[Arc]) -> list[Arc]:
    """Add a direct null arc for every chain of null arcs.

    pocketsphinx follows one null transition at a time in a grammar made with
    ``create_fsg`` (only its JSGF loader computes the closure), so a chain like
    slot-end -> phrase-end -> final would never be crossed.
    """
    nulls: dict[int, set[int]] = {}
    for arc in arcs:
        if arc.word is None:
            nulls.setdefault(arc.src, set()).add(arc.dst)
    extra: list[Arc] = []
    for src, direct in nulls.items():
        reach = set(direct)
        todo = list(direct)
        while todo:
            for nxt in nulls.get(todo.pop(), ()):
                if nxt not in reach:
                    reach.add(nxt)
                    todo.append(nxt)
        extra.extend(Arc(src, dst, None) for dst in sorted(reach - direct) if dst != src)
    return arcs + extra


def _closure(states: set[int], nexts: Mapping[int, list[Arc]]) -> set[int]:
    todo = list(states)
    seen = set(states)
    while todo:
        state = todo.pop()
        for arc in nexts.get(state, []):
            if arc.word is None and arc.dst not in seen:
                seen.add(arc.dst)
                todo.append(arc.dst)
    return seen


@dataclass
class _Node:
    children: dict[str, _Node]
    final: bool = False


def _minimal(phrases: Iterable[Sequence[str]]) -> WordGraph:
    """Build a trie, then merge states with equal right languages (bottom-up)."""
    root = _Node({})
    for phrase in phrases:
        node = root
        for word in phrase:
            node = node.children.setdefault(word, _Node({}))
        node.final = True
    ids: dict[tuple[bool, tuple[tuple[str, int], ...]], int] = {}
    edges: dict[int, tuple[tuple[str, int], ...]] = {}
    finals: set[int] = set()

    def visit(node: _Node) -> int:
        key = (node.final, tuple(sorted((w, visit(c)) for w, c in node.children.items())))
        found = ids.get(key)
        if found is None:
            found = len(ids)
            ids[key] = found
            edges[found] = key[1]
            if node.final:
                finals.add(found)
        return found

    start = visit(root)
    final = len(ids)
    arcs = [Arc(src, dst, word) for src, out in edges.items() for word, dst in out]
    arcs.extend(Arc(state, final, None) for state in sorted(finals))
    return WordGraph(start, final, final + 1, tuple(arcs))


def iter_phrases(graph: WordGraph, limit: int = 1000) -> Iterator[tuple[str, ...]]:
    """Up to ``limit`` phrases the graph accepts (depth first), for tests and inspection."""
    nexts: dict[int, list[Arc]] = {}
    for arc in graph.arcs:
        nexts.setdefault(arc.src, []).append(arc)
    stack: list[tuple[int, tuple[str, ...]]] = [(graph.start, ())]
    count = 0
    while stack and count < limit:
        state, words = stack.pop()
        if state == graph.final:
            count += 1
            yield words
            continue
        for arc in reversed(nexts.get(state, [])):
            stack.append((arc.dst, words if arc.word is None else (*words, arc.word)))
