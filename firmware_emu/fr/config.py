"""Frame Relay port and PVC configuration (the firmware's view)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Station = Literal["cpe", "node"]  # cpe = DTE (polls), node = DCE (answers, like a switch)
Signalling = Literal["ansi", "q933", "cisco", "none"]
Encapsulation = Literal["ietf", "cisco"]  # RFC 2427 NLPID/SNAP, or Cisco 2-byte ethertype


class ChannelMode(StrEnum):
    """How a DLCI's payload is interpreted by the engine."""

    IP = "ip"  # routed IPv4/IPv6 (TUN)
    BRIDGE = "bridge"  # bridged Ethernet (TAP), RFC 2427 SNAP 00-80-C2-00-07
    RAW = "raw"  # info field delivered untouched (switching, API)
    API = "api"  # an application socket instead of a TUN/TAP; the engine runs the channel RAW


@dataclass(frozen=True)
class DlciConfig:
    dlci: int
    mode: ChannelMode = ChannelMode.IP
    cir: int | None = None  # committed information rate, bits/s
    bc: int | None = None  # committed burst, bits
    be: int | None = None  # excess burst, bits
    inarp: bool = False  # send Inverse ARP requests and learn the peer's address
    address: str | None = None  # our IPv4 address on this PVC, for answering Inverse ARP


@dataclass(frozen=True)
class FrameRelayConfig:
    station: Station = "cpe"
    signalling: Signalling = "ansi"
    encapsulation: Encapsulation = "ietf"
    t391: float = 10.0  # DTE: link integrity verification polling timer, s
    t392: float = 15.0  # DCE: polling verification timer, s (> t391)
    n391: int = 6  # DTE: full status polling cycle
    n392: int = 3  # error threshold
    n393: int = 4  # monitored events count
    dlcis: tuple[DlciConfig, ...] = field(default_factory=tuple)
