"""A Unix datagram cable survives either end being killed and restarted.

Two processes in two network namespaces, joined by a UnixDatagramTransport
pair and driven the way the daemon drives it (add_reader, add_writer after
send() -> False, maintain() at deadline()). The "poller" sends an enquiry
every 100 ms, like an FR DTE; the "responder" only ever answers, like a DCE.
A restarted end cannot reach a survivor that is still connected to the dead
socket, and a quiet survivor never sends to find out: without maintain()
this deadlocks. Ends are killed with SIGKILL, so their socket files stay
behind as stale ones.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from wand.transport import REFRESH_IDLE

PopenIn = Callable[..., subprocess.Popen[bytes]]

STATION = r"""
import selectors, sys, time
from wand.transport import UnixDatagramTransport

role, local, remote = sys.argv[1:4]
t = UnixDatagramTransport(local, remote)
sel = selectors.DefaultSelector()
sel.register(t.fileno(), selectors.EVENT_READ)
out = []  # frames the cable has not taken yet (send() -> False)
seq, next_poll = 0, time.monotonic()
print("ready", flush=True)
while True:
    wake = [d for d in (t.deadline(), next_poll if role == "poller" else None) if d is not None]
    sel.modify(t.fileno(), selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0))
    sel.select(max(0.0, min(wake) - time.monotonic()) if wake else None)
    now = time.monotonic()
    for frame in t.recv_batch(64, now):
        if role == "responder" and frame.startswith(b"enq "):
            out.append(b"ack " + frame[4:])
        elif frame.startswith(b"ack "):
            print("reply", frame[4:].decode(), now, flush=True)
    if role == "poller" and now >= next_poll:
        seq += 1
        out.append(b"enq %d" % seq)
        next_poll = now + 0.1
    while out and t.send(out[0]):
        out.pop(0)
    t.maintain(now)  # a no-op until deadline()
"""


class Station:
    def __init__(self, popen_in: PopenIn, ns: str, role: str, local: str, remote: str) -> None:
        self.proc = popen_in(
            ns, [sys.executable, "-c", STATION, role, local, remote], stdout=subprocess.PIPE, text=False
        )
        self._pending = b""
        assert self.next_line(10.0) == "ready", f"{role} failed to start (exit {self.proc.poll()})"

    def next_line(self, timeout: float) -> str | None:
        """The next line of output, or None if none came within `timeout` seconds."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        while b"\n" not in self._pending:
            remaining = end - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def seconds_to_reply(self, since: float, timeout: float) -> float | None:
        """Seconds from `since` (time.monotonic()) to the first reply received after it, or None."""
        end = since + timeout
        while (line := self.next_line(max(0.0, end - time.monotonic()))) is not None:
            if line.startswith("reply "):
                at = float(line.split()[2])  # the station's monotonic clock, which is ours
                if at >= since:
                    return at - since
        return None

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no close(), the socket file stays behind
        self.proc.wait(5)
        self._pending = b""


def test_either_end_restarts_and_the_link_recovers(
    netns: Callable[[], str], popen_in: PopenIn, tmp_path: Path
) -> None:
    ns_a, ns_b = netns(), netns()
    sock_a, sock_b = str(tmp_path / "line" / "a.sock"), str(tmp_path / "line" / "b.sock")
    stations: list[Station] = []
    try:
        responder = Station(popen_in, ns_b, "responder", sock_b, sock_a)
        stations.append(responder)
        started = time.monotonic()
        poller = Station(popen_in, ns_a, "poller", sock_a, sock_b)
        stations.append(poller)
        first = poller.seconds_to_reply(started, 5.0)
        assert first is not None, "no reply on a fresh link"

        # The poller restarts; the responder is the quiet survivor, still
        # connected to the dead socket. Its maintain() finds the new poller.
        poller.kill()
        assert Path(sock_a).exists()  # stale
        restarted = time.monotonic()
        poller = Station(popen_in, ns_a, "poller", sock_a, sock_b)
        stations.append(poller)
        after_poller_restart = poller.seconds_to_reply(restarted, 4 * REFRESH_IDLE)
        assert after_poller_restart is not None, "quiet survivor never re-attached"

        # The responder restarts; the poller's sends find the peer gone and
        # re-connect (rate-limited) until the new responder is there.
        responder.kill()
        restarted = time.monotonic()
        responder = Station(popen_in, ns_b, "responder", sock_b, sock_a)
        stations.append(responder)
        after_responder_restart = poller.seconds_to_reply(restarted, 4 * REFRESH_IDLE)
        assert after_responder_restart is not None, "poller never re-attached to the new responder"
        print(
            f"\nfirst reply {first:.3f}s; after poller restart {after_poller_restart:.3f}s;"
            f" after responder restart {after_responder_restart:.3f}s"
        )
    finally:
        for station in stations:
            if station.proc.poll() is None:
                station.kill()
