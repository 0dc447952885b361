"""FCS-16/32: check values, wire order, residues, rejection of damaged frames."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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

CHECK_INPUT = b"123456789"


def test_check_values() -> None:
    assert fcs16(CHECK_INPUT) == 0x906E
    assert fcs32(CHECK_INPUT) == 0xCBF43926


def test_fcs_goes_low_byte_first() -> None:
    assert append_fcs16(CHECK_INPUT) == CHECK_INPUT + b"\x6e\x90"
    assert append_fcs32(CHECK_INPUT) == CHECK_INPUT + b"\x26\x39\xf4\xcb"


def test_good_residue() -> None:
    # 0xF0B8 / 0xDEBB20E3 are the register residues; the CRC functions apply the
    # final complement, so what they return over a good frame is the inverse.
    assert FCS16_GOOD == 0xF0B8 ^ 0xFFFF == 0x0F47
    assert FCS32_GOOD == 0xDEBB20E3 ^ 0xFFFFFFFF
    assert fcs16(append_fcs16(CHECK_INPUT)) == FCS16_GOOD
    assert fcs32(append_fcs32(CHECK_INPUT)) == FCS32_GOOD


@given(st.binary(min_size=1, max_size=300))
def test_round_trip(frame: bytes) -> None:
    assert check_fcs16(append_fcs16(frame)) == frame
    assert check_fcs32(append_fcs32(frame)) == frame


@given(st.binary(min_size=1, max_size=300), st.data())
def test_single_bit_error_is_rejected(frame: bytes, data: st.DataObject) -> None:
    for append, check in ((append_fcs16, check_fcs16), (append_fcs32, check_fcs32)):
        wire = bytearray(append(frame))
        bit = data.draw(st.integers(0, 8 * len(wire) - 1))
        wire[bit // 8] ^= 1 << (bit % 8)
        assert check(bytes(wire)) is None


def test_wrong_fcs_rejected() -> None:
    wire = append_fcs16(b"\x03\x04hello")
    assert check_fcs16(wire[:-1] + bytes([wire[-1] ^ 0x80])) is None
    assert check_fcs16(wire[:-2] + wire[-2:][::-1]) is None  # byte order matters
    assert check_fcs16(wire + b"\x00") is None
    assert check_fcs32(wire) is None  # an FCS-16 frame is not an FCS-32 frame


def test_short_inputs_rejected() -> None:
    for n in range(3):
        assert check_fcs16(b"\x00" * n) is None
    for n in range(5):
        assert check_fcs32(b"\x00" * n) is None
    # An FCS alone is "valid" CRC-wise, but there is no frame around it.
    assert fcs16(append_fcs16(b"")) == FCS16_GOOD
    assert check_fcs16(append_fcs16(b"")) is None
    assert check_fcs32(append_fcs32(b"")) is None
    assert check_fcs16(append_fcs16(b"x")) == b"x"
    assert check_fcs32(append_fcs32(b"x")) == b"x"
