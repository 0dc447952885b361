"""Link transports: Unix datagram and UDP cables between two emulated ports."""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wand.config.model import TransportConfig
from wand.transport import (
    RECONNECT_FIRST,
    RECONNECT_INTERVAL,
    REFRESH_IDLE,
    LinkTransport,
    UdpTransport,
    UnixDatagramTransport,
    make_transport,
    parse_hostport,
)

BURST = 10_000
T0 = 1000.0  # a simulated monotonic clock for maintain(); tests pass `now` explicitly


def _max_dgram_qlen() -> int:
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        return int(f.read())


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[UnixDatagramTransport, UnixDatagramTransport]]:
    a_path, b_path = str(tmp_path / "sock" / "a"), str(tmp_path / "sock" / "b")
    a = UnixDatagramTransport(a_path, b_path)
    b = UnixDatagramTransport(b_path, a_path)
    # a was created first, found nothing at b's path and is not connected yet;
    # its first maintain() attaches it, as the daemon's first timer would.
    a.maintain(T0)
    assert a.connected and b.connected
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


def _recv_until(t: LinkTransport, n: int, timeout: float = 2.0, now: float | None = None) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += t.recv_batch(now=now)
        if len(got) < n:
            time.sleep(0.001)
    return got


def _writable(t: LinkTransport) -> bool:
    return bool(select.select([], [t.fileno()], [], 0)[1])


def _frame(i: int) -> bytes:
    return i.to_bytes(4, "big")


# -- Unix datagram: basics ----------------------------------------------------


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
    assert a.counters.tx_peer_absent == a.counters.tx_would_block == 0
    assert a.describe() == f"unix {a.local_path} -> {a.remote_path}"


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
    assert t.deadline() is None
    t.maintain(T0)  # a no-op once closed
    assert "closed" in t.describe()
    t.close()  # idempotent


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
        assert b.counters.tx_peer_absent == 0
    finally:
        a.close()
        b.close()


def test_unix_refuses_live_socket_and_non_socket(
    tmp_path: Path, pair: tuple[UnixDatagramTransport, UnixDatagramTransport]
) -> None:
    live_path = str(tmp_path / "live")
    live = UnixDatagramTransport(live_path, str(tmp_path / "x"))  # live, not connected
    try:
        with pytest.raises(OSError) as exc_info:
            UnixDatagramTransport(live_path, str(tmp_path / "x"))
        assert exc_info.value.errno == errno.EADDRINUSE
    finally:
        live.close()
    # A live end of a connected pair answers the probe with EPERM: also in use.
    a, _ = pair
    with pytest.raises(OSError) as exc_info:
        UnixDatagramTransport(a.local_path, a.remote_path)
    assert exc_info.value.errno == errno.EADDRINUSE
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


def test_unix_remote_path_that_can_never_work_is_a_config_error(tmp_path: Path) -> None:
    local = tmp_path / "a"
    with pytest.raises(OSError):
        UnixDatagramTransport(str(local), "/" + "x" * 200)  # longer than sun_path
    assert not local.exists()  # nothing left behind


