"""Typed reads from the positioned YAML tree, reporting every problem to a Sink.

Convention used by every reader here and in the rule modules: a result of None
means "nothing usable" (absent without default, or wrong and already reported).
Readers never raise and never stop at the first problem, so one run reports
everything; checks that relate two settings simply skip when either is None,
which keeps one mistake from cascading into a page of follow-on errors.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from wand.config.errors import ConfigError
from wand.config.yamlpos import Entry, Map, Mark, Node, Scalar, Seq

_Num = TypeVar("_Num", int, float)


# Keys starting with "x-" are ignored where a section allows extensions, as in
# docker-compose: they give YAML anchors somewhere to live.
EXTENSION_PREFIX = "x-"


class Invalid:
    """Returned where None is itself a valid value (e.g. "unlimited"): reported, unusable."""


INVALID = Invalid()


class Sink:
    """Collects the errors of one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def add(self, mark: Mark, key: str, message: str) -> None:
        self.errors.append(ConfigError(self.file, mark.line, mark.column, key, message))


def child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def suggest(word: str, choices: Iterable[str]) -> str:
    """A "; did you mean ..." hint when a choice is close enough to be a likely typo."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def kind(node: Node) -> str:
    """What the operator wrote, in words, for "expected X, got Y" messages."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"a {type(value).__name__}"  # dates and other YAML 1.1 oddities


def is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, Scalar) and node.value is None)


# --- node-level readers (also used for list items) ---------------------------


def as_str(sink: Sink, node: Node, path: str) -> str | None:
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return node.value
    sink.add(node.mark, path, f"expected a string, got {kind(node)}")
    return None


def as_int(sink: Sink, node: Node, path: str, lo: int | None = None, hi: int | None = None) -> int | None:
    # bool is an int subclass in Python; `mtu: yes` must not become mtu 1.
    if not (isinstance(node, Scalar) and isinstance(node.value, int) and not isinstance(node.value, bool)):
        sink.add(node.mark, path, f"expected an integer, got {kind(node)}")
        return None
    return _in_range(sink, node, path, node.value, lo, hi)


def as_number(
    sink: Sink, node: Node, path: str, lo: float | None = None, hi: float | None = None
) -> float | None:
    if not (
        isinstance(node, Scalar) and isinstance(node.value, int | float) and not isinstance(node.value, bool)
    ):
        sink.add(node.mark, path, f"expected a number, got {kind(node)}")
        return None
    value = _in_range(sink, node, path, node.value, lo, hi)
    return None if value is None else float(value)


def _in_range(
    sink: Sink, node: Scalar, path: str, value: _Num, lo: float | None, hi: float | None
) -> _Num | None:
    if lo is not None and hi is not None and not lo <= value <= hi:
        sink.add(
            node.mark, path, f"{number_text(value)} is out of range {number_text(lo)}..{number_text(hi)}"
        )
        return None
    if lo is not None and value < lo:
        sink.add(node.mark, path, f"{number_text(value)} is too small: the minimum is {number_text(lo)}")
        return None
    if hi is not None and value > hi:
        sink.add(node.mark, path, f"{number_text(value)} is too large: the maximum is {number_text(hi)}")
        return None
    return value


