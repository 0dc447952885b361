"""Configuration errors, each pinned to a file, a line, a column and a key.

As in ExaBGP, an operator must be able to jump straight to the offending text,
so every error carries the position of the YAML node it is about, and the
loaders collect every error of a run before reporting rather than stopping at
the first one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigError:
    """One problem in one configuration file.

    `line` and `column` are 1-based, like an editor's. They are 0 only for a
    problem with the file as a whole (it cannot be read at all). `key` is the
    dotted path of the setting, e.g. ``protocol.dlcis[0].dlci``; it is empty
    when no setting can be named (a YAML syntax error).
    """

    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        # A syntax error has no key; "file:1:2: : message" would read as a typo.
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigErrors(Exception):
    """Every error found while loading one or more configuration files."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors: list[ConfigError] = list(errors)
        super().__init__(format_errors(self.errors))


def format_errors(errs: Iterable[ConfigError]) -> str:
    """One error per line, in the `file:line:column: key: message` form editors understand."""
    return "\n".join(str(err) for err in errs)
