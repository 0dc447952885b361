"""The API message format: data and control messages, and the field checks requests rely on."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wand.api.wire import (
    MAX_PAYLOAD,
    Control,
    Data,
    WireError,
    decode,
    encode_control,
    encode_data,
    get_hex,
    get_int,
    get_object,
    get_str,
    get_x121,
    jsonable,
)


def test_data_layout() -> None:
    assert encode_data(b"abc") == b"D\x00abc"
    assert encode_data(b"abc", q=True) == b"D\x01abc"
    assert encode_data(b"abc", d=True) == b"D\x02abc"
    assert encode_data(b"", q=True, d=True) == b"D\x03"


def test_control_layout() -> None:
    message = encode_control("connect", called="31337", facilities={"window": 2})
    assert message[:1] == b"C"
    assert json.loads(message[1:]) == {"op": "connect", "called": "31337", "facilities": {"window": 2}}


@given(st.binary(max_size=2048), st.booleans(), st.booleans())
def test_data_round_trip(payload: bytes, q: bool, d: bool) -> None:
    assert decode(encode_data(payload, q, d)) == Data(payload, q, d)


@given(
    st.text(min_size=1, max_size=20),
    st.dictionaries(
        st.text(max_size=10).filter(lambda k: k != "op"),
        st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.none()),
        max_size=5,
    ),
)
def test_control_round_trip(op: str, fields: dict) -> None:
    assert decode(encode_control(op, **fields)) == Control(op, fields)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", "empty"),
        (b"D", "flag octet"),
        (b"D\x04x", "unknown bits"),
        (b"D\xffx", "unknown bits"),
        (b"Z{}", "unknown message type 0x5a"),
        (b"C", "not JSON"),
        (b"C{", "not JSON"),
        (b"C\xc3\x28", "not UTF-8"),
        (b"C[1]", "not a JSON object"),
        (b'C"op"', "not a JSON object"),
        (b"C{}", '"op"'),
        (b'C{"op":7}', '"op"'),
        (b'C{"op":""}', '"op"'),
    ],
)
def test_malformed_messages(message: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        decode(message)


def test_max_payload_leaves_room_for_the_header() -> None:
    assert decode(encode_data(b"x" * MAX_PAYLOAD)).payload == b"x" * MAX_PAYLOAD


def test_get_int() -> None:
    fields = {"n": 5, "flag": True, "s": "5", "none": None}
    assert get_int(fields, "n") == 5
    assert get_int(fields, "missing", default=9) == 9
    assert get_int(fields, "none", default=None) is None
    with pytest.raises(WireError, match='missing field "missing"'):
        get_int(fields, "missing")
    with pytest.raises(WireError, match="integer"):
        get_int(fields, "flag")  # JSON true is not 1
    with pytest.raises(WireError, match="integer"):
        get_int(fields, "s")
    with pytest.raises(WireError, match=r"in 6\.\.7"):
        get_int(fields, "n", lo=6, hi=7)


def test_get_str_and_x121() -> None:
    assert get_str({"s": "abc"}, "s") == "abc"
    with pytest.raises(WireError, match="string"):
        get_str({"s": 1}, "s")
    with pytest.raises(WireError, match="longer"):
        get_str({"s": "abcd"}, "s", max_len=3)
    assert get_x121({"a": "31337"}, "a") == "31337"
    assert get_x121({"a": ""}, "a") == ""  # a listener's empty prefix matches everything
    assert get_x121({}, "a", default=None) is None
    for bad in ("12a", "١٢", " 12", "1" * 16):
        with pytest.raises(WireError):
            get_x121({"a": bad}, "a")


def test_get_hex_and_object() -> None:
    assert get_hex({"h": "c0FF"}, "h") == b"\xc0\xff"
    assert get_hex({"h": ""}, "h") == b""
    assert get_hex({}, "h", default=b"") == b""
    with pytest.raises(WireError, match="hex"):
        get_hex({"h": "abc"}, "h")
    with pytest.raises(WireError, match="longer"):
        get_hex({"h": "00" * 3}, "h", max_len=2)
    assert get_object({}, "o") == {}
    assert get_object({"o": {"a": 1}}, "o") == {"a": 1}
    with pytest.raises(WireError, match="object"):
        get_object({"o": [1]}, "o")


def test_jsonable() -> None:
    assert jsonable((128, 256)) == [128, 256]
    assert jsonable(b"\x01\x02") == "0102"
    assert jsonable(None) is None
    assert jsonable(7) == 7
