"""Frame Relay link management: the LMI state machines of a DTE and a DCE.

Theory of operation
-------------------
The link is STOPPED (port not started), DOWN (started, not verified) or UP.
Four inputs move it, exactly as the TRANSITIONS table below says; anything
not in the table is a misuse of the API (LocalProtocolError):

* START / STOP: the driver starts or stops the port.
* VERIFIED: proof that the peer is there and in step. For a DTE this is a
  valid FULL STATUS reply to its enquiry; for a DCE a STATUS ENQUIRY whose
  receive sequence number acknowledges our last STATUS; with signalling
  "none" the START itself.
* ERRORS: N392 of the last N393 monitored events were errors.

Monitored events. The DTE counts one per poll: good if a STATUS with the right
sequence numbers came back, an error if the sequence numbers were wrong or no
reply came before the next T391 tick. The DCE counts one per enquiry (good if
in sequence) and an error for every T392 that passes without an enquiry. The
window is cleared whenever the link comes UP, so recovery is a fresh start.

Sequence numbers. Each side keeps a send number (incremented before each
message, 255 wraps to 1, never 0) and a receive number (the peer's last send
number), and puts both in the link integrity verification IE of every message.

Polling (DTE). One STATUS ENQUIRY every T391, the first one at START. It asks
for FULL STATUS on the first poll, every N391th poll, whenever the link is
DOWN (so that it comes back on the next good reply), after a sequence error,
and after a DLCI was added; otherwise for link integrity only.

Reporting (DCE). It answers every enquiry. It sends FULL STATUS when asked,
or when something changed since the last one (PVC added, removed, activated,
deactivated, link came UP). A PVC carries the "new" bit until the DTE has
acknowledged (by an in-sequence enquiry) the full status that first listed
it; another full status then reports it without the bit. Unlike hdlc_fr.c,
which reports a new PVC as inactive until then, the active bit is set along
with the new bit (Q.933 allows both), so the PVC is usable one poll sooner.

PVCs. Every entry point compares each configured PVC's (state, usable) before
and after, and emits PvcStatusChanged for those that differ. ``usable`` is:
link UP, PVC reported (DTE) or set (DCE, none) active, and not disabled with
``set_admin_active``. Link events come first in the event list, then PVCs.

Like hdlc_fr.c, this keeps no state per PVC beyond what a full status needs:
a DCE never sends asynchronous (single PVC) status, though a DTE applies one
it receives; there is no bandwidth enforcement; PVCs the network reports that
we do not have configured are only listed in status().
"""

from __future__ import annotations

import enum
import functools
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr import lmi_codec
from firmware_emu.fr.config import FrameRelayConfig
from firmware_emu.fr.events import (
    FrameRelayEvent,
    LinkDown,
    LinkUp,
    ProtocolErrorSeen,
    PvcState,
    PvcStatusChanged,
)
from firmware_emu.fr.lmi_codec import LinkIntegrity, LmiMessage, MessageType, PvcStatus, ReportType, Variant


class LinkState(enum.Enum):
    STOPPED = "stopped"
    DOWN = "down"
    UP = "up"


class LinkInput(enum.Enum):
    START = "start"
    STOP = "stop"
    VERIFIED = "verified"
    ERRORS = "errors"


_S, _I = LinkState, LinkInput
TRANSITIONS: Final[dict[tuple[LinkState, LinkInput], LinkState]] = {
    (_S.STOPPED, _I.START): _S.DOWN,
    (_S.STOPPED, _I.STOP): _S.STOPPED,
    (_S.DOWN, _I.STOP): _S.STOPPED,
    (_S.DOWN, _I.VERIFIED): _S.UP,
    (_S.DOWN, _I.ERRORS): _S.DOWN,
    (_S.UP, _I.STOP): _S.STOPPED,
    (_S.UP, _I.VERIFIED): _S.UP,
    (_S.UP, _I.ERRORS): _S.DOWN,
}

# PvcStatusChanged is emitted for a newly added PVC only if it differs from this.
_UNKNOWN: Final = (PvcState.DELETED, False)


def next_seq(seq: int) -> int:
    """The sequence number after ``seq``: 1..255, skipping 0 on wrap."""
    return seq % 255 + 1


@dataclass
class LmiCounters:
    enquiries_sent: int = 0
    enquiries_received: int = 0
    status_sent: int = 0
    status_received: int = 0
    full_status_sent: int = 0
    full_status_received: int = 0
    lmi_errors: int = 0  # malformed LMI frames, sequence errors, unexpected messages
    sequence_errors: int = 0  # the part of lmi_errors that were sequence errors
    t391_timeouts: int = 0  # DTE: poll not answered before the next one
    t392_timeouts: int = 0  # DCE: no enquiry within T392
    link_down_events: int = 0


