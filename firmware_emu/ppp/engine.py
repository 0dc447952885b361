"""The PPP port engine: LCP, authentication, IPCP/IPV6CP and the data path behind one sans-I/O API.

Theory of operation
-------------------
The driver-facing API is the Frame Relay engine's: the driver feeds frames
(FCS checked and stripped) to ``receive_frame``, calls ``handle_timer`` when
``get_timer`` says so, and after every call drains ``frames_to_send`` and
``next_event``. Data goes out through ``encode``. Channel 0 is the link.

Phases (RFC 1661 section 3) follow from the automata, they are not kept:
Dead (not started, or LCP idle), Establish (LCP negotiating), Authenticate
(LCP Opened, an authentication role pending), Network (authenticated: the
NCPs run) and Terminate (LCP Closing or Stopping).

* ``start``: the NCPs get Open (they wait in Starting), LCP gets Open and Up
  (the line is there whenever the port runs) and sends its first
  Configure-Request.
* LCP tlu: starts the echo keepalive and the authentication roles LCP
  agreed on. Once every role has succeeded (at once, when there are none)
  the link is up (LinkUp) and the NCPs get Up.
* LCP tld: roles stop, NCPs get Down, the link is down (LinkDown, with the
  reason of whatever caused it: "peer terminated", "echo timeout"...).
* LCP tlf (Stopped or Closed while the port runs): after ``holdoff`` the
  engine tries again (Down+Up from Stopped, Open from Closed), so a leased
  line keeps trying forever; a Configure-Request from the peer in between
  is answered at once, as RFC 1661 has it for Stopped.
* Failures close LCP (Terminate-Request) with a LinkDown reason: an
  authentication failure ("auth failed: ..."), a looped line ("looped":
  our own Magic-Number came back ``min(MAX_LOOPS, max_failure)`` times),
  every NCP finished ("no network protocols running"). These two first are
  reported even though the link never came up; "looped" once until LCP
  opens again. An echo timeout instead bounces LCP (Down, Up) at once.

Automaton callbacks only queue work; each entry point runs ``_settle``
afterwards, which does it and then compares link and channel state with
what the driver was last told. So events come in a fixed order: address
events, then LinkUp/LinkDown, then ChannelStatusChanged (usable = the link
is up and IPCP or IPV6CP is Opened).

Data is delivered only while its NCP is Opened; before that it is counted
and dropped (RFC 1661 3.4). A protocol we do not run gets a Protocol-Reject
while LCP is Opened. Frames with or without FF 03 and with a one- or
two-octet protocol field are all accepted (the forms are unambiguous);
``encode`` compresses only as the peer asked (ACFC/PFC) and never for
control protocols. Errors on the receive path are counted, reported as
rate-limited ProtocolErrorSeen events (one per counter per second), and
dropped; packets for a protocol not running yet (``not_opened``) are only
counted, since the peer reaching the network phase first is a normal race.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Final

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.events import (
    ChannelStatusChanged,
    LinkDown,
    LinkUp,
    LocalAddressAssigned,
    PeerAddressLearned,
    ProtocolErrorSeen,
)
from firmware_emu.payload import Delivery, Proto
from firmware_emu.ppp import packet as pkt
from firmware_emu.ppp.auth import AuthRole, AuthState, make_role
from firmware_emu.ppp.config import PppConfig, validate_config
from firmware_emu.ppp.fsm import Action, Automaton, Event, OptionHandler, State
from firmware_emu.ppp.ipcp import Ipcp
from firmware_emu.ppp.ipv6cp import Ipv6cp
from firmware_emu.ppp.lcp import DEFAULT_ACCM, MAX_LOOPS, Lcp

__all__ = ["EngineCounters", "Phase", "PppEngine", "PppEvent"]

ERROR_REPORT_INTERVAL: Final = 1.0  # s; ProtocolErrorSeen at most this often per counter
PppEvent = (
    LinkUp | LinkDown | ChannelStatusChanged | PeerAddressLearned | LocalAddressAssigned | ProtocolErrorSeen
)

_new_tuple: Final = tuple.__new__
_IPV4: Final = Proto.IPV4
_IPV6: Final = Proto.IPV6
_IPV4_HEAD: Final = pkt.ADDRESS_CONTROL + pkt.IPV4.to_bytes(2, "big")
_LCP_HEAD: Final = pkt.frame_header(pkt.LCP)
_ALIVE: Final = frozenset(
    {State.CLOSING, State.STOPPING, State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT, State.OPENED}
)
# Why the link went down, when an LCP packet received while Opened takes it down.
_LCP_DOWN_REASONS: Final[dict[int, str]] = {
    pkt.Code.CONFIGURE_REQUEST.value: "peer renegotiating",
    pkt.Code.TERMINATE_REQUEST.value: "peer terminated",
    pkt.Code.CODE_REJECT.value: "peer code-rejected LCP",
    pkt.Code.PROTOCOL_REJECT.value: "peer protocol-rejected LCP",
}


class Phase(StrEnum):
    DEAD = "dead"
    ESTABLISH = "establish"
    AUTHENTICATE = "authenticate"
    NETWORK = "network"
    TERMINATE = "terminate"


@dataclass(slots=True)
class EngineCounters:
    rx_frames: int = 0  # data packets delivered
    rx_bytes: int = 0
    tx_frames: int = 0  # data packets handed to encode
    tx_bytes: int = 0
    malformed: int = 0  # unparseable frames and control packets
    unknown_protocol: int = 0  # answered with a Protocol-Reject
    not_opened: int = 0  # data or control for a protocol not running yet: discarded
    unexpected_auth: int = 0  # PAP/CHAP packets no role of ours takes
    auth_failures: int = 0
    looped: int = 0  # times the line was found looped
    echo_timeouts: int = 0
    link_down_events: int = 0


class PppEngine:
    """One PPP link (a single channel, 0), either end."""

    def __init__(self, config: PppConfig, now: float, *, rng: random.Random | None = None) -> None:
        validate_config(config)
        self._cfg = config
        self._rng = rng if rng is not None else random.SystemRandom()
        self._frames: list[bytes] = []
        self._events: deque[PppEvent] = deque()
        self._work: deque[tuple[str, Any]] = deque()
        self._last_report: dict[str, float] = {}
        self.counters = EngineCounters()
        self.running = False
        self._link_up = False
        self._usable = False
        self._ipv4_open = False
        self._ipv6_open = False
        self._authenticated = False
        self._reason: str | None = None
        self._restart_due: float | None = None
        self._looped = False
        self._loop_base = 0
        self._echo_loop_base = 0
        self._auth_roles: list[AuthRole] = []
        self._auth_result: str | None = None
        self.lcp = Lcp(config, self._rng, self._on_protocol_reject)
        self.ipcp = Ipcp(config)
        self.ipv6cp = Ipv6cp(config, self._rng) if config.ipv6 else None
        self._lcp = self._automaton("lcp", pkt.LCP, self.lcp)
        self._ipcp = self._automaton("ipcp", pkt.IPCP, self.ipcp)
        self._ncps: dict[int, Automaton] = {pkt.IPCP: self._ipcp}
        self._ipv6cp: Automaton | None = None
        if self.ipv6cp is not None:
            self._ipv6cp = self._automaton("ipv6cp", pkt.IPV6CP, self.ipv6cp)
            self._ncps[pkt.IPV6CP] = self._ipv6cp
        self._tx: dict[Proto, bytes] = {}
        self._refresh_tx()

    def _automaton(self, name: str, protocol: int, handler: OptionHandler) -> Automaton:
        cfg = self._cfg
        return Automaton(
            name,
            handler,
            self._sender(protocol),
            lambda action, now: self._work.append((name, action)),
            restart=cfg.restart,
            max_configure=cfg.max_configure,
            max_terminate=cfg.max_terminate,
            max_failure=cfg.max_failure,
        )

    def _sender(self, protocol: int) -> Callable[[bytes], None]:
        # Control packets always go with FF 03 and a full protocol field (RFC 1661 6.5, 6.6 for LCP).
        header = pkt.frame_header(protocol)
        return lambda packet: self._frames.append(header + packet)

    # ------------------------------------------------------------- lifecycle

    def start(self, now: float) -> None:
        """Open every protocol and send the first LCP Configure-Request. Twice: LocalProtocolError."""
        if self.running:
            raise LocalProtocolError("PPP engine already started")
        self.running = True
        self._frames.clear()  # a Terminate-Request left over from stop is stale now
        self._loop_base = self.lcp.counters.loops
        for ncp in self._ncps.values():
            ncp.open(now)
        self._lcp.open(now)
        self._lcp.up(now)
        self._settle(now)

    def stop(self, now: float) -> None:
        """Terminate-Request to the peer (if LCP was up), then everything down, no timers."""
        if not self.running:
            return
        self._reason = "stopped"
        self._lcp.close(now, "stopped")
        if self._lcp.state is not State.INITIAL:
            self._lcp.down(now)
        self._settle(now)  # LCP's tld takes the NCPs down first
        for ncp in self._ncps.values():
            ncp.close(now)
            if ncp.state is not State.INITIAL:
                ncp.down(now)
        self.running = False
        self._restart_due = None
        self.lcp.keepalive.stop()
        for role in self._auth_roles:
            role.stop()
        self._settle(now)

    # ------------------------------------------------------------- hot paths

    def encode(self, channel: int, payload: bytes, proto: Proto) -> bytes:
        """Address/control + protocol + payload (no FCS). Proto.RAW: payload starts with the protocol field."""
        if channel != 0:
            raise LocalProtocolError(f"PPP has only channel 0, not {channel}")
        header = self._tx.get(proto)
        if header is None:
            raise LocalProtocolError(f"PPP does not carry {proto!r}")
        # Sending a network protocol whose NCP is not Opened only earns a Protocol-Reject
        # (RFC 1661 section 5.7): the kernel's IPv6 router solicitations without IPV6CP, say.
        if (proto is Proto.IPV4 and not self._ipv4_open) or (proto is Proto.IPV6 and not self._ipv6_open):
            raise LocalProtocolError(f"{proto.value} is not negotiated on this link")
        c = self.counters
        c.tx_frames += 1
        c.tx_bytes += len(payload)
        return header + payload

    def receive_frame(self, frame: bytes, now: float) -> Delivery | None:
        """A received frame (FCS stripped): data for the driver, or None."""
        if type(frame) is not bytes:
            frame = bytes(frame)
        if self._ipv4_open and frame[:4] == _IPV4_HEAD and len(frame) > 4:
            return self._deliver(_IPV4, frame[4:])  # the common case, without the general parse
        if not self.running:
            self.counters.not_opened += 1
            return None
        try:
            protocol, offset = pkt.split_frame(frame)
        except RemoteProtocolError as exc:
            self._drop("malformed", str(exc), now)
            return None
        info = frame[offset:]
        if protocol == pkt.IPV4 or protocol == pkt.IPV6:
            if protocol == pkt.IPV6 and self._ipv6cp is None:
                self._unknown_protocol(protocol, info, now)
            elif not info:
                self._drop("malformed", f"empty {'IPv4' if protocol == pkt.IPV4 else 'IPv6'} packet", now)
            elif self._ipv4_open if protocol == pkt.IPV4 else self._ipv6_open:
                return self._deliver(_IPV4 if protocol == pkt.IPV4 else _IPV6, info)
            else:
                self._drop("not_opened", f"{protocol:#06x} data before its NCP is Opened", now)
        elif protocol == pkt.LCP:
            self._receive_lcp(info, now)
        elif protocol == pkt.PAP or protocol == pkt.CHAP:
            self._receive_auth(protocol, info, now)
        elif protocol in self._ncps:
            if self._authenticated and self._lcp.state is State.OPENED:
                self._control(self._ncps[protocol], info, now)
            else:
                self._drop("not_opened", f"{self._ncps[protocol].name} packet before the network phase", now)
        else:
            self._unknown_protocol(protocol, info, now)
        self._settle(now)
        return None

    def _deliver(self, proto: Proto, payload: bytes) -> Delivery:
        c = self.counters
        c.rx_frames += 1
        c.rx_bytes += len(payload)
        # tuple.__new__ skips NamedTuple's Python-level __new__ (as the FR engine does).
        return _new_tuple(Delivery, (0, proto, payload, False, False, False))

    # ----------------------------------------------------------- outputs

    def frames_to_send(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        return frames

    def next_event(self) -> PppEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        if not self.running:
            return None
        deadlines = [self._lcp.deadline, self.lcp.keepalive.due, self._restart_due]
        deadlines += [ncp.deadline for ncp in self._ncps.values()]
        deadlines += [role.deadline for role in self._auth_roles]
        return min((d for d in deadlines if d is not None), default=None)

    def handle_timer(self, now: float) -> None:
        if not self.running:
            return
        self._lcp.handle_timer(now)
        for ncp in self._ncps.values():
            ncp.handle_timer(now)
        for role in self._auth_roles:
            role.handle_timer(now)
        self._check_auth(now)
        tick = self.lcp.keepalive.tick(now)
        if tick:
            self._lcp.send_code(pkt.Code.ECHO_REQUEST, self.lcp.echo_request())
        elif tick is False and self._lcp.state is State.OPENED:
            self.counters.echo_timeouts += 1
            looped = self.lcp.counters.echo_loops > self._echo_loop_base
            self._reason = "looped" if looped else "echo timeout"
            self._lcp.down(now)  # bounce: renegotiate at once rather than terminate
            self._lcp.up(now)
        if self._restart_due is not None and now >= self._restart_due:
            self._restart_due = None
            if self._lcp.state is State.STOPPED:
                self._lcp.down(now)
                self._lcp.up(now)
            elif self._lcp.state is State.CLOSED:
                self._lcp.open(now)
        self._settle(now)

    # ----------------------------------------------------------- queries

    def channel_usable(self, channel: int) -> bool:
        return channel == 0 and self._usable

    @property
    def link_up(self) -> bool:
        """LCP Opened and authentication (if any) done."""
        return self._link_up

    @property
    def phase(self) -> Phase:
        state = self._lcp.state
        if not self.running:
            return Phase.DEAD
        if state is State.OPENED:
            return Phase.NETWORK if self._authenticated else Phase.AUTHENTICATE
        if state in (State.CLOSING, State.STOPPING):
            return Phase.TERMINATE
        if state in (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT):
            return Phase.ESTABLISH
        return Phase.DEAD

    @property
    def tx_accm(self) -> int:
        """Async framing: the ACCM for our non-LCP frames (the peer's, once LCP is Opened)."""
        return self.lcp.his.accm if self._lcp.state is State.OPENED else DEFAULT_ACCM

    @property
    def rx_accm(self) -> int:
        """Async framing: control characters the receiver may drop (ours, once LCP is Opened)."""
        return self.lcp.ours.accm if self._lcp.state is State.OPENED else DEFAULT_ACCM

    def accm_for(self, frame: bytes) -> int:
        """The ACCM to escape ``frame`` with: LCP always goes with all control characters escaped."""
        return DEFAULT_ACCM if frame[:4] == _LCP_HEAD else self.tx_accm

    def negotiation_summary(self) -> str:
        """One line for the log: what LCP, authentication and the NCPs agreed."""
        st = self.status()
        lcp, auth, ipcp = st["lcp"], st["auth"], st["ipcp"]
        parts = [
            f"LCP {lcp['state']}: mru {lcp['local']['mru']}/{lcp['peer']['mru']}",
            f"magic {lcp['local']['magic']}/{lcp['peer']['magic']}",
            f"pfc {lcp['peer']['pfc']} acfc {lcp['peer']['acfc']}",
            f"auth {auth['require']}: {auth['result'] or 'none'}",
            f"IPCP {ipcp['state']}: {ipcp['local_address']} <-> {ipcp['peer_address']}",
        ]
        if st["ipv6cp"] is not None:
            parts.append(f"IPV6CP {st['ipv6cp']['state']}")
        return ", ".join(parts)

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot for status files and the management protocol."""
        ipv6 = None
        if self.ipv6cp is not None and self._ipv6cp is not None:
            ipv6 = {"state": self._ipv6cp.state.value, **self.ipv6cp.status(), **_fsm_status(self._ipv6cp)}
        return {
            "framing": self._cfg.framing,
            "phase": self.phase.value,
            "link_up": self._link_up,
            "usable": self._usable,
            "looped": self._looped,
            "lcp": {"state": self._lcp.state.value, **self.lcp.status(), **_fsm_status(self._lcp)},
            "auth": {
                "require": self._cfg.require,
                "authenticate_to_peer": self._cfg.username is not None,
                "result": self._auth_result,
                "roles": [{"role": role.role, **role.status()} for role in self._auth_roles],
            },
            "ipcp": {"state": self._ipcp.state.value, **self.ipcp.status(), **_fsm_status(self._ipcp)},
            "ipv6cp": ipv6,
            "counters": asdict(self.counters),
        }

    # ----------------------------------------------------------- receive paths

    def _control(self, automaton: Automaton, data: bytes, now: float) -> None:
        try:
            automaton.receive(data, now)
        except RemoteProtocolError as exc:
            self._drop("malformed", f"{automaton.name}: {exc}", now)

    def _receive_lcp(self, data: bytes, now: float) -> None:
        if self._link_up and data:
            reason = _LCP_DOWN_REASONS.get(data[0])
            if reason is not None:
                self._reason = reason
        self._control(self._lcp, data, now)
        if self.lcp.counters.loops - self._loop_base >= min(MAX_LOOPS, self._cfg.max_failure):
            self._loop_base = self.lcp.counters.loops
            self.counters.looped += 1
            report = not self._looped
            self._looped = True
            self._fail("looped", now, report=report)

    def _receive_auth(self, protocol: int, data: bytes, now: float) -> None:
        if self._lcp.state is not State.OPENED:
            self._drop("not_opened", "authentication packet before LCP is Opened", now)
            return
        try:
            packet = pkt.parse_packet(data)
            for role in self._auth_roles:
                if role.protocol == protocol and packet.code in role.accepts:
                    role.receive(packet, now)
                    break
            else:
                self._drop("unexpected_auth", f"{protocol:#06x} code {packet.code}: not negotiated", now)
        except RemoteProtocolError as exc:
            self._drop("malformed", f"{'PAP' if protocol == pkt.PAP else 'CHAP'}: {exc}", now)
        self._check_auth(now)

    def _unknown_protocol(self, protocol: int, info: bytes, now: float) -> None:
        if self._lcp.state is not State.OPENED:
            self._drop("not_opened", f"protocol {protocol:#06x} before LCP is Opened", now)
            return
        room = max(0, self.lcp.his.mru - 6)  # LCP header and the rejected protocol field
        self._lcp.send_code(pkt.Code.PROTOCOL_REJECT, protocol.to_bytes(2, "big") + info[:room])
        self._drop("unknown_protocol", f"Protocol-Reject sent for {protocol:#06x}", now)

    def _on_protocol_reject(self, protocol: int) -> None:
        self._work.append(("protocol-reject", protocol))

    # ----------------------------------------------------------- layer work

    def _settle(self, now: float) -> None:
        """Do the work the automata queued, then tell the driver what changed."""
        while self._work:
            name, arg = self._work.popleft()
            if name == "lcp":
                self._lcp_layer(arg, now)
            elif name == "protocol-reject":
                self._protocol_rejected(arg, now)
            else:
                self._ncp_layer(name, arg, now)
        up = self.running and self._authenticated and self._lcp.state is State.OPENED
        if up != self._link_up:
            self._link_up = up
            if up:
                self._events.append(LinkUp())
            else:
                self.counters.link_down_events += 1
                self._events.append(LinkDown(self._reason or "LCP down"))
        self._ipv4_open = up and self._ipcp.state is State.OPENED
        self._ipv6_open = up and self._ipv6cp is not None and self._ipv6cp.state is State.OPENED
        usable = self._ipv4_open or self._ipv6_open
        if usable != self._usable:
            self._usable = usable
            self._events.append(ChannelStatusChanged(0, "opened" if usable else self.phase.value, usable))
        self._reason = None

    def _lcp_layer(self, action: Action, now: float) -> None:
        if action is Action.TLU:
            self._restart_due = None
            self._looped = False
            self._loop_base = self.lcp.counters.loops
            self._echo_loop_base = self.lcp.counters.echo_loops
            self._refresh_tx()
            self._start_auth(now)
            if self._lcp.state is State.OPENED:
                self.lcp.keepalive.start(now)
        elif action is Action.TLD:
            for role in self._auth_roles:
                role.stop()
            self._authenticated = False
            for ncp in self._ncps.values():
                if ncp.state not in (State.INITIAL, State.STARTING):
                    ncp.down(now)
            self._refresh_tx()
        elif action is Action.TLF and self.running:
            self._restart_due = now + self._cfg.holdoff
        # tls: nothing to start, the line is there whenever the port runs.

    def _ncp_layer(self, name: str, action: Action, now: float) -> None:
        if action is Action.TLU:
            handler: Ipcp | Ipv6cp | None = self.ipcp if name == "ipcp" else self.ipv6cp
            if handler is None:
                return
            local, peer = handler.local_address, handler.peer_address
            if local is not None and (name == "ipv6cp" or self.ipcp.assigned):
                self._events.append(LocalAddressAssigned(0, local, 64 if name == "ipv6cp" else 32))
            if peer is not None:
                self._events.append(PeerAddressLearned(0, peer))
        elif (
            action is Action.TLF
            and self._lcp.state is State.OPENED
            and not any(ncp.state in _ALIVE for ncp in self._ncps.values())
        ):
            self._fail("no network protocols running", now)

    def _protocol_rejected(self, protocol: int, now: float) -> None:
        """The peer does not run ``protocol`` (RFC 1661 5.7): stop it."""
        target = {pkt.IPV4: pkt.IPCP, pkt.IPV6: pkt.IPV6CP}.get(protocol, protocol)
        ncp = self._ncps.get(target)
        if ncp is not None:
            ncp.fire(Event.RXJ_MINUS, now)
        elif protocol in (pkt.PAP, pkt.CHAP) and self._auth_roles:
            self._fail(f"auth failed: peer protocol-rejected {protocol:#06x}", now, counter="auth_failures")

    def _start_auth(self, now: float) -> None:
        roles: list[AuthRole] = []
        if self._cfg.require != "none":
            if self.lcp.ours.auth is None:
                self._fail("auth failed: peer refused to authenticate", now, counter="auth_failures")
                return
            roles.append(
                make_role(self.lcp.ours.auth, True)(self._cfg, self._rng, self._sender(self.lcp.ours.auth))
            )
        if self.lcp.his.auth is not None:
            roles.append(
                make_role(self.lcp.his.auth, False)(self._cfg, self._rng, self._sender(self.lcp.his.auth))
            )
        self._auth_roles = roles
        self._auth_result = "pending" if roles else None
        for role in roles:
            role.start(now)
        self._check_auth(now)

    def _check_auth(self, now: float) -> None:
        if self._lcp.state is not State.OPENED:
            return
        failed = next((role for role in self._auth_roles if role.state is AuthState.FAILED), None)
        if failed is not None:
            self._auth_result = f"failed: {failed.reason}"
            self._fail(f"auth failed: {failed.reason}", now, counter="auth_failures")
        elif not self._authenticated and all(r.state is AuthState.SUCCEEDED for r in self._auth_roles):
            self._authenticated = True
            if self._auth_roles:
                self._auth_result = "succeeded"
            for ncp in self._ncps.values():
                if ncp.state is State.STARTING:
                    ncp.up(now)

    def _fail(self, reason: str, now: float, *, counter: str | None = None, report: bool = True) -> None:
        """Close LCP for ``reason``; LinkDown now if the link is not up (else when it goes down)."""
        if counter is not None:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        if self._link_up:
            self._reason = reason
        elif report:
            self._events.append(LinkDown(reason))
        for role in self._auth_roles:
            role.stop()
        self._lcp.close(now, reason)

    # ----------------------------------------------------------- helpers

    def _refresh_tx(self) -> None:
        """Headers for encode and reject sizes, from what LCP negotiated (defaults when not Opened)."""
        opened = self._lcp.state is State.OPENED
        his = self.lcp.his
        acfc, pfc = opened and his.acfc, opened and his.pfc
        self._tx = {
            Proto.IPV4: pkt.frame_header(pkt.IPV4, acfc=acfc, pfc=pfc),
            Proto.IPV6: pkt.frame_header(pkt.IPV6, acfc=acfc, pfc=pfc),
            Proto.RAW: b"" if acfc else pkt.ADDRESS_CONTROL,
        }
        for automaton in (self._lcp, *self._ncps.values()):
            automaton.max_packet = his.mru if opened else 1500

    def _drop(self, counter: str, detail: str, now: float) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        if counter == "not_opened":
            return  # a normal race (the peer's NCP starts first), silently discarded per RFC 1661
        last = self._last_report.get(counter)
        if last is None or now - last >= ERROR_REPORT_INTERVAL or now < last:
            self._last_report[counter] = now
            self._events.append(ProtocolErrorSeen(counter, detail))


def _fsm_status(automaton: Automaton) -> dict[str, Any]:
    c = automaton.counters
    return {
        "restart_count": automaton.restart_count,
        "packets_sent": dict(c.sent),
        "packets_received": dict(c.received),
        "timeouts": c.timeouts,
        "discarded": c.discarded,
    }
