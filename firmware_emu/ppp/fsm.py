"""The RFC 1661 option negotiation automaton, shared by LCP, IPCP and IPV6CP.

Theory of operation
-------------------
TABLE below is RFC 1661 section 4.1, cell by cell: (state, event) -> (actions,
next state). A missing cell is the RFC's "-": the event cannot happen in that
state. For the administrative events (Up, Down, Open, Close) that is a misuse
of the API (LocalProtocolError); a packet or timeout that lands there is
counted as discarded and otherwise ignored. The optional behaviours marked
[r] (restart on Open), [p] (passive) and [x] (crossed connection) are not
taken: those cells keep the plain transition.

``Automaton`` applies the table. It sets the new state first and then runs the
cell's actions in order, so a layer callback (tlu, tld...) already sees where
the automaton is going. The engine turns those callbacks into work it does
after the automaton returns, never from inside it.

* Events from packets. ``receive`` classifies a control packet: a
  Configure-Request is RCR+ if the protocol's ``check_request`` would Ack it,
  else RCR-; a Configure-Ack/Nak/Reject counts only if it answers our last
  Configure-Request (same Identifier, not answered yet) and, for an Ack or a
  Reject, repeats our options exactly (RFC 1661 5.2, 5.4), otherwise it is
  silently discarded; a Code-Reject of a code from 1 to 7 is RXJ- (nothing
  can work without them), of any other code RXJ+. Codes beyond 7 that the
  protocol knows (LCP: Protocol-Reject, Echo, Discard) go to its
  ``extra_code``, which names the event; any other code is RUC.
* Restart timer. It runs in Closing, Stopping, Req-Sent, Ack-Rcvd and
  Ack-Sent, and stops on entering any other state. Every scr and str
  decrements the restart counter and re-arms it; a timeout is TO+ while the
  counter is above zero, TO- once it is spent. irc loads Max-Terminate when
  the cell leads to Closing or Stopping, Max-Configure otherwise; zrc zeroes
  it and arms the timer, so Stopping lasts one restart period.
* Options. scr from a state that is not negotiating (Req-Sent, Ack-Rcvd,
  Ack-Sent) first resets the protocol's wishes to its configuration, as
  pppd does: a fresh negotiation starts from the config, not from the last
  one's Naks. A retransmission (TO+) keeps the Identifier; anything else
  takes a new one. After Max-Failure Configure-Naks without a Configure-Ack,
  the protocol is asked to Reject what it would have Nak'd.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.ppp.packet import (
    Code,
    Option,
    Packet,
    build_options,
    build_packet,
    parse_options,
    parse_packet,
)

__all__ = [
    "TABLE",
    "Action",
    "Automaton",
    "Event",
    "FsmCounters",
    "OptionHandler",
    "State",
    "Verdict",
]


class State(enum.Enum):
    INITIAL = "Initial"
    STARTING = "Starting"
    CLOSED = "Closed"
    STOPPED = "Stopped"
    CLOSING = "Closing"
    STOPPING = "Stopping"
    REQ_SENT = "Req-Sent"
    ACK_RCVD = "Ack-Rcvd"
    ACK_SENT = "Ack-Sent"
    OPENED = "Opened"


class Event(enum.Enum):
    UP = "Up"
    DOWN = "Down"
    OPEN = "Open"
    CLOSE = "Close"
    TO_PLUS = "TO+"
    TO_MINUS = "TO-"
    RCR_PLUS = "RCR+"
    RCR_MINUS = "RCR-"
    RCA = "RCA"
    RCN = "RCN"
    RTR = "RTR"
    RTA = "RTA"
    RUC = "RUC"
    RXJ_PLUS = "RXJ+"
    RXJ_MINUS = "RXJ-"
    RXR = "RXR"


class Action(enum.Enum):
    TLU = "tlu"  # This-Layer-Up
    TLD = "tld"  # This-Layer-Down
    TLS = "tls"  # This-Layer-Started
    TLF = "tlf"  # This-Layer-Finished
    IRC = "irc"  # Initialize-Restart-Count
    ZRC = "zrc"  # Zero-Restart-Count
    SCR = "scr"  # Send-Configure-Request
    SCA = "sca"  # Send-Configure-Ack
    SCN = "scn"  # Send-Configure-Nak/Rej
    STR = "str"  # Send-Terminate-Request
    STA = "sta"  # Send-Terminate-Ack
    SCJ = "scj"  # Send-Code-Reject
    SER = "ser"  # Send-Echo-Reply


S, E = State, Event
TLU, TLD, TLS, TLF = Action.TLU, Action.TLD, Action.TLS, Action.TLF
IRC, ZRC, SCR, SCA, SCN = Action.IRC, Action.ZRC, Action.SCR, Action.SCA, Action.SCN
STR, STA, SCJ, SER = Action.STR, Action.STA, Action.SCJ, Action.SER

Cell = tuple[tuple[Action, ...], State]

# fmt: off
TABLE: Final[dict[tuple[State, Event], Cell]] = {
    (S.INITIAL, E.UP): ((), S.CLOSED),
    (S.STARTING, E.UP): ((IRC, SCR), S.REQ_SENT),

    (S.CLOSED, E.DOWN): ((), S.INITIAL),
    (S.STOPPED, E.DOWN): ((TLS,), S.STARTING),
    (S.CLOSING, E.DOWN): ((), S.INITIAL),
    (S.STOPPING, E.DOWN): ((), S.STARTING),
    (S.REQ_SENT, E.DOWN): ((), S.STARTING),
    (S.ACK_RCVD, E.DOWN): ((), S.STARTING),
    (S.ACK_SENT, E.DOWN): ((), S.STARTING),
    (S.OPENED, E.DOWN): ((TLD,), S.STARTING),

    (S.INITIAL, E.OPEN): ((TLS,), S.STARTING),
    (S.STARTING, E.OPEN): ((), S.STARTING),
    (S.CLOSED, E.OPEN): ((IRC, SCR), S.REQ_SENT),
    (S.STOPPED, E.OPEN): ((), S.STOPPED),      # [r] not taken
    (S.CLOSING, E.OPEN): ((), S.STOPPING),     # [r] not taken
    (S.STOPPING, E.OPEN): ((), S.STOPPING),    # [r] not taken
    (S.REQ_SENT, E.OPEN): ((), S.REQ_SENT),
    (S.ACK_RCVD, E.OPEN): ((), S.ACK_RCVD),
    (S.ACK_SENT, E.OPEN): ((), S.ACK_SENT),
    (S.OPENED, E.OPEN): ((), S.OPENED),        # [r] not taken

    (S.INITIAL, E.CLOSE): ((), S.INITIAL),
    (S.STARTING, E.CLOSE): ((TLF,), S.INITIAL),
    (S.CLOSED, E.CLOSE): ((), S.CLOSED),
    (S.STOPPED, E.CLOSE): ((), S.CLOSED),
    (S.CLOSING, E.CLOSE): ((), S.CLOSING),
    (S.STOPPING, E.CLOSE): ((), S.CLOSING),
    (S.REQ_SENT, E.CLOSE): ((IRC, STR), S.CLOSING),
    (S.ACK_RCVD, E.CLOSE): ((IRC, STR), S.CLOSING),
    (S.ACK_SENT, E.CLOSE): ((IRC, STR), S.CLOSING),
    (S.OPENED, E.CLOSE): ((TLD, IRC, STR), S.CLOSING),

    (S.CLOSING, E.TO_PLUS): ((STR,), S.CLOSING),
    (S.STOPPING, E.TO_PLUS): ((STR,), S.STOPPING),
    (S.REQ_SENT, E.TO_PLUS): ((SCR,), S.REQ_SENT),
    (S.ACK_RCVD, E.TO_PLUS): ((SCR,), S.REQ_SENT),
    (S.ACK_SENT, E.TO_PLUS): ((SCR,), S.ACK_SENT),

    (S.CLOSING, E.TO_MINUS): ((TLF,), S.CLOSED),
    (S.STOPPING, E.TO_MINUS): ((TLF,), S.STOPPED),
    (S.REQ_SENT, E.TO_MINUS): ((TLF,), S.STOPPED),   # [p] not taken
    (S.ACK_RCVD, E.TO_MINUS): ((TLF,), S.STOPPED),   # [p] not taken
    (S.ACK_SENT, E.TO_MINUS): ((TLF,), S.STOPPED),   # [p] not taken

    (S.CLOSED, E.RCR_PLUS): ((STA,), S.CLOSED),
    (S.STOPPED, E.RCR_PLUS): ((IRC, SCR, SCA), S.ACK_SENT),
    (S.CLOSING, E.RCR_PLUS): ((), S.CLOSING),
    (S.STOPPING, E.RCR_PLUS): ((), S.STOPPING),
    (S.REQ_SENT, E.RCR_PLUS): ((SCA,), S.ACK_SENT),
    (S.ACK_RCVD, E.RCR_PLUS): ((SCA, TLU), S.OPENED),
    (S.ACK_SENT, E.RCR_PLUS): ((SCA,), S.ACK_SENT),
    (S.OPENED, E.RCR_PLUS): ((TLD, SCR, SCA), S.ACK_SENT),

    (S.CLOSED, E.RCR_MINUS): ((STA,), S.CLOSED),
    (S.STOPPED, E.RCR_MINUS): ((IRC, SCR, SCN), S.REQ_SENT),
    (S.CLOSING, E.RCR_MINUS): ((), S.CLOSING),
    (S.STOPPING, E.RCR_MINUS): ((), S.STOPPING),
    (S.REQ_SENT, E.RCR_MINUS): ((SCN,), S.REQ_SENT),
    (S.ACK_RCVD, E.RCR_MINUS): ((SCN,), S.ACK_RCVD),
    (S.ACK_SENT, E.RCR_MINUS): ((SCN,), S.REQ_SENT),
    (S.OPENED, E.RCR_MINUS): ((TLD, SCR, SCN), S.REQ_SENT),

    (S.CLOSED, E.RCA): ((STA,), S.CLOSED),
    (S.STOPPED, E.RCA): ((STA,), S.STOPPED),
    (S.CLOSING, E.RCA): ((), S.CLOSING),
    (S.STOPPING, E.RCA): ((), S.STOPPING),
    (S.REQ_SENT, E.RCA): ((IRC,), S.ACK_RCVD),
    (S.ACK_RCVD, E.RCA): ((SCR,), S.REQ_SENT),       # [x] not taken
    (S.ACK_SENT, E.RCA): ((IRC, TLU), S.OPENED),
    (S.OPENED, E.RCA): ((TLD, SCR), S.REQ_SENT),     # [x] not taken

    (S.CLOSED, E.RCN): ((STA,), S.CLOSED),
    (S.STOPPED, E.RCN): ((STA,), S.STOPPED),
    (S.CLOSING, E.RCN): ((), S.CLOSING),
    (S.STOPPING, E.RCN): ((), S.STOPPING),
    (S.REQ_SENT, E.RCN): ((IRC, SCR), S.REQ_SENT),
    (S.ACK_RCVD, E.RCN): ((SCR,), S.REQ_SENT),       # [x] not taken
    (S.ACK_SENT, E.RCN): ((IRC, SCR), S.ACK_SENT),
    (S.OPENED, E.RCN): ((TLD, SCR), S.REQ_SENT),     # [x] not taken

    (S.CLOSED, E.RTR): ((STA,), S.CLOSED),
    (S.STOPPED, E.RTR): ((STA,), S.STOPPED),
    (S.CLOSING, E.RTR): ((STA,), S.CLOSING),
    (S.STOPPING, E.RTR): ((STA,), S.STOPPING),
    (S.REQ_SENT, E.RTR): ((STA,), S.REQ_SENT),
    (S.ACK_RCVD, E.RTR): ((STA,), S.REQ_SENT),
    (S.ACK_SENT, E.RTR): ((STA,), S.REQ_SENT),
    (S.OPENED, E.RTR): ((TLD, ZRC, STA), S.STOPPING),

    (S.CLOSED, E.RTA): ((), S.CLOSED),
    (S.STOPPED, E.RTA): ((), S.STOPPED),
    (S.CLOSING, E.RTA): ((TLF,), S.CLOSED),
    (S.STOPPING, E.RTA): ((TLF,), S.STOPPED),
    (S.REQ_SENT, E.RTA): ((), S.REQ_SENT),
    (S.ACK_RCVD, E.RTA): ((), S.REQ_SENT),
    (S.ACK_SENT, E.RTA): ((), S.ACK_SENT),
    (S.OPENED, E.RTA): ((TLD, SCR), S.REQ_SENT),

    (S.CLOSED, E.RUC): ((SCJ,), S.CLOSED),
    (S.STOPPED, E.RUC): ((SCJ,), S.STOPPED),
    (S.CLOSING, E.RUC): ((SCJ,), S.CLOSING),
    (S.STOPPING, E.RUC): ((SCJ,), S.STOPPING),
    (S.REQ_SENT, E.RUC): ((SCJ,), S.REQ_SENT),
    (S.ACK_RCVD, E.RUC): ((SCJ,), S.ACK_RCVD),
    (S.ACK_SENT, E.RUC): ((SCJ,), S.ACK_SENT),
    (S.OPENED, E.RUC): ((SCJ,), S.OPENED),

    (S.CLOSED, E.RXJ_PLUS): ((), S.CLOSED),
    (S.STOPPED, E.RXJ_PLUS): ((), S.STOPPED),
    (S.CLOSING, E.RXJ_PLUS): ((), S.CLOSING),
    (S.STOPPING, E.RXJ_PLUS): ((), S.STOPPING),
    (S.REQ_SENT, E.RXJ_PLUS): ((), S.REQ_SENT),
    (S.ACK_RCVD, E.RXJ_PLUS): ((), S.REQ_SENT),
    (S.ACK_SENT, E.RXJ_PLUS): ((), S.ACK_SENT),
    (S.OPENED, E.RXJ_PLUS): ((), S.OPENED),

    (S.CLOSED, E.RXJ_MINUS): ((TLF,), S.CLOSED),
    (S.STOPPED, E.RXJ_MINUS): ((TLF,), S.STOPPED),
    (S.CLOSING, E.RXJ_MINUS): ((TLF,), S.CLOSED),
    (S.STOPPING, E.RXJ_MINUS): ((TLF,), S.STOPPED),
    (S.REQ_SENT, E.RXJ_MINUS): ((TLF,), S.STOPPED),
    (S.ACK_RCVD, E.RXJ_MINUS): ((TLF,), S.STOPPED),
    (S.ACK_SENT, E.RXJ_MINUS): ((TLF,), S.STOPPED),
    (S.OPENED, E.RXJ_MINUS): ((TLD, IRC, STR), S.STOPPING),

    (S.CLOSED, E.RXR): ((), S.CLOSED),
    (S.STOPPED, E.RXR): ((), S.STOPPED),
    (S.CLOSING, E.RXR): ((), S.CLOSING),
    (S.STOPPING, E.RXR): ((), S.STOPPING),
    (S.REQ_SENT, E.RXR): ((), S.REQ_SENT),
    (S.ACK_RCVD, E.RXR): ((), S.ACK_RCVD),
    (S.ACK_SENT, E.RXR): ((), S.ACK_SENT),
    (S.OPENED, E.RXR): ((SER,), S.OPENED),
}
# fmt: on

TIMER_STATES: Final = frozenset({S.CLOSING, S.STOPPING, S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT})
NEGOTIATING: Final = frozenset({S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT})
_TERMINATING: Final = frozenset({S.CLOSING, S.STOPPING})
_ADMIN: Final = frozenset({E.UP, E.DOWN, E.OPEN, E.CLOSE})


class Verdict(NamedTuple):
    """How to answer a Configure-Request: Ack (options unused), Nak or Reject with these options."""

    code: Code
    options: list[Option]


class OptionHandler:
    """What a control protocol plugs into the automaton.

    The defaults are a protocol with no options of its own: it requests
    nothing and rejects whatever the peer asks for.
    """

    def reset(self) -> None:
        """Start wishing for the configured options again (a fresh negotiation)."""

    def request(self) -> list[Option]:
        """The options of our next Configure-Request."""
        return []

    def check_request(self, options: list[Option], allow_nak: bool) -> Verdict:
        """How we would answer these options; Reject instead of Nak unless ``allow_nak``.

        Decides only: nothing is committed until sca (``peer_acked``). Counting
        evidence (LCP: our own Magic-Number coming back) is the one side effect."""
        if options:
            return Verdict(Code.CONFIGURE_REJECT, options)
        return Verdict(Code.CONFIGURE_ACK, [])

    def peer_acked(self, options: list[Option]) -> None:
        """We sent a Configure-Ack: these are the peer's options from now on."""

    def ack_received(self, options: list[Option]) -> None:
        """The peer acknowledged our request (already checked to match it exactly)."""

    def nak_received(self, options: list[Option]) -> None:
        """Adjust our wishes. RemoteProtocolError if the Nak makes no sense."""

    def reject_received(self, options: list[Option]) -> None:
        """Stop asking for these (already checked to be from our request)."""

    def layer_down(self) -> None:
        """tld: the negotiated values no longer apply."""

    def knows_code(self, code: int) -> bool:
        """Whether a code beyond Code-Reject is ours; an unknown one is RUC (Code-Reject)."""
        return False

    def extra_code(self, packet: Packet, opened: bool) -> Event | None:
        """The event for a known code beyond Code-Reject, or None to discard it silently.
        RemoteProtocolError if it is malformed."""
        return None

    def code_rejected(self, code: int) -> bool:
        """The peer rejected one of our codes; True if we cannot work without it (RXJ-)."""
        return Code.CONFIGURE_REQUEST <= code <= Code.CODE_REJECT

    def echo_reply(self, packet: Packet) -> bytes | None:
        """ser: the Echo-Reply data for ``packet``, or None to send nothing."""
        return None


