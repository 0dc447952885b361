"""The wanpipemon packet: one UDP datagram per request, one per reply.

Layout (network byte order; docs/management-protocol.md is the full text)::

    offset size field
    0      8    signature   b"WANPIPEM"
    8      1    version     1
    9      1    kind        1 request, 2 reply
    10     2    flags       bit 0: a 32-octet HMAC-SHA256 trailer follows the payload
    12     4    request id  chosen by the client, echoed in the reply
    16     16   command     ASCII code ("xm", "sd", "trace_read"...), NUL-padded
    32     16   target      interface or device name (IFNAMSIZ), NUL-padded; may be empty
    48     2    return code 0 in requests; the result in replies (RC)
    50     2    length      payload octets
    52     n    payload     UTF-8 JSON object: request parameters, or {"data": ...} / {"error": "..."}
    52+n   32   HMAC        only with flag bit 0: HMAC-SHA256(key, octets 0 .. 52+n-1)

The parser never trusts a length it has not checked against the datagram, and
reports every problem as a PacketError naming the counter it belongs to, so the
server counts and refuses without ever raising out of its datagram handler.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

SIGNATURE = b"WANPIPEM"
VERSION = 1
KIND_REQUEST = 1
KIND_REPLY = 2
FLAG_HMAC = 0x0001
KNOWN_FLAGS = FLAG_HMAC

HEADER = struct.Struct("!8sBBHI16s16sHH")
HEADER_SIZE = HEADER.size  # 52
HMAC_SIZE = 32
COMMAND_SIZE = 16
TARGET_SIZE = 16  # IFNAMSIZ: 15 characters and the NUL
MAX_PAYLOAD = 0xFFFF
# Requests are small (a command and a few parameters); anything longer is
# refused before it is parsed, so a flood of large datagrams costs little.
MAX_REQUEST = 4096
# The largest UDP payload over IPv4. A reply that does not fit is replaced by
# an error reply (RC.TOO_LARGE) rather than truncated.
MAX_DATAGRAM = 65507
MAX_REPLY_PAYLOAD = MAX_DATAGRAM - HEADER_SIZE - HMAC_SIZE

_COMMAND = re.compile(r"^[a-z0-9][a-z0-9_]{0,14}$")
# What Linux accepts in an interface name, minus what would confuse a log line.
_TARGET = re.compile(r"^[A-Za-z0-9_.:@+-]{1,15}$")


class RC(IntEnum):
    """Return codes carried in replies (the header's return code field)."""

    OK = 0
    ERROR = 1  # the command failed; the message says why
    UNKNOWN_COMMAND = 2
    READ_ONLY = 3  # a command that changes state, asked from the network side
    AUTH = 4  # HMAC missing or wrong, while the port has a key
    BAD_REQUEST = 5  # malformed packet (lengths, payload, names)
    NO_TARGET = 6  # no such interface or device on this port
    NOT_RUNNING = 7  # the device is stopped
    WRONG_PROTOCOL = 8  # the command does not apply to the device's protocol
    BAD_VERSION = 9  # the header's version is not ours
    TOO_LARGE = 10  # the reply would not fit in one datagram
    INTERNAL = 11  # a bug in the daemon; logged there


class PacketError(Exception):
    """A datagram that is not a valid packet.

    `counter` names the server's counter for it. `header` is set when the fixed
    header parsed well enough to address an error reply to the request.
    """

    def __init__(self, counter: str, message: str, header: Header | None = None, rc: RC = RC.BAD_REQUEST):
        super().__init__(message)
        self.counter = counter
        self.header = header
        self.rc = rc


@dataclass(frozen=True)
class Header:
    kind: int
    flags: int
    request_id: int
    command: str
    target: str
    rc: int
    length: int

    @property
    def signed(self) -> bool:
        return bool(self.flags & FLAG_HMAC)


@dataclass(frozen=True)
class Packet:
    kind: int
    request_id: int
    command: str
    target: str = ""
    rc: int = RC.OK
    payload: dict[str, Any] = field(default_factory=dict)
    signed: bool = False


def _field(text: str, size: int, what: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > size or b"\0" in raw:
        raise ValueError(f"{what} {text!r} does not fit in {size} octets")
    return raw.ljust(size, b"\0")


def encode(packet: Packet, key: bytes | None = None) -> bytes:
    """The datagram for `packet`; signed (and flagged so) when a key is given."""
    body = json.dumps(packet.payload, separators=(",", ":"), default=str).encode()
    if len(body) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(body)} octets is larger than {MAX_PAYLOAD}")
    flags = FLAG_HMAC if key is not None else 0
    header = HEADER.pack(
        SIGNATURE,
        VERSION,
        packet.kind,
        flags,
        packet.request_id & 0xFFFFFFFF,
        _field(packet.command, COMMAND_SIZE, "command"),
        _field(packet.target, TARGET_SIZE, "target"),
        int(packet.rc),
        len(body),
    )
    data = header + body
    return data + mac(key, data) if key is not None else data


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _text(raw: bytes, pattern: re.Pattern[str], counter: str, what: str) -> str:
    """A NUL-padded ASCII field: no NUL inside the text, nothing but NULs after it."""
    text, _, pad = raw.partition(b"\0")
    if pad.strip(b"\0"):
        raise PacketError(counter, f"{what} field has octets after its NUL padding")
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        raise PacketError(counter, f"{what} field is not ASCII") from None
    if decoded and not pattern.match(decoded):
        raise PacketError(counter, f"{what} {decoded!r} has characters a {what} cannot have")
    return decoded


def parse_header(data: bytes, *, kind: int = KIND_REQUEST, max_size: int = MAX_REQUEST) -> Header:
    """Check the fixed header and every length against `data`; PacketError if anything is off."""
    if len(data) < len(SIGNATURE) or data[: len(SIGNATURE)] != SIGNATURE:
        if len(data) < len(SIGNATURE) and SIGNATURE.startswith(bytes(data)):
            raise PacketError("truncated", f"{len(data)} octets: shorter than the signature")
        raise PacketError("bad_signature", "not a wanpipemon packet (no WANPIPEM signature)")
    if len(data) < HEADER_SIZE:
        raise PacketError("truncated", f"{len(data)} octets: shorter than the {HEADER_SIZE}-octet header")
    _sig, version, pkt_kind, flags, request_id, raw_cmd, raw_target, rc, length = HEADER.unpack_from(data)
    if version != VERSION:
        # Only the signature and this octet are common to every version: no reply
        # address is trusted from the rest, but the id is echoed so a client can tell.
        header = Header(pkt_kind, 0, request_id, "", "", 0, 0)
        raise PacketError(
            "bad_version", f"version {version}, this daemon speaks {VERSION}", header, RC.BAD_VERSION
        )
    if pkt_kind != kind:
        raise PacketError("bad_kind", f"kind {pkt_kind}, expected {kind}")
    command = _text(raw_cmd, _COMMAND, "bad_request", "command")
    target = _text(raw_target, _TARGET, "bad_request", "target")
    header = Header(pkt_kind, flags, request_id, command, target, rc, length)
    if flags & ~KNOWN_FLAGS:
        raise PacketError("bad_request", f"unknown flags 0x{flags:04x}", header)
    if not command:
        raise PacketError("bad_request", "no command", header)
    expected = HEADER_SIZE + length + (HMAC_SIZE if header.signed else 0)
    if expected > max_size:
        raise PacketError("oversized", f"{expected} octets: larger than {max_size}", header)
    if len(data) < expected:
        raise PacketError("truncated", f"{len(data)} octets, the header announces {expected}", header)
    if len(data) > expected:
        raise PacketError("bad_request", f"{len(data) - expected} octets after the packet", header)
    return header


def verify(data: bytes, header: Header, key: bytes) -> bool:
    """True when `data` carries a correct HMAC under `key` (constant-time compare)."""
    if not header.signed:
        return False
    body_end = HEADER_SIZE + header.length
    return hmac.compare_digest(mac(key, data[:body_end]), data[body_end : body_end + HMAC_SIZE])


def payload(data: bytes, header: Header) -> dict[str, Any]:
    """The JSON object after the header; PacketError("bad_payload") unless it is one."""
    body = data[HEADER_SIZE : HEADER_SIZE + header.length]
    if not body:
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PacketError("bad_payload", "payload is not UTF-8 JSON", header) from None
    if not isinstance(value, dict):
        raise PacketError("bad_payload", "payload is not a JSON object", header)
    return value


def decode(
    data: bytes, key: bytes | None = None, *, kind: int = KIND_REQUEST, max_size: int = MAX_REQUEST
) -> Packet:
    """Header, HMAC (when `key` is given: required) and payload, in that order."""
    header = parse_header(data, kind=kind, max_size=max_size)
    if key is not None and not verify(data, header, key):
        what = "a wrong HMAC" if header.signed else "no HMAC"
        raise PacketError("auth_failures", f"{what}; this port requires one", header, RC.AUTH)
    return Packet(
        header.kind,
        header.request_id,
        header.command,
        header.target,
        header.rc,
        payload(data, header),
        header.signed,
    )


def reply_for(
    header: Header, rc: RC, *, data: Any = None, error: str = "", target: str | None = None
) -> Packet:
    """The reply to a request whose header parsed."""
    body: dict[str, Any] = {"error": error} if rc != RC.OK else {"data": data}
    return Packet(
        KIND_REPLY,
        header.request_id,
        header.command,
        header.target if target is None else target,
        rc,
        body,
    )
