"""Client library for wand's API sockets (stdlib only): raw-frame channels and X.25 circuits.

    from wand.api.client import RawChannel, X25Socket, X25Listener

    with X25Socket.connect("/run/wand/default/api/wp1_x25", "31337") as call:
        call.send(b"hello")
        print(call.recv().data)

Blocking by default, like sockets. ``setblocking(False)`` (or ``settimeout``)
works as on a socket: a send the server cannot take yet, or a recv with
nothing to read, raises BlockingIOError (or TimeoutError). A ``timeout``
given when opening stays the socket's timeout, as with
socket.create_connection; an accepted circuit gets its listener's.
``fileno()`` is the socket's, for select/poll/selectors.

Events are never lost. ``recv()`` returns data; an event that arrived in the
stream is raised, once, at its place among the data, as an exception (see
X25Event and FramesDropped): the connection carries on, except after
X25Cleared, which every later call raises again. ``recv_any()`` returns events
as objects instead of raising them. docs/api.md describes the wire format.
"""

from __future__ import annotations

import contextlib
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from wand.api.wire import (
    MAX_MESSAGE,
    MAX_PAYLOAD,
    Control,
    Data,
    WireError,
    decode,
    encode_control,
    encode_data,
)

__all__ = [
    "ApiError",
    "ApiRequestError",
    "ChannelBusy",
    "ConnectionClosed",
    "FramesDropped",
    "IncomingCallInfo",
    "RawChannel",
    "RawStatus",
    "X25Cleared",
    "X25Event",
    "X25Interrupt",
    "X25InterruptConfirmed",
    "X25LinkDown",
    "X25Listener",
    "X25Message",
    "X25Reset",
    "X25Restart",
    "X25Socket",
]


# -- errors and events ----------------------------------------------------------------
class ApiError(Exception):
    """Base of everything this library raises (besides OSError from the socket itself)."""


class ConnectionClosed(ApiError):
    """The daemon closed the connection (interface stopped, daemon gone) without a reason."""


class ApiRequestError(ApiError):
    """The daemon refused a request (an ``error`` message). The connection carries on."""

    def __init__(self, error: str, request: str | None = None) -> None:
        super().__init__(f"{request}: {error}" if request else error)
        self.error = error
        self.request = request


class ChannelBusy(ApiRequestError):
    """Another application already has this raw channel."""


class FramesDropped(ApiError):
    """Raw channels: ``count`` frames were dropped at this point in the stream (never silently)."""

    def __init__(self, direction: str, count: int, reason: str) -> None:
        super().__init__(f"{count} {direction} frame(s) dropped: {reason}")
        self.direction, self.count, self.reason = direction, count, reason


class X25Event(ApiError):
    """An X.25 event in a circuit's (or a listener's) stream."""


class X25Cleared(X25Event):
    """The call is over (by the peer, the network, us, a restart or the link going down)."""

    def __init__(self, cause: int, diagnostic: int, by_peer: bool, reason: str = "", lcn: int | None = None):
        why = f" ({reason})" if reason else ""
        super().__init__(f"call cleared: cause 0x{cause:02x} diagnostic {diagnostic}{why}")
        self.cause, self.diagnostic, self.by_peer, self.reason, self.lcn = (
            cause,
            diagnostic,
            by_peer,
            reason,
            lcn,
        )


class X25Reset(X25Event):
    """The circuit was reset: data in transit may be lost; the call carries on."""

    def __init__(self, cause: int, diagnostic: int) -> None:
        super().__init__(f"circuit reset: cause 0x{cause:02x} diagnostic {diagnostic}")
        self.cause, self.diagnostic = cause, diagnostic


class X25Interrupt(X25Event):
    def __init__(self, data: bytes) -> None:
        super().__init__(f"interrupt {data.hex()}")
        self.data = data


class X25InterruptConfirmed(X25Event):
    def __init__(self) -> None:
        super().__init__("interrupt confirmed")


class X25Restart(X25Event):
    """Listeners: the packet layer restarted (every call is gone; the listener carries on)."""

    def __init__(self, cause: int, diagnostic: int) -> None:
        super().__init__(f"packet layer restart: cause 0x{cause:02x} diagnostic {diagnostic}")
        self.cause, self.diagnostic = cause, diagnostic


