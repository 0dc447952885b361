"""LMI codecs against byte vectors (as hdlc_fr.c and Wireshark lay them out), and bad input."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr.lmi_codec import (
    LinkIntegrity,
    LmiMessage,
    MessageType,
    PvcStatus,
    ReportType,
    Variant,
    decode,
    encode,
    lmi_dlci,
)

ENQ, STATUS = MessageType.STATUS_ENQUIRY, MessageType.STATUS
FULL, LIV, SINGLE = ReportType.FULL_STATUS, ReportType.LINK_INTEGRITY, ReportType.SINGLE_PVC

PVCS = (
    PvcStatus(16, new=True, active=True),
    PvcStatus(17, active=False),
    PvcStatus(100, active=True),
    PvcStatus(991, delete=True),
)
CISCO_PVCS = (
    PvcStatus(16, new=True, active=True),
    PvcStatus(17, active=True, bandwidth=64000),
    PvcStatus(1007, active=False),
)

VECTORS = [
    # DTE's first poll: full status enquiry, send 1, receive 0.
    (Variant.ANSI, LmiMessage(ENQ, FULL, LinkIntegrity(1, 0)), "00 01 03 08 00 75 95 01 01 00 03 02 01 00"),
    (Variant.Q933, LmiMessage(ENQ, FULL, LinkIntegrity(1, 0)), "00 01 03 08 00 75 51 01 00 53 02 01 00"),
    (Variant.CISCO, LmiMessage(ENQ, FULL, LinkIntegrity(1, 0)), "fc f1 03 09 00 75 01 01 00 03 02 01 00"),
    # A link integrity only poll.
    (
        Variant.ANSI,
        LmiMessage(ENQ, LIV, LinkIntegrity(0xD7, 0xD6)),
        "00 01 03 08 00 75 95 01 01 01 03 02 d7 d6",
    ),
    (Variant.Q933, LmiMessage(ENQ, LIV, LinkIntegrity(2, 1)), "00 01 03 08 00 75 51 01 01 53 02 02 01"),
    (Variant.CISCO, LmiMessage(ENQ, LIV, LinkIntegrity(255, 254)), "fc f1 03 09 00 75 01 01 01 03 02 ff fe"),
    # Link integrity only status.
    (Variant.ANSI, LmiMessage(STATUS, LIV, LinkIntegrity(5, 4)), "00 01 03 08 00 7d 95 01 01 01 03 02 05 04"),
    (Variant.Q933, LmiMessage(STATUS, LIV, LinkIntegrity(5, 4)), "00 01 03 08 00 7d 51 01 01 53 02 05 04"),
    (Variant.CISCO, LmiMessage(STATUS, LIV, LinkIntegrity(5, 4)), "fc f1 03 09 00 7d 01 01 01 03 02 05 04"),
    # Full status. ANSI/Q.933 PVC status: 0|spare|DLCI hi6, 1|DLCI lo4|spare, 1|spare|N D A|spare.
    (
        Variant.ANSI,
        LmiMessage(STATUS, FULL, LinkIntegrity(1, 1), PVCS),
        "00 01 03 08 00 7d 95 01 01 00 03 02 01 01"
        " 07 03 01 80 8a  07 03 01 88 80  07 03 06 a0 82  07 03 3d f8 84",
    ),
    (
        Variant.Q933,
        LmiMessage(STATUS, FULL, LinkIntegrity(1, 1), PVCS),
        "00 01 03 08 00 7d 51 01 00 53 02 01 01"
        " 57 03 01 80 8a  57 03 01 88 80  57 03 06 a0 82  57 03 3d f8 84",
    ),
    # Cisco PVC status: 16-bit DLCI, status octet, 3-octet bandwidth.
    (
        Variant.CISCO,
        LmiMessage(STATUS, FULL, LinkIntegrity(1, 1), CISCO_PVCS),
        "fc f1 03 09 00 7d 01 01 00 03 02 01 01"
        " 07 06 00 10 0a 00 00 00  07 06 00 11 02 00 fa 00  07 06 03 ef 00 00 00 00",
    ),
    # Asynchronous single PVC status: no link integrity IE.
    (
        Variant.Q933,
        LmiMessage(STATUS, SINGLE, None, (PvcStatus(16, active=True),)),
        "00 01 03 08 00 7d 51 01 02 57 03 01 80 82",
    ),
]


@pytest.mark.parametrize(("variant", "msg", "wire"), VECTORS)
def test_vectors(variant: Variant, msg: LmiMessage, wire: str) -> None:
    assert encode(variant, msg) == bytes.fromhex(wire)
    assert decode(variant, bytes.fromhex(wire)) == msg


def test_minimum_lengths_match_hdlc_fr() -> None:
    # LMI_ANSI_LENGTH 14, LMI_CCITT_CISCO_LENGTH 13 (address included).
    msg = LmiMessage(ENQ, FULL, LinkIntegrity(1, 0))
    assert [len(encode(v, msg)) for v in Variant] == [14, 13, 13]


def test_lmi_dlcis() -> None:
    assert (lmi_dlci(Variant.ANSI), lmi_dlci(Variant.Q933), lmi_dlci(Variant.CISCO)) == (0, 0, 1023)


def test_unknown_optional_ie_is_skipped() -> None:
    # 0x19 (high nibble != 0) is not "comprehension required"; a single-octet IE is skipped too.
    wire = bytes.fromhex("00 01 03 08 00 75 51 01 00 53 02 01 00 19 02 aa bb a1")
    assert decode(Variant.Q933, wire) == LmiMessage(ENQ, FULL, LinkIntegrity(1, 0))


ANSI_ENQ = "00 01 03 08 00 75 95 01 01 00 03 02 01 00"
Q933_ENQ = "00 01 03 08 00 75 51 01 00 53 02 01 00"
CISCO_STATUS = "fc f1 03 09 00 7d 01 01 00 03 02 01 01 07 06 00 10 0a 00 00 00"


@pytest.mark.parametrize(
    ("variant", "wire", "why"),
    [
        (Variant.ANSI, "", "empty"),
        (Variant.ANSI, "00 01 03 08 00", "truncated header"),
        (Variant.ANSI, "00 01 03 08 00 75", "no locking shift"),
        (Variant.ANSI, "00 01 03 08 00 75 95", "no report type"),
        (Variant.ANSI, ANSI_ENQ[:-6], "link integrity truncated"),
        (Variant.ANSI, ANSI_ENQ[:-3], "link integrity truncated by one"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 01 00", "no link integrity"),
        (Variant.ANSI, "01 01 03 08 00 75 95 01 01 00 03 02 01 00", "bad EA"),
        (Variant.ANSI, "04 01 03 08 00 75 95 01 01 00 03 02 01 00", "wrong DLCI"),
        (Variant.ANSI, "00 01 13 08 00 75 95 01 01 00 03 02 01 00", "not UI"),
        (Variant.ANSI, "00 01 03 09 00 75 95 01 01 00 03 02 01 00", "wrong discriminator"),
        (Variant.ANSI, "00 01 03 08 01 75 95 01 01 00 03 02 01 00", "call reference"),
        (Variant.ANSI, "00 01 03 08 00 7b 95 01 01 00 03 02 01 00", "unknown message type"),
        (Variant.ANSI, "00 01 03 08 00 75 96 01 01 00 03 02 01 00", "shift to another codeset"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 02 00 00 03 02 01 00", "report type length 2"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 01 07 03 02 01 00", "unknown report type"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 01 00 03 03 01 00 00", "integrity length 3"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 01 00 03 02 01 00 05 01 00", "unknown mandatory IE"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 01 00 03 02 01 00 07 03 01 80 82", "PVC in enquiry"),
        (Variant.ANSI, "00 01 03 08 00 75 95 01 01 02 03 02 01 00", "single PVC enquiry"),
        (Variant.ANSI, "00 01 03 08 00 7d 95 01 01 00 03 02 01 01 07 02 01 80", "PVC status length 2"),
        (Variant.ANSI, "00 01 03 08 00 7d 95 01 01 00 03 02 01 01 07 03 01 80", "PVC status truncated"),
        (Variant.ANSI, "00 01 03 08 00 7d 95 01 01 00 03 02 01 01 07", "IE without length"),
        (Variant.ANSI, "00 01 03 08 00 7d 95 03 02 01 01 01 01 00", "integrity before report type"),
        (Variant.ANSI, "00 01 03 08 00 7d 95 01 01 00 01 01 00 03 02 01 01", "report type twice"),
        (Variant.Q933, ANSI_ENQ, "ANSI frame on a Q.933 port (locking shift)"),
        (Variant.Q933, "00 01 03 08 00 75 01 01 00 03 02 01 00", "codeset 5 IEs without a shift"),
        (Variant.Q933, Q933_ENQ[:-3], "truncated"),
        (Variant.ANSI, Q933_ENQ, "Q.933 frame on an ANSI port"),
        (Variant.CISCO, ANSI_ENQ, "ANSI frame on a Cisco port"),
        (Variant.CISCO, CISCO_STATUS[:-3], "Cisco PVC status truncated"),
        (Variant.CISCO, "fc f1 03 09 00 7d 01 01 00 03 02 01 01 07 03 01 80 8a", "ANSI-size PVC IE"),
        (Variant.CISCO, "fc f1 03 09 00 7d 01 01 00 03 02 01 01 07 06 04 00 0a 00 00 00", "DLCI 1024"),
        (Variant.ANSI, "00 01 03 08 00 7d 95 01 01 02", "single PVC report without a PVC"),
    ],
)
def test_decode_rejects(variant: Variant, wire: str, why: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode(variant, bytes.fromhex(wire))


def test_single_pvc_without_integrity_is_valid() -> None:
    msg = decode(Variant.ANSI, bytes.fromhex("00 01 03 08 00 7d 95 01 01 02 07 03 01 80 82"))
    assert msg.integrity is None and msg.pvcs == (PvcStatus(16, active=True),)


@pytest.mark.parametrize(
    "msg",
    [
        LmiMessage(ENQ, FULL, None),
        LmiMessage(ENQ, FULL, LinkIntegrity(256, 0)),
        LmiMessage(ENQ, FULL, LinkIntegrity(0, -1)),
        LmiMessage(STATUS, FULL, LinkIntegrity(1, 1), (PvcStatus(1024),)),
        LmiMessage(STATUS, FULL, LinkIntegrity(1, 1), (PvcStatus(16, bandwidth=1 << 24),)),
    ],
)
def test_encode_misuse_is_local_error(msg: LmiMessage) -> None:
    with pytest.raises(LocalProtocolError):
        encode(Variant.CISCO, msg)


pvc_status = st.builds(
    PvcStatus, st.integers(0, 1023), st.booleans(), st.booleans(), st.booleans(), st.integers(0, 0xFFFFFF)
)


@given(
    st.sampled_from(list(Variant)),
    st.sampled_from(list(ReportType)),
    st.integers(0, 255),
    st.integers(0, 255),
    st.lists(pvc_status, max_size=20),
)
def test_status_round_trip(
    variant: Variant, report: ReportType, tx: int, rx: int, pvcs: list[PvcStatus]
) -> None:
    if variant is not Variant.CISCO:  # only the Cisco PVC status carries a bandwidth
        pvcs = [PvcStatus(p.dlci, p.new, p.active, p.delete) for p in pvcs]
    if report is SINGLE and not pvcs:
        pvcs = [PvcStatus(16)]  # an asynchronous status is about exactly one PVC
    integrity = None if report is SINGLE else LinkIntegrity(tx, rx)
    msg = LmiMessage(STATUS, report, integrity, tuple(pvcs))
    assert decode(variant, encode(variant, msg)) == msg


@given(st.sampled_from(list(Variant)), st.binary(max_size=40))
def test_random_bytes_raise_only_remote_errors(variant: Variant, data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode(variant, data)


@given(st.sampled_from(list(Variant)), st.binary(max_size=30))
def test_random_ies_after_valid_header(variant: Variant, tail: bytes) -> None:
    head = encode(variant, LmiMessage(STATUS, FULL, LinkIntegrity(1, 1)))[
        : 7 if variant is Variant.ANSI else 6
    ]
    try:
        msg = decode(variant, head + tail)
    except RemoteProtocolError:
        return
    assert msg.message_type is STATUS
