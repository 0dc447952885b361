"""Adapter ports in async framing (RFC 1662 on a byte stream), and the tty transport that feeds them.

``AsyncLink`` wires two adapter cards back to back through a byte pipe that
cuts the octet stream however a chunker says: one octet at a time, at random,
or several frames coalesced into one piece (as a pty read often returns
them). A fake clock steps to the earliest deadline, as in test_adapter.py.

The tty transport tests use os.openpty(): the transport opens the slave side
through a symlink, and closing the master is the far end going away.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware_emu.adapter import Adapter, ConfigurePort, Port, ReadStatus, StartPort, StopPort
from firmware_emu.hdlc.async_framing import AsyncDeframer, encode_async
from firmware_emu.hdlc.fcs import append_fcs16
from firmware_emu.payload import Delivery, Proto
from firmware_emu.phy.config import LineConfig
from firmware_emu.ppp import PppConfig
from wand.transport import REOPEN_INTERVAL, TtyTransport

BAUD = 115200
SERIAL = LineConfig(kind="serial", clock_rate=BAUD)
# Flags, escapes, every control character: all of it must survive the stuffing.
PAYLOAD = bytes([0x45]) + bytes(range(256)) + b"\x7e\x7d\x7e\x7d\x00\x11\x13"

PIPE_TICK = 0.005  # s: how soon the pipe runs again while it holds octets back
Chunker = Callable[[bytearray, int], list[bytes]]


def _one_octet_at_a_time(pending: bytearray, step: int) -> list[bytes]:
    return [bytes((octet,)) for octet in pending]


def _random_splits(seed: int) -> Chunker:
    rng = random.Random(seed)

    def chunk(pending: bytearray, step: int) -> list[bytes]:
        pieces, at = [], 0
        while at < len(pending):
            size = rng.randint(1, 40)
            pieces.append(bytes(pending[at : at + size]))
            at += size
        return pieces

    return chunk


def _coalesced(pending: bytearray, step: int) -> list[bytes]:
    """Everything since the last delivery in one piece, every 4th step: several frames per chunk."""
    return [bytes(pending)] if step % 4 == 0 else []


CHUNKERS: dict[str, Chunker] = {
    "octets": _one_octet_at_a_time,
    "random": _random_splits(7),
    "coalesced": _coalesced,
}


def _config(address: str, peer: str, **extra: object) -> PppConfig:
    return PppConfig(framing="async", local_address=address, peer_address=peer, **extra)  # type: ignore[arg-type]


class AsyncLink:
    """Two async ports joined by a byte pipe; `chunker` decides how the stream is cut on delivery."""

    def __init__(
        self,
        chunker: Chunker,
        a: PppConfig | None = None,
        b: PppConfig | None = None,
        line: LineConfig = SERIAL,
    ) -> None:
        self.now = 0.0
        self.steps = 0
        self.chunker = chunker
        self.cards = {"a": Adapter("a"), "b": Adapter("b")}
        configs = {"a": a or _config("10.0.0.1", "10.0.0.2"), "b": b or _config("10.0.0.2", "10.0.0.1")}
        for name, card in self.cards.items():
            reply = card.execute(ConfigurePort(1, line, configs[name], framing="async"), self.now)
            assert reply.ok, reply.error
            assert card.execute(StartPort(1), self.now).ok
        self.in_flight = {"a": bytearray(), "b": bytearray()}  # octets on their way *to* a / b
        self.received = {"a": bytearray(), "b": bytearray()}  # every octet delivered to a / b
        self.deliveries: dict[str, list[Delivery]] = {"a": [], "b": []}
        self.tap: Callable[[str, bytes], bytes] | None = None  # may rewrite what goes on the wire

    def port(self, name: str) -> Port:
        return self.cards[name].port(1)

    def step(self) -> bool:
        deadlines = [d for d in (c.deadline() for c in self.cards.values()) if d is not None]
        if any(self.in_flight.values()):
            deadlines.append(self.now + PIPE_TICK)  # a chunker holding octets back gets another go
        if not deadlines:
            return False
        self.now = max(self.now, min(deadlines))
        self.steps += 1
        for src, dst in (("a", "b"), ("b", "a")):
            port = self.port(src)
            port.handle_timer(self.now)
            for chunk in port.line_output(self.now):
                self.in_flight[dst] += self.tap(dst, chunk) if self.tap else chunk
        for name, pending in self.in_flight.items():
            pieces = self.chunker(pending, self.steps)
            taken = sum(map(len, pieces))
            assert bytes(pending[:taken]) == b"".join(pieces)
            del pending[:taken]
            for piece in pieces:
                self.received[name] += piece
                self.port(name).line_input(piece, self.now)
            self.deliveries[name].extend(self.port(name).rx)
            self.port(name).rx.clear()
        return True

    def run_until(self, t: float) -> None:
        while self.now < t and self.step():
            pass

    def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
        limit = self.now + seconds
        while not predicate() and self.now < limit and self.step():
            pass
        return predicate()

    def usable(self) -> bool:
        return all(self.port(n).engine.channel_usable(0) for n in ("a", "b"))


@pytest.mark.parametrize("chunking", list(CHUNKERS))
def test_lcp_and_ipcp_come_up_and_data_round_trips(chunking: str) -> None:
    link = AsyncLink(CHUNKERS[chunking])
    assert link.wait_for(link.usable, 15), link.port("a").status()
    for src, dst in (("a", "b"), ("b", "a")):
        assert link.port(src).submit(0, PAYLOAD, Proto.IPV4, link.now)
        assert link.wait_for(lambda d=dst: bool(link.deliveries[d]), 2)
        (delivery,) = link.deliveries[dst]
        assert (delivery.channel, delivery.proto, delivery.payload) == (0, Proto.IPV4, PAYLOAD)
    for name in ("a", "b"):
        counters = link.port(name).status()["counters"]
        # Whatever the cut, and whatever changed the ACCM mid-chunk (LCP Opened), nothing was lost.
        assert counters["rx_crc_errors"] == 0
        assert counters["rx_delivered"] == 1
        assert link.port(name).status()["line"]["async"]["frames"] == counters["rx_frames"]


def test_the_receive_accm_changes_between_frames_of_one_chunk() -> None:
    """The peer's Configure-Ack and its first frame under the new map, read in one piece.

    Once A has acked B's Configure-Request, what B sends A is held back until
    it holds two frames: B's Configure-Ack, and the IPCP Configure-Request B
    sent on opening LCP, escaped with the map A asked for (none: its
    addresses go as raw control characters).
    A then reads B's Configure-Ack and that IPCP frame in one chunk, and must
    deframe the second with the map in force after the first (LCP Opened).
    """
    link: AsyncLink
    held: list[bool] = []

    def hold_to_a(pending: bytearray, step: int) -> list[bytes]:
        a_lcp = link.port("a").engine.status()["lcp"]["state"]
        if pending is link.in_flight["a"] and a_lcp == "Ack-Sent":
            if pending.count(0x7E) < 4:  # not yet two whole frames: the Ack and the IPCP request
                return []
            held.append(bytes(pending))
        return [bytes(pending)]

    link = AsyncLink(hold_to_a)
    assert link.wait_for(link.usable, 15)
    (chunk,) = held  # the scenario happened: one chunk, LCP Configure-Ack then IPCP
    lcp_ack, ipcp = (f[:5] for f in AsyncDeframer(accm=0).feed(chunk))
    assert (lcp_ack, ipcp) == (b"\xff\x03\xc0\x21\x02", b"\xff\x03\x80\x21\x01")
    assert link.port("a").status()["counters"]["rx_crc_errors"] == 0
    assert link.port("a").status()["line"]["async"]["rx_accm"] == "00000000"


def test_the_negotiated_accm_is_honoured_on_the_wire() -> None:
    # A asks for XON and XOFF (0x11, 0x13) to be escaped; B asks for nothing.
    link = AsyncLink(
        _random_splits(3), _config("10.0.0.1", "10.0.0.2", accm=0x000A0000), _config("10.0.0.2", "10.0.0.1")
    )
    assert link.wait_for(link.usable, 15)
    for src in ("a", "b"):
        assert link.port(src).submit(0, PAYLOAD, Proto.IPV4, link.now)
    assert link.wait_for(lambda: all(link.deliveries.values()), 2)
    assert link.port("a").status()["line"]["async"]["rx_accm"] == "000a0000"
    # Towards A, XON/XOFF only ever travel escaped; towards B the payload's control characters
    # go raw once LCP is Opened (B's map is 0), so B's stream does contain them.
    assert b"\x11" not in link.received["a"] and b"\x13" not in link.received["a"]
    assert b"\x11" in link.received["b"] and b"\x13" in link.received["b"]
    assert [d.payload for d in link.deliveries["a"]] == [PAYLOAD]


def test_a_corrupted_octet_is_a_counted_crc_error() -> None:
    link = AsyncLink(_random_splits(11))
    assert link.wait_for(link.usable, 15)
    damaged = []

    def corrupt(dst: str, chunk: bytes) -> bytes:
        # Flip one bit of an ordinary octet in the middle of the first data frame to B.
        if dst != "b" or damaged or len(chunk) < 100:
            return chunk
        at = next(i for i in range(len(chunk) // 2, len(chunk)) if chunk[i] not in (0x7E, 0x7D))
        damaged.append(at)
        return chunk[:at] + bytes((chunk[at] ^ 0x01,)) + chunk[at + 1 :]

    link.tap = corrupt
    before = link.port("b").status()["counters"]["rx_frames"]
    assert link.port("a").submit(0, PAYLOAD, Proto.IPV4, link.now)
    link.run_until(link.now + 0.2)
    assert damaged and link.deliveries["b"] == []
    status = link.port("b").status()
    assert status["counters"]["rx_crc_errors"] == 1
    assert status["line"]["async"]["crc_errors"] == 1
    assert status["counters"]["rx_frames"] == before + 1  # counted as received, like a sync frame
    # The stream resynchronises at the next flag: the next packet gets through.
    assert link.port("a").submit(0, PAYLOAD, Proto.IPV4, link.now)
    assert link.wait_for(lambda: bool(link.deliveries["b"]), 2)


def test_pacing_is_ten_bits_per_octet() -> None:
    quiet = {"echo_interval": 0.0}  # no Echo-Requests sharing the line
    link = AsyncLink(
        _coalesced, _config("10.0.0.1", "10.0.0.2", **quiet), _config("10.0.0.2", "10.0.0.1", **quiet)
    )
    assert link.wait_for(link.usable, 15)
    link.run_until(link.now + 1)
    port = link.port("a")
    assert len(port.transmitter) == 0 and port.transmitter.busy_until <= link.now
    t0 = link.now
    packets = 5
    for _ in range(packets):
        assert port.submit(0, PAYLOAD, Proto.IPV4, t0)
    finishes, wire = [], b""
    while port.deadline() is not None and len(finishes) < packets:
        t = port.transmitter.deadline()
        assert t is not None
        for chunk in port.line_output(t):
            finishes.append(t)
            wire += chunk
    # One frame as it goes out: flag, stuffed frame and FCS, flag; 10 bit times per octet at 115200.
    frame = port.engine.encode(0, PAYLOAD, Proto.IPV4)
    one = encode_async(append_fcs16(frame), port.engine.accm_for(frame))  # type: ignore[attr-defined]
    assert wire == one * packets
    assert finishes[0] - t0 == pytest.approx(len(one) * 10 / BAUD)
    assert finishes[-1] - t0 == pytest.approx(packets * len(one) * 10 / BAUD)
    assert port.status()["line"]["framing"] == "async"


def test_async_framing_carries_the_fcs_whatever_the_cable_says() -> None:
    # carries_fcs=False is the UDP (GNS3) format for sync frames; the async stream has its FCS inside.
    card = Adapter("a")
    assert card.execute(
        ConfigurePort(1, SERIAL, _config("10.0.0.1", "10.0.0.2"), carries_fcs=False, framing="async"), 0.0
    ).ok
    assert card.execute(StartPort(1), 0.0).ok
    port = card.port(1)
    (chunk,) = port.line_output(1.0)  # the first LCP Configure-Request
    (frame,) = AsyncDeframer().feed(chunk)  # the FCS checks out
    assert frame.startswith(b"\xff\x03\xc0\x21\x01")


def test_sync_ports_keep_the_class_methods_and_bad_framing_is_refused() -> None:
    card = Adapter("a")
    assert card.execute(ConfigurePort(1, SERIAL, PppConfig()), 0.0).ok
    assert card.execute(ConfigurePort(2, SERIAL, PppConfig(framing="async"), framing="async"), 0.0).ok
    sync, async_ = card.port(1), card.port(2)
    # The mode is bound at construction: the sync hot path is the plain method, not a wrapper.
    assert "line_input" not in vars(sync) and "_offer" not in vars(sync)
    assert vars(async_)["line_input"].__func__ is Port._line_input_async
    assert "framing" not in card.execute(ReadStatus(1), 0.0).data["line"]
    reply = card.execute(ConfigurePort(3, SERIAL, PppConfig(), framing="bisync"), 0.0)
    assert not reply.ok and "framing" in reply.error


def test_a_restart_drops_a_half_received_frame() -> None:
    link = AsyncLink(_one_octet_at_a_time)
    assert link.wait_for(link.usable, 15)
    port = link.port("b")
    frame = port.engine.encode(0, PAYLOAD, Proto.IPV4)
    wire = encode_async(append_fcs16(frame), 0xFFFFFFFF)
    port.line_input(wire[: len(wire) // 2], link.now)
    assert link.cards["b"].execute(StopPort(1), link.now).ok
    assert link.cards["b"].execute(StartPort(1), link.now).ok
    # The rest of the cut frame arrives after the restart: no flag seen yet, so it is not a frame.
    errors_before = port.status()["line"]["async"]
    port.line_input(wire[len(wire) // 2 :], link.now)
    assert port.status()["line"]["async"] == errors_before
    assert list(port.rx) == []


# --- the tty transport (os.openpty) ----------------------------------------------------------


@pytest.fixture
def pty_link(tmp_path: Path):  # noqa: ANN201 - generator fixture
    """A pty whose slave a symlink names, like socat's `link=`; yields (path, master fd, relink)."""
    link_path = tmp_path / "ttyA"
    masters: list[int] = []

    def new_pty() -> int:
        master, slave = os.openpty()
        masters.append(master)
        name = os.ttyname(slave)
        os.close(slave)  # the transport opens it again by name
        link_path.unlink(missing_ok=True)
        link_path.symlink_to(name)
        return master

    yield str(link_path), new_pty
    for fd in masters:
        with contextlib.suppress(OSError):
            os.close(fd)


