"""Events every protocol engine may hand to the driver. Small and immutable.

Protocol packages add their own (Frame Relay's PvcStatusChanged, for one);
anything with `channel`, `state` and `usable` is a channel status change to
the driver.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinkUp:
    """The line's link protocol is up (LMI, keepalives, LCP...)."""


@dataclass(frozen=True)
class LinkDown:
    reason: str


@dataclass(frozen=True)
class ChannelStatusChanged:
    """A logical channel became usable or unusable; the interface carrier follows `usable`."""

    channel: int
    state: str
    usable: bool


@dataclass(frozen=True)
class PeerAddressLearned:
    """The protocol told us the peer's address on a channel (Inverse ARP, SLARP, IPCP)."""

    channel: int
    address: str


@dataclass(frozen=True)
class LocalAddressAssigned:
    """The peer assigned our address (SLARP reply, IPCP Configure-Nak); the driver applies it."""

    channel: int
    address: str
    prefix: int


@dataclass(frozen=True)
class ProtocolErrorSeen:
    """A counted, dropped error worth logging (rate-limited by the driver)."""

    counter: str
    detail: str
