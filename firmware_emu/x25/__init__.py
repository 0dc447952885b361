"""X.25 firmware: the packet layer (ITU-T X.25 layer 3) and the port engine that carries it.

The packet layer is sans-I/O and takes and hands out whole packets:
``PacketLayer`` (layer.py) is the engine; its parts are codec (packets on
the wire), facilities (the facility field and negotiation), causes (cause
and diagnostic codes), states (the restart, call and reset state table),
circuit (one logical channel's data plane) and events.
"""

from firmware_emu.x25.events import (
    CallCleared,
    CallConnected,
    CircuitWritable,
    DataReceived,
    IncomingCall,
    InterruptConfirmed,
    InterruptReceived,
    PacketLayerDown,
    PacketLayerReady,
    ProtocolErrorSeen,
    ResetIndication,
    RestartIndication,
    X25Event,
)
from firmware_emu.x25.facilities import Facilities
from firmware_emu.x25.layer import PacketLayer, PacketLayerConfig, PacketLayerCounters

__all__ = [
    "CallCleared",
    "CallConnected",
    "CircuitWritable",
    "DataReceived",
    "Facilities",
    "IncomingCall",
    "InterruptConfirmed",
    "InterruptReceived",
    "PacketLayer",
    "PacketLayerConfig",
    "PacketLayerCounters",
    "PacketLayerDown",
    "PacketLayerReady",
    "ProtocolErrorSeen",
    "ResetIndication",
    "RestartIndication",
    "X25Event",
]
