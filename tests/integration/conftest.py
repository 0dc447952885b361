"""Integration test plumbing: throwaway network namespaces and running code inside them.

Safety rule: integration tests never create addresses, routes or interfaces
in the host's own namespace. Every test makes its own namespace(s) through
the `netns` factory fixture; code under test runs in a child process under
`ip netns exec`, where a plain IPRoute() sees only that namespace. The
namespaces (and anything still running inside them) are removed at teardown,
also when the test fails.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sites import Site, fr_device, interface, wait_until, write
from wand import netns as nsutil

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


def delete_netns(ns: str) -> None:
    """Delete a namespace this session created (and stop what still runs inside)."""
    if not ns.startswith(NS_PREFIX):
        raise ValueError(f"refusing to delete namespace {ns!r}: not created by this test session")
    nsutil.delete(ns, grace=3.0)


@pytest.fixture
def netns() -> Iterator[Callable[[], str]]:
    """Factory: `ns = netns()` makes a fresh namespace (lo up), deleted after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"{NS_PREFIX}{next(_ns_counter)}"
        nsutil.add(name)
        created.append(name)
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


@pytest.fixture
def site_pair(netns, tmp_path):
    """Factory: two daemons back to back (A is the DTE, B the DCE), DLCI 16, LANs behind each.

    Keyword options change the protocol section (signalling, encapsulation),
    the interface (mode: bridge for TAP) or the line.
    """
    sites: list[Site] = []

    def start(
        *,
        line: dict | None = None,
        interface_extra: dict | None = None,
        dlci_extra: dict | None = None,
        **protocol: object,
    ) -> tuple[Site, Site]:
        sock_a, sock_b = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
        ends = (
            ("a", "cpe", "10.0.0.1", "10.0.0.2", "192.168.1.1/24", "192.168.2.0/24", sock_a, sock_b),
            ("b", "node", "10.0.0.2", "10.0.0.1", "192.168.2.1/24", "192.168.1.0/24", sock_b, sock_a),
        )
        for name, station, address, peer, lan, far_lan, local, remote in ends:
            doc = fr_device(
                station=station,
                dlcis=[16],
                interfaces=[
                    interface(
                        "wp1_fr16",
                        16,
                        address,
                        peer,
                        [{"dst": far_lan, "gateway": peer}],
                        **(interface_extra or {}),
                    )
                ],
                local=local,
                remote=remote,
                line=line,
            )
            doc["protocol"].update(protocol)
            doc["protocol"]["dlcis"][0].update(dlci_extra or {})
            site = Site(netns(), [write(tmp_path / name / "wanpipe1.yaml", doc)], tmp_path / f"{name}.log")
            site.add_lan(lan)
            sites.append(site)
        # the network side first, so the DTE's first poll finds it
        sites[1].start()
        assert wait_until(lambda: Path(sock_b).exists(), 10), sites[1].log_text()
        sites[0].start()
        for site in sites:
            assert site.wait_carrier("wp1_fr16"), site.log_text()
        return sites[0], sites[1]

    yield start
    for site in sites:
        if site.proc and site.proc.poll() is None:
            site.stop()


@pytest.fixture
def back_to_back(site_pair):
    return site_pair()
