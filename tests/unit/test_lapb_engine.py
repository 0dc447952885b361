"""LapbEngine end to end: a DTE and a DCE back to back on a fake clock, with loss, and one alone."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import LinkDown, LinkUp, ProtocolErrorSeen
from firmware_emu.lapb import LapbConfig, LapbData, LapbEngine, LinkReset
from firmware_emu.lapb.codec import FrameType, decode
from firmware_emu.lapb.states import TABLE, Action, Event, State

H = bytes.fromhex
T = FrameType


@dataclass
class Side:
    engine: LapbEngine
    sent: list[tuple[float, bytes]] = field(default_factory=list)  # every frame it put on the line
    events: list[Any] = field(default_factory=list)  # everything but LapbData
    data: list[bytes] = field(default_factory=list)  # LapbData payloads, in order
    drop: set[int] = field(default_factory=set)  # indices into ``sent`` lost on the way
    cut: bool = False  # everything it sends is lost


class Wire:
    """A DTE (``a``) and a DCE (``b``) on a wire that loses frames, never reorders them.

    Frames go across in rounds; the fake clock jumps to the earliest deadline only
    when nothing is in flight. ``feed`` is called between rounds to queue data."""

    def __init__(self, loss: float = 0.0, seed: int = 1, **cfg: Any) -> None:
        self.now = 0.0
        self.a = Side(LapbEngine(LapbConfig(role="dte", **cfg), 0.0))
        self.b = Side(LapbEngine(LapbConfig(role="dce", **cfg), 0.0))
        self.loss = loss
        self.rng = random.Random(seed)
        self.feed: Callable[[], None] | None = None

    def start(self, *sides: Side) -> None:
        for side in sides or (self.a, self.b):
            side.engine.start(self.now)

    def _collect(self, side: Side) -> list[bytes]:
        eng = side.engine
        # The window is never exceeded (read from the inside: the wire cannot tell a go-back).
        assert len(eng._x.outstanding) <= eng.config.window
        while (ev := eng.next_event()) is not None:
            if type(ev) is LapbData:
                side.data.append(ev.payload)
            else:
                side.events.append(ev)
        frames = eng.frames_to_send()
        side.sent.extend((self.now, f) for f in frames)
        return frames

    def _cross(self, src: Side, dst: Side, frames: list[bytes]) -> None:
        first = len(src.sent) - len(frames)
        for i, frame in enumerate(frames, first):
            if src.cut or i in src.drop or (self.loss and self.rng.random() < self.loss):
                continue
            dst.engine.receive_frame(frame, self.now)

    def settle(self, rounds: int = 100_000) -> None:
        for _ in range(rounds):
            if self.feed is not None:
                self.feed()
            fa, fb = self._collect(self.a), self._collect(self.b)
            if not fa and not fb:
                return
            self._cross(self.a, self.b, fa)
            self._cross(self.b, self.a, fb)
        raise AssertionError("the engines never went quiet")

    def tick(self) -> bool:
        """Settle, then jump to the next deadline and fire it; False if no timer is running."""
        self.settle()
        timers = [t for t in (self.a.engine.get_timer(), self.b.engine.get_timer()) if t is not None]
        if not timers:
            return False
        self.now = max(self.now, min(timers))
        self.a.engine.handle_timer(self.now)
        self.b.engine.handle_timer(self.now)
        self.settle()
        return True

    def run_until(self, done: Callable[[], bool], limit: float = 3600.0) -> None:
        self.settle()
        while not done():
            assert self.now <= limit, f"not done after {self.now} s of fake time"
            assert self.tick(), "stuck: nothing in flight and no timer running"

    def run_for(self, seconds: float) -> None:
        end = self.now + seconds
        self.settle()
        while True:
            timers = [t for t in (self.a.engine.get_timer(), self.b.engine.get_timer()) if t is not None]
            if not timers or min(timers) > end:
                self.now = end
                return
            self.tick()

    def up(self) -> Wire:
        self.start()
        self.run_until(lambda: self.a.engine.link_up and self.b.engine.link_up, limit=60)
        return self


def frames_of(side: Side, modulo: int = 8, since: int = 0) -> list[Any]:
    """What ``side`` sent, decoded as its peer reads it."""
    role = "dce" if side.engine.config.role == "dte" else "dte"
    return [decode(f, modulo, role) for _, f in side.sent[since:]]


def kinds(side: Side, since: int = 0, modulo: int = 8) -> list[str]:
    out = []
    for f in frames_of(side, modulo, since):
        pf = ("P" if f.command else "F") if f.pf else ""
        nr = f"{f.nr}" if f.type in (T.RR, T.RNR, T.REJ) else ""
        ns = f"{f.ns}" if f.type is T.I else ""
        out.append(f"{f.type.value}{ns}{nr}{pf}")
    return out


def link_events(side: Side) -> list[Any]:
    return [e for e in side.events if not isinstance(e, ProtocolErrorSeen)]


def payloads(n: int, tag: bytes = b"") -> list[bytes]:
    return [tag + i.to_bytes(4, "big") + b"x" * (i % 23) for i in range(n)]


def feeder(wire: Wire, side: Side, items: list[bytes]) -> Callable[[], None]:
    pending = iter(items)
    box: list[bytes] = []

    def feed() -> None:
        eng = side.engine
        while eng.can_send:
            if not box:
                nxt = next(pending, None)
                if nxt is None:
                    return
                box.append(nxt)
            assert eng.send(box[0])
            box.pop()

    return feed


def both(*feeds: Callable[[], None]) -> Callable[[], None]:
    def feed() -> None:
        for f in feeds:
            f()

    return feed


# ------------------------------------------------------------------ configuration and API misuse


@pytest.mark.parametrize(
    "bad",
    [
        {"role": "switch"},
        {"modulo": 16},
        {"modulo": True},
        {"window": 0},
        {"window": 8},
        {"modulo": 128, "window": 128},
        {"window": 2.0},
        {"t1": 0},
        {"t1": float("nan")},
        {"t2": -1},
        {"t1": 1.0, "t2": 1.0},
        {"n2": 0},
        {"n1": 0},
        {"tx_queue_limit": -1},
        {"retry_interval": -2},
    ],
)
def test_config_refuses_what_cannot_work(bad: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError):
        LapbConfig(**bad)


def test_config_defaults_and_derived_values() -> None:
    cfg = LapbConfig()
    assert (cfg.role, cfg.modulo, cfg.window, cfg.t1, cfg.t2, cfg.n2, cfg.n1) == (
        "dte",
        8,
        7,
        3.0,
        0.0,
        10,
        4096,
    )
    assert (cfg.queue_limit, cfg.slow_retry) == (14, 12.0)
    assert LapbConfig(modulo=128, window=127, tx_queue_limit=0, retry_interval=30).queue_limit == 0
    assert LapbConfig(retry_interval=30).slow_retry == 30


def test_send_rules() -> None:
    eng = LapbEngine(LapbConfig(n1=8, window=2, tx_queue_limit=1), 0.0)
    assert not eng.can_send
    with pytest.raises(LocalProtocolError, match="stopped"):
        eng.send(b"x")
    eng.start(0.0)
    with pytest.raises(LocalProtocolError, match="N1"):
        eng.send(b"123456789")
    with pytest.raises(LocalProtocolError):
        eng.send("text")  # type: ignore[arg-type]
    # Set-up in progress: queued, up to k + tx_queue_limit.
    assert [eng.send(b"12345678") for _ in range(4)] == [True, True, True, False]
    assert not eng.can_send
    assert eng.status()["queued"] == 3
    with pytest.raises(LocalProtocolError, match="start"):
        eng.start(0.0)
    eng.stop(0.0)
    assert eng.state == "disconnecting" and not eng.can_send
    assert eng.status()["queued"] == 0
    with pytest.raises(LocalProtocolError):
        eng.send(b"x")


def test_engine_needs_a_config() -> None:
    with pytest.raises(LocalProtocolError):
        LapbEngine({"role": "dte"}, 0.0)  # type: ignore[arg-type]


def test_table_is_consistent() -> None:
    # Every timeout the engine can raise in a state with a timer has a cell; admin events are complete.
    for state in State:
        assert (state, Event.STOP) in TABLE
    for state in (State.SETUP, State.CONNECTED, State.FRAME_REJECT, State.DISCONNECTING):
        assert (state, Event.TIMEOUT) in TABLE and (state, Event.TIMEOUT_N2) in TABLE
    assert (State.DOWN, Event.TIMEOUT_SLOW) in TABLE and (State.SETUP, Event.TIMEOUT_SLOW) in TABLE
    # Whoever sends a mode-set command arms T1, and only the information transfer phase transfers.
    for (state, _), (actions, nxt) in TABLE.items():
        if Action.TRANSFER in actions or Action.POLL in actions:
            assert state is nxt is State.CONNECTED
        if nxt is State.SETUP and state is not State.SETUP:
            assert Action.SABM in actions or Action.SABM_SLOW in actions


# ------------------------------------------------------------------ link set-up


@pytest.mark.parametrize("initiator", ["a", "b"])
def test_setup_initiated_by_either_end(initiator: str) -> None:
    w = Wire()
    first, second = (w.b, w.a) if initiator == "a" else (w.a, w.b)
    # The passive end starts first while the initiator is still off: refused with DM, it waits (DOWN).
    w.start(first)
    w.settle()
    assert kinds(first) == ["SABMP"] and kinds(second) == ["DMF"]
    assert first.engine.state == "disconnected" and not first.engine.link_up
    assert first.engine.get_timer() == pytest.approx(12.0)  # the slow retry, 4 * T1
    # Now the initiator starts: its SABM meets a started, disconnected peer, which says UA.
    w.start(second)
    w.settle()
    assert kinds(second) == ["DMF", "SABMP"] and kinds(first) == ["SABMP", "UAF"]
    for side in (w.a, w.b):
        assert side.engine.link_up and side.engine.state == "connected"
        assert link_events(side) == [LinkUp()]
        assert side.engine.get_timer() is None  # idle link: no timer at all
    # The exact octets: a DTE sends commands with B and responses with A; a DCE the reverse.
    dte_sabm, dce_ua = (H("013f"), H("0173")) if initiator == "a" else (H("033f"), H("0373"))
    assert second.sent[-1][1] == dte_sabm
    assert first.sent[-1][1] == dce_ua


def test_sabm_collision_both_come_up_at_once_and_ignore_the_late_ua() -> None:
    w = Wire()
    w.start()
    w.settle()
    for side in (w.a, w.b):
        assert kinds(side) == ["SABMP", "UAF"]
        assert link_events(side) == [LinkUp()]
        assert side.engine.link_up
    # The UA to each SABM arrived in information transfer: ignored, nothing reset.
    assert w.a.engine.counters.link_resets == w.b.engine.counters.link_resets == 0
    assert w.a.engine.counters.ignored == 1 and w.b.engine.counters.ignored == 1
    # And the link carries data.
    w.a.engine.send(b"after collision")
    w.settle()
    assert w.b.data == [b"after collision"]


def test_lost_ua_repeated_sabm_is_not_a_reset_and_loses_nothing() -> None:
    w = Wire()
    w.start(w.b)
    w.settle()  # B is DOWN, waiting
    w.b.drop.add(len(w.b.sent))  # B's UA to A's coming SABM is lost
    w.start(w.a)
    w.settle()
    assert w.b.engine.link_up and not w.a.engine.link_up
    # B sends at once; A, still setting up, ignores the I frames.
    assert w.b.engine.send(b"one") and w.b.engine.send(b"two")
    w.settle()
    assert w.a.data == [] and w.a.engine.counters.ignored == 2
    # A's T1 runs out first (B's started later): SABM again, which B answers without a reset,
    # sending its I frames again from N(S) = 0.
    w.run_until(lambda: w.a.data == [b"one", b"two"], limit=30)
    assert w.a.engine.counters.tx_sabm == 2
    assert link_events(w.b) == [LinkUp()] and link_events(w.a) == [LinkUp()]
    assert w.b.engine.counters.link_resets == 0
    assert w.b.engine.counters.retransmissions == 2


def test_setup_never_gives_up_and_comes_up_when_the_line_returns() -> None:
    w = Wire(n2=3, t1=1.0)
    w.a.cut = True
    w.b.cut = True
    w.start()
    w.run_for(300)
    assert not w.a.engine.link_up and w.a.engine.state == "setup"
    times = [t for t, _ in w.a.sent]
    # The first SABM and N2 = 3 more every T1, then one every 4 * T1, still going after 5 minutes.
    assert times[:6] == [0.0, 1.0, 2.0, 3.0, 4.0, 8.0]
    assert times[-1] > 290 and all(
        b - a == pytest.approx(4.0) for a, b in zip(times[4:], times[5:], strict=False)
    )
    assert w.a.engine.counters.n2_exhausted == 1  # counted once per failed set-up
    assert link_events(w.a) == []  # never up, so never down either
    w.a.cut = w.b.cut = False
    w.run_until(lambda: w.a.engine.link_up and w.b.engine.link_up, limit=320)
    assert link_events(w.a) == link_events(w.b) == [LinkUp()]


def test_modulo_mismatch_is_refused_with_dm() -> None:
    w = Wire()
    w.b = Side(LapbEngine(LapbConfig(role="dce", modulo=128, window=7), 0.0))
    w.start()
    w.run_for(60)
    assert not w.a.engine.link_up and not w.b.engine.link_up
    assert w.a.engine.counters.mode_mismatch > 0 and w.b.engine.counters.mode_mismatch > 0
    assert "DMF" in kinds(w.a) and w.b.engine.counters.tx_dm > 0
    assert any(isinstance(e, ProtocolErrorSeen) and e.counter == "mode_mismatch" for e in w.a.events)


# ------------------------------------------------------------------ data transfer under loss


@pytest.mark.parametrize(("modulo", "window"), [(8, 7), (128, 31)])
def test_ten_thousand_payloads_each_way_with_random_loss_arrive_once_in_order(
    modulo: int, window: int
) -> None:
    n = 10_000
    w = Wire(loss=0.03, seed=modulo, modulo=modulo, window=window, t1=1.0)
    to_b, to_a = payloads(n, b"A"), payloads(n, b"B")
    w.feed = both(feeder(w, w.a, to_b), feeder(w, w.b, to_a))
    w.start()
    w.run_until(lambda: len(w.b.data) >= n and len(w.a.data) >= n, limit=36_000)
    w.run_for(10)
    assert w.b.data == to_b
    assert w.a.data == to_a
    for side in (w.a, w.b):
        c = side.engine.counters
        assert link_events(side) == [LinkUp()]  # no reset, no loss of the link
        assert c.tx_iframes == n and c.rx_iframes == n
        # The loss was real and every recovery path was taken.
        assert c.retransmissions > 0 and c.rx_rej > 0 and c.t1_timeouts > 0 and c.polls > 0
        assert c.link_resets == 0 and c.malformed == 0


def test_payloads_queued_during_setup_go_out_when_the_link_comes_up() -> None:
    w = Wire()
    w.start()
    assert w.a.engine.send(b"early")
    w.settle()
    assert w.b.data == [b"early"]


# ------------------------------------------------------------------ REJ and T1 recovery


def test_rej_recovery_without_any_timer() -> None:
    w = Wire().up()
    since_a, since_b = len(w.a.sent), len(w.b.sent)
    w.a.drop.add(since_a + 1)  # the second I frame
    for i in range(5):
        w.a.engine.send(bytes([i]))
    w.settle()
    assert w.b.data == [bytes([i]) for i in range(5)]
    assert w.now == 0.0 and w.a.engine.counters.t1_timeouts == 0
    # B: RR for I0, REJ(1) for the first frame out of sequence, nothing for the next ones
    # (one REJ at a time), then RRs as the retransmissions arrive.
    assert kinds(w.b, since_b) == ["RR1", "REJ1", "RR2", "RR3", "RR4", "RR5"]
    assert kinds(w.a, since_a) == ["I0", "I1", "I2", "I3", "I4", "I1", "I2", "I3", "I4"]
    assert w.a.engine.counters.retransmissions == 4
    assert w.b.engine.counters.out_of_sequence == 3
    assert w.a.engine.get_timer() is None  # everything acknowledged


def test_t1_recovery_polls_and_goes_back_to_the_answers_nr() -> None:
    w = Wire().up()
    since_a, since_b = len(w.a.sent), len(w.b.sent)
    w.a.drop.add(since_a + 2)  # the last I frame of the burst: nothing after it to trigger REJ
    for i in range(3):
        w.a.engine.send(bytes([i]))
    w.settle()
    assert w.b.data == [b"\x00", b"\x01"]
    assert w.a.engine.get_timer() == pytest.approx(3.0)
    w.run_until(lambda: len(w.b.data) == 3, limit=10)
    assert w.now == pytest.approx(3.0)
    # A polls with RR command P=1, B answers RR response F=1 with N(R) = 2, A sends I2 again.
    assert kinds(w.a, since_a) == ["I0", "I1", "I2", "RR0P", "I2"]
    assert kinds(w.b, since_b) == ["RR1", "RR2", "RR2F", "RR3"]
    assert w.a.sent[since_a + 3][1] == H("0111")  # DTE command (address B), RR P=1 N(R)=0
    assert w.b.sent[since_b + 2][1] == H("0151")  # DCE response (address B), RR F=1 N(R)=2
    c = w.a.engine.counters
    assert (c.t1_timeouts, c.polls, c.retransmissions) == (1, 1, 1)


def test_poll_answer_lost_polls_again() -> None:
    w = Wire(t1=1.0).up()
    since_b = len(w.b.sent)
    w.a.drop.add(len(w.a.sent))  # the only I frame
    w.b.drop.add(since_b)  # B's answer to the first poll
    w.a.engine.send(b"x")
    w.run_until(lambda: w.b.data == [b"x"], limit=10)
    assert w.a.engine.counters.polls == 2 and w.now == pytest.approx(2.0)


def test_t2_delays_the_acknowledgement_and_piggybacks_when_it_can() -> None:
    w = Wire(t2=0.5).up()
    since_b = len(w.b.sent)
    w.a.engine.send(b"q")
    w.settle()
    assert w.b.data == [b"q"] and kinds(w.b, since_b) == []
    assert w.b.engine.get_timer() == pytest.approx(0.5)
    w.tick()
    assert kinds(w.b, since_b) == ["RR1"] and w.now == pytest.approx(0.5)
    # With data to send before T2 runs out, the I frame carries the acknowledgement.
    since_b = len(w.b.sent)
    w.a.engine.send(b"r")
    w.settle()
    w.b.engine.send(b"answer")
    w.settle()
    assert kinds(w.b, since_b) == ["I0"]
    assert frames_of(w.b, since=since_b)[0].nr == 2
    assert w.a.engine.status()["va"] == 2


# ------------------------------------------------------------------ N2, resets, disconnects


def test_n2_unanswered_polls_reset_the_link() -> None:
    w = Wire(n2=3, t1=1.0).up()
    w.a.engine.send(b"before")
    w.settle()
    assert w.b.data == [b"before"]
    w.a.cut = w.b.cut = True
    w.a.engine.send(b"lost 1")
    w.a.engine.send(b"lost 2")
    w.run_until(lambda: w.a.engine.state == "setup", limit=30)
    # T1 at 1, 2, 3 (polls), and the N2-th poll's T1 at 4: reset with SABM.
    polls = [t for t, f in w.a.sent if f == H("0111")]
    assert polls == [1.0, 2.0, 3.0]
    assert w.a.sent[-1] == (4.0, H("013f"))
    assert w.a.engine.counters.n2_exhausted == 1 and not w.a.engine.link_up
    assert link_events(w.a) == [LinkUp()]  # the reset is reported when it completes
    w.a.cut = w.b.cut = False
    w.run_until(lambda: w.a.engine.link_up and w.b.engine.link_up, limit=30)
    reset = link_events(w.a)[-1]
    assert isinstance(reset, LinkReset) and reset.discarded == 2 and "N2" in reset.reason
    assert link_events(w.b)[-1] == LinkReset("peer reset the link (SABM)", 0)
    assert w.a.engine.counters.link_resets == 1 and w.b.engine.counters.link_resets == 1
    # Sequence numbers start again and data flows.
    assert w.a.engine.status()["vs"] == 0
    w.a.engine.send(b"after")
    w.settle()
    assert w.b.data == [b"before", b"after"]


def test_reset_that_cannot_complete_becomes_link_down_then_up() -> None:
    w = Wire(n2=2, t1=1.0, retry_interval=5.0).up()
    w.a.engine.send(b"x")
    w.settle()
    w.a.cut = w.b.cut = True
    w.a.engine.send(b"y")
    w.run_for(40)
    assert [type(e) for e in link_events(w.a)] == [LinkUp, LinkDown]
    assert "SABM" in link_events(w.a)[-1].reason
    assert w.a.engine.counters.n2_exhausted == 2  # the polls, then the SABMs
    w.a.cut = w.b.cut = False
    w.run_until(lambda: w.a.engine.link_up and w.b.engine.link_up, limit=100)
    assert [type(e) for e in link_events(w.a)] == [LinkUp, LinkDown, LinkUp]


def test_peer_disc_then_the_link_comes_back_when_the_peer_restarts() -> None:
    w = Wire().up()
    w.a.engine.send(b"data")
    w.settle()
    since_a = len(w.a.sent)
    w.b.engine.stop(w.now)
    w.settle()
    assert link_events(w.b) == [LinkUp(), LinkDown("stopped")]
    assert link_events(w.a) == [LinkUp(), LinkDown("peer disconnected (DISC)")]
    assert kinds(w.b)[-1] == "DISCP" and kinds(w.a, since_a) == ["UAF"]
    assert w.a.engine.state == w.b.engine.state == "disconnected"
    assert w.b.engine.get_timer() is None
    # A, still started, tries again slowly; B, stopped, refuses with DM.
    w.run_for(30)
    assert kinds(w.a, since_a) == ["UAF", "SABMP", "SABMP"]
    assert kinds(w.b)[-2:] == ["DMF", "DMF"]
    assert not w.a.engine.link_up
    with pytest.raises(LocalProtocolError):
        w.b.engine.send(b"x")
    w.start(w.b)
    w.settle()
    assert w.a.engine.link_up and w.b.engine.link_up
    assert link_events(w.a)[-1] == LinkUp() and link_events(w.b)[-1] == LinkUp()


def test_stop_without_answer_gives_up_after_n2_discs() -> None:
    w = Wire(n2=2, t1=1.0).up()
    w.b.cut = True
    w.a.engine.stop(w.now)
    w.run_for(10)
    assert kinds(w.a)[-3:] == ["DISCP"] * 3 and w.a.engine.state == "disconnected"
    assert w.a.engine.get_timer() is None
    # Stopped: a SABM is refused, and a DISC too (X.25: DM in the disconnected phase; the kernel would say UA).
    since = len(w.a.sent)
    w.a.engine.receive_frame(H("033f"), w.now)
    w.a.engine.receive_frame(H("0353"), w.now)
    w.a.engine.receive_frame(H("0311"), w.now)  # RR command P=1
    w.settle()
    assert kinds(w.a, since) == ["DMF", "DMF", "DMF"]
    # And it can be started again.
    w.a.engine.start(w.now)
    assert w.a.engine.frames_to_send() == [H("013f")]


def test_dm_refusal_then_dm_in_information_transfer() -> None:
    w = Wire()
    w.start(w.a)
    w.settle()
    assert kinds(w.b) == ["DMF"] and w.a.engine.state == "disconnected"
    assert link_events(w.a) == []
    w.start(w.b)
    w.settle()
    assert w.a.engine.link_up
    # The peer says it is disconnected (unsolicited DM): the link is down and A sets it up again.
    eng = w.a.engine
    eng.send(b"unacked")
    eng.receive_frame(H("010f"), w.now)  # DM F=0 from the DCE (response, address B)
    assert eng.next_event() == LinkDown("peer is in disconnected mode (DM)")
    assert eng.state == "setup" and eng.status()["outstanding"] == 0
    assert eng.frames_to_send() == [H("0100") + b"unacked", H("013f")]


def test_disc_collision_while_disconnecting() -> None:
    w = Wire().up()
    w.a.engine.stop(w.now)
    w.b.engine.stop(w.now)
    w.settle()
    for side in (w.a, w.b):
        assert side.engine.state == "disconnected" and side.engine.get_timer() is None
        assert kinds(side) == ["SABMP", "UAF", "DISCP", "UAF"]


# ------------------------------------------------------------------ frame reject


FRMR_CASES = [
    # (what arrives at the DTE from the DCE, the DTE's FRMR in reply)
    pytest.param(H("0161"), H("0387611008"), id="RR response with N(R)=3 > V(S): Z"),
    pytest.param(H("0360") + b"q", H("0387600008"), id="I frame with N(R)=3: Z"),
    pytest.param(H("0310") + bytes(17), H("0397100004"), id="I frame longer than N1 (P=1): Y, F=1"),
    pytest.param(H("030d"), H("03870d0001"), id="SREJ command: W"),
    pytest.param(H("0313"), H("0397130001"), id="UI command P=1: W, F=1"),
    pytest.param(H("0101aa"), H("0387011003"), id="RR response with an information field: W+X"),
    pytest.param(H("0363"), H("0387630001"), id="UA as a command: W"),
]


@pytest.mark.parametrize(("bad", "frmr"), FRMR_CASES)
def test_frame_reject_and_recovery_by_the_peer(bad: bytes, frmr: bytes) -> None:
    w = Wire(n1=16).up()
    w.a.engine.receive_frame(bad, w.now)
    assert w.a.engine.state == "frame_reject" and not w.a.engine.link_up
    assert w.a.engine.counters.malformed == 1 and w.a.engine.counters.tx_frmr == 1
    w.settle()  # the FRMR goes to the DCE, which resets the link; the DTE answers its SABM with UA
    assert w.a.sent[-2][1] == frmr
    assert any(isinstance(e, ProtocolErrorSeen) and e.counter == "tx_frmr" for e in w.a.events)
    assert w.a.engine.link_up and w.b.engine.link_up
    assert kinds(w.b)[-1] == "SABMP" and kinds(w.a)[-1] == "UAF"
    assert isinstance(link_events(w.a)[-1], LinkReset) and isinstance(link_events(w.b)[-1], LinkReset)
    assert link_events(w.b)[-1].reason == "peer rejected a frame (FRMR)"
    w.a.engine.send(b"fine")
    w.settle()
    assert w.b.data == [b"fine"]


def test_frame_reject_modulo_128_info_field() -> None:
    w = Wire(modulo=128, window=7).up()
    for i in range(3):
        w.a.engine.send(bytes([i]))
    w.settle()
    # RR response from the DCE with N(R) = 9 while V(A) = V(S) = 3: Z, five-octet information field.
    w.a.engine.receive_frame(H("010112"), w.now)
    assert w.a.engine.frames_to_send() == [H("03870112060108")]


def test_frmr_repeats_every_t1_answers_polls_and_resets_after_n2() -> None:
    w = Wire(n2=2, t1=1.0, n1=16).up()
    w.a.cut = True  # the DCE hears nothing of it
    w.a.engine.receive_frame(H("030d"), w.now)
    w.settle()
    w.a.engine.receive_frame(H("0311"), w.now)  # an RR poll in frame reject: FRMR F=1
    w.settle()
    assert kinds(w.a)[-2:] == ["FRMR", "FRMRF"]
    w.run_until(lambda: w.a.engine.state == "setup", limit=10)
    assert kinds(w.a)[-4:] == ["FRMRF", "FRMR", "FRMR", "SABMP"]
    assert [t for t, _ in w.a.sent[-3:]] == [1.0, 2.0, 3.0]
    assert w.a.engine.counters.n2_exhausted == 1


def test_frmr_from_the_peer_resets_and_discards() -> None:
    w = Wire().up()
    w.b.cut = True
    w.a.engine.send(b"u1")
    w.a.engine.send(b"u2")
    w.settle()
    w.b.cut = False
    w.a.engine.receive_frame(H("01870d0001"), w.now)
    assert w.a.engine.state == "setup"
    w.settle()
    assert link_events(w.a)[-1] == LinkReset("peer rejected a frame (FRMR)", 2)
    assert w.a.engine.link_up
    assert any(isinstance(e, ProtocolErrorSeen) and e.counter == "rx_frmr" for e in w.a.events)


# ------------------------------------------------------------------ busy conditions


def test_local_busy_loses_nothing_and_the_peer_resends_after_it_clears() -> None:
    w = Wire(t1=1.0).up()
    items = payloads(60)
    for item in items[:10]:
        w.a.engine.send(item)
    w.settle()
    assert w.b.data == items[:10]
    # Busy just as A has a window's worth to send: its I frames cross B's RNR on the line.
    w.b.engine.set_local_busy(True, w.now)
    w.feed = feeder(w, w.a, items[10:])
    w.run_for(10)
    assert kinds(w.b)[:3] == ["SABMP", "UAF", "RR1"] and "RNR2" in kinds(w.b)  # V(R) = 10 modulo 8
    # Nothing delivered while busy; the frames that came were refused without acknowledging them;
    # A stopped sending and polled every T1, answered with RNR F=1 (so no N2 reset).
    assert w.b.data == items[:10]
    assert w.b.engine.counters.rx_while_busy == 7  # one window's worth, sent before the RNR arrived
    assert w.a.engine.status()["remote_busy"] and w.a.engine.counters.polls >= 9
    assert kinds(w.b)[-1] == "RNR2F"
    assert w.a.engine.counters.n2_exhausted == 0 and w.a.engine.link_up
    since_b = len(w.b.sent)
    w.b.engine.set_local_busy(False, w.now)
    w.run_until(lambda: len(w.b.data) == len(items), limit=120)
    assert kinds(w.b, since_b)[0] == "REJ2"  # frames were discarded: ask for them again at once
    w.run_for(5)
    assert w.b.data == items
    assert link_events(w.a) == link_events(w.b) == [LinkUp()]


def test_local_busy_without_discards_clears_with_rr_and_polls_get_rnr() -> None:
    w = Wire().up()
    w.b.engine.set_local_busy(True, w.now)
    w.b.engine.set_local_busy(True, w.now)  # no change, nothing sent
    w.settle()
    assert kinds(w.b)[-1] == "RNR0" and w.b.engine.counters.tx_rnr == 1
    w.b.engine.receive_frame(H("0111"), w.now)  # RR command P=1 from the DTE
    assert w.b.engine.frames_to_send() == [H("0115")]  # RNR response F=1 N(R)=0, address B
    w.b.engine.set_local_busy(False, w.now)
    assert w.b.engine.frames_to_send() == [H("0101")]  # RR response


def test_local_busy_before_the_link_is_up_is_announced_on_entering() -> None:
    w = Wire()
    w.b.engine.set_local_busy(True, 0.0)
    w.start()
    w.settle()
    assert "RNR0" in kinds(w.b) and w.a.engine.status()["remote_busy"]


def test_remote_busy_stops_i_frames_and_polls_until_it_clears() -> None:
    w = Wire(t1=2.0).up()
    w.a.engine.receive_frame(H("0105"), w.now)  # RNR response N(R)=0 from the DCE
    assert w.a.engine.status()["remote_busy"] and w.a.engine.get_timer() == pytest.approx(2.0)
    since_a = len(w.a.sent)
    w.b.cut = True  # B's view is not needed: only A's behaviour
    w.a.engine.send(b"held")
    w.settle()
    assert kinds(w.a, since_a) == []  # not while the peer is busy
    w.a.cut = True
    w.run_for(3)
    assert kinds(w.a, since_a) == ["RR0P"]
    w.a.cut = w.b.cut = False
    w.a.engine.receive_frame(H("0101"), w.now)  # RR: busy cleared
    assert frames_of(w.a, since=0)[-1].type is T.RR  # the poll is still outstanding...
    assert w.a.engine.frames_to_send() == []  # ...so nothing new until it is answered
    w.a.engine.receive_frame(H("0111"), w.now)  # RR response F=1 N(R)=0: go on from 0
    assert w.a.engine.frames_to_send() == [H("0100") + b"held"]


# ------------------------------------------------------------------ malformed frames


@pytest.mark.parametrize("state", ["disconnected", "setup", "connected", "frame_reject", "disconnecting"])
def test_fuzz_never_raises_and_counts(state: str) -> None:
    rng = random.Random(len(state))
    w = Wire(n1=64)
    eng = w.a.engine
    if state == "setup":
        w.a.cut = True
        w.start(w.a)
    elif state != "disconnected":
        w.up()
        w.a.cut = True  # the DCE hears nothing, so the state is all A's doing
        if state == "frame_reject":
            eng.receive_frame(H("030d"), w.now)
        elif state == "disconnecting":
            eng.stop(w.now)
    w.settle()
    assert eng.state == state
    before = eng.counters.malformed + eng.counters.bad_address
    errors = 0
    for i in range(3000):
        data = rng.randbytes(rng.randrange(0, 8))
        if i % 2:
            data = b"\x03" + data  # mostly a valid address, so the control field gets exercised
        eng.receive_frame(data, w.now + i * 0.001)
        eng.frames_to_send()
        while (ev := eng.next_event()) is not None:
            errors += isinstance(ev, ProtocolErrorSeen)
        assert eng.state in ("disconnected", "setup", "connected", "frame_reject", "disconnecting")
    c = eng.counters
    assert c.malformed + c.bad_address > before + 500
    assert 0 < errors < 40  # reported, but rate-limited (3 s of fake time, a few counters)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=10), max_size=20))
def test_hypothesis_garbage_never_raises_and_the_engine_stays_usable(frames: list[bytes]) -> None:
    w = Wire().up()
    eng = w.a.engine
    for f in frames:
        eng.receive_frame(f, w.now)
    eng.frames_to_send()
    while eng.next_event() is not None:
        pass
    assert eng.state in ("disconnected", "setup", "connected", "frame_reject", "disconnecting")
    assert eng.can_send and eng.send(b"still works")
    status = eng.status()
    assert 0 <= status["vs"] < 8 and 0 <= status["vr"] < 8 and 0 <= status["va"] < 8


def test_short_and_foreign_frames_are_counted_not_answered() -> None:
    w = Wire().up()
    eng = w.a.engine
    for frame in (b"", b"\x03", H("0f3f"), H("ff03"), bytearray(b"\x07\x00"), memoryview(b"\x02\x01")):
        eng.receive_frame(frame, w.now)  # type: ignore[arg-type]
    assert eng.frames_to_send() == []
    assert (eng.counters.malformed, eng.counters.bad_address) == (2, 4)
    assert eng.link_up


# ------------------------------------------------------------------ status


def test_status_reports_variables_and_counters() -> None:
    w = Wire(modulo=128, window=5).up()
    for i in range(3):
        w.a.engine.send(bytes([i]))
    w.settle()
    st_a = w.a.engine.status()
    assert st_a["state"] == "connected" and st_a["role"] == "dte" and st_a["modulo"] == 128 and st_a["k"] == 5
    assert (st_a["vs"], st_a["va"], st_a["vr"]) == (3, 3, 0)
    assert st_a["counters"]["tx_iframes"] == 3 and st_a["counters"]["tx_bytes"] == 3
    assert w.b.engine.status()["vr"] == 3 and w.b.engine.status()["counters"]["rx_iframes"] == 3
    assert st_a["remote_busy"] is False and st_a["local_busy"] is False
