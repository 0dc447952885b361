"""The client library (and the examples) against real endpoints running on a loop in another thread.

The line behind the X.25 endpoint is `LoopbackOps`: a one-node network where a
call placed on the port comes back as an incoming call on it, so a caller and
a listener of the same endpoint talk to each other through the fake firmware.
Waiting is on conditions (with a generous safety timeout), never on time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from examples import raw_echo, x25_call, x25_echo_server
from firmware_emu.payload import Proto, X25Flags
from tests.unit.test_api_endpoint import (
    CallCleared,
    CallConnected,
    CircuitWritable,
    Facilities,
    FakeOps,
    IncomingCall,
    InterruptConfirmed,
    InterruptReceived,
    ResetIndication,
    RestartIndication,
)
from wand.api.client import (
    ApiRequestError,
    ChannelBusy,
    ConnectionClosed,
    FramesDropped,
    RawChannel,
    RawStatus,
    X25Cleared,
    X25Interrupt,
    X25InterruptConfirmed,
    X25Listener,
    X25Message,
    X25Reset,
    X25Restart,
    X25Socket,
)
from wand.api.endpoint import RawEndpoint
from wand.api.x25_endpoint import X25Endpoint

SAFETY = 20.0  # s: only ever reached when something is broken


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn on the loop's thread and return its result."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(SAFETY)

    def wait(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + SAFETY
        while not self.call(condition):
            assert time.monotonic() < deadline, "the condition never held"
            time.sleep(0.001)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(SAFETY)
        self.loop.close()


class LoopbackOps(FakeOps):
    """One-node X.25 network. `mode` says what a placed call does: loopback, answer, refuse or silent."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.ep: X25Endpoint | None = None
        self.mode = "loopback"
        self.peer: dict[int, int] = {}
        self.next_incoming = 1024

    def _event(self, event: Any) -> None:
        self.loop.call_soon(self.ep.handle_event, event)  # type: ignore[union-attr]

    def command(self, command: Any) -> dict:
        reply = super().command(command)
        name = type(command).__name__
        if name == "PlaceCall":
            lcn = reply["lcn"]
            if self.mode == "loopback":
                other, self.next_incoming = self.next_incoming, self.next_incoming + 1
                self.peer[lcn], self.peer[other] = other, lcn
                self._event(
                    IncomingCall(
                        other,
                        command.called,
                        command.calling or "9999",
                        command.user_data,
                        Facilities((128, 128), (2, 2)),
                    )
                )
            elif self.mode == "answer":
                self._event(CallConnected(lcn, 128, 2))
            elif self.mode == "refuse":
                self._event(CallCleared(lcn, 0x01, 0x00, True))
        elif name == "AcceptCall":  # as the firmware: both ends are told
            self._event(CallConnected(command.lcn, 128, 2))
            self._event(CallConnected(self.peer[command.lcn], 128, 2))
        elif name == "ClearCall":
            other = self.peer.pop(command.lcn, None)
            if other is not None:
                self.peer.pop(other, None)
                self._event(CallCleared(other, command.cause, command.diagnostic, True))
        elif name == "ResetCircuit" and command.lcn in self.peer:
            self._event(ResetIndication(self.peer[command.lcn], command.cause, command.diagnostic))
        elif name == "SendInterrupt" and command.lcn in self.peer:
            self._event(InterruptReceived(self.peer[command.lcn], command.data))
            self._event(InterruptConfirmed(command.lcn))
        return reply

    def submit(self, channel: int, payload: bytes, proto: object) -> bool:
        if not super().submit(channel, payload, proto):
            return False
        other = self.peer.get(channel)
        if other is not None:
            assert isinstance(proto, X25Flags)
            self.loop.call_soon(self.ep.deliver, other, payload, proto.q, proto.d)  # type: ignore[union-attr]
        return True


@pytest.fixture
def lt() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture
def sockdir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="wapic", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def raw_ep(lt: LoopThread, sockdir: str) -> Iterator[tuple[RawEndpoint, FakeOps]]:
    ops = FakeOps()
    ep = RawEndpoint("wanpipe1", "wp1_fr16", 16, os.path.join(sockdir, "api", "wp1_fr16"), lt.loop, ops)
    lt.call(ep.open)
    lt.call(ep.set_usable, True)
    yield ep, ops
    lt.call(ep.close)


