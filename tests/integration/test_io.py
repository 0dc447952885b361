"""TUN/TAP, netlink and transports against a real kernel, inside throwaway namespaces.

The code under test runs in a child "agent" process inside the namespace
(driven over stdin/stdout with one JSON request/reply per line), while the
test inspects the namespace from outside with `ip`, exactly as an operator
would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RunIn = Callable[..., subprocess.CompletedProcess[str]]
PopenIn = Callable[..., subprocess.Popen[str]]

# The agent: holds TUN fds and a Netlink in its namespace; one op per line.
AGENT = r"""
import json, os, select, socket, sys, time
from wand.netlink import Netlink
from wand.tun import open_tun, set_carrier

fds = {}
nl = Netlink()

def read_packets(ifname, timeout):
    fd, out = fds[ifname], []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        try:
            out.append(os.read(fd, 65536).hex())
        except BlockingIOError:
            pass
    return out

def handle(op, a):
    if op == "open":
        fds[a["ifname"]] = open_tun(a["ifname"], tap=a.get("tap", False))
        return fds[a["ifname"]]
    if op == "open_flags":  # O_NONBLOCK / FD_CLOEXEC as set on the fd
        import fcntl
        fd = fds[a["ifname"]]
        return [bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK), bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)]
    if op == "close":
        os.close(fds.pop(a["ifname"]))
        return None
    if op == "carrier":
        set_carrier(fds[a["ifname"]], a["up"])
        return None
    if op == "read":
        return read_packets(a["ifname"], a.get("timeout", 1.0))
    if op == "udp_send":  # make the kernel route a packet (no reply expected)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(bytes.fromhex(a["payload"]), (a["dst"], a["port"]))
        return None
    return getattr(nl, op)(**a)

for line in sys.stdin:
    req = json.loads(line)
    op = req.pop("op")
    try:
        reply = {"ok": True, "result": handle(op, req)}
    except Exception as exc:
        reply = {"ok": False, "type": type(exc).__name__, "error": str(exc)}
    print(json.dumps(reply), flush=True)
"""

# A two-line "adapter": TUN <-> UnixDatagramTransport, no framing, no pacing.
FORWARDER = r"""
import os, selectors, sys
from wand.netlink import Netlink
from wand.transport import UnixDatagramTransport
from wand.tun import open_tun, set_carrier

ifname, address, peer, local, remote = sys.argv[1:6]
fd = open_tun(ifname)
with Netlink() as nl:
    nl.configure(ifname, mtu=1500, address=address, prefix=32, peer=peer)
t = UnixDatagramTransport(local, remote)
set_carrier(fd, True)
sel = selectors.DefaultSelector()
sel.register(fd, selectors.EVENT_READ, "tun")
sel.register(t.fileno(), selectors.EVENT_READ, "line")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "tun":
            try:
                while True:
                    t.send(os.read(fd, 65536))
            except BlockingIOError:
                pass
        else:
            for frame in t.recv_batch():
                os.write(fd, frame)
"""

# `ping` in Python (iputils may not be installed): ICMP echo over a raw socket.
PING = r"""
import os, select, socket, struct, sys, time

def checksum(data):
    data += b"\0" * (len(data) % 2)
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

dst, count = sys.argv[1], int(sys.argv[2])
ident = os.getpid() & 0xFFFF
received = 0
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
    for seq in range(1, count + 1):
        body = b"wand-ping-%d" % seq
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        s.sendto(struct.pack("!BBHHH", 8, 0, checksum(hdr + body), ident, seq) + body, (dst, 0))
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if not select.select([s], [], [], deadline - time.monotonic())[0]:
                break
            pkt = s.recv(2048)
            icmp = pkt[(pkt[0] & 0x0F) * 4:]
            if icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
                received += 1
                break
