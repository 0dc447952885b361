"""LAPB frames on the wire (ISO 7776, ITU-T X.25 section 2): address, control, information.

The FCS is checked and stripped by the port before a frame gets here. What is left::

    address  control (1 octet; 2 for I and S frames in modulo 128)  information...

Address (single link procedure). A = 0x03, B = 0x01. A frame carries the
address of the station it is meant for when it is a command, and of its
sender when it is a response; so a DCE sends commands with A and responses
with B, a DTE commands with B and responses with A (Linux net/lapb/lapb_out.c
``lapb_transmit_buffer``). On receive, a DTE reads A as a command and B as a
response, a DCE the other way round. Any other address is not ours.

Control field, bit 1 the least significant bit of the first octet::

    modulo 8      I   N(R) N(R) N(R) P    N(S) N(S) N(S) 0
                  S   N(R) N(R) N(R) P/F  S    S    0    1     RR 0x01, RNR 0x05, REJ 0x09
    modulo 128    I   N(S)x7 0          then  N(R)x7 P
                  S   0 0 0 0 S S 0 1   then  N(R)x7 P/F
    both          U   M M M P/F M M 1 1                        SABM 0x2F, SABME 0x6F, DISC 0x43,
                                                               DM 0x0F, UA 0x63, FRMR 0x87

FRMR information field: the rejected frame's control field (1 octet, or 2 in
modulo 128, an unnumbered one padded with 0x00), then our V(S) and V(R) and
the C/R bit (1: the rejected frame was a response), then W X Y Z in bits 1-4::

    modulo 8    control | 0 V(S)x3 C/R V(R)x3 | W X Y Z 0 0 0 0           3 octets
    modulo 128  control(2) | 0 V(S)x7 | C/R V(R)x7 | W X Y Z 0 0 0 0      5 octets

Decoding never trusts the peer. A frame too short to have an address and a
control field, or a modulo-128 I frame cut after its first control octet,
is invalid and only discarded (RemoteProtocolError); so is a frame for an
address that is not ours (BadAddressError). A well-formed frame that breaks
the procedure's rules is what ISO 7776 answers with FRMR: ``decode`` raises
FrameRejectError, carrying everything the FRMR needs. Those rules are: a
control field that is undefined or not implemented (including SREJ, UI,
XID..., and a command-only frame sent as a response or the other way round:
a UA "command" is an undefined command) is W; an information field on a
frame that must not have one, or an S frame of the wrong length, is W+X.
The two rules the codec cannot see, an I frame longer than N1 (Y) and an
invalid N(R) (Z), are the engine's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "ADDR_A",
    "ADDR_B",
    "FRMR_W",
    "FRMR_X",
    "FRMR_Y",
    "FRMR_Z",
    "BadAddressError",
    "Frame",
    "FrameRejectError",
    "FrameType",
    "FrmrInfo",
    "address",
    "decode",
    "decode_frmr_info",
    "encode",
    "encode_frmr_info",
    "i_frame",
    "s_frame",
    "u_frame",
]

ADDR_A: Final = 0x03
ADDR_B: Final = 0x01

PF: Final = 0x10  # P/F in a U frame and in a modulo-8 I or S frame
EPF: Final = 0x01  # P/F in the second control octet of a modulo-128 I or S frame

FRMR_W: Final = 0x01  # control field undefined or not implemented
FRMR_X: Final = 0x02  # information field not permitted, or wrong length (always with W)
FRMR_Y: Final = 0x04  # information field longer than N1
FRMR_Z: Final = 0x08  # invalid N(R)


class FrameType(enum.Enum):
    I = "I"  # noqa: E741 - the standard's name
    RR = "RR"
    RNR = "RNR"
    REJ = "REJ"
    SABM = "SABM"
    SABME = "SABME"
    DISC = "DISC"
    DM = "DM"
    UA = "UA"
    FRMR = "FRMR"

    __hash__ = object.__hash__  # see firmware_emu.payload.Proto: dictionary keys on hot paths


T = FrameType
S_CODE: Final[dict[FrameType, int]] = {T.RR: 0x01, T.RNR: 0x05, T.REJ: 0x09}
U_CODE: Final[dict[FrameType, int]] = {
    T.SABM: 0x2F,
    T.SABME: 0x6F,
    T.DISC: 0x43,
    T.DM: 0x0F,
    T.UA: 0x63,
    T.FRMR: 0x87,
}
_S_TYPE: Final = {code: t for t, code in S_CODE.items()}
_U_TYPE: Final = {code: t for t, code in U_CODE.items()}
COMMAND_ONLY: Final = frozenset((T.I, T.SABM, T.SABME, T.DISC))
RESPONSE_ONLY: Final = frozenset((T.UA, T.DM, T.FRMR))
FRMR_INFO_LEN: Final = {8: 3, 128: 5}


@dataclass(frozen=True, slots=True)
class FrmrInfo:
    """The information field of an FRMR response."""

    control: bytes  # the rejected control field: 1 octet (modulo 8) or 2 (modulo 128)
    vs: int  # the rejecting station's V(S)...
    vr: int  # ...and V(R)
    response: bool  # the rejected frame was a response (the C/R bit)
    flags: int  # FRMR_W | FRMR_X | FRMR_Y | FRMR_Z


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. ``command`` is the C/R reading of its address for the receiving role."""

    type: FrameType
    command: bool
    pf: bool = False
    nr: int = 0  # I and S frames
    ns: int = 0  # I frames
    info: bytes = b""  # I frames; FRMR: the raw information field
    frmr: FrmrInfo | None = None  # FRMR with an information field of the right length
    control: bytes = b""  # the control field as received (for an FRMR of our own)


