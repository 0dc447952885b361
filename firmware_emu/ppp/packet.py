"""PPP on the wire: the frame header, control packets and their option lists.

A PPP frame as the engine sees it (FCS already checked and stripped) is::

    [FF 03] protocol info

where the address and control octets may be absent (ACFC) and a protocol
number whose high octet is 0 may be sent as one octet (PFC). Both forms are
unambiguous on receive: a leading 0xFF is always the Address (RFC 1662 3.2),
and a one-octet protocol field is the only one whose first octet is odd.

LCP, the NCPs and the authentication protocols all carry packets of the form
``code identifier length data``; octets past ``length`` are padding. The
Configure-* packets carry a list of ``type length value`` options.
Everything malformed raises RemoteProtocolError: it is the peer's fault.
"""

from __future__ import annotations

import enum
from typing import Final, NamedTuple

from firmware_emu.errors import RemoteProtocolError

__all__ = [
    "ADDRESS_CONTROL",
    "CHAP",
    "IPCP",
    "IPV4",
    "IPV6",
    "IPV6CP",
    "LCP",
    "PAP",
    "Code",
    "Option",
    "Packet",
    "build_options",
    "build_packet",
    "frame_header",
    "parse_options",
    "parse_packet",
    "split_frame",
]

ADDRESS_CONTROL: Final = b"\xff\x03"

# Protocol field values (RFC 1661, 1332, 1334, 1994, 5072).
IPV4: Final = 0x0021
IPV6: Final = 0x0057
IPCP: Final = 0x8021
IPV6CP: Final = 0x8057
LCP: Final = 0xC021
PAP: Final = 0xC023
CHAP: Final = 0xC223

HEADER_LEN: Final = 4  # code, identifier, length (2)


class Code(enum.IntEnum):
    """Control packet codes shared by LCP and the NCPs (8..11 are LCP only)."""

    CONFIGURE_REQUEST = 1
    CONFIGURE_ACK = 2
    CONFIGURE_NAK = 3
    CONFIGURE_REJECT = 4
    TERMINATE_REQUEST = 5
    TERMINATE_ACK = 6
    CODE_REJECT = 7
    PROTOCOL_REJECT = 8
    ECHO_REQUEST = 9
    ECHO_REPLY = 10
    DISCARD_REQUEST = 11


class Packet(NamedTuple):
    """One control packet. ``raw`` is the packet as received, padding removed (for Code-Reject)."""

    code: int
    identifier: int
    data: bytes
    raw: bytes = b""


Option = tuple[int, bytes]  # (type, value without the type and length octets)


def parse_packet(data: bytes) -> Packet:
    """``data`` (after the protocol field) as a control packet."""
    if len(data) < HEADER_LEN:
        raise RemoteProtocolError(f"control packet of {len(data)} octets")
    length = int.from_bytes(data[2:4], "big")
    if length < HEADER_LEN:
        raise RemoteProtocolError(f"control packet length field {length} < {HEADER_LEN}")
    if length > len(data):
        raise RemoteProtocolError(f"control packet length field {length} > {len(data)} octets received")
    raw = data[:length]
    return Packet(data[0], data[1], raw[HEADER_LEN:], raw)


def build_packet(code: int, identifier: int, data: bytes = b"") -> bytes:
    return bytes((code, identifier)) + (len(data) + HEADER_LEN).to_bytes(2, "big") + data


def parse_options(data: bytes) -> list[Option]:
    """A Configure-* option list. An option that runs past the end, or claims fewer than
    two octets, makes the whole list unreadable: nothing after it can be trusted."""
    options: list[Option] = []
    i, n = 0, len(data)
    while i < n:
        if n - i < 2:
            raise RemoteProtocolError(f"option list ends inside an option header at octet {i}")
        length = data[i + 1]
        if length < 2 or i + length > n:
            raise RemoteProtocolError(f"option type {data[i]} has bad length {length}")
        options.append((data[i], data[i + 2 : i + length]))
        i += length
    return options


def build_options(options: list[Option]) -> bytes:
    return b"".join(bytes((kind, len(value) + 2)) + value for kind, value in options)


def frame_header(protocol: int, *, acfc: bool = False, pfc: bool = False) -> bytes:
    """Address/control (unless ACFC) and the protocol field (one octet if PFC allows it)."""
    head = b"" if acfc else ADDRESS_CONTROL
    if pfc and protocol < 0x100:
        return head + bytes((protocol,))
    return head + protocol.to_bytes(2, "big")


def split_frame(frame: bytes) -> tuple[int, int]:
    """(protocol, offset of the information field) of a received frame."""
    off = 2 if frame[:2] == ADDRESS_CONTROL else 0
    n = len(frame)
    if not off and n and frame[0] == 0xFF:
        # 0xFF first is the Address octet (RFC 1662 3.2), never a protocol: Control must follow.
        raise RemoteProtocolError("address 0xFF without control 0x03")
    if off >= n:
        raise RemoteProtocolError(f"frame of {n} octets has no protocol field")
    first = frame[off]
    if first & 1:
        return first, off + 1  # PFC: a one-octet protocol field
    if off + 1 >= n:
        raise RemoteProtocolError("frame ends inside the protocol field")
    second = frame[off + 1]
    if not second & 1:
        raise RemoteProtocolError(f"protocol field {first:02X}{second:02X}: last octet must be odd")
    return first << 8 | second, off + 2
