"""Cisco HDLC frames and SLARP packets on the wire.

A Cisco HDLC frame (FCS already stripped) is a 4-octet header and the data::

    address  control  protocol (ethertype, big endian)  data...
    0F / 8F  00       0800 IPv4, 86DD IPv6, 6558 bridged Ethernet, 8035 SLARP

0x0F is unicast, 0x8F broadcast. Like Linux (hdlc_cisco.c) we send SLARP as
broadcast and everything else as unicast, and accept either on receive.

SLARP (Serial Line ARP, protocol 0x8035) starts with a 4-octet code; the rest
depends on it (all big endian)::

    offset  0     4          8            12           14          18    20
    0 / 1   code  address    mask         unused(2)    [4 octets]  [2 octets]
    2       code  my seq     your seq     reliability  [4 octets]  [2 octets]

The 14-octet form is Cisco's original packet (``struct oldslarp``, the length
tcpdump calls SLARP_MIN_LEN and scapy's SLARP layer builds). Newer IOS adds a
4-octet number to keepalives that it uses to detect a looped line; Linux
(``struct cisco_packet``, CISCO_PACKET_LEN) sends the same 18 octets with the
sender's uptime in milliseconds there, and also accepts a 20-octet packet
(CISCO_BIG_PACKET_LEN, two more octets of padding). We accept 14, 18 and 20
octets, as IOS does, and send 18 like Linux (address packets included), with
the IOS meaning of the extra field: see keepalive.py. Reliability is 0xFFFF
on send and not checked on receive (Linux does neither either).
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import RemoteProtocolError

ADDR_UNICAST: Final = 0x0F
ADDR_BROADCAST: Final = 0x8F
CONTROL: Final = 0x00
HEADER_LEN: Final = 4

ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_IPV6: Final = 0x86DD
ETHERTYPE_BRIDGED: Final = 0x6558  # transparent Ethernet bridging, no LAN FCS
ETHERTYPE_SLARP: Final = 0x8035
ETHERTYPE_CDP: Final = 0x2000  # Cisco Discovery Protocol (Linux's CISCO_SYS_INFO): ignored

SLARP_SHORT_LEN: Final = 14  # Cisco's original packet; scapy and tcpdump's minimum
SLARP_LEN: Final = 18  # Linux CISCO_PACKET_LEN: what we send
SLARP_BIG_LEN: Final = 20  # Linux CISCO_BIG_PACKET_LEN
SLARP_LENGTHS: Final = frozenset((SLARP_SHORT_LEN, SLARP_LEN, SLARP_BIG_LEN))

RELIABILITY: Final = 0xFFFF
SEQ_MOD: Final = 1 << 32

# The 4-octet header of every SLARP frame we send.
SLARP_HEADER: Final = struct.pack("!BBH", ADDR_BROADCAST, CONTROL, ETHERTYPE_SLARP)

_KEEPALIVE: Final = struct.Struct("!IIIHI")  # code, my seq, your seq, reliability, unique/uptime
_ADDRESS: Final = struct.Struct("!I4s4sHI")  # code, address, mask, unused, padding
_SHORT: Final = struct.Struct("!III")  # code and the two 4-octet parameters


class SlarpCode(enum.IntEnum):
    REQUEST = 0  # "what is your address?"
    REPLY = 1  # "my address and mask are..."
    KEEPALIVE = 2  # line check


@dataclass(frozen=True, slots=True)
class Keepalive:
    my_seq: int  # the sender's sequence number
    your_seq: int  # the last sequence number the sender received from us (0: none yet)
    reliability: int = RELIABILITY
    unique: int | None = None  # the 4 octets after reliability; None in a 14-octet packet


@dataclass(frozen=True, slots=True)
class AddressMessage:
    code: SlarpCode  # REQUEST or REPLY
    address: str  # dotted quad; 0.0.0.0 in a request
    mask: str


SlarpMessage = Keepalive | AddressMessage


def header(protocol: int, *, broadcast: bool = False) -> bytes:
    return struct.pack("!BBH", ADDR_BROADCAST if broadcast else ADDR_UNICAST, CONTROL, protocol)


def encode_slarp(msg: SlarpMessage) -> bytes:
    """The 18-octet SLARP packet (after the HDLC header)."""
    if isinstance(msg, Keepalive):
        return _KEEPALIVE.pack(
            SlarpCode.KEEPALIVE, msg.my_seq, msg.your_seq, msg.reliability, msg.unique or 0
        )
    return _ADDRESS.pack(
        msg.code,
        ipaddress.IPv4Address(msg.address).packed,
        ipaddress.IPv4Address(msg.mask).packed,
        0,
        0,
    )


def slarp_frame(msg: SlarpMessage) -> bytes:
    """A whole SLARP frame: broadcast header + packet."""
    return SLARP_HEADER + encode_slarp(msg)


def decode_slarp(data: bytes) -> SlarpMessage:
    """A SLARP packet (after the HDLC header). RemoteProtocolError if malformed."""
    n = len(data)
    if n not in SLARP_LENGTHS:
        raise RemoteProtocolError(f"SLARP packet of {n} octets (expected 14, 18 or 20)")
    code, par1, par2 = _SHORT.unpack_from(data)
    if code == SlarpCode.KEEPALIVE:
        (reliability,) = struct.unpack_from("!H", data, 12)
        unique = struct.unpack_from("!I", data, 14)[0] if n >= SLARP_LEN else None
        return Keepalive(par1, par2, reliability, unique)
    if code == SlarpCode.REQUEST or code == SlarpCode.REPLY:
        return AddressMessage(
            SlarpCode(code), str(ipaddress.IPv4Address(par1)), str(ipaddress.IPv4Address(par2))
        )
    raise RemoteProtocolError(f"unknown SLARP code {code:#x}")