def number_text(value: float) -> str:
    """100000000, not 1e+08: limits are read by people comparing them to what they typed."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def as_bool(sink: Sink, node: Node, path: str) -> bool | None:
    if isinstance(node, Scalar) and isinstance(node.value, bool):
        return node.value
    sink.add(node.mark, path, f"expected true or false, got {kind(node)}")
    return None


def as_choice(
    sink: Sink, node: Node, path: str, choices: Sequence[str], aliases: Mapping[str, str] | None = None
) -> str | None:
    """One of `choices`; `aliases` maps words people use elsewhere (DTE, DCE) to the hint to give."""
    value = as_str(sink, node, path)
    if value is None:
        return None
    if value not in choices:
        known = (aliases or {}).get(value.lower())
        hint = f"; did you mean '{known}'?" if known else suggest(value, choices)
        sink.add(node.mark, path, f"'{value}' is not one of {', '.join(choices)}{hint}")
        return None
    return value


def as_list(sink: Sink, node: Node, path: str) -> tuple[Node, ...] | None:
    if isinstance(node, Seq):
        return node.items
    sink.add(node.mark, path, f"expected a list, got {kind(node)}")
    return None


def as_section(sink: Sink, node: Node, path: str, allowed: Sequence[str]) -> Section | None:
    if isinstance(node, Map):
        return Section(sink, node, path, allowed)
    sink.add(node.mark, path, f"expected a mapping, got {kind(node)}")
    return None


# --- mapping reader -----------------------------------------------------------


class Section:
    """One YAML mapping with a fixed set of allowed keys.

    Unknown and duplicate keys are reported as soon as the section is opened,
    at the key's own position. Getters take the key, look it up, and return
    the default when it is absent or null (`mtu:` with nothing after it means
    "the default", which is what an operator commenting out a value expects).
    """

    def __init__(
        self, sink: Sink, node: Map, path: str, allowed: Sequence[str], *, extensions: bool = False
    ) -> None:
        self.sink = sink
        self.node = node
        self.path = path
        self._entries: dict[str, Entry] = {}
        for entry in node.entries:
            key_path = child(path, entry.key)
            first = self._entries.get(entry.key)
            if first is not None:
                sink.add(
                    entry.key_mark,
                    key_path,
                    f"duplicate key '{entry.key}' (first set at line {first.key_mark.line})",
                )
            elif extensions and entry.key.startswith(EXTENSION_PREFIX):
                continue  # a place to keep YAML anchors, e.g. `x-pvc: &pvc {cir: 64000}`
            elif entry.key not in allowed:
                hint = suggest(entry.key, allowed) or f" (known keys: {', '.join(allowed)})"
                sink.add(entry.key_mark, key_path, f"unknown key '{entry.key}'{hint}")
            else:
                self._entries[entry.key] = entry

    @property
    def mark(self) -> Mark:
        return self.node.mark

    def key(self, key: str) -> str:
        return child(self.path, key)

    def has(self, key: str) -> bool:
        return not is_null(self.get(key))

    def get(self, key: str) -> Node | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def where(self, key: str) -> Mark:
        """The value's position, or the key's if the value is null, or the section's if absent."""
        entry = self._entries.get(key)
        if entry is None:
            return self.node.mark
        return entry.key_mark if is_null(entry.value) else entry.value.mark

    def key_mark(self, key: str) -> Mark:
        entry = self._entries.get(key)
        return self.node.mark if entry is None else entry.key_mark

    def require(self, key: str, hint: str = "") -> Node | None:
        """The value of a mandatory key, or None after reporting it missing."""
        node = self.get(key)
        if is_null(node):
            what = f"missing value for '{key}'" if key in self._entries else f"missing required key '{key}'"
            self.sink.add(self.where(key), self.key(key), what + (f" ({hint})" if hint else ""))
            return None
        return node

    def _value(self, key: str, required: bool) -> Node | None:
        return self.require(key) if required else (None if is_null(self.get(key)) else self.get(key))

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        node = self._value(key, required)
        return default if node is None else as_str(self.sink, node, self.key(key))

    def integer(
        self,
        key: str,
        default: int | None = None,
        *,
        lo: int | None = None,
        hi: int | None = None,
        required: bool = False,
    ) -> int | None:
        node = self._value(key, required)
        return default if node is None else as_int(self.sink, node, self.key(key), lo, hi)

    def number(
        self, key: str, default: float | None = None, *, lo: float | None = None, hi: float | None = None
    ) -> float | None:
        node = self._value(key, False)
        return default if node is None else as_number(self.sink, node, self.key(key), lo, hi)

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        node = self._value(key, False)
        return default if node is None else as_bool(self.sink, node, self.key(key))

    def choice(
        self,
        key: str,
        choices: Sequence[str],
        default: str | None = None,
        *,
        required: bool = False,
        aliases: Mapping[str, str] | None = None,
    ) -> str | None:
        node = self._value(key, required)
        return default if node is None else as_choice(self.sink, node, self.key(key), choices, aliases)

    def items(self, key: str) -> tuple[Node, ...]:
        """A list's items; empty when absent or null, and after reporting a non-list."""
        node = self._value(key, False)
        return () if node is None else (as_list(self.sink, node, self.key(key)) or ())

    def section(self, key: str, allowed: Sequence[str], *, required: bool = False) -> Section | None:
        node = self._value(key, required)
        return None if node is None else as_section(self.sink, node, self.key(key), allowed)

    def reject(self, key: str, reason: str) -> None:
        """Report a key that is known but does not apply here (e.g. clock_rate on a T1)."""
        if key in self._entries:
            self.sink.add(self.key_mark(key), self.key(key), reason)
