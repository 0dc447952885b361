"""The API endpoints on a real asyncio loop with real SEQPACKET sockets, against a fake line (PortOps).

Apps are plain non-blocking sockets here (the client library has its own
tests): each test sees exactly the messages on the wire. `pump` runs the
loop until a condition holds; nothing depends on time.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from firmware_emu.events import LinkDown
from firmware_emu.payload import Proto, X25Flags
from firmware_emu.x25.events import (
    CallCleared,
    CallConnected,
    CircuitWritable,
    IncomingCall,
    InterruptConfirmed,
    InterruptReceived,
    PacketLayerDown,
    ResetIndication,
    RestartIndication,
)
from firmware_emu.x25.facilities import Facilities
from wand.api.endpoint import ApiCommandError, RawEndpoint
from wand.api.wire import MAX_MESSAGE, Control, Data, decode, encode_control, encode_data
from wand.api.x25_endpoint import (
    ACCEPT_TIMEOUT_CAUSE,
    ACCEPT_TIMEOUT_DIAGNOSTIC,
    NO_LISTENER_CAUSE,
    NO_LISTENER_DIAGNOSTIC,
    X25Endpoint,
)


# -- the fake line ---------------------------------------------------------------------------
class FakeOps:
    """Records what the endpoint asks of the line; `full` makes the line refuse data."""

    port_number = 2

    def __init__(self) -> None:
        self.full = False
        self.refuse_submit = False  # can_send says yes, submit says no (a race the endpoint must survive)
        self.submits: list[tuple[int, bytes, Any]] = []
        self.commands: list[Any] = []
        self.services = 0
        self.next_lcn = 1
        self.fail: dict[str, str] = {}  # command name -> error
        self.on_command: Callable[[Any], dict | None] | None = None

    def can_send(self, channel: int) -> bool:
        return not self.full

    def submit(self, channel: int, payload: bytes, proto: object) -> bool:
        if self.full or self.refuse_submit:
            return False
        self.submits.append((channel, payload, proto))
        return True

    def command(self, command: Any) -> dict:
        self.commands.append(command)
        name = type(command).__name__
        if name in self.fail:
            raise ApiCommandError(self.fail[name])
        if self.on_command is not None:
            reply = self.on_command(command)
            if reply is not None:
                return reply
        if name == "PlaceCall":
            lcn, self.next_lcn = self.next_lcn, self.next_lcn + 1
            return {"lcn": lcn}
        return {}

    def service(self) -> None:
        self.services += 1

    def named(self, name: str) -> list[Any]:
        return [c for c in self.commands if type(c).__name__ == name]


# -- harness -----------------------------------------------------------------------------------
@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def sockdir() -> Iterator[str]:
    # AF_UNIX paths are limited to 107 octets: pytest's tmp_path can be longer
    path = tempfile.mkdtemp(prefix="wapi", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ops() -> FakeOps:
    return FakeOps()


def pump(
    loop: asyncio.AbstractEventLoop, until: Callable[[], bool] | None = None, rounds: int = 3000
) -> None:
    """Run the loop's ready callbacks (and fd readiness) until `until()` holds."""
    for _ in range(rounds):
        if until is not None and until():
            return
        loop.run_until_complete(asyncio.sleep(0))
    assert until is None or until(), "the condition never held"


