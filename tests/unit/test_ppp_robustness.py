"""Whatever the line delivers, receive_frame never raises: malformed packets are counted and dropped."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_emu.events import ProtocolErrorSeen
from firmware_emu.ppp import PppConfig, PppEngine
from firmware_emu.ppp.packet import CHAP, IPCP, LCP, PAP, build_packet, frame_header
from tests.unit.test_ppp_engine import Link, events_of

SECRETS = (("branch", "s3cret"),)


def authenticating(protocol: str) -> Link:
    """Both ends with LCP Opened and authentication pending (its packets lost), a demanding b."""
    link = Link(
        PppConfig(username="branch", password="s3cret"),
        PppConfig(require=protocol, secrets=SECRETS),  # type: ignore[arg-type]
    )
    link.tap = lambda d, f: None if f[2:4] in (b"\xc0\x23", b"\xc2\x23") else f
    link.start()
    assert link.a.phase == "authenticate" and link.b.phase == "authenticate"
    return link


def opened() -> Link:
    link = Link(PppConfig(local_address="10.0.0.1"), PppConfig(peer_address="10.0.0.1"))
    link.start()
    assert link.a.channel_usable(0)
    return link


def lcp(data: bytes) -> bytes:
    return frame_header(LCP) + data


MALFORMED_LCP = [
    lcp(b""),  # no packet at all
    lcp(b"\x01\x01\x00"),  # short header
    lcp(b"\x01\x01\x00\x02"),  # length below the header
    lcp(b"\x01\x01\x00\x20\x01\x04"),  # length beyond the frame
    lcp(build_packet(1, 1, b"\x01\x01")),  # option length 1
    lcp(build_packet(1, 1, b"\x05\x09\x00\x00")),  # option running past the packet
    lcp(build_packet(1, 1, b"\x05")),  # half an option header
    lcp(build_packet(7, 1)),  # Code-Reject of nothing
    lcp(build_packet(8, 1, b"\x80")),  # Protocol-Reject without a whole protocol
    lcp(build_packet(9, 1, b"\x00\x00")),  # Echo-Request without a Magic-Number
    lcp(build_packet(10, 1, b"\x00")),  # Echo-Reply without a Magic-Number
]
MALFORMED_FRAMES = [
    b"",
    b"\xff",
    b"\xff\x03",
    b"\xff\x03\x00",  # ends inside the protocol field
    b"\x00\x00\x45",  # protocol field whose last octet is even
    frame_header(IPCP) + build_packet(1, 1, b"\x03\x07\x00"),  # IPCP option running out
    frame_header(IPCP) + b"\x01\x01",
]


@pytest.mark.parametrize("frame", MALFORMED_LCP + MALFORMED_FRAMES, ids=lambda f: f.hex() or "empty")
def test_malformed_frames_are_counted(frame: bytes) -> None:
    link = opened()
    before = link.a.counters.malformed
    assert link.a.receive_frame(frame, 5.0) is None
    assert link.a.counters.malformed == before + 1
    assert any(isinstance(e, ProtocolErrorSeen) and e.counter == "malformed" for e in events_of(link.a))
    assert link.a.link_up


def test_malformed_ipcp_nak_is_counted() -> None:
    link = Link(PppConfig(), PppConfig(peer_address="10.0.0.9"))
    link.tap = lambda d, f: None if d == "b>a" and f[2:4] == b"\x80\x21" else f
    link.start()
    request = next(f for d, f in reversed(link.wire) if d == "a>b" and f[2:4] == b"\x80\x21" and f[4] == 1)
    link.a.receive_frame(frame_header(IPCP) + build_packet(3, request[5], b"\x03\x04\x0a\x00"), 1.0)
    assert link.a.counters.malformed == 1


@pytest.mark.parametrize(
    ("protocol", "to", "packet"),
    [
        ("pap", "b", build_packet(1, 1, b"\x09branch")),  # Peer-ID length past the end
        ("pap", "b", build_packet(1, 1, b"\x06branch\x09pw")),  # Password length past the end
        ("pap", "b", build_packet(1, 1)),  # nothing at all
        ("pap", "a", build_packet(2, 0, b"\x20ok")),  # Ack message length past the end
        ("chap", "a", build_packet(1, 1, b"\x20abc")),  # Challenge value past the end
        ("chap", "a", build_packet(1, 1, b"\x00name")),  # empty Challenge value
        ("chap", "b", build_packet(2, 0, b"")),  # Response without a value
    ],
)
def test_malformed_authentication_packets_are_counted(protocol: str, to: str, packet: bytes) -> None:
    link = authenticating(protocol)
    engine = link.engine(to)
    if packet[0] == 2:
        # A PAP Ack or CHAP Response: use the Identifier the role waits on, to get past that check.
        role = engine._auth_roles[0]  # white-box: the outstanding Identifier
        ident = getattr(role, "_challenge_id", role._id)
        packet = packet[:1] + bytes((ident,)) + packet[2:]
    head = frame_header(PAP if protocol == "pap" else CHAP)
    assert engine.receive_frame(head + packet, 1.0) is None
    assert engine.counters.malformed == 1
    assert engine.phase == "authenticate"


STATES = ["fresh", "opened", "pap", "chap"]


def engine_in(state: str) -> PppEngine:
    if state == "fresh":
        engine = PppEngine(PppConfig(ipv6=True), 0.0)
        engine.start(0.0)
        return engine
    link = opened() if state == "opened" else authenticating(state)
    return link.b


HEADERS = [
    b"",
    b"\xff\x03",
    *(frame_header(p) for p in (LCP, PAP, CHAP, IPCP, 0x8057, 0x0021, 0x0057, 0x002B)),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STATES), st.sampled_from(HEADERS), st.binary(max_size=64), st.floats(0, 100))
def test_random_bytes_never_raise(state: str, head: bytes, body: bytes, now: float) -> None:
    engine = engine_in(state)
    engine.receive_frame(head + body, now)
    engine.frames_to_send()
    events_of(engine)
    engine.handle_timer(now + 1000.0)
    json.dumps(engine.status())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=30))
def test_a_stream_of_garbage_leaves_a_working_engine(frames: list[bytes]) -> None:
    link = opened()
    for frame in frames:
        link.a.receive_frame(lcp(frame), link.now)
    link.pump()
    link.run(60.0)  # whatever it did to LCP, the two ends find each other again
    assert link.a.link_up and link.b.link_up
