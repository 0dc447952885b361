"""Asynchronous HDLC-like framing (RFC 1662 section 4): octet stuffing, ACCM, the deframer.

The encoder is checked against a literal octet-by-octet model of the RFC.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_emu.errors import LocalProtocolError
from firmware_emu.hdlc.async_framing import AsyncDeframer, encode_async
from firmware_emu.hdlc.fcs import append_fcs16, append_fcs32

ALL = 0xFFFFFFFF


def ref_encode(frame: bytes, accm: int) -> bytes:
    out = bytearray(b"\x7e")
    for octet in frame:
        if octet in (0x7E, 0x7D) or (octet < 0x20 and accm >> octet & 1):
            out += bytes((0x7D, octet ^ 0x20))
        else:
            out.append(octet)
    out.append(0x7E)
    return bytes(out)


accms = st.one_of(st.sampled_from([0, ALL, 0x000A0000]), st.integers(0, ALL))
frames = st.binary(min_size=2, max_size=300)  # + FCS-16: at least the 4 octets RFC 1662 4.3 requires


@given(frames, accms)
def test_encoding_matches_the_rfc_model(frame: bytes, accm: int) -> None:
    assert encode_async(frame, accm) == ref_encode(frame, accm)


def test_accm_escaping() -> None:
    data = bytes([0x00, 0x11, 0x13, 0x20, 0x7D, 0x7E, 0xFF])
    assert encode_async(data, 0) == b"\x7e\x00\x11\x13\x20\x7d\x5d\x7d\x5e\xff\x7e"
    assert encode_async(data, 0x000A0000) == b"\x7e\x00\x7d\x31\x7d\x33\x20\x7d\x5d\x7d\x5e\xff\x7e"
    assert encode_async(data) == b"\x7e\x7d\x20\x7d\x31\x7d\x33\x20\x7d\x5d\x7d\x5e\xff\x7e"
    assert encode_async(b"\x7d\x7d\x7e") == b"\x7e\x7d\x5d\x7d\x5d\x7d\x5e\x7e"


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[i:j] for i, j in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=200)
@given(st.lists(frames, min_size=1, max_size=8), accms, st.lists(st.integers(0, 10_000), max_size=12))
def test_round_trip_whole_byte_by_byte_and_in_pieces(
    payloads: list[bytes], accm: int, cuts: list[int]
) -> None:
    stream = b"".join(encode_async(append_fcs16(p), accm) for p in payloads)
    whole = AsyncDeframer(accm)
    assert whole.feed(stream) == payloads
    bytewise = AsyncDeframer(accm)
    assert [f for i in range(len(stream)) for f in bytewise.feed(stream[i : i + 1])] == payloads
    pieces = AsyncDeframer(accm)
    assert [f for part in chunked(stream, cuts) for f in pieces.feed(part)] == payloads
    assert whole.counters == bytewise.counters == pieces.counters
    assert whole.counters.frames == len(payloads)


@settings(max_examples=100)
@given(st.binary(max_size=400), st.lists(st.integers(0, 1000), max_size=10))
def test_garbage_gives_the_same_result_however_it_is_cut(noise: bytes, cuts: list[int]) -> None:
    whole = AsyncDeframer(0, max_frame=64)
    expected = whole.feed(noise)
    pieces = AsyncDeframer(0, max_frame=64)
    assert [f for part in chunked(noise, cuts) for f in pieces.feed(part)] == expected
    assert whole.counters == pieces.counters


def test_shared_flags_and_leading_noise() -> None:
    a, b = append_fcs16(b"\xff\x03\xc0\x21one"), append_fcs16(b"\xff\x03\xc0\x21two")
    stream = b"noise" + encode_async(a) + encode_async(b)[1:] + b"\x7e\x7e"
    d = AsyncDeframer()
    assert d.feed(stream) == [a[:-2], b[:-2]]
    assert d.counters.frames == 2 and d.counters.too_short == 0


def test_bad_fcs_is_counted() -> None:
    wire = bytearray(encode_async(append_fcs16(b"\xff\x03\x00\x21hello"), 0))
    wire[6] ^= 0x01
    d = AsyncDeframer(0)
    assert d.feed(bytes(wire)) == []
    assert d.counters.crc_errors == 1 and d.counters.frames == 0


def test_abort_too_short_and_too_long() -> None:
    d = AsyncDeframer(0, max_frame=16)
    assert d.feed(b"\x7eabc\x7d\x7e") == []  # Control Escape then Flag: aborted
    assert d.counters.aborts == 1
    assert d.feed(b"\x01\x02\x7e") == []  # 2 octets: shorter than FCS + 2
    assert d.counters.too_short == 1
    long_frame = encode_async(append_fcs16(bytes(range(0x20, 0x40))), 0)
    assert d.feed(long_frame[1:]) == []
    assert d.counters.too_long == 1
    byte_by_byte = AsyncDeframer(0, max_frame=16)
    for i in range(len(long_frame)):
        byte_by_byte.feed(long_frame[i : i + 1])
    assert byte_by_byte.counters.too_long == 1
    # A frame far past twice the limit is cut off while it arrives, and counted once.
    huge = AsyncDeframer(0, max_frame=16)
    huge.feed(b"\x7e" + b"x" * 100)
    huge.feed(b"x" * 100 + b"\x7e")
    assert huge.counters.too_long == 1
    good = append_fcs16(b"\xff\x03ok")
    assert huge.feed(encode_async(good, 0)) == [good[:-2]]


def test_flagged_control_characters_inserted_on_the_line_are_dropped() -> None:
    frame = append_fcs16(b"\xff\x03\x00\x21\x11\x13data")
    wire = encode_async(frame, 0x000A0000)
    noisy = wire[:3] + b"\x11" + wire[3:7] + b"\x13" + wire[7:]  # XON/XOFF from a modem
    d = AsyncDeframer(0x000A0000)
    assert d.feed(noisy) == [frame[:-2]]
    d.accm = 0  # after LCP: nothing is dropped, the raw characters are data (and break the FCS)
    assert d.feed(noisy) == []
    assert d.counters.crc_errors == 1


def test_fcs32() -> None:
    frame = append_fcs32(b"\xff\x03\x00\x21" + bytes(range(256)))
    d = AsyncDeframer(fcs_bits=32, max_frame=600)
    assert d.feed(encode_async(frame)) == [frame[:-4]]


def test_bad_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        AsyncDeframer(fcs_bits=8)
    with pytest.raises(LocalProtocolError):
        AsyncDeframer(max_frame=0)
