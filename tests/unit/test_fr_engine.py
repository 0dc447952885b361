"""FrameRelayEngine end to end: a DTE and a DCE back to back on a fake clock."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr import (
    ChannelMode,
    Delivery,
    DlciConfig,
    FrameRelayConfig,
    FrameRelayEngine,
    LinkDown,
    LinkUp,
    Proto,
    ProtocolErrorSeen,
    PvcState,
    PvcStatusChanged,
)
from firmware_emu.fr.events import FrameRelayEvent
from firmware_emu.fr.lmi_codec import LinkIntegrity, LmiMessage, MessageType, ReportType, Variant, encode

LMI_VARIANTS = ["ansi", "q933", "cisco"]
IPV4 = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"hello")
IPV6 = bytes(IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=2) / b"hello")
ETHER = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / b"bridged")


class BackToBack:
    """Two engines on a perfect wire, a fake clock stepped to the earliest deadline."""

    def __init__(self, dte: FrameRelayConfig, dce: FrameRelayConfig, now: float = 0.0) -> None:
        self.now = now
        self.dte = FrameRelayEngine(dte, now)
        self.dce = FrameRelayEngine(dce, now)
        self.drop_to_dte = False  # lose everything the DCE sends
        self.drop_to_dce = False
        self.events: dict[str, list[FrameRelayEvent]] = {"dte": [], "dce": []}
        self.deliveries: list[Delivery] = []

    def start(self) -> None:
        self.dce.start(self.now)
        self.dte.start(self.now)
        self.pump()

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for src, dst, drop in (
                (self.dte, self.dce, self.drop_to_dce),
                (self.dce, self.dte, self.drop_to_dte),
            ):
                for frame in src.frames_to_send():
                    moved = True
                    if not drop:
                        delivery = dst.receive_frame(frame, self.now)
                        if delivery is not None:
                            self.deliveries.append(delivery)
        for name, eng in (("dte", self.dte), ("dce", self.dce)):
            while (ev := eng.next_event()) is not None:
                self.events[name].append(ev)

    def next_deadline(self) -> float | None:
        timers = [t for t in (self.dte.get_timer(), self.dce.get_timer()) if t is not None]
        return min(timers) if timers else None

    def step(self) -> None:
        deadline = self.next_deadline()
        assert deadline is not None
        assert deadline >= self.now, "a deadline in the past would spin the loop"
        self.now = deadline
        self.dte.handle_timer(self.now)
        self.dce.handle_timer(self.now)
        self.pump()

    def run_until(self, t: float) -> None:
        while (deadline := self.next_deadline()) is not None and deadline <= t:
            self.step()
        self.now = t

    def take(self, name: str) -> list[FrameRelayEvent]:
        evs, self.events[name] = self.events[name], []
        return evs

    def send(self, src: FrameRelayEngine, dlci: int, payload: bytes, proto: Proto) -> Delivery | None:
        dst = self.dce if src is self.dte else self.dte
        return dst.receive_frame(src.encode(dlci, payload, proto), self.now)


def pair(
    signalling: str = "ansi",
    encapsulation: str = "ietf",
    dlcis: tuple[DlciConfig, ...] | None = None,
    **kw: object,
) -> BackToBack:
    dlcis = (DlciConfig(16),) if dlcis is None else dlcis
    common = {"signalling": signalling, "encapsulation": encapsulation, "dlcis": dlcis, **kw}
    return BackToBack(
        FrameRelayConfig(station="cpe", **common),  # type: ignore[arg-type]
        FrameRelayConfig(station="node", **common),  # type: ignore[arg-type]
    )


def pvc_events(evs: list[FrameRelayEvent]) -> list[FrameRelayEvent]:
    return [e for e in evs if isinstance(e, LinkUp | LinkDown | PvcStatusChanged)]


# ------------------------------------------------------------------ LMI variants


@pytest.mark.parametrize("signalling", LMI_VARIANTS)
def test_link_up_after_first_full_status(signalling: str) -> None:
    b = pair(signalling)
    b.start()
    assert b.dte.get_timer() == 0.0  # the DTE polls at once
    assert not b.dte.link_up and not b.dce.link_up
    b.step()
    assert b.now == 0.0
    assert b.dte.link_up and b.dce.link_up
    assert b.dte.pvc_usable(16) and b.dce.pvc_usable(16)
    assert pvc_events(b.take("dte")) == [LinkUp(), PvcStatusChanged(16, PvcState.NEW, True)]
    # One poll later the DCE drops the "new" bit and both sides report plain active.
    b.run_until(10)
    assert pvc_events(b.take("dte")) == [PvcStatusChanged(16, PvcState.ACTIVE, True)]
    assert b.dte.status()["dlcis"][0]["state"] == "active"
    assert b.dce.status()["dlcis"][0]["state"] == "active"


@pytest.mark.parametrize("signalling", LMI_VARIANTS)
def test_data_round_trip(signalling: str) -> None:
    b = pair(signalling, dlcis=(DlciConfig(16), DlciConfig(17, mode=ChannelMode.BRIDGE)))
    b.start()
    b.step()
    assert b.send(b.dte, 16, IPV4, Proto.IPV4) == Delivery(16, Proto.IPV4, IPV4, False, False, False)
    assert b.send(b.dce, 16, IPV6, Proto.IPV6) == Delivery(16, Proto.IPV6, IPV6, False, False, False)
    assert b.send(b.dte, 17, ETHER, Proto.ETHER) == Delivery(17, Proto.ETHER, ETHER, False, False, False)
    c = b.dce.status()["dlcis"][0]["counters"]
    assert (c["rx_frames"], c["rx_bytes"], c["tx_frames"], c["tx_bytes"]) == (1, len(IPV4), 1, len(IPV6))


@pytest.mark.parametrize("signalling", LMI_VARIANTS)
def test_down_when_polls_go_unanswered_and_back_up(signalling: str) -> None:
    b = pair(signalling, n392=3, n393=4)
    b.start()
    b.run_until(35)
    b.take("dte"), b.take("dce")
    b.drop_to_dte = True
    # Polls at 40, 50, 60 go unanswered; each is found out at the next tick: 50, 60, 70.
    b.run_until(69.9)
    assert b.dte.link_up
    b.run_until(70)
    assert not b.dte.link_up and not b.dce.link_up  # the DCE saw 3 stale sequence numbers
    assert not b.dte.pvc_usable(16) and not b.dce.pvc_usable(16)
    dte_evs = b.take("dte")
    assert [e for e in dte_evs if isinstance(e, ProtocolErrorSeen)] == [
        ProtocolErrorSeen("t391_timeouts", "no LMI status reply within T391")
    ] * 3
    down = pvc_events(dte_evs)
    assert isinstance(down[0], LinkDown) and down[1:] == [PvcStatusChanged(16, PvcState.ACTIVE, False)]
    assert b.dte.status()["counters"]["t391_timeouts"] == 3
    assert b.dte.status()["counters"]["link_down_events"] == 1
    # Data is refused while down.
    assert b.send(b.dce, 16, IPV4, Proto.IPV4) is None
    assert b.dte.counters.inactive_dlci == 1
    # Replies resume: the DTE is up on the next poll, the DCE once that reply is acknowledged.
    b.drop_to_dte = False
    b.run_until(80)
    assert b.dte.link_up and b.dte.pvc_usable(16)
    b.run_until(90)
    assert b.dce.link_up and b.dce.pvc_usable(16)
    assert b.send(b.dce, 16, IPV4, Proto.IPV4) is not None


@pytest.mark.parametrize("signalling", LMI_VARIANTS)
def test_dce_silent_means_t392_timeouts(signalling: str) -> None:
    b = pair(signalling, n392=3, n393=4)
    b.start()
    b.run_until(35)
    b.drop_to_dce = True
    b.run_until(40 + 15 * 3)
    assert not b.dce.link_up and b.dce.status()["counters"]["t392_timeouts"] == 3
    assert not b.dte.link_up


@pytest.mark.parametrize("signalling", LMI_VARIANTS)
def test_pvc_removed_at_dce_becomes_unusable_at_dte(signalling: str) -> None:
    b = pair(signalling, dlcis=(DlciConfig(16), DlciConfig(17)))
    b.start()
    b.run_until(25)
    b.take("dte")
    b.dce.remove_dlci(16, b.now)
    b.run_until(30)
    assert pvc_events(b.take("dte")) == [PvcStatusChanged(16, PvcState.DELETED, False)]
    assert not b.dte.pvc_usable(16) and b.dte.pvc_usable(17)
    assert b.send(b.dce, 17, IPV4, Proto.IPV4) is not None
    # Put back: new again, then active.
    b.dce.add_dlci(DlciConfig(16), b.now)
    b.run_until(40)
    assert pvc_events(b.take("dte")) == [PvcStatusChanged(16, PvcState.NEW, True)]


@pytest.mark.parametrize("signalling", LMI_VARIANTS)
def test_set_pvc_active_at_dce(signalling: str) -> None:
    b = pair(signalling)
    b.start()
    b.run_until(25)
    b.take("dte")
    b.dce.set_pvc_active(16, False, b.now)
    assert not b.dce.pvc_usable(16)
    b.run_until(30)
    assert pvc_events(b.take("dte")) == [PvcStatusChanged(16, PvcState.INACTIVE, False)]
    assert b.send(b.dce, 16, IPV4, Proto.IPV4) is None
    b.dce.set_pvc_active(16, True, b.now)
    b.run_until(40)
    assert pvc_events(b.take("dte")) == [PvcStatusChanged(16, PvcState.ACTIVE, True)]


def test_pvc_unknown_to_the_network_stays_deleted() -> None:
    b = BackToBack(
        FrameRelayConfig(station="cpe", dlcis=(DlciConfig(16), DlciConfig(20))),
        FrameRelayConfig(station="node", dlcis=(DlciConfig(16), DlciConfig(99))),
    )
    b.start()
    b.step()
    assert b.dte.link_up and not b.dte.pvc_usable(20)
    st_ = b.dte.status()
    assert st_["dlcis"][1]["state"] == "deleted" and st_["lmi"]["unconfigured_pvcs"] == [99]


def test_cisco_encapsulation_round_trip() -> None:
    b = pair("cisco", encapsulation="cisco", dlcis=(DlciConfig(16), DlciConfig(17, mode=ChannelMode.BRIDGE)))
    b.start()
    b.step()
    frame = b.dte.encode(16, IPV4, Proto.IPV4)
    assert frame[:4] == bytes.fromhex("04 01 08 00")
    assert b.dce.receive_frame(frame, 0) == Delivery(16, Proto.IPV4, IPV4, False, False, False)
    assert b.send(b.dte, 16, IPV6, Proto.IPV6) == Delivery(16, Proto.IPV6, IPV6, False, False, False)
    assert b.send(b.dte, 17, ETHER, Proto.ETHER) == Delivery(17, Proto.ETHER, ETHER, False, False, False)


def test_dte_polling_cycle_at_engine_level() -> None:
    b = pair("ansi", n391=3)
    b.start()
    b.run_until(95)
    lmi = b.dte.status()["lmi"]
    assert lmi["enquiries_sent"] == 10 and lmi["full_status_received"] >= 4
    dce = b.dce.status()["lmi"]
    assert dce["enquiries_received"] == 10 and dce["status_sent"] == 10
    assert lmi["tx_seq"] == 10 and lmi["rx_seq"] == 10 and dce["tx_seq"] == 10 and dce["rx_seq"] == 10


# ------------------------------------------------------------------ lifecycle and API


def test_stop_drops_everything() -> None:
    b = pair("ansi")
    b.start()
    b.run_until(25)
    b.take("dte")
    b.dte.handle_timer(30)  # queue a poll, then stop before it is sent
    b.dte.stop(30)
    assert b.dte.frames_to_send() == []
    assert b.dte.get_timer() is None
    assert not b.dte.link_up and not b.dte.pvc_usable(16)
    b.pump()
    assert pvc_events(b.take("dte")) == [LinkDown("stopped"), PvcStatusChanged(16, PvcState.ACTIVE, False)]
    b.dte.start(31)
    assert b.dte.get_timer() == 31


def test_signalling_none() -> None:
    b = pair("none", dlcis=(DlciConfig(16), DlciConfig(17)))
    b.start()
    assert b.dte.link_up and b.dce.link_up and b.next_deadline() is None
    assert b.dte.pvc_usable(16) and b.dce.pvc_usable(17)
    assert b.send(b.dte, 16, IPV4, Proto.IPV4) is not None
    # LMI frames are just frames on an unknown DLCI here.
    b.dte.receive_frame(
        encode(Variant.ANSI, LmiMessage(MessageType.STATUS, ReportType.FULL_STATUS, LinkIntegrity(1, 1))), 0
    )
    assert b.dte.counters.unknown_dlci == 1
    b.dte.set_pvc_active(17, False, 0)
    assert not b.dte.pvc_usable(17)
    b.dte.add_dlci(DlciConfig(18), 0)
    assert b.dte.pvc_usable(18)


def test_encode_vectors_and_raw() -> None:
    eng = FrameRelayEngine(FrameRelayConfig(dlcis=(DlciConfig(16), DlciConfig(1007))), 0)
    assert eng.encode(16, b"x", Proto.IPV4) == bytes.fromhex("04 01 03 cc 78")
    assert eng.encode(16, b"x", Proto.IPV6) == bytes.fromhex("04 01 03 8e 78")
    assert eng.encode(16, b"x", Proto.ETHER) == bytes.fromhex("04 01 03 00 80 00 80 c2 00 07 78")
    assert eng.encode(1007, b"x", Proto.RAW) == bytes.fromhex("f8 f1 78")
    assert eng.encode(16, memoryview(b"mv"), Proto.RAW) == b"\x04\x01mv"  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        eng.encode(17, b"x", Proto.IPV4)
    with pytest.raises(LocalProtocolError):
        eng.encode(16, b"x", "ipv4")  # type: ignore[arg-type]


def test_api_misuse_is_local_error() -> None:
    eng = FrameRelayEngine(FrameRelayConfig(dlcis=(DlciConfig(16),)), 0)
    for bad in (
        lambda: eng.add_dlci(DlciConfig(16), 0),
        lambda: eng.add_dlci(DlciConfig(0), 0),
        lambda: eng.add_dlci(DlciConfig(1023), 0),
        lambda: eng.add_dlci(DlciConfig(20, address="not-an-ip"), 0),
        lambda: eng.remove_dlci(17, 0),
        lambda: eng.set_pvc_active(17, False, 0),
    ):
        with pytest.raises(LocalProtocolError):
            bad()
    eng.start(0)
    with pytest.raises(LocalProtocolError):
        eng.start(1)
    with pytest.raises(LocalProtocolError):
        FrameRelayEngine(FrameRelayConfig(dlcis=(DlciConfig(16), DlciConfig(16))), 0)
    assert eng.pvc_usable(99) is False


def test_raw_channel_delivers_info_field_untouched() -> None:
    b = pair("ansi", dlcis=(DlciConfig(16, mode=ChannelMode.RAW),))
    b.start()
    b.step()
    frame = bytes.fromhex("04 0b 03 cc") + IPV4  # with FECN and DE
    assert b.dte.receive_frame(frame, 0) == Delivery(16, Proto.RAW, frame[2:], True, True, False)
    assert b.dte.receive_frame(bytes.fromhex("04 01 ff"), 0) == Delivery(
        16, Proto.RAW, b"\xff", False, False, False
    )


def test_congestion_bits_are_reported_and_counted() -> None:
    b = pair("ansi")
    b.start()
    b.step()
    frame = bytes.fromhex("04 0f 03 cc") + IPV4
    assert b.dte.receive_frame(frame, 0) == Delivery(16, Proto.IPV4, IPV4, True, True, True)
    assert b.dte.receive_frame(bytearray(frame), 0) is not None  # any bytes-like frame
    c = b.dte.status()["dlcis"][0]["counters"]
    assert (c["rx_de"], c["rx_fecn"], c["rx_becn"]) == (2, 2, 2)


def test_status_is_json() -> None:
    b = pair("cisco", dlcis=(DlciConfig(16, cir=64000, inarp=True, address="10.0.0.1"),))
    b.start()
    b.run_until(20)
    for eng in (b.dte, b.dce):
        st_ = json.loads(json.dumps(eng.status()))
        assert st_["link"] == "up" and st_["link_up"] is True
        assert set(st_["counters"]) >= {
            "unknown_dlci",
            "inactive_dlci",
            "malformed",
            "unknown_protocol",
            "lmi_errors",
            "t391_timeouts",
            "t392_timeouts",
            "link_down_events",
        }
        assert {"tx_seq", "rx_seq", "n392", "n393", "error_window"} <= set(st_["lmi"])
    assert b.dte.status()["dlcis"][0]["bandwidth"] == 64000  # learned from the Cisco PVC status IE
    assert b.dte.status()["station"] == "cpe" and b.dce.status()["lmi"]["role"] == "dce"


# ------------------------------------------------------------------ bad input


def up_pair(signalling: str = "ansi") -> BackToBack:
    b = pair(signalling, dlcis=(DlciConfig(16), DlciConfig(17, mode=ChannelMode.BRIDGE)))
    b.start()
    b.step()
    return b


@pytest.mark.parametrize(
    ("frame", "counter"),
    [
        ("", "malformed"),
        ("04", "malformed"),
        ("04 01", "malformed"),
        ("05 01 03 cc 45", "malformed"),  # EA set in octet 1
        ("04 00 01 03 cc 45", "malformed"),  # 3-octet address
        ("08 01 03 cc 45", "unknown_dlci"),  # DLCI 32
        ("fc f1 03 09 00 7d", "unknown_dlci"),  # Cisco LMI on an ANSI port
        ("04 01 03 81 45", "unknown_protocol"),
        ("04 01 03 00 80 00 80 c2 00 07 45", "unknown_protocol"),  # bridged on a routed PVC
        ("04 11 03 cc 45", "unknown_protocol"),  # IP on a bridged PVC
        ("04 01 03 cc", "malformed"),  # header, no payload
        ("04 01 03 00 80 00 00 00 08 06 00 0f", "malformed"),  # truncated Inverse ARP
    ],
)
def test_bad_frames_are_counted_and_dropped(frame: str, counter: str) -> None:
    b = up_pair()
    b.take("dte")
    assert b.dte.receive_frame(bytes.fromhex(frame), 0.5) is None
    counters = b.dte.status()["counters"]
    assert counters[counter] == 1
    assert sum(counters.values()) == 1
    b.pump()
    assert [e.counter for e in b.take("dte") if isinstance(e, ProtocolErrorSeen)] == [counter]


@pytest.mark.parametrize(
    "frame",
    [
        "00 01 03 08 00 7d 95 01 01 00 03 03 01 01 00",  # bad IE length
        "00 01 03 08 00 7d 95 01 01 00 03 02 01 01 05 01 00",  # unknown mandatory IE
        "00 01 03 08 00 7d 95 01 01 00 03 02",  # truncated
        "00 01 03 08 00 75 95 01 01 00 03 02 01 00",  # an enquiry sent to a DTE
    ],
)
def test_bad_lmi_is_counted(frame: str) -> None:
    b = up_pair()
    b.dte.receive_frame(bytes.fromhex(frame), 0.5)
    assert b.dte.status()["counters"]["lmi_errors"] == 1
    assert b.dte.link_up


def test_data_path_error_events_are_rate_limited() -> None:
    b = up_pair()
    b.take("dte")
    for _ in range(100):
        b.dte.receive_frame(bytes.fromhex("08 01 03 cc 45"), 5.0)
    b.dte.receive_frame(bytes.fromhex("08 01 03 cc 45"), 6.0)
    b.pump()
    assert b.dte.counters.unknown_dlci == 101
    assert len([e for e in b.take("dte") if isinstance(e, ProtocolErrorSeen)]) == 2


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["ansi", "q933", "cisco", "none"]),
    st.sampled_from(["ietf", "cisco"]),
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            # Valid-looking prefixes, so the fuzzing reaches LMI, InARP and the classifier.
            st.tuples(
                st.sampled_from(["0001", "fcf1", "0401", "0411", "0421", "040103cc", "04010300800000000806"]),
                st.binary(max_size=30),
            ).map(lambda t: bytes.fromhex(t[0]) + t[1]),
        ),
        max_size=20,
    ),
)
def test_random_frames_never_raise(signalling: str, encapsulation: str, frames: list[bytes]) -> None:
    dlcis = (
        DlciConfig(16, inarp=True, address="10.0.0.1"),
        DlciConfig(17, mode=ChannelMode.BRIDGE),
        DlciConfig(18, mode=ChannelMode.RAW),
    )
    b = pair(signalling, encapsulation, dlcis=dlcis)
    b.start()
    b.run_until(0)  # link up (signalling none: already)
    for eng in (b.dte, b.dce):
        for i, frame in enumerate(frames):
            result = eng.receive_frame(frame, b.now + i * 0.1)
            assert result is None or isinstance(result, Delivery)
        eng.handle_timer(b.now + 100)
        json.dumps(eng.status())
