"""Small helpers around `ip netns`: the lab and the tests build sites with these.

Every helper acts inside a named namespace; nothing here touches the host's
own namespace apart from creating and deleting the namespaces themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def add(name: str) -> None:
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def pids(name: str) -> list[int]:
    out = ip("netns", "pids", name, check=False).stdout
    return [int(p) for p in out.split()]


def delete(name: str, grace: float = 5.0) -> None:
    """Stop whatever still runs inside (TERM, then KILL), then delete the namespace."""
    if not exists(name):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while pids(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pids(name):
            break
    ip("netns", "del", name, check=False)


def run(name: str, argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(["ip", "netns", "exec", name, *argv], **kwargs)  # type: ignore[call-overload]


def popen(name: str, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["ip", "netns", "exec", name, *argv], **kwargs)  # type: ignore[call-overload]


def link_flags(name: str, ifname: str) -> str | None:
    """The `ip link` flags of an interface, e.g. "POINTOPOINT,NOARP,UP,LOWER_UP", or None."""
    out = ip("-n", name, "-o", "link", "show", "dev", ifname, check=False)
    if out.returncode != 0:
        return None
    start = out.stdout.find("<")
    return out.stdout[start + 1 : out.stdout.find(">", start)]


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def add_lan(name: str, cidr: str, ifname: str = "lan0") -> None:
    """A stand-in LAN interface with an address, entirely inside the namespace.

    A veth pair whose peer stays in the same namespace: unlike `dummy`, veth is
    available on every kernel that has namespaces.
    """
    ip("-n", name, "link", "add", ifname, "type", "veth", "peer", "name", f"{ifname}p")
    ip("-n", name, "addr", "add", cidr, "dev", ifname)
    ip("-n", name, "link", "set", f"{ifname}p", "up")
    ip("-n", name, "link", "set", ifname, "up")


def veth_pair(ns_a: str, ns_b: str, ifname: str, cidr_a: str, cidr_b: str) -> None:
    """A cable between two namespaces: veth `ifname` in each, addressed and up."""
    ip("-n", ns_a, "link", "add", ifname, "type", "veth", "peer", "name", ifname, "netns", ns_b)
    for ns, cidr in ((ns_a, cidr_a), (ns_b, cidr_b)):
        ip("-n", ns, "addr", "add", cidr, "dev", ifname)
        ip("-n", ns, "link", "set", ifname, "up")
