"""The emulated adapter: a card with up to four ports and a mailbox."""

from firmware_emu.adapter.card import MAX_PORTS, Adapter
from firmware_emu.adapter.mailbox import (
    AddChannel,
    ConfigurePort,
    LoadFirmware,
    ReadStatus,
    ReadTrace,
    RemoveChannel,
    RemovePort,
    Reply,
    SetChannelActive,
    StartPort,
    StartTrace,
    StopPort,
    StopTrace,
)
from firmware_emu.adapter.port import Port
from firmware_emu.adapter.trace import Direction, TraceRecord

__all__ = [
    "MAX_PORTS",
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
