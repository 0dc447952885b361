"""PPP port configuration (the firmware's view): flat and frozen."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from firmware_emu.errors import LocalProtocolError

AuthRequire = Literal["none", "pap", "chap"]
Framing = Literal["sync", "async"]


@dataclass(frozen=True)
class PppConfig:
    # LCP (RFC 1661, 1662)
    mru: int = 1500  # what we can receive; requested only when not the default 1500
    accm: int = 0  # async only: the receive ACCM we ask for (the peer escapes these); sync ignores it
    magic: bool = True  # negotiate a Magic-Number (loopback detection)
    pfc: bool = False  # ask the peer to compress the protocol field towards us
    acfc: bool = False  # ask the peer to drop FF 03 towards us
    # RFC 1661 timers and counters
    restart: float = 3.0
    max_configure: int = 10
    max_terminate: int = 2
    max_failure: int = 5
    holdoff: float = 10.0  # s after LCP finished (Stopped/Closed) before trying again
    # LCP echo keepalive
    echo_interval: float = 10.0  # s between Echo-Requests; 0 disables
    echo_failures: int = 3  # unanswered Echo-Requests before the link is declared down
    # IPCP (RFC 1332)
    local_address: str | None = None  # None or "0.0.0.0": ask the peer to assign one
    peer_address: str | None = None  # address to give the peer if it asks (and insist on)
    # IPV6CP (RFC 5072)
    ipv6: bool = False
    ipv6_interface_id: int | None = None  # None: a random non-zero 64-bit identifier
    # Authentication (RFC 1334, 1994)
    require: AuthRequire = "none"  # what we demand of the peer
    secrets: tuple[tuple[str, str], ...] = ()  # (name, secret) accepted from the peer
    username: str | None = None  # how we authenticate ourselves, if the peer demands it
    password: str | None = None
    framing: Framing = "sync"


def _ipv4(value: str | None, what: str) -> None:
    if value is None:
        return
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise LocalProtocolError(f"{what} {value!r} is not an IPv4 address") from None


def validate_config(cfg: PppConfig) -> None:
    """LocalProtocolError if the configuration cannot work."""
    if not 64 <= cfg.mru <= 65535:
        raise LocalProtocolError(f"mru {cfg.mru} out of range 64..65535")
    if not 0 <= cfg.accm <= 0xFFFFFFFF:
        raise LocalProtocolError(f"accm {cfg.accm:#x} is not a 32-bit map")
    if cfg.restart <= 0 or cfg.holdoff <= 0:
        raise LocalProtocolError("restart and holdoff must be positive")
    if min(cfg.max_configure, cfg.max_terminate, cfg.max_failure, cfg.echo_failures) < 1:
        raise LocalProtocolError("max_configure, max_terminate, max_failure and echo_failures must be >= 1")
    if cfg.echo_interval < 0:
        raise LocalProtocolError("echo_interval must be >= 0 (0 disables)")
    _ipv4(cfg.local_address, "local_address")
    _ipv4(cfg.peer_address, "peer_address")
    if cfg.peer_address == "0.0.0.0":
        raise LocalProtocolError("peer_address 0.0.0.0 cannot be assigned")
    iid = cfg.ipv6_interface_id
    if iid is not None and not 0 < iid < 1 << 64:
        raise LocalProtocolError("ipv6_interface_id must be a non-zero 64-bit value")
    if cfg.require not in ("none", "pap", "chap"):
        raise LocalProtocolError(f"require must be none, pap or chap, not {cfg.require!r}")
    if cfg.require != "none" and not cfg.secrets:
        raise LocalProtocolError(f"require={cfg.require} needs secrets to check the peer against")
    if (cfg.username is None) != (cfg.password is None):
        raise LocalProtocolError("username and password go together")
    for name, secret in cfg.secrets:
        if len(name.encode()) > 255 or len(secret.encode()) > 255:
            raise LocalProtocolError(f"secret for {name[:20]!r}: name and secret are at most 255 octets")
    if len((cfg.username or "").encode()) > 255 or len((cfg.password or "").encode()) > 255:
        raise LocalProtocolError("username and password are at most 255 octets (PAP)")
    if cfg.framing not in ("sync", "async"):
        raise LocalProtocolError(f"framing must be sync or async, not {cfg.framing!r}")
