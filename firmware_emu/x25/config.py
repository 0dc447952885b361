"""An X.25 port's configuration (the firmware's view): LAPB, the packet layer, and its channels.

A channel is what the driver attaches an interface to:
- an IP channel over a PVC (RFC 1356 on a permanent circuit), whose id is the PVC's LCN;
- an IP channel over SVCs to one remote X.121 address, whose id is
  SVC_CHANNEL_BASE + n: the call (and so its LCN) comes and goes, the
  interface stays. The call is placed on the first packet and cleared after
  `idle_timeout` seconds without traffic.
Calls that no IP channel takes go to the X.25 API when the line has one
(`api`), and are cleared otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from firmware_emu.errors import LocalProtocolError
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.x25.layer import PacketLayerConfig

SVC_CHANNEL_BASE: Final = 0x10000  # above every LCN (12 bits), so the two never collide
IP_USER_DATA: Final = b"\xcc"  # RFC 1356: the call user data of an IP-over-X.25 call


@dataclass(frozen=True)
class X25Channel:
    channel: int
    pvc: int | None = None  # the LCN of a PVC
    remote: str | None = None  # SVC: the X.121 address to call and to accept IP calls from
    idle_timeout: float = 300.0  # s without traffic before the SVC is cleared; 0 keeps it
    call_out: bool = True  # place the call on first traffic (False: wait for the peer to call)

    @property
    def is_svc(self) -> bool:
        return self.pvc is None


@dataclass(frozen=True)
class X25Config:
    lapb: LapbConfig = field(default_factory=LapbConfig)
    packet: PacketLayerConfig = field(default_factory=PacketLayerConfig)
    channels: tuple[X25Channel, ...] = ()
    link: Literal["lapb", "xot"] = "lapb"  # xot: packets ride TCP (RFC 1613), no LAPB
    api: bool = False  # an X.25 API endpoint takes calls that no IP channel takes
    ip_queue: int = 64  # IP packets waiting per channel (call set-up, closed window)

    def __post_init__(self) -> None:
        validate_config(self)


def svc_channel(index: int) -> int:
    return SVC_CHANNEL_BASE + index


def validate_config(config: X25Config) -> None:
    if config.link not in ("lapb", "xot"):
        raise LocalProtocolError(f"link must be lapb or xot, not {config.link!r}")
    if config.ip_queue < 1:
        raise LocalProtocolError("ip_queue must be at least 1")
    seen: set[int] = set()
    remotes: set[str] = set()
    pvcs = set(config.packet.pvcs)
    for ch in config.channels:
        if ch.channel in seen:
            raise LocalProtocolError(f"channel {ch.channel} is configured twice")
        seen.add(ch.channel)
        if ch.pvc is not None:
            if ch.remote is not None:
                raise LocalProtocolError(f"channel {ch.channel}: a PVC has no remote address to call")
            if ch.pvc not in pvcs:
                raise LocalProtocolError(f"channel {ch.channel}: LCN {ch.pvc} is not a PVC of this line")
            if ch.channel != ch.pvc:
                raise LocalProtocolError(f"channel {ch.channel}: a PVC channel's id is its LCN {ch.pvc}")
        else:
            if not ch.remote:
                raise LocalProtocolError(f"channel {ch.channel}: an SVC channel needs a remote X.121 address")
            if ch.remote in remotes:
                raise LocalProtocolError(f"two SVC channels call {ch.remote}")
            remotes.add(ch.remote)
            if ch.channel < SVC_CHANNEL_BASE:
                raise LocalProtocolError(f"channel {ch.channel}: SVC channel ids start at {SVC_CHANNEL_BASE}")
        if ch.idle_timeout < 0:
            raise LocalProtocolError(f"channel {ch.channel}: idle_timeout cannot be negative")
