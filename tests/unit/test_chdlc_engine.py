"""ChdlcEngine end to end: two engines back to back on a fake clock, and one alone."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.chdlc import CHDLC, SLARP
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from firmware_emu.chdlc import (
    ChannelMode,
    ChannelStatusChanged,
    ChdlcConfig,
    ChdlcEngine,
    ChdlcEvent,
    Delivery,
    LinkDown,
    LinkState,
    LinkUp,
    LocalAddressAssigned,
    PeerAddressLearned,
    Proto,
    ProtocolErrorSeen,
)
from firmware_emu.chdlc.codec import AddressMessage, Keepalive, SlarpCode, slarp_frame
from firmware_emu.chdlc.keepalive import TRANSITIONS, KeepaliveMachine, LinkInput
from firmware_emu.errors import LocalProtocolError

IPV4 = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"hello")
IPV6 = bytes(IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=2) / b"hello")
ETHER = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / b"bridged")


def engine(seed: int = 1, now: float = 0.0, **kw: Any) -> ChdlcEngine:
    return ChdlcEngine(ChdlcConfig(**kw), now, rng=random.Random(seed))


def drain(eng: ChdlcEngine) -> list[ChdlcEvent]:
    out = []
    while (ev := eng.next_event()) is not None:
        out.append(ev)
    return out


def link_events(evs: list[ChdlcEvent]) -> list[ChdlcEvent]:
    return [e for e in evs if isinstance(e, LinkUp | LinkDown | ChannelStatusChanged)]


class BackToBack:
    """Two engines on a perfect wire, a fake clock stepped to the earliest deadline.

    Each direction can be cut (``drop_to_a``/``drop_to_b``), and side A can be looped
    (what A sends comes back to A, and B hears nothing).
    """

    def __init__(self, a: ChdlcConfig, b: ChdlcConfig, now: float = 0.0) -> None:
        self.now = now
        self.a = ChdlcEngine(a, now, rng=random.Random(1))
        self.b = ChdlcEngine(b, now, rng=random.Random(2))
        self.drop_to_a = False
        self.drop_to_b = False
        self.loop_a = False
        self.events: dict[str, list[ChdlcEvent]] = {"a": [], "b": []}
        self.deliveries: dict[str, list[Delivery]] = {"a": [], "b": []}

    def start(self, a: bool = True, b: bool = True) -> None:
        if a:
            self.a.start(self.now)
        if b:
            self.b.start(self.now)
        self.pump()

    def route(self, src: ChdlcEngine) -> str | None:
        """Where a frame from ``src`` goes: "a", "b", or nowhere."""
        if self.loop_a:
            return "a" if src is self.a else None
        if src is self.a:
            return None if self.drop_to_b else "b"
        return None if self.drop_to_a else "a"

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for src in (self.a, self.b):
                for frame in src.frames_to_send():
                    moved = True
                    name = self.route(src)
                    if name is None:
                        continue
                    delivery = (self.a if name == "a" else self.b).receive_frame(frame, self.now)
                    if delivery is not None:
                        self.deliveries[name].append(delivery)
        for name, eng in (("a", self.a), ("b", self.b)):
            self.events[name] += drain(eng)

    def next_deadline(self) -> float | None:
        timers = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
        return min(timers) if timers else None

    def step(self) -> None:
        deadline = self.next_deadline()
        assert deadline is not None
        assert deadline >= self.now, "a deadline in the past would spin the loop"
        self.now = deadline
        self.a.handle_timer(self.now)
        self.b.handle_timer(self.now)
        self.pump()

    def run_until(self, t: float) -> None:
        while (deadline := self.next_deadline()) is not None and deadline <= t:
            self.step()
        self.now = t

    def take(self, name: str) -> list[ChdlcEvent]:
        evs, self.events[name] = self.events[name], []
        return evs

    def send(self, src: ChdlcEngine, payload: bytes, proto: Proto) -> Delivery | None:
        dst = self.b if src is self.a else self.a
        return dst.receive_frame(src.encode(0, payload, proto), self.now)


def pair(**kw: Any) -> BackToBack:
    return BackToBack(ChdlcConfig(**kw), ChdlcConfig(**kw))


UP = [LinkUp(), ChannelStatusChanged(0, "up", True)]


# ------------------------------------------------------------------ bring-up


def test_link_comes_up_after_one_interval() -> None:
    b2b = pair()
    b2b.start()
    assert not b2b.a.link_up and not b2b.b.link_up and not b2b.a.channel_usable(0)
    assert b2b.a.get_timer() == 10.0
    b2b.run_until(10.0)
    assert b2b.a.link_up and b2b.b.link_up
    assert b2b.a.channel_usable(0) and not b2b.a.channel_usable(1)
    assert link_events(b2b.take("a")) == UP
    assert link_events(b2b.take("b")) == UP
    st_a = b2b.a.status()
    assert st_a["keepalive"]["my_seq"] == 2 and st_a["keepalive"]["your_seq"] == 2
    assert b2b.a.keepalive_counters.keepalives_missed == 0


def test_staggered_start() -> None:
    b2b = pair()
    b2b.start(b=False)
    b2b.run_until(3.0)
    b2b.b.start(b2b.now)
    b2b.pump()
    b2b.run_until(10.0)  # A's keepalive 2 acknowledges B's 1
    assert b2b.b.link_up and not b2b.a.link_up
    b2b.run_until(13.0)  # B's keepalive 2 acknowledges A's 2
    assert b2b.a.link_up


def test_linux_peer_brings_us_up() -> None:
    eng = engine()
    eng.start(0.0)
    (ours,) = eng.frames_to_send()
    assert ours[:4] == bytes.fromhex("8f008035") and ours[8:16] == bytes.fromhex("0000000100000000")
    # hdlc_cisco.c's reply keepalive: par1 = its ++txseq, par2 = our seq it received.
    eng.receive_frame(bytes.fromhex("8f008035000000020000000700000001ffff00001000"), 1.0)
    assert eng.link_up
    eng.handle_timer(10.0)
    (nxt,) = eng.frames_to_send()
    assert nxt[8:16] == bytes.fromhex("0000000200000007")  # we acknowledge its 7


def test_keepalive_zero_is_up_at_start() -> None:
    eng = engine(keepalive=0)
    eng.start(0.0)
    assert eng.link_up
    assert link_events(drain(eng)) == UP
    assert eng.frames_to_send() == []
    assert eng.get_timer() is None
    eng.stop(1.0)
    assert link_events(drain(eng)) == [LinkDown("stopped"), ChannelStatusChanged(0, "down", False)]


def test_keepalive_zero_against_keepalive_peer() -> None:
    b2b = BackToBack(ChdlcConfig(keepalive=0), ChdlcConfig(keepalive=5))
    b2b.start()
    b2b.run_until(5.0)
    # A echoes B's sequence in nothing (it sends no keepalives), so B never comes up: as on IOS.
    assert b2b.a.link_up and not b2b.b.link_up
    assert b2b.a.status()["keepalive"]["your_seq"] == 2


# ------------------------------------------------------------------ data


@pytest.mark.parametrize(
    ("mode", "payload", "proto"),
    [("ip", IPV4, Proto.IPV4), ("ip", IPV6, Proto.IPV6), ("bridge", ETHER, Proto.ETHER)],
)
def test_data_round_trip(mode: str, payload: bytes, proto: Proto) -> None:
    b2b = pair(mode=ChannelMode(mode))
    b2b.start()
    b2b.run_until(10.0)
    assert b2b.send(b2b.a, payload, proto) == Delivery(0, proto, payload)
    assert b2b.send(b2b.b, payload, proto) == Delivery(0, proto, payload)
    assert b2b.a.counters.tx_frames == 1 and b2b.a.counters.rx_frames == 1
    assert b2b.a.counters.rx_bytes == len(payload)


def test_encoded_data_parses_in_scapy() -> None:
    eng = engine()
    frame = eng.encode(0, IPV4, Proto.IPV4)
    pkt = CHDLC(frame)
    assert pkt.address == 0x0F and pkt.proto == 0x0800 and bytes(pkt[IP]) == IPV4
    frame6 = eng.encode(0, IPV6, Proto.IPV6)
    assert bytes(CHDLC(frame6)[IPv6]) == IPV6
    assert CHDLC(eng.encode(0, ETHER, Proto.ETHER)).proto == 0x6558


def test_scapy_frames_delivered() -> None:
    b2b = pair()
    b2b.start()
    b2b.run_until(10.0)
    frame = bytes(CHDLC() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"hello")
    assert b2b.a.receive_frame(frame, b2b.now) == Delivery(0, Proto.IPV4, IPV4)
    # A broadcast-addressed data frame is accepted as well.
    assert b2b.a.receive_frame(b"\x8f" + frame[1:], b2b.now) == Delivery(0, Proto.IPV4, IPV4)


def test_mode_filters_protocols() -> None:
    b2b = BackToBack(ChdlcConfig(mode=ChannelMode.IP), ChdlcConfig(mode=ChannelMode.BRIDGE))
    b2b.start()
    b2b.run_until(10.0)
    assert b2b.send(b2b.b, ETHER, Proto.ETHER) is None  # bridged Ethernet into a routed line
    assert b2b.send(b2b.a, IPV4, Proto.IPV4) is None  # IP into a bridged line
    assert b2b.a.counters.unknown_protocol == 1 and b2b.b.counters.unknown_protocol == 1
    assert any(isinstance(e, ProtocolErrorSeen) and e.counter == "unknown_protocol" for e in drain(b2b.a))


def test_raw_mode() -> None:
    b2b = pair(mode=ChannelMode.RAW)
    b2b.start()
    b2b.run_until(10.0)
    raw = b"\x08\x00" + IPV4
    assert b2b.a.encode(0, raw, Proto.RAW) == b"\x0f\x00" + raw
    assert b2b.send(b2b.a, raw, Proto.RAW) == Delivery(0, Proto.RAW, raw)
    cdp = b"\x20\x00" + b"cdp"
    assert b2b.send(b2b.a, cdp, Proto.RAW) == Delivery(0, Proto.RAW, cdp)
    assert b2b.b.link_up  # SLARP still goes to the engine, not the driver


def test_cdp_ignored_quietly() -> None:
    b2b = pair()
    b2b.start()
    b2b.run_until(10.0)
    b2b.take("a")
    assert b2b.a.receive_frame(b"\x8f\x00\x20\x00" + b"\x02\xb4" + bytes(20), b2b.now) is None
    assert b2b.a.counters.ignored == 1
    assert drain(b2b.a) == []


def test_data_dropped_while_down() -> None:
    b2b = pair()
    b2b.start()
    assert b2b.send(b2b.a, IPV4, Proto.IPV4) is None
    assert b2b.b.counters.link_not_up == 1


# ------------------------------------------------------------------ keepalive failure


def test_missed_keepalives_take_link_down_and_back_up() -> None:
    b2b = pair(keepalive=10, error_margin=3)
    b2b.start()
    b2b.run_until(10.0)
    b2b.take("a")
    b2b.drop_to_a = True
    # B's last keepalive reached A just after A's tick at t=10, so the interval 10..20 was
    # heard; 20..30 and 30..40 are misses; the third, judged at t=50, takes the line down.
    b2b.run_until(40.0)
    assert b2b.a.link_up
    assert b2b.a.status()["keepalive"]["misses_in_a_row"] == 2
    b2b.run_until(50.0)
    assert not b2b.a.link_up
    evs = link_events(b2b.take("a"))
    assert evs == [
        LinkDown("3 keepalive intervals without an acknowledgement"),
        ChannelStatusChanged(0, "down", False),
    ]
    assert b2b.a.keepalive_counters.keepalives_missed == 3
    assert b2b.a.keepalive_counters.link_down_events == 1
    # B still hears A, and A still hears nothing: B stays up (A's keepalives acknowledge it).
    assert b2b.b.link_up
    b2b.drop_to_a = False
    b2b.run_until(60.0)
    assert b2b.a.link_up
    assert link_events(b2b.take("a")) == UP


def test_one_way_line_takes_the_far_side_down() -> None:
    """A hears B but B no longer hears A: B's keepalives stop acknowledging A."""
    b2b = pair(keepalive=10, error_margin=3)
    b2b.start()
    b2b.run_until(10.0)
    b2b.drop_to_b = True
    b2b.run_until(60.0)
    assert not b2b.b.link_up and not b2b.a.link_up
    assert b2b.a.keepalive_counters.sequence_errors > 0


