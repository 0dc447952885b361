"""X.25 packets on the wire (ITU-T X.25 (10/96) clauses 5 to 7; ISO/IEC 8208).

Every packet starts with a three-octet header::

    octet 1   bits 8-5: general format identifier (GFI)   bits 4-1: logical channel group number
    octet 2   logical channel number (LCGN and LCN together: the 12-bit LCN used everywhere here)
    octet 3   packet type identifier

The GFI is Q (bit 8; the A bit in call set-up and clearing packets), D (bit 7)
and the sequence numbering scheme (bits 6-5): 01 modulo 8, 10 modulo 128.
Bit 1 of the type octet is 0 in a data packet only. With modulo 8 a data
packet's type octet is P(R) (bits 8-6), M (bit 5) and P(S) (bits 4-2), and
RR/RNR/REJ are 0x01/0x05/0x09 with P(R) in bits 8-6. With modulo 128 the
header is four octets: a data packet has P(S) in bits 8-2 of octet 3 and
P(R) plus M in octet 4; RR/RNR/REJ are 0x01/0x05/0x09 with P(R) in octet 4.
Every other type identifier is a fixed octet (PacketType).

After the header:

    call request / incoming call      address block, facility length, facilities, call user data
    call accepted / call connected    nothing (basic format), or the same blocks (extended format)
    clear request / indication        cause, [diagnostic, [address block, facilities, clear user data]]
    clear confirmation                nothing (a DCE may add address and facility blocks: kept raw)
    reset, restart request/indication cause, [diagnostic]
    interrupt                         1 to 32 octets of interrupt user data
    diagnostic                        diagnostic code, [explanation: the header of the bad packet]

The address block is one octet of lengths (calling DTE address length in bits
8-5, called in bits 4-1, in digits) and then the called and calling X.121
addresses, one BCD digit per semi-octet, first digit in bits 8-5, padded
with 0 to a whole octet (the normal format, A = 0; the TOA/NPI format is not
supported). The facility field is a length octet and the facilities (see
facilities.py, which parses them).

``decode`` raises ``PacketError`` (a RemoteProtocolError) carrying the Annex
C diagnostic for what is wrong, and the LCN and packet type when the header
got that far, so that the layer can answer on the right channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.x25.causes import Diagnostic

MAX_LCN: Final = 4095
MAX_ADDRESS_DIGITS: Final = 15
MAX_FACILITY_LENGTH: Final = 109  # X.25 clause 7: the facility field is at most 109 octets
MAX_CALL_USER_DATA: Final = 16
MAX_FAST_SELECT_DATA: Final = 128
MAX_INTERRUPT_DATA: Final = 32
GFI_MOD8: Final = 0x10
GFI_MOD128: Final = 0x20


class PacketType(enum.IntEnum):
    """Type identifiers (X.25 clause 5). The DTE's and the DCE's names share a code."""

    CALL = 0x0B  # call request / incoming call
    CALL_ACCEPTED = 0x0F  # call accepted / call connected
    CLEAR = 0x13  # clear request / clear indication
    CLEAR_CONFIRMATION = 0x17
    DATA = 0x00
    INTERRUPT = 0x23
    INTERRUPT_CONFIRMATION = 0x27
    RR = 0x01
    RNR = 0x05
    REJ = 0x09
    RESET = 0x1B  # reset request / reset indication
    RESET_CONFIRMATION = 0x1F
    RESTART = 0xFB  # restart request / restart indication
    RESTART_CONFIRMATION = 0xFF
    DIAGNOSTIC = 0xF1
    REGISTRATION = 0xF3
    REGISTRATION_CONFIRMATION = 0xF7


_FIXED: Final = frozenset(
    t for t in PacketType if t not in (PacketType.DATA, PacketType.RR, PacketType.RNR, PacketType.REJ)
)
_FLOW: Final = {0x01: PacketType.RR, 0x05: PacketType.RNR, 0x09: PacketType.REJ}
# Packets of the whole interface: they must use LCN 0 (diagnostic 41 otherwise).
LCN0_TYPES: Final = frozenset(
    (
        PacketType.RESTART,
        PacketType.RESTART_CONFIRMATION,
        PacketType.DIAGNOSTIC,
        PacketType.REGISTRATION,
        PacketType.REGISTRATION_CONFIRMATION,
    )
)


class PacketError(RemoteProtocolError):
    """A packet we cannot accept, with the diagnostic code X.25 Annex C gives for it.

    ``lcn`` and ``ptype`` are what the header said, when it got that far
    (None otherwise); ``header`` is the packet's first octets, the explanation
    field of a diagnostic packet."""

    def __init__(
        self,
        message: str,
        diagnostic: int,
        *,
        lcn: int | None = None,
        ptype: PacketType | None = None,
        header: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.diagnostic = diagnostic
        self.lcn = lcn
        self.ptype = ptype
        self.header = header


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet, decoded. Which fields matter depends on ``type`` (see the module doc).

    ``q`` is GFI bit 8: the Q bit of a data packet, the A bit of call set-up and
    clearing packets. ``facilities`` is the encoded facility field without its
    length octet; None means the packet has no address and facility blocks at
    all (the basic format of call accepted and clear packets). ``data`` is the
    user data: data field, call/clear user data, interrupt data, or a
    diagnostic packet's explanation."""

    type: PacketType
    lcn: int = 0
    modulo: int = 8
    q: bool = False
    d: bool = False
    ps: int = 0
    pr: int = 0
    m: bool = False
    cause: int = 0
    diagnostic: int | None = None
    called: str = ""
    calling: str = ""
    facilities: bytes | None = None
    data: bytes = b""