class X25LinkDown(X25Event):
    """Listeners: the link went down (every call is gone; the listener carries on)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"link down: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class X25Message:
    """One complete M-bit sequence, with its Q and D bits."""

    data: bytes
    q: bool = False
    d: bool = False


@dataclass(frozen=True)
class IncomingCallInfo:
    lcn: int
    called: str | None
    calling: str | None
    user_data: bytes
    facilities: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RawStatus:
    usable: bool


# -- the socket underneath ------------------------------------------------------------------
class _ApiSocket:
    def __init__(self, path: str, timeout: float | None) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self._inbox: deque[Data | Control] = deque()  # read ahead (while finding out why a send failed)
        self._eof = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self.sock.gettimeout()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self) -> Data | Control | None:
        """The next message, or None at EOF. Raises BlockingIOError/TimeoutError as the socket does."""
        if self._inbox:
            return self._inbox.popleft()
        if self._eof:
            return None
        message, _, flags, _ = self.sock.recvmsg(MAX_MESSAGE)
        if not message:
            self._eof = True
            return None
        if flags & socket.MSG_TRUNC:
            raise ApiError(f"message from the daemon longer than {MAX_MESSAGE} octets")
        try:
            return decode(message)
        except WireError as exc:
            raise ApiError(f"malformed message from the daemon: {exc}") from None

    def _read_ahead_nb(self) -> None:
        """Pull whatever is already there into the inbox (after a failed send: why did it fail?)."""
        while not self._eof:
            try:
                message, _, _, _ = self.sock.recvmsg(MAX_MESSAGE, 0, socket.MSG_DONTWAIT)
            except OSError:
                return
            if not message:
                self._eof = True
                return
            with contextlib.suppress(WireError):
                self._inbox.append(decode(message))

    def _send(self, message: bytes) -> None:
        try:
            self.sock.send(message)
        except (BrokenPipeError, ConnectionResetError):
            self._read_ahead_nb()
            self._on_send_failed()
            raise ConnectionClosed("the daemon closed the connection") from None

    def _on_send_failed(self) -> None:
        """A subclass raises the reason the daemon gave, if it gave one."""

    def _control(self, op: str, **fields: Any) -> None:
        self._send(encode_control(op, **fields))


def _error(fields: dict[str, Any]) -> ApiRequestError:
    text = str(fields.get("error", "error"))
    cls = ChannelBusy if text.startswith("channel busy") else ApiRequestError
    return cls(text, fields.get("request"))


def _cleared(fields: dict[str, Any]) -> X25Cleared:
    return X25Cleared(
        int(fields.get("cause", 0)),
        int(fields.get("diagnostic", 0)),
        bool(fields.get("by_peer", False)),
        str(fields.get("reason", "")),
        fields.get("lcn"),
    )


# -- raw channels ----------------------------------------------------------------------------------
class RawChannel(_ApiSocket):
    """A raw-frame channel (FR DLCI, Cisco HDLC, HDLC): one frame's information field per message."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__(path, timeout)
        self.usable = False
        try:
            first = self._next()
            if first is None:
                raise ConnectionClosed("the daemon closed the connection")
            if isinstance(first, Control) and first.op == "error":
                raise _error(first.fields)
            if isinstance(first, Control) and first.op == "status":
                self.usable = bool(first.fields.get("usable"))
            else:
                self._inbox.appendleft(first)
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: str, *, timeout: float | None = None) -> RawChannel:
        return cls(path, timeout)

    @property
    def status(self) -> RawStatus:
        """The channel state as last told by the daemon (read as messages are received)."""
        return RawStatus(self.usable)

    def send(self, frame: bytes) -> None:
        if len(frame) > MAX_PAYLOAD:
            raise ValueError(f"frame longer than {MAX_PAYLOAD} octets")
        self._send(encode_data(frame))

    def recv(self) -> bytes:
        """The next frame. Raises FramesDropped (then carries on), ApiRequestError, ConnectionClosed."""
        while True:
            item = self.recv_any()
            if isinstance(item, bytes):
                return item
            if isinstance(item, Exception):
                raise item
            # RawStatus: already applied to .usable

    def recv_any(self) -> bytes | RawStatus | FramesDropped | ApiRequestError:
        while True:
            message = self._next()
            if message is None:
                raise ConnectionClosed("the daemon closed the connection")
            if isinstance(message, Data):
                return message.payload
            fields = message.fields
            if message.op == "status":
                self.usable = bool(fields.get("usable"))
                return RawStatus(self.usable)
            if message.op == "dropped":
                return FramesDropped(
                    str(fields.get("direction")), int(fields.get("count", 0)), str(fields.get("reason"))
                )
            if message.op == "error":
                return _error(fields)
            # an op this library does not know (a newer daemon): nothing to lose by skipping it

    def _on_send_failed(self) -> None:
        for message in self._inbox:
            if isinstance(message, Control) and message.op == "error":
                raise _error(message.fields)


