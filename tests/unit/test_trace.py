"""The card's line trace: the ring, the port hooks and the mailbox commands.

``BackToBack`` wires two adapter cards through an ideal cable on a fake clock,
for any protocol and framing, with the trace on at card A; the tshark tests
(test_trace_tshark.py) use it to build captures of every protocol.
"""

from __future__ import annotations

from typing import Any

import pytest

from firmware_emu.adapter import (
    Adapter,
    ConfigurePort,
    Direction,
    ReadTrace,
    StartPort,
    StartTrace,
    StopPort,
    StopTrace,
    TraceRecord,
)
from firmware_emu.adapter.trace import TraceBuffer
from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import DlciConfig, FrameRelayConfig
from firmware_emu.hdlc.async_framing import AsyncDeframer
from firmware_emu.hdlc.fcs import check_fcs16
from firmware_emu.payload import Proto
from firmware_emu.phy.config import LineConfig
from firmware_emu.ppp import PppConfig

T1 = LineConfig(kind="t1")
SERIAL = LineConfig(kind="serial", clock_rate=115200)
PACKET = bytes([0x45]) + bytes(99)


def fr(station: str, *dlcis: int, **extra: Any) -> FrameRelayConfig:
    return FrameRelayConfig(
        station=station,  # type: ignore[arg-type]
        t391=1,
        t392=2,
        n391=2,
        dlcis=tuple(DlciConfig(d) for d in dlcis),
        **extra,
    )


class BackToBack:
    """Two cards joined by an ideal cable; card A traces its port from the start."""

    def __init__(
        self,
        a: Any,
        b: Any,
        *,
        line: LineConfig = T1,
        framing: str = "sync",
        carries_fcs: bool = True,
        trace: bool = True,
        capacity: int = 4096,
    ) -> None:
        self.now = 0.0
        self.a, self.b = Adapter("a"), Adapter("b")
        for card, config in ((self.a, a), (self.b, b)):
            reply = card.execute(
                ConfigurePort(1, line, config, carries_fcs=carries_fcs, framing=framing), self.now
            )
            assert reply.ok, reply.error
        self.session = self.cursor = 0
        if trace:
            reply = self.a.execute(StartTrace(1, capacity=capacity), self.now)
            assert reply.ok, reply.error
            self.session, self.cursor = reply.data["session"], reply.data["cursor"]
        self.wire: dict[str, list[bytes]] = {"a": [], "b": []}  # what each card put on the cable
        self.received: dict[str, list[Any]] = {"a": [], "b": []}
        for card in (self.a, self.b):
            assert card.execute(StartPort(1), self.now).ok

    def step(self) -> bool:
        deadlines = [d for d in (self.a.deadline(), self.b.deadline()) if d is not None]
        if not deadlines:
            return False
        self.now = max(self.now, min(deadlines))
        for src, dst, name in ((self.a, self.b, "a"), (self.b, self.a, "b")):
            port = src.port(1)
            port.handle_timer(self.now)
            for item in port.line_output(self.now):
                self.wire[name].append(item)
                dst.port(1).line_input(item, self.now)
        for card, name in ((self.a, "a"), (self.b, "b")):
            self.received[name].extend(card.port(1).rx)
            card.port(1).rx.clear()
        return True

    def run_until(self, t: float) -> None:
        while self.now < t and self.step():
            pass

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def advance(self, seconds: float) -> None:
        """Exactly `seconds` on: everything due by then happens, and the clock stops there."""
        target = self.now + seconds
        while True:
            deadlines = [d for d in (self.a.deadline(), self.b.deadline()) if d is not None]
            if not deadlines or min(deadlines) > target:
                break
            self.step()
        self.now = max(self.now, target)

    def send(self, side: str, channel: int, payload: bytes, proto: Proto = Proto.IPV4) -> None:
        card = self.a if side == "a" else self.b
        assert card.port(1).submit(channel, payload, proto, self.now)

    def read(self, max_records: int = 1024) -> tuple[list[TraceRecord], int]:
        """Card A's trace records since the last read, and how many were dropped."""
        reply = self.a.execute(ReadTrace(1, self.session, self.cursor, max_records=max_records), self.now)
        assert reply.ok, reply.error
        self.cursor = reply.data["cursor"]
        return reply.data["records"], reply.data["dropped"]

    def read_all(self) -> tuple[list[TraceRecord], int]:
        records: list[TraceRecord] = []
        dropped = 0
        while True:
            got, lost = self.read()
            records += got
            dropped += lost
            if not got:
                return records, dropped


# -- the ring -------------------------------------------------------------------


def _ring(capacity: int = 4, **kw: Any) -> tuple[TraceBuffer, int]:
    ring = TraceBuffer(capacity=capacity, **kw)
    session, cursor = ring.open_session(0.0)
    assert cursor == 0
    return ring, session


