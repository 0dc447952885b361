"""SLARP address resolution: answer the peer's requests, learn our own address.

Serial Line ARP lets one end of a point-to-point line get its IPv4 address
from the other (Cisco's AutoInstall over serial). The asking side sends an
address request (address and mask zero); the other answers with its own
address and mask. The asker then takes the *other* host of that subnet:

* /31: the other of the two addresses (host part 0 <-> 1);
* /30 and shorter: the peer must be host 1 or host 2 of its subnet, and we
  are the other one (.1 <-> .2). Anything else is an unusable reply, as on
  Cisco (the isdn_net Cisco HDLC code of old Linux kernels did the same for
  /30 only).

Requests are sent at start and every retry interval until a usable reply
arrives. We answer a request only if we have an address (configured, or
already learned); Linux answers 0.0.0.0 instead, which teaches nothing.
A reply we did not ask for is counted and dropped (Linux does the same), and
so is one that carries our own address: that is our own request answered by
ourselves over a looped line.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Final

from firmware_emu.chdlc.codec import AddressMessage, SlarpCode, slarp_frame
from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.errors import RemoteProtocolError
from firmware_emu.events import LocalAddressAssigned, PeerAddressLearned, ProtocolErrorSeen

SLARP_RETRY: Final = 10.0  # s between requests when keepalives (whose interval we reuse) are off
CHANNEL: Final = 0

_REQUEST: Final = slarp_frame(AddressMessage(SlarpCode.REQUEST, "0.0.0.0", "0.0.0.0"))

SlarpEvent = PeerAddressLearned | LocalAddressAssigned | ProtocolErrorSeen


@dataclass(slots=True)
class SlarpCounters:
    requests_sent: int = 0
    requests_received: int = 0
    replies_sent: int = 0
    replies_received: int = 0
    unanswered_requests: int = 0  # we had no address to give
    unexpected_replies: int = 0  # not asked for, or carrying our own address
    unusable_replies: int = 0  # the peer's address/mask gives us no address


def local_from_peer(address: str, mask: str) -> tuple[str, int]:
    """Our address and prefix, given the peer's. RemoteProtocolError if there is none."""
    try:
        net = ipaddress.IPv4Network(f"0.0.0.0/{mask}")
    except ValueError:
        raise RemoteProtocolError(f"SLARP reply with a non-contiguous mask {mask}") from None
    prefix = net.prefixlen
    peer = int(ipaddress.IPv4Address(address))
    host = peer & int(net.hostmask)
    if prefix == 31:
        local = peer ^ 1
    elif prefix <= 30 and host in (1, 2):
        local = peer ^ 3  # 1 <-> 2
    else:
        raise RemoteProtocolError(
            f"SLARP reply {address}/{prefix}: the peer is not host 1 or 2 of its subnet"
        )
    return str(ipaddress.IPv4Address(local)), prefix


class SlarpAgent:
    """Our half of SLARP address resolution for one line. Outputs are taken by the engine."""

    def __init__(self, config: ChdlcConfig) -> None:
        self._learn = config.learn_address
        self._configured = (config.address, config.prefix)
        self._retry = config.keepalive or SLARP_RETRY
        self.address, self.prefix = self._configured
        self.peer_address: str | None = None
        self._due: float | None = None  # next request; None when not asking
        self._frames: list[bytes] = []
        self._events: list[SlarpEvent] = []
        self.counters = SlarpCounters()

    # ---------------------------------------------------------------- driving

    def start(self, now: float) -> None:
        if self._learn:
            self._request(now)

    def stop(self) -> None:
        # The next start may be on another line: forget what this one taught us.
        self._due = None
        self.address, self.prefix = self._configured
        self.peer_address = None
        self._frames.clear()

    def get_timer(self) -> float | None:
        return self._due

    def handle_timer(self, now: float) -> None:
        if self._due is not None and now >= self._due:
            self._request(now)

    def receive(self, msg: AddressMessage, now: float) -> None:
        if msg.code is SlarpCode.REQUEST:
            self._on_request()
        else:
            self._on_reply(msg)

    def take_frames(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        return frames

    def take_events(self) -> list[SlarpEvent]:
        events, self._events = self._events, []
        return events

    def status(self) -> dict[str, Any]:
        return {
            "learn_address": self._learn,
            "address": self.address,
            "prefix": self.prefix if self.address is not None else None,
            "peer_address": self.peer_address,
            "requesting": self._due is not None,
        }

    # -------------------------------------------------------------- internals

    def _request(self, now: float) -> None:
        self._frames.append(_REQUEST)
        self.counters.requests_sent += 1
        self._due = now + self._retry

    def _on_request(self) -> None:
        self.counters.requests_received += 1
        if self.address is None:
            self.counters.unanswered_requests += 1
            self._error("unanswered_requests", "SLARP address request, but we have no address to give")
            return
        mask = str(ipaddress.IPv4Network(f"0.0.0.0/{self.prefix}").netmask)
        self._frames.append(slarp_frame(AddressMessage(SlarpCode.REPLY, self.address, mask)))
        self.counters.replies_sent += 1

    def _on_reply(self, msg: AddressMessage) -> None:
        self.counters.replies_received += 1
        if not self._learn:
            self.counters.unexpected_replies += 1
            self._error("unexpected_replies", f"unsolicited SLARP reply {msg.address}/{msg.mask}")
            return
        if msg.address == self.address:
            self.counters.unexpected_replies += 1
            self._error("unexpected_replies", f"SLARP reply carries our own address {msg.address} (looped?)")
            return
        try:
            local, prefix = local_from_peer(msg.address, msg.mask)
        except RemoteProtocolError as exc:
            self.counters.unusable_replies += 1
            self._error("unusable_replies", str(exc))
            return
        self._due = None
        if msg.address != self.peer_address:
            self.peer_address = msg.address
            self._events.append(PeerAddressLearned(CHANNEL, msg.address))
        if (local, prefix) != (self.address, self.prefix):
            self.address, self.prefix = local, prefix
            self._events.append(LocalAddressAssigned(CHANNEL, local, prefix))

    def _error(self, counter: str, detail: str) -> None:
        self._events.append(ProtocolErrorSeen(counter, detail))
