"""Cisco HDLC port configuration (the firmware's view) and its validation."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from firmware_emu.errors import LocalProtocolError

# The channel modes are the same as Frame Relay's; they will move to a shared module.
from firmware_emu.fr.config import ChannelMode

__all__ = ["ChannelMode", "ChdlcConfig", "validate_config"]


@dataclass(frozen=True)
class ChdlcConfig:
    keepalive: float = 10.0  # s between keepalives; 0 disables them (the link is up at start)
    error_margin: int = 3  # intervals without an acknowledged keepalive before the link goes down
    address: str | None = None  # our IPv4 address on the line, given to the peer in SLARP replies
    prefix: int = 30  # the mask we put in SLARP replies
    learn_address: bool = False  # YAML "address: slarp": ask the peer for our address
    mode: ChannelMode = ChannelMode.IP


def validate_config(cfg: ChdlcConfig) -> ChannelMode:
    """LocalProtocolError if the configuration cannot work; the channel mode otherwise."""
    if not (isinstance(cfg.keepalive, int | float) and math.isfinite(cfg.keepalive) and cfg.keepalive >= 0):
        raise LocalProtocolError(f"keepalive must be a number of seconds >= 0, not {cfg.keepalive!r}")
    if isinstance(cfg.error_margin, bool) or not isinstance(cfg.error_margin, int) or cfg.error_margin < 1:
        raise LocalProtocolError(f"error_margin must be an integer >= 1, not {cfg.error_margin!r}")
    if isinstance(cfg.prefix, bool) or not isinstance(cfg.prefix, int) or not 1 <= cfg.prefix <= 32:
        raise LocalProtocolError(f"prefix must be 1..32, not {cfg.prefix!r}")
    try:
        mode = ChannelMode(cfg.mode)
    except ValueError:
        raise LocalProtocolError(f"unknown mode {cfg.mode!r}") from None
    if mode is ChannelMode.API:  # the driver's word for an application socket; the card runs it raw
        raise LocalProtocolError("the engine runs an API channel in mode raw, not api")
    if cfg.address is not None:
        try:
            ipaddress.IPv4Address(cfg.address)
        except ValueError:
            raise LocalProtocolError(f"address {cfg.address!r} is not an IPv4 address") from None
    if cfg.learn_address:
        if cfg.address is not None:
            # One source of truth: a learned address would silently replace the configured one.
            raise LocalProtocolError("learn_address (address: slarp) and a static address are exclusive")
        if mode is not ChannelMode.IP:
            raise LocalProtocolError(f"SLARP address learning needs mode ip, not {mode.value}")
    return mode