def app(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(path)
    sock.setblocking(False)
    return sock


class Reader:
    """Reads an app socket while pumping the loop; keeps EOF."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop, self.sock, self.eof = loop, sock, False

    def _try(self) -> Data | Control | None:
        try:
            raw = self.sock.recv(MAX_MESSAGE)
        except BlockingIOError:
            return None
        if not raw:
            self.eof = True
            return None
        return decode(raw)

    def next(self) -> Data | Control:
        got: list[Data | Control] = []

        def ready() -> bool:
            message = self._try()
            if message is not None:
                got.append(message)
            return bool(got) or self.eof

        pump(self.loop, ready)
        assert got, "EOF instead of a message"
        return got[0]

    def control(self, op: str | None = None) -> Control:
        message = self.next()
        assert isinstance(message, Control), message
        if op is not None:
            assert message.op == op, message
        return message

    def data(self) -> Data:
        message = self.next()
        assert isinstance(message, Data), message
        return message

    def drain(self) -> list[Data | Control]:
        """Everything until nothing more comes (pumping between reads)."""
        out: list[Data | Control] = []
        idle = 0
        while idle < 50 and not self.eof:
            message = self._try()
            if message is None:
                idle += 1
                self.loop.run_until_complete(asyncio.sleep(0))
            else:
                idle = 0
                out.append(message)
        return out

    def wait_eof(self) -> None:
        leftovers: list[Data | Control] = []

        def done() -> bool:
            message = self._try()
            if message is not None:
                leftovers.append(message)
            return self.eof

        pump(self.loop, done)
        assert not leftovers, leftovers


def fill_from_app(loop: asyncio.AbstractEventLoop, sock: socket.socket, make: Callable[[int], bytes]) -> int:
    """Send until the kernel says EAGAIN (pumping the loop so the endpoint reads what it wants)."""
    sent = 0
    stalls = 0
    while stalls < 20:
        assert sent < 100_000, "the app was never pushed back"
        try:
            sock.send(make(sent))
            sent += 1
            stalls = 0
        except BlockingIOError:
            stalls += 1
            loop.run_until_complete(asyncio.sleep(0))
    return sent


# ==================================================================================
# Raw endpoint
# ==================================================================================
@pytest.fixture
def raw(loop: asyncio.AbstractEventLoop, sockdir: str, ops: FakeOps) -> Iterator[RawEndpoint]:
    ep = RawEndpoint("wanpipe1", "wp1_fr16", 16, os.path.join(sockdir, "api", "wp1_fr16"), loop, ops)
    ep.open()
    yield ep
    ep.close()


def test_raw_socket_file_and_directory(raw: RawEndpoint, sockdir: str) -> None:
    assert stat.S_ISSOCK(os.lstat(raw.path).st_mode)
    assert stat.S_IMODE(os.stat(os.path.join(sockdir, "api")).st_mode) == 0o750
    raw.close()
    assert not os.path.exists(raw.path)


def test_raw_stale_socket_is_replaced_but_a_live_one_is_not(
    loop: asyncio.AbstractEventLoop, sockdir: str, ops: FakeOps
) -> None:
    path = os.path.join(sockdir, "api", "stale")
    os.makedirs(os.path.dirname(path))
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    dead.bind(path)
    dead.close()  # the file stays, nobody listens
    ep = RawEndpoint("wanpipe1", "stale", 16, path, loop, ops)
    ep.open()
    try:
        other = RawEndpoint("wanpipe1", "stale", 16, path, loop, FakeOps())
        with pytest.raises(OSError, match="already served"):
            other.open()
        reader = Reader(loop, app(path))
        assert reader.control("status").fields == {"usable": False}
    finally:
        ep.close()
    with open(path, "w") as f:  # a regular file is never clobbered
        f.write("x")
    with pytest.raises(FileExistsError):
        RawEndpoint("wanpipe1", "stale", 16, path, loop, ops).open()


def test_raw_status_on_connect_and_on_change(raw: RawEndpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader = Reader(loop, app(raw.path))
    assert reader.control("status").fields == {"usable": False}
    raw.set_usable(True)
    raw.set_usable(True)  # no change, no message
    raw.set_usable(False)
    assert reader.control("status").fields == {"usable": True}
    assert reader.control("status").fields == {"usable": False}
    assert reader.drain() == []


def test_raw_second_app_is_told_busy_and_closed(raw: RawEndpoint, loop: asyncio.AbstractEventLoop) -> None:
    first = Reader(loop, app(raw.path))
    first.control("status")
    second = Reader(loop, app(raw.path))
    error = second.control("error")
    assert error.fields["error"].startswith("channel busy: wp1_fr16")
    second.wait_eof()
    assert raw.counters.refused_busy == 1
    # the first app still owns the channel
    raw.deliver(b"frame", None)
    assert first.data().payload == b"frame"


def test_raw_app_to_line_in_order_as_raw_frames(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    raw.set_usable(True)
    sock = app(raw.path)
    for i in range(5):
        sock.send(encode_data(b"frame %d" % i))
    pump(loop, lambda: len(ops.submits) == 5)
    assert ops.submits == [(16, b"frame %d" % i, Proto.RAW) for i in range(5)]
    assert ops.services >= 1
    assert raw.counters.tx_frames == 5
    assert raw.counters.tx_bytes == sum(len(b"frame %d" % i) for i in range(5))


def test_raw_q_or_d_bit_is_refused(raw: RawEndpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps) -> None:
    raw.set_usable(True)
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    reader.sock.send(encode_data(b"x", q=True))
    error = reader.control("error")
    assert "Q/D" in error.fields["error"] and error.fields["request"] == "data"
    assert ops.submits == []


def test_raw_frames_while_not_usable_are_reported(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    reader.sock.send(encode_data(b"a"))
    reader.sock.send(encode_data(b"b"))
    report = reader.control("dropped")
    counted = report.fields["count"]
    for extra in reader.drain():  # drops while the first report sat unread are reported together
        counted += extra.fields["count"]
    assert counted == 2 and report.fields["direction"] == "tx"
    assert ops.submits == []
    assert raw.counters.tx_dropped_unusable == 2


def test_raw_fast_writer_is_pushed_back_and_nothing_is_lost(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    raw.set_usable(True)
    sock = app(raw.path)
    pump(loop, lambda: raw.app is not None and raw.app.reading)
    ops.full = True
    sent = fill_from_app(loop, sock, lambda i: encode_data(i.to_bytes(4, "big") * 64))
    assert sent > 10  # the kernel took some, then EAGAIN: the app was pushed back
    assert ops.submits == [] and raw.counters.tx_flow_paused >= 1
    ops.full = False
    raw.on_writable()
    pump(loop, lambda: len(ops.submits) == sent)
    assert [p for _, p, _ in ops.submits] == [i.to_bytes(4, "big") * 64 for i in range(sent)]


def test_raw_port_refusing_a_frame_keeps_it_and_sends_it_first(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    raw.set_usable(True)
    sock = app(raw.path)
    ops.refuse_submit = True
    for i in range(3):
        sock.send(encode_data(bytes([i])))
    pump(loop)  # the endpoint reads frame 0, the port refuses it: it stops reading
    assert ops.submits == [] and raw.status()["tx_pending"]
    ops.refuse_submit = False
    before = ops.services
    raw.on_writable()
    assert len(ops.submits) == 1  # the kept frame went first...
    assert ops.services == before  # ...and service() was not called back into the driver's own pass
    pump(loop, lambda: len(ops.submits) == 3)
    assert ops.services > before
    assert [p for _, p, _ in ops.submits] == [b"\x00", b"\x01", b"\x02"]


def test_raw_slow_reader_gets_every_frame_below_the_bound(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop
) -> None:
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    assert raw.app is not None
    frames: list[bytes] = []
    while raw.app.backlog_data < 200:  # nobody reads meanwhile: the kernel buffer fills, then the backlog
        frames.append(len(frames).to_bytes(2, "big") * 300)
        raw.deliver(frames[-1], None)
    assert raw.counters.rx_dropped_app_slow == 0
    got = reader.drain()
    assert [m.payload for m in got] == frames


def test_raw_beyond_the_bound_drops_are_counted_and_reported_in_place(
    loop: asyncio.AbstractEventLoop, sockdir: str, ops: FakeOps
) -> None:
    ep = RawEndpoint("wanpipe1", "wp1", 16, os.path.join(sockdir, "api", "wp1"), loop, ops, backlog_limit=8)
    ep.open()
    try:
        reader = Reader(loop, app(ep.path))
        reader.control("status")
        total = 3000
        for i in range(total):
            ep.deliver(i.to_bytes(4, "big") * 100, None)
        dropped = ep.counters.rx_dropped_app_slow
        assert dropped > 0
        got = reader.drain()
        frames = [m.payload for m in got if isinstance(m, Data)]
        assert len(frames) + dropped == total  # every frame arrived or was reported
        assert frames == [i.to_bytes(4, "big") * 100 for i in range(len(frames))]
        # the report comes where the missing frames would have been: after every kept frame
        assert got[-1] == Control(
            "dropped", {"direction": "rx", "count": dropped, "reason": "application too slow"}
        )
        assert len(got) == len(frames) + 1
        ep.deliver(b"after", None)
        assert reader.data().payload == b"after"
        assert ep.counters.rx_frames == len(frames) + 1
    finally:
        ep.close()


def test_raw_drop_report_goes_before_the_next_kept_frame(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop
) -> None:
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    assert raw.app is not None
    sent = 0
    while raw.counters.rx_dropped_app_slow < 5:
        raw.deliver(b"%06d" % sent * 100, None)
        sent += 1
    kept = sent - 5
    got: list[Data | Control] = []

    def backlog_moved() -> bool:  # the app reads until the kernel takes part (not all) of the backlog
        message = reader._try()
        if message is not None:
            got.append(message)
        return raw.app is not None and raw.app.backlog_data < raw.backlog_limit

    pump(loop, backlog_moved)
    assert raw.app.backlog_data > 0  # the report is still pending: the next frame must bring it first
    raw.deliver(b"after", None)
    got += reader.drain()
    assert [m.payload for m in got[:kept]] == [b"%06d" % i * 100 for i in range(kept)]
    assert got[kept:] == [
        Control("dropped", {"direction": "rx", "count": 5, "reason": "application too slow"}),
        Data(b"after"),
    ]


def test_raw_frames_with_no_app_are_counted(raw: RawEndpoint, loop: asyncio.AbstractEventLoop) -> None:
    raw.deliver(b"x", None)
    assert raw.counters.rx_no_app == 1
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    reader.sock.close()
    pump(loop, lambda: raw.app is None)
    raw.deliver(b"y", None)
    assert raw.counters.rx_no_app == 2
    again = Reader(loop, app(raw.path))  # the channel is free again
    assert again.control("status").op == "status"


def test_raw_malformed_messages_get_errors_and_the_endpoint_carries_on(
    raw: RawEndpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    raw.set_usable(True)
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    bad = [
        b"Cnot json",
        b'C["a list"]',
        b'C{"no":"op"}',
        b'C{"op":"frobnicate"}',
        b"C\xff\xfe",
        b"X123",
        b"D",
        b"D\x80payload",
        b"",
        b"D\x00" + b"x" * MAX_MESSAGE,  # longer than any message
    ]
    for message in bad:
        reader.sock.send(message)
        error = reader.control("error")
        assert error.fields["error"]
    assert raw.stats.malformed + raw.stats.refused_requests == len(bad)
    reader.sock.send(encode_control("status"))
    assert reader.control("status").fields["usable"] is True
    reader.sock.send(encode_data(b"still fine"))
    pump(loop, lambda: len(ops.submits) == 1)
    assert ops.submits[0][1] == b"still fine"


def test_raw_close_gives_the_app_eof(raw: RawEndpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    raw.deliver(b"last", None)
    raw.close()
    assert reader.data().payload == b"last"
    reader.wait_eof()
    assert not os.path.exists(raw.path)


def test_raw_status_reports_counters(raw: RawEndpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader = Reader(loop, app(raw.path))
    reader.control("status")
    raw.deliver(b"abc", None)
    status = raw.status()
    assert status["rx_frames"] == 1 and status["rx_bytes"] == 3
    assert status["app"]["pid"] == os.getpid()
    json.dumps(status)


# ==================================================================================
# X.25 endpoint
# ==================================================================================
@pytest.fixture
def x25(loop: asyncio.AbstractEventLoop, sockdir: str, ops: FakeOps) -> Iterator[X25Endpoint]:
    ep = X25Endpoint("wanpipe2", "wp2_x25", os.path.join(sockdir, "api", "wp2_x25"), loop, ops)
    ep.open()
    yield ep
    ep.close()


def call(ep: X25Endpoint, loop: asyncio.AbstractEventLoop, **fields: Any) -> tuple[Reader, int]:
    """An app places a call and the far end accepts it."""
    reader = Reader(loop, app(ep.path))
    reader.sock.send(encode_control("connect", called="31337", **fields))
    lcn = reader.control("calling").fields["lcn"]
    assert ep.handle_event(CallConnected(lcn, (128, 128), (2, 2)))
    connected = reader.control("connected")
    assert connected.fields == {"lcn": lcn, "packet_size": [128, 128], "window": [2, 2]}
    return reader, lcn


def listen(ep: X25Endpoint, loop: asyncio.AbstractEventLoop, **match: Any) -> Reader:
    reader = Reader(loop, app(ep.path))
    reader.sock.send(encode_control("listen", match=match))
    reader.control("listening")
    return reader


def offer(ep: X25Endpoint, lcn: int, called: str = "1234", user_data: bytes = b"\x01") -> bool:
    return ep.handle_event(IncomingCall(lcn, called, "5678", user_data, Facilities((128, 128), (2, 2))))


def test_x25_outgoing_call_and_data_both_ways(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader, lcn = call(
        x25, loop, calling="1111", user_data="c0ff", facilities={"packet_size": 256, "window": 3}
    )
    place = ops.named("PlaceCall")[0]
    assert (place.port, place.called, place.calling, place.user_data, place.packet_size, place.window) == (
        2,
        "31337",
        "1111",
        b"\xc0\xff",
        256,
        3,
    )
    assert x25.owns(lcn) and not x25.owns(lcn + 1)
    reader.sock.send(encode_data(b"plain"))
    reader.sock.send(encode_data(b"qualified", q=True))
    reader.sock.send(encode_data(b"confirm me", d=True))
    pump(loop, lambda: len(ops.submits) == 3)
    assert ops.submits == [
        (lcn, b"plain", X25Flags(False, False)),
        (lcn, b"qualified", X25Flags(True, False)),
        (lcn, b"confirm me", X25Flags(False, True)),
    ]
    x25.deliver(lcn, b"reply", True, True)
    assert reader.data() == Data(b"reply", True, True)
    assert x25.counters.tx_messages == 3 and x25.counters.rx_messages == 1


def test_x25_call_refused_by_the_far_end(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader = Reader(loop, app(x25.path))
    reader.sock.send(encode_control("connect", called="42"))
    lcn = reader.control("calling").fields["lcn"]
    assert x25.handle_event(CallCleared(lcn, 0x01, 0x43, True))
    cleared = reader.control("cleared")
    assert cleared.fields == {"lcn": lcn, "cause": 1, "diagnostic": 0x43, "by_peer": True}
    reader.wait_eof()
    assert not x25.owns(lcn)


def test_x25_place_call_failure_is_an_error_and_the_connection_may_retry(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    ops.fail["PlaceCall"] = "no logical channel available"
    reader = Reader(loop, app(x25.path))
    reader.sock.send(encode_control("connect", called="42"))
    error = reader.control("error")
    assert error.fields == {"error": "no logical channel available", "request": "connect"}
    del ops.fail["PlaceCall"]
    reader.sock.send(encode_control("connect", called="42"))
    assert reader.control("calling").fields["lcn"] == 1


def test_x25_listen_accept(x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps) -> None:
    listener = listen(x25, loop, called="12")
    assert offer(x25, 7)
    incoming = listener.control("incoming")
    assert incoming.fields == {
        "lcn": 7,
        "called": "1234",
        "calling": "5678",
        "user_data": "01",
        "facilities": {"packet_size": [128, 128], "window": [2, 2]},
    }
    assert x25.owns(7)
    circuit = Reader(loop, app(x25.path))
    circuit.sock.send(encode_control("accept", lcn=7, window=4))
    pump(loop, lambda: bool(ops.named("AcceptCall")))
    accept = ops.named("AcceptCall")[0]
    assert (accept.port, accept.lcn, accept.packet_size, accept.window) == (2, 7, None, 4)
    circuit.sock.send(encode_data(b"early"))  # before the firmware says the call is connected
    assert "no call is connected" in circuit.control("error").fields["error"]
    assert x25.handle_event(CallConnected(7, 128, 4))  # the sizes the firmware answered
    assert circuit.control("connected").fields == {"lcn": 7, "packet_size": 128, "window": 4}
    x25.deliver(7, b"hi", False, False)
    assert circuit.data().payload == b"hi"
    circuit.sock.send(encode_control("accept", lcn=7))  # already connected
    assert "not allowed" in circuit.control("error").fields["error"]
    assert listener.drain() == []


def test_x25_accept_of_an_unknown_call_is_an_error(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader = Reader(loop, app(x25.path))
    reader.sock.send(encode_control("accept", lcn=99))
    assert reader.control("error").fields["error"].startswith("no incoming call waits on LCN 99")


def test_x25_refuse(x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps) -> None:
    listener = listen(x25, loop)
    offer(x25, 9)
    listener.control("incoming")
    listener.sock.send(encode_control("clear", lcn=9, cause=0x81, diagnostic=0xF1))
    assert listener.control("cleared").fields == {
        "lcn": 9,
        "cause": 0x81,
        "diagnostic": 0xF1,
        "by_peer": False,
    }
    clear = ops.named("ClearCall")[0]
    assert (clear.lcn, clear.cause, clear.diagnostic) == (9, 0x81, 0xF1)
    assert x25.counters.calls_refused == 1
    assert x25.handle_event(CallCleared(9, 0, 0, False))  # the confirmation is ours, and silent
    assert listener.drain() == []
    listener.sock.send(encode_control("clear", lcn=9))  # no longer offered
    assert "no incoming call offered" in listener.control("error").fields["error"]


def test_x25_unmatched_call_is_cleared_and_counted(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    listener = listen(x25, loop, called="99")
    assert offer(x25, 5, called="1234")
    clear = ops.named("ClearCall")[0]
    assert (clear.lcn, clear.cause, clear.diagnostic) == (5, NO_LISTENER_CAUSE, NO_LISTENER_DIAGNOSTIC)
    assert x25.counters.calls_unmatched == 1
    assert listener.drain() == []


def test_x25_unmatched_clear_falls_back_to_cause_zero(
    x25: X25Endpoint, ops: FakeOps, loop: asyncio.AbstractEventLoop
) -> None:
    def strict(command: Any) -> dict | None:  # a firmware that holds a DTE to cause 0
        if type(command).__name__ == "ClearCall" and command.cause != 0:
            raise ApiCommandError("a DTE may only clear with cause 0 or >= 0x80")
        return None

    ops.on_command = strict
    offer(x25, 5)
    assert [(c.cause, c.diagnostic) for c in ops.named("ClearCall")] == [(NO_LISTENER_CAUSE, 0), (0, 0)]
    assert x25.counters.command_errors == 0


def test_x25_most_specific_listener_wins(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    anyone = listen(x25, loop)
    by_address = listen(x25, loop, called="12")
    by_both = listen(x25, loop, called="12", user_data="cc")
    offer(x25, 1, called="1234", user_data=b"\xcc\x00")
    offer(x25, 2, called="1234", user_data=b"\x01")
    offer(x25, 3, called="5555", user_data=b"\xcc")
    assert by_both.control("incoming").fields["lcn"] == 1
    assert by_address.control("incoming").fields["lcn"] == 2
    assert anyone.control("incoming").fields["lcn"] == 3


def test_x25_accept_timeout(x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps) -> None:
    listener = listen(x25, loop)
    assert x25.deadline() is None
    offer(x25, 4)
    listener.control("incoming")
    deadline = x25.deadline()
    assert deadline is not None
    x25.on_timer(deadline - 1.0)  # not yet
    assert ops.named("ClearCall") == [] and x25.owns(4)
    x25.on_timer(deadline)
    clear = ops.named("ClearCall")[0]
    assert (clear.lcn, clear.cause, clear.diagnostic) == (4, ACCEPT_TIMEOUT_CAUSE, ACCEPT_TIMEOUT_DIAGNOSTIC)
    cleared = listener.control("cleared")
    assert cleared.fields["lcn"] == 4 and cleared.fields["reason"] == "not accepted in time"
    assert x25.counters.accept_timeouts == 1 and x25.deadline() is None
    late = Reader(loop, app(x25.path))
    late.sock.send(encode_control("accept", lcn=4))
    assert late.control("error").op == "error"


def test_x25_caller_giving_up_before_accept_tells_the_listener(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop
) -> None:
    listener = listen(x25, loop)
    offer(x25, 6)
    listener.control("incoming")
    assert x25.handle_event(CallCleared(6, 0, 0, True))
    assert listener.control("cleared").fields == {"lcn": 6, "cause": 0, "diagnostic": 0, "by_peer": True}
    assert not x25.owns(6)


def test_x25_closing_a_listener_clears_what_it_was_offered(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    listener = listen(x25, loop)
    offer(x25, 6)
    listener.control("incoming")
    listener.sock.close()
    pump(loop, lambda: bool(ops.named("ClearCall")))
    assert ops.named("ClearCall")[0].lcn == 6 and x25.counters.calls_unmatched == 1


def test_x25_closing_a_circuit_clears_the_call(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader, lcn = call(x25, loop)
    reader.sock.close()
    pump(loop, lambda: bool(ops.named("ClearCall")))
    clear = ops.named("ClearCall")[0]
    assert (clear.lcn, clear.cause, clear.diagnostic) == (lcn, 0, 0)
    assert x25.counters.cleared_by_app_close == 1
    assert x25.handle_event(CallCleared(lcn, 0, 0, False))  # the confirmation: ours, silent
    assert not x25.owns(lcn)


def test_x25_clear_by_the_app(x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps) -> None:
    reader, lcn = call(x25, loop)
    reader.sock.send(encode_control("clear", cause=0x80, diagnostic=7))
    cleared = reader.control("cleared")
    assert cleared.fields == {"lcn": lcn, "cause": 0x80, "diagnostic": 7, "by_peer": False}
    reader.wait_eof()
    clear = ops.named("ClearCall")[0]
    assert (clear.lcn, clear.cause, clear.diagnostic) == (lcn, 0x80, 7)
    assert x25.handle_event(CallCleared(lcn, 0x80, 7, False))


def test_x25_cleared_by_peer_flushes_data_first(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader, lcn = call(x25, loop)
    for i in range(400):  # more than the socket holds
        x25.deliver(lcn, b"%d" % i * 200, False, False)
    x25.handle_event(CallCleared(lcn, 0x09, 0, True))
    got = reader.drain()
    assert [m.payload for m in got[:-1]] == [b"%d" % i * 200 for i in range(400)]
    assert got[-1] == Control("cleared", {"lcn": lcn, "cause": 9, "diagnostic": 0, "by_peer": True})
    assert reader.eof


def test_x25_slow_reader_never_loses_a_message_and_rnr_follows_the_backlog(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader, lcn = call(x25, loop)
    messages = [i.to_bytes(4, "big") * 256 for i in range(2000)]
    for message in messages:
        x25.deliver(lcn, message, False, False)
    busy = ops.named("SetChannelBusy")
    assert [(b.channel, b.busy) for b in busy] == [(lcn, True)]
    x25.handle_event(ResetIndication(lcn, 0x07, 0))  # mid-backlog: in order, and RNR is re-asserted
    got = reader.drain()
    assert [m.payload for m in got[:-1]] == messages
    assert got[-1] == Control("reset", {"cause": 7, "diagnostic": 0})
    busy = ops.named("SetChannelBusy")
    assert [(b.channel, b.busy) for b in busy] == [(lcn, True), (lcn, True), (lcn, False)]
    assert x25.counters.rx_busy == 1 and x25.counters.rx_lost_app_closed == 0


def test_x25_fast_writer_is_pushed_back_and_resumes_on_circuit_writable(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader, lcn = call(x25, loop)
    ops.full = True
    sent = fill_from_app(loop, reader.sock, lambda i: encode_data(i.to_bytes(4, "big") * 64, q=bool(i & 1)))
    assert sent > 10 and ops.submits == []
    ops.full = False
    assert x25.handle_event(CircuitWritable(lcn))
    pump(loop, lambda: len(ops.submits) == sent)
    assert ops.submits == [
        (lcn, i.to_bytes(4, "big") * 64, X25Flags(bool(i & 1), False)) for i in range(sent)
    ]


def test_x25_line_wide_backpressure_resumes_on_on_writable(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    first, lcn1 = call(x25, loop)
    second, lcn2 = call(x25, loop)
    ops.full = True  # the cable, not a circuit's window: no CircuitWritable will come
    sent1 = fill_from_app(loop, first.sock, lambda i: encode_data(b"1" * 500))
    sent2 = fill_from_app(loop, second.sock, lambda i: encode_data(b"2" * 500))
    ops.full = False
    x25.on_writable()
    pump(loop, lambda: len(ops.submits) == sent1 + sent2)
    assert sum(1 for lcn, _, _ in ops.submits if lcn == lcn1) == sent1


def test_x25_refused_submit_is_kept_and_goes_first(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader, lcn = call(x25, loop)
    ops.refuse_submit = True
    for i in range(3):
        reader.sock.send(encode_data(bytes([i])))
    pump(loop)
    assert ops.submits == []
    ops.refuse_submit = False
    x25.handle_event(CircuitWritable(lcn))
    pump(loop, lambda: len(ops.submits) == 3)
    assert [p for _, p, _ in ops.submits] == [b"\x00", b"\x01", b"\x02"]


def test_x25_events_reach_the_app_in_order(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader, lcn = call(x25, loop)
    x25.deliver(lcn, b"one", False, False)
    assert x25.handle_event(InterruptReceived(lcn, b"\x07"))
    x25.deliver(lcn, b"two", False, False)
    assert x25.handle_event(InterruptConfirmed(lcn))
    assert x25.handle_event(ResetIndication(lcn, 0x05, 0x21))
    assert not x25.handle_event(InterruptReceived(lcn + 50, b"\x01"))  # not ours
    assert [reader.next() for _ in range(5)] == [
        Data(b"one"),
        Control("interrupt", {"data": "07"}),
        Data(b"two"),
        Control("interrupt_confirmed", {}),
        Control("reset", {"cause": 5, "diagnostic": 0x21}),
    ]


def test_x25_app_reset_and_interrupt_become_commands(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader, lcn = call(x25, loop)
    reader.sock.send(encode_control("reset", cause=0, diagnostic=250))
    reader.sock.send(encode_control("interrupt", data="a5"))
    pump(loop, lambda: bool(ops.named("SendInterrupt")))
    reset, interrupt = ops.named("ResetCircuit")[0], ops.named("SendInterrupt")[0]
    assert (reset.lcn, reset.cause, reset.diagnostic) == (lcn, 0, 250)
    assert (interrupt.lcn, interrupt.data) == (lcn, b"\xa5")
    ops.fail["SendInterrupt"] = "interrupt already outstanding"
    reader.sock.send(encode_control("interrupt", data="01"))
    assert reader.control("error").fields == {
        "error": "interrupt already outstanding",
        "request": "interrupt",
    }


def test_x25_restart_ends_every_call_and_tells_everyone(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop
) -> None:
    circuit, lcn = call(x25, loop)
    listener = listen(x25, loop)
    offer(x25, 30)
    listener.control("incoming")
    assert not x25.handle_event(RestartIndication(0x07, 0))  # link-wide: the driver sees it too
    assert circuit.control("restart").fields == {"cause": 7, "diagnostic": 0}
    cleared = circuit.control("cleared")
    assert cleared.fields["by_peer"] is True and cleared.fields["reason"] == "restart"
    circuit.wait_eof()
    assert listener.control("cleared").fields["lcn"] == 30
    assert listener.control("restart").op == "restart"
    assert x25.handle_event(CallCleared(lcn, 7, 0, True))  # a late per-call report is still ours
    assert x25.deadline() is None


def test_x25_link_down_is_told_once(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    circuit, lcn = call(x25, loop)
    listener = listen(x25, loop)
    assert not x25.handle_event(LinkDown("LAPB: N2 exceeded"))
    assert not x25.handle_event(PacketLayerDown("link down"))
    assert circuit.control("link_down").fields == {"reason": "LAPB: N2 exceeded"}
    assert circuit.control("cleared").fields["reason"] == "link down: LAPB: N2 exceeded"
    circuit.wait_eof()
    assert [m.op for m in listener.drain()] == ["link_down"]


def test_x25_malformed_requests_get_errors_and_never_crash(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    reader = Reader(loop, app(x25.path))
    requests = [
        (b"C{bad json", None),
        (b'C{"op":"fly"}', "fly"),
        (encode_control("connect"), "connect"),  # no called address
        (encode_control("connect", called="12ab"), "connect"),
        (encode_control("connect", called="1", user_data="zz"), "connect"),
        (encode_control("connect", called="1", facilities={"window": 0}), "connect"),
        (encode_control("connect", called="1", facilities=[1]), "connect"),
        (encode_control("accept"), "accept"),
        (encode_control("accept", lcn="7"), "accept"),
        (encode_control("accept", lcn=True), "accept"),
        (encode_control("clear"), "clear"),  # nothing to clear on a new connection
        (encode_control("reset"), "reset"),
        (encode_control("interrupt", data=""), "interrupt"),
        (encode_data(b"too early"), "data"),
        (encode_control("listen", match={"called": 12}), "listen"),
    ]
    for message, request in requests:
        reader.sock.send(message)
        error = reader.control("error")
        assert error.fields["request"] == request, (message, error)
    assert ops.commands == [] and ops.submits == []
    assert x25.stats.internal_errors == 0
    reader.sock.send(encode_control("status"))
    assert reader.control("status").fields == {"role": "new", "lcn": None}
    reader.sock.send(encode_control("connect", called="1"))  # still usable
    assert reader.control("calling").op == "calling"


def test_x25_data_while_calling_is_an_error(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    reader = Reader(loop, app(x25.path))
    reader.sock.send(encode_control("connect", called="1"))
    reader.control("calling")
    reader.sock.send(encode_data(b"early"))
    assert "no call is connected" in reader.control("error").fields["error"]


def test_x25_close_clears_calls_and_disconnects_apps(
    x25: X25Endpoint, loop: asyncio.AbstractEventLoop, ops: FakeOps
) -> None:
    circuit, lcn = call(x25, loop)
    listener = listen(x25, loop)
    offer(x25, 40)
    listener.control("incoming")
    x25.close()
    assert sorted(c.lcn for c in ops.named("ClearCall")) == [lcn, 40]
    circuit.wait_eof()
    listener.wait_eof()
    assert not os.path.exists(x25.path)


def test_x25_status(x25: X25Endpoint, loop: asyncio.AbstractEventLoop) -> None:
    circuit, lcn = call(x25, loop)
    listen(x25, loop)
    status = x25.status()
    assert status["connections"] == 2 and status["listeners"] == 1
    assert status["circuits"][str(lcn)]["state"] == "connected"
    json.dumps(status)
