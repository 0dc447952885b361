"""PAP and CHAP, as authenticator and as peer: engines back to back, then the roles on their own."""

from __future__ import annotations

import hashlib
import random

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import LinkDown, LinkUp
from firmware_emu.ppp import PppConfig
from firmware_emu.ppp.auth import (
    TRANSITIONS,
    AuthInput,
    AuthState,
    ChapAuthenticator,
    ChapPeer,
    PapAuthenticator,
    PapPeer,
    chap_md5,
)
from firmware_emu.ppp.packet import CHAP, PAP, Packet, build_packet, frame_header, parse_packet
from tests.unit.test_ppp_engine import Link

SECRETS = (("branch", "s3cret"), ("other", "x"))


def authenticator(require: str) -> PppConfig:
    return PppConfig(require=require, secrets=SECRETS)  # type: ignore[arg-type]


def peer(password: str = "s3cret", username: str = "branch") -> PppConfig:
    return PppConfig(username=username, password=password)


def auth_frames(link: Link, direction: str, protocol: int) -> list[Packet]:
    head = frame_header(protocol)
    return [parse_packet(f[4:]) for d, f in link.wire if d == direction and f[:4] == head]


def roles(link: Link, name: str) -> list[dict[str, object]]:
    return link.engine(name).status()["auth"]["roles"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("require", ["pap", "chap"])
def test_success(require: str) -> None:
    link = Link(authenticator(require), peer())
    link.start()
    assert link.a.link_up and link.b.link_up
    assert link.a.channel_usable(0) and link.b.channel_usable(0)
    (a_role,) = roles(link, "a")
    (b_role,) = roles(link, "b")
    assert (a_role["role"], a_role["protocol"], a_role["state"], a_role["peer_name"]) == (
        "authenticator",
        require,
        "succeeded",
        "branch",
    )
    assert (b_role["role"], b_role["protocol"], b_role["state"]) == ("peer", require, "succeeded")
    assert link.a.status()["auth"]["result"] == "succeeded"
    assert link.events["a"][0] == LinkUp() and link.events["b"][0] == LinkUp()


def test_mutual_chap() -> None:
    link = Link(
        PppConfig(require="chap", secrets=(("hq", "one"),), username="hq-side", password="two"),
        PppConfig(require="chap", secrets=(("hq-side", "two"),), username="hq", password="one"),
    )
    link.start()
    assert link.a.link_up and link.b.link_up
    assert sorted(str(r["role"]) for r in roles(link, "a")) == ["authenticator", "peer"]


@pytest.mark.parametrize(
    ("require", "a_reason", "b_reason"),
    [
        ("pap", "PAP credentials of 'branch' rejected", "PAP rejected by peer: 'Login incorrect'"),
        (
            "chap",
            "CHAP response of 'branch' rejected (wrong response)",
            "CHAP rejected by peer: 'Access denied'",
        ),
    ],
)
def test_wrong_secret_fails_both_sides(require: str, a_reason: str, b_reason: str) -> None:
    link = Link(authenticator(require), peer(password="guess"))
    link.start()
    assert not link.a.link_up and not link.b.link_up
    assert link.events["a"] == [LinkDown(f"auth failed: {a_reason}")]
    assert link.events["b"] == [LinkDown(f"auth failed: {b_reason}")]
    assert link.a.counters.auth_failures == 1 and link.b.counters.auth_failures == 1
    # The Nak/Failure goes out before LCP's Terminate-Request.
    a_out = [f[2:4] for d, f in link.wire if d == "a>b"]
    proto = (PAP if require == "pap" else CHAP).to_bytes(2, "big")
    assert a_out.index(b"\xc0\x21", a_out.index(proto)) > a_out.index(proto)
    assert link.a.status()["lcp"]["state"] == "Closed" and link.b.status()["lcp"]["state"] == "Closed"
    assert link.a.status()["auth"]["result"] == f"failed: {a_reason}"


def test_unknown_chap_name() -> None:
    link = Link(authenticator("chap"), peer(username="stranger"))
    link.start()
    assert link.events["a"] == [LinkDown("auth failed: CHAP response of 'stranger' rejected (unknown name)")]


def test_peer_without_credentials_refuses() -> None:
    link = Link(authenticator("pap"), PppConfig())
    link.start()
    assert link.events["a"] == [LinkDown("auth failed: peer refused to authenticate")]
    assert not link.a.link_up


def test_failed_authentication_is_retried_after_holdoff() -> None:
    link = Link(authenticator("pap"), peer(password="guess"))
    link.start()
    link.run(11.0)
    assert link.a.counters.auth_failures == 2  # LCP reopened after holdoff, and failed again
    assert link.events["a"].count(LinkDown("auth failed: PAP credentials of 'branch' rejected")) == 2


def test_lost_pap_ack_is_recovered_by_a_retransmission() -> None:
    link = Link(authenticator("pap"), peer())
    dropped: list[bytes] = []

    def drop_first_ack(direction: str, frame: bytes) -> bytes | None:
        if direction == "a>b" and frame[2:4] == b"\xc0\x23" and not dropped:
            dropped.append(frame)
            return None
        return frame

    link.tap = drop_first_ack
    link.start()
    assert link.a.link_up and not link.b.link_up  # a is satisfied, b still waits for its Ack
    link.run(3.5)
    assert link.b.link_up
    requests = auth_frames(link, "b>a", PAP)
    assert len(requests) == 2 and requests[0].identifier != requests[1].identifier
    assert roles(link, "b")[0]["retransmissions"] == 1


def test_chap_challenges_stop_after_max_configure() -> None:
    link = Link(authenticator("chap"), peer())
    link.tap = lambda d, f: None if d == "b>a" and f[2:4] == b"\xc2\x23" else f
    link.start()
    link.run(29.0)
    assert not link.a.link_up
    link.run(2.0)
    challenges = auth_frames(link, "a>b", CHAP)
    assert len(challenges) == 10 and {c.identifier for c in challenges} == {challenges[0].identifier}
    assert LinkDown("auth failed: no CHAP Response from the peer") in link.events["a"]


# ------------------------------------------------------------------ roles alone


class Wire:
    def __init__(self) -> None:
        self.sent: list[Packet] = []

    def __call__(self, data: bytes) -> None:
        self.sent.append(parse_packet(data))


def make(cls: type, cfg: PppConfig) -> tuple[object, Wire]:
    wire = Wire()
    return cls(cfg, random.Random(3), wire), wire


def test_transition_table() -> None:
    assert TRANSITIONS[(AuthState.IDLE, AuthInput.START)] is AuthState.PENDING
    assert all(TRANSITIONS[(s, AuthInput.STOP)] is AuthState.IDLE for s in AuthState)
    assert (AuthState.FAILED, AuthInput.PASS) not in TRANSITIONS  # failure is final until stopped


def test_chap_md5_is_rfc_1994() -> None:
    assert chap_md5(7, b"secret", b"challenge") == hashlib.md5(b"\x07secretchallenge").digest()


def test_chap_peer_answers_rechallenges_and_ignores_stale_results() -> None:
    role, wire = make(ChapPeer, peer())
    assert isinstance(role, ChapPeer)
    role.start(0.0)
    with pytest.raises(LocalProtocolError):
        role.start(0.0)
    role.receive(Packet(1, 5, b"\x04abcdhub"), 0.0)
    (response,) = wire.sent
    assert response.identifier == 5
    assert response.data == b"\x10" + chap_md5(5, b"s3cret", b"abcd") + b"branch"
    role.receive(Packet(3, 4, b""), 0.0)  # Success for another Identifier
    assert role.state is AuthState.PENDING and role.counters.ignored == 1
    role.receive(Packet(3, 5, b"ok"), 0.0)
    assert role.state is AuthState.SUCCEEDED and role.deadline is None
    role.receive(Packet(1, 6, b"\x02zzhub"), 1.0)  # a rechallenge
    assert wire.sent[-1].identifier == 6 and role.state is AuthState.SUCCEEDED
    role.receive(Packet(4, 6, b"nope"), 1.0)
    assert role.state is AuthState.FAILED and role.reason == "CHAP rejected by peer: 'nope'"


def test_passive_roles_time_out() -> None:
    for cls, cfg in ((PapAuthenticator, authenticator("pap")), (ChapPeer, peer())):
        role, _ = make(cls, cfg)
        role.start(0.0)  # type: ignore[attr-defined]
        assert role.deadline == 30.0  # type: ignore[attr-defined]
        role.handle_timer(30.0)  # type: ignore[attr-defined]
        assert role.state is AuthState.FAILED  # type: ignore[attr-defined]


def test_authenticators_answer_repeats_again() -> None:
    pap, wire = make(PapAuthenticator, authenticator("pap"))
    pap.start(0.0)  # type: ignore[attr-defined]
    request = b"\x06branch\x06s3cret"
    pap.receive(Packet(1, 1, request), 0.0)  # type: ignore[attr-defined]
    pap.receive(Packet(1, 2, request), 1.0)  # type: ignore[attr-defined]
    assert [(p.code, p.identifier) for p in wire.sent] == [(2, 1), (2, 2)]
    chap, wire = make(ChapAuthenticator, authenticator("chap"))
    chap.start(0.0)  # type: ignore[attr-defined]
    challenge = wire.sent[0]
    value = challenge.data[1:17]
    answer = b"\x10" + chap_md5(challenge.identifier, b"s3cret", value) + b"branch"
    chap.receive(Packet(2, challenge.identifier, answer), 0.0)  # type: ignore[attr-defined]
    chap.receive(Packet(2, challenge.identifier, answer), 0.0)  # type: ignore[attr-defined]
    chap.receive(Packet(2, challenge.identifier + 1, answer), 0.0)  # type: ignore[attr-defined]  # stale
    assert [p.code for p in wire.sent] == [1, 3, 3]
    assert chap.state is AuthState.SUCCEEDED  # type: ignore[attr-defined]


def test_pap_peer_gives_up_after_max_configure() -> None:
    role, wire = make(PapPeer, peer())
    role.start(0.0)  # type: ignore[attr-defined]
    now = 0.0
    while role.deadline is not None:  # type: ignore[attr-defined]
        now = role.deadline  # type: ignore[attr-defined]
        role.handle_timer(now)  # type: ignore[attr-defined]
    assert len(wire.sent) == 10 and now == pytest.approx(30.0)
    assert role.reason == "no reply to PAP Authenticate-Request"  # type: ignore[attr-defined]


def test_pap_packets_build_as_rfc_1334() -> None:
    role, wire = make(PapPeer, peer())
    role.start(0.0)  # type: ignore[attr-defined]
    assert wire.sent[0].data == b"\x06branch\x06s3cret"
    assert build_packet(1, wire.sent[0].identifier, wire.sent[0].data) == wire.sent[0].raw
