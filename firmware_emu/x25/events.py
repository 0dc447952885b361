"""Events of the X.25 packet layer. Small and immutable.

Counted drops and errors are firmware_emu.events.ProtocolErrorSeen, re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_emu.events import ProtocolErrorSeen
from firmware_emu.x25.facilities import Facilities


@dataclass(frozen=True)
class PacketLayerReady:
    """A restart completed and the link is up: calls can be made, PVCs carry data."""


@dataclass(frozen=True)
class PacketLayerDown:
    """The layer stopped being ready (link down, or we restart after an error)."""

    reason: str


@dataclass(frozen=True)
class IncomingCall:
    lcn: int
    called: str
    calling: str
    user_data: bytes
    facilities: Facilities  # as requested by the caller (None fields: the defaults)


@dataclass(frozen=True)
class CallConnected:
    """Data transfer began: our call was accepted, or we accepted one. Sizes are for our sending."""

    lcn: int
    packet_size: int
    window: int


@dataclass(frozen=True)
class CallCleared:
    """A call ended (refused, cleared by either end, timed out, killed by a restart or link loss).

    Exactly one per call we placed or were offered, when its LCN is free again."""

    lcn: int
    cause: int
    diagnostic: int
    by_peer: bool


@dataclass(frozen=True)
class DataReceived:
    """One complete M-bit sequence, with the Q and D bits of its first packet."""

    lcn: int
    data: bytes
    q: bool
    d: bool


@dataclass(frozen=True)
class ResetIndication:
    """The circuit was reset by the peer, or by us on an error: data in flight was lost."""

    lcn: int
    cause: int
    diagnostic: int


@dataclass(frozen=True)
class InterruptReceived:
    lcn: int
    data: bytes


@dataclass(frozen=True)
class InterruptConfirmed:
    lcn: int


@dataclass(frozen=True)
class RestartIndication:
    """The interface restarted (the peer's restart, or ours after an error): every call is gone."""

    cause: int
    diagnostic: int


@dataclass(frozen=True)
class CircuitWritable:
    """can_send(lcn) went from False to True: the driver may resume reading the application."""

    lcn: int


X25Event = (
    PacketLayerReady
    | PacketLayerDown
    | IncomingCall
    | CallConnected
    | CallCleared
    | DataReceived
    | ResetIndication
    | InterruptReceived
    | InterruptConfirmed
    | RestartIndication
    | CircuitWritable
    | ProtocolErrorSeen
)

__all__ = [
    "CallCleared",
    "CallConnected",
    "CircuitWritable",
    "DataReceived",
    "IncomingCall",
    "InterruptConfirmed",
    "InterruptReceived",
    "PacketLayerDown",
    "PacketLayerReady",
    "ProtocolErrorSeen",
    "ResetIndication",
    "RestartIndication",
    "X25Event",
]
