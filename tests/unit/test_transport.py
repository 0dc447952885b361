"""Link transports: Unix datagram and UDP cables between two emulated ports."""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wand.config.model import TransportConfig
from wand.transport import (
    UdpTransport,
    UnixDatagramTransport,
    make_transport,
    parse_hostport,
)

BURST = 10_000


def _max_dgram_qlen() -> int:
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        return int(f.read())


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[UnixDatagramTransport, UnixDatagramTransport]]:
    a_path, b_path = str(tmp_path / "sock" / "a"), str(tmp_path / "sock" / "b")
    a = UnixDatagramTransport(a_path, b_path)
    b = UnixDatagramTransport(b_path, a_path)
    yield a, b
    a.close()
    b.close()


def _free_udp_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """Ephemeral ports that were free a moment ago (the race is harmless on loopback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _recv_until(t: UnixDatagramTransport | UdpTransport, n: int, timeout: float = 2.0) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += t.recv_batch()
        if len(got) < n:
            time.sleep(0.001)
    return got


# -- Unix datagram ------------------------------------------------------------


def test_unix_pair_exchanges_frames_both_ways(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    a, b = pair
    assert a.carries_fcs and b.carries_fcs
    assert a.send(b"\x04\x01\x03\xcc hello\x12\x34")
    assert a.send(b"second")
    assert b.recv_batch() == [b"\x04\x01\x03\xcc hello\x12\x34", b"second"]
    assert b.recv_batch() == []  # drained: EAGAIN, no blocking
    assert b.send(b"reply")
    assert a.recv_batch() == [b"reply"]
    assert (a.counters.tx_frames, a.counters.tx_bytes) == (2, 18)
    assert (b.counters.rx_frames, b.counters.rx_bytes) == (2, 18)
    assert a.counters.rx_frames == 1 and b.counters.tx_frames == 1
    assert "unix" in a.describe() and a.local_path in a.describe()


def test_unix_recv_batch_honours_limit(pair: tuple[UnixDatagramTransport, UnixDatagramTransport]) -> None:
    a, b = pair
    for i in range(5):
        assert a.send(bytes([i]))
    assert b.recv_batch(limit=2) == [b"\x00", b"\x01"]
    assert b.recv_batch(limit=64) == [b"\x02", b"\x03", b"\x04"]


def test_unix_creates_parent_and_removes_socket_on_close(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "a.sock"
    t = UnixDatagramTransport(str(path), str(tmp_path / "b.sock"))
    assert path.is_socket()
    t.close()
    assert not path.exists()
    t.close()  # idempotent


def test_unix_peer_absent_is_counted_not_raised(tmp_path: Path) -> None:
    a = UnixDatagramTransport(str(tmp_path / "a"), str(tmp_path / "b"))
    try:
        assert a.send(b"x") is False  # ENOENT: nothing at the path
        # A socket file whose owner died (ECONNREFUSED) is "absent" as well.
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dead.bind(str(tmp_path / "b"))
        dead.close()
        assert a.send(b"y") is False
        assert a.counters.tx_peer_absent == 2
        assert a.counters.tx_frames == 0
    finally:
        a.close()


def test_unix_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "a")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(path)
    stale.close()  # the file stays behind, as after a crash
    a = UnixDatagramTransport(path, str(tmp_path / "b"))
    b = UnixDatagramTransport(str(tmp_path / "b"), path)
    try:
        assert b.send(b"to the new a")
        assert a.recv_batch() == [b"to the new a"]
    finally:
        a.close()
        b.close()


def test_unix_refuses_live_socket_and_non_socket(tmp_path: Path) -> None:
    live_path = str(tmp_path / "live")
    live = UnixDatagramTransport(live_path, str(tmp_path / "x"))
    try:
        with pytest.raises(OSError) as exc_info:
            UnixDatagramTransport(live_path, str(tmp_path / "x"))
        assert exc_info.value.errno == errno.EADDRINUSE
    finally:
        live.close()
    plain = tmp_path / "plain"
    plain.write_text("not a socket")
    with pytest.raises(FileExistsError):
        UnixDatagramTransport(str(plain), str(tmp_path / "x"))
    assert plain.read_text() == "not a socket"


def test_unix_close_leaves_a_newer_socket_alone(tmp_path: Path) -> None:
    path = str(tmp_path / "a")
    old = UnixDatagramTransport(path, str(tmp_path / "b"))
    os.unlink(path)  # e.g. an operator cleaned up; a new instance binds the same name
    new = UnixDatagramTransport(path, str(tmp_path / "b"))
    old.close()
    assert os.path.exists(path)
    new.close()
    assert not os.path.exists(path)


def test_unix_oversized_datagram_is_an_rx_error(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    a, b = pair
    assert a.send(b"z" * 70_000)
    assert a.send(b"ok")
    assert b.recv_batch() == [b"ok"]
    assert b.counters.rx_errors == 1


def test_unix_burst_without_draining_stops_at_max_dgram_qlen(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """The receiver's queue holds max_dgram_qlen + 1 datagrams; the rest is EAGAIN.

    Measured on Linux 6.x with the default qlen of 10: 11 of 10,000 go
    through, 9,989 are would-block. Buffer sizes do not change this.
    """
    a, b = pair
    qlen = _max_dgram_qlen()
    sent = sum(a.send(i.to_bytes(4, "big")) for i in range(BURST))
    print(
        f"\nmax_dgram_qlen={qlen}: {sent}/{BURST} accepted without draining, {a.counters.tx_would_block} EAGAIN"
    )
    assert sent + a.counters.tx_would_block == BURST
    assert a.counters.tx_peer_absent == 0
    if qlen < 1000:  # a larger sysctl would hit the 4 MiB SO_SNDBUF instead
        assert sent == qlen + 1
    got = _recv_until(b, sent)
    assert got == [i.to_bytes(4, "big") for i in range(sent)]  # the first ones, in order


def test_unix_burst_with_draining_and_retry_loses_nothing(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """send() -> False means "not taken": retrying after the receiver drains delivers all, in order."""
    a, b = pair
    qlen = _max_dgram_qlen()
    received: list[bytes] = []
    for i in range(BURST):
        frame = i.to_bytes(4, "big")
        while not a.send(frame):
            received += b.recv_batch()  # stands in for the far end's add_reader callback
    received += _recv_until(b, BURST - len(received))
    print(
        f"\nmax_dgram_qlen={qlen}: {BURST}/{BURST} delivered with drain+retry, {a.counters.tx_would_block} EAGAIN"
    )
    assert received == [i.to_bytes(4, "big") for i in range(BURST)]
    assert a.counters.tx_frames == BURST
    assert b.counters.rx_frames == BURST
    if qlen < 1000:
        # Each EAGAIN is followed by a full drain, so one per (qlen + 1) frames.
        assert a.counters.tx_would_block == pytest.approx(BURST / (qlen + 1), rel=0.05)


# -- UDP ----------------------------------------------------------------------


def test_udp_pair_round_trip() -> None:
    pa, pb = _free_udp_ports(2)
    a = UdpTransport(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}")
    b = UdpTransport(f"127.0.0.1:{pb}", f"127.0.0.1:{pa}")
    try:
        assert not a.carries_fcs and not b.carries_fcs
        frame = b"\x04\x01\x03\xccIP packet here"  # address field first, no flags, no FCS
        assert a.send(frame)
        assert _recv_until(b, 1) == [frame]
        assert b.send(b"back")
        assert _recv_until(a, 1) == [b"back"]
        assert a.counters.tx_frames == 1 and a.counters.rx_frames == 1
        assert a.describe() == f"udp 127.0.0.1:{pa} -> 127.0.0.1:{pb}"
    finally:
        a.close()
        b.close()


def test_udp_ignores_datagrams_from_strangers() -> None:
    pa, pb = _free_udp_ports(2)
    a = UdpTransport(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}")
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        stranger.sendto(b"spoof", ("127.0.0.1", pa))
        time.sleep(0.05)
        assert a.recv_batch() == []
    finally:
        stranger.close()
        a.close()


def test_udp_peer_absent_is_counted() -> None:
    (pa, pb) = _free_udp_ports(2)
    a = UdpTransport(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}")  # nobody listens on pb
    try:
        # The ICMP port-unreachable comes back asynchronously and is reported
        # on a later send (or recv) on the connected socket.
        deadline = time.monotonic() + 2.0
        while a.counters.tx_peer_absent == 0 and time.monotonic() < deadline:
            a.send(b"x")
            time.sleep(0.01)
        assert a.counters.tx_peer_absent >= 1
    finally:
        a.close()


def test_udp_ipv6_round_trip() -> None:
    try:
        pa, pb = _free_udp_ports(2, "::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    a = UdpTransport(f"[::1]:{pa}", f"[::1]:{pb}")
    b = UdpTransport(f"[::1]:{pb}", f"[::1]:{pa}")
    try:
        assert a.send(b"v6")
        assert _recv_until(b, 1) == [b"v6"]
        assert a.describe() == f"udp [::1]:{pa} -> [::1]:{pb}"
    finally:
        a.close()
        b.close()


def test_parse_hostport() -> None:
    assert parse_hostport("127.0.0.1:5000") == (socket.AF_INET, ("127.0.0.1", 5000))
    fam, addr = parse_hostport("[::1]:5001")
    assert fam == socket.AF_INET6 and addr[:2] == ("::1", 5001)
    for bad in ("127.0.0.1", "::1:5000", "[::1]5000", "host:port", "1.2.3.4:70000"):
        with pytest.raises(ValueError):
            parse_hostport(bad)


# -- factory ------------------------------------------------------------------


def test_make_transport(tmp_path: Path) -> None:
    t = make_transport(TransportConfig(kind="unix", local=str(tmp_path / "a"), remote=str(tmp_path / "b")))
    assert isinstance(t, UnixDatagramTransport)
    t.close()
    pa, pb = _free_udp_ports(2)
    u = make_transport(TransportConfig(kind="udp", local=f"127.0.0.1:{pa}", remote=f"127.0.0.1:{pb}"))
    assert isinstance(u, UdpTransport)
    u.close()
    with pytest.raises(ValueError):
        make_transport(TransportConfig(kind="carrier-pigeon", local="", remote=""))  # type: ignore[arg-type]
