"""Multiprotocol encapsulation of the Frame Relay information field.

Two dialects, chosen per port:

* ``ietf`` (RFC 2427): a UI control octet 0x03, then an NLPID. Routed IP has
  its own NLPIDs (0xCC IPv4, 0x8E IPv6); everything else goes through SNAP,
  NLPID 0x80 preceded by a pad octet so the SNAP header is aligned::

      03 CC <IPv4>                         03 8E <IPv6>
      03 00 80 00-80-C2 00-07 <Ethernet>   (bridged, no LAN FCS)
      03 00 80 00-00-00 08-06 <ARP>        (Inverse ARP)

* ``cisco``: no control octet, just a 2-byte ethertype after the address
  (0x0800 IPv4, 0x86DD IPv6, 0x6558 bridged Ethernet, 0x0806 ARP).

Receive side classification is a dictionary lookup on the octets after the
address: first the short (2-octet) form, then the 8-octet SNAP form. The
tables are built per channel mode, so a bridged PVC never accepts IP and a
routed PVC never accepts Ethernet (the frame is then "unknown protocol").
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import ChannelMode, Encapsulation
from firmware_emu.payload import Proto  # noqa: F401 - re-exported

CONTROL_UI = 0x03
PAD = 0x00
NLPID_IPV4 = 0xCC
NLPID_IPV6 = 0x8E
NLPID_SNAP = 0x80
NLPID_Q933 = 0x08  # ANSI T1.617 Annex D and ITU Q.933 Annex A LMI
NLPID_CISCO_LMI = 0x09  # protocol discriminator of the Cisco LMI

OUI_ETHERTYPE = b"\x00\x00\x00"  # SNAP OUI whose PID is an ethertype
OUI_8021 = b"\x00\x80\xc2"  # IEEE 802.1 bridged PDUs
PID_ETHER_NO_FCS = b"\x00\x07"

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_ARP = 0x0806
ETHERTYPE_BRIDGED = 0x6558  # Cisco: transparent Ethernet bridging


class Control(enum.Enum):
    """Payloads the engine consumes itself instead of delivering."""

    INARP = "inarp"

    __hash__ = object.__hash__


Kind = Proto | Control


class RxTable(NamedTuple):
    """Receive classifier: octets after the address -> (kind, header length incl. address)."""

    short: dict[bytes, tuple[Kind, int]]  # keyed by frame[2:4]
    snap: dict[bytes, tuple[Kind, int]]  # keyed by frame[2:10]


def _ietf_snap(oui: bytes, pid: bytes) -> bytes:
    return bytes((CONTROL_UI, PAD, NLPID_SNAP)) + oui + pid


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


_IETF_HEADERS: dict[Proto, bytes] = {
    Proto.IPV4: bytes((CONTROL_UI, NLPID_IPV4)),
    Proto.IPV6: bytes((CONTROL_UI, NLPID_IPV6)),
    Proto.ETHER: _ietf_snap(OUI_8021, PID_ETHER_NO_FCS),
    Proto.RAW: b"",
}
_CISCO_HEADERS: dict[Proto, bytes] = {
    Proto.IPV4: _u16(ETHERTYPE_IPV4),
    Proto.IPV6: _u16(ETHERTYPE_IPV6),
    Proto.ETHER: _u16(ETHERTYPE_BRIDGED),
    Proto.RAW: b"",
}
_INARP_HEADERS: dict[str, bytes] = {
    "ietf": _ietf_snap(OUI_ETHERTYPE, _u16(ETHERTYPE_ARP)),
    "cisco": _u16(ETHERTYPE_ARP),
}


def _check(encapsulation: str) -> None:
    if encapsulation not in _INARP_HEADERS:
        raise LocalProtocolError(f"unknown encapsulation {encapsulation!r}")


def payload_header(encapsulation: Encapsulation, proto: Proto) -> bytes:
    """The octets between the Q.922 address and a payload of type ``proto``."""
    _check(encapsulation)
    table = _IETF_HEADERS if encapsulation == "ietf" else _CISCO_HEADERS
    return table[proto]


def inarp_header(encapsulation: Encapsulation) -> bytes:
    """The octets between the Q.922 address and an (Inverse) ARP packet."""
    _check(encapsulation)
    return _INARP_HEADERS[encapsulation]


def rx_table(encapsulation: Encapsulation, mode: ChannelMode) -> RxTable:
    """The receive classifier for a channel in ``mode`` (not meaningful for RAW)."""
    _check(encapsulation)
    short: dict[bytes, tuple[Kind, int]] = {}
    snap: dict[bytes, tuple[Kind, int]] = {}
    a = 2  # address length: header lengths below count from the frame start
    if encapsulation == "ietf":
        if mode is ChannelMode.IP:
            short[_IETF_HEADERS[Proto.IPV4]] = (Proto.IPV4, a + 2)
            short[_IETF_HEADERS[Proto.IPV6]] = (Proto.IPV6, a + 2)
            # Routed IP may also arrive in the long SNAP form (RFC 2427 allows it, Linux accepts it).
            snap[_ietf_snap(OUI_ETHERTYPE, _u16(ETHERTYPE_IPV4))] = (Proto.IPV4, a + 8)
            snap[_ietf_snap(OUI_ETHERTYPE, _u16(ETHERTYPE_IPV6))] = (Proto.IPV6, a + 8)
            snap[_INARP_HEADERS["ietf"]] = (Control.INARP, a + 8)
        elif mode is ChannelMode.BRIDGE:
            snap[_IETF_HEADERS[Proto.ETHER]] = (Proto.ETHER, a + 8)
    else:
        if mode is ChannelMode.IP:
            short[_CISCO_HEADERS[Proto.IPV4]] = (Proto.IPV4, a + 2)
            short[_CISCO_HEADERS[Proto.IPV6]] = (Proto.IPV6, a + 2)
            short[_INARP_HEADERS["cisco"]] = (Control.INARP, a + 2)
        elif mode is ChannelMode.BRIDGE:
            short[_CISCO_HEADERS[Proto.ETHER]] = (Proto.ETHER, a + 2)
    return RxTable(short, snap)


def classify(table: RxTable, frame: bytes) -> tuple[Kind, int] | None:
    """(kind, offset of the payload) for a whole frame, or None if not recognised."""
    hit = table.short.get(frame[2:4])
    if hit is None:
        hit = table.snap.get(frame[2:10])
    return hit
