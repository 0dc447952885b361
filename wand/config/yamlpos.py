"""Parse YAML into a small tree that remembers where every node was written.

yaml.safe_load() throws positions away, so we compose the node graph instead
(SafeLoader rules: no arbitrary Python objects) and convert it into Map / Seq /
Scalar nodes carrying a 1-based Mark. Mappings keep every entry in file order,
duplicates included: YAML silently keeps the last duplicate key, and a setting
that is quietly overridden three screens further down is exactly the kind of
mistake a configuration checker should report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from yaml.constructor import SafeConstructor

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Mark:
    """A position in the file, 1-based like an editor's."""

    line: int
    column: int


@dataclass(frozen=True)
class Scalar:
    value: object  # str, int, float, bool or None, as YAML 1.1 (SafeLoader) resolves it
    mark: Mark


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]
    mark: Mark


@dataclass(frozen=True)
class Entry:
    key: str  # the key as written; YAML keys that are not scalars are reported by the parser
    key_mark: Mark
    value: Node


@dataclass(frozen=True)
class Map:
    entries: tuple[Entry, ...]  # file order, duplicate keys kept
    mark: Mark


Node = Scalar | Seq | Map


class YamlSyntaxError(Exception):
    """The text is not YAML we can read; carries the position the parser blamed."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def parse(text: str) -> Node | None:
    """Parse one YAML document; None for an empty document. Raises YamlSyntaxError."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        return None if root is None else _Converter().convert(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # problem and context are phrases ("mapping values are not allowed here"):
        # keep both, the context often says what the parser was in the middle of.
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise YamlSyntaxError(_mark(mark), message) from exc
    except RecursionError as exc:
        # Thousands of nested [[[...]]] exhaust the composer's recursion.
        raise YamlSyntaxError(Mark(1, 1), "the document is nested too deeply") from exc
    except yaml.reader.ReaderError as exc:
        # Raised for control characters; it knows an offset, not a line.
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise YamlSyntaxError(Mark(line, column), f"unacceptable character #x{exc.character:04x}") from exc


def _mark(mark: yaml.Mark | None) -> Mark:
    return Mark(1, 1) if mark is None else Mark(mark.line + 1, mark.column + 1)


class _Converter:
    """Turns a composed yaml.Node graph into our tree.

    Converted nodes are memoised by identity: an alias then costs nothing, so a
    "billion laughs" document stays as small as its text.
    """

    def __init__(self) -> None:
        self._done: dict[int, Node] = {}
        self._active: set[int] = set()
        self._constructor = SafeConstructor()

    def convert(self, node: yaml.Node) -> Node:
        key = id(node)
        if key in self._done:
            return self._done[key]
        if key in self._active:
            # `&a [*a]` composes into a cycle; no configuration value needs one.
            raise yaml.MarkedYAMLError(problem="recursive alias", problem_mark=node.start_mark)
        self._active.add(key)
        try:
            result = self._convert(node)
        finally:
            self._active.discard(key)
        self._done[key] = result
        return result

    def _convert(self, node: yaml.Node) -> Node:
        mark = _mark(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return Map(self._entries(node), mark)
        if isinstance(node, yaml.SequenceNode):
            return Seq(tuple(self.convert(item) for item in node.value), mark)
        # SafeConstructor gives the YAML 1.1 typing everyone expects (ints, floats,
        # booleans, null) and rejects unknown tags with a positioned error.
        return Scalar(self._constructor.construct_object(node, deep=True), mark)

    def _entries(self, node: yaml.MappingNode) -> tuple[Entry, ...]:
        own: list[Entry] = []
        merged: list[Entry] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_source(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    problem="a key must be a plain name", problem_mark=key_node.start_mark
                )
            own.append(Entry(key_node.value, _mark(key_node.start_mark), self.convert(value_node)))
        # `<<: *defaults` fills in only what the mapping does not set itself.
        written = {entry.key for entry in own}
        inherited = {}
        for entry in merged:
            if entry.key not in written:
                inherited.setdefault(entry.key, entry)
        return tuple(own) + tuple(inherited.values())

    def _merge_source(self, node: yaml.Node) -> list[Entry]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        entries: list[Entry] = []
        for source in sources:
            converted = self.convert(source)
            if not isinstance(converted, Map):
                raise yaml.MarkedYAMLError(
                    problem="'<<' needs a mapping to merge", problem_mark=source.start_mark
                )
            entries.extend(converted.entries)
        return entries


def mark_at(root: Node, path: str) -> Mark:
    """Where the value at dotted `path` starts (e.g. "interfaces[0].name").

    A path that was not written (a defaulted setting) resolves to its nearest
    written parent, which is where an operator would add it. Cross-file checks
    use this long after the rules have run, to point at the right line.
    """
    node = root
    for key, index in _STEP.findall(path):
        found: Node | None = None
        if key and isinstance(node, Map):
            # The first of duplicate keys: the one the rules read.
            found = next((entry.value for entry in node.entries if entry.key == key), None)
        elif index and isinstance(node, Seq) and int(index) < len(node.items):
            found = node.items[int(index)]
        if found is None:
            break
        node = found
    return node.mark
