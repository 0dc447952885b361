"""Load wanpipe device files: read, parse with positions, check, and report everything.

load_device() is for one file; load_configs() is for the set one host runs,
and adds the checks between files. Both raise ConfigErrors listing every
problem found, each positioned at file:line:column, so one edit-and-retry
cycle fixes them all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from wand.config.cross_rules import Loaded, cross_check
from wand.config.errors import ConfigError, ConfigErrors
from wand.config.fields import Sink
from wand.config.model import DeviceConfig
from wand.config.rules import read_device
from wand.config.yamlpos import YamlSyntaxError, parse

PathLike = str | os.PathLike[str]


def load_device(path: PathLike) -> DeviceConfig:
    """The DeviceConfig of one file; raises ConfigErrors with every error in it."""
    loaded, errors = _load(path)
    if loaded is None:
        raise ConfigErrors(errors)
    return loaded.config


def expand_paths(paths: Sequence[PathLike]) -> list[str]:
    """Files as given; a directory stands for the wanpipe*.yaml files in it.

    Expanded on every load, so a SIGHUP picks up a wanpipeN.yaml dropped into
    the directory since the last one.
    """
    files: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            files.extend(sorted(str(p) for p in Path(path).glob("wanpipe*.yaml")))
        else:
            files.append(os.fspath(path))
    return files


def load_configs(paths: Sequence[PathLike]) -> list[DeviceConfig]:
    """Every file's DeviceConfig, in order; raises ConfigErrors with every error in every
    file plus the errors between files (duplicate names, shared ports, switch targets)."""
    paths = expand_paths(paths)
    devices: list[Loaded] = []
    errors: list[ConfigError] = []
    for path in paths:
        loaded, file_errors = _load(path)
        errors.extend(file_errors)
        if loaded is not None:
            devices.append(loaded)
    errors.extend(cross_check(devices, complete=len(devices) == len(paths)))
    if errors:
        # Group by file in the order given, then by position, as a compiler would.
        order = {os.fspath(path): index for index, path in reversed(list(enumerate(paths)))}
        errors.sort(key=lambda err: (order.get(err.file, len(order)), err.line, err.column))
        raise ConfigErrors(errors)
    return [device.config for device in devices]


def load_site(paths: Sequence[PathLike]) -> list[DeviceConfig]:
    """The devices one daemon runs: like load_configs, but an empty set is an error."""
    if not expand_paths(paths):
        given = ", ".join(os.fspath(p) for p in paths) or "none"
        raise ConfigErrors([ConfigError("", 0, 0, "", f"no wanpipe*.yaml configuration files ({given})")])
    return load_configs(paths)


def _load(path: PathLike) -> tuple[Loaded | None, list[ConfigError]]:
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        return None, [ConfigError(source, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")]
    try:
        # utf-8-sig: a BOM left by a Windows editor must not shift column numbers.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [ConfigError(source, line, column, "", "the file is not valid UTF-8 text")]
    try:
        root = parse(text)
    except YamlSyntaxError as exc:
        return None, [ConfigError(source, exc.mark.line, exc.mark.column, "", exc.message)]
    sink = Sink(source)
    config = read_device(root, sink, source)
    if config is None or root is None:
        return None, sorted(sink.errors, key=lambda err: (err.line, err.column))
    return Loaded(config, root), []
