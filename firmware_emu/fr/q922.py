"""ITU-T Q.922 address field, two-octet form (10-bit DLCI).

Layout on the wire (bit 8 is the most significant bit of each octet)::

    octet 1:  DLCI(high 6) | C/R | EA=0
    octet 2:  DLCI(low 4)  | FECN | BECN | DE | EA=1

So DLCI 16 is ``04 01`` and DLCI 1023 is ``FC F1``. Three- and four-octet
addresses exist (EA=0 in octet 2) but no Frame Relay UNI we emulate uses them,
so decoding one is the peer's fault.
"""

from __future__ import annotations

from typing import NamedTuple

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError

ADDRESS_LEN = 2
DLCI_MIN = 0
DLCI_MAX = 1023

# Bits of octet 1.
EA = 0x01
CR = 0x02
# Bits of octet 2.
DE = 0x02
BECN = 0x04
FECN = 0x08


class Q922Address(NamedTuple):
    dlci: int
    cr: bool = False
    fecn: bool = False
    becn: bool = False
    de: bool = False


def encode_address(
    dlci: int, *, cr: bool = False, fecn: bool = False, becn: bool = False, de: bool = False
) -> bytes:
    """The two address octets for ``dlci`` with the given flag bits."""
    if not DLCI_MIN <= dlci <= DLCI_MAX:
        raise LocalProtocolError(f"DLCI {dlci} out of range {DLCI_MIN}..{DLCI_MAX}")
    hi = ((dlci >> 2) & 0xFC) | (CR if cr else 0)
    lo = ((dlci << 4) & 0xF0) | (FECN if fecn else 0) | (BECN if becn else 0) | (DE if de else 0) | EA
    return bytes((hi, lo))


def dlci_of(hi: int, lo: int) -> int:
    """DLCI from the two octets, without any validation (hot path helper)."""
    return ((hi & 0xFC) << 2) | (lo >> 4)


def decode_address(frame: bytes) -> Q922Address:
    """Decode the address at the start of ``frame``; RemoteProtocolError if invalid."""
    if len(frame) < ADDRESS_LEN:
        raise RemoteProtocolError(f"frame too short for a Q.922 address ({len(frame)} octets)")
    hi, lo = frame[0], frame[1]
    if hi & EA:
        raise RemoteProtocolError(f"EA bit set in first address octet (0x{hi:02X})")
    if not lo & EA:
        raise RemoteProtocolError("3- or 4-octet Q.922 address not supported (EA clear in octet 2)")
    return Q922Address(
        dlci=dlci_of(hi, lo),
        cr=bool(hi & CR),
        fecn=bool(lo & FECN),
        becn=bool(lo & BECN),
        de=bool(lo & DE),
    )