def _readable(fd: int, timeout: float = 1.0) -> bool:
    poller = select.epoll()
    try:
        poller.register(fd, select.EPOLLIN)
        return bool(poller.poll(timeout))
    finally:
        poller.close()


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    out = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return out
        if not data:
            return out
        out += data


def test_tty_moves_bytes_and_keeps_the_remainder_in_order(pty_link) -> None:  # noqa: ANN001
    path, new_pty = pty_link
    master = new_pty()
    tty = TtyTransport(path, BAUD)
    try:
        assert tty.describe().startswith(f"tty {path} (/dev/pts/")
        os.write(master, b"\x7e\x00\x11\x13\x7e")  # raw mode: nothing translated or swallowed
        assert _readable(tty.fileno())
        assert b"".join(tty.recv_batch(64, 0.0)) == b"\x7e\x00\x11\x13\x7e"
        # Nobody reads the master: fill the pty until send() refuses; nothing is lost or reordered.
        sent = []
        for i in range(1000):
            block = bytes([i % 251]) * 1000
            if not tty.send(block):
                break
            sent.append(block)
        else:
            pytest.fail("a pty that nobody reads never pushed back")
        assert tty.counters.tx_would_block == 1
        got = b""
        deadline = time.monotonic() + 10
        while len(got) < sum(map(len, sent)) and time.monotonic() < deadline:
            got += _read_all(master)
            if _readable(tty.fileno(), 0.05):  # writability of a pending remainder wakes the reader
                tty.recv_batch(64, 0.0)
        assert got == b"".join(sent)
        assert tty.flush() and tty.send(b"after")
        assert _readable(master) and _read_all(master) == b"after"
    finally:
        tty.close()
    tty.close()  # idempotent
    assert tty.describe().endswith("(closed)")