@dataclass
class Pvc:
    dlci: int
    admin_active: bool = True  # DCE: what we report; all roles: locally enabled
    bandwidth: int = 0  # DCE: reported (Cisco); DTE: as reported by the network
    state: PvcState = PvcState.DELETED
    network_active: bool = False  # DTE: the active bit of the last report
    reported: bool = False  # DCE: acknowledged by the DTE in a full status since link up


class ErrorWindow:
    """The last N393 monitored events; True is an error."""

    def __init__(self, n393: int) -> None:
        self._events: deque[bool] = deque(maxlen=n393)

    def record(self, error: bool) -> int:
        self._events.append(error)
        return self.errors

    @property
    def errors(self) -> int:
        return sum(self._events)

    def clear(self) -> None:
        self._events.clear()

    def as_list(self) -> list[bool]:
        return list(self._events)


P = ParamSpec("P")
R = TypeVar("R")


def _tracked(method: Callable[Concatenate[LinkMachine, P], R]) -> Callable[Concatenate[LinkMachine, P], R]:
    """Emit PvcStatusChanged for every PVC whose (state, usable) the call changed."""

    @functools.wraps(method)
    def wrapper(self: LinkMachine, *args: P.args, **kwargs: P.kwargs) -> R:
        before = self._snapshot()
        try:
            return method(self, *args, **kwargs)
        finally:
            for dlci, pvc in self._pvcs.items():
                now = (pvc.state, self._usable(pvc))
                if before.get(dlci, _UNKNOWN) != now:
                    self._events.append(PvcStatusChanged(dlci, now[0], now[1]))

    return wrapper


def validate_config(cfg: FrameRelayConfig) -> None:
    """LocalProtocolError if the port configuration cannot work."""
    if cfg.station not in ("cpe", "node"):
        raise LocalProtocolError(f"station must be 'cpe' or 'node', not {cfg.station!r}")
    if cfg.signalling not in ("ansi", "q933", "cisco", "none"):
        raise LocalProtocolError(f"unknown signalling {cfg.signalling!r}")
    if cfg.encapsulation not in ("ietf", "cisco"):
        raise LocalProtocolError(f"unknown encapsulation {cfg.encapsulation!r}")
    if cfg.t391 <= 0 or cfg.t392 <= 0:
        raise LocalProtocolError("T391 and T392 must be positive")
    if cfg.n391 < 1 or cfg.n392 < 1 or cfg.n393 < cfg.n392:
        raise LocalProtocolError("need N391 >= 1 and 1 <= N392 <= N393")