@pytest.fixture
def x25_ep(lt: LoopThread, sockdir: str) -> Iterator[tuple[X25Endpoint, LoopbackOps]]:
    ops = LoopbackOps(lt.loop)
    ep = X25Endpoint("wanpipe2", "wp2_x25", os.path.join(sockdir, "api", "wp2_x25"), lt.loop, ops)
    ops.ep = ep
    lt.call(ep.open)
    yield ep, ops
    lt.call(ep.close)


def in_thread(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


# ==================================================================================
# Raw channels
# ==================================================================================
def test_raw_send_recv_and_status(lt: LoopThread, raw_ep: tuple[RawEndpoint, FakeOps]) -> None:
    ep, ops = raw_ep
    with RawChannel.open(ep.path, timeout=SAFETY) as channel:
        assert channel.usable and channel.status == RawStatus(True)
        channel.send(b"\x03\xcc hello")
        lt.wait(lambda: len(ops.submits) == 1)
        assert ops.submits == [(16, b"\x03\xcc hello", Proto.RAW)]
        lt.call(ep.deliver, b"one", None)
        lt.call(ep.set_usable, False)
        lt.call(ep.deliver, b"two", None)
        assert channel.recv() == b"one"
        assert channel.recv() == b"two"  # the status in between was applied on the way
        assert not channel.usable
        lt.call(ep.set_usable, True)
        assert channel.recv_any() == RawStatus(True)


def test_raw_second_application_is_busy(raw_ep: tuple[RawEndpoint, FakeOps]) -> None:
    ep, _ = raw_ep
    with RawChannel.open(ep.path, timeout=SAFETY), pytest.raises(ChannelBusy, match="channel busy"):
        RawChannel.open(ep.path, timeout=SAFETY)


def test_raw_drops_are_raised_in_the_stream(lt: LoopThread, sockdir: str) -> None:
    ops = FakeOps()
    ep = RawEndpoint(
        "wanpipe1", "wp1", 16, os.path.join(sockdir, "api", "wp1"), lt.loop, ops, backlog_limit=4
    )
    lt.call(ep.open)
    try:
        with RawChannel.open(ep.path, timeout=SAFETY) as channel:
            lt.wait(lambda: ep.app is not None)

            def flood() -> int:
                n = 0
                while ep.counters.rx_dropped_app_slow < 3:
                    ep.deliver(b"%06d" % n * 64, None)
                    n += 1
                return n

            sent = lt.call(flood)
            frames = []
            while True:
                try:
                    frames.append(channel.recv())
                except FramesDropped as exc:
                    assert (exc.direction, exc.count) == ("rx", 3)
                    break
            assert frames == [b"%06d" % i * 64 for i in range(sent - 3)]
            lt.call(ep.deliver, b"later", None)
            assert channel.recv() == b"later"  # the channel carries on
    finally:
        lt.call(ep.close)


def test_raw_non_blocking(lt: LoopThread, raw_ep: tuple[RawEndpoint, FakeOps]) -> None:
    ep, ops = raw_ep
    with RawChannel.open(ep.path) as channel:
        channel.setblocking(False)
        with pytest.raises(BlockingIOError):
            channel.recv()
        lt.wait(lambda: ep.app is not None and ep.app.reading)
        ops.full = True
        sent = 0
        with pytest.raises(BlockingIOError):  # noqa: PT012 - sending until the kernel pushes back
            for sent in range(100000):  # noqa: B007
                channel.send(b"%08d" % sent * 32)
        assert sent > 0
        ops.full = False
        lt.call(ep.on_writable)
        lt.wait(lambda: len(ops.submits) == sent)
        assert [p for _, p, _ in ops.submits] == [b"%08d" % i * 32 for i in range(sent)]


def test_raw_channel_closed_by_the_daemon(lt: LoopThread, raw_ep: tuple[RawEndpoint, FakeOps]) -> None:
    ep, _ = raw_ep
    with RawChannel.open(ep.path, timeout=SAFETY) as channel:
        lt.wait(lambda: ep.app is not None)
        lt.call(ep.close)
        with pytest.raises(ConnectionClosed):
            channel.recv()


def test_raw_echo_example(lt: LoopThread, raw_ep: tuple[RawEndpoint, FakeOps]) -> None:
    ep, ops = raw_ep
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        done = in_thread(lambda: raw_echo.main(["--socket", ep.path, "--count", "3"]))
        lt.wait(lambda: ep.app is not None)
        for frame in (b"a", b"bb", b"ccc"):
            lt.call(ep.deliver, frame, None)
        assert done.result(SAFETY) == 0
    lt.wait(lambda: len(ops.submits) == 3)  # what it sent before closing is still read, in order
    assert [p for _, p, _ in ops.submits] == [b"a", b"bb", b"ccc"]
    assert "echoed 3 frame(s)" in out.getvalue()


# ==================================================================================
# X.25
# ==================================================================================
def echo_once(listener: X25Listener) -> concurrent.futures.Future[Any]:
    """Accept one call and echo until it is cleared; returns what was echoed and how it ended."""

    def run() -> tuple[list[X25Message], list[Exception]]:
        circuit, _ = listener.accept()
        circuit.settimeout(SAFETY)
        echoed: list[X25Message] = []
        events: list[Exception] = []
        with circuit:
            while True:
                item = circuit.recv_any()
                if isinstance(item, X25Message):
                    circuit.send(item.data, q=item.q, d=item.d)
                    echoed.append(item)
                    continue
                events.append(item)
                if isinstance(item, X25Cleared):
                    return echoed, events

    return in_thread(run)


def test_x25_call_through_a_listener(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    with X25Listener(ep.path, "31", timeout=SAFETY) as listener:
        server = echo_once(listener)
        call = X25Socket.connect(
            ep.path, "31337", user_data=b"\x01", packet_size=128, window=2, timeout=SAFETY
        )
        with call:
            assert call.lcn == 1 and call.packet_size == 128 and call.window == 2
            call.settimeout(SAFETY)
            call.send(b"plain")
            call.send(b"control", q=True)
            call.send(b"x" * 5000, d=True)  # one message, however many packets the firmware makes of it
            assert call.recv() == X25Message(b"plain")
            assert call.recv() == X25Message(b"control", q=True)
            assert call.recv() == X25Message(b"x" * 5000, d=True)
            call.clear(0x80, 3)
        echoed, events = server.result(SAFETY)
        assert len(echoed) == 3
        assert isinstance(events[-1], X25Cleared)
        assert (events[-1].cause, events[-1].diagnostic, events[-1].by_peer) == (0x80, 3, True)
    place = ops.named("PlaceCall")[0]
    assert (place.called, place.user_data, place.packet_size, place.window) == ("31337", b"\x01", 128, 2)


def test_x25_connect_refused_and_failed(x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    ops.mode = "refuse"
    with pytest.raises(X25Cleared) as refused:
        X25Socket.connect(ep.path, "42", timeout=SAFETY)
    assert (refused.value.cause, refused.value.by_peer) == (0x01, True)
    ops.fail["PlaceCall"] = "no logical channel available"
    with pytest.raises(ApiRequestError, match="no logical channel available") as failed:
        X25Socket.connect(ep.path, "42", timeout=SAFETY)
    assert failed.value.request == "connect"


def test_x25_nobody_listening(x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, _ = x25_ep
    with pytest.raises(X25Cleared) as cleared:  # the endpoint clears the loopback's incoming half
        X25Socket.connect(ep.path, "42", timeout=SAFETY)
    assert cleared.value.cause == 0x0D
    assert ep.counters.calls_unmatched == 1


def test_x25_connect_timeout_clears_the_call(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    ops.mode = "silent"
    with pytest.raises(TimeoutError):
        X25Socket.connect(ep.path, "42", timeout=0.05)
    lt.wait(lambda: bool(ops.named("ClearCall")))
    assert ops.named("ClearCall")[0].lcn == 1


def test_x25_events_are_raised_in_order_and_cleared_sticks(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, ops = x25_ep
    ops.mode = "answer"
    with X25Socket.connect(ep.path, "42", timeout=SAFETY) as call:
        call.settimeout(SAFETY)
        lcn = call.lcn

        def events() -> None:
            ep.deliver(lcn, b"one", False, False)
            ep.handle_event(ResetIndication(lcn, 0x07, 0))
            ep.handle_event(InterruptReceived(lcn, b"\x09"))
            ep.deliver(lcn, b"two", False, True)
            ep.handle_event(InterruptConfirmed(lcn))
            ep.handle_event(CallCleared(lcn, 0x09, 0x01, True))

        lt.call(events)
        assert call.recv() == X25Message(b"one")
        with pytest.raises(X25Reset) as reset:
            call.recv()
        assert reset.value.cause == 7
        with pytest.raises(X25Interrupt) as interrupt:
            call.recv()
        assert interrupt.value.data == b"\x09"
        assert call.recv() == X25Message(b"two", d=True)
        assert isinstance(call.recv_any(), X25InterruptConfirmed)
        for _ in range(2):  # terminal: raised again and again
            with pytest.raises(X25Cleared) as cleared:
                call.recv()
            assert (cleared.value.cause, cleared.value.diagnostic) == (9, 1)
        with pytest.raises(X25Cleared):
            call.send(b"too late")


def test_x25_reset_and_interrupt_requests(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    with X25Listener(ep.path, timeout=SAFETY) as listener:
        server = echo_once(listener)
        with X25Socket.connect(ep.path, "1", timeout=SAFETY) as call:
            call.settimeout(SAFETY)
            call.interrupt(b"\x42")
            with pytest.raises(X25InterruptConfirmed):
                call.recv()
            call.reset(0, 250)
            call.send(b"after reset")
            assert call.recv().data == b"after reset"
        _, events = server.result(SAFETY)
    assert [type(e) for e in events] == [X25Interrupt, X25Reset, X25Cleared]
    assert events[0].data == b"\x42"  # type: ignore[attr-defined]
    assert events[1].diagnostic == 250  # type: ignore[attr-defined]


def test_x25_listener_refuse_and_explicit_accept(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, ops = x25_ep
    with X25Listener(ep.path, user_data_prefix=b"\xcc", timeout=SAFETY) as listener:
        refused = in_thread(lambda: X25Socket.connect(ep.path, "7", user_data=b"\xcc\x01", timeout=SAFETY))
        call = listener.incoming()
        assert (call.called, call.user_data, call.facilities) == (
            "7",
            b"\xcc\x01",
            {"packet_size": [128, 128], "window": [2, 2]},
        )
        listener.refuse(call, 0x81, 0x42)
        with pytest.raises(X25Cleared) as cleared:
            refused.result(SAFETY)
        assert (cleared.value.cause, cleared.value.diagnostic) == (0x81, 0x42)

        caller = in_thread(lambda: X25Socket.connect(ep.path, "7", user_data=b"\xcc", timeout=SAFETY))
        call = listener.incoming()
        circuit, info = listener.accept(call, window=2)
        assert info is call and circuit.lcn == call.lcn
        with caller.result(SAFETY) as outgoing, circuit:
            outgoing.send(b"ping")
            circuit.settimeout(SAFETY)
            assert circuit.recv().data == b"ping"


def test_x25_accept_skips_a_call_that_went_away(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, ops = x25_ep
    with X25Listener(ep.path, timeout=SAFETY) as listener:
        lt.call(ep.handle_event, IncomingCall(500, "1", "2", b"", None))
        lt.call(ep.handle_event, CallCleared(500, 0, 0, True))  # the caller gave up
        lt.call(ep.handle_event, IncomingCall(501, "1", "2", b"", None))
        ops.peer[501] = 1  # so the loopback can confirm the accept
        circuit, info = listener.accept()
        with circuit:
            assert info.lcn == 501 and circuit.lcn == 501
        assert 500 in listener.gone


def test_x25_accepting_a_gone_call_explicitly_raises(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, _ = x25_ep
    with X25Listener(ep.path, timeout=SAFETY) as listener:
        lt.call(ep.handle_event, IncomingCall(600, "1", "2", b"", None))
        call = listener.incoming()
        lt.call(ep.handle_event, CallCleared(600, 0, 0, True))
        with pytest.raises(ApiRequestError, match="no incoming call"):
            listener.accept(call)


def test_x25_listener_sees_restart_and_carries_on(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, _ = x25_ep
    with X25Listener(ep.path, timeout=SAFETY) as listener:
        lt.call(ep.handle_event, RestartIndication(0x07, 0))
        with pytest.raises(X25Restart):
            listener.incoming()
        lt.call(ep.handle_event, IncomingCall(700, "1", "2", b"", None))
        assert listener.incoming().lcn == 700


def test_x25_slow_reader_loses_nothing(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    ops.mode = "answer"
    with X25Socket.connect(ep.path, "42", timeout=SAFETY) as call:
        call.settimeout(SAFETY)
        lcn = call.lcn
        messages = [b"%05d" % i * 100 for i in range(1500)]

        def flood() -> None:
            for i, message in enumerate(messages):
                ep.deliver(lcn, message, bool(i % 3 == 0), False)

        lt.call(flood)
        got = [call.recv() for _ in messages]
        assert got == [X25Message(m, q=i % 3 == 0) for i, m in enumerate(messages)]
        lt.wait(lambda: len(ops.named("SetChannelBusy")) == 2)
        assert [b.busy for b in ops.named("SetChannelBusy")] == [True, False]


def test_x25_blocking_writer_against_a_full_line(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, ops = x25_ep
    ops.mode = "answer"
    with X25Socket.connect(ep.path, "42", timeout=SAFETY) as call:
        lcn = call.lcn
        lt.wait(lambda: bool(ep.circuits[lcn].conn.reading))
        ops.full = True
        messages = [b"%05d" % i * 200 for i in range(2000)]  # far more than the socket buffer holds

        def write() -> None:
            for message in messages:
                call.send(message)  # blocks while the line is full

        writer = in_thread(write)
        lt.wait(lambda: ep.counters.tx_flow_paused >= 1)
        ops.full = False
        lt.call(ep.handle_event, CircuitWritable(lcn))
        writer.result(SAFETY)
        lt.wait(lambda: len(ops.submits) == len(messages))
        assert [p for _, p, _ in ops.submits] == messages


def test_x25_non_blocking_send_and_recv(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    ops.mode = "answer"
    with X25Socket.connect(ep.path, "42", timeout=SAFETY) as call:
        call.setblocking(False)
        with pytest.raises(BlockingIOError):
            call.recv()
        lt.wait(lambda: bool(ep.circuits[call.lcn].conn.reading))
        ops.full = True
        sent = 0
        with pytest.raises(BlockingIOError):  # noqa: PT012
            while True:
                call.send(b"%06d" % sent * 50)
                sent += 1
        ops.full = False
        lt.call(ep.handle_event, CircuitWritable(call.lcn))
        lt.wait(lambda: len(ops.submits) == sent)
        assert [p for _, p, _ in ops.submits] == [b"%06d" % i * 50 for i in range(sent)]


def test_x25_closing_the_socket_clears_the_call(
    lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]
) -> None:
    ep, ops = x25_ep
    ops.mode = "answer"
    call = X25Socket.connect(ep.path, "42", timeout=SAFETY)
    lcn = call.lcn
    call.close()
    lt.wait(lambda: bool(ops.named("ClearCall")))
    assert (ops.named("ClearCall")[0].lcn, ops.named("ClearCall")[0].cause) == (lcn, 0)


def test_x25_daemon_going_away(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, ops = x25_ep
    ops.mode = "answer"
    with X25Socket.connect(ep.path, "42", timeout=SAFETY) as call:
        call.settimeout(SAFETY)
        lt.call(ep.close)
        with pytest.raises(ConnectionClosed):
            call.recv()
    with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
        X25Socket.connect(ep.path, "42", timeout=SAFETY)


def test_x25_examples_end_to_end(lt: LoopThread, x25_ep: tuple[X25Endpoint, LoopbackOps]) -> None:
    ep, _ = x25_ep
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        server = in_thread(
            lambda: x25_echo_server.main(["--socket", ep.path, "--called", "12", "--max-calls", "1"])
        )
        lt.wait(lambda: ep.status()["listeners"] == 1)
        rc = x25_call.main(
            [
                "--socket",
                ep.path,
                "--called",
                "1234",
                "--count",
                "5",
                "--size",
                "300",
                "--check",
                "--timeout",
                "20",
            ]
        )
        assert rc == 0
        assert server.result(SAFETY) == 0
    text = out.getvalue()
    assert "5 message(s) of 300 octets" in text
    assert "echoed 5 message(s)" in text


def test_x25_socket_path_must_exist(sockdir: str) -> None:
    with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
        X25Socket.connect(os.path.join(sockdir, "nothing"), "1", timeout=1)


def test_client_needs_nothing_but_the_stdlib() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"  # whatever site/.pth files load is not ours
        "import wand.api.client\n"
        "ours = {'wand', 'wand.api', 'wand.api.client', 'wand.api.wire'}\n"
        "new = set(sys.modules) - before - ours\n"
        "print(sorted(m for m in new if m.split('.')[0] not in sys.stdlib_module_names))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "[]"
