"""The X.25 packet layer end to end: a DTE and a DCE back to back on a fake clock.

Bad-input cases inject crafted packets into one side and check its answer
(the packet, its diagnostic, the counter) against X.25 Annex C; the Annex E
diagnostic codes are named in firmware_emu.x25.causes.
"""

from __future__ import annotations

import contextlib
import json
import random
from dataclasses import replace
from typing import Any

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import ProtocolErrorSeen
from firmware_emu.x25 import (
    CallCleared,
    CallConnected,
    CircuitWritable,
    DataReceived,
    Facilities,
    IncomingCall,
    InterruptConfirmed,
    InterruptReceived,
    PacketLayer,
    PacketLayerConfig,
    PacketLayerDown,
    PacketLayerReady,
    ResetIndication,
    RestartIndication,
    codec,
)
from firmware_emu.x25.causes import ClearCause, Diagnostic, ResetCause, RestartCause
from firmware_emu.x25.codec import Packet
from firmware_emu.x25.codec import PacketType as T
from firmware_emu.x25.states import TABLE, Act, Kind, Sender, State

H = bytes.fromhex
DTE_ADDR, DCE_ADDR = "31101234", "31109876"


def dte(**kw: Any) -> PacketLayerConfig:
    return PacketLayerConfig(role="dte", address=DTE_ADDR, **kw)


def dce(**kw: Any) -> PacketLayerConfig:
    return PacketLayerConfig(role="dce", address=DCE_ADDR, **kw)


class Wire:
    """A DTE (``a``) and a DCE (``b``) on a perfect wire, and a fake clock.

    ``sent[side]`` records every packet a side put on the wire (decoded);
    ``cut[side]`` drops what that side sends; ``events[side]`` collects events."""

    def __init__(self, a: PacketLayerConfig | None = None, b: PacketLayerConfig | None = None) -> None:
        self.now = 0.0
        self.a = PacketLayer(a or dte(), self.now)
        self.b = PacketLayer(b or dce(), self.now)
        self.sent: dict[str, list[Packet]] = {"a": [], "b": []}
        self.events: dict[str, list[Any]] = {"a": [], "b": []}
        self.cut = {"a": False, "b": False}

    def layer(self, side: str) -> PacketLayer:
        return self.a if side == "a" else self.b

    def up(self) -> None:
        self.a.link_up(self.now)
        self.b.link_up(self.now)
        self.pump()
        assert self.a.ready and self.b.ready
        self.clear_log()

    def clear_log(self) -> None:
        for side in ("a", "b"):
            self.sent[side].clear()
            self.events[side].clear()

    def pump(self) -> None:
        for _ in range(100_000):
            moved = False
            for side, other in (("a", "b"), ("b", "a")):
                src, dst = self.layer(side), self.layer(other)
                for raw in src.packets_to_send():
                    moved = True
                    self.sent[side].append(codec.decode(raw))
                    if not self.cut[side]:
                        dst.receive_packet(raw, self.now)
                while (ev := src.next_event()) is not None:
                    self.events[side].append(ev)
            if not moved:
                return
        raise AssertionError("the layers never went quiet")

    def advance(self, seconds: float) -> None:
        """Step the clock to every deadline within ``seconds``, firing timers as they come."""
        end = self.now + seconds
        while True:
            deadlines = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None and t <= end]
            if not deadlines:
                break
            self.now = max(self.now, min(deadlines))
            for layer in (self.a, self.b):
                timer = layer.get_timer()
                if timer is not None and timer <= self.now:
                    layer.handle_timer(self.now)
            self.pump()
        self.now = end

    def inject(self, side: str, raw: bytes, *, forward: bool = True) -> list[Packet]:
        """Hand ``raw`` to one side as if from its peer; return what it sends back (then delivered)."""
        layer = self.layer(side)
        layer.receive_packet(raw, self.now)
        out = layer.packets_to_send()
        answers = [codec.decode(p) for p in out]
        self.sent[side].extend(answers)
        other = self.b if side == "a" else self.a
        if forward and not self.cut[side]:
            for p in out:
                other.receive_packet(p, self.now)
        self.pump()
        return answers

    def of(self, side: str, kind: type) -> list[Any]:
        return [e for e in self.events[side] if isinstance(e, kind)]

    def data(self, side: str) -> list[DataReceived]:
        return self.of(side, DataReceived)

    def connect(self, *, facilities: Facilities | None = None, user_data: bytes = b"") -> int:
        lcn = self.a.call(DCE_ADDR, self.now, user_data=user_data, facilities=facilities)
        self.pump()
        self.b.accept(lcn, self.now)
        self.pump()
        assert self.a.circuit_state(lcn) == self.b.circuit_state(lcn) == "connected"
        return lcn


def of_type(packets: list[Packet], t: T) -> list[Packet]:
    return [p for p in packets if p.type is t]


def errors(w: Wire, side: str) -> list[str]:
    return [e.counter for e in w.of(side, ProtocolErrorSeen)]


@pytest.fixture
def wire() -> Wire:
    w = Wire()
    w.up()
    return w


# ============================================================================ the state table


def test_state_table_is_complete_and_follows_the_standard() -> None:
    # Every cell of every machine is there, and errors name "packet type invalid for state x".
    assert len(TABLE) == 3 * 2 * 2 + 7 * 2 * 7 + 3 * 2 * 3
    for (state, _who, _kind), cell in TABLE.items():
        if cell.act is Act.ERROR:
            assert cell.diagnostic == 17 + list(State).index(state)
    S, K = State, Kind
    assert TABLE[S.P2, Sender.DCE, K.CALL].next is S.P5  # call collision, both sides
    assert TABLE[S.P3, Sender.DTE, K.CALL].next is S.P5
    assert TABLE[S.P5, Sender.DCE, K.CALL_ACC].next is S.P4  # the DCE serves the DTE's call
    assert TABLE[S.P5, Sender.DTE, K.CALL_ACC].act is Act.ERROR
    assert TABLE[S.R2, Sender.DCE, K.RESTART].next is S.R1  # restart collision
    assert TABLE[S.R3, Sender.DTE, K.RESTART].next is S.R1
    assert TABLE[S.P6, Sender.DCE, K.CLEAR].next is S.P1  # clear collision
    assert TABLE[S.D3, Sender.DTE, K.RESET].next is S.D1  # reset collision
    assert TABLE[S.P1, Sender.DTE, K.CLEAR].act is Act.CONFIRM


# ============================================================================ config


@pytest.mark.parametrize(
    "kw",
    [
        {"role": "switch"},
        {"modulo": 16},
        {"packet_size": 100},
        {"packet_size": 256, "max_packet_size": 128},
        {"window": 0},
        {"window": 8},
        {"max_window": 8},
        {"modulo": 128, "max_window": 128},
        {"pvcs": (0,), "two_way": (1, 10)},
        {"pvcs": (4096,), "two_way": (1, 10)},
        {"pvcs": (5,), "two_way": (1, 10)},  # overlaps
        {"incoming": (1, 10), "two_way": (10, 20)},  # overlaps
        {"two_way": (20, 10)},
        {"two_way": (1, 256)},  # 256 circuits
        {"pvcs": tuple(range(1, 200)), "two_way": (200, 300)},
        {"address": "12x"},
        {"address": "1" * 16},
        {"t21": 0},
        {"tx_queue_limit": 0},
    ],
)
def test_config_rejects_bad_values(kw: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError):
        PacketLayerConfig(**kw)


def test_config_accepts_a_full_plan() -> None:
    cfg = PacketLayerConfig(
        pvcs=(1, 2),
        incoming=(3, 19),
        two_way=(20, 99),
        outgoing=(100, 255),
        modulo=128,
        window=7,
        max_window=127,
    )
    assert len([n for v in cfg.lcns().values() for n in v]) == 255


# ============================================================================ restart


