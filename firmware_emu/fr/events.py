"""Events a Frame Relay engine hands to the driver. Small and immutable.

The protocol-neutral ones live in firmware_emu.events and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from firmware_emu.events import LinkDown, LinkUp, PeerAddressLearned, ProtocolErrorSeen


class PvcState(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"


@dataclass(frozen=True)
class PvcStatusChanged:
    dlci: int
    state: PvcState
    usable: bool  # link up AND PVC active: the driver's carrier follows this

    @property
    def channel(self) -> int:
        return self.dlci


FrameRelayEvent = LinkUp | LinkDown | PvcStatusChanged | PeerAddressLearned | ProtocolErrorSeen

__all__ = [
    "FrameRelayEvent",
    "LinkDown",
    "LinkUp",
    "PeerAddressLearned",
    "ProtocolErrorSeen",
    "PvcState",
    "PvcStatusChanged",
]
