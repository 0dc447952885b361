"""X.25 facilities: the facility field, and packet and window size negotiation (X.25 clauses 6 and 7).

Each facility is a code octet and parameters; bits 8-7 of the code give the
class, and so the length (X.25 clause 7):

    class A  00xxxxxx  one parameter octet
    class B  01xxxxxx  two
    class C  10xxxxxx  three
    class D  11xxxxxx  a length octet, then that many

Code 0x00 is a facility marker (class A): after it come facilities that are
not X.25's own (0x0F: ITU-T-specified DTE facilities; 0x00 / 0xFF: non-X.25
network facilities of the calling / called network). We interpret two X.25
facilities, and carry every other known one (and everything after a marker)
untouched in ``Facilities.other``:

    0x42 packet size   first octet: size from the called DTE; second: from the calling DTE;
                       each log2 of the size, 4 (16 octets) to 12 (4096)
    0x43 window size   first octet: window from the called DTE; second: from the calling DTE

An X.25 facility code we do not know is diagnostic 65 (facility code not
allowed), a value out of range 66 (parameter not allowed), a facility that
overruns the field 69 (invalid facility length), one that comes twice 73
(duplicate facility).

``Facilities`` gives both directions as (from the calling DTE, towards it):
the order of the API, not of the wire. Negotiation (X.25 flow control parameter negotiation): the
called DTE's answer for each direction must lie between what the call asked
for and the default, inclusive; it "may only move towards the default".
A facility missing from the call means the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import LocalProtocolError
from firmware_emu.x25.causes import Diagnostic
from firmware_emu.x25.codec import PacketError

MARKER: Final = 0x00
REVERSE_CHARGING: Final = 0x01  # also carries fast select in bits 8-7 of its parameter
PACKET_SIZE: Final = 0x42
WINDOW_SIZE: Final = 0x43
PACKET_SIZES: Final = tuple(1 << n for n in range(4, 13))  # 16 .. 4096

# X.25 facility codes (X.25 clause 7; Wireshark's packet-x25.c has the same list), other than the marker.
KNOWN_CODES: Final = frozenset(
    {
        0x01,  # reverse charging and fast select
        0x02,  # throughput class negotiation
        0x03,  # closed user group selection (basic format)
        0x04,  # charging information request
        0x08,  # called line address modified notification
        0x09,  # closed user group with outgoing access selection (basic format)
        0x0A,  # minimum throughput class
        0x0B,  # expedited data negotiation
        0x41,  # bilateral closed user group selection
        0x42,  # packet size
        0x43,  # window size
        0x44,  # RPOA selection (basic format)
        0x47,  # closed user group selection (extended format)
        0x48,  # closed user group with outgoing access selection (extended format)
        0x49,  # transit delay selection and indication
        0xC1,  # charging information: call duration
        0xC2,  # charging information: segment count
        0xC3,  # call redirection or deflection notification
        0xC4,  # RPOA selection (extended format)
        0xC5,  # charging information: monetary unit
        0xC6,  # network user identification
        0xC9,  # called address extension
        0xCA,  # end-to-end transit delay
        0xCB,  # calling address extension
        0xD1,  # call deflection selection
        0xD2,  # priority
    }
)


@dataclass(frozen=True)
class Facilities:
    """The facilities of a call, as the API sees them.

    Sizes in octets and windows in packets, each (from the calling DTE, towards
    it); None: not present (the default applies). ``other`` is the encoded
    facilities we carry but do not interpret."""

    packet_size: tuple[int, int] | None = None
    window: tuple[int, int] | None = None
    other: bytes = b""


def split(field: bytes) -> list[bytes]:
    """The facilities of a field, each encoded (code first). PacketError 69 if one overruns."""
    out: list[bytes] = []
    i, n = 0, len(field)
    while i < n:
        code = field[i]
        cls = code >> 6
        if cls < 3:
            size = 2 + cls
        else:
            if i + 1 >= n:
                raise PacketError(
                    f"facility {code:#04x} without its length", Diagnostic.INVALID_FACILITY_LENGTH
                )
            size = 2 + field[i + 1]
        if i + size > n:
            raise PacketError(f"facility {code:#04x} overruns the field", Diagnostic.INVALID_FACILITY_LENGTH)
        out.append(field[i : i + size])
        i += size
    return out


def parse(field: bytes) -> Facilities:
    """Interpret a facility field. PacketError with diagnostic 65, 66, 69 or 73."""
    packet_size: tuple[int, int] | None = None
    window: tuple[int, int] | None = None
    other: list[bytes] = []
    seen: set[int] = set()
    after_marker = False
    for fac in split(field):
        code = fac[0]
        if code == MARKER or after_marker:
            after_marker = True  # not X.25 facilities: carried, never judged
            other.append(fac)
            continue
        if code not in KNOWN_CODES:
            raise PacketError(f"facility code {code:#04x}", Diagnostic.FACILITY_CODE_NOT_ALLOWED)
        if code in seen:
            raise PacketError(f"facility {code:#04x} twice", Diagnostic.DUPLICATE_FACILITY)
        seen.add(code)
        if code == PACKET_SIZE:
            from_called, from_calling = fac[1], fac[2]
            if not (4 <= from_called <= 12 and 4 <= from_calling <= 12):
                raise PacketError(
                    f"packet size codes {fac[1:].hex()}", Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED
                )
            packet_size = (1 << from_calling, 1 << from_called)
        elif code == WINDOW_SIZE:
            from_called, from_calling = fac[1], fac[2]
            if not (1 <= from_called <= 127 and 1 <= from_calling <= 127):
                raise PacketError(f"window sizes {fac[1:].hex()}", Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED)
            window = (from_calling, from_called)
        else:
            other.append(fac)
    return Facilities(packet_size, window, b"".join(other))


def build(f: Facilities) -> bytes:
    """The encoded facility field (without its length octet). LocalProtocolError if invalid."""
    out = b""
    if f.packet_size is not None:
        from_calling, towards = f.packet_size
        out += bytes((PACKET_SIZE, size_code(towards), size_code(from_calling)))
    if f.window is not None:
        from_calling, towards = f.window
        if not (1 <= from_calling <= 127 and 1 <= towards <= 127):
            raise LocalProtocolError(f"window sizes {f.window}: 1 to 127")
        out += bytes((WINDOW_SIZE, towards, from_calling))
    try:
        parsed = parse(f.other)
    except PacketError as exc:
        raise LocalProtocolError(f"other facilities {f.other.hex()}: {exc}") from None
    if parsed.packet_size is not None or parsed.window is not None:
        raise LocalProtocolError("packet and window sizes go in their own fields, not in other")
    return out + f.other


def size_code(size: int) -> int:
    """log2 of a packet size, 4..12. LocalProtocolError if not a power of two in 16..4096."""
    if size not in PACKET_SIZES:
        raise LocalProtocolError(f"packet size {size}: a power of two from 16 to 4096")
    return size.bit_length() - 1


def fast_select(f: Facilities) -> bool:
    """Whether the call asks for fast select (0x01 with bit 8 of its parameter set)."""
    for fac in split(f.other):
        if fac[0] == MARKER:
            return False
        if fac[0] == REVERSE_CHARGING:
            return bool(fac[1] & 0x80)
    return False


def towards_default(requested: int, default: int, limit: int) -> int:
    """Our answer to a requested value: as asked, but no further from the default than our limit."""
    return min(requested, max(limit, default)) if requested > default else requested


def answer_allowed(requested: int, default: int, answer: int) -> bool:
    """Whether the called DTE's answer lies between the request and the default."""
    return min(requested, default) <= answer <= max(requested, default)