def test_restart_collision_needs_no_confirmation() -> None:
    w = Wire()
    w.a.link_up(w.now)
    w.b.link_up(w.now)
    assert not w.a.ready and w.a.circuit_state(1) == "down"
    w.pump()
    assert w.a.ready and w.b.ready
    assert [p.type for p in w.sent["a"]] == [T.RESTART]
    assert [p.type for p in w.sent["b"]] == [T.RESTART]
    assert w.sent["a"][0].cause == RestartCause.DTE_ORIGINATED
    assert w.sent["b"][0].cause == RestartCause.NETWORK_OPERATIONAL
    assert w.events["a"] == [PacketLayerReady()] and w.events["b"] == [PacketLayerReady()]
    assert w.a.get_timer() is None and w.b.get_timer() is None
    assert w.a.status()["restart_state"] == "r1"


@pytest.mark.parametrize("first", ["a", "b"])
def test_restart_is_confirmed_by_the_other_end(first: str) -> None:
    w = Wire()
    second = "b" if first == "a" else "a"
    starter, other = w.layer(first), w.layer(second)
    # Bring `other` up alone: its restart is "confirmed" by hand.
    other.link_up(w.now)
    other.packets_to_send()
    other.receive_packet(H("1000ff"), w.now)
    assert other.ready
    starter.link_up(w.now)
    w.pump()
    assert [p.type for p in w.sent[second]] == [T.RESTART_CONFIRMATION]
    assert starter.ready and other.ready
    assert w.of(first, PacketLayerReady) == [PacketLayerReady()]
    assert w.of(second, RestartIndication) == [RestartIndication(w.sent[first][0].cause, 0)]


