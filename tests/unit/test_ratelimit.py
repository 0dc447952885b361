"""Repeated errors: a burst gets through, the rest is counted and summarized with its key."""

from __future__ import annotations

import logging

import pytest

from wand.line import _errors_logged
from wand.ratelimit import RateLimitedLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_suppressed_then_summarized(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limited = RateLimitedLog(logging.getLogger("wand.test"), interval=10.0, burst=3, clock=clock)
    with caplog.at_level(logging.WARNING, logger="wand.test"):
        for i in range(10):
            limited.warning("wanpipe1: rx_crc_errors", "wanpipe1: rx_crc_errors: frame %d", i)
        limited.warning("wanpipe2: rx_crc_errors", "wanpipe2: rx_crc_errors: frame %d", 0)  # its own budget
        clock.now += 10.0
        limited.warning("wanpipe1: rx_crc_errors", "wanpipe1: rx_crc_errors: frame %d", 10)
    assert [r.getMessage() for r in caplog.records] == [
        "wanpipe1: rx_crc_errors: frame 0",
        "wanpipe1: rx_crc_errors: frame 1",
        "wanpipe1: rx_crc_errors: frame 2",
        "wanpipe2: rx_crc_errors: frame 0",
        "wanpipe1: rx_crc_errors: 7 similar messages suppressed",
        "wanpipe1: rx_crc_errors: frame 10",
    ]


class FakeLine:
    def __init__(self) -> None:
        self.name = "wanpipe3"
        self.errors = RateLimitedLog(logging.getLogger("wand.line"), burst=2, clock=Clock())
        self.calls = 0

    @_errors_logged
    def _on_line_readable(self) -> None:
        self.calls += 1
        raise OSError(5, "Input/output error")


def test_callback_errors_are_logged_with_the_device_and_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = FakeLine()
    with caplog.at_level(logging.ERROR, logger="wand.line"):
        for _ in range(5):
            line._on_line_readable()  # a fd that stays ready calls straight back
    assert line.calls == 5
    assert [r.getMessage() for r in caplog.records] == ["wanpipe3: _on_line_readable failed"] * 2
    assert caplog.records[0].exc_info is not None and "Input/output error" in caplog.text
