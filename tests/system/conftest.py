"""System tests: wand's unit files under a real systemd booted in throwaway namespaces.

The container itself is built in container.py (its docstring says how). Every
test gets a freshly booted one, powered off afterwards; the test fails if the
container's PID 1 does not exit cleanly or anything is left on the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.container import HERE, Container, host_snapshot, prepare, skip_reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = skip_reason()
    for item in items:
        if HERE not in item.path.resolve().parents:
            continue  # this hook sees the whole session; only touch our own tests
        item.add_marker(pytest.mark.system)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    """A booted container with the wand units installed (not started). Powered off
    afterwards; the test fails if PID 1 does not exit cleanly or anything new is left
    on the host."""
    box = prepare(tmp_path)
    before = host_snapshot()
    try:
        box.boot()
        yield box
    finally:
        code = box.poweroff()
        problems = box.leftovers()
        box.close()
    after = host_snapshot()
    problems += [
        f"new on the host: {key} {sorted(after[key] - before[key])}"
        for key in before
        if after[key] - before[key]
    ]
    assert code == 0, f"the container's PID 1 exited with {code}\n{box.console()}"
    assert not problems, "\n".join(problems)
