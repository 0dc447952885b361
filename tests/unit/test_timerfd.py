"""TimerFd: a nanosecond-resolution one-shot timer usable with select/epoll.

Only "it fired" / "it has not fired yet" is asserted, with generous margins,
so a loaded CI machine cannot make these flaky.
"""

from __future__ import annotations

import select
import time
from collections.abc import Iterator

import pytest

from wand.timerfd import TimerFd


@pytest.fixture
def timer() -> Iterator[TimerFd]:
    t = TimerFd()
    yield t
    t.close()


def _readable(t: TimerFd, timeout: float) -> bool:
    r, _, _ = select.select([t.fileno()], [], [], timeout)
    return bool(r)


def test_fires_once_after_deadline(timer: TimerFd) -> None:
    start = time.monotonic()
    timer.arm_at(start + 0.002)
    assert _readable(timer, 5.0)
    assert time.monotonic() >= start + 0.002  # never early: absolute CLOCK_MONOTONIC == time.monotonic()
    assert timer.ack() == 1
    assert timer.ack() == 0  # one-shot, and ack() does not block
    assert not _readable(timer, 0.05)


def test_not_fired_before_deadline(timer: TimerFd) -> None:
    timer.arm_at(time.monotonic() + 10.0)
    assert not _readable(timer, 0.05)
    assert timer.ack() == 0


def test_disarm(timer: TimerFd) -> None:
    timer.arm_at(time.monotonic() + 0.05)
    timer.arm_at(None)
    assert not _readable(timer, 0.2)
    assert timer.ack() == 0


def test_past_deadline_fires_at_once(timer: TimerFd) -> None:
    timer.arm_at(time.monotonic() - 1.0)
    assert _readable(timer, 1.0)
    assert timer.ack() == 1


def test_zero_deadline_fires_rather_than_disarms(timer: TimerFd) -> None:
    # it_value == 0 means "disarm" to the kernel; arm_at(0.0) must still fire.
    timer.arm_at(0.0)
    assert _readable(timer, 1.0)
    assert timer.ack() == 1


def test_rearm_discards_unacked_expiry(timer: TimerFd) -> None:
    timer.arm_at(time.monotonic() - 1.0)
    assert _readable(timer, 1.0)
    timer.arm_at(time.monotonic() + 10.0)  # deadline moved: the old expiry must not wake us
    assert not _readable(timer, 0.05)
    assert timer.ack() == 0


def test_close_is_idempotent() -> None:
    t = TimerFd()
    t.close()
    t.close()
    assert t.fileno() == -1