def test_peer_silent_from_the_start() -> None:
    eng = engine()
    eng.start(0.0)
    for t in range(10, 101, 10):
        eng.handle_timer(float(t))
    assert eng.link_state is LinkState.DOWN
    assert eng.keepalive_counters.keepalives_sent == 11
    assert eng.keepalive_counters.keepalives_missed == 0  # a down line misses nothing
    assert len(eng.frames_to_send()) == 11


def test_timer_keeps_its_grid_and_catches_up() -> None:
    eng = engine()
    eng.start(0.0)
    eng.handle_timer(10.5)  # a little late: stay on the 10 s grid
    assert eng.get_timer() == 20.0
    eng.handle_timer(55.0)  # a whole interval behind: re-anchor, never in the past
    assert eng.get_timer() == 65.0
    eng.handle_timer(60.0)  # early: nothing happens
    assert eng.keepalive_counters.keepalives_sent == 3


# ------------------------------------------------------------------ loops


def test_looped_line_detected_alone() -> None:
    eng = engine()
    eng.start(0.0)
    for frame in eng.frames_to_send():
        eng.receive_frame(frame, 0.0)
    assert eng.link_state is LinkState.LOOPED and not eng.link_up
    errs = [e for e in drain(eng) if isinstance(e, ProtocolErrorSeen)]
    assert [e.counter for e in errs] == ["loop_detections"]
    assert eng.keepalive_counters.loop_detections == 1
    assert eng.status()["keepalive"]["your_seq"] == 0  # never learn from our own frames
    # Data sent into the loop comes back and is not delivered.
    assert eng.receive_frame(eng.encode(0, IPV4, Proto.IPV4), 0.0) is None
    assert eng.counters.link_not_up == 1


