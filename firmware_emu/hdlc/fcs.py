"""HDLC frame check sequences: FCS-16 (CRC-16/X.25) and FCS-32 (CRC-32).

The FCS goes on the wire low byte first (ISO/IEC 13239), so a CRC run over a
good frame *including* its FCS always lands on a fixed residue. Checking a
received frame is then one C-speed CRC over the whole buffer and one compare:
no need to split off the trailing bytes or decode them as an integer.
"""

from __future__ import annotations

from fastcrc import crc16 as _crc16
from fastcrc import crc32 as _crc32

__all__ = [
    "FCS16_GOOD",
    "FCS32_GOOD",
    "append_fcs16",
    "append_fcs32",
    "check_fcs16",
    "check_fcs32",
    "fcs16",
    "fcs32",
]

# Bound once: the module attribute lookup would otherwise cost on every frame.
_crc16_x25 = _crc16.ibm_sdlc
_crc32_hdlc = _crc32.iso_hdlc

# CRC (with its final inversion) over frame + FCS for an undamaged frame.
# These are the classic register residues 0xF0B8 / 0xDEBB20E3 seen after the
# output complement.
FCS16_GOOD = 0x0F47
FCS32_GOOD = 0x2144DF1C


def fcs16(data: bytes) -> int:
    """CRC-16/X.25 of ``data`` (the value an HDLC transmitter appends)."""
    return _crc16_x25(data)


def fcs32(data: bytes) -> int:
    """CRC-32 (ISO-HDLC) of ``data`` (the value an HDLC transmitter appends)."""
    return _crc32_hdlc(data)


def append_fcs16(frame: bytes) -> bytes:
    """``frame`` followed by its FCS-16 in wire order (low byte first)."""
    return frame + _crc16_x25(frame).to_bytes(2, "little")


def append_fcs32(frame: bytes) -> bytes:
    """``frame`` followed by its FCS-32 in wire order (low byte first)."""
    return frame + _crc32_hdlc(frame).to_bytes(4, "little")


def check_fcs16(data: bytes) -> bytes | None:
    """The frame without its FCS-16, or None if the FCS is bad or nothing is left."""
    if len(data) < 3 or _crc16_x25(data) != FCS16_GOOD:
        return None
    return data[:-2]


def check_fcs32(data: bytes) -> bytes | None:
    """The frame without its FCS-32, or None if the FCS is bad or nothing is left."""
    if len(data) < 5 or _crc32_hdlc(data) != FCS32_GOOD:
        return None
    return data[:-4]
