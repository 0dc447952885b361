"""The X.25 port engine: LAPB + packet layer + IP over X.25 (RFC 1356), two engines back to back."""

from __future__ import annotations

import random

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import ChannelStatusChanged, LinkUp
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.payload import MessageDelivery, Proto, X25Flags
from firmware_emu.x25.config import X25Channel, X25Config, svc_channel
from firmware_emu.x25.engine import X25Engine
from firmware_emu.x25.events import CallCleared, CallConnected, IncomingCall
from firmware_emu.x25.layer import PacketLayerConfig

IP = svc_channel(0)


def _config(
    role: str, address: str, remote: str | None, *, idle: float = 0.0, api: bool = False, **kw
) -> X25Config:
    channels = (X25Channel(IP, remote=remote, idle_timeout=idle),) if remote else ()
    return X25Config(
        lapb=LapbConfig(role=role, t1=0.5),
        packet=PacketLayerConfig(role=role, address=address, window=7, packet_size=128, t21=5, t23=5),
        channels=channels,
        api=api,
        **kw,
    )


class Wire:
    """Two engines on a line; frames can be lost at random."""

    def __init__(self, a: X25Engine, b: X25Engine, loss: float = 0.0, seed: int = 1) -> None:
        self.a, self.b, self.now = a, b, 0.0
        self.loss, self.rng = loss, random.Random(seed)
        self.events: dict[str, list] = {"a": [], "b": []}

    def run(self, seconds: float = 0.0, step: float = 0.05) -> None:
        end = self.now + seconds
        while True:
            self._shuttle()
            if self.now >= end:
                return
            self.now = min(end, self.now + step)
            for engine in (self.a, self.b):
                timer = engine.get_timer()
                if timer is not None and timer <= self.now:
                    engine.handle_timer(self.now)

    def _shuttle(self) -> None:
        moved = True
        while moved:
            moved = False
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                for frame in src.frames_to_send():
                    moved = True
                    if self.rng.random() >= self.loss:
                        dst.receive_frame(frame, self.now)
            for name, engine in (("a", self.a), ("b", self.b)):
                event = engine.next_event()
                while event is not None:
                    self.events[name].append(event)
                    event = engine.next_event()


def _pair(a_cfg: X25Config, b_cfg: X25Config, loss: float = 0.0) -> Wire:
    wire = Wire(X25Engine(a_cfg, 0.0), X25Engine(b_cfg, 0.0), loss)
    wire.a.start(0.0)
    wire.b.start(0.0)
    wire.run(1.0)
    return wire


def _ip(n: int, size: int = 100) -> bytes:
    return bytes([0x45]) + n.to_bytes(4, "big") + bytes(size - 5)


def test_link_comes_up_and_ip_channels_become_usable():
    wire = _pair(_config("dte", "1001", "2002"), _config("dce", "2002", "1001"))
    assert wire.a.link_up and wire.b.link_up
    assert LinkUp() in wire.events["a"]
    assert ChannelStatusChanged(IP, "ready", True) in wire.events["b"]
    assert wire.a.channel_usable(IP)


def test_first_packet_places_the_call_and_waits_for_it():
    wire = _pair(_config("dte", "1001", "2002"), _config("dce", "2002", "1001"))
    for n in range(5):  # queued while the call is being set up: none lost
        assert wire.a.submit(IP, _ip(n, 1400), Proto.IPV4, wire.now)
    wire.run(0.5)
    got = [d.payload for d in wire.b.deliveries]
    assert got == [_ip(n, 1400) for n in range(5)]  # 1400 octets: M-bit sequences of 11 packets
    assert wire.a.counters.ip_calls_placed == 1 and wire.b.counters.ip_calls_accepted == 1
    wire.b.deliveries.clear()
    assert wire.b.submit(IP, _ip(9), Proto.IPV4, wire.now)  # the reply rides the same call
    wire.run(0.2)
    assert [d.payload for d in wire.a.deliveries] == [_ip(9)]
    assert wire.b.counters.ip_calls_placed == 0


def test_idle_call_is_cleared_and_the_next_packet_calls_again():
    wire = _pair(_config("dte", "1001", "2002", idle=2.0), _config("dce", "2002", "1001", idle=0))
    wire.a.submit(IP, _ip(1), Proto.IPV4, wire.now)
    wire.run(1.0)
    assert wire.a.status()["ip_channels"][IP]["connected"]
    wire.run(2.0)
    assert not wire.a.status()["ip_channels"][IP]["connected"]
    assert not wire.b.status()["ip_channels"][IP]["connected"]  # the peer saw the clear
    assert wire.a.counters.ip_idle_clears == 1
    wire.a.submit(IP, _ip(2), Proto.IPV4, wire.now)
    wire.run(0.5)
    assert wire.a.counters.ip_calls_placed == 2
    assert [d.payload for d in wire.b.deliveries] == [_ip(1), _ip(2)]