def test_loop_after_up_then_cleared() -> None:
    b2b = pair(error_margin=3)
    b2b.start()
    b2b.run_until(10.0)
    b2b.take("a")
    b2b.loop_a = True
    b2b.run_until(20.0)
    assert b2b.a.link_state is LinkState.LOOPED
    evs = b2b.take("a")
    assert link_events(evs) == [LinkDown("looped"), ChannelStatusChanged(0, "down", False)]
    assert [e.counter for e in evs if isinstance(e, ProtocolErrorSeen)] == ["loop_detections"]
    b2b.run_until(50.0)  # still looped: no new detection, no flapping
    assert b2b.a.link_state is LinkState.LOOPED
    assert b2b.a.keepalive_counters.loop_detections == 1
    assert b2b.a.keepalive_counters.looped_keepalives == 4
    assert link_events(b2b.take("a")) == []
    b2b.loop_a = False  # the real peer is back
    b2b.run_until(70.0)
    assert b2b.a.link_up and b2b.b.link_up
    assert link_events(b2b.take("a")) == UP


def test_loop_removed_onto_silence_goes_down() -> None:
    eng = engine(error_margin=2)
    eng.start(0.0)
    for frame in eng.frames_to_send():
        eng.receive_frame(frame, 0.0)
    assert eng.link_state is LinkState.LOOPED
    eng.handle_timer(10.0)  # interval 0..10 had a looped keepalive
    eng.handle_timer(20.0)
    assert eng.link_state is LinkState.LOOPED
    eng.handle_timer(30.0)
    assert eng.link_state is LinkState.DOWN


