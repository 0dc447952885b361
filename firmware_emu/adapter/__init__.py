"""The emulated adapter: a card with up to four ports and a mailbox."""

from firmware_emu.adapter.card import MAX_PORTS, Adapter
from firmware_emu.adapter.mailbox import (
    AcceptCall,
    AddChannel,
    ClearCall,
    ConfigurePort,
    LoadFirmware,
    PlaceCall,
    ReadStatus,
    ReadTrace,
    RemoveChannel,
    RemovePort,
    Reply,
    ResetCircuit,
    SendInterrupt,
    SetChannelActive,
    SetChannelBusy,
    StartPort,
    StartTrace,
    StopPort,
    StopTrace,
)
from firmware_emu.adapter.port import Port
from firmware_emu.adapter.trace import Direction, TraceRecord

__all__ = [
    "MAX_PORTS",
    "AcceptCall",
    "ClearCall",
    "PlaceCall",
    "ResetCircuit",
    "SendInterrupt",
    "SetChannelBusy",
    "Adapter",
    "AddChannel",
    "ConfigurePort",
    "Direction",
    "LoadFirmware",
    "Port",
    "ReadStatus",
    "ReadTrace",
    "RemoveChannel",
    "RemovePort",
    "Reply",
    "SetChannelActive",
    "StartPort",
    "StartTrace",
    "StopPort",
    "StopTrace",
    "TraceRecord",
]
