"""The Cisco HDLC port engine: data plane, keepalives and SLARP behind one sans-I/O API.

Same driver-facing API as the Frame Relay engine. The driver feeds received
frames (address first, FCS checked and stripped) to ``receive_frame``, calls
``handle_timer`` when ``get_timer`` says so, and after every call drains
``frames_to_send`` (keepalives and SLARP, to put on the line) and
``next_event`` (LinkUp/LinkDown, ChannelStatusChanged, PeerAddressLearned,
LocalAddressAssigned, ProtocolErrorSeen). Data goes out through ``encode``,
which only builds bytes.

A Cisco HDLC line has one channel, 0. Its mode decides what is delivered:
``ip`` takes IPv4 and IPv6, ``bridge`` takes bridged Ethernet (0x6558), and
``raw`` takes every protocol except SLARP and delivers the frame after the
address and control octets, i.e. the 2-octet protocol and the data; on
encode, a RAW payload is likewise the protocol and the data, and gets only
the unicast address and control prepended. CDP frames (0x2000), which IOS
sends on every serial line, are dropped quietly in ip and bridge mode.

Errors on the receive path are the peer's: they are counted, reported as
rate-limited ProtocolErrorSeen events, and the frame is dropped;
``receive_frame`` never raises. Data received while the line is not UP
(down, looped, stopped) is dropped too: the interface carrier is off.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Final

from firmware_emu.chdlc import codec
from firmware_emu.chdlc.codec import Keepalive
from firmware_emu.chdlc.config import ChannelMode, ChdlcConfig, validate_config
from firmware_emu.chdlc.keepalive import KeepaliveCounters, KeepaliveMachine, LinkEvent, LinkState
from firmware_emu.chdlc.slarp import SlarpAgent, SlarpCounters, SlarpEvent
from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.events import ChannelStatusChanged, ProtocolErrorSeen
from firmware_emu.payload import Delivery, Proto

__all__ = ["ChdlcCounters", "ChdlcEngine", "ChdlcEvent", "Delivery", "Proto"]

CHANNEL: Final = 0
ERROR_REPORT_INTERVAL: Final = 1.0  # s; ProtocolErrorSeen at most this often per drop counter

_ADDRESSES: Final = frozenset((codec.ADDR_UNICAST, codec.ADDR_BROADCAST))
_SLARP: Final = codec.ETHERTYPE_SLARP.to_bytes(2, "big")
_CDP: Final = codec.ETHERTYPE_CDP.to_bytes(2, "big")
_new_tuple: Final = tuple.__new__
_RAW: Final = Proto.RAW

# What each mode delivers, by the protocol octets.
_RX: Final[dict[ChannelMode, dict[bytes, Proto]]] = {
    ChannelMode.IP: {
        codec.ETHERTYPE_IPV4.to_bytes(2, "big"): Proto.IPV4,
        codec.ETHERTYPE_IPV6.to_bytes(2, "big"): Proto.IPV6,
    },
    ChannelMode.BRIDGE: {codec.ETHERTYPE_BRIDGED.to_bytes(2, "big"): Proto.ETHER},
    ChannelMode.RAW: {},
}
_TX: Final[dict[Proto, bytes]] = {
    Proto.IPV4: codec.header(codec.ETHERTYPE_IPV4),
    Proto.IPV6: codec.header(codec.ETHERTYPE_IPV6),
    Proto.ETHER: codec.header(codec.ETHERTYPE_BRIDGED),
    Proto.RAW: bytes((codec.ADDR_UNICAST, codec.CONTROL)),
}

ChdlcEvent = LinkEvent | SlarpEvent


@dataclass(slots=True)
class ChdlcCounters:
    """Data plane and drops. Keepalive and SLARP counters are in their own dataclasses."""

    rx_frames: int = 0
    rx_bytes: int = 0  # payload octets delivered (after the 4-octet header; RAW: after 2)
    tx_frames: int = 0
    tx_bytes: int = 0  # payload octets handed to encode
    malformed: int = 0  # truncated, bad address or control octet, no data after the header
    unknown_protocol: int = 0  # a protocol this channel's mode does not take
    slarp_errors: int = 0  # bad SLARP length or code
    link_not_up: int = 0  # received while the line is down, looped or stopped
    ignored: int = 0  # CDP: expected, not ours to handle


class ChdlcEngine:
    """One Cisco HDLC port, either end (the protocol is symmetric).

    ``now`` is unused (the engine factory signature); ``rng`` draws the keepalive
    loop-detection numbers, and defaults to a ``random.Random`` seeded by the OS.
    """

    def __init__(self, config: ChdlcConfig, now: float, *, rng: random.Random | None = None) -> None:
        self._mode = validate_config(config)
        self._cfg = config
        self._link = KeepaliveMachine(config.keepalive, config.error_margin, rng or random.Random())
        self._slarp = SlarpAgent(config)
        self._rx = _RX[self._mode]
        self._raw = self._mode is ChannelMode.RAW
        self._up = False  # cached from ChannelStatusChanged: the receive path's only state check
        self._frames: list[bytes] = []
        self._events: deque[ChdlcEvent] = deque()
        self._last_report: dict[str, float] = {}
        self.counters = ChdlcCounters()

    # ------------------------------------------------------------- lifecycle

    def start(self, now: float) -> None:
        """First keepalive (and SLARP request) at once. Twice: LocalProtocolError."""
        self._link.start(now)
        self._slarp.start(now)
        self._drain()

    def stop(self, now: float) -> None:
        """Line down, no timers, queued control frames dropped, learned addresses forgotten."""
        self._link.stop(now)
        self._slarp.stop()
        self._drain()
        self._frames.clear()

    # ------------------------------------------------------------- hot paths

    def encode(self, channel: int, payload: bytes, proto: Proto) -> bytes:
        """Header + payload (no FCS). Proto.RAW: payload is protocol + data."""
        if channel != CHANNEL:
            raise LocalProtocolError(f"Cisco HDLC has only channel 0, not {channel}")
        try:
            header = _TX[proto]
        except (KeyError, TypeError):
            raise LocalProtocolError(f"not a Proto: {proto!r}") from None
        if proto is _RAW and len(payload) < 2:
            raise LocalProtocolError("a RAW Cisco HDLC payload starts with the 2-octet protocol")
        c = self.counters
        c.tx_frames += 1
        c.tx_bytes += len(payload)
        return header + payload

    def receive_frame(self, frame: bytes, now: float) -> Delivery | None:
        """A received frame (address first, FCS stripped): data for the driver, or None."""
        if type(frame) is not bytes:
            frame = bytes(frame)  # dictionary lookups on slices need bytes
        n = len(frame)
        if n < codec.HEADER_LEN:
            self._drop("malformed", f"frame of {n} octets", now)
            return None
        if frame[0] not in _ADDRESSES or frame[1] != codec.CONTROL:
            self._drop("malformed", f"bad address/control {frame[0]:02X} {frame[1]:02X}", now)
            return None
        ptype = frame[2:4]
        if ptype == _SLARP:
            self._receive_slarp(frame[4:], now)
            return None
        if self._raw:
            payload = frame[2:]
            proto = _RAW
        else:
            proto = self._rx.get(ptype)  # type: ignore[assignment]
            if proto is None:
                if ptype == _CDP:
                    self.counters.ignored += 1
                else:
                    self._drop("unknown_protocol", f"protocol {ptype.hex()} in {self._mode.value} mode", now)
                return None
            payload = frame[4:]
        if n == codec.HEADER_LEN:
            self._drop("malformed", "no data after the header", now)
            return None
        if not self._up:
            self._drop("link_not_up", f"data while the line is {self._link.state.value}", now)
            return None
        c = self.counters
        c.rx_frames += 1
        c.rx_bytes += len(payload)
        # tuple.__new__ skips NamedTuple's Python-level __new__, as in the Frame Relay engine.
        return _new_tuple(Delivery, (CHANNEL, proto, payload, False, False, False))

    # ----------------------------------------------------------- outputs

    def frames_to_send(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        return frames

    def next_event(self) -> ChdlcEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        a, b = self._link.get_timer(), self._slarp.get_timer()
        if a is None:
            return b
        return a if b is None or a <= b else b

    def handle_timer(self, now: float) -> None:
        self._link.handle_timer(now)
        self._slarp.handle_timer(now)
        self._drain()

    # ----------------------------------------------------------- queries

    def channel_usable(self, channel: int) -> bool:
        """False for any channel but 0 as well."""
        return channel == CHANNEL and self._up

    @property
    def link_up(self) -> bool:
        return self._link.link_up

    @property
    def link_state(self) -> LinkState:
        return self._link.state

    @property
    def keepalive_counters(self) -> KeepaliveCounters:
        return self._link.counters

    @property
    def slarp_counters(self) -> SlarpCounters:
        return self._slarp.counters

    @property
    def address(self) -> tuple[str, int] | None:
        """Our address and prefix on the line (configured or learned), if any."""
        s = self._slarp
        return None if s.address is None else (s.address, s.prefix)

    @property
    def peer_address(self) -> str | None:
        return self._slarp.peer_address

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot for status files and the management protocol."""
        return {
            "protocol": "chdlc",
            "mode": self._mode.value,
            "link": self._link.state.value,
            "link_up": self._link.link_up,
            "keepalive": self._link.status(),
            "slarp": {**self._slarp.status(), **asdict(self._slarp.counters)},
            "counters": asdict(self.counters),
        }

    # ----------------------------------------------------------- internals

    def _receive_slarp(self, data: bytes, now: float) -> None:
        if self._link.state is LinkState.STOPPED:
            self._drop("link_not_up", "SLARP while the port is stopped", now)
            return
        try:
            msg = codec.decode_slarp(data)
        except RemoteProtocolError as exc:
            self._drop("slarp_errors", str(exc), now)
            return
        if isinstance(msg, Keepalive):
            self._link.receive(msg, now)
        else:
            self._slarp.receive(msg, now)
        self._drain()

    def _drain(self) -> None:
        """Move the parts' outputs into ours; follow the channel's usability."""
        self._frames.extend(self._link.take_frames())
        self._frames.extend(self._slarp.take_frames())
        for ev in self._link.take_events():
            if type(ev) is ChannelStatusChanged:
                self._up = ev.usable
            self._events.append(ev)
        self._events.extend(self._slarp.take_events())

    def _drop(self, counter: str, detail: str, now: float) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        last = self._last_report.get(counter)
        if last is None or now - last >= ERROR_REPORT_INTERVAL or now < last:
            self._last_report[counter] = now
            self._events.append(ProtocolErrorSeen(counter, detail))
