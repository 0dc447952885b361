"""The X.25 API endpoint: one SEQPACKET connection per virtual circuit, like a TCP socket.

Theory of operation
-------------------
A connection starts NEW and its first request decides its role:

    state       request / event                   action                                  next
    NEW         connect {called,...}               PlaceCall -> lcn; "calling"             CALLING
    NEW         listen {match}                     "listening"                             LISTENING
    NEW         accept {lcn} (an offered call)     AcceptCall                              CALLING
    CALLING     CallConnected                      "connected"                             CONNECTED
    CALLING/    clear {cause,diagnostic}           ClearCall; "cleared" (by_peer false)    CLOSING
     CONNECTED  CallCleared / restart / link down  "cleared" (and "restart"/"link_down")   CLOSING
    CONNECTED   data message                       submit (Q, D bits in the flag octet)    CONNECTED
    CONNECTED   reset / interrupt                  ResetCircuit / SendInterrupt            CONNECTED
    LISTENING   IncomingCall matching it           "incoming" {lcn,...}; accept timer      LISTENING
    LISTENING   clear {lcn,...} (refuse)           ClearCall; "cleared" {lcn}              LISTENING
    CLOSING     backlog flushed                    close (the app reads the rest, then EOF)  -
    any         app closes                         ClearCall (cause 0) if a call is up       -

An incoming call goes to the listener whose match is the most specific
(longest called prefix + user data prefix; the earliest listener on a tie).
No match: cleared at once with (NO_LISTENER_CAUSE, NO_LISTENER_DIAGNOSTIC).
Not accepted within `accept_timeout`: cleared with (ACCEPT_TIMEOUT_CAUSE,
ACCEPT_TIMEOUT_DIAGNOSTIC). Both are counted and the listener is told.

Flow control, never silent:
- App -> line: a circuit's connection is read only while ``ops.can_send(lcn)``;
  otherwise not at all (the app's send blocks or gets EAGAIN) until the
  engine's CircuitWritable(lcn), or `on_writable` (the driver: the line took
  its backlog). A message the port still refused is kept and goes first. Control messages travel in order with data, so a ``clear``
  waits behind the data the line has not taken yet, as a TCP FIN does.
- Line -> app: every message goes to the app's socket or, when it is full,
  to the connection's backlog; the first time that happens we tell the
  firmware SetChannelBusy(lcn, True) (it sends RNR, the peer stops after its
  window) and SetChannelBusy(lcn, False) once the backlog has drained. The
  window bounds the backlog. Only an app that closes its connection can miss
  messages, and then its call is cleared and the loss counted.

Link-wide events (RestartIndication, PacketLayerDown, LinkDown) end every
circuit and are told to every connection; `handle_event` returns False for
them so the driver can act on them too. This assumes one X.25 API endpoint
per port (an unmatched incoming call is cleared here, not passed on).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
from dataclasses import asdict, dataclass, field
from typing import Any

from firmware_emu.adapter.mailbox import (
    AcceptCall,
    ClearCall,
    PlaceCall,
    ResetCircuit,
    SendInterrupt,
    SetChannelBusy,
)
from firmware_emu.payload import X25Flags
from wand.api.conn import ApiCommandError, ApiListener, Connection, ConnStats
from wand.api.endpoint import PortOps, ServiceSoon
from wand.api.wire import (
    Control,
    Data,
    WireError,
    encode_control,
    encode_data,
    get_hex,
    get_int,
    get_object,
    get_x121,
    jsonable,
)
from wand.ratelimit import RateLimitedLog

log = logging.getLogger("wand.api")

# Causes and diagnostics of the calls we clear on our own (firmware_emu/x25/causes.py names them).
# "No listener" is what the firmware itself uses for a call nothing on the port takes.
NO_LISTENER_CAUSE = 0x0D  # not obtainable
NO_LISTENER_DIAGNOSTIC = 0  # no additional information
ACCEPT_TIMEOUT_CAUSE = 0x0D  # not obtainable
ACCEPT_TIMEOUT_DIAGNOSTIC = 49  # time expired for incoming call
LINK_DOWN_CAUSE = 0x09  # out of order: what the packet layer itself ends calls with on link loss
MAX_CONNECTIONS = 1024
MAX_LCN = 4095
MAX_CALL_USER_DATA = 128  # fast select; the firmware enforces 16 without it
MAX_INTERRUPT_DATA = 32


class Role(enum.Enum):
    NEW = "new"
    CALLING = "calling"
    CONNECTED = "connected"
    LISTENING = "listening"
    CLOSING = "closing"


@dataclass(eq=False)
class Client:
    """Our record of one connection."""

    conn: Connection
    role: Role = Role.NEW
    lcn: int | None = None
    busy: bool = False  # we told the firmware SetChannelBusy(lcn, True)
    pending: Data | None = None  # read from the app, refused by the port: goes first
    called_prefix: str | None = None  # listeners
    user_data_prefix: bytes | None = None
    seq: int = 0  # listen order, for ties
    offers: set[int] = field(default_factory=set)  # listeners: LCNs offered and not yet answered


@dataclass
class Offer:
    lcn: int
    listener: Client
    deadline: float


@dataclass
class X25Counters:
    calls_placed: int = 0
    calls_accepted: int = 0
    calls_refused: int = 0  # refused by a listener
    calls_unmatched: int = 0  # no listener: cleared by us
    accept_timeouts: int = 0  # offered, not answered in time: cleared by us
    cleared_by_app_close: int = 0  # the app closed a connection with a call up
    tx_messages: int = 0  # app -> line, taken by the port
    tx_bytes: int = 0
    tx_flow_paused: int = 0
    tx_after_clear: int = 0  # sent by the app after it was told "cleared" (discarded)
    tx_lost_cleared: int = 0  # read from the app, still waiting for the port when the call ended
    rx_messages: int = 0  # line -> app
    rx_bytes: int = 0
    rx_busy: int = 0  # times a slow app made us send RNR
    rx_lost_app_closed: int = 0  # queued for an app that closed its connection (its call is cleared)
    rx_no_circuit: int = 0  # data for an LCN none of our connections has
    connections_refused: int = 0  # over MAX_CONNECTIONS
    command_errors: int = 0  # mailbox commands we issued on our own that failed (logged)


class X25Endpoint:
    def __init__(
        self,
        device: str,
        ifname: str,
        path: str,
        loop: asyncio.AbstractEventLoop,
        ops: PortOps,
        *,
        accept_timeout: float = 30.0,
    ) -> None:
        self.device = device
        self.ifname = ifname
        self.path = path
        self.loop = loop
        self.ops = ops
        self.port = ops.port_number
        self.accept_timeout = accept_timeout
        self.label = f"{device}: {ifname}"
        self.clients: dict[Connection, Client] = {}
        self.circuits: dict[int, Client] = {}  # CALLING and CONNECTED, by LCN
        self.offers: dict[int, Offer] = {}
        self.clearing: set[int] = set()  # cleared by us; the firmware's CallCleared for them is ours
        self.counters = X25Counters()
        self.stats = ConnStats()
        self.errors = RateLimitedLog(log)
        self._listen_seq = 0
        self._listener = ApiListener(path, loop, self._on_connection)
        self._service_soon = ServiceSoon(loop, ops)
        self._events = {
            "IncomingCall": self._incoming_call,
            "CallConnected": self._call_connected,
            "CallCleared": self._call_cleared,
            "ResetIndication": self._reset_indication,
            "InterruptReceived": self._interrupt_received,
            "InterruptConfirmed": self._interrupt_confirmed,
            "CircuitWritable": self._circuit_writable,
            "RestartIndication": self._restart,
            "PacketLayerDown": self._link_down,
            "LinkDown": self._link_down,
            "PacketLayerReady": self._link_up,
            "LinkUp": self._link_up,
        }
        self._down_told = False  # LAPB down comes as LinkDown and PacketLayerDown: tell apps once

    # -- lifecycle -------------------------------------------------------------
    def open(self) -> None:
        self._listener.open()
        log.info("%s: X.25 API on %s", self.label, self.path)

    def close(self) -> None:
        """Clear our calls and offers, disconnect every app (they read what they had, then EOF)."""
        for client in list(self.clients.values()):
            client.conn.close()  # _on_closed clears the call and the listener's offers
        for lcn in list(self.offers):
            self._clear(lcn, NO_LISTENER_CAUSE, NO_LISTENER_DIAGNOSTIC)
        self.offers.clear()
        self._listener.close()

    def _on_connection(self, sock: socket.socket) -> None:
        if len(self.clients) >= MAX_CONNECTIONS:
            self.counters.connections_refused += 1
            try:
                sock.setblocking(False)
                sock.send(encode_control("error", error=f"too many connections ({MAX_CONNECTIONS})"))
            except OSError:
                pass
            sock.close()
            return
        conn = Connection(
            sock,
            self.loop,
            self.label,
            self.stats,
            on_message=self._on_message,
            on_closed=self._on_closed,
            on_drained=self._on_drained,
            on_batch_end=lambda _conn: self.ops.service(),
        )
        self.clients[conn] = Client(conn)
        conn.resume_reading()

    # -- helpers -----------------------------------------------------------------
    def _command(self, command: object) -> dict:
        """A command on our own behalf: a failure is logged and counted, never raised."""
        try:
            return self.ops.command(command)
        except ApiCommandError as exc:
            self.counters.command_errors += 1
            self.errors.warning(
                f"{self.label}: {type(command).__name__}", "%s: %s: %s", self.label, command, exc
            )
            return {}

    def _clear(self, lcn: int, cause: int, diagnostic: int) -> None:
        """Clear a call on our own; should the firmware hold a DTE to cause 0, clear with that."""
        self.clearing.add(lcn)
        if cause != 0:
            try:
                self.ops.command(ClearCall(self.port, lcn, cause, diagnostic))
                return
            except ApiCommandError:
                pass
        self._command(ClearCall(self.port, lcn, 0, diagnostic))

    def _to_app(self, client: Client, message: bytes, *, data: bool = False) -> None:
        if client.conn.send(message, data=data) or client.conn.closed:
            return
        if client.role is Role.CONNECTED and not client.busy and client.lcn is not None:
            client.busy = True
            self.counters.rx_busy += 1
            self._command(SetChannelBusy(self.port, client.lcn, True))

    def _on_drained(self, conn: Connection) -> None:
        client = self.clients.get(conn)
        if client is not None and client.busy:
            client.busy = False
            if client.role is Role.CONNECTED and client.lcn is not None:
                self._command(SetChannelBusy(self.port, client.lcn, False))

    def _update_reading(self, client: Client) -> None:
        conn = client.conn
        if client.role is not Role.CONNECTED:
            conn.resume_reading()  # control only (or discarding, when CLOSING): always read
        elif client.pending is None and self.ops.can_send(client.lcn):  # type: ignore[arg-type]
            conn.resume_reading()
        elif conn.reading:
            conn.pause_reading()
            self.counters.tx_flow_paused += 1

    def _end_circuit(self, client: Client, *messages: bytes) -> None:
        """The call is over: tell the app, flush what it has not read, then close."""
        if client.lcn is not None and self.circuits.get(client.lcn) is client:
            del self.circuits[client.lcn]
        if client.pending is not None:
            self.counters.tx_lost_cleared += 1
            client.pending = None
        client.busy = False  # the firmware forgets a cleared LCN's state, RNR included
        client.role = Role.CLOSING
        for message in messages:
            client.conn.send(message)
        self._update_reading(client)  # keep reading: to see the app's EOF, discarding its data
        client.conn.close_after_flush()

    def _on_closed(self, conn: Connection) -> None:
        client = self.clients.pop(conn, None)
        if client is None:
            return
        self.counters.rx_lost_app_closed += conn.lost_data
        if client.role in (Role.CALLING, Role.CONNECTED) and client.lcn is not None:
            self.circuits.pop(client.lcn, None)
            self.counters.cleared_by_app_close += 1
            if client.pending is not None:
                self.counters.tx_lost_cleared += 1
            self._clear(client.lcn, 0, 0)
        elif client.role is Role.LISTENING:
            for lcn in sorted(client.offers):
                if self.offers.pop(lcn, None) is not None:
                    self.counters.calls_unmatched += 1
                    self._clear(lcn, NO_LISTENER_CAUSE, NO_LISTENER_DIAGNOSTIC)

    # -- app requests ---------------------------------------------------------------
    def _on_message(self, conn: Connection, message: Data | Control) -> None:
        client = self.clients[conn]
        if isinstance(message, Data):
            self._app_data(client, message)
            return
        handler = _REQUESTS.get(message.op)
        if handler is None:
            raise WireError(f'unknown op "{message.op}"')
        if client.role is Role.CLOSING:
            return  # the app has been told "cleared"; it will see EOF next
        handler(self, client, message.fields)

    def _app_data(self, client: Client, message: Data) -> None:
        if client.role is Role.CLOSING:
            self.counters.tx_after_clear += 1
            return
        if client.role is not Role.CONNECTED:
            raise WireError(f"no call is connected on this connection ({client.role.value})")
        lcn = client.lcn
        assert lcn is not None
        if self.ops.submit(lcn, message.payload, X25Flags(message.q, message.d)):
            self.counters.tx_messages += 1
            self.counters.tx_bytes += len(message.payload)
        else:
            client.pending = message
        if client.pending is not None or not self.ops.can_send(lcn):
            self._update_reading(client)

    def _require(self, client: Client, *roles: Role) -> None:
        if client.role not in roles:
            wanted = " or ".join(r.value for r in roles)
            raise WireError(f"not allowed on a {client.role.value} connection (needs {wanted})")

    def _req_connect(self, client: Client, fields: dict[str, Any]) -> None:
        self._require(client, Role.NEW)
        called = get_x121(fields, "called")
        calling = get_x121(fields, "calling", default=None)
        user_data = get_hex(fields, "user_data", default=b"", max_len=MAX_CALL_USER_DATA)
        facilities = get_object(fields, "facilities")
        packet_size = get_int(facilities, "packet_size", default=None, lo=16, hi=4096)
        window = get_int(facilities, "window", default=None, lo=1, hi=127)
        reply = self.ops.command(PlaceCall(self.port, called, calling, user_data, packet_size, window))
        lcn = reply["lcn"]
        self.clearing.discard(lcn)
        client.role, client.lcn = Role.CALLING, lcn
        self.circuits[lcn] = client
        self.counters.calls_placed += 1
        client.conn.send(encode_control("calling", lcn=lcn))

    def _req_listen(self, client: Client, fields: dict[str, Any]) -> None:
        self._require(client, Role.NEW)
        match = get_object(fields, "match")
        client.called_prefix = get_x121(match, "called", default=None)
        client.user_data_prefix = get_hex(match, "user_data", default=None, max_len=MAX_CALL_USER_DATA)
        self._listen_seq += 1
        client.seq = self._listen_seq
        client.role = Role.LISTENING
        client.conn.send(encode_control("listening"))

    def _req_accept(self, client: Client, fields: dict[str, Any]) -> None:
        self._require(client, Role.NEW)
        lcn = get_int(fields, "lcn", lo=0, hi=MAX_LCN)
        packet_size = get_int(fields, "packet_size", default=None, lo=16, hi=4096)
        window = get_int(fields, "window", default=None, lo=1, hi=127)
        offer = self.offers.get(lcn)
        if offer is None:
            raise WireError(f"no incoming call waits on LCN {lcn} (cleared, timed out or taken)")
        self.ops.command(AcceptCall(self.port, lcn, packet_size, window))
        del self.offers[lcn]
        offer.listener.offers.discard(lcn)
        # "connected" follows with the firmware's CallConnected, which has the sizes it answered
        client.role, client.lcn = Role.CALLING, lcn
        self.circuits[lcn] = client
        self.counters.calls_accepted += 1

    def _req_clear(self, client: Client, fields: dict[str, Any]) -> None:
        cause = get_int(fields, "cause", default=0)
        diagnostic = get_int(fields, "diagnostic", default=0)
        if client.role is Role.LISTENING:  # refuse an offered call
            lcn = get_int(fields, "lcn", lo=0, hi=MAX_LCN)
            if lcn not in client.offers:
                raise WireError(f"no incoming call offered to this listener on LCN {lcn}")
            self.ops.command(ClearCall(self.port, lcn, cause, diagnostic))
            client.offers.discard(lcn)
            del self.offers[lcn]
            self.clearing.add(lcn)
            self.counters.calls_refused += 1
            client.conn.send(
                encode_control("cleared", lcn=lcn, cause=cause, diagnostic=diagnostic, by_peer=False)
            )
            return
        self._require(client, Role.CALLING, Role.CONNECTED)
        lcn = client.lcn
        assert lcn is not None
        self.ops.command(ClearCall(self.port, lcn, cause, diagnostic))
        self.clearing.add(lcn)
        self._end_circuit(
            client, encode_control("cleared", lcn=lcn, cause=cause, diagnostic=diagnostic, by_peer=False)
        )

    def _req_reset(self, client: Client, fields: dict[str, Any]) -> None:
        self._require(client, Role.CONNECTED)
        cause = get_int(fields, "cause", default=0)
        diagnostic = get_int(fields, "diagnostic", default=0)
        assert client.lcn is not None  # CONNECTED has one
        self.ops.command(ResetCircuit(self.port, client.lcn, cause, diagnostic))

    def _req_interrupt(self, client: Client, fields: dict[str, Any]) -> None:
        self._require(client, Role.CONNECTED)
        data = get_hex(fields, "data", default=b"\x00", max_len=MAX_INTERRUPT_DATA)
        if not data:
            raise WireError("interrupt data must be 1 to 32 octets")
        assert client.lcn is not None
        self.ops.command(SendInterrupt(self.port, client.lcn, data))

    def _req_status(self, client: Client, fields: dict[str, Any]) -> None:
        client.conn.send(encode_control("status", role=client.role.value, lcn=client.lcn))

    # -- line -> app ------------------------------------------------------------------
    def owns(self, lcn: int) -> bool:
        return lcn in self.circuits or lcn in self.offers or lcn in self.clearing

    def deliver(self, lcn: int, payload: bytes, q: bool, d: bool) -> None:
        client = self.circuits.get(lcn)
        if client is None or client.role is not Role.CONNECTED:
            self.counters.rx_no_circuit += 1
            return
        self.counters.rx_messages += 1
        self.counters.rx_bytes += len(payload)
        self._to_app(client, encode_data(payload, q, d), data=True)

    def handle_event(self, event: object) -> bool:
        handler = self._events.get(type(event).__name__)
        return handler(event) if handler is not None else False

    def _incoming_call(self, event: Any) -> bool:
        lcn = event.lcn
        self._down_told = False
        self.clearing.discard(lcn)  # the LCN is in use again: any clear of ours on it is over
        listener = self._match(event.called or "", event.user_data or b"")
        if listener is None:
            self.counters.calls_unmatched += 1
            log.info(
                "%s: incoming call on LCN %d for %s: no listener, cleared", self.label, lcn, event.called
            )
            self._clear(lcn, NO_LISTENER_CAUSE, NO_LISTENER_DIAGNOSTIC)
            return True
        facilities = {
            "packet_size": jsonable(getattr(event.facilities, "packet_size", None)),
            "window": jsonable(getattr(event.facilities, "window", None)),
        }
        self.offers[lcn] = Offer(lcn, listener, self.loop.time() + self.accept_timeout)
        listener.offers.add(lcn)
        self._to_app(
            listener,
            encode_control(
                "incoming",
                lcn=lcn,
                called=event.called,
                calling=event.calling,
                user_data=(event.user_data or b"").hex(),
                facilities=facilities,
            ),
        )
        return True

    def _match(self, called: str, user_data: bytes) -> Client | None:
        best: Client | None = None
        best_key: tuple[int, int] | None = None
        for client in self.clients.values():
            if client.role is not Role.LISTENING:
                continue
            if client.called_prefix is not None and not called.startswith(client.called_prefix):
                continue
            if client.user_data_prefix is not None and not user_data.startswith(client.user_data_prefix):
                continue
            specificity = len(client.called_prefix or "") + len(client.user_data_prefix or b"")
            key = (-specificity, client.seq)
            if best_key is None or key < best_key:
                best, best_key = client, key
        return best

    def _call_connected(self, event: Any) -> bool:
        client = self.circuits.get(event.lcn)
        if client is None:
            return event.lcn in self.clearing
        if client.role is Role.CALLING:  # our call was accepted, or we accepted one
            client.role = Role.CONNECTED
            self._to_app(
                client,
                encode_control(
                    "connected",
                    lcn=event.lcn,
                    packet_size=jsonable(event.packet_size),
                    window=jsonable(event.window),
                ),
            )
            self._update_reading(client)
        return True

    def _call_cleared(self, event: Any) -> bool:
        lcn = event.lcn
        cleared = {"cause": event.cause, "diagnostic": event.diagnostic, "by_peer": event.by_peer}
        if lcn in self.clearing:
            self.clearing.discard(lcn)
            return True
        offer = self.offers.pop(lcn, None)
        if offer is not None:  # the caller gave up before anyone answered
            offer.listener.offers.discard(lcn)
            self._to_app(offer.listener, encode_control("cleared", lcn=lcn, **cleared))
            return True
        client = self.circuits.get(lcn)
        if client is None:
            return False
        self._end_circuit(client, encode_control("cleared", lcn=lcn, **cleared))
        return True

    def _with_circuit(self, lcn: int, message: bytes) -> bool:
        client = self.circuits.get(lcn)
        if client is None or client.role is not Role.CONNECTED:
            return lcn in self.clearing or lcn in self.offers
        self._to_app(client, message)
        return True

    def _reset_indication(self, event: Any) -> bool:
        owned = self._with_circuit(
            event.lcn, encode_control("reset", cause=event.cause, diagnostic=event.diagnostic)
        )
        client = self.circuits.get(event.lcn)
        if client is not None and client.busy:  # a reset puts flow control back to "ready": re-assert RNR
            self._command(SetChannelBusy(self.port, event.lcn, True))
        return owned

    def _interrupt_received(self, event: Any) -> bool:
        return self._with_circuit(event.lcn, encode_control("interrupt", data=bytes(event.data).hex()))

    def _interrupt_confirmed(self, event: Any) -> bool:
        return self._with_circuit(event.lcn, encode_control("interrupt_confirmed"))

    def on_writable(self) -> None:
        """The line as a whole has room again (the cable took its backlog): resume every stalled circuit.

        CircuitWritable covers a circuit's own queue; this covers whatever else
        made can_send say no (the driver's line-wide backpressure)."""
        for lcn, client in list(self.circuits.items()):
            if client.role is Role.CONNECTED and not client.conn.reading:
                self._resume(client, lcn)

    def _circuit_writable(self, event: Any) -> bool:
        client = self.circuits.get(event.lcn)
        if client is None or client.role is not Role.CONNECTED:
            return self.owns(event.lcn)
        self._resume(client, event.lcn)
        return True

    def _resume(self, client: Client, lcn: int) -> None:
        pending = client.pending
        if (
            pending is not None
            and self.ops.can_send(lcn)
            and self.ops.submit(lcn, pending.payload, X25Flags(pending.q, pending.d))
        ):
            client.pending = None
            self.counters.tx_messages += 1
            self.counters.tx_bytes += len(pending.payload)
            self._service_soon()
        self._update_reading(client)

    def _restart(self, event: Any) -> bool:
        notice = encode_control("restart", cause=event.cause, diagnostic=event.diagnostic)
        self._end_everything(notice, event.cause, event.diagnostic, True, "restart")
        return False

    def _link_down(self, event: Any) -> bool:
        if self._down_told:
            return False
        self._down_told = True
        reason = str(getattr(event, "reason", ""))
        self._end_everything(
            encode_control("link_down", reason=reason), LINK_DOWN_CAUSE, 0, False, f"link down: {reason}"
        )
        return False

    def _link_up(self, event: Any) -> bool:
        self._down_told = False
        return False

    def _end_everything(self, notice: bytes, cause: int, diagnostic: int, by_peer: bool, why: str) -> None:
        """Every call and offer is gone with the packet layer: tell every connection.

        The firmware may still report each call's end (CallCleared) afterwards: those
        LCNs go to `clearing`, so such reports are recognised as ours and swallowed.
        """
        for lcn, offer in sorted(self.offers.items()):
            self.clearing.add(lcn)
            offer.listener.offers.discard(lcn)
            self._to_app(
                offer.listener,
                encode_control(
                    "cleared", lcn=lcn, cause=cause, diagnostic=diagnostic, by_peer=by_peer, reason=why
                ),
            )
        self.offers.clear()
        for client in list(self.clients.values()):
            if client.role in (Role.CALLING, Role.CONNECTED):
                self.clearing.add(client.lcn)  # type: ignore[arg-type]
                cleared = encode_control(
                    "cleared", lcn=client.lcn, cause=cause, diagnostic=diagnostic, by_peer=by_peer, reason=why
                )
                self._end_circuit(client, notice, cleared)
            elif client.role in (Role.NEW, Role.LISTENING):
                self._to_app(client, notice)

    # -- accept timeouts ---------------------------------------------------------------
    def deadline(self) -> float | None:
        return min((offer.deadline for offer in self.offers.values()), default=None)

    def on_timer(self, now: float) -> None:
        for lcn, offer in sorted(self.offers.items()):
            if offer.deadline > now:
                continue
            del self.offers[lcn]
            offer.listener.offers.discard(lcn)
            self.counters.accept_timeouts += 1
            self._clear(lcn, ACCEPT_TIMEOUT_CAUSE, ACCEPT_TIMEOUT_DIAGNOSTIC)
            self._to_app(
                offer.listener,
                encode_control(
                    "cleared",
                    lcn=lcn,
                    cause=ACCEPT_TIMEOUT_CAUSE,
                    diagnostic=ACCEPT_TIMEOUT_DIAGNOSTIC,
                    by_peer=False,
                    reason="not accepted in time",
                ),
            )

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "interface": self.ifname,
            "mode": "api",
            "kind": "x25",
            "path": self.path,
            "connections": len(self.clients),
            "listeners": sum(c.role is Role.LISTENING for c in self.clients.values()),
            "circuits": {
                str(lcn): {"state": c.role.value, "busy": c.busy, "tx_pending": c.pending is not None}
                | c.conn.describe()
                for lcn, c in sorted(self.circuits.items())
            },
            "offered": sorted(self.offers),
            **asdict(self.counters),
            **asdict(self.stats),
        }


_REQUESTS = {
    "connect": X25Endpoint._req_connect,
    "listen": X25Endpoint._req_listen,
    "accept": X25Endpoint._req_accept,
    "clear": X25Endpoint._req_clear,
    "reset": X25Endpoint._req_reset,
    "interrupt": X25Endpoint._req_interrupt,
    "status": X25Endpoint._req_status,
}