def test_lock_step_peers_are_not_a_loop() -> None:
    """Two ends started at the same instant send the same sequence numbers; only the nonce differs."""
    b2b = pair()
    b2b.start()
    b2b.run_until(100.0)
    assert b2b.a.keepalive_counters.loop_detections == 0
    assert b2b.a.status()["keepalive"]["my_seq"] == b2b.b.status()["keepalive"]["my_seq"]


# ------------------------------------------------------------------ SLARP


def test_slarp_address_learning() -> None:
    b2b = BackToBack(ChdlcConfig(address="10.1.1.1", prefix=30), ChdlcConfig(learn_address=True))
    b2b.start()
    evs = b2b.take("b")
    assert PeerAddressLearned(0, "10.1.1.1") in evs
    assert LocalAddressAssigned(0, "10.1.1.2", 30) in evs
    assert b2b.b.address == ("10.1.1.2", 30) and b2b.b.peer_address == "10.1.1.1"
    assert b2b.a.slarp_counters.replies_sent == 1 and b2b.b.slarp_counters.requests_sent == 1
    assert b2b.b.get_timer() == 10.0  # only the keepalive: no more requests
    st_b = b2b.b.status()["slarp"]
    assert st_b["address"] == "10.1.1.2" and st_b["prefix"] == 30 and st_b["requesting"] is False


