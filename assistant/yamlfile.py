"""Load YAML keeping line numbers, so every validation error can say file:line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys were written."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A YAML sequence that remembers where it and each item were written."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """SafeLoader building LineDict/LineList, with YAML 1.2 booleans.

    Only ``true``/``false`` are booleans: ``yes``, ``no``, ``on`` and ``off`` stay
    words, since they are intent names and step keys here.
    """


_YAML11_ONLY = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
# YAML 1.2 numbers: "21:30" stays text (YAML 1.1 read it as 1290, base 60)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    written: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if key_node.value in written:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key_node.value}'", key_node.start_mark
            )
        written.add(key_node.value)
    loader.flatten_mapping(node)  # merged ("<<") keys come first; written ones override
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "keys must be plain words", key_node.start_mark
            )
        key = str(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML text; a syntax error becomes a ConfigError with file and line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or exc.context or "malformed YAML"
        raise ConfigError(
            [Problem(path, line, f"malformed YAML: {what}", "fix the indentation or quoting")]
        ) from exc
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ConfigError(
            [
                Problem(
                    path,
                    line,
                    f"character {exc.character!r} cannot be in a YAML file",
                    "delete it; save the file as plain UTF-8 text",
                )
            ]
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(path, 1, f"malformed YAML: {exc}")]) from exc


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file (see parse_yaml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Problem(path, 0, "file not found")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(path, 0, f"cannot read: {exc}", "save it as UTF-8")]) from exc
    return parse_yaml(text, path)


def line_of(container: Any, key: str | int | None = None) -> int:
    """Best-known line of ``container[key]`` (or of the container itself)."""
    if isinstance(container, LineDict):
        if isinstance(key, str) and key in container.key_lines:
            return container.key_lines[key]
        return container.line
    if isinstance(container, LineList):
        if isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return 0


class Collector:
    """Gathers problems for one file so a loader can report them all at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.path, line, message, hint))

    def unknown_keys(self, mapping: LineDict, allowed: set[str], where: str) -> None:
        """Report every key of ``mapping`` that is not in ``allowed``."""
        for key in mapping:
            if key not in allowed:
                self.add(
                    line_of(mapping, key),
                    f"unknown key '{key}' in {where}",
                    "expected one of: " + ", ".join(sorted(allowed)),
                )

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)