def test_ring_reads_in_order_and_the_cursor_moves_on() -> None:
    ring, session = _ring(capacity=8)
    for i in range(3):
        ring.append(float(i), Direction.TX, bytes([i]))
    got = ring.read(session, 0, 3.0)
    assert [r.frame for r in got.records] == [b"\x00", b"\x01", b"\x02"]
    assert [r.seq for r in got.records] == [0, 1, 2]
    assert (got.cursor, got.dropped) == (3, 0)
    assert ring.read(session, got.cursor, 3.0).records == []
    ring.append(4.0, Direction.RX, b"new")
    again = ring.read(session, got.cursor, 4.0)
    assert [(r.frame, r.direction) for r in again.records] == [(b"new", Direction.RX)]


def test_ring_is_bounded_drops_the_oldest_and_says_how_many() -> None:
    ring, session = _ring(capacity=4)
    for i in range(10):
        ring.append(float(i), Direction.RX, bytes([i]))
    assert len(ring.records) == 4 and ring.overwritten == 6
    got = ring.read(session, 0, 10.0)
    assert [r.frame[0] for r in got.records] == [6, 7, 8, 9]  # the newest survive
    assert got.dropped == 6
    assert got.cursor == 10
    # A reader that kept up loses nothing; one at seq 8 sees just 8 and 9.
    assert ring.read(session, 8, 10.0).dropped == 0


def test_ring_is_bounded_in_octets_too() -> None:
    ring, session = _ring(capacity=100, max_bytes=1000)
    for _ in range(5):
        ring.append(0.0, Direction.TX, bytes(400))
    assert ring.octets <= 1000 and len(ring.records) == 2
    got = ring.read(session, 0, 0.0)
    assert got.dropped == 3 and len(got.records) == 2
    # A single frame larger than the budget is still kept (the newest is never dropped).
    ring.append(0.0, Direction.TX, bytes(5000))
    assert [len(r.frame) for r in ring.records] == [5000]


def test_read_is_limited_per_call_and_continues_where_it_stopped() -> None:
    ring, session = _ring(capacity=100)
    for i in range(10):
        ring.append(0.0, Direction.TX, bytes([i]) * 100)
    first = ring.read(session, 0, 0.0, max_records=4)
    assert [r.seq for r in first.records] == [0, 1, 2, 3]
    second = ring.read(session, first.cursor, 0.0, max_bytes=250)
    assert [r.seq for r in second.records] == [4, 5]
    # At least one record per read, however large, so that a reader always progresses.
    assert len(ring.read(session, second.cursor, 0.0, max_bytes=1).records) == 1


def test_sessions_have_their_own_cursor_and_unknown_ones_are_refused() -> None:
    ring, one = _ring(capacity=8)
    ring.append(0.0, Direction.TX, b"before")
    two, cursor = ring.open_session(0.0)
    assert cursor == 1  # a new reader starts with what comes next, not the ring's past
    ring.append(0.0, Direction.TX, b"after")
    assert [r.frame for r in ring.read(one, 0, 0.0).records] == [b"before", b"after"]
    assert [r.frame for r in ring.read(two, cursor, 0.0).records] == [b"after"]
    ring.close_session(one, 0.0)
    with pytest.raises(LocalProtocolError):
        ring.read(one, 0, 0.0)


def test_a_ring_needs_room() -> None:
    with pytest.raises(LocalProtocolError):
        TraceBuffer(capacity=0)


# -- the port hooks ----------------------------------------------------------------


def _fr_pair(**kw: Any) -> BackToBack:
    return BackToBack(fr("cpe", 16), fr("node", 16), **kw)


def test_port_records_both_directions_without_fcs() -> None:
    link = _fr_pair()
    link.run_until(3)
    link.send("a", 16, PACKET)
    link.send("b", 16, PACKET)
    link.run_for(0.5)
    records, dropped = link.read_all()
    assert dropped == 0
    tx = [r.frame for r in records if r.direction is Direction.TX]
    rx = [r.frame for r in records if r.direction is Direction.RX]
    # What A sent is exactly what went on the cable minus the FCS; what it received, what B sent.
    assert tx == [check_fcs16(w) for w in link.wire["a"]]
    assert rx == [check_fcs16(w) for w in link.wire["b"]]
    assert b"\x04\x01\x03\xcc" + PACKET in tx and b"\x04\x01\x03\xcc" + PACKET in rx
    assert tx[0][:2] == b"\x00\x01"  # the first status enquiry, on DLCI 0 (ANSI)
    times = [r.time for r in records]
    assert times == sorted(times) and times[-1] <= link.now


def test_port_records_frames_as_is_when_the_cable_carries_no_fcs() -> None:
    link = _fr_pair(carries_fcs=False)
    link.run_until(3)
    records, _ = link.read_all()
    assert [r.frame for r in records if r.direction is Direction.TX] == link.wire["a"]
    assert [r.frame for r in records if r.direction is Direction.RX] == link.wire["b"]