print(f"{count} transmitted, {received} received")
sys.exit(0 if received == count else 1)
"""


class AgentError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class Agent:
    """Client side of AGENT, running in one namespace."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def __call__(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"agent died (exit {self.proc.wait(5)})")
        reply = json.loads(line)
        if not reply["ok"]:
            raise AgentError(reply["type"], reply["error"])
        return reply["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # EOF ends the loop; the kernel closes the TUN fds
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _host_snapshot() -> dict[str, Any]:
    """Stable facts about the host namespace: link names, addresses, IPv4 routes."""

    def ip_json(*args: str) -> Any:
        return json.loads(
            subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout
        )

    links = sorted(link["ifname"] for link in ip_json("link", "show"))
    addrs = sorted(
        (a["ifname"], info["local"], info["prefixlen"])
        for a in ip_json("addr", "show")
        for info in a["addr_info"]
    )
    routes = sorted(json.dumps(r, sort_keys=True) for r in ip_json("-4", "route", "show", "table", "all"))
    return {"links": links, "addrs": addrs, "routes": routes}


@pytest.fixture(scope="module", autouse=True)
def host_untouched() -> Iterator[None]:
    before = _host_snapshot()
    yield
    after = _host_snapshot()
    assert after == before, "the host network namespace changed during the I/O tests"


@pytest.fixture
def agent(popen_in: PopenIn) -> Iterator[Callable[[str], Agent]]:
    agents: list[Agent] = []

    def start(ns: str) -> Agent:
        proc = popen_in(ns, [sys.executable, "-c", AGENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        agents.append(Agent(proc))
        return agents[-1]

    yield start
    for a in agents:
        a.stop()


def _ip(run_in: RunIn, ns: str, *args: str) -> str:
    result = run_in(ns, ["ip", *args])
    assert result.returncode == 0, f"ip {' '.join(args)}: {result.stderr}"
    return result.stdout


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll: carrier changes reach routing via linkwatch, which may defer them ~1 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_tun_create_configure_and_payload(
    netns: Callable[[], str], agent: Callable[[str], Agent], run_in: RunIn
) -> None:
    ns = netns()
    a = agent(ns)
    a("open", ifname="wp1_fr16")
    assert a("open_flags", ifname="wp1_fr16") == [True, True]  # non-blocking, close-on-exec
    a("configure", ifname="wp1_fr16", mtu=1400, address="10.1.0.1", prefix=30, peer="10.1.0.2", txqueuelen=50)

    addr = _ip(run_in, ns, "-o", "-4", "addr", "show", "dev", "wp1_fr16")
    assert "inet 10.1.0.1 peer 10.1.0.2/30" in addr
    link = _ip(run_in, ns, "link", "show", "dev", "wp1_fr16")
    assert "mtu 1400" in link and "qlen 50" in link and ",UP" in link and "NO-CARRIER" not in link
    assert "tun type tun" in _ip(run_in, ns, "-d", "link", "show", "dev", "wp1_fr16")

    state = a("link_state", ifname="wp1_fr16")
    assert state["mtu"] == 1400 and state["txqueuelen"] == 50 and state["carrier"] is True
    assert {"UP", "POINTOPOINT", "RUNNING"} <= set(state["flags"])
    assert a("index", ifname="wp1_fr16") == state["index"]
    a("set_txqueuelen", ifname="wp1_fr16", n=100)
    assert "qlen 100" in _ip(run_in, ns, "link", "show", "dev", "wp1_fr16")

    # IFF_NO_PI TUN payload: a read() is one bare IPv4 packet (no 4-byte PI header).
    a("udp_send", dst="10.1.0.2", port=9, payload=b"probe".hex())
    packets = [bytes.fromhex(p) for p in a("read", ifname="wp1_fr16", timeout=1.0)]
    ipv4 = [p for p in packets if p[0] >> 4 == 4]
    assert ipv4, f"no IPv4 packet read from the TUN: {packets!r}"
    pkt = ipv4[0]
    assert pkt[0] == 0x45 and pkt[9] == 17  # IPv4, 20-byte header, UDP
    assert pkt[12:16] == bytes([10, 1, 0, 1]) and pkt[16:20] == bytes([10, 1, 0, 2])
    assert pkt.endswith(b"probe")
    assert a("link_state", ifname="wp1_fr16")["stats"]["tx_packets"] >= 1


def test_carrier_linkdown_and_failover(
    netns: Callable[[], str], agent: Callable[[str], Agent], run_in: RunIn
) -> None:
    ns = netns()
    a = agent(ns)
    for name, local, peer in (("wp1_fr16", "10.1.0.1", "10.1.0.2"), ("wp1_fr17", "10.1.1.1", "10.1.1.2")):
        a("open", ifname=name)
        a("ignore_routes_with_linkdown", ifname=name)
        a("configure", ifname=name, mtu=1500, address=local, prefix=30, peer=peer)
    # Primary over fr16, backup over fr17 with a worse metric.
    a("route_add", dst="192.168.50.0/24", gateway="10.1.0.2", ifname="wp1_fr16", metric=10)
    a("route_add", dst="192.168.50.0/24", gateway="10.1.1.2", ifname="wp1_fr17", metric=100)
    a("route_add", dst="192.168.50.0/24", gateway="10.1.0.2", ifname="wp1_fr16", metric=10)  # idempotent
    assert (
        run_in(ns, ["cat", "/proc/sys/net/ipv4/conf/wp1_fr16/ignore_routes_with_linkdown"]).stdout.strip()
        == "1"
    )

    def route_get() -> str:
        return _ip(run_in, ns, "route", "get", "192.168.50.1")

    def fr16_flags() -> list[list[str]]:
        return [r["flags"] for r in a("routes", ifname="wp1_fr16")]

    assert "dev wp1_fr16" in route_get()
    routes = a("routes", ifname="wp1_fr16")
    assert {"dst": "192.168.50.0/24", "gateway": "10.1.0.2", "metric": 10} in [
        {k: r[k] for k in ("dst", "gateway", "metric")} for r in routes
    ]
    assert any(r["dst"] == "10.1.0.0/30" and r["proto"] == "kernel" for r in routes)

    a("carrier", ifname="wp1_fr16", up=False)
    assert "NO-CARRIER" in _ip(run_in, ns, "link", "show", "dev", "wp1_fr16")
    state = a("link_state", ifname="wp1_fr16")
    assert state["carrier"] is False and "UP" in state["flags"] and "RUNNING" not in state["flags"]
    assert _wait_for(lambda: a("link_state", ifname="wp1_fr16")["operstate"] == "DOWN")
    assert _wait_for(lambda: all("linkdown" in f for f in fr16_flags())), fr16_flags()
    assert "linkdown" in _ip(run_in, ns, "route", "show", "dev", "wp1_fr16")
    assert _wait_for(lambda: "dev wp1_fr17" in route_get()), route_get()

    a("carrier", ifname="wp1_fr16", up=True)
    assert "NO-CARRIER" not in _ip(run_in, ns, "link", "show", "dev", "wp1_fr16")
    assert _wait_for(lambda: not any("linkdown" in f for f in fr16_flags())), fr16_flags()
    assert _wait_for(lambda: "dev wp1_fr16" in route_get()), route_get()

    a("route_del", dst="192.168.50.0/24", gateway="10.1.0.2", ifname="wp1_fr16", metric=10)
    a("route_del", dst="192.168.50.0/24", gateway="10.1.0.2", ifname="wp1_fr16", metric=10)  # gone: no error
    a("route_del", dst="10.9.9.0/24", gateway=None, ifname="no_such_if")  # interface gone: no error
    assert "dev wp1_fr17" in route_get()
    a("route_add", dst="0.0.0.0/0", gateway="10.1.0.2", ifname="wp1_fr16")
    assert "default via 10.1.0.2 dev wp1_fr16" in _ip(run_in, ns, "route", "show", "default")
    assert {"dst": "0.0.0.0/0", "gateway": "10.1.0.2"} in [
        {k: r[k] for k in ("dst", "gateway")} for r in a("routes", ifname="wp1_fr16")
    ]
    a("route_del", dst="0.0.0.0/0", gateway="10.1.0.2", ifname="wp1_fr16")
    assert _ip(run_in, ns, "route", "show", "default").strip() == ""


def test_existing_name_raises(netns: Callable[[], str], agent: Callable[[str], Agent]) -> None:
    ns = netns()
    a = agent(ns)
    a("open", ifname="wp1_fr16")
    for tap in (False, True):
        with pytest.raises(AgentError) as exc_info:
            a("open", ifname="wp1_fr16", tap=tap)
        assert exc_info.value.kind == "InterfaceExistsError"
        assert "wp1_fr16" in str(exc_info.value)
    with pytest.raises(AgentError) as exc_info:
        a("open", ifname="lo")  # not a tun at all
    assert exc_info.value.kind == "InterfaceExistsError"
    with pytest.raises(AgentError) as exc_info:
        a("open", ifname="x" * 16)
    assert exc_info.value.kind == "ValueError"
    with pytest.raises(AgentError) as exc_info:
        a("index", ifname="nope0")
    assert exc_info.value.kind == "InterfaceNotFoundError"


def test_close_removes_interface_and_routes(
    netns: Callable[[], str], agent: Callable[[str], Agent], run_in: RunIn
) -> None:
    ns = netns()
    a = agent(ns)
    a("open", ifname="wp1_fr16")
    a("configure", ifname="wp1_fr16", mtu=1500, address="10.1.0.1", prefix=30, peer="10.1.0.2")
    a("route_add", dst="192.168.50.0/24", gateway="10.1.0.2", ifname="wp1_fr16")
    assert "wp1_fr16" in _ip(run_in, ns, "route")
    a("close", ifname="wp1_fr16")
    assert run_in(ns, ["ip", "link", "show", "dev", "wp1_fr16"]).returncode != 0
    assert "wp1_fr16" not in _ip(run_in, ns, "-o", "link") + _ip(run_in, ns, "route", "show", "table", "all")
    a("open", ifname="wp1_fr16")  # the name is free again


def test_tap_carries_ethernet_frames(
    netns: Callable[[], str], agent: Callable[[str], Agent], run_in: RunIn
) -> None:
    ns = netns()
    a = agent(ns)
    a("open", ifname="wp1_br1", tap=True)
    a("configure", ifname="wp1_br1", mtu=1500, address="10.2.0.1", prefix=24, peer=None)
    detail = _ip(run_in, ns, "-d", "link", "show", "dev", "wp1_br1")
    assert "tun type tap" in detail and "link/ether" in detail
    assert "inet 10.2.0.1/24" in _ip(run_in, ns, "-o", "-4", "addr", "show", "dev", "wp1_br1")
    # A packet to a neighbour makes the kernel ARP for it: the TAP read is the
    # bare Ethernet frame (broadcast destination MAC, ethertype 0x0806).
    a("udp_send", dst="10.2.0.2", port=9, payload="00")
    frames = [bytes.fromhex(f) for f in a("read", ifname="wp1_br1", timeout=1.5)]
    arp = [f for f in frames if f[12:14] == b"\x08\x06"]
    assert arp, f"no ARP frame read from the TAP: {frames!r}"
    assert arp[0][:6] == b"\xff" * 6 and arp[0][38:42] == bytes([10, 2, 0, 2])
    a("carrier", ifname="wp1_br1", up=False)
    assert "NO-CARRIER" in _ip(run_in, ns, "link", "show", "dev", "wp1_br1")


def test_ping_across_two_tuns_over_unix_transport(
    netns: Callable[[], str], popen_in: PopenIn, run_in: RunIn, tmp_path: Path
) -> None:
    """Two namespaces, a TUN in each, joined by a UnixDatagramTransport pair: ping works."""
    ns_a, ns_b = netns(), netns()
    sock_a, sock_b = str(tmp_path / "line" / "a.sock"), str(tmp_path / "line" / "b.sock")
    procs = [
        popen_in(
            ns,
            [sys.executable, "-c", FORWARDER, "wp1_fr16", local, peer, mine, theirs],
            stdout=subprocess.PIPE,
        )
        for ns, local, peer, mine, theirs in (
            (ns_a, "10.1.0.1", "10.1.0.2", sock_a, sock_b),
            (ns_b, "10.1.0.2", "10.1.0.1", sock_b, sock_a),
        )
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", f"forwarder failed (exit {p.poll()})"
        ping = run_in(ns_a, [sys.executable, "-c", PING, "10.1.0.2", "3"])
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "3 transmitted, 3 received" in ping.stdout
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
    # The transports are gone with their processes; SIGTERM skips close(),
    # so the socket files stay behind as stale ones (the next bind replaces them).