# ----------------------------------------------------------------------------- addresses


def encode_address_block(called: str, calling: str) -> bytes:
    """The address length octet and the BCD digits (called first). LocalProtocolError if invalid."""
    for name, addr in (("called", called), ("calling", calling)):
        if len(addr) > MAX_ADDRESS_DIGITS or not (addr.isascii() and (addr.isdigit() or not addr)):
            raise LocalProtocolError(f"{name} address {addr!r}: up to 15 decimal digits")
    digits = called + calling
    if len(digits) % 2:
        digits += "0"
    return bytes((len(calling) << 4 | len(called),)) + bytes.fromhex(digits)


def decode_address_block(data: bytes, offset: int, lcn: int, ptype: PacketType) -> tuple[str, str, int]:
    """(called, calling, offset after the block). PacketError if truncated or not decimal."""
    if offset >= len(data):
        raise _error("no address length octet", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    lengths = data[offset]
    n_calling, n_called = lengths >> 4, lengths & 0x0F
    n_octets = (n_called + n_calling + 1) // 2
    start = offset + 1
    if start + n_octets > len(data):
        raise _error("address block truncated", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    digits = data[start : start + n_octets].hex()
    called, calling = digits[:n_called], digits[n_called : n_called + n_calling]
    if not called.isdigit() and called:
        raise _error(f"called address {called!r}", Diagnostic.INVALID_CALLED_ADDRESS, data, lcn, ptype)
    if not calling.isdigit() and calling:
        raise _error(f"calling address {calling!r}", Diagnostic.INVALID_CALLING_ADDRESS, data, lcn, ptype)
    return called, calling, start + n_octets


# ----------------------------------------------------------------------------- encode


def encode(p: Packet) -> bytes:
    """The packet's octets. LocalProtocolError for values that cannot be encoded."""
    if p.modulo not in (8, 128):
        raise LocalProtocolError(f"modulo {p.modulo}")
    if not 0 <= p.lcn <= MAX_LCN:
        raise LocalProtocolError(f"LCN {p.lcn} out of 0..4095")
    gfi = GFI_MOD8 if p.modulo == 8 else GFI_MOD128
    octet1 = gfi | (0x80 if p.q else 0) | (0x40 if p.d else 0) | p.lcn >> 8
    head = bytes((octet1, p.lcn & 0xFF))
    t = p.type
    if t is PacketType.DATA or t in _FLOW.values():
        if not (0 <= p.ps < p.modulo and 0 <= p.pr < p.modulo):
            raise LocalProtocolError(f"P(S) {p.ps} / P(R) {p.pr} out of modulo {p.modulo}")
        if t is PacketType.DATA:
            if p.modulo == 8:
                return head + bytes((p.pr << 5 | (0x10 if p.m else 0) | p.ps << 1,)) + p.data
            return head + bytes((p.ps << 1, p.pr << 1 | (1 if p.m else 0))) + p.data
        if p.modulo == 8:
            return head + bytes((p.pr << 5 | t,))
        return head + bytes((t, p.pr << 1))
    out = head + bytes((t,))
    if t is PacketType.CALL:
        return out + encode_address_block(p.called, p.calling) + _facility_field(p.facilities) + p.data
    if t is PacketType.CALL_ACCEPTED:
        if p.facilities is None:
            return out
        return out + encode_address_block(p.called, p.calling) + _facility_field(p.facilities) + p.data
    if t in (PacketType.CLEAR, PacketType.RESET, PacketType.RESTART):
        out += bytes((p.cause,))
        if p.diagnostic is None:
            return out
        out += bytes((p.diagnostic,))
        if t is PacketType.CLEAR and p.facilities is not None:
            out += encode_address_block(p.called, p.calling) + _facility_field(p.facilities) + p.data
        return out
    if t is PacketType.DIAGNOSTIC:
        return out + bytes((p.diagnostic or 0,)) + p.data
    if t is PacketType.INTERRUPT:
        if not 1 <= len(p.data) <= MAX_INTERRUPT_DATA:
            raise LocalProtocolError("interrupt user data is 1 to 32 octets")
        return out + p.data
    return out + p.data  # confirmations and registration packets: the rest is carried raw


def _facility_field(facilities: bytes | None) -> bytes:
    fac = facilities or b""
    if len(fac) > MAX_FACILITY_LENGTH:
        raise LocalProtocolError(f"facility field of {len(fac)} octets (at most {MAX_FACILITY_LENGTH})")
    return bytes((len(fac),)) + fac


# ----------------------------------------------------------------------------- decode


def _error(
    message: str, diagnostic: int, data: bytes, lcn: int | None, ptype: PacketType | None
) -> PacketError:
    return PacketError(message, diagnostic, lcn=lcn, ptype=ptype, header=bytes(data[:3]))


def decode(data: bytes) -> Packet:
    """One packet. PacketError (with the Annex C diagnostic) if it cannot be accepted."""
    data = bytes(data)
    n = len(data)
    if n < 2:
        raise _error(f"packet of {n} octets", Diagnostic.PACKET_TOO_SHORT, data, None, None)
    octet1 = data[0]
    lcn = (octet1 & 0x0F) << 8 | data[1]
    scheme = octet1 & 0x30
    if scheme == GFI_MOD8:
        modulo = 8
    elif scheme == GFI_MOD128:
        modulo = 128
    else:
        raise _error(f"GFI {octet1 >> 4:#x}", Diagnostic.INVALID_GFI, data, lcn, None)
    if n < 3:
        raise _error("no packet type octet", Diagnostic.PACKET_TOO_SHORT, data, lcn, None)
    q, d = bool(octet1 & 0x80), bool(octet1 & 0x40)
    t = data[2]
    if t & 1 == 0:
        return _decode_data(data, lcn, modulo, q, d)
    if t in _FIXED:
        ptype = PacketType(t)
    elif modulo == 8 and t & 0x1F in _FLOW:
        if n > 3:
            raise _error(
                "flow control packet too long", Diagnostic.PACKET_TOO_LONG, data, lcn, _FLOW[t & 0x1F]
            )
        return Packet(_FLOW[t & 0x1F], lcn, modulo, q, d, pr=t >> 5)
    elif modulo == 128 and t in _FLOW:
        if n != 4:
            diag = Diagnostic.PACKET_TOO_SHORT if n < 4 else Diagnostic.PACKET_TOO_LONG
            raise _error("flow control packet length", diag, data, lcn, _FLOW[t])
        return Packet(_FLOW[t], lcn, modulo, q, d, pr=data[3] >> 1)
    else:
        raise _error(f"packet type {t:#04x}", Diagnostic.UNIDENTIFIABLE_PACKET, data, lcn, None)
    if ptype in LCN0_TYPES and lcn != 0:
        raise _error(f"{ptype.name} on LCN {lcn}", Diagnostic.RESTART_NONZERO_LCN, data, lcn, ptype)
    return _DECODERS.get(ptype, _decode_exact)(data, ptype, lcn, modulo, q, d)


def _decode_data(data: bytes, lcn: int, modulo: int, q: bool, d: bool) -> Packet:
    t = data[2]
    if modulo == 8:
        return Packet(
            PacketType.DATA, lcn, 8, q, d, ps=t >> 1 & 7, pr=t >> 5, m=bool(t & 0x10), data=data[3:]
        )
    if len(data) < 4:
        raise _error(
            "modulo 128 data header truncated", Diagnostic.PACKET_TOO_SHORT, data, lcn, PacketType.DATA
        )
    o4 = data[3]
    return Packet(PacketType.DATA, lcn, 128, q, d, ps=t >> 1, pr=o4 >> 1, m=bool(o4 & 1), data=data[4:])


def _blocks(data: bytes, offset: int, lcn: int, ptype: PacketType) -> tuple[str, str, bytes, int]:
    """Address block and facility field from offset: (called, calling, facilities, offset after)."""
    called, calling, offset = decode_address_block(data, offset, lcn, ptype)
    if offset >= len(data):
        raise _error("no facility length octet", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    flen = data[offset]
    if flen > MAX_FACILITY_LENGTH:
        raise _error(f"facility length {flen}", Diagnostic.INVALID_FACILITY_LENGTH, data, lcn, ptype)
    offset += 1
    if offset + flen > len(data):
        raise _error("facility field truncated", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    return called, calling, data[offset : offset + flen], offset + flen


def _decode_call(data: bytes, ptype: PacketType, lcn: int, modulo: int, q: bool, d: bool) -> Packet:
    if q:  # the A bit: TOA/NPI address format, which this layer does not take
        raise _error("TOA/NPI address format (A bit)", Diagnostic.INVALID_GFI, data, lcn, ptype)
    if ptype is PacketType.CALL_ACCEPTED and len(data) == 3:
        return Packet(ptype, lcn, modulo, q, d)
    called, calling, fac, offset = _blocks(data, 3, lcn, ptype)
    user = data[offset:]
    if len(user) > MAX_FAST_SELECT_DATA:
        raise _error(f"{len(user)} octets of user data", Diagnostic.PACKET_TOO_LONG, data, lcn, ptype)
    return Packet(ptype, lcn, modulo, q, d, called=called, calling=calling, facilities=fac, data=user)


def _decode_cause(data: bytes, ptype: PacketType, lcn: int, modulo: int, q: bool, d: bool) -> Packet:
    n = len(data)
    if n < 4:
        raise _error(f"{ptype.name} without a cause", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    diag = data[4] if n > 4 else None
    if ptype is not PacketType.CLEAR or n <= 5:
        if n > 5:
            raise _error(f"{ptype.name} of {n} octets", Diagnostic.PACKET_TOO_LONG, data, lcn, ptype)
        return Packet(ptype, lcn, modulo, q, d, cause=data[3], diagnostic=diag)
    if q:
        raise _error("TOA/NPI address format (A bit)", Diagnostic.INVALID_GFI, data, lcn, ptype)
    called, calling, fac, offset = _blocks(data, 5, lcn, ptype)
    user = data[offset:]
    if len(user) > MAX_FAST_SELECT_DATA:
        raise _error(f"{len(user)} octets of clear user data", Diagnostic.PACKET_TOO_LONG, data, lcn, ptype)
    return Packet(
        ptype,
        lcn,
        modulo,
        q,
        d,
        cause=data[3],
        diagnostic=diag,
        called=called,
        calling=calling,
        facilities=fac,
        data=user,
    )


def _decode_interrupt(data: bytes, ptype: PacketType, lcn: int, modulo: int, q: bool, d: bool) -> Packet:
    user = data[3:]
    if not user:
        raise _error("interrupt without user data", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    if len(user) > MAX_INTERRUPT_DATA:
        raise _error(f"interrupt of {len(user)} octets", Diagnostic.PACKET_TOO_LONG, data, lcn, ptype)
    return Packet(ptype, lcn, modulo, q, d, data=user)


def _decode_diagnostic(data: bytes, ptype: PacketType, lcn: int, modulo: int, q: bool, d: bool) -> Packet:
    if len(data) < 4:
        raise _error("diagnostic without a code", Diagnostic.PACKET_TOO_SHORT, data, lcn, ptype)
    return Packet(ptype, lcn, modulo, q, d, diagnostic=data[3], data=data[4:])


def _decode_exact(data: bytes, ptype: PacketType, lcn: int, modulo: int, q: bool, d: bool) -> Packet:
    """Confirmations: the header alone (a DCE's clear confirmation may carry more: kept raw)."""
    if len(data) > 3 and ptype in (
        PacketType.RESET_CONFIRMATION,
        PacketType.INTERRUPT_CONFIRMATION,
        PacketType.RESTART_CONFIRMATION,
    ):
        raise _error(f"{ptype.name} of {len(data)} octets", Diagnostic.PACKET_TOO_LONG, data, lcn, ptype)
    return Packet(ptype, lcn, modulo, q, d, data=data[3:])


_DECODERS: Final = {
    PacketType.CALL: _decode_call,
    PacketType.CALL_ACCEPTED: _decode_call,
    PacketType.CLEAR: _decode_cause,
    PacketType.RESET: _decode_cause,
    PacketType.RESTART: _decode_cause,
    PacketType.INTERRUPT: _decode_interrupt,
    PacketType.DIAGNOSTIC: _decode_diagnostic,
}


def header(data: bytes) -> bytes:
    """The explanation field of a diagnostic packet about ``data``: its first three octets."""
    return bytes(data[:3])
