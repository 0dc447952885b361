"""PppEngine end to end: two engines back to back on a fake clock.

``Link`` is the harness the other test_ppp_* files share.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import (
    ChannelStatusChanged,
    LinkDown,
    LinkUp,
    LocalAddressAssigned,
    PeerAddressLearned,
    ProtocolErrorSeen,
)
from firmware_emu.hdlc.async_framing import AsyncDeframer, encode_async
from firmware_emu.hdlc.fcs import append_fcs16
from firmware_emu.payload import Delivery, Proto
from firmware_emu.ppp import PppConfig, PppEngine
from firmware_emu.ppp.fsm import State
from firmware_emu.ppp.packet import LCP, Code, build_packet, frame_header, parse_packet, split_frame

IPV4_PACKET = bytes.fromhex("4500001c000100004011f9c10a0000010a000002") + b"\x00\x01\x00\x02\x00\x08\x00\x00"
IPV6_PACKET = (
    bytes.fromhex("6000000000083a40") + bytes(15) + b"\x01" + bytes(15) + b"\x02" + b"\x80\0\0\0\0\0\0\0"
)


def events_of(engine: PppEngine) -> list[object]:
    out: list[object] = []
    while (ev := engine.next_event()) is not None:
        out.append(ev)
    return out


class Link:
    """Two engines on a perfect wire; the fake clock steps to the earliest deadline."""

    def __init__(self, a: PppConfig | None = None, b: PppConfig | None = None, now: float = 0.0) -> None:
        self.now = now
        self.a = PppEngine(a or PppConfig(), now, rng=random.Random(1))
        self.b = PppEngine(b or PppConfig(), now, rng=random.Random(2))
        self.drop_to_a = False
        self.drop_to_b = False
        self.wire: list[tuple[str, bytes]] = []  # ("a>b" | "b>a", frame), everything sent
        self.events: dict[str, list[object]] = {"a": [], "b": []}
        self.deliveries: dict[str, list[Delivery]] = {"a": [], "b": []}
        self.tap: Callable[[str, bytes], bytes | None] | None = None  # may rewrite or drop frames

    def start(self, *which: str) -> None:
        for name in which or ("a", "b"):
            self.engine(name).start(self.now)
        self.pump()

    def engine(self, name: str) -> PppEngine:
        return self.a if name == "a" else self.b

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for src, dst, name, direction, drop in (
                (self.a, self.b, "b", "a>b", self.drop_to_b),
                (self.b, self.a, "a", "b>a", self.drop_to_a),
            ):
                for frame in src.frames_to_send():
                    moved = True
                    self.wire.append((direction, frame))
                    if self.tap is not None:
                        frame = self.tap(direction, frame)  # type: ignore[assignment]
                    if drop or frame is None:
                        continue
                    delivery = dst.receive_frame(frame, self.now)
                    if delivery is not None:
                        self.deliveries[name].append(delivery)
            for name in ("a", "b"):
                self.events[name].extend(events_of(self.engine(name)))

    def run(self, seconds: float) -> None:
        """Advance the clock by ``seconds``, firing every deadline on the way."""
        end = self.now + seconds
        while True:
            timers = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None and t <= end]
            if not timers:
                break
            self.now = max(self.now, min(timers))
            for engine in (self.a, self.b):
                timer = engine.get_timer()
                if timer is not None and timer <= self.now:
                    engine.handle_timer(self.now)
            self.pump()
        self.now = end

    def lcp_codes(self, direction: str) -> list[int]:
        return [
            parse_packet(f[4:]).code for d, f in self.wire if d == direction and f[:4] == frame_header(LCP)
        ]


def up(a: PppConfig | None = None, b: PppConfig | None = None) -> Link:
    link = Link(a, b)
    link.start()
    assert link.a.link_up and link.b.link_up
    return link


ADDRESSED = (
    PppConfig(local_address="10.0.0.1", peer_address="10.0.0.2"),
    PppConfig(local_address="10.0.0.2", peer_address="10.0.0.1"),
)


# ------------------------------------------------------------------ opening


def test_lcp_and_ipcp_open_with_events_in_order() -> None:
    link = up(*ADDRESSED)
    for name, peer in (("a", "10.0.0.2"), ("b", "10.0.0.1")):
        engine = link.engine(name)
        assert engine.status()["lcp"]["state"] == "Opened"
        assert engine.status()["ipcp"]["state"] == "Opened"
        assert engine.channel_usable(0) and not engine.channel_usable(1)
        assert link.events[name] == [
            LinkUp(),
            PeerAddressLearned(0, peer),
            ChannelStatusChanged(0, "opened", True),
        ]
    json.dumps(link.a.status())  # JSON-able


def test_crossed_configure_requests_converge_with_one_request_each() -> None:
    link = up()
    for direction in ("a>b", "b>a"):
        # Both sent at once, each acks the other's: RCR+ in Req-Sent, then RCA in Ack-Sent.
        assert link.lcp_codes(direction) == [Code.CONFIGURE_REQUEST, Code.CONFIGURE_ACK]


def test_late_peer_is_answered_from_stopped() -> None:
    link = Link()
    link.start("a")
    link.drop_to_b = True
    link.run(31.0)  # 10 Configure-Requests, 3 s apart, unanswered
    assert link.a.status()["lcp"]["state"] == "Stopped"
    assert link.lcp_codes("a>b") == [Code.CONFIGURE_REQUEST] * 10
    link.drop_to_b = False
    link.start("b")
    assert link.a.link_up and link.b.link_up


def test_holdoff_tries_again_forever() -> None:
    link = Link(PppConfig(holdoff=5.0))
    link.start("a")
    link.drop_to_b = True
    link.run(27.0 + 3.0 + 5.0 + 0.5)  # the first round, its timeout, holdoff, and a new request
    assert link.lcp_codes("a>b") == [Code.CONFIGURE_REQUEST] * 11
    assert link.a.status()["lcp"]["state"] == "Req-Sent"


def test_data_round_trip_both_families() -> None:
    cfg = PppConfig(ipv6=True)
    link = up(PppConfig(local_address="10.0.0.1", peer_address="10.0.0.2", ipv6=True), cfg)
    frame = link.a.encode(0, IPV4_PACKET, Proto.IPV4)
    assert frame == b"\xff\x03\x00\x21" + IPV4_PACKET
    assert link.b.receive_frame(frame, 0.0) == Delivery(0, Proto.IPV4, IPV4_PACKET)
    frame6 = link.b.encode(0, IPV6_PACKET, Proto.IPV6)
    assert frame6[:4] == b"\xff\x03\x00\x57"
    assert link.a.receive_frame(frame6, 0.0) == Delivery(0, Proto.IPV6, IPV6_PACKET)
    assert link.b.counters.rx_frames == 1 and link.b.counters.rx_bytes == len(IPV4_PACKET)
    assert link.a.counters.tx_frames == 1


def test_compression_is_used_only_as_negotiated() -> None:
    link = up(PppConfig(pfc=True, acfc=True), PppConfig())
    # a asked for compression: b sends compressed to a, a sends in full to b.
    from_b = link.b.encode(0, IPV4_PACKET, Proto.IPV4)
    from_a = link.a.encode(0, IPV4_PACKET, Proto.IPV4)
    assert from_b == b"\x21" + IPV4_PACKET
    assert from_a == b"\xff\x03\x00\x21" + IPV4_PACKET
    assert link.a.receive_frame(from_b, 0.0) == Delivery(0, Proto.IPV4, IPV4_PACKET)
    # Every accepted form of the header decodes the same (the forms are unambiguous).
    for head in (b"\xff\x03\x00\x21", b"\xff\x03\x21", b"\x00\x21", b"\x21"):
        assert link.b.receive_frame(head + IPV4_PACKET, 0.0) == Delivery(0, Proto.IPV4, IPV4_PACKET)
    # LCP never goes compressed.
    link.a.stop(0.0)
    assert link.a.frames_to_send()[0][:4] == b"\xff\x03\xc0\x21"


def test_data_before_the_ncp_is_opened_is_dropped() -> None:
    link = Link(*ADDRESSED)
    link.a.start(0.0)
    assert link.a.receive_frame(b"\xff\x03\x00\x21" + IPV4_PACKET, 0.0) is None
    assert link.a.counters.not_opened == 1


def test_encode_misuse_is_a_local_error() -> None:
    link = up()
    with pytest.raises(LocalProtocolError):
        link.a.encode(1, b"x", Proto.IPV4)
    with pytest.raises(LocalProtocolError):
        link.a.encode(0, b"x", Proto.ETHER)
    with pytest.raises(LocalProtocolError):
        link.a.start(0.0)
    assert link.a.encode(0, b"\x00\x21" + IPV4_PACKET, Proto.RAW) == b"\xff\x03\x00\x21" + IPV4_PACKET


@pytest.mark.parametrize(
    "bad",
    [
        {"mru": 10},
        {"require": "pap"},  # no secrets
        {"username": "x"},  # no password
        {"local_address": "nope"},
        {"peer_address": "0.0.0.0"},
        {"ipv6_interface_id": 0},
        {"echo_failures": 0},
        {"framing": "bisync"},
    ],
)
def test_bad_config_is_a_local_error(bad: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        PppEngine(PppConfig(**bad), 0.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ negotiation


def test_unacceptable_mru_is_naked_and_converges() -> None:
    link = up(PppConfig(mru=100), PppConfig())
    assert Code.CONFIGURE_NAK in link.lcp_codes("b>a")
    assert link.a.lcp.ours.mru == 128 and link.b.lcp.his.mru == 128
    assert link.a.status()["lcp"]["local"]["mru"] == 128


def test_unknown_option_is_rejected_and_converges() -> None:
    link = Link()
    lcp = link.b.lcp
    original_request, original_reject = lcp.request, lcp.reject_received
    wanted = {"odd": True}

    def request() -> list[tuple[int, bytes]]:
        return [*original_request(), *([(42, b"hi")] if wanted["odd"] else [])]

    def reject_received(options: list[tuple[int, bytes]]) -> None:
        if (42, b"hi") in options:
            wanted["odd"] = False
        original_reject(options)

    lcp.request, lcp.reject_received = request, reject_received  # type: ignore[method-assign]
    link.start()
    assert link.a.link_up and link.b.link_up
    lcp_from_a = [parse_packet(f[4:]) for d, f in link.wire if d == "a>b" and f[:4] == frame_header(LCP)]
    assert [p.data for p in lcp_from_a if p.code == Code.CONFIGURE_REJECT] == [b"\x2a\x04hi"]


def test_wrong_length_known_option_is_rejected() -> None:
    link = Link()
    link.a.start(0.0)
    link.a.frames_to_send()
    bad_mru = build_packet(Code.CONFIGURE_REQUEST, 9, b"\x01\x03\x05")
    link.a.receive_frame(frame_header(LCP) + bad_mru, 0.0)
    (reply,) = link.a.frames_to_send()
    assert parse_packet(reply[4:]) == (Code.CONFIGURE_REJECT, 9, b"\x01\x03\x05", reply[4:])


def test_peer_termination_takes_the_link_down_with_its_reason() -> None:
    link = up(*ADDRESSED)
    link.b.stop(link.now)
    link.pump()
    assert link.events["a"][-2:] == [LinkDown("peer terminated"), ChannelStatusChanged(0, "terminate", False)]
    assert link.events["b"][-2:] == [LinkDown("stopped"), ChannelStatusChanged(0, "dead", False)]
    assert link.b.get_timer() is None
    link.run(5.0)
    assert link.a.status()["lcp"]["state"] == "Stopped"
    link.start("b")  # b comes back: a answers from Stopped
    assert link.a.link_up and link.b.link_up and link.a.channel_usable(0)


def test_protocol_reject_stops_the_ncp_the_peer_lacks() -> None:
    link = up(PppConfig(ipv6=True, local_address="10.0.0.1", peer_address="10.0.0.2"), PppConfig())
    status = link.a.status()
    assert status["ipv6cp"]["state"] == "Stopped" and status["ipcp"]["state"] == "Opened"
    assert link.b.counters.unknown_protocol == 1 and link.a.channel_usable(0)
    assert link.a.lcp.counters.protocol_rejects_received == 1
    # IPv6 data to a peer without IPV6CP is protocol-rejected too.
    link.b.receive_frame(b"\xff\x03\x00\x57" + IPV6_PACKET, 0.0)
    assert parse_packet(link.b.frames_to_send()[0][4:]).code == Code.PROTOCOL_REJECT


def test_ipcp_failure_closes_the_link() -> None:
    link = Link(PppConfig(local_address="10.0.0.1"), PppConfig())

    def no_ipcp_to_b(direction: str, frame: bytes) -> bytes | None:
        return None if direction == "a>b" and frame[2:4] == b"\x80\x21" else frame

    link.tap = no_ipcp_to_b
    link.start()
    assert link.a.link_up
    link.run(31.0)
    assert LinkDown("no network protocols running") in link.events["a"]


# ------------------------------------------------------------------ loops and keepalive


def test_magic_number_detects_a_looped_line() -> None:
    engine = PppEngine(PppConfig(), 0.0, rng=random.Random(7))
    engine.start(0.0)
    seen = []
    for _ in range(50):
        frames = engine.frames_to_send()
        if not frames:
            break
        for frame in frames:
            engine.receive_frame(frame, 0.0)  # the line hands us back what we sent
        seen.extend(events_of(engine))
    assert seen == [LinkDown("looped")]
    assert engine.counters.looped == 1 and engine.status()["looped"] is True
    assert engine.lcp.counters.loops == 5
    assert engine.status()["lcp"]["state"] == "Closed"


def test_echo_keeps_a_healthy_link_up() -> None:
    link = up()
    link.run(95.0)
    assert link.a.link_up and link.b.link_up
    assert link.a.lcp.counters.echo_requests_sent == 9
    assert link.a.lcp.counters.echo_replies_received == 9
    assert link.b.lcp.counters.echo_replies_sent == 9


def test_echo_timeout_takes_the_link_down() -> None:
    link = up(PppConfig(echo_interval=5.0, echo_failures=2), PppConfig(echo_interval=0))
    link.drop_to_a = True
    link.run(14.0)
    assert link.a.link_up
    link.run(2.0)  # requests at 5 and 10 unanswered, declared down at 15
    assert LinkDown("echo timeout") in link.events["a"]
    assert link.a.counters.echo_timeouts == 1
    link.drop_to_a = False
    link.run(10.0)  # it renegotiates at once and comes back
    assert link.a.link_up and link.b.link_up


def test_echo_disabled_when_the_peer_code_rejects_it() -> None:
    link = up(PppConfig(echo_interval=1.0), PppConfig(echo_interval=0))

    def reject_echo(direction: str, frame: bytes) -> bytes | None:
        if direction == "a>b" and frame[:4] == frame_header(LCP) and frame[4] == Code.ECHO_REQUEST:
            link.a.receive_frame(frame_header(LCP) + build_packet(Code.CODE_REJECT, 77, frame[4:]), link.now)
            return None
        return frame

    link.tap = reject_echo
    link.run(10.0)
    assert link.a.link_up and link.a.lcp.counters.echo_requests_sent == 1
    assert link.a.status()["lcp"]["echo"]["enabled"] is False


def test_protocol_errors_are_rate_limited() -> None:
    link = up()
    for i in range(5):
        link.a.receive_frame(b"\xff\x03\x00", i * 0.1)
    errors = [e for e in events_of(link.a) if isinstance(e, ProtocolErrorSeen)]
    assert len(errors) == 1 and link.a.counters.malformed == 5
    link.a.receive_frame(b"\xff\x03\x00", 1.5)
    assert len([e for e in events_of(link.a) if isinstance(e, ProtocolErrorSeen)]) == 1


def test_stop_and_start_again() -> None:
    link = up(*ADDRESSED)
    link.a.stop(1.0)
    link.a.stop(1.0)  # idempotent
    assert link.a.get_timer() is None and not link.a.link_up and link.a.phase == "dead"
    link.pump()  # b gets the Terminate-Request and waits a restart period in Stopping
    link.start("a")
    assert not link.b.link_up
    link.run(6.0)  # a's retransmission finds b in Stopped, which answers it
    assert link.a.link_up and link.b.link_up and link.a.channel_usable(0)
    assert link.a.status()["lcp"]["state"] == State.OPENED.value


def test_address_events_before_carrier() -> None:
    link = up(PppConfig(), PppConfig(local_address="10.9.0.1", peer_address="10.9.0.2"))
    assert link.events["a"] == [
        LinkUp(),
        LocalAddressAssigned(0, "10.9.0.2", 32),
        PeerAddressLearned(0, "10.9.0.1"),
        ChannelStatusChanged(0, "opened", True),
    ]


def test_frame_headers_parse() -> None:
    assert split_frame(b"\xff\x03\xc0\x21\x01") == (0xC021, 4)
    assert split_frame(b"\x21\x45") == (0x21, 1)


def test_async_framing_end_to_end() -> None:
    link = Link(PppConfig(framing="async", accm=0), PppConfig(framing="async", accm=0x000A0000))
    deframers = {"a>b": AsyncDeframer(), "b>a": AsyncDeframer()}
    escaped: list[tuple[str, bytes, int]] = []

    def over_async_line(direction: str, frame: bytes) -> bytes | None:
        sender, receiver = (link.a, link.b) if direction == "a>b" else (link.b, link.a)
        accm = sender.accm_for(frame)
        escaped.append((direction, frame[:4], accm))
        deframer = deframers[direction]
        deframer.accm = receiver.rx_accm
        (out,) = deframer.feed(encode_async(append_fcs16(frame), accm))
        return out

    link.tap = over_async_line
    link.start()
    assert link.a.link_up and link.b.link_up
    assert (link.a.tx_accm, link.a.rx_accm, link.b.tx_accm, link.b.rx_accm) == (0x000A0000, 0, 0, 0x000A0000)
    assert {accm for _, head, accm in escaped if head == frame_header(LCP)} == {0xFFFFFFFF}
    data = b"\x11\x13\x7e" + IPV4_PACKET
    frame = link.a.encode(0, data, Proto.IPV4)
    wire = encode_async(append_fcs16(frame), link.a.accm_for(frame))
    assert b"\x7d\x31\x7d\x33\x7d\x5e" in wire  # b asked for XON/XOFF to be escaped
    deframers["a>b"].accm = link.b.rx_accm
    (received,) = deframers["a>b"].feed(wire)
    assert link.b.receive_frame(received, 0.0) == Delivery(0, Proto.IPV4, data)
