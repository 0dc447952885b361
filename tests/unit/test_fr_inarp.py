"""Inverse ARP (RFC 2390): packet codec, cross-checked with scapy, and between two engines."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.l2 import ARP

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr import (
    ChannelMode,
    DlciConfig,
    FrameRelayConfig,
    FrameRelayEngine,
    PeerAddressLearned,
)
from firmware_emu.fr.events import FrameRelayEvent
from firmware_emu.fr.inarp import InarpPacket, Op, decode, encode, reply, request

REQUEST_16 = "00 0f 08 00 02 04 00 08 04 01 0a 00 00 01 04 01 00 00 00 00"
REPLY_16 = "00 0f 08 00 02 04 00 09 04 01 0a 00 00 02 04 01 0a 00 00 01"


def test_request_vector_matches_scapy() -> None:
    wire = request(16, "10.0.0.1")
    assert wire == bytes.fromhex(REQUEST_16)
    ours = ARP(hwtype=15, ptype=0x0800, hwlen=2, plen=4, op=8)
    ours.hwsrc, ours.psrc, ours.hwdst, ours.pdst = b"\x04\x01", "10.0.0.1", b"\x04\x01", "0.0.0.0"
    assert bytes(ours) == wire


def test_reply_vector_and_scapy_parse() -> None:
    req = decode(bytes.fromhex(REQUEST_16))
    assert req == InarpPacket(Op.REQUEST, b"\x04\x01", "10.0.0.1", b"\x04\x01", "0.0.0.0")
    wire = reply(16, "10.0.0.2", req)
    assert wire == bytes.fromhex(REPLY_16)
    parsed = ARP(wire)
    assert (parsed.op, parsed.psrc, parsed.pdst, parsed.hwtype) == (9, "10.0.0.2", "10.0.0.1", 15)


def test_request_without_our_address() -> None:
    assert decode(request(1007, None)).sender_ip == "0.0.0.0"


@given(
    st.sampled_from(list(Op)), st.ip_addresses(v=4), st.ip_addresses(v=4), st.binary(min_size=2, max_size=2)
)
def test_round_trip(op: Op, spa: object, tpa: object, hw: bytes) -> None:
    pkt = InarpPacket(op, hw, str(spa), b"\x04\x01", str(tpa))
    assert decode(encode(pkt)) == pkt


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "00 0f 08 00 02 04 00",
        REQUEST_16[:-3],  # truncated
        "00 06 08 00 02 04 00 08 04 01 0a 00 00 01 04 01 00 00 00 00",  # IEEE 802 hardware
        "00 0f 86 dd 02 04 00 08 04 01 0a 00 00 01 04 01 00 00 00 00",  # not IPv4
        "00 0f 08 00 02 04 00 01 04 01 0a 00 00 01 04 01 00 00 00 00",  # plain ARP request
        "00 0f 08 00 03 04 00 08 04 01 00 0a 00 00 01 04 01 00 00 00 00 00",  # 3-octet Q.922
    ],
)
def test_decode_rejects(wire: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode(bytes.fromhex(wire))


def test_bad_local_address_is_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        request(16, "fd00::1")


@given(st.binary(max_size=32))
def test_random_bytes_only_remote_errors(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode(data)


# ------------------------------------------------------------------ between engines


class Wire:
    def __init__(self, a: FrameRelayConfig, b: FrameRelayConfig) -> None:
        self.now = 0.0
        self.a = FrameRelayEngine(a, 0.0)
        self.b = FrameRelayEngine(b, 0.0)
        self.sent: list[bytes] = []
        self.learned: dict[str, list[FrameRelayEvent]] = {"a": [], "b": []}

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                for frame in src.frames_to_send():
                    moved = True
                    self.sent.append(frame)
                    dst.receive_frame(frame, self.now)
        for name, eng in (("a", self.a), ("b", self.b)):
            while (ev := eng.next_event()) is not None:
                if isinstance(ev, PeerAddressLearned):
                    self.learned[name].append(ev)

    def run_until(self, t: float) -> None:
        self.a.start(self.now)
        self.b.start(self.now)
        self.pump()
        self.advance(t)

    def advance(self, t: float) -> None:
        while True:
            timers = [x for x in (self.a.get_timer(), self.b.get_timer()) if x is not None]
            if not timers or min(timers) > t:
                break
            self.now = min(timers)
            self.a.handle_timer(self.now)
            self.b.handle_timer(self.now)
            self.pump()
        self.now = t


def configs(
    signalling: str, encapsulation: str, a: DlciConfig, b: DlciConfig
) -> tuple[FrameRelayConfig, FrameRelayConfig]:
    common = {"signalling": signalling, "encapsulation": encapsulation}
    return (
        FrameRelayConfig(station="cpe", dlcis=(a,), **common),  # type: ignore[arg-type]
        FrameRelayConfig(station="node", dlcis=(b,), **common),  # type: ignore[arg-type]
    )


def inarp_frames(w: Wire) -> list[bytes]:
    return [f for f in w.sent if f[2:10] == bytes.fromhex("03 00 80 00 00 00 08 06") or f[2:4] == b"\x08\x06"]


@pytest.mark.parametrize("signalling", ["ansi", "q933", "cisco", "none"])
@pytest.mark.parametrize("encapsulation", ["ietf", "cisco"])
def test_both_ends_learn(signalling: str, encapsulation: str) -> None:
    w = Wire(
        *configs(
            signalling,
            encapsulation,
            DlciConfig(16, inarp=True, address="10.0.0.1"),
            DlciConfig(16, inarp=True, address="10.0.0.2"),
        )
    )
    w.run_until(5)
    assert w.learned == {"a": [PeerAddressLearned(16, "10.0.0.2")], "b": [PeerAddressLearned(16, "10.0.0.1")]}
    assert w.a.status()["dlcis"][0]["peer_address"] == "10.0.0.2"
    header = "04 01 03 00 80 00 00 00 08 06" if encapsulation == "ietf" else "04 01 08 06"
    assert all(f.startswith(bytes.fromhex(header)) for f in inarp_frames(w))
    # Answered: no more requests later on.
    before = len(inarp_frames(w))
    w.advance(60)
    assert len(inarp_frames(w)) == before


def test_one_sided_inarp_teaches_both() -> None:
    w = Wire(
        *configs(
            "ansi", "ietf", DlciConfig(16, inarp=True, address="10.0.0.1"), DlciConfig(16, address="10.0.0.2")
        )
    )
    w.run_until(5)
    # The requester learns from the reply, the responder from the request.
    assert w.learned == {"a": [PeerAddressLearned(16, "10.0.0.2")], "b": [PeerAddressLearned(16, "10.0.0.1")]}
    assert len(inarp_frames(w)) == 2


def test_unanswered_request_is_retried_every_10s() -> None:
    w = Wire(*configs("ansi", "ietf", DlciConfig(16, inarp=True, address="10.0.0.1"), DlciConfig(16)))
    w.run_until(35)
    requests = [f for f in inarp_frames(w) if decode(f[10:]).op is Op.REQUEST]
    assert len(requests) == 4  # at 0, 10, 20, 30
    assert w.learned["a"] == [] and w.learned["b"] == [PeerAddressLearned(16, "10.0.0.1")]
    assert w.a.status()["dlcis"][0]["counters"]["inarp_requests_sent"] == 4


def test_relearned_after_pvc_comes_back() -> None:
    w = Wire(
        *configs(
            "ansi", "ietf", DlciConfig(16, inarp=True, address="10.0.0.1"), DlciConfig(16, address="10.0.0.2")
        )
    )
    w.run_until(25)
    w.b.set_pvc_active(16, False, w.now)
    w.advance(35)
    assert w.a.status()["dlcis"][0]["peer_address"] is None
    w.b.set_pvc_active(16, True, w.now)
    w.advance(45)
    assert w.learned["a"] == [PeerAddressLearned(16, "10.0.0.2")] * 2


def test_no_inarp_on_raw_channels() -> None:
    raw = DlciConfig(16, mode=ChannelMode.RAW, inarp=True, address="10.0.0.1")
    w = Wire(*configs("none", "ietf", raw, raw))
    w.run_until(30)
    assert w.sent == [] and w.learned == {"a": [], "b": []}
