"""XOT (RFC 1613) link transport: real TCP on 127.0.0.1, ephemeral ports only.

X.25 packets are built by hand here (GFI, LCN, type): the transport only
looks at those three octets, and the X.25 codec is someone else's module.
"""

from __future__ import annotations

import random
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from wand.transport import LinkTransport
from wand.xot import (
    CONNECT_TIMEOUT,
    FIRST_PACKET_TIMEOUT,
    LINGER,
    XOT_PORT,
    XotTransport,
    parse_endpoint,
)

GFI = 0x10  # modulo 8
CALL, CALL_ACCEPTED, CLEAR, CLEAR_CONFIRM = 0x0B, 0x0F, 0x13, 0x17
RESTART, RESTART_CONFIRM = 0xFB, 0xFF
# Called/calling address lengths 4/4, BCD digits, then packet size 128 and window 2 facilities
# (RFC 1613 6.1 wants both in every Call), and the RFC 1356 IP protocol id as user data.
CALL_BODY = bytes.fromhex("44 1234 5678 06 420707 430202 cc")
LOOP = "127.0.0.1"
TIMEOUT = 5.0


def pkt(lcn: int, pti: int, body: bytes = b"", gfi: int = GFI) -> bytes:
    return bytes((gfi | lcn >> 8, lcn & 0xFF, pti)) + body


def call(lcn: int, tag: bytes = b"") -> bytes:
    return pkt(lcn, CALL, CALL_BODY + tag)


def data(lcn: int, payload: bytes) -> bytes:
    return pkt(lcn, 0x00, payload)  # P(S) = P(R) = 0: the transport does not look at them


def lcn(p: bytes) -> int:
    return ((p[0] & 0x0F) << 8) | p[1]


def xot(p: bytes, version: int = 0) -> bytes:
    return struct.pack("!HH", version, len(p)) + p


