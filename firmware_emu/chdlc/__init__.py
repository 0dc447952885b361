"""Cisco HDLC firmware: framing, SLARP keepalives and SLARP address resolution.

``ChdlcEngine`` (engine.py) is the sans-I/O port engine the adapter drives;
the other modules are its parts: codec (frames and SLARP packets on the wire),
keepalive (the line protocol state machine), slarp (address resolution) and
config.
"""

from firmware_emu.chdlc.config import ChannelMode, ChdlcConfig
from firmware_emu.chdlc.engine import ChdlcCounters, ChdlcEngine, ChdlcEvent, Delivery, Proto
from firmware_emu.chdlc.keepalive import KeepaliveCounters, LinkState
from firmware_emu.chdlc.slarp import SlarpCounters
from firmware_emu.events import (
    ChannelStatusChanged,
    LinkDown,
    LinkUp,
    LocalAddressAssigned,
    PeerAddressLearned,
    ProtocolErrorSeen,
)

__all__ = [
    "ChannelMode",
    "ChannelStatusChanged",
    "ChdlcConfig",
    "ChdlcCounters",
    "ChdlcEngine",
    "ChdlcEvent",
    "Delivery",
    "KeepaliveCounters",
    "LinkDown",
    "LinkState",
    "LinkUp",
    "LocalAddressAssigned",
    "PeerAddressLearned",
    "Proto",
    "ProtocolErrorSeen",
    "SlarpCounters",
]
