"""Frame Relay firmware: Q.922 framing, RFC 2427/Cisco encapsulation, LMI, Inverse ARP.

``FrameRelayEngine`` (engine.py) is the sans-I/O port engine the adapter drives;
the other modules are its parts: q922 (address), encap (encapsulation), lmi_codec
(LMI messages on the wire), lmi (the DTE/DCE link state machines) and inarp.
"""

from firmware_emu.fr.config import ChannelMode, DlciConfig, FrameRelayConfig
from firmware_emu.fr.engine import Delivery, DlciCounters, EngineCounters, FrameRelayEngine, Proto
from firmware_emu.fr.events import (
    FrameRelayEvent,
    LinkDown,
    LinkUp,
    PeerAddressLearned,
    ProtocolErrorSeen,
    PvcState,
    PvcStatusChanged,
)

__all__ = [
    "ChannelMode",
    "Delivery",
    "DlciConfig",
    "DlciCounters",
    "EngineCounters",
    "FrameRelayConfig",
    "FrameRelayEngine",
    "FrameRelayEvent",
    "LinkDown",
    "LinkUp",
    "PeerAddressLearned",
    "ProtocolErrorSeen",
    "Proto",
    "PvcState",
    "PvcStatusChanged",
]
