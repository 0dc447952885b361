"""LMI message codecs: ANSI T1.617 Annex D, ITU-T Q.933 Annex A and Cisco LMI.

The three variants share one shape (a Q.931-style message, no call
reference), and differ only in a handful of constants, which is why one codec
driven by a small ``Dialect`` table serves all three. Byte for byte, as
Linux's drivers/net/wan/hdlc_fr.c sends them::

    ANSI   00 01 | 03 08 | 00 75 | 95 | 01 01 00 | 03 02 ss rr | (07 03 d1 d2 st)*
    Q.933  00 01 | 03 08 | 00 75 |      51 01 00 | 53 02 ss rr | (57 03 d1 d2 st)*
    Cisco  FC F1 | 03 09 | 00 75 |      01 01 00 | 03 02 ss rr | (07 06 dh dl st b1 b2 b3)*
           addr    UI PD   CR MT  shift  report     link integrity  PVC status

* 0x75 is STATUS ENQUIRY (DTE -> DCE), 0x7D is STATUS (DCE -> DTE).
* Report type 0x00 full status, 0x01 link integrity verification only,
  0x02 single PVC (asynchronous status, which carries no link integrity IE).
* ANSI's IEs live in codeset 5, hence the locking shift 0x95 before them.
* ANSI/Q.933 PVC status: ``d1 = 0 ext | spare | DLCI high 6``,
  ``d2 = 1 ext | DLCI low 4 | spare 3``, ``st = 1 ext | spare | N D A | spare``.
* Cisco PVC status: the DLCI as a plain 16-bit number, the status octet (same
  N/D/A bits, no ext bit) and a 3-octet bandwidth.

Decoding follows Q.931's rule for unknown IEs: an unrecognised IE whose
identifier has the high nibble 0000 is "comprehension required" and rejects
the message; any other is skipped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr import q922
from firmware_emu.fr.encap import CONTROL_UI, NLPID_CISCO_LMI, NLPID_Q933

CALL_REFERENCE = 0x00  # the dummy (zero-length) call reference
LOCKING_SHIFT_5 = 0x95

PVC_NEW = 0x08
PVC_DELETE = 0x04
PVC_ACTIVE = 0x02

SEQ_MAX = 255
BANDWIDTH_MAX = 0xFFFFFF


class Variant(enum.StrEnum):
    ANSI = "ansi"
    Q933 = "q933"
    CISCO = "cisco"


class MessageType(enum.IntEnum):
    STATUS_ENQUIRY = 0x75
    STATUS = 0x7D


class ReportType(enum.IntEnum):
    FULL_STATUS = 0x00
    LINK_INTEGRITY = 0x01
    SINGLE_PVC = 0x02


@dataclass(frozen=True)
class Dialect:
    dlci: int
    discriminator: int
    locking_shift: bool
    ie_report: int
    ie_integrity: int
    ie_pvc: int
    pvc_len: int


DIALECTS: dict[Variant, Dialect] = {
    Variant.ANSI: Dialect(0, NLPID_Q933, True, 0x01, 0x03, 0x07, 3),
    Variant.Q933: Dialect(0, NLPID_Q933, False, 0x51, 0x53, 0x57, 3),
    Variant.CISCO: Dialect(1023, NLPID_CISCO_LMI, False, 0x01, 0x03, 0x07, 6),
}


def lmi_dlci(variant: Variant) -> int:
    return DIALECTS[variant].dlci


class LinkIntegrity(NamedTuple):
    send_seq: int  # sender's current send sequence number
    recv_seq: int  # the last send sequence number the sender received


@dataclass(frozen=True)
class PvcStatus:
    dlci: int
    new: bool = False
    active: bool = False
    delete: bool = False
    bandwidth: int = 0  # Cisco only (bits/s); always 0 for ANSI/Q.933


@dataclass(frozen=True)
class LmiMessage:
    message_type: MessageType
    report_type: ReportType
    integrity: LinkIntegrity | None  # None only in an asynchronous single-PVC status
    pvcs: tuple[PvcStatus, ...] = ()


# --------------------------------------------------------------------- encode


def _status_octet(p: PvcStatus) -> int:
    return (PVC_NEW if p.new else 0) | (PVC_DELETE if p.delete else 0) | (PVC_ACTIVE if p.active else 0)


def _encode_pvc(d: Dialect, p: PvcStatus) -> bytes:
    if not 0 <= p.dlci <= q922.DLCI_MAX:
        raise LocalProtocolError(f"PVC status: DLCI {p.dlci} out of range")
    if d.pvc_len == 6:
        if not 0 <= p.bandwidth <= BANDWIDTH_MAX:
            raise LocalProtocolError(f"PVC status: bandwidth {p.bandwidth} out of range")
        body = p.dlci.to_bytes(2, "big") + bytes((_status_octet(p),)) + p.bandwidth.to_bytes(3, "big")
    else:
        body = bytes(((p.dlci >> 4) & 0x3F, ((p.dlci << 3) & 0x78) | 0x80, 0x80 | _status_octet(p)))
    return bytes((d.ie_pvc, len(body))) + body


def encode(variant: Variant, msg: LmiMessage) -> bytes:
    """The whole LMI frame from the address on (no FCS)."""
    d = DIALECTS[variant]
    out = bytearray(q922.encode_address(d.dlci))
    out += bytes((CONTROL_UI, d.discriminator, CALL_REFERENCE, msg.message_type))
    if d.locking_shift:
        out.append(LOCKING_SHIFT_5)
    out += bytes((d.ie_report, 1, msg.report_type))
    if msg.integrity is None:
        if msg.report_type is not ReportType.SINGLE_PVC:
            raise LocalProtocolError("only a single-PVC status may omit link integrity verification")
    else:
        tx, rx = msg.integrity
        if not (0 <= tx <= SEQ_MAX and 0 <= rx <= SEQ_MAX):
            raise LocalProtocolError(f"sequence numbers out of range: {tx}, {rx}")
        out += bytes((d.ie_integrity, 2, tx, rx))
    for p in msg.pvcs:
        out += _encode_pvc(d, p)
    return bytes(out)


# --------------------------------------------------------------------- decode


def _decode_pvc(d: Dialect, body: bytes) -> PvcStatus:
    if d.pvc_len == 6:
        dlci = (body[0] << 8) | body[1]
        if dlci > q922.DLCI_MAX:
            raise RemoteProtocolError(f"PVC status: DLCI {dlci} out of range")
        bandwidth = int.from_bytes(body[3:6], "big")
    else:
        dlci = ((body[0] & 0x3F) << 4) | ((body[1] & 0x78) >> 3)
        bandwidth = 0
    st = body[2]
    return PvcStatus(dlci, bool(st & PVC_NEW), bool(st & PVC_ACTIVE), bool(st & PVC_DELETE), bandwidth)


def decode(variant: Variant, frame: bytes) -> LmiMessage:
    """Parse a whole LMI frame (address first, FCS stripped); RemoteProtocolError if invalid."""
    d = DIALECTS[variant]
    n = len(frame)
    if n < 6:
        raise RemoteProtocolError(f"LMI frame truncated ({n} octets)")
    addr = q922.decode_address(frame)
    if addr.dlci != d.dlci:
        raise RemoteProtocolError(f"{variant.value} LMI on DLCI {addr.dlci}, expected {d.dlci}")
    if frame[2] != CONTROL_UI:
        raise RemoteProtocolError(f"LMI control field 0x{frame[2]:02X} is not UI")
    if frame[3] != d.discriminator:
        raise RemoteProtocolError(
            f"LMI protocol discriminator 0x{frame[3]:02X}, expected 0x{d.discriminator:02X}"
        )
    if frame[4] != CALL_REFERENCE:
        raise RemoteProtocolError(f"LMI call reference 0x{frame[4]:02X} is not the dummy 0x00")
    try:
        message_type = MessageType(frame[5])
    except ValueError:
        raise RemoteProtocolError(f"unknown LMI message type 0x{frame[5]:02X}") from None
    i = 6
    if d.locking_shift:
        if n <= i or frame[i] != LOCKING_SHIFT_5:
            raise RemoteProtocolError("ANSI LMI without locking shift to codeset 5")
        i += 1

    report_type: ReportType | None = None
    integrity: LinkIntegrity | None = None
    pvcs: list[PvcStatus] = []
    while i < n:
        ie = frame[i]
        if ie & 0x80:
            # Single-octet IE. A codeset shift would change the meaning of the IEs that follow.
            if ie & 0xF0 == 0x90:
                raise RemoteProtocolError(f"unexpected codeset shift 0x{ie:02X} in {variant.value} LMI")
            i += 1
            continue
        if i + 2 > n:
            raise RemoteProtocolError(f"LMI IE 0x{ie:02X} truncated (no length)")
        length = frame[i + 1]
        start, end = i + 2, i + 2 + length
        if end > n:
            raise RemoteProtocolError(f"LMI IE 0x{ie:02X} length {length} runs past the frame end")
        body = frame[start:end]
        if ie == d.ie_report:
            if report_type is not None or integrity is not None or pvcs:
                raise RemoteProtocolError("LMI report type IE repeated or out of order")
            if length != 1:
                raise RemoteProtocolError(f"LMI report type IE length {length}, expected 1")
            try:
                report_type = ReportType(body[0])
            except ValueError:
                raise RemoteProtocolError(f"unknown LMI report type 0x{body[0]:02X}") from None
        elif ie == d.ie_integrity:
            if report_type is None or integrity is not None or pvcs:
                raise RemoteProtocolError("LMI link integrity IE repeated or out of order")
            if length != 2:
                raise RemoteProtocolError(f"LMI link integrity IE length {length}, expected 2")
            integrity = LinkIntegrity(body[0], body[1])
        elif ie == d.ie_pvc:
            if report_type is None:
                raise RemoteProtocolError("LMI PVC status IE before the report type")
            if length != d.pvc_len:
                raise RemoteProtocolError(f"LMI PVC status IE length {length}, expected {d.pvc_len}")
            pvcs.append(_decode_pvc(d, body))
        elif ie & 0xF0 == 0:
            raise RemoteProtocolError(f"unknown mandatory (comprehension required) LMI IE 0x{ie:02X}")
        i = end

    if report_type is None:
        raise RemoteProtocolError("LMI message without report type IE")
    if message_type is MessageType.STATUS_ENQUIRY:
        if report_type is ReportType.SINGLE_PVC:
            raise RemoteProtocolError("single-PVC report type in a status enquiry")
        if pvcs:
            raise RemoteProtocolError("PVC status IE in a status enquiry")
    if report_type is ReportType.SINGLE_PVC and not pvcs:
        raise RemoteProtocolError("single-PVC status without a PVC status IE")
    if integrity is None and report_type is not ReportType.SINGLE_PVC:
        raise RemoteProtocolError("LMI message without link integrity verification IE")
    return LmiMessage(message_type, report_type, integrity, tuple(pvcs))