def test_async_port_records_deframed_frames() -> None:
    def ppp(local: str, peer: str) -> PppConfig:
        return PppConfig(framing="async", local_address=local, peer_address=peer)

    link = BackToBack(ppp("10.0.0.1", "10.0.0.2"), ppp("10.0.0.2", "10.0.0.1"), line=SERIAL, framing="async")
    link.run_until(5)
    assert link.a.port(1).engine.channel_usable(0)
    link.send("a", 0, PACKET)
    link.run_for(0.5)
    records, _ = link.read_all()

    def deframe(stream: list[bytes]) -> list[bytes]:
        deframer = AsyncDeframer(accm=0)
        return [f for item in stream for f in deframer.feed(item)]

    assert [r.frame for r in records if r.direction is Direction.TX] == deframe(link.wire["a"])
    assert [r.frame for r in records if r.direction is Direction.RX] == deframe(link.wire["b"])
    assert b"\xff\x03\x00\x21" + PACKET in [r.frame for r in records]
    assert records[0].frame.startswith(b"\xff\x03\xc0\x21\x01")  # LCP Configure-Request first


def test_nothing_is_recorded_while_the_trace_is_off() -> None:
    link = _fr_pair(trace=False)
    link.run_until(3)
    assert link.a.port(1).trace is None
    # Starting a trace later sees only what comes next.
    reply = link.a.execute(StartTrace(1), link.now)
    assert reply.ok and reply.data["cursor"] == 0
    link.session, link.cursor = reply.data["session"], reply.data["cursor"]
    sent_before = len(link.wire["a"])
    link.run_for(2)
    records, _ = link.read_all()
    assert len([r for r in records if r.direction is Direction.TX]) == len(link.wire["a"]) - sent_before
    assert link.a.execute(StopTrace(1, link.session), link.now).data == {"tracing": False}
    assert link.a.port(1).trace is None
    link.run_for(2)
    assert link.a.port(1).trace is None


def test_ring_overflow_on_the_port_drops_the_oldest_and_the_data_path_carries_on() -> None:
    link = _fr_pair(capacity=16)
    link.run_until(3)
    for _ in range(20):
        link.send("a", 16, PACKET)
        link.run_for(0.01)
    link.run_for(0.5)
    assert sum(1 for d in link.received["b"] if d.payload == PACKET) == 20  # nothing lost on the line
    records, dropped = link.read(max_records=1024)
    assert len(records) == 16
    assert dropped == records[0].seq  # everything before the oldest survivor
    assert records[-1].seq == link.a.port(1).trace.next_seq - 1  # type: ignore[union-attr]


def test_two_readers_share_the_trace_until_the_last_stops() -> None:
    link = _fr_pair()
    other = link.a.execute(StartTrace(1), link.now).data["session"]
    link.run_until(2)
    assert link.a.execute(StopTrace(1, link.session), link.now).data == {"tracing": True}
    records = link.a.execute(ReadTrace(1, other, 0), link.now).data["records"]
    assert records  # the other reader still has its trace
    assert not link.a.execute(ReadTrace(1, link.session, 0), link.now).ok  # the stopped one is gone
    assert link.a.execute(StopTrace(1, other), link.now).data == {"tracing": False}


def test_an_abandoned_trace_switches_itself_off() -> None:
    link = BackToBack(fr("cpe", 16), fr("node", 16), trace=False)
    reply = link.a.execute(StartTrace(1, idle_timeout=5.0), link.now)
    session = reply.data["session"]
    link.run_until(4)
    assert link.a.execute(ReadTrace(1, session, 0), link.now).ok  # read at t=4: alive until t=9
    link.run_until(8.5)
    assert link.a.port(1).trace is not None
    link.run_until(10.5)  # the LMI poll after t=9 finds nobody reading
    assert link.a.port(1).trace is None
    assert not link.a.execute(ReadTrace(1, session, 0), link.now).ok


def test_trace_survives_a_port_restart_and_chdlc_is_traced_too() -> None:
    link = BackToBack(ChdlcConfig(keepalive=1), ChdlcConfig(keepalive=1))
    link.run_until(2.5)
    assert link.a.execute(StopPort(1), link.now).ok
    assert link.a.execute(StartPort(1), link.now).ok
    link.run_for(2)
    records, _ = link.read_all()
    slarp = [r for r in records if r.frame[:4] == b"\x8f\x00\x80\x35"]
    assert {r.direction for r in slarp} == {Direction.TX, Direction.RX}
    assert max(r.time for r in slarp) > 2.5  # still recording after the restart


def test_mailbox_refuses_trace_commands_for_a_missing_port_or_session() -> None:
    card = Adapter("x")
    assert not card.execute(StartTrace(2), 0.0).ok
    assert not card.execute(ReadTrace(2, 1, 0), 0.0).ok
    link = _fr_pair()
    reply = link.a.execute(ReadTrace(1, 999, 0), 0.0)
    assert not reply.ok and "session 999" in reply.error
    assert link.a.execute(StopTrace(1, 999), 0.0).data == {"tracing": True}  # unknown session: no change