def test_slarp_learning_flips_to_host_one() -> None:
    b2b = BackToBack(ChdlcConfig(address="10.1.1.6", prefix=30), ChdlcConfig(learn_address=True))
    b2b.start()
    assert b2b.b.address == ("10.1.1.5", 30)


def test_slarp_request_retried_until_answered() -> None:
    b2b = BackToBack(ChdlcConfig(address="10.1.1.1"), ChdlcConfig(learn_address=True))
    b2b.start(a=False)  # A not running: the request is lost
    b2b.run_until(25.0)
    assert b2b.b.slarp_counters.requests_sent == 3  # t=0, 10, 20
    b2b.a.start(b2b.now)
    b2b.run_until(30.0)
    assert b2b.b.address == ("10.1.1.2", 30)
    b2b.run_until(60.0)
    assert b2b.b.slarp_counters.requests_sent == 4


def test_slarp_retry_without_keepalives() -> None:
    eng = engine(keepalive=0, learn_address=True)
    eng.start(0.0)
    assert eng.get_timer() == 10.0
    eng.handle_timer(10.0)
    assert len(eng.frames_to_send()) == 2


def test_slarp_request_unanswerable_without_address() -> None:
    eng = engine()
    eng.start(0.0)
    eng.frames_to_send()
    eng.receive_frame(slarp_frame(AddressMessage(SlarpCode.REQUEST, "0.0.0.0", "0.0.0.0")), 0.0)
    assert eng.frames_to_send() == []
    assert eng.slarp_counters.unanswered_requests == 1


def test_slarp_reply_mask_from_prefix() -> None:
    eng = engine(address="192.168.5.1", prefix=24)
    eng.start(0.0)
    eng.frames_to_send()
    eng.receive_frame(bytes(CHDLC(address=0x8F, proto=0x8035) / SLARP(type=0)), 0.0)  # scapy's request
    (reply,) = eng.frames_to_send()
    s = CHDLC(reply)[SLARP]
    assert (s.type, s.address, s.mask) == (1, "192.168.5.1", "255.255.255.0")


def test_slarp_unexpected_and_unusable_replies() -> None:
    eng = engine(address="10.0.0.1")
    eng.start(0.0)
    eng.receive_frame(slarp_frame(AddressMessage(SlarpCode.REPLY, "10.0.0.2", "255.255.255.252")), 0.0)
    assert eng.slarp_counters.unexpected_replies == 1 and eng.peer_address is None
    learner = engine(learn_address=True)
    learner.start(0.0)
    learner.receive_frame(slarp_frame(AddressMessage(SlarpCode.REPLY, "0.0.0.0", "255.255.255.255")), 0.0)
    assert learner.slarp_counters.unusable_replies == 1 and learner.address is None
    assert learner.get_timer() == 10.0  # still asking
    learner.receive_frame(slarp_frame(AddressMessage(SlarpCode.REPLY, "10.0.0.1", "255.255.255.252")), 1.0)
    assert learner.address == ("10.0.0.2", 30)
    drain(learner)
    # Our own address coming back in a reply is our own request answered by ourselves: ignored.
    learner.receive_frame(slarp_frame(AddressMessage(SlarpCode.REPLY, "10.0.0.2", "255.255.255.252")), 2.0)
    assert learner.address == ("10.0.0.2", 30) and learner.slarp_counters.unexpected_replies == 1
    assert [e.counter for e in drain(learner) if isinstance(e, ProtocolErrorSeen)] == ["unexpected_replies"]