# -- X.25 ---------------------------------------------------------------------------------------------
_CIRCUIT_EVENTS: dict[str, Callable[[dict[str, Any]], X25Event | ApiRequestError]] = {
    "reset": lambda f: X25Reset(int(f.get("cause", 0)), int(f.get("diagnostic", 0))),
    "interrupt": lambda f: X25Interrupt(bytes.fromhex(str(f.get("data", "")))),
    "interrupt_confirmed": lambda f: X25InterruptConfirmed(),
    "error": _error,
}


class X25Socket(_ApiSocket):
    """One X.25 virtual circuit. Make one with `connect` or `X25Listener.accept`."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__(path, timeout)
        self.lcn: int | None = None
        self.packet_size: Any = None
        self.window: Any = None
        self._cleared: X25Cleared | None = None

    @classmethod
    def connect(
        cls,
        path: str,
        called: str,
        *,
        calling: str | None = None,
        user_data: bytes = b"",
        packet_size: int | None = None,
        window: int | None = None,
        timeout: float | None = None,
    ) -> X25Socket:
        """Place a call and wait until it is connected (X25Cleared if refused; TimeoutError after `timeout`).

        As with socket.create_connection, `timeout` stays the socket's timeout afterwards."""
        self = cls(path, timeout)
        try:
            facilities = {
                k: v for k, v in (("packet_size", packet_size), ("window", window)) if v is not None
            }
            self._control(
                "connect", called=called, calling=calling, user_data=user_data.hex(), facilities=facilities
            )
            self._wait_connected()
        except BaseException:
            self.close()  # closing clears a call still being set up
            raise
        return self

    def _wait_connected(self) -> None:
        while True:
            message = self._next()
            if message is None:
                raise ConnectionClosed("the daemon closed the connection")
            if isinstance(message, Data):
                raise ApiError("data before the call was connected")
            fields = message.fields
            if message.op == "calling":
                self.lcn = fields.get("lcn")
            elif message.op == "connected":
                self.lcn = fields.get("lcn")
                self.packet_size = fields.get("packet_size")
                self.window = fields.get("window")
                return
            elif message.op == "cleared":
                raise _cleared(fields)
            elif message.op == "error":
                raise _error(fields)
            # restart / link_down: the "cleared" that follows says so

    def send(self, data: bytes, q: bool = False, d: bool = False) -> None:
        """Send one complete message (the daemon segments it into packets with the M bit)."""
        if self._cleared is not None:
            raise self._cleared
        if len(data) > MAX_PAYLOAD:
            raise ValueError(f"message longer than {MAX_PAYLOAD} octets")
        self._send(encode_data(data, q, d))

    def _on_send_failed(self) -> None:
        for message in self._inbox:
            if isinstance(message, Control) and message.op == "cleared":
                raise _cleared(message.fields)

    def recv(self) -> X25Message:
        """The next message; events are raised at their place in the stream (see the module docstring)."""
        item = self.recv_any()
        if isinstance(item, Exception):
            raise item
        return item

    def recv_any(self) -> X25Message | X25Event | ApiRequestError:
        while True:
            if self._cleared is not None and not self._inbox:
                return self._cleared
            message = self._next()
            if message is None:
                if self._cleared is not None:
                    return self._cleared
                raise ConnectionClosed("the daemon closed the connection")
            if isinstance(message, Data):
                return X25Message(message.payload, message.q, message.d)
            if message.op == "cleared":
                self._cleared = _cleared(message.fields)
                return self._cleared
            make = _CIRCUIT_EVENTS.get(message.op)
            if make is not None:
                return make(message.fields)
            # restart / link_down: the "cleared" that follows carries the reason

    def clear(self, cause: int = 0, diagnostic: int = 0) -> None:
        """Clear the call with this cause and diagnostic, and close."""
        if self._cleared is None:
            with contextlib.suppress(ConnectionClosed, OSError):
                self._control("clear", cause=cause, diagnostic=diagnostic)
        self.close()

    def reset(self, cause: int = 0, diagnostic: int = 0) -> None:
        self._control("reset", cause=cause, diagnostic=diagnostic)

    def interrupt(self, data: bytes = b"\x00") -> None:
        """Send an interrupt (1 to 32 octets); X25InterruptConfirmed comes back in the stream."""
        self._control("interrupt", data=data.hex())

    @property
    def cleared(self) -> X25Cleared | None:
        return self._cleared