def test_unix_oversized_datagram_is_an_rx_error(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    a, b = pair
    assert a.send(b"z" * 70_000)
    assert a.send(b"ok")
    assert b.recv_batch() == [b"ok"]
    assert b.counters.rx_errors == 1


# -- Unix datagram: flow control -----------------------------------------------


def test_unix_queue_is_not_limited_by_max_dgram_qlen(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """Connected both ways, the far queue holds far more than max_dgram_qlen + 1 frames.

    Unconnected sendto stopped at 11 (qlen 10). Connected, the limit is our
    SO_SNDBUF: measured 10,923 4-byte frames with the 8 MiB a root process
    gets; a few hundred even with the unprivileged default cap.
    """
    a, b = pair
    qlen = _max_dgram_qlen()
    assert all(a.send(_frame(i)) for i in range(300))  # the receiver does not read meanwhile
    sent = 300 + sum(1 for i in range(300, BURST) if a.send(_frame(i)))
    print(
        f"\nmax_dgram_qlen={qlen}: {sent}/{BURST} queued without draining, {a.counters.tx_would_block} EAGAIN"
    )
    assert sent > qlen + 1
    assert a.counters.tx_peer_absent == 0
    assert sent + a.counters.tx_would_block == BURST
    got = _recv_until(b, sent)
    assert got == [_frame(i) for i in range(sent)]  # the first ones, in order


def test_unix_burst_with_draining_receiver_loses_nothing(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """10,000 frames from a non-blocking sender, the receiver draining now and then: all arrive, in order.

    The sender only ever sees EAGAIN with its socket buffer full, i.e. with
    hundreds of frames outstanding, never at max_dgram_qlen + 1.
    """
    a, b = pair
    qlen = _max_dgram_qlen()
    received: list[bytes] = []
    outstanding_at_eagain: list[int] = []
    for i in range(BURST):
        frame = _frame(i)
        while not a.send(frame):
            outstanding_at_eagain.append(i - len(received))
            received += b.recv_batch(limit=BURST)  # stands in for the far end's add_reader callback
        if i % 1000 == 999:
            received += b.recv_batch(limit=BURST)
    received += _recv_until(b, BURST - len(received))
    print(
        f"\nmax_dgram_qlen={qlen}: {BURST}/{BURST} delivered, {a.counters.tx_would_block} EAGAIN,"
        f" outstanding at EAGAIN: {sorted(set(outstanding_at_eagain))[:5]}"
    )
    assert received == [_frame(i) for i in range(BURST)]
    assert a.counters.tx_frames == BURST == b.counters.rx_frames
    assert a.counters.tx_peer_absent == 0
    assert all(n > 20 * (qlen + 1) for n in outstanding_at_eagain)


def test_unix_writability_follows_the_socket_buffer(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """send() -> False comes with "not writable"; draining the far end makes it writable again."""
    a, b = pair
    assert _writable(a)
    frame = b"f" * 1500
    n = 0
    while a.send(frame):
        n += 1
        assert n < 1_000_000, "send() never pushed back"
    assert a.counters.tx_would_block == 1
    print(f"\n{n} frames of {len(frame)} bytes queued before send() -> False")
    assert not _writable(a)
    assert not select.select([], [a.fileno()], [], 0.05)[1]  # and it does not become writable by itself
    got = _recv_until(b, n)
    assert len(got) == n
    assert _writable(a)
    assert a.send(frame)
    assert b.recv_batch() == [frame]


# -- Unix datagram: far end absent, restarts ---------------------------------------


def test_unix_peer_absent_at_start_then_attaches(tmp_path: Path) -> None:
    a_path, b_path = str(tmp_path / "a"), str(tmp_path / "b")
    a = UnixDatagramTransport(a_path, b_path)
    try:
        assert not a.connected
        assert "not attached" in a.describe()
        assert a.deadline() is not None and a.deadline() <= T0
        assert a.send(b"x")  # ENOTCONN: taken and dropped, as on an unplugged line
        # A socket file whose owner died (ECONNREFUSED on connect) is "absent" as well.
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dead.bind(b_path)
        dead.close()
        a.maintain(T0)
        assert not a.connected
        assert a.deadline() == T0 + RECONNECT_INTERVAL  # retried at that pace while absent
        assert a.send(b"y")
        assert (a.counters.tx_peer_absent, a.counters.tx_frames) == (2, 0)
        assert a.counters.connect_failures >= 2

        b = UnixDatagramTransport(b_path, a_path)  # replaces the stale file, connects to a
        try:
            assert b.connected
            assert b.send(b"b->a")  # a is unconnected, so it accepts b already
            a.maintain(T0 + 0.2)  # not due yet
            assert not a.connected
            a.maintain(T0 + RECONNECT_INTERVAL)
            assert a.connected and a.describe() == f"unix {a_path} -> {b_path}"
            assert a.recv_batch(now=T0 + RECONNECT_INTERVAL) == [b"b->a"]  # attaching lost nothing
            assert a.send(b"a->b")
            assert b.recv_batch() == [b"a->b"]
        finally:
            b.close()
    finally:
        a.close()


def test_unix_send_attaches_soon_after_the_peer_appears(tmp_path: Path) -> None:
    """The start-up race: our first frames precede the far end's bind; later ones are not lost."""
    a_path, b_path = str(tmp_path / "a"), str(tmp_path / "b")
    a = UnixDatagramTransport(a_path, b_path)
    b: UnixDatagramTransport | None = None
    try:
        assert a.send(b"too early")
        b = UnixDatagramTransport(b_path, a_path)
        time.sleep(10 * RECONNECT_FIRST)  # past send()'s first back-off, far less than maintain's interval
        assert a.send(b"in time")  # ENOTCONN, re-connects, and the frame goes out after all
        assert b.recv_batch() == [b"in time"]
        assert (a.counters.tx_peer_absent, a.counters.tx_frames) == (1, 1)
        assert a.connected
    finally:
        a.close()
        if b is not None:
            b.close()


def test_unix_send_reconnect_attempts_are_rate_limited(tmp_path: Path) -> None:
    a = UnixDatagramTransport(str(tmp_path / "a"), str(tmp_path / "b"))
    try:
        start = time.monotonic()
        assert all(a.send(b"x") for _ in range(BURST))
        elapsed = time.monotonic() - start
        assert a.counters.tx_peer_absent == BURST
        # Back-off from RECONNECT_FIRST, doubling up to RECONNECT_INTERVAL: a
        # handful of connect() attempts, not one per frame.
        print(
            f"\n{BURST} sends to an absent peer in {elapsed * 1e3:.0f} ms: {a.counters.connect_failures} connects"
        )
        assert a.counters.connect_failures < 50
    finally:
        a.close()


def test_unix_restart_survivor_sends_first_loses_nothing(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    a, b = pair
    b_path, a_path = b.local_path, a.local_path
    b.close()
    b2 = UnixDatagramTransport(b_path, a_path)
    try:
        # a is still connected to the dead b, so b2 cannot attach to it yet.
        assert not b2.connected
        # ECONNREFUSED from the dead peer: a re-targets at once and the frame goes to b2.
        assert a.send(b"a->b2")
        assert a.connected and a.counters.tx_peer_absent == 0
        assert b2.recv_batch() == [b"a->b2"]
        assert b2.send(b"b2->a")  # ENOTCONN: re-connects (a now points at it) and sends
        assert b2.connected and b2.counters.tx_peer_absent == 0
        assert a.recv_batch() == [b"b2->a"]
    finally:
        b2.close()


def test_unix_far_end_down_then_back(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """While the far end is down, frames are dropped (taken, counted); once it is back, they flow."""
    a, b = pair
    b_path, a_path = b.local_path, a.local_path
    b.close()  # down, and its socket file gone
    assert a.send(b"into the void")  # ECONNREFUSED; the re-connect finds nothing (ENOENT)
    assert a.send(b"again")  # ENOTCONN
    assert (a.counters.tx_peer_absent, a.counters.tx_frames, a.counters.tx_would_block) == (2, 0, 0)
    assert not a.connected
    b2 = UnixDatagramTransport(b_path, a_path)  # a has let go of the dead b: b2 attaches at once
    try:
        assert b2.connected
        a.maintain(T0 + 5)  # a's upkeep (or a later send) attaches a as well
        assert a.connected
        assert a.send(b"a->b2")
        assert b2.recv_batch() == [b"a->b2"]
        assert b2.send(b"b2->a")
        assert a.recv_batch() == [b"b2->a"]
    finally:
        b2.close()


def test_unix_restart_quiet_survivor_reattaches_via_maintain(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    """Only the restarted end sends; the survivor never does. The old design deadlocked here."""
    a, b = pair
    assert b.send(b"before")
    assert a.recv_batch(now=T0) == [b"before"]  # a heard from b at T0
    b_path, a_path = b.local_path, a.local_path
    b.close()
    b2 = UnixDatagramTransport(b_path, a_path)
    try:
        assert not b2.connected  # EPERM: a is connected to the dead b
        for i in range(10):
            assert b2.send(b"hello %d" % i)  # dropped: not attached yet (taken, not would-block)
        assert b2.counters.tx_peer_absent == 10
        assert b2.counters.tx_frames == 0 and b2.counters.tx_would_block == 0
        assert a.recv_batch(now=T0 + 0.5) == []

        # The survivor's upkeep: quiet for REFRESH_IDLE, so it re-connects to
        # the path, which now names b2.
        a.maintain(T0 + 0.5)  # heard from b 0.5 s ago: nothing to do
        assert a.deadline() == T0 + REFRESH_IDLE
        a.maintain(T0 + REFRESH_IDLE)
        assert a.connected and a.deadline() == T0 + 2 * REFRESH_IDLE
        # b2's upkeep: not connected, so it retries (a now accepts it).
        b2.maintain(T0 + REFRESH_IDLE)
        assert b2.connected

        assert b2.send(b"b2->a")
        assert a.recv_batch(now=T0 + 1.1) == [b"b2->a"]
        assert a.send(b"a->b2")
        assert b2.recv_batch(now=T0 + 1.1) == [b"a->b2"]
        assert b2.counters.tx_peer_absent == 10  # nothing lost after re-attaching
    finally:
        b2.close()


def test_unix_idle_healthy_link_wakes_once_per_refresh_and_loses_nothing(
    pair: tuple[UnixDatagramTransport, UnixDatagramTransport],
) -> None:
    a, b = pair
    failures = a.counters.connect_failures  # the fixture's first attempt, before b existed
    a.maintain(T0 + 10)
    assert a.deadline() == T0 + 10 + REFRESH_IDLE
    assert b.send(b"queued across a refresh")
    now = T0 + 10
    for _ in range(5):  # nothing received meanwhile: one refresh per REFRESH_IDLE
        now += REFRESH_IDLE
        assert a.deadline() == now
        a.maintain(now)
        assert a.connected
    # Re-connecting to the same live peer discards nothing queued either way.
    assert a.recv_batch(now=now) == [b"queued across a refresh"]
    assert a.send(b"still connected")
    assert b.recv_batch() == [b"still connected"]
    assert a.counters.connect_failures == failures
    # Busy link: the deadline follows the last reception, not every call.
    a.maintain(now + 0.5)
    assert a.deadline() == now + REFRESH_IDLE


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
        assert a.deadline() is None
        a.maintain(T0)  # no upkeep needed
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


def test_udp_peer_absent_is_a_counted_drop() -> None:
    (pa, pb) = _free_udp_ports(2)
    a = UdpTransport(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}")  # nobody listens on pb
    try:
        # The ICMP port-unreachable comes back asynchronously and is reported
        # on a later send (or recv) on the connected socket; either way the
        # frame counts as taken (True): the cable lost it, it will not block.
        deadline = time.monotonic() + 2.0
        while a.counters.tx_peer_absent == 0 and time.monotonic() < deadline:
            assert a.send(b"x")
            time.sleep(0.01)
        assert a.counters.tx_peer_absent >= 1
        assert a.counters.tx_would_block == 0
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
