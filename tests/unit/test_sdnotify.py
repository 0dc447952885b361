"""sd_notify and the service watchdog, without systemd: a socket stands in for it."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from wand.sdnotify import Watchdog, notify, start_watchdog, watchdog_timeout


def test_notify_sends_one_datagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert notify("READY=1\nSTATUS=1 line(s) up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=1 line(s) up"


def test_notify_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"wand-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("WATCHDOG=1")
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")


def test_watchdog_timeout_follows_sd_watchdog_enabled() -> None:
    assert watchdog_timeout({"WATCHDOG_USEC": "3000000"}) == 3.0
    assert watchdog_timeout({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "42"}, pid=42) == 3.0
    assert watchdog_timeout({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "42"}, pid=43) is None
    assert watchdog_timeout({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_timeout({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_timeout({}) is None
    assert start_watchdog(asyncio.new_event_loop(), environ={}) is None


def test_watchdog_pings_from_the_loop_and_stops_when_the_loop_is_stuck() -> None:
    sent: list[float] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        watchdog = Watchdog(loop, 0.02, send=lambda state: sent.append(time.monotonic()) or True)
        watchdog.start()
        await asyncio.sleep(0.2)
        time.sleep(0.3)  # a handler that blocks the loop: no pings can go out meanwhile
        stuck_until = time.monotonic()
        await asyncio.sleep(0.1)
        watchdog.cancel()
        count = len(sent)
        await asyncio.sleep(0.1)
        assert len(sent) == count, "pings after cancel()"
        gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
        assert max(gaps) >= 0.29  # the stall shows as one long gap...
        assert any(t > stuck_until for t in sent)  # ...and pings resume with the loop

    asyncio.run(scenario())
    assert len(sent) >= 10


def test_start_watchdog_pings_at_half_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)

        async def scenario() -> Watchdog | None:
            watchdog = start_watchdog(asyncio.get_running_loop(), {"WATCHDOG_USEC": "100000"})
            await asyncio.sleep(0.16)
            if watchdog is not None:
                watchdog.cancel()
            return watchdog

        watchdog = asyncio.run(scenario())
        assert watchdog is not None and watchdog.interval == 0.05
        assert sock.recv(64) == b"WATCHDOG=1"
        assert 2 <= watchdog.pings <= 5
