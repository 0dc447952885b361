"""Q.922 two-octet address: byte vectors, round trip, and what a peer may not send."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr.q922 import Q922Address, decode_address, dlci_of, encode_address


@pytest.mark.parametrize(
    ("dlci", "wire"),
    [
        (0, b"\x00\x01"),  # ANSI/Q.933 LMI
        (16, b"\x04\x01"),
        (17, b"\x04\x11"),
        (100, b"\x18\x41"),
        (1007, b"\xf8\xf1"),  # the last user DLCI
        (1023, b"\xfc\xf1"),  # Cisco LMI
    ],
)
def test_dlci_vectors(dlci: int, wire: bytes) -> None:
    assert encode_address(dlci) == wire
    assert decode_address(wire) == Q922Address(dlci)


def test_flag_bits() -> None:
    assert encode_address(16, cr=True) == b"\x06\x01"
    assert encode_address(16, fecn=True) == b"\x04\x09"
    assert encode_address(16, becn=True) == b"\x04\x05"
    assert encode_address(16, de=True) == b"\x04\x03"
    assert decode_address(b"\x06\x0f") == Q922Address(16, cr=True, fecn=True, becn=True, de=True)


@given(
    st.integers(0, 1023), st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.binary(max_size=8)
)
def test_round_trip(dlci: int, cr: bool, fecn: bool, becn: bool, de: bool, rest: bytes) -> None:
    wire = encode_address(dlci, cr=cr, fecn=fecn, becn=becn, de=de)
    assert len(wire) == 2
    assert decode_address(wire + rest) == Q922Address(dlci, cr, fecn, becn, de)
    assert dlci_of(wire[0], wire[1]) == dlci


@pytest.mark.parametrize("dlci", [-1, 1024, 70000])
def test_encode_out_of_range_is_local_error(dlci: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_address(dlci)


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"\x04",  # truncated
        b"\x05\x01",  # EA set in octet 1
        b"\x04\x00",  # EA clear in octet 2: a 3/4-octet address
        b"\x04\x00\x01",  # a genuine 3-octet address
        b"\x04\x00\x00\x01",  # and a 4-octet one
    ],
)
def test_decode_rejects(wire: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_address(wire)


@given(st.binary(max_size=6))
def test_decode_random_only_remote_errors(data: bytes) -> None:
    try:
        addr = decode_address(data)
    except RemoteProtocolError:
        return
    assert 0 <= addr.dlci <= 1023
    assert encode_address(addr.dlci, cr=addr.cr, fecn=addr.fecn, becn=addr.becn, de=addr.de) == data[:2]
