"""The API socket message format, shared by the endpoints and the client library.

One SOCK_SEQPACKET message is one API message: a type octet, then a body.

- ``D`` data: one flag octet (bit 0 Q, bit 1 D; 0 on raw channels), then the
  payload (a raw channel's frame information field, or one complete X.25
  M-bit sequence).
- ``C`` control: a UTF-8 JSON object with an ``"op"`` key. Both directions.

This module is stdlib only: the client library (and any application that
copies it) imports it without the rest of wand. docs/api.md lists every op.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

DATA = b"D"
CONTROL = b"C"
FLAG_Q = 0x01
FLAG_D = 0x02
FLAGS_KNOWN = FLAG_Q | FLAG_D

MAX_PAYLOAD = 65535  # the largest frame or M-bit sequence a data message carries
MAX_MESSAGE = MAX_PAYLOAD + 2  # type octet + flag octet + payload; control messages share the bound
MAX_X121 = 15  # X.121 addresses are at most 15 digits (X.25 allows 15; X.121 itself 14 plus prefix)


class WireError(ValueError):
    """A malformed API message. The text is what the peer is told in an ``error`` op."""


class Data(NamedTuple):
    payload: bytes
    q: bool = False
    d: bool = False


class Control(NamedTuple):
    op: str
    fields: dict[str, Any]


def encode_data(payload: bytes, q: bool = False, d: bool = False) -> bytes:
    return DATA + bytes(((FLAG_Q if q else 0) | (FLAG_D if d else 0),)) + payload


def encode_control(op: str, **fields: Any) -> bytes:
    body = {"op": op, **fields}
    return CONTROL + json.dumps(body, separators=(",", ":")).encode()


def decode(message: bytes) -> Data | Control:
    """One received message; raises WireError (with a reason fit for the peer) when malformed."""
    if not message:
        raise WireError("empty message")
    kind = message[:1]
    if kind == DATA:
        if len(message) < 2:
            raise WireError("data message without its flag octet")
        flags = message[1]
        if flags & ~FLAGS_KNOWN:
            raise WireError(f"data message flag octet 0x{flags:02x} has unknown bits")
        return Data(message[2:], bool(flags & FLAG_Q), bool(flags & FLAG_D))
    if kind == CONTROL:
        try:
            body = json.loads(message[1:].decode("utf-8"))
        except UnicodeDecodeError:
            raise WireError("control message is not UTF-8") from None
        except ValueError as exc:  # json.JSONDecodeError
            raise WireError(f"control message is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise WireError("control message is not a JSON object")
        op = body.pop("op", None)
        if not isinstance(op, str) or not op:
            raise WireError('control message has no "op" string')
        return Control(op, body)
    raise WireError(f"unknown message type 0x{message[0]:02x} (expected 'D' or 'C')")


# -- field accessors: each raises WireError naming the field -----------------------
_MISSING = object()


def get_int(fields: dict[str, Any], key: str, *, default: Any = _MISSING, lo: int = 0, hi: int = 255) -> Any:
    value = fields.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise WireError(f'missing field "{key}"')
        return default
    # bool is an int subclass; true/false is never a number here
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError(f'field "{key}" must be an integer')
    if not lo <= value <= hi:
        raise WireError(f'field "{key}" must be in {lo}..{hi}')
    return value


def get_str(fields: dict[str, Any], key: str, *, default: Any = _MISSING, max_len: int = 256) -> Any:
    value = fields.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise WireError(f'missing field "{key}"')
        return default
    if not isinstance(value, str):
        raise WireError(f'field "{key}" must be a string')
    if len(value) > max_len:
        raise WireError(f'field "{key}" is longer than {max_len} characters')
    return value


def get_x121(fields: dict[str, Any], key: str, *, default: Any = _MISSING) -> Any:
    """An X.121 address (or a prefix of one): decimal digits only."""
    value = get_str(fields, key, default=default, max_len=MAX_X121)
    if isinstance(value, str) and value and not (value.isascii() and value.isdigit()):
        raise WireError(f'field "{key}" must be decimal digits (an X.121 address)')
    return value


def get_hex(fields: dict[str, Any], key: str, *, default: Any = _MISSING, max_len: int = MAX_PAYLOAD) -> Any:
    """Octets carried as a hex string ("" is empty)."""
    value = get_str(fields, key, default=default, max_len=2 * max_len)
    if not isinstance(value, str):
        return value
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise WireError(f'field "{key}" must be a hex string') from None


def get_object(fields: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional JSON object field ({} when absent)."""
    value = fields.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WireError(f'field "{key}" must be an object')
    return value


def jsonable(value: Any) -> Any:
    """Event fields as JSON: tuples become lists, bytes hex, everything else as is."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value