class LinkMachine:
    """What the three roles share: link state, PVC table, error window, outputs."""

    role = "none"

    def __init__(self, config: FrameRelayConfig) -> None:
        validate_config(config)
        self._cfg = config
        self._state = LinkState.STOPPED
        self._pvcs: dict[int, Pvc] = {}
        self._window = ErrorWindow(config.n393)
        self._frames: list[bytes] = []
        self._events: list[FrameRelayEvent] = []
        self._deadline: float | None = None
        self.counters = LmiCounters()

    # ---------------------------------------------------------------- queries

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def link_up(self) -> bool:
        return self._state is LinkState.UP

    def pvc(self, dlci: int) -> Pvc:
        try:
            return self._pvcs[dlci]
        except KeyError:
            raise LocalProtocolError(f"unknown DLCI {dlci}") from None

    def usable(self, dlci: int) -> bool:
        return self._usable(self.pvc(dlci))

    def get_timer(self) -> float | None:
        return self._deadline

    def take_frames(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        return frames

    def take_events(self) -> list[FrameRelayEvent]:
        events, self._events = self._events, []
        return events

    def status(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "state": self._state.value,
            "n392": self._cfg.n392,
            "n393": self._cfg.n393,
            "error_window": self._window.as_list(),
            "errors_in_window": self._window.errors,
            **asdict(self.counters),
        }

    # ----------------------------------------------------------- entry points

    @_tracked
    def start(self, now: float) -> None:
        self._fire(LinkInput.START, "")
        self._window.clear()
        self._on_start(now)

    @_tracked
    def stop(self, now: float) -> None:
        self._fire(LinkInput.STOP, "stopped")
        self._deadline = None
        self._frames.clear()

    @_tracked
    def add_pvc(self, dlci: int, now: float, *, bandwidth: int = 0) -> None:
        if dlci in self._pvcs:
            raise LocalProtocolError(f"DLCI {dlci} already configured")
        # Clamped: the Cisco PVC status IE has 3 octets for it.
        pvc = Pvc(dlci, bandwidth=max(0, min(bandwidth, lmi_codec.BANDWIDTH_MAX)))
        self._pvcs[dlci] = pvc
        self._on_pvc_added(pvc)

    @_tracked
    def remove_pvc(self, dlci: int, now: float) -> None:
        self.pvc(dlci)
        del self._pvcs[dlci]
        self._on_pvc_removed(dlci)

    @_tracked
    def set_admin_active(self, dlci: int, active: bool, now: float) -> None:
        pvc = self.pvc(dlci)
        if pvc.admin_active != active:
            pvc.admin_active = active
            self._on_admin_changed(pvc)

    @_tracked
    def receive(self, frame: bytes, now: float) -> None:
        """An LMI frame (address first). Never raises for the peer's faults."""
        if self._state is LinkState.STOPPED:
            return
        if self._cfg.signalling == "none":
            self._lmi_error("LMI frame received but signalling is none")
            return
        try:
            msg = lmi_codec.decode(self._variant, frame)
            self._on_message(msg, now)
        except RemoteProtocolError as exc:
            self._lmi_error(str(exc))

    @_tracked
    def handle_timer(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline:
            self._on_timer(now)

    # --------------------------------------------------------------- helpers

    @property
    def _variant(self) -> Variant:
        return Variant(self._cfg.signalling)

    def _snapshot(self) -> dict[int, tuple[PvcState, bool]]:
        return {dlci: (pvc.state, self._usable(pvc)) for dlci, pvc in self._pvcs.items()}

    def _fire(self, inp: LinkInput, reason: str) -> None:
        old = self._state
        try:
            new = TRANSITIONS[(old, inp)]
        except KeyError:
            raise LocalProtocolError(f"{inp.value} not allowed when link is {old.value}") from None
        self._state = new
        if new is LinkState.UP and old is not LinkState.UP:
            self._window.clear()
            self._events.append(LinkUp())
            self._on_up()
        elif old is LinkState.UP and new is not LinkState.UP:
            self.counters.link_down_events += 1
            self._events.append(LinkDown(reason))
            self._on_down()

    def _monitored(self, error: bool, reason: str) -> None:
        """Record one monitored event; take the link down at N392 errors of N393."""
        errors = self._window.record(error)
        if error and errors >= self._cfg.n392 and self._state is LinkState.UP:
            self._fire(LinkInput.ERRORS, f"{errors} errors in the last {self._cfg.n393} events ({reason})")

    def _lmi_error(self, detail: str, counter: str = "lmi_errors") -> None:
        self.counters.lmi_errors += 1
        self._events.append(ProtocolErrorSeen(counter, detail))

    def _send(self, msg: LmiMessage) -> None:
        self._frames.append(lmi_codec.encode(self._variant, msg))

    # ------------------------------------------------- role hooks (overridden)

    def _usable(self, pvc: Pvc) -> bool:
        return self._state is LinkState.UP and pvc.admin_active

    def _on_start(self, now: float) -> None:
        pass

    def _on_up(self) -> None:
        pass

    def _on_down(self) -> None:
        pass

    def _on_pvc_added(self, pvc: Pvc) -> None:
        pass

    def _on_pvc_removed(self, dlci: int) -> None:
        pass

    def _on_admin_changed(self, pvc: Pvc) -> None:
        pass

    def _on_message(self, msg: LmiMessage, now: float) -> None:
        pass

    def _on_timer(self, now: float) -> None:
        pass


class StaticLink(LinkMachine):
    """Signalling "none": UP from START to STOP, every PVC as set locally."""

    role = "none"

    def _on_start(self, now: float) -> None:
        self._fire(LinkInput.VERIFIED, "")

    def _refresh(self, pvc: Pvc) -> None:
        pvc.state = PvcState.ACTIVE if pvc.admin_active and self.link_up else PvcState.INACTIVE

    def _refresh_all(self) -> None:
        for pvc in self._pvcs.values():
            self._refresh(pvc)

    _on_up = _refresh_all
    _on_down = _refresh_all
    _on_pvc_added = _refresh
    _on_admin_changed = _refresh


class DteLink(LinkMachine):
    """User side: polls every T391, learns PVC states from full status reports."""

    role = "dte"

    def __init__(self, config: FrameRelayConfig) -> None:
        super().__init__(config)
        self._tx_seq = 0
        self._rx_seq = 0
        self._awaiting_reply = False
        self._polls_to_full = 0  # hdlc_fr.c's n391cnt: 0 means "next poll asks for full status"
        self.unconfigured_pvcs: tuple[int, ...] = ()

    def _usable(self, pvc: Pvc) -> bool:
        return (
            self._state is LinkState.UP
            and pvc.network_active
            and pvc.admin_active
            and pvc.state is not PvcState.DELETED
        )

    def status(self) -> dict[str, Any]:
        return {
            **super().status(),
            "tx_seq": self._tx_seq,
            "rx_seq": self._rx_seq,
            "awaiting_reply": self._awaiting_reply,
            "polls_to_full_status": self._polls_to_full,
            "unconfigured_pvcs": list(self.unconfigured_pvcs),
        }

    def _on_start(self, now: float) -> None:
        self._tx_seq = self._rx_seq = 0
        self._awaiting_reply = False
        self._polls_to_full = 0
        self._deadline = now  # poll at once

    def _on_pvc_added(self, pvc: Pvc) -> None:
        self._polls_to_full = 0  # learn its state on the next poll, not N391 polls later

    def _on_timer(self, now: float) -> None:
        assert self._deadline is not None
        if self._awaiting_reply:
            self.counters.t391_timeouts += 1
            self._events.append(ProtocolErrorSeen("t391_timeouts", "no LMI status reply within T391"))
            self._monitored(True, "no status reply")
        self._poll()
        # Keep the poll grid unless we fell behind by a whole period (e.g. a stalled loop).
        nxt = self._deadline + self._cfg.t391
        self._deadline = nxt if nxt > now else now + self._cfg.t391

    def _poll(self) -> None:
        if self._polls_to_full:
            self._polls_to_full -= 1
        full = self._polls_to_full == 0 or not self.link_up
        self._tx_seq = next_seq(self._tx_seq)
        report = ReportType.FULL_STATUS if full else ReportType.LINK_INTEGRITY
        self._send(LmiMessage(MessageType.STATUS_ENQUIRY, report, LinkIntegrity(self._tx_seq, self._rx_seq)))
        self._awaiting_reply = True
        self.counters.enquiries_sent += 1

    def _on_message(self, msg: LmiMessage, now: float) -> None:
        if msg.message_type is not MessageType.STATUS:
            raise RemoteProtocolError("STATUS ENQUIRY received by a DTE (both ends configured as DTE?)")
        self.counters.status_received += 1
        if msg.report_type is ReportType.SINGLE_PVC:
            self._apply(msg.pvcs, full=False)  # asynchronous update, outside the poll cycle
            return
        if not self._awaiting_reply:
            raise RemoteProtocolError("unsolicited LMI STATUS (no enquiry outstanding)")
        assert msg.integrity is not None  # the codec guarantees it for non-single reports
        self._awaiting_reply = False
        self._rx_seq = msg.integrity.send_seq
        if msg.integrity.recv_seq != self._tx_seq or msg.integrity.send_seq == 0:
            self.counters.sequence_errors += 1
            self._lmi_error(
                f"LMI sequence error: status acknowledges {msg.integrity.recv_seq}, "
                f"we sent {self._tx_seq}; its send sequence {msg.integrity.send_seq}"
            )
            self._polls_to_full = 0
            self._monitored(True, "sequence error")
            return
        self._monitored(False, "")
        if msg.report_type is ReportType.FULL_STATUS:
            self.counters.full_status_received += 1
            self._apply(msg.pvcs, full=True)
            self._polls_to_full = self._cfg.n391
            self._fire(LinkInput.VERIFIED, "")

    def _apply(self, reports: tuple[PvcStatus, ...], *, full: bool) -> None:
        listed = {r.dlci: r for r in reports}
        for dlci, pvc in self._pvcs.items():
            r = listed.get(dlci)
            if r is None and not full:
                continue
            if r is None or r.delete:
                pvc.state, pvc.network_active, pvc.bandwidth = PvcState.DELETED, False, 0
                continue
            if r.new:
                pvc.state = PvcState.NEW
            else:
                pvc.state = PvcState.ACTIVE if r.active else PvcState.INACTIVE
            pvc.network_active = r.active
            pvc.bandwidth = r.bandwidth
        if full:
            self.unconfigured_pvcs = tuple(sorted(set(listed) - set(self._pvcs)))


class DceLink(LinkMachine):
    """Network side: answers enquiries, supervises them with T392."""

    role = "dce"

    def __init__(self, config: FrameRelayConfig) -> None:
        super().__init__(config)
        self._tx_seq = 0
        self._rx_seq = 0
        self._changed = True  # something to tell in a full status
        self._unacknowledged: set[int] | None = None  # PVCs sent as new in the last full status

    def status(self) -> dict[str, Any]:
        return {**super().status(), "tx_seq": self._tx_seq, "rx_seq": self._rx_seq}

    def _refresh(self, pvc: Pvc) -> None:
        if not pvc.reported:
            pvc.state = PvcState.NEW
        else:
            pvc.state = PvcState.ACTIVE if pvc.admin_active else PvcState.INACTIVE

    def _on_start(self, now: float) -> None:
        self._tx_seq = self._rx_seq = 0
        self._changed = True
        self._unacknowledged = None
        self._deadline = now + self._cfg.t392

    def _on_up(self) -> None:
        self._changed = True

    def _on_down(self) -> None:
        # As hdlc_fr.c: after an outage every PVC is announced as new again.
        self._unacknowledged = None
        self._changed = True
        for pvc in self._pvcs.values():
            pvc.reported = False
            self._refresh(pvc)

    def _on_pvc_added(self, pvc: Pvc) -> None:
        self._refresh(pvc)
        self._changed = True

    def _on_pvc_removed(self, dlci: int) -> None:
        if self._unacknowledged is not None:
            self._unacknowledged.discard(dlci)
        self._changed = True

    def _on_admin_changed(self, pvc: Pvc) -> None:
        self._refresh(pvc)
        self._changed = True

    def _on_timer(self, now: float) -> None:
        self.counters.t392_timeouts += 1
        self._events.append(ProtocolErrorSeen("t392_timeouts", "no LMI status enquiry within T392"))
        self._monitored(True, "no status enquiry")
        self._deadline = now + self._cfg.t392

    def _on_message(self, msg: LmiMessage, now: float) -> None:
        if msg.message_type is not MessageType.STATUS_ENQUIRY:
            raise RemoteProtocolError("STATUS received by a DCE (both ends configured as DCE?)")
        assert msg.integrity is not None  # the codec guarantees it in an enquiry
        self.counters.enquiries_received += 1
        self._deadline = now + self._cfg.t392
        self._rx_seq = msg.integrity.send_seq
        in_sequence = msg.integrity.recv_seq == self._tx_seq and msg.integrity.send_seq != 0
        if in_sequence:
            self._acknowledged()
            self._monitored(False, "")
            self._fire(LinkInput.VERIFIED, "")
        else:
            self.counters.sequence_errors += 1
            self._lmi_error(
                f"LMI sequence error: enquiry acknowledges {msg.integrity.recv_seq}, "
                f"we sent {self._tx_seq}; its send sequence {msg.integrity.send_seq}"
            )
            self._monitored(True, "sequence error")
        self._reply(full=msg.report_type is ReportType.FULL_STATUS or self._changed)

    def _acknowledged(self) -> None:
        """The DTE has seen our last status: PVCs it listed as new are new no more."""
        if not self._unacknowledged:
            self._unacknowledged = None
            return
        for dlci in self._unacknowledged:
            pvc = self._pvcs.get(dlci)
            if pvc is not None:
                pvc.reported = True
                self._refresh(pvc)
        self._unacknowledged = None
        self._changed = True  # tell the DTE they are no longer new

    def _reply(self, *, full: bool) -> None:
        self._tx_seq = next_seq(self._tx_seq)
        integrity = LinkIntegrity(self._tx_seq, self._rx_seq)
        if full:
            pvcs = tuple(
                PvcStatus(dlci, new=not p.reported, active=p.admin_active, bandwidth=p.bandwidth)
                for dlci, p in sorted(self._pvcs.items())
            )
            self._send(LmiMessage(MessageType.STATUS, ReportType.FULL_STATUS, integrity, pvcs))
            self._unacknowledged = {p.dlci for p in pvcs if p.new}
            self._changed = False
            self.counters.full_status_sent += 1
        else:
            self._send(LmiMessage(MessageType.STATUS, ReportType.LINK_INTEGRITY, integrity))
        self.counters.status_sent += 1


def make_link_machine(config: FrameRelayConfig) -> LinkMachine:
    """The machine for the configured signalling and station."""
    validate_config(config)
    if config.signalling == "none":
        return StaticLink(config)
    return DteLink(config) if config.station == "cpe" else DceLink(config)