class BadAddressError(RemoteProtocolError):
    """A frame for an address that is neither A nor B."""


class FrameRejectError(RemoteProtocolError):
    """A well-formed frame that ISO 7776 answers with FRMR (a frame reject condition)."""

    def __init__(self, detail: str, control: bytes, response: bool, pf: bool, flags: int) -> None:
        super().__init__(detail)
        self.control = control
        self.response = response
        self.pf = pf
        self.flags = flags


def _check_role(role: str) -> bool:
    """True for a DCE."""
    if role == "dce":
        return True
    if role == "dte":
        return False
    raise LocalProtocolError(f"role must be dte or dce, not {role!r}")


def _check_modulo(modulo: int) -> None:
    if modulo != 8 and modulo != 128:
        raise LocalProtocolError(f"modulo must be 8 or 128, not {modulo!r}")


def address(role: str, command: bool) -> int:
    """The address we put on a command or a response we send."""
    dce = _check_role(role)
    return ADDR_A if dce == command else ADDR_B


# --------------------------------------------------------------------- encoding


def _seq(value: int, modulo: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < modulo:
        raise LocalProtocolError(f"{what} {value!r} out of range for modulo {modulo}")
    return value


def i_frame(addr: int, modulo: int, ns: int, nr: int, p: bool, info: bytes) -> bytes:
    """An I frame (always a command: ``addr`` is the command address)."""
    if modulo == 8:
        return bytes((addr, nr << 5 | (PF if p else 0) | ns << 1)) + info
    return bytes((addr, ns << 1, nr << 1 | (EPF if p else 0))) + info


def s_frame(addr: int, modulo: int, kind: FrameType, nr: int, pf: bool) -> bytes:
    code = S_CODE[kind]
    if modulo == 8:
        return bytes((addr, nr << 5 | (PF if pf else 0) | code))
    return bytes((addr, code, nr << 1 | (EPF if pf else 0)))


def u_frame(addr: int, kind: FrameType, pf: bool, info: bytes = b"") -> bytes:
    return bytes((addr, U_CODE[kind] | (PF if pf else 0))) + info


def encode_frmr_info(info: FrmrInfo, modulo: int) -> bytes:
    _check_modulo(modulo)
    ctl = bytes(info.control)
    vs = _seq(info.vs, modulo, "V(S)")
    vr = _seq(info.vr, modulo, "V(R)")
    flags = info.flags & 0x0F
    if modulo == 8:
        if len(ctl) != 1:
            raise LocalProtocolError("a modulo-8 FRMR rejects a 1-octet control field")
        return bytes((ctl[0], vr << 5 | (0x10 if info.response else 0) | vs << 1, flags))
    if len(ctl) == 1:
        ctl += b"\x00"  # an unnumbered control field, padded with 0x00 (X.25 FRMR)
    if len(ctl) != 2:
        raise LocalProtocolError("a modulo-128 FRMR rejects a 1- or 2-octet control field")
    return ctl + bytes((vs << 1, vr << 1 | (1 if info.response else 0), flags))


def encode(frame: Frame, modulo: int, role: str) -> bytes:
    """The frame as ``role`` sends it. LocalProtocolError if it cannot be sent like that."""
    _check_modulo(modulo)
    kind = frame.type
    if kind in COMMAND_ONLY and not frame.command:
        raise LocalProtocolError(f"{kind.value} is a command, never a response")
    if kind in RESPONSE_ONLY and frame.command:
        raise LocalProtocolError(f"{kind.value} is a response, never a command")
    addr = address(role, frame.command)
    if kind is T.I:
        ns = _seq(frame.ns, modulo, "N(S)")
        nr = _seq(frame.nr, modulo, "N(R)")
        return i_frame(addr, modulo, ns, nr, frame.pf, bytes(frame.info))
    if kind in S_CODE:
        if frame.info:
            raise LocalProtocolError(f"{kind.value} has no information field")
        return s_frame(addr, modulo, kind, _seq(frame.nr, modulo, "N(R)"), frame.pf)
    if kind is T.FRMR:
        info = encode_frmr_info(frame.frmr, modulo) if frame.frmr is not None else bytes(frame.info)
        return u_frame(addr, kind, frame.pf, info)
    if frame.info:
        raise LocalProtocolError(f"{kind.value} has no information field")
    return u_frame(addr, kind, frame.pf)


# --------------------------------------------------------------------- decoding


def decode_frmr_info(data: bytes, modulo: int) -> FrmrInfo:
    """RemoteProtocolError unless ``data`` is an FRMR information field of this modulo's length."""
    _check_modulo(modulo)
    if len(data) != FRMR_INFO_LEN[modulo]:
        raise RemoteProtocolError(f"FRMR information field of {len(data)} octets in modulo {modulo}")
    if modulo == 8:
        ctl, v, flags = data
        return FrmrInfo(bytes((ctl,)), (v >> 1) & 7, v >> 5, bool(v & 0x10), flags & 0x0F)
    return FrmrInfo(bytes(data[:2]), data[2] >> 1, data[3] >> 1, bool(data[3] & 1), data[4] & 0x0F)


def decode(data: bytes, modulo: int, role: str) -> Frame:
    """One received frame (FCS stripped). RemoteProtocolError (or a subclass) if it is not acceptable."""
    if modulo != 8 and modulo != 128:
        _check_modulo(modulo)
    n = len(data)
    if n < 2:
        raise RemoteProtocolError(f"frame of {n} octets")
    addr = data[0]
    if addr == ADDR_A:
        command = not _check_role(role)
    elif addr == ADDR_B:
        command = _check_role(role)
    else:
        raise BadAddressError(f"address 0x{addr:02X}")
    c0 = data[1]
    extended = modulo == 128
    if not c0 & 0x01:  # I frame
        if extended:
            if n < 3:
                raise RemoteProtocolError("modulo-128 I frame with a 1-octet control field")
            c1 = data[2]
            ctl = bytes(data[1:3])
            frame = Frame(T.I, command, bool(c1 & EPF), c1 >> 1, c0 >> 1, bytes(data[3:]), None, ctl)
        else:
            ctl = bytes(data[1:2])
            frame = Frame(T.I, command, bool(c0 & PF), c0 >> 5, (c0 >> 1) & 7, bytes(data[2:]), None, ctl)
        if not command:
            raise FrameRejectError("I frame sent as a response", ctl, True, frame.pf, FRMR_W)
        return frame
    if c0 & 0x03 == 0x01:  # S frame
        if extended:
            ctl = bytes(data[1:3]) if n >= 3 else bytes((c0, 0))
            pf = n >= 3 and bool(data[2] & EPF)
            kind = _S_TYPE.get(c0)  # bits 5-8 are zero in modulo 128
            ctl_len = 2
        else:
            ctl = bytes(data[1:2])
            pf = bool(c0 & PF)
            kind = _S_TYPE.get(c0 & 0x0F)
            ctl_len = 1
        if kind is None:
            raise FrameRejectError(f"undefined S control field {ctl.hex()}", ctl, not command, pf, FRMR_W)
        if n != 1 + ctl_len:
            detail = f"{kind.value} of {n} octets"
            raise FrameRejectError(detail, ctl, not command, pf, FRMR_W | FRMR_X)
        nr = data[2] >> 1 if extended else c0 >> 5
        return Frame(kind, command, pf, nr, 0, b"", None, ctl)
    # U frame: one control octet in either modulo; an FRMR of ours pads it to two in modulo 128.
    ctl = bytes((c0, 0)) if extended else bytes(data[1:2])
    pf = bool(c0 & PF)
    kind = _U_TYPE.get(c0 & ~PF)
    if kind is None:
        raise FrameRejectError(f"undefined U control field 0x{c0:02X}", ctl, not command, pf, FRMR_W)
    if (kind in COMMAND_ONLY and not command) or (kind in RESPONSE_ONLY and command):
        what = "response" if command is False else "command"
        raise FrameRejectError(f"{kind.value} sent as a {what}", ctl, not command, pf, FRMR_W)
    info = bytes(data[2:])
    if kind is T.FRMR:
        try:
            frmr: FrmrInfo | None = decode_frmr_info(info, modulo)
        except RemoteProtocolError:
            frmr = None  # still an FRMR: the peer wants the link reset, whatever it says
        return Frame(kind, command, pf, 0, 0, info, frmr, ctl)
    if info:
        detail = f"{kind.value} with a {len(info)}-octet information field"
        raise FrameRejectError(detail, ctl, not command, pf, FRMR_W | FRMR_X)
    return Frame(kind, command, pf, 0, 0, b"", None, ctl)
