"""The emulated adapter: a card with up to four ports and a mailbox."""

from firmware_emu.adapter.card import MAX_PORTS, Adapter
from firmware_emu.adapter.mailbox import (
    AddChannel,
    ConfigurePort,
    ReadStatus,
    RemoveChannel,
    RemovePort,
    Reply,
    SetChannelActive,
    StartPort,
    StopPort,
)
from firmware_emu.adapter.port import Port

__all__ = [
    "MAX_PORTS",
    "Adapter",
    "AddChannel",
    "ConfigurePort",
    "Port",
    "ReadStatus",
    "RemoveChannel",
    "RemovePort",
    "Reply",
    "SetChannelActive",
    "StartPort",
    "StopPort",
]