def test_tty_hang_up_is_survived_and_the_far_end_can_come_back(pty_link) -> None:  # noqa: ANN001
    path, new_pty = pty_link
    master = new_pty()
    tty = TtyTransport(path)
    fd = tty.fileno()
    try:
        os.close(master)  # the far end goes away: our side is hung up for good
        assert _readable(fd)
        assert tty.recv_batch(64, 100.0) == []
        assert tty.counters.hangups == 1 and not tty.present
        assert not _readable(fd, 0.1)  # the loop goes quiet instead of spinning on POLLHUP
        assert tty.send(b"lost") and tty.counters.tx_peer_absent == 1
        assert tty.deadline() == pytest.approx(100.0 + REOPEN_INTERVAL)
        assert "far end absent" in tty.describe()
        tty.maintain(100.0)  # not due yet
        assert not tty.present
        master = new_pty()  # a new far end behind the same path (socat restarted)
        tty.maintain(100.0 + REOPEN_INTERVAL)
        assert tty.present and tty.deadline() is None and tty.fileno() == fd
        assert tty.send(b"back")
        assert _readable(master) and _read_all(master) == b"back"
        os.write(master, b"hello")
        assert _readable(fd) and b"".join(tty.recv_batch(64, 101.0)) == b"hello"
    finally:
        tty.close()


def test_tty_refuses_what_is_not_a_tty(tmp_path: Path) -> None:
    plain = tmp_path / "file"
    plain.write_bytes(b"")
    with pytest.raises(OSError, match="not a serial port"):
        TtyTransport(str(plain))
    with pytest.raises(FileNotFoundError):
        TtyTransport(str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="baud"):
        TtyTransport("/dev/null", 100000)