def request_field(f: Facilities, max_packet_size: int, max_window: int) -> bytes:
    """The facility field of our call request. LocalProtocolError for what we may not ask for."""
    if f.packet_size is not None and any(s not in PACKET_SIZES or s > max_packet_size for s in f.packet_size):
        raise LocalProtocolError(f"packet sizes {f.packet_size}: powers of two from 16 to {max_packet_size}")
    if f.window is not None and any(not 1 <= w <= max_window for w in f.window):
        raise LocalProtocolError(f"windows {f.window}: 1 to {max_window}")
    field = build(f)
    if fast_select(f):
        raise LocalProtocolError("fast select is not supported")
    return field


def choose_answer(
    requested: tuple[int, int] | None, given: tuple[int, int] | None, default: int, limit: int
) -> tuple[int, int]:
    """The called DTE's answer to a requested pair (None: the defaults): ``given`` once checked
    (LocalProtocolError if it moves away from the default or beyond ``limit``), else as asked,
    but no further from the default than ``limit``."""
    req = requested or (default, default)
    if given is None:
        return (towards_default(req[0], default, limit), towards_default(req[1], default, limit))
    for r, g in zip(req, given, strict=True):
        if not answer_allowed(r, default, g) or g > max(limit, default):
            raise LocalProtocolError(
                f"answer {given}: not between the request {req} and the default {default}"
            )
    return given


def answer_valid(requested: tuple[int, int], answer: tuple[int, int], default: int) -> bool:
    """Whether both directions of an answer lie between the request and the default."""
    return all(answer_allowed(r, default, a) for r, a in zip(requested, answer, strict=True))
