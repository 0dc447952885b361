"""LAPB frames on the wire: spec vectors (ISO 7776 / X.25 2.3), round trips, and what the codec refuses."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.lapb.codec import (
    ADDR_A,
    ADDR_B,
    FRMR_W,
    FRMR_X,
    FRMR_Y,
    FRMR_Z,
    BadAddressError,
    Frame,
    FrameRejectError,
    FrameType,
    FrmrInfo,
    address,
    decode,
    decode_frmr_info,
    encode,
    encode_frmr_info,
)

T = FrameType
H = bytes.fromhex


# ------------------------------------------------------------------ addresses


def test_addresses_follow_the_linux_kernel_and_x25() -> None:
    # lapb_transmit_buffer: a DCE sends commands with A and responses with B, a DTE the reverse.
    assert (ADDR_A, ADDR_B) == (0x03, 0x01)
    assert address("dce", command=True) == ADDR_A
    assert address("dce", command=False) == ADDR_B
    assert address("dte", command=True) == ADDR_B
    assert address("dte", command=False) == ADDR_A
    with pytest.raises(LocalProtocolError):
        address("switch", True)


@pytest.mark.parametrize(
    ("role", "addr", "command"),
    [("dte", 0x03, True), ("dte", 0x01, False), ("dce", 0x01, True), ("dce", 0x03, False)],
)
def test_receiver_reads_command_or_response_from_the_address(role: str, addr: int, command: bool) -> None:
    assert decode(bytes((addr, 0x01)), 8, role).command is command  # RR N(R)=0


def test_what_one_role_sends_the_other_reads_the_same_way() -> None:
    for sender, receiver in (("dte", "dce"), ("dce", "dte")):
        for command in (True, False):
            frame = Frame(T.RR, command, pf=True, nr=2)
            assert decode(encode(frame, 8, sender), 8, receiver) == Frame(
                T.RR, command, True, 2, 0, b"", None, b"\x51"
            )


# ------------------------------------------------------------------ spec vectors

# (frame, modulo, sending role, wire octets). The control octets are worked out
# by hand from the bit layouts of X.25 section 2 (bit 1 = least significant).
VECTORS = [
    # X.25 Appendix I, example 1: SABM command with address A, P=1, from the DCE.
    (Frame(T.SABM, True, True), 8, "dce", "033f"),
    (Frame(T.SABM, True, True), 8, "dte", "013f"),
    (Frame(T.SABM, True, False), 8, "dte", "012f"),
    (Frame(T.SABME, True, True), 128, "dte", "017f"),
    (Frame(T.SABME, True, False), 128, "dce", "036f"),
    (Frame(T.DISC, True, True), 8, "dte", "0153"),
    (Frame(T.DISC, True, False), 128, "dce", "0343"),
    (Frame(T.UA, False, True), 8, "dce", "0173"),
    (Frame(T.UA, False, True), 8, "dte", "0373"),
    (Frame(T.UA, False, False), 128, "dte", "0363"),
    (Frame(T.DM, False, True), 8, "dce", "011f"),
    (Frame(T.DM, False, False), 128, "dte", "030f"),
    # I frames: N(R) in bits 6-8, P in bit 5, N(S) in bits 2-4; modulo 128: N(S)<<1, then N(R)<<1 | P.
    (Frame(T.I, True, False, nr=0, ns=0, info=b"\x10\x00\xfb"), 8, "dte", "010010 00fb"),
    (Frame(T.I, True, True, nr=5, ns=2, info=b"x"), 8, "dce", "03b478"),
    (Frame(T.I, True, False, nr=7, ns=7, info=b""), 8, "dte", "01ee"),
    (Frame(T.I, True, True, nr=27, ns=100, info=b"ab"), 128, "dte", "01c8376162"),
    (Frame(T.I, True, False, nr=127, ns=127, info=b"z"), 128, "dce", "03fefe7a"),
    # S frames: RR 0x01, RNR 0x05, REJ 0x09.
    (Frame(T.RR, False, True, nr=3), 8, "dce", "0171"),
    (Frame(T.RR, True, True, nr=3), 8, "dte", "0171"),
    (Frame(T.RR, False, False, nr=0), 8, "dte", "0301"),
    (Frame(T.RNR, False, False, nr=7), 8, "dte", "03e5"),
    (Frame(T.RNR, True, True, nr=1), 8, "dce", "0335"),
    (Frame(T.REJ, False, True, nr=0), 8, "dce", "0119"),
    (Frame(T.REJ, False, False, nr=6), 8, "dte", "03c9"),
    (Frame(T.RR, False, True, nr=127), 128, "dce", "0101ff"),
    (Frame(T.RNR, True, False, nr=0), 128, "dte", "010500"),
    (Frame(T.REJ, True, True, nr=64), 128, "dce", "030981"),
    # FRMR: control, then 0 V(S) C/R V(R), then W X Y Z.
    (Frame(T.FRMR, False, False, frmr=FrmrInfo(H("0d"), 3, 6, True, FRMR_W)), 8, "dce", "01870dd601"),
    (Frame(T.FRMR, False, True, frmr=FrmrInfo(H("22"), 1, 2, False, FRMR_Z)), 8, "dte", "03972242 08"),
    (
        Frame(T.FRMR, False, False, frmr=FrmrInfo(H("0011"), 100, 5, True, FRMR_W | FRMR_X)),
        128,
        "dte",
        "03870011c80b03",
    ),
    (
        Frame(T.FRMR, False, False, frmr=FrmrInfo(H("6300"), 0, 127, False, FRMR_W)),
        128,
        "dce",
        "0187630000fe01",
    ),
    (
        Frame(T.FRMR, False, True, frmr=FrmrInfo(H("0203"), 1, 1, False, FRMR_Y)),
        128,
        "dce",
        "0197020302 0204",
    ),
]


@pytest.mark.parametrize(("frame", "modulo", "role", "wire"), VECTORS)
def test_spec_vectors_encode(frame: Frame, modulo: int, role: str, wire: str) -> None:
    assert encode(frame, modulo, role) == H(wire.replace(" ", ""))


@pytest.mark.parametrize(("frame", "modulo", "role", "wire"), VECTORS)
def test_spec_vectors_decode_at_the_other_end(frame: Frame, modulo: int, role: str, wire: str) -> None:
    peer = "dte" if role == "dce" else "dce"
    got = decode(H(wire.replace(" ", "")), modulo, peer)
    assert (got.type, got.command, got.pf) == (frame.type, frame.command, frame.pf)
    if frame.type in (T.I, T.RR, T.RNR, T.REJ):
        assert got.nr == frame.nr
    if frame.type is T.I:
        assert (got.ns, got.info) == (frame.ns, frame.info)
    assert got.frmr == frame.frmr


def test_modulo_128_unnumbered_control_is_one_octet_and_padded_in_frmr() -> None:
    assert decode(H("017f"), 128, "dce").control == H("7f00")
    assert decode(H("017f"), 8, "dce").control == H("7f")
    assert decode(H("01c837"), 128, "dce").control == H("c837")
    # An FRMR of a modulo-128 U frame accepts the 1-octet field and pads it.
    assert encode_frmr_info(FrmrInfo(H("7f"), 0, 0, False, FRMR_W), 128) == H("7f00000001")


# ------------------------------------------------------------------ round trips


@st.composite
def frames(draw: st.DrawFn) -> tuple[Frame, int, str]:
    modulo = draw(st.sampled_from([8, 128]))
    role = draw(st.sampled_from(["dte", "dce"]))
    kind = draw(st.sampled_from(list(FrameType)))
    seq = st.integers(0, modulo - 1)
    pf = draw(st.booleans())
    if kind is T.I:
        frame = Frame(T.I, True, pf, draw(seq), draw(seq), draw(st.binary(max_size=40)))
    elif kind in (T.RR, T.RNR, T.REJ):
        frame = Frame(kind, draw(st.booleans()), pf, draw(seq))
    elif kind is T.FRMR:
        ctl = draw(st.binary(min_size=1 if modulo == 8 else 2, max_size=1 if modulo == 8 else 2))
        info = FrmrInfo(ctl, draw(seq), draw(seq), draw(st.booleans()), draw(st.integers(0, 15)))
        frame = Frame(T.FRMR, False, pf, frmr=info)
    else:
        frame = Frame(kind, kind in (T.SABM, T.SABME, T.DISC), pf)
    return frame, modulo, role


@settings(max_examples=400, deadline=None)
@given(frames())
def test_encode_decode_round_trip(case: tuple[Frame, int, str]) -> None:
    frame, modulo, role = case
    wire = encode(frame, modulo, role)
    got = decode(wire, modulo, "dce" if role == "dte" else "dte")
    assert (got.type, got.command, got.pf, got.nr, got.ns, got.frmr) == (
        frame.type,
        frame.command,
        frame.pf,
        frame.nr,
        frame.ns,
        frame.frmr,
    )
    if frame.type is T.I:
        assert got.info == frame.info
    # And back to the same octets, as the receiver re-encodes it for the sender's role.
    assert (
        encode(
            Frame(
                got.type, got.command, got.pf, got.nr, got.ns, got.info if got.type is T.I else b"", got.frmr
            ),
            modulo,
            role,
        )
        == wire
    )


def test_frmr_info_round_trip_every_flag_and_sequence_number() -> None:
    for modulo in (8, 128):
        ctl = H("0d") if modulo == 8 else H("0d00")
        for v in range(modulo):
            for flags in (FRMR_W, FRMR_W | FRMR_X, FRMR_Y, FRMR_Z):
                info = FrmrInfo(ctl, v, modulo - 1 - v, bool(v & 1), flags)
                assert decode_frmr_info(encode_frmr_info(info, modulo), modulo) == info


# ------------------------------------------------------------------ what the codec refuses


@pytest.mark.parametrize(
    ("wire", "modulo"),
    [
        ("", 8),
        ("01", 8),
        ("03", 128),
        ("0100", 128),  # a modulo-128 I frame cut after its first control octet
    ],
)
def test_invalid_frames_are_remote_errors_to_discard(wire: str, modulo: int) -> None:
    with pytest.raises(RemoteProtocolError) as exc:
        decode(H(wire), modulo, "dte")
    assert not isinstance(exc.value, FrameRejectError)


@pytest.mark.parametrize("addr", [0x00, 0x02, 0x07, 0x0F, 0xFF, 0x13])
def test_unknown_address(addr: int) -> None:
    with pytest.raises(BadAddressError):
        decode(bytes((addr, 0x3F)), 8, "dte")
    assert issubclass(BadAddressError, RemoteProtocolError)


@pytest.mark.parametrize(
    ("wire", "modulo", "role", "flags", "control", "response", "pf"),
    [
        ("030d", 8, "dte", FRMR_W, "0d", False, False),  # SREJ: not LAPB
        ("031d", 8, "dte", FRMR_W, "1d", False, True),
        ("0313", 8, "dte", FRMR_W, "13", False, True),  # UI command P=1
        ("01af", 8, "dte", FRMR_W, "af", True, False),  # XID response
        ("030d05", 128, "dte", FRMR_W, "0d05", False, True),
        ("031100", 128, "dte", FRMR_W, "1100", False, False),  # bits 5-8 of a modulo-128 S octet set
        ("030100", 8, "dte", FRMR_W | FRMR_X, "01", False, False),  # RR with an information field
        ("03010203", 128, "dte", FRMR_W | FRMR_X, "0102", False, False),
        ("0301", 128, "dte", FRMR_W | FRMR_X, "0100", False, False),  # RR too short for modulo 128
        ("033f00", 8, "dte", FRMR_W | FRMR_X, "3f", False, True),  # SABM with an information field
        ("0153aa", 8, "dce", FRMR_W | FRMR_X, "53", False, True),  # DISC with one
        ("0373", 8, "dte", FRMR_W, "73", False, True),  # UA as a command is an undefined command
        ("0363", 128, "dte", FRMR_W, "6300", False, False),
        ("031f", 8, "dte", FRMR_W, "1f", False, True),  # DM as a command
        ("013f", 8, "dte", FRMR_W, "3f", True, True),  # SABM as a response
        ("0153", 8, "dte", FRMR_W, "53", True, True),  # DISC as a response
        ("0100", 8, "dte", FRMR_W, "00", True, False),  # I frame as a response
    ],
)
def test_frame_reject_conditions(
    wire: str, modulo: int, role: str, flags: int, control: str, response: bool, pf: bool
) -> None:
    with pytest.raises(FrameRejectError) as exc:
        decode(H(wire), modulo, role)
    e = exc.value
    assert (e.flags, e.control, e.response, e.pf) == (flags, H(control), response, pf)
    assert isinstance(e, RemoteProtocolError)


def test_frmr_with_a_bad_information_field_is_still_an_frmr() -> None:
    f = decode(H("0187aa"), 8, "dte")
    assert (f.type, f.frmr, f.info) == (T.FRMR, None, H("aa"))
    assert decode(H("01870dd601"), 128, "dte").frmr is None  # modulo-8 length in modulo 128
    with pytest.raises(RemoteProtocolError):
        decode_frmr_info(H("0dd6"), 8)


def test_fuzz_decode_raises_only_remote_errors() -> None:
    rng = random.Random(7776)
    for _ in range(5000):
        data = rng.randbytes(rng.randrange(0, 12))
        for modulo in (8, 128):
            try:
                f = decode(data, modulo, rng.choice(["dte", "dce"]))
            except RemoteProtocolError:
                continue
            assert 0 <= f.nr < modulo and 0 <= f.ns < modulo


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=16), st.sampled_from([8, 128]), st.sampled_from(["dte", "dce"]))
def test_hypothesis_whatever_decodes_encodes_back_to_the_same_octets(
    data: bytes, modulo: int, role: str
) -> None:
    try:
        f = decode(data, modulo, role)
    except RemoteProtocolError:
        return
    if f.type is not T.FRMR:  # an FRMR's spare bits are not kept
        info = f.info if f.type is T.I else b""
        assert (
            encode(
                Frame(f.type, f.command, f.pf, f.nr, f.ns, info), modulo, "dce" if role == "dte" else "dte"
            )
            == data
        )


# ------------------------------------------------------------------ our own misuse


@pytest.mark.parametrize(
    ("frame", "modulo"),
    [
        (Frame(T.I, False, nr=0, ns=0), 8),  # I frames are commands
        (Frame(T.SABM, False), 8),
        (Frame(T.UA, True), 8),
        (Frame(T.FRMR, True, frmr=FrmrInfo(H("00"), 0, 0, False, 1)), 8),
        (Frame(T.I, True, nr=8, ns=0), 8),
        (Frame(T.RR, True, nr=-1), 8),
        (Frame(T.RR, True, nr=128), 128),
        (Frame(T.RR, True, nr=1, info=b"x"), 8),
        (Frame(T.DISC, True, info=b"x"), 8),
        (Frame(T.FRMR, False, frmr=FrmrInfo(H("0000"), 0, 0, False, 1)), 8),  # 2-octet control, modulo 8
        (Frame(T.RR, True), 16),
    ],
)
def test_encode_refuses_what_cannot_be_sent(frame: Frame, modulo: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode(frame, modulo, "dte")


# ------------------------------------------------------------------ Wireshark agrees


def _pcapng(frames: list[tuple[bool, bytes]]) -> bytes:
    """A pcapng with a DLT_USER0 interface and the direction in each packet's flags."""

    def block(kind: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 147, 0, 65535))
    for i, (from_dte, data) in enumerate(frames):
        # Outbound (flags 2) is Wireshark's P2P_DIR_SENT, which its LAPB dissector reads as DTE -> DCE.
        options = struct.pack("<HHI", 2, 4, 2 if from_dte else 1) + struct.pack("<HH", 0, 0)
        body = struct.pack("<IIIII", 0, 0, i, len(data), len(data)) + data + b"\x00" * (-len(data) % 4)
        out += block(6, body + options)
    return out


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_wireshark_decodes_our_modulo_8_frames_the_same_way(tmp_path: Path) -> None:
    restart = H("1000fb0000")  # an X.25 RESTART REQUEST, so the I frames decode all the way
    cases = [
        (Frame(T.SABM, True, True), "dte"),
        (Frame(T.UA, False, True), "dce"),
        (Frame(T.I, True, False, nr=3, ns=5, info=restart), "dte"),
        (Frame(T.I, True, True, nr=7, ns=0, info=restart), "dce"),
        (Frame(T.RR, False, True, nr=6), "dte"),
        (Frame(T.RR, True, True, nr=2), "dce"),
        (Frame(T.RNR, False, False, nr=4), "dce"),
        (Frame(T.REJ, False, False, nr=1), "dte"),
        (Frame(T.REJ, True, True, nr=5), "dte"),
        (Frame(T.DISC, True, True), "dce"),
        (Frame(T.DM, False, True), "dte"),
        (Frame(T.DM, False, False), "dce"),
        (Frame(T.FRMR, False, False, frmr=FrmrInfo(H("0d"), 3, 6, True, FRMR_W)), "dce"),
    ]
    path = tmp_path / "lapb.pcapng"
    path.write_bytes(_pcapng([(role == "dte", encode(f, 8, role)) for f, role in cases]))
    fields = ["p", "f", "s_ftype", "u_modifier_cmd", "u_modifier_resp", "n_r", "n_s"]
    argv = ["tshark", "-o", 'uat:user_dlts:"User 0 (DLT=147)","lapb","0","","0",""', "-r", str(path)]
    argv += ["-T", "fields", "-E", "separator=|", "-e", "_ws.col.Info"]
    for name in fields:
        argv += ["-e", f"lapb.control.{name}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(cases)
    s_types = {T.RR: 0, T.RNR: 1, T.REJ: 2}
    for line, (frame, _) in zip(lines, cases, strict=True):
        info, p, f, s_ftype, u_cmd, u_rsp, nr, ns = line.split("|")
        # Wireshark names the bit P on what it reads as a command and F on a response:
        # so this also checks that it reads command/response from address and direction as we do.
        assert (p, f) == (("1", "") if frame.command else ("", "1")) if frame.pf else ("", ""), line
        if frame.type is T.I:
            assert (int(nr), int(ns)) == (frame.nr, frame.ns), line
            assert info.startswith("Restart req."), line
        elif frame.type in s_types:
            assert (int(s_ftype, 0), int(nr)) == (s_types[frame.type], frame.nr), line
        else:
            modifier = f"0x{(encode(frame, 8, 'dte' if frame.command else 'dce')[1] & 0xEC) >> 2:02x}"
            assert (u_cmd, u_rsp) == ((modifier, "") if frame.command else ("", modifier)), line
            assert f"func={frame.type.value}" in info, line
