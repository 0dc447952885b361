"""systemd's notify protocol (sd_notify(3)) without libsystemd: one datagram to $NOTIFY_SOCKET.

Also the service watchdog (sd_watchdog_enabled(3)): with `WatchdogSec=` in the
unit, systemd sets $WATCHDOG_USEC and kills (then, with `Restart=`, restarts)
a service that stops sending WATCHDOG=1 within that time. The pings are sent
from a callback on the daemon's own event loop, not from a thread: what must
be proven alive is the loop that drives every line, and a thread would keep
pinging while the loop is stuck.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping


def notify(state: str) -> bool:
    """Send e.g. "READY=1"; returns False when not running under systemd (or it failed)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        return False
    return True


def watchdog_timeout(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog timeout systemd expects us to honour, in seconds, or None.

    As sd_watchdog_enabled(3): $WATCHDOG_USEC must be a positive integer, and
    $WATCHDOG_PID, when set, must be our pid -- a child that inherited the
    environment must not ping on its parent's behalf.
    """
    environ = os.environ if environ is None else environ
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1_000_000


class Watchdog:
    """Sends WATCHDOG=1 every `interval` seconds from a callback on `loop`.

    If the loop is blocked (a handler that never returns, a deadlock), the
    callback cannot run, the pings stop, and systemd's watchdog fires.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        send: Callable[[str], bool] = notify,
    ) -> None:
        self.loop = loop
        self.interval = interval
        self.send = send
        self.pings = 0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._ping()

    def _ping(self) -> None:
        self.send("WATCHDOG=1")
        self.pings += 1
        self._handle = self.loop.call_later(self.interval, self._ping)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def start_watchdog(
    loop: asyncio.AbstractEventLoop, environ: Mapping[str, str] | None = None
) -> Watchdog | None:
    """Start pinging at half the timeout (as systemd recommends) if a watchdog is set up."""
    timeout = watchdog_timeout(environ)
    if timeout is None:
        return None
    watchdog = Watchdog(loop, timeout / 2)
    watchdog.start()
    return watchdog
