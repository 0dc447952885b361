"""Events a Frame Relay engine hands to the driver. Small and immutable."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PvcState(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"


@dataclass(frozen=True)
class LinkUp:
    """LMI declared the link operational (or signalling none: started)."""


@dataclass(frozen=True)
class LinkDown:
    reason: str


@dataclass(frozen=True)
class PvcStatusChanged:
    dlci: int
    state: PvcState
    usable: bool  # link up AND PVC active: the driver's carrier follows this


@dataclass(frozen=True)
class PeerAddressLearned:
    """Inverse ARP told us the peer's protocol address on this DLCI."""

    dlci: int
    address: str


@dataclass(frozen=True)
class ProtocolErrorSeen:
    """A counted, dropped error worth logging (rate-limited by the driver)."""

    counter: str
    detail: str


FrameRelayEvent = LinkUp | LinkDown | PvcStatusChanged | PeerAddressLearned | ProtocolErrorSeen