class X25Listener(_ApiSocket):
    """Incoming calls matching a called-address prefix and/or a call user data prefix."""

    def __init__(
        self,
        path: str,
        called_prefix: str | None = None,
        user_data_prefix: bytes | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        super().__init__(path, timeout)
        try:
            match: dict[str, Any] = {}
            if called_prefix is not None:
                match["called"] = called_prefix
            if user_data_prefix is not None:
                match["user_data"] = user_data_prefix.hex()
            self._control("listen", match=match)
            reply = self._next()
            if reply is None:
                raise ConnectionClosed("the daemon closed the connection")
            if isinstance(reply, Control) and reply.op == "error":
                raise _error(reply.fields)
            if not (isinstance(reply, Control) and reply.op == "listening"):
                raise ApiError(f"unexpected reply to listen: {reply}")
        except BaseException:
            self.close()
            raise
        self.gone: set[int] = set()  # offered calls cleared before we answered them

    def incoming(self) -> IncomingCallInfo:
        """The next offered call (accept or refuse it within the daemon's accept timeout).

        Raises X25Restart / X25LinkDown (the listener carries on) and ApiRequestError.
        """
        while True:
            message = self._next()
            if message is None:
                raise ConnectionClosed("the daemon closed the connection")
            if isinstance(message, Data):
                raise ApiError("data on a listener")
            fields = message.fields
            if message.op == "incoming":
                self.gone.discard(fields["lcn"])
                return IncomingCallInfo(
                    lcn=fields["lcn"],
                    called=fields.get("called"),
                    calling=fields.get("calling"),
                    user_data=bytes.fromhex(fields.get("user_data") or ""),
                    facilities=fields.get("facilities") or {},
                )
            if message.op == "cleared":
                if isinstance(fields.get("lcn"), int):
                    self.gone.add(fields["lcn"])
            elif message.op == "restart":
                raise X25Restart(int(fields.get("cause", 0)), int(fields.get("diagnostic", 0)))
            elif message.op == "link_down":
                raise X25LinkDown(str(fields.get("reason", "")))
            elif message.op == "error":
                raise _error(fields)

    def accept(
        self,
        call: IncomingCallInfo | None = None,
        *,
        packet_size: int | None = None,
        window: int | None = None,
    ) -> tuple[X25Socket, IncomingCallInfo]:
        """Accept `call` (default: the next one) on a new connection, as TCP accept() does.

        Without `call`, a call that went away before we answered is skipped. With
        it, that raises X25Cleared or ApiRequestError.
        """
        pick = call is None
        while True:
            info = self.incoming() if call is None else call
            # the listener's timeout; blocking when the listener is non-blocking, as socket.accept()
            circuit = X25Socket(self.path, self.sock.gettimeout() or None)
            try:
                fields: dict[str, Any] = {"lcn": info.lcn}
                if packet_size is not None:
                    fields["packet_size"] = packet_size
                if window is not None:
                    fields["window"] = window
                circuit._control("accept", **fields)
                circuit._wait_connected()
                return circuit, info
            except ApiRequestError as exc:
                circuit.close()
                if not (pick and exc.error.startswith("no incoming call")):
                    raise
            except BaseException:
                circuit.close()
                raise

    def refuse(self, call: IncomingCallInfo | int, cause: int = 0, diagnostic: int = 0) -> None:
        """Clear an offered call instead of accepting it."""
        lcn = call if isinstance(call, int) else call.lcn
        self._control("clear", lcn=lcn, cause=cause, diagnostic=diagnostic)
