"""HDLC framing: FCS-16/32, flags and zero-bit stuffing.

Frame mode uses only the FCS helpers and :func:`line_bits` (to charge the
line for stuffing). Bit-exact mode runs frames through
:class:`HdlcBitEncoder` and :class:`HdlcDeframer`.
"""

from firmware_emu.hdlc.fcs import (
    FCS16_GOOD,
    FCS32_GOOD,
    append_fcs16,
    append_fcs32,
    check_fcs16,
    check_fcs32,
    fcs16,
    fcs32,
)
from firmware_emu.hdlc.framing import (
    FLAG,
    DeframerCounters,
    HdlcBitEncoder,
    HdlcDeframer,
    line_bits,
    stuffed_bits,
)

__all__ = [
    "FCS16_GOOD",
    "FCS32_GOOD",
    "FLAG",
    "DeframerCounters",
    "HdlcBitEncoder",
    "HdlcDeframer",
    "append_fcs16",
    "append_fcs32",
    "check_fcs16",
    "check_fcs32",
    "fcs16",
    "fcs32",
    "line_bits",
    "stuffed_bits",
]
