"""The X.25 packet layer (ITU-T X.25 layer 3, DTE or DCE side), sans-I/O.

Theory of operation
-------------------
The layer below (LAPB, or XOT) hands whole packets to ``receive_packet`` and
takes ours from ``packets_to_send``; ``link_up``/``link_down`` follow it.
The driver drains ``next_event`` after every call, calls ``handle_timer``
when ``get_timer`` says so, and drives calls and data through the API
methods, which raise LocalProtocolError on misuse. Nothing raises out of
``receive_packet``: every bad packet is counted (``counters``, and a
rate-limited ProtocolErrorSeen) and answered as X.25 Annex C says.

A received packet is decoded (codec.py; a PacketError names the diagnostic),
then goes to the state machine that owns it (states.py): restart packets on
LCN 0 to the interface's r machine, the rest to its LCN's p machine (SVCs)
and, in data transfer, its d machine; d1's data, flow control and interrupt
packets go to the Circuit (circuit.py). The cell of the state table says
what to do. Errors are answered by the machine that owns the packet: a
restart (r states), a clear (p states) or a reset (d states and PVCs), each
with its diagnostic; packets that belong to no LCN (unassigned LCN 36, bad
GFI 40, too short to have a header 38, unknown type on LCN 0 33) get a
diagnostic packet, which only the DCE sends: as a DTE we count them.
On its own errors a DTE uses cause 0 (DTE originated), a DCE "local
procedure error"; a cause the DTE's user gives goes out with bit 8 set
unless it is 0 (X.25's rule for a DTE's causes: 0x0D "not obtainable" is sent as 0x8D).

Restart. ``link_up`` starts one: a DTE sends a restart request (r2), a DCE a
restart indication (r3) with cause "network operational"; the packet is
repeated every T20 (the DCE's T10 takes the t20 value) until confirmed or
crossed by the peer's restart (a collision ends the restart at once). When
it completes the layer is ``ready``: PacketLayerReady, and PVCs start data
transfer. A restart from the peer while ready is confirmed at once:
RestartIndication, every call ends (CallCleared with the restart's cause
and diagnostic, by_peer) and every PVC is reset (ResetIndication); the layer
stays ready. ``link_down`` ends every call with cause 0x09 (out of order),
diagnostic 0, resets every PVC with cause 0x1D (network out of order),
diagnostic 0, and, if the layer was ready, says PacketLayerDown.

Calls. ``call`` takes the highest free LCN of the outgoing and two-way
ranges as a DTE, the lowest of the incoming and two-way ranges as a DCE
(Annex A: so that the two ends rarely pick the same one); T21 (DCE: T11,
value t21) runs until the call is answered, then it is cleared with
diagnostic 49. An incoming call is checked (LCN direction 34, facilities
65/66/69/73, user data 39; fast select is not supported and is refused) and
offered as IncomingCall; ``accept`` answers the facilities towards the
default (facilities.py), ``clear`` refuses or ends a call; a clear is
repeated r23 times every T23 (T13), then the LCN is taken back (the DCE
sends diagnostic 50). Every call that was placed or offered ends with
exactly one CallCleared, when its LCN is free again (confirmation, clear
collision, give-up, restart or link loss), our own ``clear`` included.
Call collision (a DTE's call request crossing an incoming call on one LCN):
the DCE serves the DTE's call; a DCE's own call that collided ends with
CallCleared(cause 0, diagnostic 72) and the DTE's is offered instead.

Data transfer. ``send`` queues whole messages (circuit.py cuts them into
M-bit sequences); ``CircuitWritable`` follows a full queue getting room.
Received messages are DataReceived. A reset (``reset``, the peer's, or ours
on an error, which is also a ResetIndication) throws away everything queued
and half-received in both directions; ours is repeated r22 times every T22
(T12), then an SVC is cleared with diagnostic 51 and a PVC taken as reset.
One interrupt may be outstanding each way; we confirm the peer's at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from typing import Any, Final

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import ProtocolErrorSeen
from firmware_emu.x25 import codec
from firmware_emu.x25 import facilities as fac
from firmware_emu.x25.causes import ClearCause, Diagnostic, ResetCause, RestartCause, dte_may_send
from firmware_emu.x25.circuit import Circuit, CircuitError
from firmware_emu.x25.codec import Packet, PacketError, PacketType
from firmware_emu.x25.events import (
    CallCleared,
    CallConnected,
    CircuitWritable,
    DataReceived,
    IncomingCall,
    InterruptConfirmed,
    InterruptReceived,
    PacketLayerDown,
    PacketLayerReady,
    ResetIndication,
    RestartIndication,
)
from firmware_emu.x25.facilities import Facilities
from firmware_emu.x25.layer_config import PacketLayerConfig, PacketLayerCounters
from firmware_emu.x25.states import CALL_KINDS, CIRCUIT_KINDS, Act, Kind, Sender, State, cell

__all__ = ["Facilities", "PacketLayer", "PacketLayerConfig", "PacketLayerCounters"]

ERROR_REPORT_INTERVAL: Final = 1.0  # s; ProtocolErrorSeen at most this often per counter
LINK_DOWN_CLEAR: Final = (ClearCause.OUT_OF_ORDER, Diagnostic.NONE)
LINK_DOWN_RESET: Final = (ResetCause.NETWORK_OUT_OF_ORDER, Diagnostic.NONE)
CALL_COLLISION_END: Final = (0, Diagnostic.CALL_COLLISION)

_KIND: Final = {
    PacketType.RESTART: Kind.RESTART,
    PacketType.RESTART_CONFIRMATION: Kind.RESTART_CONF,
    PacketType.CALL: Kind.CALL,
    PacketType.CALL_ACCEPTED: Kind.CALL_ACC,
    PacketType.CLEAR: Kind.CLEAR,
    PacketType.CLEAR_CONFIRMATION: Kind.CLEAR_CONF,
    PacketType.RESET: Kind.RESET,
    PacketType.RESET_CONFIRMATION: Kind.RESET_CONF,
    PacketType.DATA: Kind.OTHER,
    PacketType.RR: Kind.OTHER,
    PacketType.RNR: Kind.OTHER,
    PacketType.REJ: Kind.OTHER,
    PacketType.INTERRUPT: Kind.OTHER,
    PacketType.INTERRUPT_CONFIRMATION: Kind.OTHER,
}
_CONFIRMATION: Final = {
    Kind.CLEAR: PacketType.CLEAR_CONFIRMATION,
    Kind.RESET: PacketType.RESET_CONFIRMATION,
}


class PacketLayer:
    """One X.25 interface's packet layer: all its logical channels."""

    def __init__(self, config: PacketLayerConfig, now: float) -> None:
        self.config = config
        self.counters = PacketLayerCounters()
        self._me = Sender.DTE if config.role == "dte" else Sender.DCE
        self._peer = self._me.other
        self._dte = self._me is Sender.DTE
        lcns = config.lcns()
        self._circuits: dict[int, Circuit] = {}
        for kind, numbers in lcns.items():
            for lcn in numbers:
                self._circuits[lcn] = Circuit(
                    lcn, pvc=kind == "pvc", modulo=config.modulo, queue_limit=config.tx_queue_limit
                )
        # Where each end may place calls (X.25 Annex A): the DTE on outgoing and two-way LCNs.
        self._dte_may_call = frozenset(lcns["outgoing"] + lcns["two_way"])
        self._dce_may_call = frozenset(lcns["incoming"] + lcns["two_way"])
        if self._dte:
            self._call_order = sorted(self._dte_may_call, reverse=True)
        else:
            self._call_order = sorted(self._dce_may_call)
        self._link = False
        self._ready = False
        self._r = State.R1
        self._r_deadline: float | None = None
        self._r_packet = b""
        self._timers: dict[int, float] = {}
        self._dirty: set[Circuit] = set()
        self._out: list[bytes] = []
        self._events: deque[Any] = deque()
        self._last_report: dict[str, float] = {}

    # =================================================================== the layer below

    def link_up(self, now: float) -> None:
        """The link came up: run the restart procedure. Again while up: the link was reset."""
        if self._link:
            self.link_down(now)
        self._link = True
        cause = RestartCause.DTE_ORIGINATED if self._dte else RestartCause.NETWORK_OPERATIONAL
        self._start_restart(cause, Diagnostic.NONE, now)

    def link_down(self, now: float) -> None:
        """Every call ends (cause 0x09 out of order), every PVC is reset (0x1D); nothing to send."""
        if not self._link:
            return
        was_ready = self._ready
        self._link = self._ready = False
        self._r = State.R1
        self._r_deadline = None
        self._end_all(*LINK_DOWN_CLEAR, *LINK_DOWN_RESET, by_peer=False, pvcs_usable=was_ready)
        self._out.clear()
        if was_ready:
            self._events.append(PacketLayerDown("link down"))

    def receive_packet(self, packet: bytes, now: float) -> None:
        if not self._link:
            self._count("link_not_up", "packet while the link is down", now)
            return
        try:
            p = codec.decode(packet)
        except PacketError as exc:
            self._bad_packet(exc, now)
        else:
            self._dispatch(p, packet, now)
        self._flush()

    def packets_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> object | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        deadline = self._r_deadline
        if self._timers:
            first = min(self._timers.values())
            if deadline is None or first < deadline:
                deadline = first
        return deadline

    def handle_timer(self, now: float) -> None:
        if self._r_deadline is not None and now >= self._r_deadline:
            self._count("timeouts", f"restart not confirmed after {self.config.t20} s: repeated", now)
            self._out.append(self._r_packet)
            self.counters.restarts_tx += 1
            self._r_deadline = now + self.config.t20
        for lcn, deadline in sorted(self._timers.items()):
            if now >= deadline and self._timers.get(lcn) == deadline:
                self._timeout(self._circuits[lcn], now)
        self._flush()

    @property
    def ready(self) -> bool:
        """Restarted, and the link is up."""
        return self._ready

    # =================================================================== the API

    def call(
        self,
        called: str,
        now: float,
        *,
        calling: str | None = None,
        user_data: bytes = b"",
        facilities: Facilities | None = None,
    ) -> int:
        """Place a call; return its LCN. CallConnected or CallCleared tells how it went."""
        self._require_ready()
        cfg = self.config
        calling = cfg.address if calling is None else calling
        codec.encode_address_block(called, calling)  # validates both
        f = facilities or Facilities()
        field = fac.request_field(f, cfg.max_packet_size, cfg.max_window)
        if len(user_data) > codec.MAX_CALL_USER_DATA:
            raise LocalProtocolError(f"call user data is at most {codec.MAX_CALL_USER_DATA} octets")
        circ = next((self._circuits[n] for n in self._call_order if self._circuits[n].p is State.P1), None)
        if circ is None:
            raise LocalProtocolError("no free logical channel for a call")
        packet = Packet(
            PacketType.CALL,
            circ.lcn,
            cfg.modulo,
            called=called,
            calling=calling,
            facilities=field,
            data=bytes(user_data),
        )
        raw = codec.encode(packet)  # LocalProtocolError (a facility field too long) before anything changes
        default_size, default_window = (cfg.packet_size,) * 2, (cfg.window,) * 2
        circ.requested = Facilities(f.packet_size or default_size, f.window or default_window)
        circ.we_called = circ.in_call = circ.reported = True
        circ.connected = False
        circ.p = cell(State.P1, self._me, Kind.CALL).next
        self._out.append(raw)
        self.counters.calls_out += 1
        self._arm(circ, "call", raw, now)
        return circ.lcn

    def accept(self, lcn: int, now: float, *, facilities: Facilities | None = None) -> None:
        """Accept an offered call, answering its facilities (default: towards the default, within ours)."""
        circ = self._svc(lcn)
        self._require_ready()
        if circ.we_called or cell(circ.p, self._me, Kind.CALL_ACC).act is not Act.NORMAL:
            raise LocalProtocolError(f"LCN {lcn}: no incoming call to accept ({self.circuit_state(lcn)})")
        cfg = self.config
        given = facilities or Facilities()
        req = circ.requested
        sizes = fac.choose_answer(req.packet_size, given.packet_size, cfg.packet_size, cfg.max_packet_size)
        windows = fac.choose_answer(req.window, given.window, cfg.window, cfg.max_window)
        answer = Facilities(
            sizes if req.packet_size is not None else None,
            windows if req.window is not None else None,
            given.other,
        )
        field = fac.build(answer)
        packet = Packet(PacketType.CALL_ACCEPTED, lcn, cfg.modulo, facilities=field or None)
        self._send(packet)
        circ.p = cell(circ.p, self._me, Kind.CALL_ACC).next
        # We are the called end: we send "towards the calling DTE".
        self._connect(circ, sizes[1], windows[1], sizes[0], windows[0])

    def clear(self, lcn: int, now: float, cause: int = 0, diagnostic: int = 0) -> None:
        """Clear (or refuse) a call. Nothing to do on an LCN that has no call or is clearing already."""
        circ = self._svc(lcn)
        cause = self._user_cause(cause, diagnostic)
        if not self._ready or circ.p in (State.P1, State.P6, State.P7):
            return
        self._start_clear(circ, cause, diagnostic, now)
        self._flush()

    def send(self, lcn: int, data: bytes, now: float, *, q: bool = False, d: bool = False) -> bool:
        """Queue one message; False (nothing queued) when that circuit's queue is full."""
        circ = self._circuit(lcn)
        if not self._ready or circ.p is not State.P4:
            raise LocalProtocolError(f"LCN {lcn} is not in data transfer ({self.circuit_state(lcn)})")
        if not circ.queue_message(data, q, d):
            return False
        self._dirty.add(circ)
        self._flush()
        return True

    def can_send(self, lcn: int) -> bool:
        circ = self._circuits.get(lcn)
        return circ is not None and self._ready and circ.p is State.P4 and circ.can_queue()

    def set_busy(self, lcn: int, busy: bool, now: float) -> None:
        """RNR while busy, RR when no longer. A circuit not in data transfer just forgets it."""
        circ = self._circuit(lcn)
        if not self._ready or circ.p is not State.P4:
            return
        if circ.d is not State.D1:
            circ.local_busy = busy  # said when the reset completes
            return
        packet = circ.set_busy(busy)
        if packet is not None:
            self._send(packet)
        self._dirty.add(circ)
        self._flush()

    def reset(self, lcn: int, now: float, cause: int = 0, diagnostic: int = 0) -> None:
        """Reset a circuit in data transfer: what is queued and in flight is lost."""
        circ = self._circuit(lcn)
        cause = self._user_cause(cause, diagnostic)
        if not self._ready or circ.p is not State.P4:
            raise LocalProtocolError(f"LCN {lcn} is not in data transfer ({self.circuit_state(lcn)})")
        if circ.d is State.D1:
            self._start_reset(circ, cause, diagnostic, now)
            self._flush()

    def interrupt(self, lcn: int, data: bytes, now: float) -> None:
        """Send an interrupt (1 to 32 octets); one may be outstanding (InterruptConfirmed)."""
        circ = self._circuit(lcn)
        if not self._ready or circ.p is not State.P4 or circ.d is not State.D1:
            raise LocalProtocolError(f"LCN {lcn} is not in data transfer ({self.circuit_state(lcn)})")
        if not 1 <= len(data) <= codec.MAX_INTERRUPT_DATA:
            raise LocalProtocolError("interrupt user data is 1 to 32 octets")
        if circ.interrupt_out:
            raise LocalProtocolError(f"LCN {lcn}: an interrupt is already outstanding")
        circ.interrupt_out = True
        circ.counters.interrupts_tx += 1
        self._send(Packet(PacketType.INTERRUPT, lcn, self.config.modulo, data=bytes(data)))

    def circuit_state(self, lcn: int) -> str:
        """unassigned, down, ready (p1), calling, called, connected, clearing, pvc."""
        circ = self._circuits.get(lcn)
        if circ is None:
            return "unassigned"
        if not self._ready:
            return "down"
        if circ.pvc:
            return "pvc"
        p = circ.p
        if p is State.P1:
            return "ready"
        if p is State.P4:
            return "connected"
        if p in (State.P6, State.P7):
            return "clearing"
        return "calling" if circ.we_called else "called"

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot: restart state, the circuits that are not idle, counters."""
        circuits = {}
        for lcn, circ in self._circuits.items():
            if circ.pvc or circ.p is not State.P1:
                circuits[lcn] = {"state": self.circuit_state(lcn), **circ.status()}
        return {
            "role": self.config.role,
            "modulo": self.config.modulo,
            "link_up": self._link,
            "ready": self._ready,
            "restart_state": self._r.value if self._link else "down",
            "circuits": circuits,
            "counters": asdict(self.counters),
        }

    # =================================================================== receiving

    def _dispatch(self, p: Packet, raw: bytes, now: float) -> None:
        if p.modulo != self.config.modulo:
            self._diagnose(Diagnostic.INVALID_GFI, raw, "malformed", f"modulo {p.modulo} packet", now)
            return
        if p.lcn == 0:
            if p.type in (PacketType.RESTART, PacketType.RESTART_CONFIRMATION):
                self._restart_packet(p, now)
            elif p.type is PacketType.DIAGNOSTIC:
                self.counters.diagnostics_rx += 1
                self._report("diagnostics_rx", f"diagnostic {p.diagnostic} about {p.data.hex()}", now)
            elif p.type in codec.LCN0_TYPES:  # registration: not supported
                self._diagnose(Diagnostic.UNIDENTIFIABLE_PACKET, raw, "unknown_type", p.type.name, now)
            else:
                self._diagnose(
                    Diagnostic.UNASSIGNED_LCN, raw, "unassigned_lcn", f"{p.type.name} on LCN 0", now
                )
            return
        circ = self._circuits.get(p.lcn)
        if circ is None:
            self._diagnose(
                Diagnostic.UNASSIGNED_LCN, raw, "unassigned_lcn", f"{p.type.name} on LCN {p.lcn}", now
            )
            return
        if self._r is not State.R1:
            self._count("discarded", f"{p.type.name} on LCN {p.lcn} while restarting", now)
            return
        kind = _KIND[p.type]
        if circ.pvc:
            if kind in CALL_KINDS:
                self._reset_error(
                    circ,
                    Diagnostic.INVALID_PACKET_ON_PVC,
                    "invalid_in_state",
                    f"{p.type.name} on PVC {p.lcn}",
                    now,
                )
            else:
                self._reset_machine(circ, p, kind, now)
            return
        c = cell(circ.p, self._peer, kind)
        if c.act is Act.DISCARD:
            self._count("discarded", f"{p.type.name} on LCN {p.lcn} in {circ.p.value}", now)
        elif c.act is Act.ERROR:
            detail = f"{p.type.name} on LCN {p.lcn} in {circ.p.value}"
            self._clear_error(circ, c.diagnostic, "invalid_in_state", detail, now)
        elif kind is Kind.CALL:
            self._incoming_call(circ, p, now)
        elif kind is Kind.CALL_ACC:
            self._call_accepted(circ, p, now)
        elif kind is Kind.CLEAR:
            self.counters.clears_rx += 1
            if c.act is Act.CONFIRM:
                circ.end = circ.end or (p.cause, p.diagnostic or 0, True)
                circ.p = c.next
                self._confirm(circ, Kind.CLEAR)
            self._end_call(circ)  # a confirmed clear, or a clear collision
        elif kind is Kind.CLEAR_CONF:
            self._end_call(circ)
        else:
            self._reset_machine(circ, p, kind, now)

    def _bad_packet(self, exc: PacketError, now: float) -> None:
        diag = exc.diagnostic
        counter = "unknown_type" if diag == Diagnostic.UNIDENTIFIABLE_PACKET else "malformed"
        lcn, detail = exc.lcn, str(exc)
        if lcn is None or diag == Diagnostic.INVALID_GFI:
            self._diagnose(diag, exc.header, counter, detail, now)
            return
        if lcn == 0:
            if exc.ptype is PacketType.RESTART and self._r is State.R1:
                self._restart_error(diag, counter, detail, now)
            elif exc.ptype is PacketType.RESTART:
                self._count("discarded", detail, now)
            else:
                self._diagnose(diag, exc.header, counter, detail, now)
            return
        circ = self._circuits.get(lcn)
        if circ is None:
            self._diagnose(Diagnostic.UNASSIGNED_LCN, exc.header, "unassigned_lcn", detail, now)
        elif self._r is not State.R1:
            self._count("discarded", detail, now)
        else:
            kind = _KIND.get(exc.ptype) if exc.ptype is not None else None
            self._circuit_error(circ, kind if kind in CIRCUIT_KINDS else None, diag, counter, detail, now)

    def _circuit_error(
        self, circ: Circuit, kind: Kind | None, diag: int, counter: str, detail: str, now: float
    ) -> None:
        """Answer a bad packet on a circuit as the machine that would have taken it does."""
        if circ.pvc or (circ.p is State.P4 and kind not in CALL_KINDS):
            if circ.d is State.D1:
                self._reset_error(circ, diag, counter, detail, now)
            else:
                self._count("discarded", detail, now)
            return
        waiting = circ.p in (State.P6, State.P7)
        if waiting or (kind is not None and cell(circ.p, self._peer, kind).act is Act.DISCARD):
            self._count("discarded", detail, now)
        else:
            self._clear_error(circ, diag, counter, detail, now)

    # ------------------------------------------------------------------- restart

    def _restart_packet(self, p: Packet, now: float) -> None:
        kind = _KIND[p.type]
        c = cell(self._r, self._peer, kind)
        if kind is Kind.RESTART:
            self.counters.restarts_rx += 1
        if c.act is Act.DISCARD:
            self._count("discarded", f"{p.type.name} in {self._r.value}", now)
        elif c.act is Act.ERROR:
            detail = f"{p.type.name} in {self._r.value}"
            if self._r is State.R1:
                self._restart_error(c.diagnostic, "invalid_in_state", detail, now)
            else:
                self._count("invalid_in_state", detail, now)
        elif c.act is Act.CONFIRM:  # the peer restarts us: confirm at once
            diag = p.diagnostic or 0
            self._events.append(RestartIndication(p.cause, diag))
            self._end_all(p.cause, diag, p.cause, diag, by_peer=True, pvcs_usable=self._ready)
            self._r = c.next
            self._send(Packet(PacketType.RESTART_CONFIRMATION, 0, self.config.modulo))
            self._r = cell(self._r, self._me, Kind.RESTART_CONF).next
            self._restarted()
        else:  # our restart confirmed, or crossed by the peer's
            self._r = c.next
            self._restarted()

    def _restarted(self) -> None:
        self.counters.restarts += 1
        self._r_deadline = None
        cfg = self.config
        for circ in self._circuits.values():
            if circ.pvc:
                circ.open(cfg.packet_size, cfg.window, cfg.packet_size, cfg.window)
        if not self._ready:
            self._ready = True
            self._events.append(PacketLayerReady())

    def _start_restart(self, cause: int, diag: int, now: float) -> None:
        self._r = cell(State.R1, self._me, Kind.RESTART).next
        self._r_packet = codec.encode(
            Packet(PacketType.RESTART, 0, self.config.modulo, cause=cause, diagnostic=diag)
        )
        self._out.append(self._r_packet)
        self.counters.restarts_tx += 1
        self._r_deadline = now + self.config.t20

    def _restart_error(self, diag: int, counter: str, detail: str, now: float) -> None:
        self._count(counter, detail, now)
        cause = RestartCause.DTE_ORIGINATED if self._dte else RestartCause.LOCAL_PROCEDURE_ERROR
        self._events.append(RestartIndication(cause, diag))
        was_ready = self._ready
        self._end_all(cause, diag, cause, diag, by_peer=False, pvcs_usable=was_ready)
        self._ready = False
        if was_ready:
            self._events.append(PacketLayerDown(f"restart: {detail}"))
        self._start_restart(cause, diag, now)

    def _end_all(
        self, cause: int, diag: int, pvc_cause: int, pvc_diag: int, *, by_peer: bool, pvcs_usable: bool
    ) -> None:
        """Every call ends and every PVC is reset (restart, link loss)."""
        for circ in self._circuits.values():
            self._stop(circ)
            if circ.pvc:
                lost = circ.flush()
                self.counters.lost_messages += lost
                circ.d = State.D1
                circ.blocked = False
                if pvcs_usable:
                    self._events.append(ResetIndication(circ.lcn, pvc_cause, pvc_diag))
            elif circ.p is not State.P1:
                circ.end = circ.end or (cause, diag, by_peer)
                self._end_call(circ)

    # ------------------------------------------------------------------- calls

    def _incoming_call(self, circ: Circuit, p: Packet, now: float) -> None:
        self.counters.call_collisions += circ.p is not State.P1
        if circ.p is State.P2:  # a DTE's call collided: the DCE will serve ours, theirs is gone
            circ.p = State.P5
            return
        if circ.p is State.P3:  # a DCE's call collided: ours is dropped, the DTE's offered
            circ.end = (*CALL_COLLISION_END, True)
            self._end_call(circ, next_state=State.P5)
        else:
            may_call = self._dce_may_call if self._dte else self._dte_may_call
            if circ.lcn not in may_call:
                circ.p = cell(circ.p, self._peer, Kind.CALL).next
                self._clear_error(
                    circ,
                    Diagnostic.CALL_ON_ONE_WAY_CHANNEL,
                    "invalid_in_state",
                    f"call on one-way LCN {circ.lcn}",
                    now,
                )
                return
            circ.p = cell(State.P1, self._peer, Kind.CALL).next
        try:
            requested = fac.parse(p.facilities or b"")
        except PacketError as exc:
            counter = (
                "unknown_facility" if exc.diagnostic == Diagnostic.FACILITY_CODE_NOT_ALLOWED else "malformed"
            )
            self._clear_error(circ, exc.diagnostic, counter, f"call on LCN {circ.lcn}: {exc}", now)
            return
        if requested.window is not None and max(requested.window) >= self.config.modulo:
            self._clear_error(
                circ,
                Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED,
                "malformed",
                f"window {requested.window} with modulo {self.config.modulo}",
                now,
            )
            return
        if fac.fast_select(requested):
            self.counters.calls_refused += 1
            if self._dte:
                self._start_clear(circ, ClearCause.DTE_ORIGINATED, Diagnostic.FAST_SELECT_NOT_SUBSCRIBED, now)
            else:
                self._start_clear(circ, ClearCause.FAST_SELECT_NOT_SUBSCRIBED, Diagnostic.NONE, now)
            return
        if len(p.data) > codec.MAX_CALL_USER_DATA:
            self._clear_error(
                circ,
                Diagnostic.PACKET_TOO_LONG,
                "malformed",
                f"{len(p.data)} octets of call user data without fast select",
                now,
            )
            return
        circ.requested = requested
        circ.we_called, circ.connected = False, False
        circ.in_call = circ.reported = True
        self.counters.calls_in += 1
        self._events.append(IncomingCall(circ.lcn, p.called, p.calling, p.data, requested))

    def _call_accepted(self, circ: Circuit, p: Packet, now: float) -> None:
        cfg = self.config
        try:
            answer = fac.parse(p.facilities or b"")
        except PacketError as exc:
            counter = (
                "unknown_facility" if exc.diagnostic == Diagnostic.FACILITY_CODE_NOT_ALLOWED else "malformed"
            )
            self._clear_error(circ, exc.diagnostic, counter, f"call accepted on LCN {circ.lcn}: {exc}", now)
            return
        req = circ.requested
        assert req.packet_size is not None and req.window is not None  # we filled them in call()
        sizes = answer.packet_size or req.packet_size
        windows = answer.window or req.window
        if (
            max(windows) >= cfg.modulo
            or not fac.answer_valid(req.packet_size, sizes, cfg.packet_size)
            or not fac.answer_valid(req.window, windows, cfg.window)
        ):
            self._clear_error(
                circ,
                Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED,
                "malformed",
                f"LCN {circ.lcn}: answer {sizes}/{windows} to {req.packet_size}/{req.window}",
                now,
            )
            return
        circ.p = State.P4
        self._stop(circ)
        self._connect(circ, sizes[0], windows[0], sizes[1], windows[1])  # we are the calling end

    def _connect(self, circ: Circuit, tx_size: int, tx_window: int, rx_size: int, rx_window: int) -> None:
        circ.d = State.D1
        circ.connected = True
        circ.open(tx_size, tx_window, rx_size, rx_window)
        self.counters.calls_accepted += 1
        self._events.append(CallConnected(circ.lcn, tx_size, tx_window))

    def _start_clear(self, circ: Circuit, cause: int, diag: int, now: float) -> None:
        circ.p = cell(circ.p, self._me, Kind.CLEAR).next
        circ.end = circ.end or (cause, diag, False)
        self.counters.lost_messages += circ.flush()
        circ.blocked = False
        self.counters.clears_tx += 1
        packet = self._send(
            Packet(PacketType.CLEAR, circ.lcn, self.config.modulo, cause=cause, diagnostic=diag)
        )
        self._arm(circ, "clear", packet, now)

    def _clear_error(self, circ: Circuit, diag: int, counter: str, detail: str, now: float) -> None:
        self._count(counter, detail, now)
        cause = ClearCause.DTE_ORIGINATED if self._dte else ClearCause.LOCAL_PROCEDURE_ERROR
        self._start_clear(circ, cause, diag, now)

    def _end_call(self, circ: Circuit, next_state: State = State.P1) -> None:
        """The call on this LCN is over (CallCleared if the user knew it); the LCN is free."""
        self._stop(circ)
        self.counters.lost_messages += circ.flush()
        if circ.in_call:
            if not circ.connected:
                self.counters.calls_refused += 1
            if circ.reported:
                cause, diag, by_peer = circ.end or (0, 0, False)
                self._events.append(CallCleared(circ.lcn, cause, diag, by_peer))
        circ.p, circ.d = next_state, State.D1
        circ.end = None
        circ.in_call = circ.reported = circ.connected = circ.we_called = circ.blocked = False
        circ.requested = Facilities()

    # ------------------------------------------------------------------- reset and data

    def _reset_machine(self, circ: Circuit, p: Packet, kind: Kind, now: float) -> None:
        c = cell(circ.d, self._peer, kind)
        if c.act is Act.DISCARD:
            self._count("discarded", f"{p.type.name} on LCN {circ.lcn} in {circ.d.value}", now)
        elif c.act is Act.ERROR:
            detail = f"{p.type.name} on LCN {circ.lcn} in {circ.d.value}"
            if circ.d is State.D1:
                self._reset_error(circ, c.diagnostic, "invalid_in_state", detail, now)
            else:
                self._count("invalid_in_state", detail, now)
        elif kind is Kind.RESET:
            self.counters.resets_rx += 1
            circ.counters.resets += 1
            if c.act is Act.CONFIRM:
                self._events.append(ResetIndication(circ.lcn, p.cause, p.diagnostic or 0))
                self.counters.lost_messages += circ.flush()
                circ.d = c.next
                self._confirm(circ, Kind.RESET)
            else:
                self._reset_done(circ, c.next)
        elif kind is Kind.RESET_CONF:
            self._reset_done(circ, c.next)
        else:
            self._data_plane(circ, p, now)

    def _reset_done(self, circ: Circuit, state: State) -> None:
        circ.d = state
        self._stop(circ)
        if circ.local_busy:  # set while resetting: tell the peer now
            circ.local_busy = False
            packet = circ.set_busy(True)
            assert packet is not None
            self._send(packet)
        self._dirty.add(circ)

    def _data_plane(self, circ: Circuit, p: Packet, now: float) -> None:
        t = p.type
        try:
            if t is PacketType.DATA:
                message = circ.receive_data(p)
                c = self.counters
                c.data_packets_rx += 1
                c.data_bytes_rx += len(p.data)
                if message is not None:
                    self._events.append(DataReceived(circ.lcn, *message))
            elif t is PacketType.INTERRUPT:
                self.counters.interrupts_rx += 1
                circ.counters.interrupts_rx += 1
                self._events.append(InterruptReceived(circ.lcn, p.data))
                self._send(Packet(PacketType.INTERRUPT_CONFIRMATION, circ.lcn, self.config.modulo))
            elif t is PacketType.INTERRUPT_CONFIRMATION:
                if not circ.interrupt_out:
                    raise CircuitError(
                        Diagnostic.UNAUTHORIZED_INTERRUPT_CONFIRMATION,
                        "invalid_in_state",
                        f"LCN {circ.lcn}: interrupt confirmation with no interrupt",
                    )
                circ.interrupt_out = False
                self._events.append(InterruptConfirmed(circ.lcn))
            else:
                if t is PacketType.RR:
                    self.counters.rr_rx += 1
                elif t is PacketType.RNR:
                    self.counters.rnr_rx += 1
                circ.receive_flow(p)
        except CircuitError as exc:
            self._reset_error(circ, exc.diagnostic, exc.counter, exc.detail, now)
            return
        self._dirty.add(circ)

    def _start_reset(self, circ: Circuit, cause: int, diag: int, now: float) -> None:
        circ.d = cell(circ.d, self._me, Kind.RESET).next
        circ.counters.resets += 1
        self.counters.lost_messages += circ.flush()
        self.counters.resets_tx += 1
        packet = self._send(
            Packet(PacketType.RESET, circ.lcn, self.config.modulo, cause=cause, diagnostic=diag)
        )
        self._arm(circ, "reset", packet, now)
        self._dirty.add(circ)

    def _reset_error(self, circ: Circuit, diag: int, counter: str, detail: str, now: float) -> None:
        self._count(counter, detail, now)
        cause = ResetCause.DTE_ORIGINATED if self._dte else ResetCause.LOCAL_PROCEDURE_ERROR
        self._events.append(ResetIndication(circ.lcn, cause, diag))
        self._start_reset(circ, cause, diag, now)

    # =================================================================== timers

    def _arm(self, circ: Circuit, timer: str, packet: bytes, now: float) -> None:
        cfg = self.config
        timers = {"call": (cfg.t21, 0), "reset": (cfg.t22, cfg.r22), "clear": (cfg.t23, cfg.r23)}
        duration, retries = timers[timer]
        circ.timer, circ.retries, circ.pending_packet = timer, retries, packet
        circ.deadline = now + duration
        self._timers[circ.lcn] = circ.deadline

    def _stop(self, circ: Circuit) -> None:
        circ.timer, circ.deadline, circ.pending_packet = "", None, None
        self._timers.pop(circ.lcn, None)

    def _timeout(self, circ: Circuit, now: float) -> None:
        timer = circ.timer
        if circ.retries > 0:
            circ.retries -= 1
            self._count("timeouts", f"LCN {circ.lcn}: no {timer} confirmation: repeated", now)
            assert circ.pending_packet is not None
            self._out.append(circ.pending_packet)
            if timer == "clear":
                self.counters.clears_tx += 1
            else:
                self.counters.resets_tx += 1
            circ.deadline = now + (self.config.t23 if timer == "clear" else self.config.t22)
            self._timers[circ.lcn] = circ.deadline
            return
        explanation = (circ.pending_packet or b"")[:3]
        self._stop(circ)
        if timer == "call":
            self._clear_error(
                circ, Diagnostic.TIME_EXPIRED_CALL, "timeouts", f"LCN {circ.lcn}: call not answered", now
            )
        elif timer == "clear":
            self._count("timeouts", f"LCN {circ.lcn}: clear never confirmed: LCN taken back", now)
            self._end_call(circ)
            self._diagnostic_packet(Diagnostic.TIME_EXPIRED_CLEAR, explanation)
        else:
            detail = f"LCN {circ.lcn}: reset never confirmed"
            if circ.pvc:
                self._count("timeouts", detail + ": taken as done", now)
                self._reset_done(circ, State.D1)
                self._diagnostic_packet(Diagnostic.TIME_EXPIRED_RESET, explanation)
            else:
                self._clear_error(circ, Diagnostic.TIME_EXPIRED_RESET, "timeouts", detail, now)

    # =================================================================== helpers

    def _confirm(self, circ: Circuit, kind: Kind) -> None:
        """Answer the peer's clear or reset with its confirmation (the cell of our confirmation)."""
        self._send(Packet(_CONFIRMATION[kind], circ.lcn, self.config.modulo))
        conf = Kind.CLEAR_CONF if kind is Kind.CLEAR else Kind.RESET_CONF
        if kind is Kind.CLEAR:
            circ.p = cell(circ.p, self._me, conf).next
        else:
            self._reset_done(circ, cell(circ.d, self._me, conf).next)

    def _send(self, p: Packet) -> bytes:
        raw = codec.encode(p)
        self._out.append(raw)
        c = self.counters
        t = p.type
        if t is PacketType.DATA:
            c.data_packets_tx += 1
            c.data_bytes_tx += len(p.data)
        elif t is PacketType.RR:
            c.rr_tx += 1
        elif t is PacketType.RNR:
            c.rnr_tx += 1
        elif t is PacketType.INTERRUPT:
            c.interrupts_tx += 1
        return raw

    def _flush(self) -> None:
        """Let data out of the circuits touched: window, acknowledgement, writability."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        for circ in sorted(dirty, key=lambda c: c.lcn):
            if not self._ready or circ.p is not State.P4:
                continue
            if circ.d is State.D1:
                for packet in circ.transmit():
                    self._send(packet)
                ack = circ.ack()
                if ack is not None:
                    self._send(ack)
            if circ.writable():
                self._events.append(CircuitWritable(circ.lcn))

    def _diagnose(self, diag: int, raw: bytes, counter: str, detail: str, now: float) -> None:
        """A packet that belongs to no circuit: counted; the DCE also sends a diagnostic packet."""
        self._count(counter, detail, now)
        self._diagnostic_packet(diag, codec.header(raw))

    def _diagnostic_packet(self, diag: int, explanation: bytes) -> None:
        if not self._dte:
            self.counters.diagnostics_tx += 1
            self._send(
                Packet(PacketType.DIAGNOSTIC, 0, self.config.modulo, diagnostic=diag, data=explanation)
            )

    def _require_ready(self) -> None:
        if not self._ready:
            raise LocalProtocolError("the X.25 packet layer is not ready (link down or restarting)")

    def _circuit(self, lcn: int) -> Circuit:
        circ = self._circuits.get(lcn)
        if circ is None:
            raise LocalProtocolError(f"LCN {lcn} is not configured on this line")
        return circ

    def _svc(self, lcn: int) -> Circuit:
        circ = self._circuit(lcn)
        if circ.pvc:
            raise LocalProtocolError(f"LCN {lcn} is a PVC: it has no calls")
        return circ

    def _user_cause(self, cause: int, diagnostic: int) -> int:
        """The cause to send for the user's: a DTE's goes out with bit 8 set unless it is 0
        (X.25: the DTE's bits 7-1 are its own only then)."""
        if not (0 <= cause <= 255 and 0 <= diagnostic <= 255):
            raise LocalProtocolError("cause and diagnostic are octets")
        return cause | 0x80 if self._dte and not dte_may_send(cause) else cause

    def _count(self, counter: str, detail: str, now: float) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        self._report(counter, detail, now)

    def _report(self, counter: str, detail: str, now: float) -> None:
        last = self._last_report.get(counter)
        if last is None or now - last >= ERROR_REPORT_INTERVAL or now < last:
            self._last_report[counter] = now
            self._events.append(ProtocolErrorSeen(counter, detail))
