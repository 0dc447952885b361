"""LineTransmitter on a virtual clock: no sleeps, times are given explicitly."""

from __future__ import annotations

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.phy.config import LineConfig
from firmware_emu.phy.pacer import LineTransmitter, serialization_delay

T1 = 1_536_000
assert LineConfig(kind="t1").bit_rate == T1


def test_serialization_delay() -> None:
    assert serialization_delay(1536, T1) == pytest.approx(0.001)
    assert serialization_delay(12_000, 9600) == pytest.approx(1.25)
    assert serialization_delay(12_000, None) == 0.0


def test_frame_finishes_after_its_serialization_time() -> None:
    tx = LineTransmitter(T1, queue_len=4)
    assert tx.deadline() is None
    assert tx.offer(b"a", 1536, now=10.0)
    assert tx.deadline() == pytest.approx(10.001)
    assert tx.busy_until == pytest.approx(10.001)
    assert tx.due(10.0005) == []
    assert tx.due(tx.deadline()) == [b"a"]
    assert tx.deadline() is None
    assert (tx.counters.frames, tx.counters.bits) == (1, 1536)


def test_back_to_back_frames_queue_behind_each_other() -> None:
    tx = LineTransmitter(T1, queue_len=8)
    for i in range(3):
        assert tx.offer(bytes([i]), 15_360, now=0.0)  # 10 ms each
    assert len(tx) == 3
    assert tx.busy_until == pytest.approx(0.030)
    assert tx.deadline() == pytest.approx(0.010)
    assert tx.due(0.015) == [b"\x00"]
    assert tx.deadline() == pytest.approx(0.020)
    # Offered later, but the line is still busy: it waits for the others.
    assert tx.offer(b"\x03", 1536, now=0.015)
    assert tx.busy_until == pytest.approx(0.031)
    assert tx.due(0.0309) == [b"\x01", b"\x02"]
    assert tx.due(0.031) == [b"\x03"]
    assert (tx.counters.frames, tx.counters.bits) == (4, 3 * 15_360 + 1536)


def test_idle_line_restarts_from_now() -> None:
    tx = LineTransmitter(T1, queue_len=2)
    tx.offer(b"a", 1536, now=0.0)
    assert tx.due(1.0) == [b"a"]
    tx.offer(b"b", 1536, now=5.0)
    assert tx.deadline() == pytest.approx(5.001)  # not 0.002: the line was idle


def test_queue_bound_is_enforced() -> None:
    tx = LineTransmitter(T1, queue_len=2)
    assert tx.space == 2
    assert tx.offer(b"a", 100, now=0.0)
    assert tx.offer(b"b", 100, now=0.0)
    assert tx.space == 0
    busy = tx.busy_until
    assert not tx.offer(b"c", 100, now=0.0)
    assert len(tx) == 2 and tx.busy_until == busy  # refused means not queued at all
    assert tx.due(tx.deadline()) == [b"a"]
    assert tx.space == 1
    assert tx.offer(b"c", 100, now=0.0)
    assert tx.due(1.0) == [b"b", b"c"]


def test_unpaced_line_is_due_immediately() -> None:
    tx = LineTransmitter(None, queue_len=4)
    assert tx.offer(b"a", 10**9, now=3.0)
    assert tx.deadline() == 3.0
    assert tx.due(3.0) == [b"a"]
    assert tx.counters.bits == 10**9


def test_clear_drops_queue_and_frees_line() -> None:
    tx = LineTransmitter(9600, queue_len=4)
    tx.offer(b"a", 9600, now=0.0)
    assert tx.due(1.0) == [b"a"]
    tx.offer(b"b", 9600, now=1.0)
    tx.offer(b"c", 9600, now=1.0)
    assert tx.clear() == 2
    assert len(tx) == 0 and tx.deadline() is None
    assert tx.busy_until == pytest.approx(1.0)
    tx.offer(b"d", 9600, now=1.5)
    assert tx.deadline() == pytest.approx(2.5)
    assert tx.counters.frames == 1


def test_set_rate_retimes_queued_frames() -> None:
    tx = LineTransmitter(9600, queue_len=4)
    tx.offer(b"a", 9600, now=0.0)
    tx.offer(b"b", 9600, now=0.0)
    tx.offer(b"c", 9600, now=10.0)  # after an idle gap
    tx.set_rate(T1)
    assert tx.deadline() == pytest.approx(9600 / T1)
    assert tx.due(1.0) == [b"a", b"b"]
    assert tx.deadline() == pytest.approx(10.0 + 9600 / T1)
    tx.set_rate(None)
    assert tx.deadline() == 10.0
    assert tx.due(10.0) == [b"c"]
    assert tx.bit_rate is None


def test_misuse_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        LineTransmitter(0, queue_len=1)
    with pytest.raises(LocalProtocolError):
        LineTransmitter(T1, queue_len=0)
    tx = LineTransmitter(T1, queue_len=1)
    with pytest.raises(LocalProtocolError):
        tx.offer(b"a", -1, now=0.0)
    with pytest.raises(LocalProtocolError):
        tx.set_rate(-5)