def _free_tcp_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((LOOP, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _readable(t: LinkTransport, timeout: float = 0.0) -> bool:
    return bool(select.select([t.fileno()], [], [], timeout)[0])


class Pump:
    """Drives transports like the daemon would: wait on their fds, recv_batch, keep what came."""

    def __init__(self, *transports: XotTransport) -> None:
        self.transports = transports
        self.inbox: dict[XotTransport, list[bytes]] = {t: [] for t in transports}

    def once(self, wait: float = 0.01) -> None:
        select.select([t.fileno() for t in self.transports], [], [], wait)
        for t in self.transports:
            self.inbox[t] += t.recv_batch(1000)

    def until(self, pred: Callable[[], bool], what: str = "condition") -> None:
        deadline = time.monotonic() + TIMEOUT
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.inbox}")
            self.once()

    def wait_for(self, t: XotTransport, n: int = 1) -> list[bytes]:
        """Pump until `t` has received `n` packets; return them (and forget them)."""
        self.until(lambda: len(self.inbox[t]) >= n, f"{n} packets")
        got, self.inbox[t] = self.inbox[t][:n], self.inbox[t][n:]
        return got

    def settle(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            self.once(0.005)


@pytest.fixture
def pair() -> Iterator[tuple[XotTransport, XotTransport, Pump]]:
    pa, pb = _free_tcp_ports(2)
    a = XotTransport(f"{LOOP}:{pa}", f"{LOOP}:{pb}")
    b = XotTransport(f"{LOOP}:{pb}", f"{LOOP}:{pa}")
    yield a, b, Pump(a, b)
    a.close()
    b.close()


def _connect(pump: Pump, caller: XotTransport, callee: XotTransport, our_lcn: int, tag: bytes = b"") -> int:
    """Place a call from `caller` on `our_lcn`, accept it at `callee`; return the callee's LCN."""
    assert caller.send(call(our_lcn, tag))
    (incoming,) = pump.wait_for(callee)
    assert incoming[2] == CALL and incoming[3:] == CALL_BODY + tag
    assert callee.send(pkt(lcn(incoming), CALL_ACCEPTED))
    assert pump.wait_for(caller) == [pkt(our_lcn, CALL_ACCEPTED)]
    return lcn(incoming)


def _kill(t: XotTransport, circuit: int) -> None:
    """Cut a circuit's TCP connection under the transport's feet (both directions)."""
    t._by_lcn[circuit].sock.shutdown(socket.SHUT_RDWR)


# -- the contract ------------------------------------------------------------------------


def test_transport_contract() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    try:
        assert isinstance(t, LinkTransport)
        assert t.carries_fcs is False and t.carries_packets is True
        assert isinstance(t.fileno(), int)
        assert not _readable(t)  # nothing to do: the link needs no bring-up
        assert t.recv_batch() == []
        port = t.local_address[1]
        assert t.describe() == f"xot listen {LOOP}:{port} (listen only), 0 circuits"
        assert t.deadline() is None
        status = t.status()
        assert status["kind"] == "xot" and status["circuits"] == 0 and status["counters"]["calls_in"] == 0
    finally:
        t.close()
    t.close()  # idempotent
    assert t.recv_batch() == []
    assert t.send(call(1)) is True  # dropped and counted, never raises
    assert t.counters.tx_peer_absent == 1
    assert t.describe().endswith("(closed)")


def test_endpoints_default_to_port_1998() -> None:
    assert parse_endpoint("127.0.0.1") == (socket.AF_INET, ("127.0.0.1", XOT_PORT))
    assert parse_endpoint("127.0.0.1:2001") == (socket.AF_INET, ("127.0.0.1", 2001))
    family, addr = parse_endpoint("[::1]")
    assert family == socket.AF_INET6 and addr[:2] == ("::1", XOT_PORT)
    with pytest.raises(ValueError):
        XotTransport("", "")


def test_describe_names_both_ends_and_counts_circuits(pair) -> None:
    a, b, pump = pair
    _connect(pump, a, b, 4095)
    _connect(pump, a, b, 4094)
    port = a.local_address[1]
    assert a.describe() == f"xot listen {LOOP}:{port} -> {a.remote}, 2 circuits"
    assert b.describe().endswith(", 2 circuits")


# -- calls, data, clearing ---------------------------------------------------------------


def test_call_arrives_on_a_rewritten_lcn_and_data_flows_both_ways_in_order(pair) -> None:
    a, b, pump = pair
    assert a.send(call(4095))
    (incoming,) = pump.wait_for(b)
    assert incoming == call(1)  # the lowest free LCN, everything else untouched
    assert b.send(pkt(1, CALL_ACCEPTED))
    assert pump.wait_for(a) == [pkt(4095, CALL_ACCEPTED)]

    n = 300
    for i in range(n):
        assert a.send(data(4095, b"a%d" % i))
        assert b.send(data(1, b"b%d" % i))
    assert pump.wait_for(b, n) == [data(1, b"a%d" % i) for i in range(n)]
    assert pump.wait_for(a, n) == [data(4095, b"b%d" % i) for i in range(n)]
    assert a.counters.calls_out == 1 and b.counters.calls_in == 1
    assert a.status()["lcns"][4095]["state"] == "open" and b.status()["lcns"][1]["wire_lcn"] == 4095


def test_clear_and_confirmation_close_the_connection_and_free_the_lcn(pair) -> None:
    a, b, pump = pair
    theirs = _connect(pump, a, b, 4095)
    assert a.send(pkt(4095, CLEAR, b"\x00\x00"))
    assert pump.wait_for(b) == [pkt(theirs, CLEAR, b"\x00\x00")]
    assert b.send(pkt(theirs, CLEAR_CONFIRM))
    assert pump.wait_for(a) == [pkt(4095, CLEAR_CONFIRM)]
    pump.until(lambda: a.status()["connections"] == 0 and b.status()["connections"] == 0, "closed")
    assert a.circuits == b.circuits == 0
    assert a.counters.circuits_lost == b.counters.circuits_lost == 0
    assert _connect(pump, a, b, 4095) == theirs  # the LCN is free again


def test_the_callee_may_refuse_the_call(pair) -> None:
    a, b, pump = pair
    assert a.send(call(4095))
    (incoming,) = pump.wait_for(b)
    assert b.send(pkt(lcn(incoming), CLEAR, b"\x00\x41"))
    assert pump.wait_for(a) == [pkt(4095, CLEAR, b"\x00\x41")]
    assert a.send(pkt(4095, CLEAR_CONFIRM))
    assert pump.wait_for(b) == [pkt(lcn(incoming), CLEAR_CONFIRM)]
    pump.until(lambda: a.status()["connections"] == b.status()["connections"] == 0, "closed")


def test_many_concurrent_circuits_both_ways(pair) -> None:
    a, b, pump = pair
    n = 40
    for i in range(n):  # each DTE calls out from the top of the LCN range
        assert a.send(call(4095 - i, b"A%02d" % i))
        assert b.send(call(4095 - i, b"B%02d" % i))
    pump.until(lambda: len(pump.inbox[a]) == n and len(pump.inbox[b]) == n, "all calls")
    calls_at = {t: {p[3 + len(CALL_BODY) :]: lcn(p) for p in pump.inbox[t]} for t in (a, b)}
    pump.inbox = {a: [], b: []}
    assert sorted(calls_at[b].values()) == sorted(calls_at[a].values()) == list(range(1, n + 1))
    for t, tags in calls_at.items():
        for circuit in tags.values():
            assert t.send(pkt(circuit, CALL_ACCEPTED))
    pump.until(lambda: len(pump.inbox[a]) == n and len(pump.inbox[b]) == n, "all accepts")
    assert sorted(pump.inbox[a]) == sorted(pkt(4095 - i, CALL_ACCEPTED) for i in range(n))
    pump.inbox = {a: [], b: []}
    assert a.circuits == b.circuits == 2 * n

    # A's call i is B's circuit calls_at[b][b"A%02d" % i]; tag every packet with its circuit.
    for i in range(n):
        for k in range(5):
            assert a.send(data(4095 - i, b"A%02d:%d" % (i, k)))
            assert b.send(data(calls_at[b][b"A%02d" % i], b"R%02d:%d" % (i, k)))
    pump.until(lambda: len(pump.inbox[a]) == len(pump.inbox[b]) == 5 * n, "all data")
    for i in range(n):
        at_b = [p for p in pump.inbox[b] if lcn(p) == calls_at[b][b"A%02d" % i]]
        assert at_b == [data(calls_at[b][b"A%02d" % i], b"A%02d:%d" % (i, k)) for k in range(5)]
        at_a = [p for p in pump.inbox[a] if lcn(p) == 4095 - i]
        assert at_a == [data(4095 - i, b"R%02d:%d" % (i, k)) for k in range(5)]


# -- failures ----------------------------------------------------------------------------


def test_a_connection_killed_mid_call_clears_the_circuit_on_both_sides(pair) -> None:
    a, b, pump = pair
    theirs = _connect(pump, a, b, 4095)
    other = _connect(pump, a, b, 4094)  # an innocent bystander
    _kill(b, theirs)
    pump.until(lambda: pump.inbox[a] and pump.inbox[b], "both clears")
    # Cause 0x09 out of order, diagnostic 119: Cisco's "remote XOT peer closed the connection".
    assert pump.inbox[a] == [pkt(4095, CLEAR, bytes((0x09, 119)))]
    assert pump.inbox[b] == [pkt(theirs, CLEAR, bytes((0x09, 119)))]
    assert a.counters.circuits_lost == b.counters.circuits_lost == 1
    pump.inbox = {a: [], b: []}

    assert a.send(data(4095, b"late"))  # a late packet of the dead circuit: dropped, counted
    assert a.counters.tx_unbound == 1
    # Until B's DTE confirms, the LCN stays reserved: a new incoming call must not take it,
    # or it would receive that confirmation.
    assert b.status()["clearing"] == [theirs]
    newer = _connect(pump, a, b, 4093)
    assert newer != theirs
    assert b.send(pkt(theirs, CLEAR_CONFIRM)) and a.send(pkt(4095, CLEAR_CONFIRM))
    assert a.status()["clearing"] == [] and b.status()["clearing"] == []
    assert a.send(data(4093, b"new")) and a.send(data(4094, b"still up"))
    assert sorted(pump.wait_for(b, 2)) == sorted([data(newer, b"new"), data(other, b"still up")])
    assert _connect(pump, a, b, 4092) == theirs  # and now it is free


def test_the_far_transport_going_away_clears_every_circuit(pair) -> None:
    a, b, pump = pair
    for i in range(3):
        _connect(pump, a, b, 4095 - i)
    b.close()
    pump.transports = (a,)
    pump.until(lambda: len(pump.inbox[a]) == 3, "three clears")
    assert sorted(pump.inbox[a]) == [pkt(4095 - i, CLEAR, bytes((0x09, 119))) for i in (2, 1, 0)]
    assert a.circuits == 0


def test_a_refused_connect_clears_the_call(pair) -> None:
    (dead,) = _free_tcp_ports(1)
    a = XotTransport("", f"{LOOP}:{dead}")
    try:
        pump = Pump(a)
        assert a.send(call(4095))
        # Diagnostic 120: Cisco's "remote XOT peer unreachable".
        assert pump.wait_for(a) == [pkt(4095, CLEAR, bytes((0x09, 120)))]
        assert a.counters.connect_failures == 1 and a.circuits == 0
        assert a.send(pkt(4095, CLEAR_CONFIRM))
        assert a.status()["clearing"] == []
    finally:
        a.close()


def test_a_connect_that_takes_too_long_is_abandoned(pair) -> None:
    a, b, pump = pair
    assert a.send(call(4095))
    assert a.status()["lcns"][4095]["state"] == "connecting"  # nothing serviced the socket yet
    due = a.deadline()
    assert due is not None
    a.maintain(due - 1.0)  # not yet
    assert a.circuits == 1
    a.maintain(time.monotonic() + CONNECT_TIMEOUT + 1)
    assert a.recv_batch() == [pkt(4095, CLEAR, bytes((0x09, 120)))]
    assert a.counters.timeouts == 1 and a.circuits == 0
    pump.settle()
    assert pump.inbox[b] == []  # B saw a connection that never called, and let it go


def test_a_clear_before_the_connection_is_up_is_confirmed_locally(pair) -> None:
    a, b, pump = pair
    assert a.send(call(4095))
    assert a.send(pkt(4095, CLEAR, b"\x00\x00"))
    assert a.recv_batch() == [pkt(4095, CLEAR_CONFIRM)]
    pump.settle()
    assert pump.inbox[b] == [] and a.circuits == 0


def test_listen_only_cannot_call_out() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    try:
        assert t.send(call(4095))
        assert _readable(t)  # the answer is waiting: the fd says so
        assert t.recv_batch() == [pkt(4095, CLEAR, bytes((0x0D, 0)))]  # not obtainable
        assert not _readable(t)
    finally:
        t.close()


def test_packets_on_an_unbound_lcn_are_answered_locally() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    try:
        assert t.send(pkt(7, CLEAR, b"\x00\x00"))  # a late clear: confirm it
        assert _readable(t)
        assert t.recv_batch() == [pkt(7, CLEAR_CONFIRM)]
        assert t.send(data(7, b"x")) and t.send(pkt(7, CLEAR_CONFIRM))  # dropped
        assert t.send(pkt(0, 0xF1, b"\x00"))  # a diagnostic packet: local only
        assert t.send(b"\x10")  # not even a packet
        assert t.recv_batch() == [] and not _readable(t)
        c = t.counters
        assert (c.tx_unbound, c.tx_local_only, c.tx_protocol_errors) == (3, 1, 1)
    finally:
        t.close()


def test_restart_confirms_locally_and_clears_every_circuit(pair) -> None:
    a, b, pump = pair
    b_lcns = [_connect(pump, a, b, 4095), _connect(pump, a, b, 4094)]
    a_incoming = _connect(pump, b, a, 4095)  # B calls A
    # B sends data that A has read from the socket but its DTE has not yet taken.
    assert b.send(data(4095, b"before the restart"))
    pump.until(lambda: a.recv_batch(0) == [] and a.pending == 1, "data queued at A")

    assert a.send(pkt(0, RESTART, b"\x00\x00"))
    assert a.recv_batch() == [pkt(0, RESTART_CONFIRM)]  # the queued data is gone with its circuit
    assert a.circuits == 0 and a.counters.restarts == 1
    pump.until(lambda: len(pump.inbox[b]) == 3, "B's clears")
    assert sorted(pump.inbox[b]) == sorted(pkt(n, CLEAR, bytes((0x09, 0))) for n in [*b_lcns, 4095])
    for p in pump.inbox[b]:
        assert b.send(pkt(lcn(p), CLEAR_CONFIRM))
    pump.inbox[b] = []
    pump.until(lambda: a.status()["connections"] == b.status()["connections"] == 0, "all closed")
    assert pump.inbox[a] == [] and a_incoming == 1
    assert _connect(pump, a, b, 4095) == 1  # the line works on after the restart


def test_call_collision_the_dte_call_wins(pair) -> None:
    a, b, pump = pair
    assert a.send(call(4095))
    # B reads A's call off the socket, but its DTE has not taken it yet...
    pump.transports = (a,)
    deadline = time.monotonic() + TIMEOUT
    while b.pending == 0 and time.monotonic() < deadline:
        b.recv_batch(0)
        pump.once()
    assert b.status()["lcns"][1]["state"] == "incoming"
    # ... and calls out on the LCN the incoming call was given.
    assert b.send(call(1, b"mine"))
    assert b.counters.collisions == 1 and b.pending == 0  # the Incoming Call is withdrawn
    pump.transports = (a, b)
    pump.until(lambda: len(pump.inbox[a]) == 2, "A's clear and B's call")
    assert pkt(4095, CLEAR, bytes((0x01, 72))) in pump.inbox[a]  # number busy, call collision
    (incoming,) = [p for p in pump.inbox[a] if p[2] == CALL]
    assert incoming[3:] == CALL_BODY + b"mine"
    assert a.send(pkt(lcn(incoming), CALL_ACCEPTED))
    assert pump.wait_for(b) == [pkt(1, CALL_ACCEPTED)]


# -- malformed input from the network ----------------------------------------------------


def _raw_client(t: XotTransport) -> socket.socket:
    s = socket.create_connection(t.local_address[:2], timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _closed_by_peer(s: socket.socket, pump: Pump) -> bool:
    """Pump until the transport closes `s`; True if it did (EOF or reset)."""
    s.setblocking(False)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        pump.once()
        try:
            if s.recv(65536) == b"":
                return True
        except BlockingIOError:
            continue
        except ConnectionResetError:
            return True
    return False


MALFORMED = {
    "bad version": xot(call(1), version=1),
    "oversized length": struct.pack("!HH", 0, 4096 + 5) + bytes(4101),
    "zero length": struct.pack("!HH", 0, 0),
    "shorter than a header": struct.pack("!HH", 0, 2) + b"\x10\x01",
    "data before the call": xot(data(1, b"hello")),
    "clear before the call": xot(pkt(1, CLEAR, b"\x00\x00")),
    "garbage": bytes(random.Random(1613).randrange(1, 256) for _ in range(512)),
}


@pytest.mark.parametrize("stream", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_streams_are_counted_and_closed(stream: bytes) -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        with _raw_client(t) as s:
            s.sendall(stream)
            assert _closed_by_peer(s, pump)
        assert t.counters.rx_errors == 1
        assert pump.inbox[t] == [] and t.status()["connections"] == 0
    finally:
        t.close()


def test_random_streams_never_raise() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        rng = random.Random(25)
        for _ in range(30):
            with _raw_client(t) as s:
                head = xot(call(rng.randrange(4096))) if rng.random() < 0.5 else b""
                s.sendall(head + rng.randbytes(rng.randrange(1, 300)))
            pump.settle(3)
        pump.until(lambda: t.status()["connections"] == 0, "every connection gone")
        for p in pump.inbox[t]:  # whatever got through is well-formed and on a local LCN
            assert len(p) >= 3 and 1 <= lcn(p) <= 4095
    finally:
        t.close()


def test_a_malformed_stream_mid_call_clears_the_circuit() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        with _raw_client(t) as s:
            s.sendall(xot(call(5)))
            assert pump.wait_for(t) == [call(1)]
            s.sendall(xot(data(5, b"ok")) + b"\xff\xff\x00\x03" + xot(data(5, b"never")))
            assert _closed_by_peer(s, pump)
        assert pump.inbox[t] == [data(1, b"ok"), pkt(1, CLEAR, bytes((0x11, 0)))]  # remote procedure error
        assert t.counters.rx_errors == 1
    finally:
        t.close()


def test_local_only_packets_from_the_network_are_discarded() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        with _raw_client(t) as s:
            # RFC 1613 6.4: restart, diagnostic, registration never cross XOT; 6.1: a packet of
            # unknown type before the Call is discarded. None of it closes the connection.
            s.sendall(xot(pkt(0, RESTART, b"\x00\x00")) + xot(pkt(0, 0xF1, b"\x00")) + xot(pkt(3, 0x03)))
            s.sendall(xot(call(3)) + xot(pkt(0, RESTART_CONFIRM)) + xot(data(3, b"after")))
            assert pump.wait_for(t, 2) == [call(1), data(1, b"after")]
        assert t.counters.rx_discarded == 4 and t.counters.rx_errors == 0
    finally:
        t.close()


def test_a_cisco_pvc_setup_is_refused_with_a_status() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        # GFI/LCN, PTI 0xF5, version 0x81, status 0 (waiting), names "S0"/"S1", LCNs 1/2, windows, sizes.
        setup = bytes((0x10, 0x01, 0xF5, 0x81, 0x00, 2, 0, 1, 2, 0, 2, 2, 2, 7, 7)) + b"S0S1"
        with _raw_client(t) as s:
            s.sendall(xot(setup))
            # 0x16: no such destination PVC, in the received packet sent back (RFC 1613 6.5).
            assert _read_packets(s, 1, pump) == [setup[:4] + b"\x16" + setup[5:]]
            assert _closed_by_peer(s, pump)
        assert t.counters.pvc_setups_refused == 1 and pump.inbox[t] == []
    finally:
        t.close()


def test_a_connection_that_never_calls_is_dropped() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        with _raw_client(t) as s:
            pump.until(lambda: t.status()["connections"] == 1, "accepted")
            assert t.deadline() is not None
            t.maintain(time.monotonic() + FIRST_PACKET_TIMEOUT + 1)
            assert t.status()["connections"] == 0 and t.counters.timeouts == 1
            assert _closed_by_peer(s, pump)
    finally:
        t.close()


# -- backpressure ------------------------------------------------------------------------


def test_backpressure_send_refuses_over_the_bound_and_recovers(pair) -> None:
    a, b, pump = pair
    theirs = _connect(pump, a, b, 4095)
    payload = bytes(4000)
    sent = 0
    while a.send(data(4095, payload + sent.to_bytes(4, "big"))):  # B is not reading
        sent += 1
        assert sent < 100_000, "send() never pushed back"
    assert a.counters.tx_would_block == 1
    # The refused packet was not taken; once B drains, A's fd wakes the caller up.
    got: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT
    while not _readable(a) and time.monotonic() < deadline:
        select.select([b.fileno()], [], [], 0.01)
        got += b.recv_batch(10_000)
    assert _readable(a)
    a.recv_batch()  # the wake-up: flushes the backlog
    assert a.send(data(4095, payload + sent.to_bytes(4, "big")))
    total = sent + 1
    pump.inbox[b] = got
    pump.until(lambda: len(pump.inbox[b]) == total, "every packet")
    assert pump.inbox[b] == [data(theirs, payload + i.to_bytes(4, "big")) for i in range(total)]


# -- interoperability with a plain-socket "Cisco" ----------------------------------------


def _read_packets(s: socket.socket, n: int, pump: Pump) -> list[bytes]:
    """Read `n` XOT-framed packets from a raw socket, pumping the transports meanwhile."""
    s.setblocking(False)
    buf, packets = b"", []
    deadline = time.monotonic() + TIMEOUT
    while len(packets) < n:
        assert time.monotonic() < deadline, f"timed out: {packets} {buf!r}"
        pump.once()
        try:
            buf += s.recv(65536)
        except BlockingIOError:
            continue
        while len(buf) >= 4:
            version, length = struct.unpack_from("!HH", buf)
            assert version == 0
            if len(buf) < 4 + length:
                break
            packets.append(buf[4 : 4 + length])
            buf = buf[4 + length :]
    assert buf == b""
    return packets


def test_interop_outgoing_call_to_a_plain_socket_peer() -> None:
    with socket.socket() as listener:
        listener.bind((LOOP, 0))
        listener.listen()
        t = XotTransport("", f"{LOOP}:{listener.getsockname()[1]}")
        pump = Pump(t)
        try:
            assert t.send(call(4095))
            pump.once()
            peer, _ = listener.accept()
            with peer:
                # On the wire: version 0, length, and the packet exactly as the DTE sent it.
                assert _read_packets(peer, 1, pump) == [call(4095)]
                peer.sendall(xot(pkt(0x001, CALL_ACCEPTED)))  # Cisco answers on its own LCN
                assert pump.wait_for(t) == [pkt(4095, CALL_ACCEPTED)]
                # Several packets in one segment, then one dribbled out octet by octet.
                peer.sendall(b"".join(xot(data(1, b"%d" % i)) for i in range(3)))
                for octet in xot(data(1, b"split")):
                    peer.sendall(bytes((octet,)))
                assert pump.wait_for(t, 4) == [data(4095, b"%d" % i) for i in range(3)] + [
                    data(4095, b"split")
                ]
                assert t.send(data(4095, b"to cisco"))
                assert _read_packets(peer, 1, pump) == [data(4095, b"to cisco")]
                # We clear; the peer closes without confirming (RFC 1613 6.1 allows it).
                assert t.send(pkt(4095, CLEAR, b"\x00\x00"))
                assert _read_packets(peer, 1, pump) == [pkt(4095, CLEAR, b"\x00\x00")]
            assert pump.wait_for(t) == [pkt(4095, CLEAR_CONFIRM)]
            assert t.circuits == 0 and t.counters.circuits_lost == 0
        finally:
            t.close()


def test_interop_incoming_call_from_a_plain_socket_peer() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        with _raw_client(t) as peer:
            wire = 0x123
            peer.sendall(xot(pkt(wire, CALL, CALL_BODY, gfi=0x10)))
            assert pump.wait_for(t) == [call(1)]
            assert t.send(pkt(1, CALL_ACCEPTED))
            assert _read_packets(peer, 1, pump) == [pkt(wire, CALL_ACCEPTED)]  # its own LCN back
            peer.sendall(xot(data(wire, b"hi")))
            assert pump.wait_for(t) == [data(1, b"hi")]
            peer.sendall(xot(pkt(wire, CLEAR, b"\x00\x00")))
            assert pump.wait_for(t) == [pkt(1, CLEAR, b"\x00\x00")]
            assert t.send(pkt(1, CLEAR_CONFIRM))
            assert _read_packets(peer, 1, pump) == [pkt(wire, CLEAR_CONFIRM)]
            assert _closed_by_peer(peer, pump)  # we closed after flushing the confirmation
        pump.until(lambda: t.status()["connections"] == 0, "closed")
    finally:
        t.close()


def test_a_closing_connection_whose_peer_never_closes_is_dropped_after_linger() -> None:
    t = XotTransport(f"{LOOP}:0", "")
    pump = Pump(t)
    try:
        with _raw_client(t) as peer:
            peer.sendall(xot(call(9)))
            assert pump.wait_for(t) == [call(1)]
            assert t.send(pkt(1, CLEAR, b"\x00\x00"))
            peer.sendall(xot(pkt(9, CLEAR_CONFIRM)))  # ... but keeps its end open
            assert pump.wait_for(t) == [pkt(1, CLEAR_CONFIRM)]
            assert t.status()["connections"] == 1 and t.circuits == 0
            t.maintain(time.monotonic() + LINGER + 1)
            assert t.status()["connections"] == 0 and t.counters.timeouts == 0
    finally:
        t.close()