@pytest.mark.parametrize("side", ["a", "b"])
def test_unanswered_restart_is_repeated_every_t20(side: str) -> None:
    w = Wire(dte(t20=5.0), dce(t20=7.0))
    w.cut["b" if side == "a" else "a"] = True
    w.cut[side] = True  # nothing gets through
    w.layer(side).link_up(w.now)
    w.pump()
    w.advance(100.0)
    period = 5.0 if side == "a" else 7.0
    assert len(of_type(w.sent[side], T.RESTART)) == 1 + int(100 // period)
    assert not w.layer(side).ready
    assert w.layer(side).counters.timeouts == int(100 // period)
    w.cut = {"a": False, "b": False}
    w.layer("b" if side == "a" else "a").link_up(w.now)
    w.pump()
    w.advance(10.0)  # our restart crossed theirs, theirs was lost: they repeat it, we confirm
    assert w.a.ready and w.b.ready


def test_restart_confirmation_in_r1_is_answered_with_a_restart(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    answers = w.inject("a", H("1000ff"))
    assert [(p.type, p.cause, p.diagnostic) for p in answers] == [(T.RESTART, 0, Diagnostic.INVALID_R1)]
    assert w.a.counters.invalid_in_state == 1
    assert RestartIndication(0, Diagnostic.INVALID_R1) in w.events["a"]
    assert CallCleared(lcn, 0, Diagnostic.INVALID_R1, False) in w.events["a"]
    assert PacketLayerDown in [type(e) for e in w.events["a"]]
    # The DCE confirmed: both ready again; the DCE's user heard of the restart too.
    assert w.a.ready and w.b.ready
    assert RestartIndication(0, Diagnostic.INVALID_R1) in w.events["b"]
    assert CallCleared(lcn, 0, Diagnostic.INVALID_R1, True) in w.events["b"]
    assert w.events["a"][-1] == PacketLayerReady()
    # The same from the DCE's side: it restarts with "local procedure error".
    answers = w.inject("b", H("1000ff"))
    assert [(p.type, p.cause, p.diagnostic) for p in answers] == [
        (T.RESTART, RestartCause.LOCAL_PROCEDURE_ERROR, Diagnostic.INVALID_R1)
    ]


def test_peer_restart_clears_every_call_and_resets_every_pvc() -> None:
    w = Wire(dte(pvcs=(1,), two_way=(2, 10)), dce(pvcs=(1,), two_way=(2, 10)))
    w.up()
    lcn = w.connect()
    w.a.send(1, b"pvc", w.now)
    w.pump()
    w.clear_log()
    w.a.link_up(w.now)  # the link was reset under the DTE: it restarts
    w.pump()
    assert w.events["b"][0] == RestartIndication(0, 0)
    assert CallCleared(lcn, 0, 0, True) in w.events["b"]
    assert ResetIndication(1, 0, 0) in w.events["b"]
    assert PacketLayerReady() not in w.events["b"]  # the DCE never stopped being ready
    # The DTE's own link bounce ended its call with "out of order".
    assert CallCleared(lcn, ClearCause.OUT_OF_ORDER, 0, False) in w.events["a"]
    assert w.events["a"][-1] == PacketLayerReady()
    assert w.a.circuit_state(lcn) == w.b.circuit_state(lcn) == "ready"
    w.a.send(1, b"again", w.now)
    w.pump()
    assert w.data("b")[-1].data == b"again"


def test_link_down_clears_calls_resets_pvcs_and_comes_back() -> None:
    w = Wire(dte(pvcs=(1,), two_way=(2, 10)), dce(pvcs=(1,), two_way=(2, 10)))
    w.up()
    lcn = w.connect()
    calling = w.a.call(DCE_ADDR, w.now)  # still being set up
    w.pump()
    w.clear_log()
    w.a.link_down(w.now)
    w.pump()
    assert w.events["a"] == [
        ResetIndication(1, ResetCause.NETWORK_OUT_OF_ORDER, 0),
        CallCleared(calling, ClearCause.OUT_OF_ORDER, 0, False),
        CallCleared(lcn, ClearCause.OUT_OF_ORDER, 0, False),
        PacketLayerDown("link down"),
    ]
    assert not w.a.ready and w.a.packets_to_send() == []
    with pytest.raises(LocalProtocolError):
        w.a.call(DCE_ADDR, w.now)
    w.a.receive_packet(H("1000fb0000"), w.now)
    assert w.a.counters.link_not_up == 1
    w.a.link_down(w.now)  # twice: nothing more
    w.b.link_down(w.now)
    w.clear_log()
    w.up()
    assert w.a.circuit_state(lcn) == "ready"
    w.connect()


# ============================================================================ calls


def test_call_set_up_data_and_clear(wire: Wire) -> None:
    w = wire
    lcn = w.a.call(DCE_ADDR, w.now, user_data=b"\xcc")
    assert w.a.circuit_state(lcn) == "calling"
    w.pump()
    (offer,) = w.of("b", IncomingCall)
    assert offer == IncomingCall(lcn, DCE_ADDR, DTE_ADDR, b"\xcc", Facilities())
    assert w.b.circuit_state(lcn) == "called"
    w.b.accept(lcn, w.now)
    w.pump()
    assert w.of("a", CallConnected) == [CallConnected(lcn, 128, 2)]
    assert w.of("b", CallConnected) == [CallConnected(lcn, 128, 2)]
    call = w.sent["a"][0]
    assert (call.type, call.called, call.calling, call.facilities, call.data) == (
        T.CALL,
        DCE_ADDR,
        DTE_ADDR,
        b"",
        b"\xcc",
    )
    assert w.sent["b"][0] == Packet(T.CALL_ACCEPTED, lcn)  # nothing asked, nothing answered
    w.a.send(lcn, b"ping", w.now)
    w.b.send(lcn, b"pong", w.now)
    w.pump()
    assert [e.data for e in w.data("b")] == [b"ping"] and [e.data for e in w.data("a")] == [b"pong"]
    w.a.clear(lcn, w.now, 0x80, 241)
    assert w.a.circuit_state(lcn) == "clearing"
    w.pump()
    assert w.of("b", CallCleared) == [CallCleared(lcn, 0x80, 241, True)]
    assert w.of("a", CallCleared) == [CallCleared(lcn, 0x80, 241, False)]  # when the LCN is free again
    assert w.a.circuit_state(lcn) == w.b.circuit_state(lcn) == "ready"
    assert (w.a.counters.calls_out, w.b.counters.calls_in, w.a.counters.calls_accepted) == (1, 1, 1)
    assert w.a.counters.clears_tx == 1 and w.b.counters.clears_rx == 1
    w.a.clear(lcn, w.now)  # nothing to clear: nothing happens
    assert w.a.packets_to_send() == []
    json.dumps(w.a.status())


def test_call_refused_by_the_dce_user(wire: Wire) -> None:
    w = wire
    lcn = w.a.call(DCE_ADDR, w.now)
    w.pump()
    w.b.clear(lcn, w.now, ClearCause.NUMBER_BUSY, 0)
    w.pump()
    assert w.of("a", CallCleared) == [CallCleared(lcn, ClearCause.NUMBER_BUSY, 0, True)]
    assert w.of("b", CallCleared) == [CallCleared(lcn, ClearCause.NUMBER_BUSY, 0, False)]
    assert w.a.counters.calls_refused == 1 and w.a.counters.calls_accepted == 0
    assert w.a.get_timer() is None


def test_dte_refuses_an_incoming_call(wire: Wire) -> None:
    w = wire
    lcn = w.b.call(DTE_ADDR, w.now)
    w.pump()
    assert w.of("a", IncomingCall)[0].lcn == lcn
    with pytest.raises(LocalProtocolError):
        w.a.clear(lcn, w.now, 256)
    # A DTE's cause is 0 or has bit 8 set (X.25): a network cause goes out with bit 8 set.
    w.a.clear(lcn, w.now, ClearCause.NUMBER_BUSY, 0)
    w.pump()
    assert of_type(w.sent["a"], T.CLEAR)[0].cause == 0x81
    assert w.of("b", CallCleared) == [CallCleared(lcn, 0x81, 0, True)]
    assert w.of("a", CallCleared) == [CallCleared(lcn, 0x81, 0, False)]


@pytest.mark.parametrize(
    ("asked", "dce_kw", "expect_dte", "expect_dce"),
    [
        # Larger than the default: the DCE may agree up to its own maximum.
        (Facilities((1024, 1024), (7, 7)), {}, (1024, 7), (1024, 7)),
        (Facilities((1024, 512), (7, 4)), {"max_packet_size": 256, "max_window": 5}, (256, 5), (256, 4)),
        # Smaller than the default: taken as asked.
        (Facilities((32, 64), (1, 1)), {}, (32, 1), (64, 1)),
        # Only one facility: the other stays at its default.
        (Facilities(window=(3, 3)), {}, (128, 3), (128, 3)),
    ],
)
def test_facility_negotiation(
    asked: Facilities, dce_kw: dict[str, Any], expect_dte: tuple[int, int], expect_dce: tuple[int, int]
) -> None:
    w = Wire(dte(), dce(**dce_kw))
    w.up()
    lcn = w.a.call(DCE_ADDR, w.now, facilities=asked)
    w.pump()
    assert w.of("b", IncomingCall)[0].facilities == asked
    w.b.accept(lcn, w.now)
    w.pump()
    assert w.of("a", CallConnected) == [CallConnected(lcn, *expect_dte)]
    assert w.of("b", CallConnected) == [CallConnected(lcn, *expect_dce)]
    accepted = w.sent["b"][0]
    assert (accepted.facilities != b"") == (asked.packet_size is not None or asked.window is not None)
    # Sizes hold on the wire: the DTE sends packets of its size, the DCE of its.
    w.a.send(lcn, bytes(3000), w.now)
    w.b.send(lcn, bytes(3000), w.now)
    w.pump()
    assert max(len(p.data) for p in of_type(w.sent["a"], T.DATA)) == expect_dte[0]
    assert max(len(p.data) for p in of_type(w.sent["b"], T.DATA)) == expect_dce[0]
    assert w.data("a")[0].data == w.data("b")[0].data == bytes(3000)


def test_accept_with_explicit_facilities(wire: Wire) -> None:
    w = wire
    lcn = w.a.call(DCE_ADDR, w.now, facilities=Facilities((2048, 2048), (7, 7)))
    w.pump()
    with pytest.raises(LocalProtocolError):
        w.b.accept(lcn, w.now, facilities=Facilities(packet_size=(4096, 4096)))  # away from the default
    with pytest.raises(LocalProtocolError):
        w.b.accept(lcn, w.now, facilities=Facilities(window=(1, 1)))  # below the default 2
    w.b.accept(lcn, w.now, facilities=Facilities((512, 256), (2, 3)))
    w.pump()
    assert w.of("a", CallConnected) == [CallConnected(lcn, 512, 2)]
    assert w.of("b", CallConnected) == [CallConnected(lcn, 256, 3)]
    with pytest.raises(LocalProtocolError):
        w.b.accept(lcn, w.now)  # already connected


def test_call_argument_checks(wire: Wire) -> None:
    w = wire
    for kwargs in (
        {"called": "12ab"},
        {"called": "1" * 16},
        {"called": "1", "calling": "x"},
        {"called": "1", "user_data": bytes(17)},
        {"called": "1", "facilities": Facilities(packet_size=(8192, 128))},
        {"called": "1", "facilities": Facilities(packet_size=(100, 128))},
        {"called": "1", "facilities": Facilities(window=(8, 2))},
        {"called": "1", "facilities": Facilities(other=H("0180"))},  # fast select: not supported
        {"called": "1", "facilities": Facilities(other=H("3f00"))},  # not an X.25 facility
    ):
        called = kwargs.pop("called")
        with pytest.raises(LocalProtocolError):
            w.a.call(called, w.now, **kwargs)
    assert w.a.packets_to_send() == []
    with pytest.raises(LocalProtocolError):
        w.a.accept(77, w.now)  # nothing offered there
    with pytest.raises(LocalProtocolError):
        w.a.accept(300, w.now)  # not an LCN of this line
    with pytest.raises(LocalProtocolError):
        w.a.send(77, b"x", w.now)
    with pytest.raises(LocalProtocolError):
        w.a.reset(77, w.now)
    with pytest.raises(LocalProtocolError):
        w.a.interrupt(77, b"x", w.now)
    assert w.a.circuit_state(300) == "unassigned"
    assert not w.a.can_send(77) and not w.a.can_send(300)


def test_call_collision_the_dce_serves_the_dtes_call() -> None:
    w = Wire(dte(two_way=(5, 5)), dce(two_way=(5, 5)))
    w.up()
    assert w.a.call(DCE_ADDR, w.now, user_data=b"\x01") == 5
    assert w.b.call(DTE_ADDR, w.now, user_data=b"\x02") == 5  # crossing on the wire
    w.pump()
    assert w.a.counters.call_collisions == 1 and w.b.counters.call_collisions == 1
    # The DCE's own call is gone, and the DTE's offered in its place.
    assert w.events["b"] == [
        CallCleared(5, 0, Diagnostic.CALL_COLLISION, True),
        IncomingCall(5, DCE_ADDR, DTE_ADDR, b"\x01", Facilities()),
    ]
    assert w.events["a"] == []  # the DTE never hears of the DCE's call
    assert w.a.circuit_state(5) == "calling" and w.b.circuit_state(5) == "called"
    with pytest.raises(LocalProtocolError):
        w.a.accept(5, w.now)  # the DTE cannot take the DCE's call in p5
    w.b.accept(5, w.now)
    w.pump()
    assert w.of("a", CallConnected) == [CallConnected(5, 128, 2)]
    w.a.send(5, b"after the collision", w.now)
    w.pump()
    assert w.data("b")[0].data == b"after the collision"


def test_call_collision_dce_may_clear_the_dtes_call() -> None:
    w = Wire(dte(two_way=(5, 5)), dce(two_way=(5, 5)))
    w.up()
    w.a.call(DCE_ADDR, w.now)
    w.b.call(DTE_ADDR, w.now)
    w.pump()
    w.b.clear(5, w.now, ClearCause.NUMBER_BUSY)
    w.pump()
    assert w.of("a", CallCleared) == [CallCleared(5, ClearCause.NUMBER_BUSY, 0, True)]
    assert w.a.circuit_state(5) == w.b.circuit_state(5) == "ready"


def test_clear_collision(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.clear_log()
    w.a.clear(lcn, w.now, 0, 1)
    w.b.clear(lcn, w.now, ClearCause.OUT_OF_ORDER, 2)
    w.pump()
    assert not of_type(w.sent["a"], T.CLEAR_CONFIRMATION) and not of_type(w.sent["b"], T.CLEAR_CONFIRMATION)
    # Each end reports its own clearing: its user asked for it.
    assert w.of("a", CallCleared) == [CallCleared(lcn, 0, 1, False)]
    assert w.of("b", CallCleared) == [CallCleared(lcn, ClearCause.OUT_OF_ORDER, 2, False)]
    assert w.a.circuit_state(lcn) == w.b.circuit_state(lcn) == "ready"
    assert w.a.get_timer() is None and w.b.get_timer() is None


# ============================================================================ LCN ranges


def test_dte_takes_the_highest_lcn_and_the_dce_the_lowest() -> None:
    w = Wire(
        dte(incoming=(1, 3), two_way=(4, 6), outgoing=(7, 8)),
        dce(incoming=(1, 3), two_way=(4, 6), outgoing=(7, 8)),
    )
    w.up()
    dte_lcns = [w.a.call(DCE_ADDR, w.now) for _ in range(5)]
    assert dte_lcns == [8, 7, 6, 5, 4]  # outgoing first, then two-way, never incoming-only
    with pytest.raises(LocalProtocolError):
        w.a.call(DCE_ADDR, w.now)  # exhausted: 1-3 are incoming-only
    w.pump()
    assert len(w.of("b", IncomingCall)) == 5
    w2 = Wire(
        dte(incoming=(1, 3), two_way=(4, 6), outgoing=(7, 8)),
        dce(incoming=(1, 3), two_way=(4, 6), outgoing=(7, 8)),
    )
    w2.up()
    dce_lcns = [w2.b.call(DTE_ADDR, w2.now) for _ in range(6)]
    assert dce_lcns == [1, 2, 3, 4, 5, 6]  # never the DTE's outgoing-only
    with pytest.raises(LocalProtocolError):
        w2.b.call(DTE_ADDR, w2.now)
    # Freed LCNs are taken again.
    w2.pump()
    w2.a.clear(2, w2.now)
    w2.pump()
    assert w2.b.call(DTE_ADDR, w2.now) == 2


def test_call_on_a_one_way_channel_is_cleared() -> None:
    w = Wire(
        dte(incoming=(1, 3), two_way=(4, 6), outgoing=(7, 8)),
        dce(incoming=(1, 3), two_way=(4, 6), outgoing=(7, 8)),
    )
    w.up()
    call = codec.encode(Packet(T.CALL, 2, called=DCE_ADDR, calling=DTE_ADDR, facilities=b""))
    answers = w.inject("b", call, forward=False)  # a DTE calling on an incoming-only LCN
    assert [(p.type, p.lcn, p.cause, p.diagnostic) for p in answers] == [
        (T.CLEAR, 2, ClearCause.LOCAL_PROCEDURE_ERROR, Diagnostic.CALL_ON_ONE_WAY_CHANNEL)
    ]
    assert w.of("b", IncomingCall) == [] and w.b.counters.invalid_in_state == 1
    call = codec.encode(Packet(T.CALL, 7, called=DTE_ADDR, calling=DCE_ADDR, facilities=b""))
    answers = w.inject("a", call, forward=False)  # a DCE calling on an outgoing-only LCN
    assert [(p.type, p.cause, p.diagnostic) for p in answers] == [(T.CLEAR, 0, 34)]


# ============================================================================ data transfer


@pytest.mark.parametrize("modulo", [8, 128])
@pytest.mark.parametrize("size", [0, 1, 127, 128, 129, 255, 256, 257, 1000, 5000])
def test_m_bit_segmentation_and_reassembly(modulo: int, size: int) -> None:
    kw = {"modulo": modulo, "window": 7 if modulo == 8 else 20, "max_window": 7 if modulo == 8 else 127}
    w = Wire(dte(**kw), dce(**kw))
    w.up()
    lcn = w.connect()
    w.clear_log()
    message = bytes(random.Random(size).randbytes(size))
    assert w.a.send(lcn, message, w.now, q=True, d=True)
    w.pump()
    data = of_type(w.sent["a"], T.DATA)
    assert len(data) == max(1, -(-size // 128))
    assert all(len(p.data) == 128 and p.m for p in data[:-1]) and not data[-1].m
    assert all(p.q and p.d and p.modulo == modulo for p in data)
    assert w.data("b") == [DataReceived(lcn, message, True, True)]


def test_many_messages_both_ways_with_windows_in_order() -> None:
    w = Wire(dte(window=3, tx_queue_limit=200), dce(window=3, tx_queue_limit=200))
    w.up()
    lcn = w.connect(facilities=Facilities(window=(3, 3)))
    rng = random.Random(7)
    out_a = [rng.randbytes(rng.randrange(0, 700)) for _ in range(150)]
    out_b = [rng.randbytes(rng.randrange(0, 700)) for _ in range(150)]
    for i in range(150):
        assert w.a.send(lcn, out_a[i], w.now, q=bool(i % 3 == 0))
        assert w.b.send(lcn, out_b[i], w.now, d=bool(i % 5 == 0))
    w.pump()
    assert [e.data for e in w.data("b")] == out_a
    assert [e.q for e in w.data("b")] == [i % 3 == 0 for i in range(150)]
    assert [e.data for e in w.data("a")] == out_b
    assert [e.d for e in w.data("a")] == [i % 5 == 0 for i in range(150)]
    assert w.a.counters.bad_ps == w.a.counters.bad_pr == w.b.counters.bad_ps == 0
    assert w.a.status()["circuits"][lcn]["unacked"] == 0


def test_window_limits_packets_in_flight() -> None:
    w = Wire(dte(window=2), dce(window=2))
    w.up()
    lcn = w.connect()
    w.cut["b"] = True  # no acknowledgements come back
    w.a.send(lcn, bytes(128 * 5), w.now)
    w.pump()
    assert len(of_type(w.sent["a"], T.DATA)) == 2
    assert w.a.status()["circuits"][lcn]["unacked"] == 2
    w.inject("a", codec.encode(Packet(T.RR, lcn, pr=1)))  # one acknowledged: one more goes
    assert len(of_type(w.sent["a"], T.DATA)) == 3
    w.inject("a", codec.encode(Packet(T.RR, lcn, pr=3)))
    assert len(of_type(w.sent["a"], T.DATA)) == 5
    assert w.a.status()["circuits"][lcn]["unacked"] == 2
    assert w.a.counters.rr_rx == 2 and w.data("b") == [DataReceived(lcn, bytes(640), False, False)]


def test_busy_receiver_loses_nothing() -> None:
    w = Wire(dte(window=4, max_window=7, tx_queue_limit=50), dce(window=4, max_window=7))
    w.up()
    lcn = w.connect()
    w.clear_log()
    w.b.set_busy(lcn, True, w.now)
    w.pump()
    assert of_type(w.sent["b"], T.RNR)
    for i in range(20):
        assert w.a.send(lcn, b"m%02d" % i, w.now)
    w.pump()
    # The DTE stops once its window is used: the RNR came before any data.
    assert of_type(w.sent["a"], T.DATA) == []
    assert w.a.status()["circuits"][lcn]["peer_busy"]
    w.b.set_busy(lcn, False, w.now)
    w.pump()
    assert [e.data for e in w.data("b")] == [b"m%02d" % i for i in range(20)]


def test_busy_receiver_still_delivers_what_is_in_the_window() -> None:
    w = Wire(dte(window=4, max_window=7, tx_queue_limit=50), dce(window=4, max_window=7))
    w.up()
    lcn = w.connect()
    for i in range(10):
        w.a.send(lcn, b"x%d" % i, w.now)
    # The RNR crosses four data packets on the wire: they are all delivered, none lost.
    w.b.set_busy(lcn, True, w.now)
    w.pump()
    assert [e.data for e in w.data("b")] == [b"x%d" % i for i in range(4)]
    assert w.b.counters.bad_ps == 0
    assert not of_type(w.sent["b"], T.RR)  # no RR while busy
    w.b.set_busy(lcn, False, w.now)
    w.pump()
    assert [e.data for e in w.data("b")] == [b"x%d" % i for i in range(10)]


def test_send_queue_limit_and_circuit_writable() -> None:
    w = Wire(dte(tx_queue_limit=3), dce())
    w.up()
    lcn = w.connect()
    w.b.set_busy(lcn, True, w.now)
    w.pump()
    assert [w.a.send(lcn, b"%d" % i, w.now) for i in range(4)] == [True, True, True, False]
    assert not w.a.can_send(lcn)
    assert w.of("a", CircuitWritable) == []
    w.b.set_busy(lcn, False, w.now)
    w.pump()
    assert w.of("a", CircuitWritable) == [CircuitWritable(lcn)]
    assert w.a.can_send(lcn)
    assert [e.data for e in w.data("b")] == [b"0", b"1", b"2"]


def test_reset_by_the_user_loses_queued_data_and_restarts_sequence_numbers(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.b.set_busy(lcn, True, w.now)
    w.pump()
    for i in range(5):
        w.a.send(lcn, b"lost%d" % i, w.now)
    w.clear_log()
    w.a.reset(lcn, w.now, 0, 0x42)
    w.pump()
    assert w.events["a"] == []  # our own reset: no event
    assert w.of("b", ResetIndication) == [ResetIndication(lcn, 0, 0x42)]
    assert [p.type for p in w.sent["b"]] == [T.RESET_CONFIRMATION]
    assert w.a.counters.lost_messages == 5
    assert not w.a.status()["circuits"][lcn]["peer_busy"]  # a reset ends the busy condition
    w.a.send(lcn, b"fresh", w.now)
    w.pump()
    assert [e.data for e in w.data("b")] == [b"fresh"]
    assert of_type(w.sent["a"], T.DATA)[0].ps == 0
    w.a.reset(lcn, w.now)
    w.a.reset(lcn, w.now)  # already resetting: nothing more
    assert len(of_type(codec_list(w.a.packets_to_send()), T.RESET)) == 1


def codec_list(raws: list[bytes]) -> list[Packet]:
    return [codec.decode(r) for r in raws]


def test_reset_collision(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.clear_log()
    w.a.reset(lcn, w.now)
    w.b.reset(lcn, w.now)
    w.pump()
    assert not of_type(w.sent["a"], T.RESET_CONFIRMATION) and not of_type(w.sent["b"], T.RESET_CONFIRMATION)
    assert w.a.get_timer() is None and w.b.get_timer() is None
    w.a.send(lcn, b"ok", w.now)
    w.pump()
    assert w.data("b")[-1].data == b"ok"


def test_busy_set_while_resetting_is_told_when_the_reset_completes(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.cut["b"] = True
    w.a.reset(lcn, w.now)
    w.pump()
    w.a.set_busy(lcn, True, w.now)
    w.clear_log()
    w.cut["b"] = False
    w.inject("a", codec.encode(Packet(T.RESET_CONFIRMATION, lcn)), forward=True)
    assert [p.type for p in w.sent["a"]] == [T.RNR]


def test_interrupt_and_confirmation(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.a.interrupt(lcn, b"\x01\x02", w.now)
    with pytest.raises(LocalProtocolError):
        w.a.interrupt(lcn, b"\x03", w.now)  # one outstanding
    w.pump()
    assert w.of("b", InterruptReceived) == [InterruptReceived(lcn, b"\x01\x02")]
    assert w.of("a", InterruptConfirmed) == [InterruptConfirmed(lcn)]
    w.a.interrupt(lcn, bytes(32), w.now)
    w.pump()
    with pytest.raises(LocalProtocolError):
        w.a.interrupt(lcn, bytes(33), w.now)
    with pytest.raises(LocalProtocolError):
        w.a.interrupt(lcn, b"", w.now)
    w.b.interrupt(lcn, b"z", w.now)
    w.pump()
    assert w.of("a", InterruptReceived) == [InterruptReceived(lcn, b"z")]
    assert w.a.counters.interrupts_tx == 2 and w.b.counters.interrupts_rx == 2


def test_pvcs_carry_data_after_restart_without_a_call() -> None:
    w = Wire(dte(pvcs=(1, 2), two_way=(10, 20)), dce(pvcs=(1, 2), two_way=(10, 20)))
    assert w.a.circuit_state(1) == "down"
    w.up()
    assert w.a.circuit_state(1) == "pvc" and w.a.can_send(1)
    w.a.send(1, b"one", w.now)
    w.b.send(2, bytes(700), w.now)
    w.pump()
    assert w.data("b") == [DataReceived(1, b"one", False, False)]
    assert w.data("a") == [DataReceived(2, bytes(700), False, False)]
    for bad in (lambda: w.a.clear(1, w.now), lambda: w.a.accept(1, w.now)):
        with pytest.raises(LocalProtocolError):
            bad()
    w.a.reset(1, w.now)
    w.pump()
    assert w.of("b", ResetIndication) == [ResetIndication(1, 0, 0)]
    # A call set-up packet on a PVC is reset with diagnostic 35.
    answers = w.inject("b", codec.encode(Packet(T.CALL, 2, called="1", facilities=b"")))
    assert [(p.type, p.cause, p.diagnostic) for p in answers] == [
        (T.RESET, ResetCause.LOCAL_PROCEDURE_ERROR, Diagnostic.INVALID_PACKET_ON_PVC)
    ]
    assert w.b.counters.invalid_in_state == 1
    assert w.b.circuit_state(2) == "pvc"


# ============================================================================ timers


def test_t21_unanswered_call_is_cleared_with_diagnostic_49() -> None:
    w = Wire(dte(t21=10.0), dce())
    w.up()
    lcn = w.a.call(DCE_ADDR, w.now)
    w.pump()
    w.advance(9.9)
    assert w.a.circuit_state(lcn) == "calling"
    w.advance(0.2)
    clears = of_type(w.sent["a"], T.CLEAR)
    assert [(p.cause, p.diagnostic) for p in clears] == [(0, Diagnostic.TIME_EXPIRED_CALL)]
    assert w.of("a", CallCleared) == [CallCleared(lcn, 0, 49, False)]
    assert w.of("b", CallCleared) == [CallCleared(lcn, 0, 49, True)]
    assert w.a.counters.timeouts == 1 and w.a.counters.calls_refused == 1


def test_t11_dce_incoming_call_unanswered() -> None:
    w = Wire(dte(), dce(t21=4.0))
    w.up()
    lcn = w.b.call(DTE_ADDR, w.now)
    w.pump()
    w.advance(5.0)
    assert [(p.cause, p.diagnostic) for p in of_type(w.sent["b"], T.CLEAR)] == [
        (ClearCause.LOCAL_PROCEDURE_ERROR, Diagnostic.TIME_EXPIRED_CALL)
    ]
    assert w.of("a", CallCleared) == [CallCleared(lcn, ClearCause.LOCAL_PROCEDURE_ERROR, 49, True)]


def test_t22_reset_repeated_then_the_call_cleared() -> None:
    w = Wire(dte(t22=3.0, r22=2), dce())
    w.up()
    lcn = w.connect()
    w.cut["b"] = True  # the DCE hears but cannot answer
    w.clear_log()
    w.a.reset(lcn, w.now)
    w.pump()
    w.advance(3.0 * 3 - 0.1)
    assert len(of_type(w.sent["a"], T.RESET)) == 3  # the first and two repeats
    assert not of_type(w.sent["a"], T.CLEAR)
    w.advance(0.2)
    assert [(p.cause, p.diagnostic) for p in of_type(w.sent["a"], T.CLEAR)] == [
        (0, Diagnostic.TIME_EXPIRED_RESET)
    ]
    assert w.a.counters.timeouts == 3


def test_t22_on_a_pvc_takes_the_reset_as_done() -> None:
    w = Wire(dte(pvcs=(1,), two_way=None), dce(pvcs=(1,), two_way=None, t22=2.0, r22=0))
    w.up()
    w.cut["a"] = True
    w.b.reset(1, w.now)
    w.pump()
    w.advance(2.5)
    assert [p.diagnostic for p in of_type(w.sent["b"], T.DIAGNOSTIC)] == [Diagnostic.TIME_EXPIRED_RESET]
    assert w.b.status()["circuits"][1]["d"] == "d1"
    assert w.b.get_timer() is None


@pytest.mark.parametrize("side", ["a", "b"])
def test_t23_clear_repeated_then_the_lcn_taken_back(side: str) -> None:
    w = Wire(dte(t23=2.0, r23=1), dce(t23=2.0, r23=1))
    w.up()
    lcn = w.connect()
    w.cut["b" if side == "a" else "a"] = True  # no confirmation ever comes
    w.clear_log()
    w.layer(side).clear(lcn, w.now)
    w.pump()
    w.advance(2.0)
    assert len(of_type(w.sent[side], T.CLEAR)) == 2
    assert w.of(side, CallCleared) == []
    w.advance(2.0)
    assert w.of(side, CallCleared) == [CallCleared(lcn, 0, 0, False)]
    assert w.layer(side).circuit_state(lcn) == "ready"
    diags = [p.diagnostic for p in of_type(w.sent[side], T.DIAGNOSTIC)]
    assert diags == ([Diagnostic.TIME_EXPIRED_CLEAR] if side == "b" else [])  # only a DCE sends them


# ============================================================================ bad input


def answer(packets: list[Packet]) -> list[tuple[T, int, int, int | None]]:
    return [(p.type, p.lcn, p.cause, p.diagnostic) for p in packets]


def test_unassigned_lcn(wire: Wire) -> None:
    w = wire
    raw = codec.encode(Packet(T.DATA, 300, data=b"x"))
    assert w.inject("a", raw, forward=False) == []  # a DTE sends no diagnostic packets
    assert w.a.counters.unassigned_lcn == 1 and "unassigned_lcn" in errors(w, "a")
    assert answer(w.inject("b", raw, forward=False)) == [(T.DIAGNOSTIC, 0, 0, Diagnostic.UNASSIGNED_LCN)]
    assert w.sent["b"][-1].data == raw[:3]  # the explanation: the bad packet's header
    assert w.b.counters.unassigned_lcn == 1 and w.b.counters.diagnostics_tx == 1
    # LCN 0 carries restart packets only.
    assert answer(w.inject("b", codec.encode(Packet(T.RR, 0)), forward=False)) == [
        (T.DIAGNOSTIC, 0, 0, Diagnostic.UNASSIGNED_LCN)
    ]


@pytest.mark.parametrize("side", ["a", "b"])
def test_bad_ps_resets_with_diagnostic_1(side: str) -> None:
    w = Wire()
    w.up()
    lcn = w.connect()
    cause = ResetCause.DTE_ORIGINATED if side == "a" else ResetCause.LOCAL_PROCEDURE_ERROR
    answers = w.inject(side, codec.encode(Packet(T.DATA, lcn, ps=3, pr=0, data=b"x")))
    assert answer(answers) == [(T.RESET, lcn, cause, Diagnostic.INVALID_PS)]
    assert w.layer(side).counters.bad_ps == 1
    assert w.of(side, ResetIndication) == [ResetIndication(lcn, cause, Diagnostic.INVALID_PS)]
    other = "b" if side == "a" else "a"
    assert w.of(other, ResetIndication) == [ResetIndication(lcn, cause, Diagnostic.INVALID_PS)]


def test_beyond_the_window_is_a_reset_not_a_silent_drop(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.b.set_busy(lcn, True, w.now)  # no RR from the DCE from now on
    w.pump()
    for ps in range(2):  # the window of 2 is used up...
        assert w.inject("b", codec.encode(Packet(T.DATA, lcn, ps=ps, data=b"%d" % ps)), forward=False) == []
    answers = w.inject("b", codec.encode(Packet(T.DATA, lcn, ps=2, data=b"2")), forward=False)  # ...one more
    assert answer(answers) == [(T.RESET, lcn, ResetCause.LOCAL_PROCEDURE_ERROR, Diagnostic.INVALID_PS)]
    assert [e.data for e in w.data("b")] == [b"0", b"1"]


def test_bad_pr_resets_with_diagnostic_2(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    answers = w.inject("a", codec.encode(Packet(T.RR, lcn, pr=3)))  # nothing was sent: P(R) must be 0
    assert answer(answers) == [(T.RESET, lcn, 0, Diagnostic.INVALID_PR)]
    assert w.a.counters.bad_pr == 1
    answers = w.inject("b", codec.encode(Packet(T.DATA, lcn, ps=0, pr=5, data=b"x")))
    assert answer(answers) == [(T.RESET, lcn, ResetCause.LOCAL_PROCEDURE_ERROR, Diagnostic.INVALID_PR)]


def test_oversize_data_resets_with_diagnostic_39(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    answers = w.inject("a", codec.encode(Packet(T.DATA, lcn, data=bytes(129))))
    assert answer(answers) == [(T.RESET, lcn, 0, Diagnostic.PACKET_TOO_LONG)]
    assert w.a.counters.oversize == 1 and w.data("a") == []


def test_inconsistent_q_bit_resets_with_diagnostic_83(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.inject("a", codec.encode(Packet(T.DATA, lcn, q=True, ps=0, m=True, data=bytes(128))), forward=False)
    answers = w.inject("a", codec.encode(Packet(T.DATA, lcn, q=False, ps=1, data=b"x")))
    assert answer(answers) == [(T.RESET, lcn, 0, Diagnostic.INCONSISTENT_Q_BIT)]


def test_reject_is_not_subscribed(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    answers = w.inject("b", codec.encode(Packet(T.REJ, lcn, pr=0)))
    assert answer(answers) == [
        (T.RESET, lcn, ResetCause.LOCAL_PROCEDURE_ERROR, Diagnostic.REJECT_NOT_SUBSCRIBED)
    ]
    assert w.b.counters.rej_rx == 1


def test_unauthorized_interrupt_confirmation(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    answers = w.inject("a", codec.encode(Packet(T.INTERRUPT_CONFIRMATION, lcn)))
    assert answer(answers) == [(T.RESET, lcn, 0, Diagnostic.UNAUTHORIZED_INTERRUPT_CONFIRMATION)]


@pytest.mark.parametrize(
    ("side", "make", "expect"),
    [
        # Data on an idle SVC (p1): cleared, #20.
        ("a", lambda lcn: Packet(T.DATA, 200), (T.CLEAR, 200, 0, Diagnostic.INVALID_P1)),
        ("b", lambda lcn: Packet(T.DATA, 1), (T.CLEAR, 1, ClearCause.LOCAL_PROCEDURE_ERROR, 20)),
        # Clear confirmation on an idle SVC.
        ("a", lambda lcn: Packet(T.CLEAR_CONFIRMATION, 200), (T.CLEAR, 200, 0, 20)),
        # Call accepted in data transfer (p4): cleared, #23.
        ("a", lambda lcn: Packet(T.CALL_ACCEPTED, lcn), (T.CLEAR, None, 0, Diagnostic.INVALID_P4)),
        ("b", lambda lcn: Packet(T.CALL, lcn, called="1", facilities=b""), (T.CLEAR, None, 0x13, 23)),
        # Reset confirmation in d1: reset, #27.
        ("a", lambda lcn: Packet(T.RESET_CONFIRMATION, lcn), (T.RESET, None, 0, Diagnostic.INVALID_D1)),
        ("b", lambda lcn: Packet(T.RESET_CONFIRMATION, lcn), (T.RESET, None, 0x05, 27)),
    ],
)
def test_packets_invalid_in_state(side: str, make: Any, expect: tuple[Any, ...]) -> None:
    w = Wire()
    w.up()
    lcn = w.connect()
    answers = w.inject(side, codec.encode(make(lcn)))
    t, at, cause, diag = expect
    assert answer(answers) == [(t, lcn if at is None else at, cause, diag)]
    assert w.layer(side).counters.invalid_in_state == 1
    assert "invalid_in_state" in errors(w, side)


def test_packet_invalid_while_calling(wire: Wire) -> None:
    w = wire
    lcn = w.a.call(DCE_ADDR, w.now)
    w.cut["a"] = True  # the DCE never hears of it
    w.pump()
    answers = w.inject("a", codec.encode(Packet(T.RR, lcn)), forward=False)
    assert answer(answers) == [(T.CLEAR, lcn, 0, Diagnostic.INVALID_P2)]
    assert w.of("a", CallCleared) == []  # the call ends when the clear is confirmed
    w.inject("a", codec.encode(Packet(T.CLEAR_CONFIRMATION, lcn)), forward=False)
    assert w.of("a", CallCleared) == [CallCleared(lcn, 0, Diagnostic.INVALID_P2, False)]


def test_packets_while_clearing_are_discarded(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.cut["a"] = True
    w.a.clear(lcn, w.now)
    w.pump()
    assert w.inject("a", codec.encode(Packet(T.DATA, lcn, data=b"late")), forward=False) == []
    assert w.inject("a", codec.encode(Packet(T.RESET, lcn, cause=0, diagnostic=0)), forward=False) == []
    assert w.a.counters.discarded == 2 and w.data("a") == []


@pytest.mark.parametrize(
    ("raw", "counter", "dce_answer"),
    [
        (H("10"), "malformed", (T.DIAGNOSTIC, 0, 0, Diagnostic.PACKET_TOO_SHORT)),
        (H("000100"), "malformed", (T.DIAGNOSTIC, 0, 0, Diagnostic.INVALID_GFI)),
        (
            H("20010102"),
            "malformed",
            (T.DIAGNOSTIC, 0, 0, Diagnostic.INVALID_GFI),
        ),  # modulo 128 on a modulo 8 line
        (H("1000fd"), "unknown_type", (T.DIAGNOSTIC, 0, 0, Diagnostic.UNIDENTIFIABLE_PACKET)),
        (
            H("1000f300"),
            "unknown_type",
            (T.DIAGNOSTIC, 0, 0, Diagnostic.UNIDENTIFIABLE_PACKET),
        ),  # registration
    ],
)
def test_packets_outside_any_circuit_get_a_diagnostic_from_the_dce(
    raw: bytes, counter: str, dce_answer: tuple[Any, ...]
) -> None:
    w = Wire()
    w.up()
    assert w.inject("a", raw, forward=False) == []
    assert getattr(w.a.counters, counter) == 1
    assert answer(w.inject("b", raw, forward=False)) == [dce_answer]
    assert getattr(w.b.counters, counter) == 1
    assert w.a.ready and w.b.ready


def test_unknown_type_and_short_packets_on_a_circuit(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    assert answer(w.inject("a", bytes((0x10, lcn, 0xFD)))) == [
        (T.RESET, lcn, 0, Diagnostic.UNIDENTIFIABLE_PACKET)
    ]
    assert w.a.counters.unknown_type == 1
    assert answer(w.inject("a", bytes((0x10, lcn, 0x13)))) == [(T.CLEAR, lcn, 0, Diagnostic.PACKET_TOO_SHORT)]
    assert w.a.counters.malformed == 1
    assert w.of("b", CallCleared) == [CallCleared(lcn, 0, Diagnostic.PACKET_TOO_SHORT, True)]
    # A malformed restart is answered by a restart.
    assert answer(w.inject("a", H("1000fb"))) == [(T.RESTART, 0, 0, Diagnostic.PACKET_TOO_SHORT)]
    # A restart packet on a circuit's LCN: diagnostic 41 on that circuit (idle here: a clear).
    assert answer(w.inject("b", bytes((0x10, 9, 0xFB, 0, 0)))) == [
        (T.CLEAR, 9, 0x13, Diagnostic.RESTART_NONZERO_LCN)
    ]


@pytest.mark.parametrize(
    ("fac", "user_data", "counter", "diag"),
    [
        (H("3f00"), b"", "unknown_facility", Diagnostic.FACILITY_CODE_NOT_ALLOWED),
        (H("420307"), b"", "malformed", Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED),
        (H("430909"), b"", "malformed", Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED),  # window 9 with modulo 8
        (H("c605"), b"", "malformed", Diagnostic.INVALID_FACILITY_LENGTH),
        (H("420808420808"), b"", "malformed", Diagnostic.DUPLICATE_FACILITY),
        (b"", bytes(17), "malformed", Diagnostic.PACKET_TOO_LONG),  # call user data beyond 16 octets
    ],
)
def test_bad_calls_are_cleared_with_their_diagnostic(
    fac: bytes, user_data: bytes, counter: str, diag: int
) -> None:
    w = Wire()
    w.up()
    call = codec.encode(Packet(T.CALL, 7, called=DCE_ADDR, calling=DTE_ADDR, facilities=fac, data=user_data))
    assert answer(w.inject("b", call, forward=False)) == [
        (T.CLEAR, 7, ClearCause.LOCAL_PROCEDURE_ERROR, diag)
    ]
    assert getattr(w.b.counters, counter) == 1
    assert w.of("b", IncomingCall) == []
    call = codec.encode(Packet(T.CALL, 7, called=DTE_ADDR, calling=DCE_ADDR, facilities=fac, data=user_data))
    assert answer(w.inject("a", call, forward=False)) == [(T.CLEAR, 7, 0, diag)]
    # The clear confirmation frees the LCN; no CallCleared for a call nobody was offered.
    w.inject("a", codec.encode(Packet(T.CLEAR_CONFIRMATION, 7)), forward=False)
    assert w.of("a", CallCleared) == [] and w.a.circuit_state(7) == "ready"


def test_fast_select_calls_are_refused() -> None:
    w = Wire()
    w.up()
    call = Packet(T.CALL, 7, called=DTE_ADDR, calling=DCE_ADDR, facilities=H("0180"), data=bytes(100))
    assert answer(w.inject("a", codec.encode(call), forward=False)) == [
        (T.CLEAR, 7, 0, Diagnostic.FAST_SELECT_NOT_SUBSCRIBED)
    ]
    assert answer(w.inject("b", codec.encode(replace(call, lcn=8)), forward=False)) == [
        (T.CLEAR, 8, ClearCause.FAST_SELECT_NOT_SUBSCRIBED, 0)
    ]


def test_bad_facility_answer_clears_our_call(wire: Wire) -> None:
    w = wire
    lcn = w.a.call(DCE_ADDR, w.now, facilities=Facilities(packet_size=(512, 512)))
    w.cut["a"] = True
    w.pump()
    # The answer moves away from the default (1024 > the 512 we asked for).
    accepted = codec.encode(Packet(T.CALL_ACCEPTED, lcn, facilities=H("420a0a")))
    assert answer(w.inject("a", accepted, forward=False)) == [
        (T.CLEAR, lcn, 0, Diagnostic.FACILITY_PARAMETER_NOT_ALLOWED)
    ]
    assert w.of("a", CallConnected) == []


def test_unknown_facility_in_call_accepted_clears_our_call(wire: Wire) -> None:
    w = wire
    lcn = w.a.call(DCE_ADDR, w.now)
    w.cut["a"] = True
    w.pump()
    accepted = codec.encode(Packet(T.CALL_ACCEPTED, lcn, facilities=H("3f00")))
    assert answer(w.inject("a", accepted, forward=False)) == [
        (T.CLEAR, lcn, 0, Diagnostic.FACILITY_CODE_NOT_ALLOWED)
    ]
    assert w.a.counters.unknown_facility == 1


def test_api_misuse_changes_nothing(wire: Wire) -> None:
    w = wire
    lcn = w.connect()
    w.clear_log()
    with pytest.raises(LocalProtocolError):
        w.a.clear(lcn, w.now, 0, 256)
    with pytest.raises(LocalProtocolError):
        w.a.reset(lcn, w.now, -1)
    with pytest.raises(LocalProtocolError):  # a facility field over 109 octets
        w.a.call(DCE_ADDR, w.now, facilities=Facilities(other=H("c6ff") + bytes(255)))
    assert w.a.packets_to_send() == [] and w.a.circuit_state(lcn - 1) == "ready"
    # Busy twice is one RNR; busy on a circuit not in data transfer is forgotten.
    w.a.set_busy(lcn, True, w.now)
    w.a.set_busy(lcn, True, w.now)
    w.a.set_busy(lcn - 1, True, w.now)
    w.pump()
    assert [p.type for p in w.sent["a"]] == [T.RNR]
    with pytest.raises(LocalProtocolError):
        w.a.set_busy(4000, True, w.now)


def test_endless_m_bit_sequence_is_reset(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    from firmware_emu.x25 import circuit

    monkeypatch.setattr(circuit, "MAX_MESSAGE", 300)
    w = wire
    lcn = w.connect()
    for ps in range(2):  # (as if from the DCE: nothing goes back to it)
        data = codec.encode(Packet(T.DATA, lcn, ps=ps, m=True, data=bytes(128)))
        assert w.inject("a", data, forward=False) == [Packet(T.RR, lcn, pr=ps + 1)]
    answers = w.inject("a", codec.encode(Packet(T.DATA, lcn, ps=2, m=True, data=bytes(128))), forward=False)
    assert answer(answers) == [(T.RESET, lcn, 0, Diagnostic.PACKET_TOO_LONG)]
    assert w.data("a") == [] and w.a.counters.oversize == 1


# ============================================================================ robustness


def fuzz_packets(rng: random.Random, seeds: list[bytes], lcns: list[int], n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        choice = rng.random()
        if choice < 0.3:
            out.append(rng.randbytes(rng.randrange(0, 12)))
            continue
        raw = bytearray(rng.choice(seeds))
        if choice < 0.6:
            for _ in range(rng.randrange(1, 4)):
                if raw:
                    raw[rng.randrange(len(raw))] = rng.randrange(256)
        elif choice < 0.8 and len(raw) > 3:
            raw[1] = rng.choice(lcns)
            raw[2] = rng.choice(
                [0x0B, 0x0F, 0x13, 0x17, 0x1B, 0x1F, 0x23, 0x27, 0x01, 0x05, 0x09, 0x00, 0xFB, 0xFF]
            )
        else:
            del raw[rng.randrange(len(raw) + 1) :]
        out.append(bytes(raw))
    return out


@pytest.mark.parametrize("modulo", [8, 128])
def test_random_and_mutated_packets_never_raise(modulo: int) -> None:
    kw = {"modulo": modulo, "pvcs": (1,), "two_way": (2, 9), "t21": 1.0, "t22": 1.0, "t23": 1.0}
    w = Wire(dte(**kw), dce(**kw))
    w.up()
    seeds = [p for _, p in _seed_packets(modulo)]
    rng = random.Random(modulo)
    lcns = [0, 1, 2, 3, 9, 10, 200]
    for i, raw in enumerate(fuzz_packets(rng, seeds, lcns, 3000)):
        side = "a" if i % 2 else "b"
        w.layer(side).receive_packet(raw, w.now)
        if i % 7 == 0:
            w.pump()  # let the two ends answer each other now and then
            if w.a.ready and w.b.ready and w.a.circuit_state(9) == "ready":
                with contextlib.suppress(LocalProtocolError):
                    w.a.call(DCE_ADDR, w.now)
        if i % 50 == 0:
            w.advance(0.6)
        for layer in (w.a, w.b):
            for out in layer.packets_to_send():
                codec.decode(out)  # everything we send is well formed
            while layer.next_event() is not None:
                pass
        json.dumps(w.a.status())
    # The pair still works afterwards.
    w.a.link_up(w.now)
    w.b.link_up(w.now)
    w.pump()
    w.advance(5.0)
    assert w.a.ready and w.b.ready
    w.clear_log()
    w.a.send(1, b"still alive", w.now)
    w.pump()
    assert w.data("b")[-1].data == b"still alive"
    assert sum(getattr(w.a.counters, c) for c in ("malformed", "unknown_type", "invalid_in_state")) > 0


def _seed_packets(modulo: int) -> list[tuple[str, bytes]]:
    def e(p: Packet) -> bytes:
        return codec.encode(replace(p, modulo=modulo))

    return [
        (
            "call",
            e(
                Packet(
                    T.CALL, 3, called=DCE_ADDR, calling=DTE_ADDR, facilities=H("420808430303"), data=b"\xcc"
                )
            ),
        ),
        ("accepted", e(Packet(T.CALL_ACCEPTED, 3, facilities=H("420808")))),
        ("clear", e(Packet(T.CLEAR, 3, cause=0, diagnostic=0))),
        ("clear conf", e(Packet(T.CLEAR_CONFIRMATION, 3))),
        ("data", e(Packet(T.DATA, 1, data=b"payload"))),
        ("rr", e(Packet(T.RR, 1, pr=0))),
        ("rnr", e(Packet(T.RNR, 1, pr=0))),
        ("interrupt", e(Packet(T.INTERRUPT, 1, data=b"i"))),
        ("int conf", e(Packet(T.INTERRUPT_CONFIRMATION, 1))),
        ("reset", e(Packet(T.RESET, 1, cause=0, diagnostic=0))),
        ("reset conf", e(Packet(T.RESET_CONFIRMATION, 1))),
        ("restart", e(Packet(T.RESTART, 0, cause=0, diagnostic=0))),
        ("restart conf", e(Packet(T.RESTART_CONFIRMATION, 0))),
        ("diagnostic", e(Packet(T.DIAGNOSTIC, 0, diagnostic=36, data=b"\x10\x05\x0b"))),
    ]


def test_status_is_json_and_lists_busy_circuits_only() -> None:
    w = Wire(dte(pvcs=(1,), two_way=(2, 9)), dce(pvcs=(1,), two_way=(2, 9)))
    w.up()
    lcn = w.connect()
    status = json.loads(json.dumps(w.a.status()))
    assert set(status["circuits"]) == {"1", str(lcn)}
    assert status["circuits"][str(lcn)]["state"] == "connected"
    assert status["circuits"]["1"]["state"] == "pvc"
    assert status["ready"] and status["role"] == "dte"
    assert status["counters"]["calls_out"] == 1