def test_looped_learner_does_not_learn_itself() -> None:
    eng = engine(learn_address=True)
    eng.start(0.0)
    for _ in range(3):
        for frame in eng.frames_to_send():
            eng.receive_frame(frame, eng.get_timer() or 0.0)
        eng.handle_timer(eng.get_timer() or 0.0)
    assert eng.address is None
    assert not [e for e in drain(eng) if isinstance(e, LocalAddressAssigned | PeerAddressLearned)]


def test_stop_forgets_learned_address_and_restart_relearns() -> None:
    b2b = BackToBack(ChdlcConfig(address="10.1.1.1"), ChdlcConfig(learn_address=True))
    b2b.start()
    b2b.run_until(10.0)
    b2b.b.stop(b2b.now)
    b2b.pump()
    assert b2b.b.address is None and b2b.b.get_timer() is None
    assert link_events(b2b.take("b"))[-2:] == [LinkDown("stopped"), ChannelStatusChanged(0, "down", False)]
    b2b.b.start(b2b.now)
    b2b.pump()
    assert LocalAddressAssigned(0, "10.1.1.2", 30) in b2b.take("b")


# ------------------------------------------------------------------ API misuse and config


def test_api_misuse() -> None:
    eng = engine()
    with pytest.raises(LocalProtocolError):
        eng.encode(1, IPV4, Proto.IPV4)
    with pytest.raises(LocalProtocolError):
        eng.encode(0, IPV4, "ipv4")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        eng.encode(0, b"\x08", Proto.RAW)
    eng.start(0.0)
    with pytest.raises(LocalProtocolError):
        eng.start(1.0)
    eng.stop(2.0)
    eng.stop(3.0)  # stopping a stopped port is harmless
    assert eng.frames_to_send() == []
    eng.start(4.0)  # and it restarts from sequence 1
    (frame,) = eng.frames_to_send()
    assert frame[8:12] == b"\x00\x00\x00\x01"


def test_stopped_port_drops_everything() -> None:
    eng = engine()
    assert eng.receive_frame(slarp_frame(Keepalive(1, 0)), 0.0) is None
    assert eng.receive_frame(eng.encode(0, IPV4, Proto.IPV4), 0.0) is None
    assert eng.counters.link_not_up == 2
    assert eng.frames_to_send() == [] and eng.get_timer() is None


@pytest.mark.parametrize(
    "kw",
    [
        {"keepalive": -1},
        {"keepalive": float("nan")},
        {"error_margin": 0},
        {"prefix": 33},
        {"address": "10.0.0.300"},
        {"address": "fd00::1"},
        {"address": "10.0.0.1", "learn_address": True},
        {"learn_address": True, "mode": ChannelMode.BRIDGE},
        {"mode": "x25"},
    ],
)
def test_bad_config(kw: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError):
        ChdlcEngine(ChdlcConfig(**kw), 0.0)


def test_status_is_json() -> None:
    b2b = BackToBack(ChdlcConfig(address="10.1.1.1"), ChdlcConfig(learn_address=True))
    b2b.start()
    b2b.run_until(10.0)
    st = json.loads(json.dumps(b2b.b.status()))
    assert st["link"] == "up" and st["link_up"] is True and st["mode"] == "ip"
    ka = st["keepalive"]
    for key in ("my_seq", "your_seq", "keepalives_sent", "keepalives_received", "keepalives_missed"):
        assert key in ka
    assert ka["loop_detections"] == 0
    for key in ("requests_sent", "requests_received", "replies_sent", "replies_received"):
        assert key in st["slarp"]
    assert st["slarp"]["peer_address"] == "10.1.1.1"
    assert set(st["counters"]) >= {"malformed", "unknown_protocol", "slarp_errors", "link_not_up"}


