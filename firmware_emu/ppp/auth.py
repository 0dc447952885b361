"""PPP authentication: PAP (RFC 1334) and CHAP with MD5 (RFC 1994), in both roles.

Theory of operation
-------------------
Each direction of authentication is one role object: the *authenticator*
checks the peer against the configured secrets, the *peer* proves itself
with the configured username and password. LCP decides which roles run:
we are authenticator if the peer acknowledged our Auth-Protocol option,
peer if we acknowledged its one. The engine starts them when LCP opens and
stops them when it goes down.

Every role follows TRANSITIONS: START (LCP opened) takes it from IDLE to
PENDING; PASS and FAIL settle it; STOP returns it to IDLE. SUCCEEDED can
still fail (a CHAP rechallenge answered wrongly) and take PASS again (a
repeated request answered again); FAILED is final until STOP. Other inputs
are ignored, except START when not IDLE, which is a misuse of the API.

Timing, with the LCP restart timer (``restart``, default 3 s) and
Max-Configure (10) as the retry budget:

* PAP peer: sends Authenticate-Request, repeats it (new Identifier, RFC
  1334 2.2.1) every ``restart`` until Ack or Nak; after Max-Configure
  requests, fails.
* CHAP authenticator: sends a Challenge (16 random octets, our name),
  repeats it every ``restart``; after Max-Configure challenges, fails.
  A Response to an older Identifier is ignored (RFC 1994 4.1).
* PAP authenticator and CHAP peer wait passively for the other side, for
  ``restart * max_configure`` seconds, then fail.

An authenticator answers a repeated request or response again (its Ack or
Success may have been lost). A failure always sends the Nak or Failure
first, so the peer learns why before LCP terminates the link. Periodic
CHAP rechallenges are not initiated, but a peer answers them.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.ppp.config import PppConfig
from firmware_emu.ppp.packet import CHAP, PAP, Packet, build_packet

__all__ = [
    "TRANSITIONS",
    "AuthInput",
    "AuthRole",
    "AuthState",
    "ChapAuthenticator",
    "ChapPeer",
    "PapAuthenticator",
    "PapPeer",
    "chap_md5",
    "make_role",
]

# PAP codes
PAP_REQUEST: Final = 1
PAP_ACK: Final = 2
PAP_NAK: Final = 3
# CHAP codes
CHAP_CHALLENGE: Final = 1
CHAP_RESPONSE: Final = 2
CHAP_SUCCESS: Final = 3
CHAP_FAILURE: Final = 4

CHALLENGE_LEN: Final = 16
DEFAULT_NAME: Final = "wand"  # our name in CHAP challenges when no username is configured


class AuthState(enum.Enum):
    IDLE = "idle"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AuthInput(enum.Enum):
    START = "start"
    PASS = "pass"
    FAIL = "fail"
    STOP = "stop"


_A, _I = AuthState, AuthInput
TRANSITIONS: Final[dict[tuple[AuthState, AuthInput], AuthState]] = {
    (_A.IDLE, _I.START): _A.PENDING,
    (_A.PENDING, _I.PASS): _A.SUCCEEDED,
    (_A.PENDING, _I.FAIL): _A.FAILED,
    (_A.SUCCEEDED, _I.PASS): _A.SUCCEEDED,
    (_A.SUCCEEDED, _I.FAIL): _A.FAILED,
    (_A.IDLE, _I.STOP): _A.IDLE,
    (_A.PENDING, _I.STOP): _A.IDLE,
    (_A.SUCCEEDED, _I.STOP): _A.IDLE,
    (_A.FAILED, _I.STOP): _A.IDLE,
}


def chap_md5(identifier: int, secret: bytes, challenge: bytes) -> bytes:
    """RFC 1994 section 4.1 with MD5: the hash of Identifier, secret and challenge value."""
    return hashlib.md5(bytes((identifier,)) + secret + challenge, usedforsecurity=False).digest()


def _counted(data: bytes, what: str) -> tuple[bytes, bytes]:
    """A one-octet length and that many octets: (value, rest)."""
    if not data or data[0] > len(data) - 1:
        raise RemoteProtocolError(f"{what}: length runs past the packet")
    return data[1 : 1 + data[0]], data[1 + data[0] :]


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


@dataclass(slots=True)
class AuthCounters:
    sent: int = 0
    received: int = 0
    retransmissions: int = 0
    ignored: int = 0  # stale Identifier, or nothing to do in this state


class AuthRole:
    """What both roles of both protocols share: state, retry timer, outputs."""

    protocol = 0
    role = ""
    accepts: frozenset[int] = frozenset()  # the codes this role handles

    def __init__(self, cfg: PppConfig, rng: random.Random, send: Callable[[bytes], None]) -> None:
        self._cfg = cfg
        self._rng = rng
        self._send_packet = send
        self.state = AuthState.IDLE
        self.deadline: float | None = None
        self.reason = ""  # why it failed
        self.peer_name: str | None = None  # the name the peer gave, or the authenticator's name
        self.counters = AuthCounters()
        self._id = rng.getrandbits(8)
        self._tries = 0

    @property
    def name(self) -> str:
        return {PAP: "pap", CHAP: "chap"}[self.protocol]

    def start(self, now: float) -> None:
        if self.state is not AuthState.IDLE:
            raise LocalProtocolError(f"{self.name} {self.role} started twice")
        self._input(AuthInput.START)
        self._tries = 0
        self.reason = ""
        self._on_start(now)

    def stop(self) -> None:
        self._input(AuthInput.STOP)
        self.deadline = None

    def receive(self, packet: Packet, now: float) -> None:
        """A packet whose code is in ``accepts``. RemoteProtocolError if malformed."""
        self.counters.received += 1
        if self.state in (AuthState.IDLE, AuthState.FAILED):
            self.counters.ignored += 1
            return
        self._on_packet(packet, now)

    def handle_timer(self, now: float) -> None:
        if self.deadline is not None and now >= self.deadline:
            self.deadline = None
            self._on_timer(now)

    def status(self) -> dict[str, Any]:
        return {
            "protocol": self.name,
            "state": self.state.value,
            "peer_name": self.peer_name,
            "reason": self.reason,
            **asdict(self.counters),
        }

    # --------------------------------------------------------------- helpers

    def _input(self, inp: AuthInput, reason: str = "") -> None:
        nxt = TRANSITIONS.get((self.state, inp))
        if nxt is None:
            return
        self.state = nxt
        if nxt is AuthState.FAILED:
            self.reason = reason
        if nxt is not AuthState.PENDING:
            self.deadline = None

    def _send(self, code: int, ident: int, data: bytes) -> None:
        self.counters.sent += 1
        self._send_packet(build_packet(code, ident, data))

    def _next_id(self) -> int:
        self._id = (self._id + 1) & 0xFF
        return self._id

    @property
    def _wait(self) -> float:
        return self._cfg.restart * self._cfg.max_configure

    def _on_start(self, now: float) -> None:
        self.deadline = now + self._wait

    def _on_packet(self, packet: Packet, now: float) -> None:
        raise NotImplementedError

    def _on_timer(self, now: float) -> None:
        self._input(AuthInput.FAIL, f"timed out waiting for the peer ({self.name} {self.role})")


class PapPeer(AuthRole):
    protocol, role, accepts = PAP, "peer", frozenset({PAP_ACK, PAP_NAK})

    def _on_start(self, now: float) -> None:
        self._request(now)

    def _request(self, now: float) -> None:
        user = (self._cfg.username or "").encode()
        password = (self._cfg.password or "").encode()
        data = bytes((len(user),)) + user + bytes((len(password),)) + password
        self._send(PAP_REQUEST, self._next_id(), data)
        self._tries += 1
        self.deadline = now + self._cfg.restart

    def _on_timer(self, now: float) -> None:
        if self.state is not AuthState.PENDING:
            return
        if self._tries >= self._cfg.max_configure:
            self._input(AuthInput.FAIL, "no reply to PAP Authenticate-Request")
            return
        self.counters.retransmissions += 1
        self._request(now)

    def _on_packet(self, packet: Packet, now: float) -> None:
        if packet.identifier != self._id:
            self.counters.ignored += 1
            return
        # Be lenient about a missing message: some peers send a bare Ack.
        message = _text(_counted(packet.data, "PAP message")[0]) if packet.data else ""
        if packet.code == PAP_ACK:
            self._input(AuthInput.PASS)
        else:
            self._input(AuthInput.FAIL, f"PAP rejected by peer: {message!r}")


class PapAuthenticator(AuthRole):
    protocol, role, accepts = PAP, "authenticator", frozenset({PAP_REQUEST})

    def _on_packet(self, packet: Packet, now: float) -> None:
        peer_id, rest = _counted(packet.data, "PAP Peer-ID")
        password, _ = _counted(rest, "PAP Password")
        name = _text(peer_id)
        self.peer_name = name
        secret = dict(self._cfg.secrets).get(name)
        if secret is not None and hmac.compare_digest(password, secret.encode()):
            self._send(PAP_ACK, packet.identifier, b"\x08Login ok")
            self._input(AuthInput.PASS)
        else:
            self._send(PAP_NAK, packet.identifier, b"\x0fLogin incorrect")
            self._input(AuthInput.FAIL, f"PAP credentials of {name!r} rejected")


class ChapAuthenticator(AuthRole):
    protocol, role, accepts = CHAP, "authenticator", frozenset({CHAP_RESPONSE})

    def __init__(self, cfg: PppConfig, rng: random.Random, send: Callable[[bytes], None]) -> None:
        super().__init__(cfg, rng, send)
        self._challenge = b""
        self._challenge_id = -1

    def _on_start(self, now: float) -> None:
        self._challenge = self._rng.randbytes(CHALLENGE_LEN)
        self._challenge_id = self._next_id()
        self._send_challenge(now)

    def _send_challenge(self, now: float) -> None:
        name = (self._cfg.username or DEFAULT_NAME).encode()
        self._send(CHAP_CHALLENGE, self._challenge_id, bytes((CHALLENGE_LEN,)) + self._challenge + name)
        self._tries += 1
        self.deadline = now + self._cfg.restart

    def _on_timer(self, now: float) -> None:
        if self.state is not AuthState.PENDING:
            return
        if self._tries >= self._cfg.max_configure:
            self._input(AuthInput.FAIL, "no CHAP Response from the peer")
            return
        self.counters.retransmissions += 1
        self._send_challenge(now)

    def _on_packet(self, packet: Packet, now: float) -> None:
        if packet.identifier != self._challenge_id:
            self.counters.ignored += 1
            return
        value, rest = _counted(packet.data, "CHAP Response value")
        name = _text(rest)
        self.peer_name = name
        secret = dict(self._cfg.secrets).get(name)
        expected = (
            chap_md5(packet.identifier, secret.encode(), self._challenge) if secret is not None else b""
        )
        if secret is not None and hmac.compare_digest(value, expected):
            self._send(CHAP_SUCCESS, packet.identifier, b"Welcome")
            self._input(AuthInput.PASS)
        else:
            self._send(CHAP_FAILURE, packet.identifier, b"Access denied")
            why = "unknown name" if secret is None else "wrong response"
            self._input(AuthInput.FAIL, f"CHAP response of {name!r} rejected ({why})")


class ChapPeer(AuthRole):
    protocol, role, accepts = CHAP, "peer", frozenset({CHAP_CHALLENGE, CHAP_SUCCESS, CHAP_FAILURE})

    def __init__(self, cfg: PppConfig, rng: random.Random, send: Callable[[bytes], None]) -> None:
        super().__init__(cfg, rng, send)
        self._answered_id = -1

    def _on_packet(self, packet: Packet, now: float) -> None:
        if packet.code == CHAP_CHALLENGE:
            challenge, rest = _counted(packet.data, "CHAP Challenge value")
            if not challenge:
                raise RemoteProtocolError("CHAP Challenge with an empty value")
            self.peer_name = _text(rest)
            secret = (self._cfg.password or "").encode()
            response = chap_md5(packet.identifier, secret, challenge)
            user = (self._cfg.username or "").encode()
            self._send(CHAP_RESPONSE, packet.identifier, bytes((len(response),)) + response + user)
            self._answered_id = packet.identifier
            if self.state is AuthState.PENDING:
                self.deadline = now + self._wait
            return
        if packet.identifier != self._answered_id:
            self.counters.ignored += 1
            return
        if packet.code == CHAP_SUCCESS:
            self._input(AuthInput.PASS)
        else:
            self._input(AuthInput.FAIL, f"CHAP rejected by peer: {_text(packet.data)!r}")


def make_role(protocol: int, authenticator: bool) -> type[AuthRole]:
    """The role class for an Auth-Protocol negotiated by LCP."""
    if protocol == PAP:
        return PapAuthenticator if authenticator else PapPeer
    if protocol == CHAP:
        return ChapAuthenticator if authenticator else ChapPeer
    raise LocalProtocolError(f"no authentication role for protocol {protocol:#06x}")