def _name(code: int) -> str:
    try:
        return Code(code).name.lower()
    except ValueError:
        return f"code_{code}"


@dataclass(slots=True)
class FsmCounters:
    sent: dict[str, int] = field(default_factory=dict)  # per packet code
    received: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    discarded: int = 0  # stale or mismatched replies, events the state cannot take


class Automaton:
    """One control protocol's automaton (RFC 1661 section 4) over TABLE."""

    def __init__(
        self,
        name: str,
        handler: OptionHandler,
        send: Callable[[bytes], None],
        on_layer: Callable[[Action, float], None],
        *,
        restart: float = 3.0,
        max_configure: int = 10,
        max_terminate: int = 2,
        max_failure: int = 5,
    ) -> None:
        self.name = name
        self.handler = handler
        self._send = send
        self._on_layer = on_layer
        self.restart = restart
        self.max_configure = max_configure
        self.max_terminate = max_terminate
        self.max_failure = max_failure
        self.max_packet = 1500  # Code-Reject truncation; the engine follows the peer's MRU
        self.state = State.INITIAL
        self.deadline: float | None = None
        self.restart_count = 0
        self.failures = 0  # Configure-Naks sent since the last Configure-Ack we sent
        self.counters = FsmCounters()
        self._id = 0
        self._req_id: int | None = None  # our last Configure-Request...
        self._req_data = b""
        self._req_options: list[Option] = []
        self._req_answered = True  # ...and whether a valid reply to it came already
        self._term_data = b""

    # ----------------------------------------------------------- entry points

    def up(self, now: float) -> None:
        self.fire(Event.UP, now)

    def down(self, now: float) -> None:
        self.fire(Event.DOWN, now)

    def open(self, now: float) -> None:
        self.fire(Event.OPEN, now)

    def close(self, now: float, reason: str = "") -> None:
        self._term_data = reason.encode("utf-8", "replace")[:64]
        self.fire(Event.CLOSE, now)

    def handle_timer(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.counters.timeouts += 1
        self.fire(Event.TO_PLUS if self.restart_count > 0 else Event.TO_MINUS, now)

    def receive(self, data: bytes, now: float) -> None:
        """A control packet (after the protocol field). RemoteProtocolError if malformed."""
        packet = parse_packet(data)
        code = packet.code
        rx = self.counters.received
        rx[_name(code)] = rx.get(_name(code), 0) + 1
        if code == Code.CONFIGURE_REQUEST:
            options = parse_options(packet.data)
            verdict = self.handler.check_request(options, self.failures < self.max_failure)
            event = Event.RCR_PLUS if verdict.code == Code.CONFIGURE_ACK else Event.RCR_MINUS
            self.fire(event, now, packet, verdict, options)
        elif code in (Code.CONFIGURE_ACK, Code.CONFIGURE_NAK, Code.CONFIGURE_REJECT):
            self._receive_reply(packet, now)
        elif code == Code.TERMINATE_REQUEST:
            self.fire(Event.RTR, now, packet)
        elif code == Code.TERMINATE_ACK:
            self.fire(Event.RTA, now, packet)
        elif code == Code.CODE_REJECT:
            if not packet.data:
                raise RemoteProtocolError(f"{self.name}: empty Code-Reject")
            catastrophic = self.handler.code_rejected(packet.data[0])
            self.fire(Event.RXJ_MINUS if catastrophic else Event.RXJ_PLUS, now, packet)
        elif self.handler.knows_code(code):
            extra = self.handler.extra_code(packet, self.state is State.OPENED)
            if extra is None:
                self.counters.discarded += 1
            else:
                self.fire(extra, now, packet)
        else:
            self.fire(Event.RUC, now, packet)

    def send_code(self, code: int, data: bytes) -> int:
        """Send a packet outside the table (Echo-Request, Protocol-Reject...); returns its Identifier."""
        ident = self._new_id()
        self._emit(code, ident, data)
        return ident

    def fire(
        self,
        event: Event,
        now: float,
        packet: Packet | None = None,
        verdict: Verdict | None = None,
        options: list[Option] | None = None,
    ) -> tuple[Action, ...]:
        """Apply one event; returns the actions taken (for tests and tracing)."""
        prev = self.state
        cell = TABLE.get((prev, event))
        if cell is None:
            if event in _ADMIN:
                raise LocalProtocolError(f"{self.name}: {event.value} not allowed in state {prev.value}")
            self.counters.discarded += 1
            return ()
        actions, nxt = cell
        self.state = nxt
        for action in actions:
            self._act(action, event, prev, now, packet, verdict, options)
        if nxt not in TIMER_STATES:
            self.deadline = None
        return actions

    # -------------------------------------------------------------- internals

    def _receive_reply(self, packet: Packet, now: float) -> None:
        if packet.identifier != self._req_id or self._req_answered:
            self.counters.discarded += 1  # RFC 1661 5.2-5.4: silently discard
            return
        options = parse_options(packet.data)
        code = packet.code
        if code == Code.CONFIGURE_ACK:
            if packet.data != self._req_data:
                raise RemoteProtocolError(f"{self.name}: Configure-Ack does not repeat our options")
            self.handler.ack_received(options)
        elif code == Code.CONFIGURE_NAK:
            self.handler.nak_received(options)
        else:
            if not options or any(opt not in self._req_options for opt in options):
                raise RemoteProtocolError(f"{self.name}: Configure-Reject of options we did not send")
            self.handler.reject_received(options)
        self._req_answered = True
        self.fire(Event.RCA if code == Code.CONFIGURE_ACK else Event.RCN, now, packet)

    def _act(
        self,
        action: Action,
        event: Event,
        prev: State,
        now: float,
        packet: Packet | None,
        verdict: Verdict | None,
        options: list[Option] | None,
    ) -> None:
        if action is IRC:
            if self.state in _TERMINATING:
                self.restart_count = self.max_terminate
            else:
                self.restart_count = self.max_configure
        elif action is ZRC:
            self.restart_count = 0
            self.deadline = now + self.restart
        elif action is SCR:
            self._scr(prev, now, retransmit=event is Event.TO_PLUS)
        elif action is SCA:
            if packet is None:
                packet = Packet(Code.CONFIGURE_REQUEST, 0, b"")
            self._emit(Code.CONFIGURE_ACK, packet.identifier, packet.data)
            self.handler.peer_acked(options if options is not None else parse_options(packet.data))
            self.failures = 0
        elif action is SCN:
            code, reply = verdict if verdict is not None else (Code.CONFIGURE_NAK, [])
            self._emit(code, packet.identifier if packet else 0, build_options(reply))
            if code == Code.CONFIGURE_NAK:
                self.failures += 1
        elif action is STR:
            self._emit(Code.TERMINATE_REQUEST, self._new_id(), self._term_data)
            self.restart_count -= 1
            self.deadline = now + self.restart
        elif action is STA:
            self._emit(Code.TERMINATE_ACK, packet.identifier if packet else self._new_id(), b"")
        elif action is SCJ:
            rejected = packet.raw if packet else b""
            self._emit(Code.CODE_REJECT, self._new_id(), rejected[: max(0, self.max_packet - 4)])
        elif action is SER:
            data = self.handler.echo_reply(packet) if packet is not None else None
            if data is not None and packet is not None:
                self._emit(Code.ECHO_REPLY, packet.identifier, data)
        else:  # tlu, tld, tls, tlf: the layer above or below must know
            if action is TLD:
                self.handler.layer_down()
            self._on_layer(action, now)

    def _scr(self, prev: State, now: float, *, retransmit: bool) -> None:
        if prev not in NEGOTIATING:
            self.handler.reset()
            self.failures = 0
        options = self.handler.request()
        data = build_options(options)
        # RFC 1661 5.1: a new Identifier whenever the options change or the last one was answered.
        if not retransmit or self._req_id is None or self._req_answered or data != self._req_data:
            self._req_id = self._new_id()
        self._req_data, self._req_options, self._req_answered = data, options, False
        self._emit(Code.CONFIGURE_REQUEST, self._req_id, data)
        self.restart_count -= 1
        self.deadline = now + self.restart

    def _new_id(self) -> int:
        self._id = (self._id + 1) & 0xFF
        return self._id

    def _emit(self, code: int, ident: int, data: bytes) -> None:
        sent = self.counters.sent
        sent[_name(code)] = sent.get(_name(code), 0) + 1
        self._send(build_packet(code, ident, data))
