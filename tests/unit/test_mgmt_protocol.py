"""The wanpipemon packet codec: vectors, round trips, and every malformed variant refused."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wand.mgmt import protocol as p
from wand.mgmt.protocol import RC, Packet, PacketError

KEY = b"0123456789abcdef"

# docs/management-protocol.md carries the same two vectors.
XL_REQUEST = bytes.fromhex(
    "57414e504950454d"  # WANPIPEM
    "01"  # version
    "01"  # request
    "0000"  # flags
    "01020304"  # request id
    "786c0000000000000000000000000000"  # "xl"
    "7770315f667231360000000000000000"  # "wp1_fr16"
    "0000"  # return code
    "0002"  # payload length
    "7b7d"  # {}
)
SD_SIGNED = bytes.fromhex(
    "57414e504950454d0101000101020304"
    "73640000000000000000000000000000"
    "7770315f667231360000000000000000"
    "0000000b"
    "7b22646c6369223a31367d"  # {"dlci":16}
    "7651ad7edae33ff8c96c9f4037a4d61715352a9a45788b01dc74034589362b23"  # HMAC-SHA256, key KEY
)


def request(
    command: str = "xl", target: str = "wp1_fr16", payload: dict | None = None, rid: int = 0x01020304
):
    return Packet(p.KIND_REQUEST, rid, command, target, RC.OK, payload or {})


def test_header_is_52_octets() -> None:
    assert p.HEADER_SIZE == 52


def test_vector_unsigned() -> None:
    assert p.encode(request()) == XL_REQUEST
    assert p.decode(XL_REQUEST) == request()


def test_vector_signed() -> None:
    packet = request("sd", payload={"dlci": 16})
    assert p.encode(packet, KEY) == SD_SIGNED
    decoded = p.decode(SD_SIGNED, KEY)
    assert decoded.payload == {"dlci": 16} and decoded.signed


@given(
    rid=st.integers(0, 2**32 - 1),
    command=st.from_regex(r"\A[a-z0-9][a-z0-9_]{0,14}\Z"),
    target=st.from_regex(r"\A[A-Za-z0-9_.:@+-]{0,15}\Z"),
    payload=st.dictionaries(
        st.text(max_size=8), st.integers() | st.text(max_size=20) | st.booleans(), max_size=5
    ),
    signed=st.booleans(),
)
def test_round_trip(rid: int, command: str, target: str, payload: dict, signed: bool) -> None:
    packet = Packet(p.KIND_REQUEST, rid, command, target, RC.OK, payload, signed)
    key = KEY if signed else None
    assert p.decode(p.encode(packet, key), key) == packet


def test_reply_round_trip() -> None:
    header = p.parse_header(XL_REQUEST)
    reply = p.reply_for(header, RC.READ_ONLY, error="no")
    data = p.encode(reply, KEY)
    back = p.decode(data, KEY, kind=p.KIND_REPLY, max_size=p.MAX_DATAGRAM)
    assert (back.rc, back.payload, back.request_id, back.command) == (
        RC.READ_ONLY,
        {"error": "no"},
        0x01020304,
        "xl",
    )


# -- malformed: each refused with its counter, none raising anything else ---------------


def refused(data: bytes, key: bytes | None = None) -> PacketError:
    with pytest.raises(PacketError) as info:
        p.decode(data, key)
    return info.value


def _with_header(**changes: object) -> bytes:
    fields = dict(
        zip(
            ("sig", "version", "kind", "flags", "rid", "command", "target", "rc", "length"),
            p.HEADER.unpack_from(XL_REQUEST),
            strict=True,
        )
    )
    fields.update(changes)
    return p.HEADER.pack(*fields.values()) + XL_REQUEST[p.HEADER_SIZE :]


@pytest.mark.parametrize(
    ("data", "counter"),
    [
        (b"", "truncated"),
        (b"WANP", "truncated"),
        (XL_REQUEST[:20], "truncated"),
        (XL_REQUEST[:-1], "truncated"),
        (b"GET / HTTP/1.0\r\n\r\n", "bad_signature"),
        (b"\x00" * 100, "bad_signature"),
        (XL_REQUEST + b"x", "bad_request"),
        (_with_header(version=2), "bad_version"),
        (_with_header(kind=p.KIND_REPLY), "bad_kind"),
        (_with_header(kind=7), "bad_kind"),
        (_with_header(flags=0x8000), "bad_request"),
        (_with_header(command=b"XL".ljust(16, b"\0")), "bad_request"),
        (_with_header(command=b"x\0l".ljust(16, b"\0")), "bad_request"),
        (_with_header(command=b"\xff".ljust(16, b"\0")), "bad_request"),
        (_with_header(command=bytes(16)), "bad_request"),
        (_with_header(target=b"wp1 fr16".ljust(16, b"\0")), "bad_request"),
        (_with_header(length=5000), "oversized"),
        (_with_header(length=3), "truncated"),
        (_with_header(length=1), "bad_request"),
    ],
)
def test_malformed_is_refused(data: bytes, counter: str) -> None:
    assert refused(data).counter == counter


def test_bad_version_still_echoes_the_request_id() -> None:
    err = refused(_with_header(version=2))
    assert err.rc == RC.BAD_VERSION and err.header is not None and err.header.request_id == 0x01020304


@pytest.mark.parametrize("body", [b"[1,2]", b'"x"', b"{nope", b"\xff\xfe", b"[" * 5000])
def test_payload_must_be_a_json_object(body: bytes) -> None:
    data = _with_header(length=len(body))[: p.HEADER_SIZE] + body
    err = refused(data)
    assert err.counter in ("bad_payload", "oversized")
    if err.counter == "bad_payload":
        assert err.header is not None  # answered with BAD_REQUEST


def test_hmac_required_when_the_port_has_a_key() -> None:
    err = refused(XL_REQUEST, KEY)
    assert (err.counter, err.rc) == ("auth_failures", RC.AUTH)


def test_hmac_wrong_key_or_tampering_is_refused() -> None:
    assert refused(SD_SIGNED, b"another key of 16+ octets").counter == "auth_failures"
    tampered = bytearray(SD_SIGNED)
    tampered[p.HEADER_SIZE + 9] ^= 0x01  # the DLCI in the payload
    assert refused(bytes(tampered), KEY).counter == "auth_failures"
    stripped = bytearray(SD_SIGNED[: -p.HMAC_SIZE])
    struct.pack_into("!H", stripped, 10, 0)  # clear the HMAC flag too
    assert refused(bytes(stripped), KEY).counter == "auth_failures"


def test_signed_request_to_a_port_without_key_is_accepted() -> None:
    assert p.decode(SD_SIGNED).payload == {"dlci": 16}


def test_encode_refuses_names_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        p.encode(request(target="a_very_long_interface_name"))
    with pytest.raises(ValueError):
        p.encode(request(command="c" * 17))


# -- fuzzing: the parser never raises anything but PacketError ---------------------------


def _parse_or_refuse(data: bytes, key: bytes | None) -> None:
    with contextlib.suppress(PacketError):
        p.decode(data, key)


@settings(max_examples=500)
@given(st.binary(max_size=200), st.sampled_from([None, KEY]))
def test_fuzz_random_bytes(data: bytes, key: bytes | None) -> None:
    _parse_or_refuse(data, key)


@settings(max_examples=500)
@given(st.binary(max_size=120), st.sampled_from([None, KEY]))
def test_fuzz_after_a_valid_signature(tail: bytes, key: bytes | None) -> None:
    _parse_or_refuse(p.SIGNATURE + bytes([p.VERSION, p.KIND_REQUEST]) + tail, key)


@settings(max_examples=500)
@given(
    st.sampled_from([XL_REQUEST, SD_SIGNED]),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 200),
    st.sampled_from([None, KEY]),
)
def test_fuzz_mutated_valid_packets(base: bytes, edits: list, cut: int, key: bytes | None) -> None:
    data = bytearray(base)
    for index, value in edits:
        if index < len(data):
            data[index] = value
    _parse_or_refuse(bytes(data[: len(data) - cut % 8]), key)