def test_both_ends_calling_at_once_end_with_one_call():
    wire = _pair(_config("dte", "1001", "2002"), _config("dce", "2002", "1001"))
    wire.a.submit(IP, _ip(1), Proto.IPV4, wire.now)
    wire.b.submit(IP, _ip(2), Proto.IPV4, wire.now)
    wire.run(1.0)
    a_lcn = wire.a.status()["ip_channels"][IP]["lcn"]
    b_lcn = wire.b.status()["ip_channels"][IP]["lcn"]
    assert a_lcn == b_lcn is not None  # both on the same circuit (the higher address's call)
    wire.a.submit(IP, _ip(3), Proto.IPV4, wire.now)
    wire.b.submit(IP, _ip(4), Proto.IPV4, wire.now)
    wire.run(0.5)
    assert _ip(3) in [d.payload for d in wire.b.deliveries]
    assert _ip(4) in [d.payload for d in wire.a.deliveries]


def test_calls_nobody_takes_are_refused_without_an_api():
    wire = _pair(_config("dte", "1001", None, api=True), _config("dce", "2002", None))
    lcn = wire.a.place_call("2002", wire.now, user_data=b"\x01app")
    wire.run(0.5)
    cleared = [e for e in wire.events["a"] if isinstance(e, CallCleared)]
    assert [c.lcn for c in cleared] == [lcn]
    assert wire.b.counters.calls_refused == 1


def test_api_call_carries_q_and_d_bits_and_whole_messages():
    wire = _pair(_config("dte", "1001", None, api=True), _config("dce", "2002", None, api=True))
    lcn = wire.a.place_call("2002", wire.now, user_data=b"\x01app", packet_size=256, window=5)
    wire.run(0.2)
    (incoming,) = [e for e in wire.events["b"] if isinstance(e, IncomingCall)]
    assert incoming.calling == "1001" and incoming.user_data == b"\x01app"
    wire.b.accept_call(incoming.lcn, wire.now)
    wire.run(0.2)
    assert any(isinstance(e, CallConnected) and e.lcn == lcn for e in wire.events["a"])
    message = bytes(range(256)) * 4
    assert wire.a.submit(lcn, message, X25Flags(q=True, d=False), wire.now)
    wire.run(0.5)
    (delivery,) = wire.b.deliveries
    assert isinstance(delivery, MessageDelivery)
    assert (delivery.channel, delivery.payload, delivery.q, delivery.d) == (
        incoming.lcn,
        message,
        True,
        False,
    )


def test_ip_channel_carries_ipv4_only():
    wire = _pair(_config("dte", "1001", "2002"), _config("dce", "2002", "1001"))
    with pytest.raises(LocalProtocolError):
        wire.a.submit(IP, bytes([0x60]) + bytes(40), Proto.IPV6, wire.now)


def test_ip_queue_overflow_is_counted_not_silent():
    cfg = _config("dte", "1001", "2002", ip_queue=4)
    wire = _pair(cfg, _config("dce", "2002", "1001"))
    for n in range(10):  # all before the call can connect
        wire.a.submit(IP, _ip(n), Proto.IPV4, wire.now)
    wire.run(0.5)
    delivered = len(wire.b.deliveries)
    assert delivered + wire.a.counters.ip_queue_drops == 10
    assert wire.a.counters.ip_queue_drops > 0


def test_everything_arrives_over_a_lossy_line():
    wire = _pair(_config("dte", "1001", "2002"), _config("dce", "2002", "1001"), loss=0.0)
    wire.loss = 0.03
    for n in range(2000):
        while wire.a.status()["ip_channels"][IP]["queued"] >= 32:  # a sender that respects the queue
            wire.run(0.05)
        assert wire.a.submit(IP, _ip(n, 200), Proto.IPV4, wire.now)
    wire.run(20.0)
    got = [int.from_bytes(d.payload[1:5], "big") for d in wire.b.deliveries]
    assert wire.a.counters.ip_queue_drops == 0
    assert got == list(range(2000))  # LAPB recovered every lost frame, in order
    assert wire.a.status()["link"]["counters"]["retransmissions"] > 0
