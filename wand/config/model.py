"""The typed configuration model: one DeviceConfig per wanpipe device (one line).

The loader (wand.config.loader) builds these from YAML and guarantees they are
valid; everything downstream may trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.fr.config import ChannelMode, FrameRelayConfig
from firmware_emu.phy.config import LineConfig
from firmware_emu.ppp.config import PppConfig
from firmware_emu.x25.config import X25Config


@dataclass(frozen=True)
class RouteConfig:
    dst: str  # CIDR, "0.0.0.0/0" for default
    gateway: str | None = None
    metric: int | None = None


@dataclass(frozen=True)
class InterfaceConfig:
    name: str  # e.g. wp1_fr16
    # The DLCI on Frame Relay; 0 on single-channel lines (Cisco HDLC, PPP). X.25: a PVC's
    # LCN, svc_channel(i) for the i-th SVC interface, 0 for the API interface.
    channel: int
    mode: ChannelMode = ChannelMode.IP  # IP -> TUN, BRIDGE -> TAP, API -> an application socket
    address: str | None = None  # IPv4 address of this end
    peer: str | None = None  # point-to-point peer address
    prefix: int = 30
    mtu: int = 1500
    routes: tuple[RouteConfig, ...] = ()


@dataclass(frozen=True)
class TransportConfig:
    kind: Literal["unix", "udp", "tty", "xot"]
    # unix: socket path; udp: "host:port"; tty: the device (a serial port or a pty);
    # xot: the "host:port" to listen on for X.25 over TCP (RFC 1613)
    local: str
    # The far end; empty for a tty, whose far end is whatever is plugged in, and for an
    # XOT line that only listens
    remote: str
    baud: int | None = None  # tty only: the rate to set (None leaves the device as it is)


@dataclass(frozen=True)
class SwitchConfig:
    """Frame Relay switching: frames on `dlci` here go out on `to_device`/`to_dlci`."""

    dlci: int
    to_device: str
    to_dlci: int


@dataclass(frozen=True)
class ManagementConfig:
    """The wanpipemon UDP management protocol of one device (wand.mgmt)."""

    udp_port: int = 9000  # WANPIPE's UDPPORT; 0 turns management off for this device
    ttl: int = 64  # IP TTL of replies; 1 keeps monitoring on the local segment
    key: bytes | None = field(default=None, repr=False)  # HMAC-SHA256 key, from key_file
    key_file: str | None = None  # where the key came from (for messages; never the key itself)
    bind: str | None = None  # with a key only: the address to listen on (None: 0.0.0.0)


@dataclass(frozen=True)
class DeviceConfig:
    name: str  # wanpipeN
    number: int  # N
    adapter: str  # card name; up to 4 devices share one adapter
    port: int  # 1..4 on that adapter
    line: LineConfig
    protocol: FrameRelayConfig | ChdlcConfig | PppConfig | X25Config
    transport: TransportConfig
    interfaces: tuple[InterfaceConfig, ...] = ()
    switch: tuple[SwitchConfig, ...] = ()
    source: str = field(default="", compare=False)  # file it was loaded from
    # Not compared: a reload that changes only management must not restart the
    # line; the management server follows Daemon.configs on its own.
    management: ManagementConfig = field(default_factory=ManagementConfig, compare=False)

    @property
    def protocol_name(self) -> str:
        """protocol.type as written in the file: frame_relay, chdlc, ppp or x25."""
        if isinstance(self.protocol, ChdlcConfig):
            return "chdlc"
        if isinstance(self.protocol, PppConfig):
            return "ppp"
        if isinstance(self.protocol, X25Config):
            return "x25"
        return "frame_relay"
