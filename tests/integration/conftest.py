"""Integration test plumbing: throwaway network namespaces and running code inside them.

Safety rule: integration tests never create addresses, routes or interfaces
in the host's own namespace. Every test makes its own namespace(s) through
the `netns` factory fixture; code under test runs in a child process under
`ip netns exec`, where a plain IPRoute() sees only that namespace. The
namespaces (and anything still running inside them) are removed at teardown,
also when the test fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NS_PREFIX = f"wandt-{os.getpid()}-"
_ns_counter = itertools.count(1)


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "integration tests need root (network namespaces, TUN/TAP)"
    if not os.path.exists("/dev/net/tun"):
        return "integration tests need /dev/net/tun"
    if shutil.which("ip") is None:
        return "integration tests need iproute2 (`ip`)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _skip_reason()
    for item in items:
        if HERE not in item.path.resolve().parents:
            continue  # this hook sees the whole session; only touch our own tests
        item.add_marker(pytest.mark.integration)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def child_env() -> dict[str, str]:
    """Environment for child processes: the repo importable, output unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_in(ns: str, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """subprocess.run(argv) inside namespace `ns` (text output captured, 60 s timeout by default)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    kw.setdefault("env", child_env())
    return subprocess.run(["ip", "netns", "exec", ns, *argv], **kw)


def popen_in(ns: str, argv: list[str], **kw: Any) -> subprocess.Popen[str]:
    """subprocess.Popen(argv) inside namespace `ns` (text mode)."""
    kw.setdefault("text", True)
    kw.setdefault("env", child_env())
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], **kw)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def _pids(ns: str) -> list[int]:
    return [int(p) for p in _ip("netns", "pids", ns).stdout.split()]


def delete_netns(ns: str) -> None:
    """Stop what still runs in `ns` (TERM, then KILL), then delete it.

    Only processes inside a namespace this session created are signalled:
    they were all started by the tests.
    """
    if not ns.startswith(NS_PREFIX):
        raise ValueError(f"refusing to delete namespace {ns!r}: not created by this test session")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _pids(ns):
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                os.kill(pid, sig)
        deadline = time.monotonic() + 3.0
        while _pids(ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _pids(ns):
            break
    _ip("netns", "del", ns)


@pytest.fixture
def netns() -> Iterator[Callable[[], str]]:
    """Factory: `ns = netns()` makes a fresh namespace (lo up), deleted after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"{NS_PREFIX}{next(_ns_counter)}"
        result = _ip("netns", "add", name)
        if result.returncode != 0:
            raise RuntimeError(f"ip netns add {name}: {result.stderr.strip()}")
        created.append(name)
        result = _ip("-n", name, "link", "set", "lo", "up")
        if result.returncode != 0:
            raise RuntimeError(f"ip -n {name} link set lo up: {result.stderr.strip()}")
        return name

    yield make
    for name in reversed(created):
        delete_netns(name)


@pytest.fixture(name="run_in")
def run_in_fixture() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_in(ns, argv, **kw)` for tests (conftest modules are not importable by name)."""
    return run_in


@pytest.fixture(name="popen_in")
def popen_in_fixture() -> Callable[..., subprocess.Popen[str]]:
    return popen_in
