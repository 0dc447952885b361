"""Inverse ARP for Frame Relay (RFC 2390), IPv4 only.

An ordinary ARP packet (RFC 826) with op 8 (request) / 9 (reply) and the
Frame Relay hardware type 15. The "hardware address" is a Q.922 address: the
DLCI as the *sender* knows it (the two ends of a PVC may use different DLCI
numbers, which is exactly why the peer's protocol address has to be asked
for). The payload follows the encapsulation header of ``encap.inarp_header``::

    00 0F  08 00  02  04  00 08 | sha(2) spa(4) tha(2) tpa(4)
    hrd    pro    hln pln op

A request carries our address in spa and zeros in tpa; the reply swaps the
roles and fills in its own spa, which is what the requester learns.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr import q922

HRD_FRAME_RELAY = 15
HRD_ETHERNET = 1  # some implementations send this; harmless to accept
PRO_IPV4 = 0x0800

_FIXED = struct.Struct("!HHBBH")  # hrd, pro, hln, pln, op
PACKET_LEN = _FIXED.size + 2 * (2 + 4)
UNSPECIFIED = "0.0.0.0"


class Op(enum.IntEnum):
    REQUEST = 8
    REPLY = 9


@dataclass(frozen=True)
class InarpPacket:
    op: Op
    sender_hw: bytes  # Q.922 address, 2 octets
    sender_ip: str
    target_hw: bytes
    target_ip: str


def pack_ipv4(address: str | None) -> bytes:
    """4 octets of an IPv4 address (None -> 0.0.0.0); LocalProtocolError if not IPv4."""
    if address is None:
        return bytes(4)
    try:
        return ipaddress.IPv4Address(address).packed
    except ValueError as exc:
        raise LocalProtocolError(f"not an IPv4 address: {address!r}") from exc


def encode(pkt: InarpPacket) -> bytes:
    if len(pkt.sender_hw) != 2 or len(pkt.target_hw) != 2:
        raise LocalProtocolError("Inverse ARP hardware addresses are 2-octet Q.922 addresses")
    return (
        _FIXED.pack(HRD_FRAME_RELAY, PRO_IPV4, 2, 4, pkt.op)
        + pkt.sender_hw
        + pack_ipv4(pkt.sender_ip)
        + pkt.target_hw
        + pack_ipv4(pkt.target_ip)
    )


def request(dlci: int, our_address: str | None) -> bytes:
    """An InARP request asking who is at the far end of ``dlci``."""
    hw = q922.encode_address(dlci)
    return encode(InarpPacket(Op.REQUEST, hw, our_address or UNSPECIFIED, hw, UNSPECIFIED))


def reply(dlci: int, our_address: str, req: InarpPacket) -> bytes:
    """Our answer to ``req`` received on ``dlci``."""
    return encode(InarpPacket(Op.REPLY, q922.encode_address(dlci), our_address, req.sender_hw, req.sender_ip))


def decode(data: bytes) -> InarpPacket:
    """Parse an Inverse ARP packet; RemoteProtocolError if malformed or not InARP."""
    if len(data) < _FIXED.size:
        raise RemoteProtocolError(f"ARP packet truncated ({len(data)} octets)")
    hrd, pro, hln, pln, op = _FIXED.unpack_from(data)
    if hrd not in (HRD_FRAME_RELAY, HRD_ETHERNET):
        raise RemoteProtocolError(f"ARP hardware type {hrd} is not Frame Relay")
    if pro != PRO_IPV4 or pln != 4:
        raise RemoteProtocolError(f"ARP protocol 0x{pro:04X}/{pln} is not IPv4")
    if op not in (Op.REQUEST, Op.REPLY):
        raise RemoteProtocolError(f"ARP op {op} is not Inverse ARP")
    if hln != 2:
        # 3- and 4-octet Q.922 addresses are not supported (see q922).
        raise RemoteProtocolError(f"Inverse ARP hardware address length {hln}, expected 2")
    if len(data) < PACKET_LEN:
        raise RemoteProtocolError(f"Inverse ARP packet truncated ({len(data)} < {PACKET_LEN} octets)")
    i = _FIXED.size
    sha, spa, tha, tpa = data[i : i + 2], data[i + 2 : i + 6], data[i + 6 : i + 8], data[i + 8 : i + 12]
    return InarpPacket(Op(op), bytes(sha), _ip(spa), bytes(tha), _ip(tpa))


def _ip(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(bytes(raw)))