def test_transition_table_is_closed() -> None:
    """Every state is reachable and every state can be stopped."""
    states = {s for s, _ in TRANSITIONS} | set(TRANSITIONS.values())
    assert states == set(LinkState)
    for s in LinkState:
        assert TRANSITIONS[(s, LinkInput.STOP)] is LinkState.STOPPED


def test_machine_rejects_moves_outside_the_table() -> None:
    m = KeepaliveMachine(10.0, 3, random.Random(0))
    m.start(0.0)
    with pytest.raises(LocalProtocolError, match="start not allowed when the line is down"):
        m.start(0.0)


# ------------------------------------------------------------------ malformed input


def _accounted(eng: ChdlcEngine) -> int:
    c, k, s = eng.counters, eng.keepalive_counters, eng.slarp_counters
    return (
        c.rx_frames
        + c.malformed
        + c.unknown_protocol
        + c.slarp_errors
        + c.link_not_up
        + c.ignored
        + k.keepalives_received
        + k.looped_keepalives
        + s.requests_received
        + s.replies_received
    )


_near_valid = st.tuples(
    st.sampled_from([0x0F, 0x8F, 0x00, 0xFF, 0x03]),
    st.sampled_from([0x00, 0x03]),
    st.sampled_from([b"\x08\x00", b"\x86\xdd", b"\x65\x58", b"\x80\x35", b"\x20\x00", b"\x12\x34"]),
    st.one_of(
        st.binary(max_size=24),
        st.tuples(st.integers(0, 4), st.binary(min_size=10, max_size=16)).map(
            lambda t: t[0].to_bytes(4, "big") + t[1]
        ),
    ),
).map(lambda t: bytes((t[0], t[1])) + t[2] + t[3])


@settings(max_examples=400, deadline=None)
@given(
    frames=st.lists(st.one_of(st.binary(max_size=30), _near_valid), max_size=20),
    mode=st.sampled_from([m for m in ChannelMode if m is not ChannelMode.API]),  # API is the driver's
    started=st.booleans(),
)
def test_malformed_input_never_raises_and_is_counted(
    frames: list[bytes], mode: ChannelMode, started: bool
) -> None:
    eng = ChdlcEngine(ChdlcConfig(mode=mode, address="10.0.0.1"), 0.0, rng=random.Random(0))
    if started:
        eng.start(0.0)
    now = 0.0
    for i, frame in enumerate(frames):
        now = i * 0.7
        eng.receive_frame(frame, now)
        deadline = eng.get_timer()
        if deadline is not None and deadline <= now:
            eng.handle_timer(now)
        assert deadline is None or eng.get_timer() is None or eng.get_timer() >= now  # type: ignore[operator]
    assert _accounted(eng) == len(frames)
    json.dumps(eng.status())
    drain(eng)


@given(st.binary(min_size=4, max_size=30))
def test_truncations_of_valid_frames(extra: bytes) -> None:
    eng = engine(address="10.0.0.1")
    eng.start(0.0)
    good = [
        slarp_frame(Keepalive(1, 1, unique=5)),
        slarp_frame(AddressMessage(SlarpCode.REQUEST, "0.0.0.0", "0.0.0.0")),
        eng.encode(0, IPV4, Proto.IPV4),
    ]
    fed = 0
    for frame in good:
        for cut in range(len(frame)):
            eng.receive_frame(frame[:cut], 1.0)
            fed += 1
        eng.receive_frame(frame + extra, 1.0)
        fed += 1
    assert _accounted(eng) == fed


def test_satisfies_the_adapter_protocol() -> None:
    from firmware_emu.adapter.firmware import ProtocolEngine

    eng: ProtocolEngine = engine()  # a static check, and a runtime one below
    for name in ProtocolEngine.__dict__:
        if not name.startswith("_"):
            assert hasattr(eng, name), name
