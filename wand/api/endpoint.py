"""The raw-frame API endpoint (FR DLCI, Cisco HDLC, HDLC channels in ``mode: api``), and PortOps.

Theory of operation
-------------------
One application at a time owns the channel; a second connection is told
``channel busy`` and closed. The app learns ``status`` (usable or not) on
connect and on every PVC/link change. A data message is one frame's
information field, both ways.

App -> line: the app's socket is read only while ``ops.can_send(channel)``.
When the port is full, reading stops, the kernel buffer fills and the app's
send blocks (or gets EAGAIN); ``on_writable`` (the driver: tx resumed) starts
reading again. A frame the port refused anyway is kept and retried first.
Frames sent while the channel is not usable are dropped, counted, and reported.

Line -> app: FR and Cisco HDLC have no link-level flow control to push back
with, so a slow app gets a bounded backlog (RAW_BACKLOG frames). Beyond it,
frames are dropped and counted (``rx_dropped_app_slow``), and the app is told
how many with a ``dropped`` control message placed where the frames would have
been. Nothing is dropped without the app (and the counters) knowing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from firmware_emu.payload import Proto
from wand.api.conn import ApiCommandError, ApiListener, Connection, ConnStats
from wand.api.wire import Control, Data, WireError, encode_control, encode_data

__all__ = ["ApiCommandError", "PortOps", "RAW_BACKLOG", "RawEndpoint", "ServiceSoon"]

log = logging.getLogger("wand.api")
RAW_BACKLOG = 256  # frames waiting for a slow app before we drop (and report) more


class PortOps(Protocol):
    """What an endpoint may ask of its line (the LineDriver implements it)."""

    port_number: int

    def can_send(self, channel: int) -> bool:
        """The port/firmware would take a packet on this channel now."""
        ...

    def submit(self, channel: int, payload: bytes, proto: object) -> bool:
        """Queue one message; False: full, keep it and retry later."""
        ...

    def command(self, command: object) -> dict:
        """Run a mailbox command; raises ApiCommandError with the reason on failure.

        Endpoints also call it from inside deliver/handle_event (clearing a call
        nobody listens for, SetChannelBusy), so it must not itself deliver."""
        ...

    def service(self) -> None:
        """After submitting, let the line send what it can.

        Called from socket callbacks only, never from inside a call the driver
        makes (deliver, handle_event, on_writable): those schedule it instead."""
        ...


class ServiceSoon:
    """Calls ops.service() on the next loop iteration, once however often asked.

    For work done inside a call from the driver (on_writable, handle_event):
    the driver is in the middle of its own service() then, and calling it back
    re-entrantly would interleave two passes over the port's queues."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ops: PortOps) -> None:
        self.loop, self.ops, self.queued = loop, ops, False

    def __call__(self) -> None:
        if not self.queued:
            self.queued = True
            self.loop.call_soon(self._run)

    def _run(self) -> None:
        self.queued = False
        self.ops.service()


@dataclass
class RawCounters:
    tx_frames: int = 0  # app -> line, taken by the port
    tx_bytes: int = 0
    tx_dropped_unusable: int = 0  # sent by the app while the channel was not usable (reported)
    tx_flow_paused: int = 0  # times the port's backpressure stopped reading the app
    rx_frames: int = 0  # line -> app, written or queued for the app
    rx_bytes: int = 0
    rx_dropped_app_slow: int = 0  # the app's backlog was full (reported)
    rx_no_app: int = 0  # frames for the channel while no app was connected
    rx_lost_app_closed: int = 0  # queued for an app that then disconnected
    connects: int = 0
    refused_busy: int = 0  # second apps told "channel busy"


class RawEndpoint:
    def __init__(
        self,
        device: str,
        ifname: str,
        channel: int,
        path: str,
        loop: asyncio.AbstractEventLoop,
        ops: PortOps,
        *,
        backlog_limit: int = RAW_BACKLOG,
    ) -> None:
        self.device = device
        self.ifname = ifname
        self.channel = channel
        self.path = path
        self.loop = loop
        self.ops = ops
        self.backlog_limit = backlog_limit
        self.label = f"{device}: {ifname}"
        self.usable = False
        self.app: Connection | None = None
        self.counters = RawCounters()
        self.stats = ConnStats()
        self._listener = ApiListener(path, loop, self._on_connection)
        self._service_soon = ServiceSoon(loop, ops)
        self._pending: Data | None = None  # read from the app, refused by the port: goes first
        self._unreported: dict[tuple[str, str], int] = {}  # (direction, reason) -> drops not yet told

    # -- lifecycle -------------------------------------------------------------
    def open(self) -> None:
        self._listener.open()
        log.info("%s: raw API on %s (channel %d)", self.label, self.path, self.channel)

    def close(self) -> None:
        if self.app is not None:
            self.app.close()  # on_closed detaches it; the app reads what it had, then EOF
        self._listener.close()

    def _on_connection(self, sock: socket.socket) -> None:
        if self.app is not None:
            self.counters.refused_busy += 1
            try:
                sock.setblocking(False)
                sock.send(
                    encode_control("error", error=f"channel busy: {self.ifname} already has an application")
                )
            except OSError:
                pass
            sock.close()
            return
        conn = Connection(
            sock,
            self.loop,
            self.label,
            self.stats,
            on_message=self._on_message,
            on_closed=self._on_closed,
            on_drained=self._on_drained,
            on_batch_end=lambda _conn: self.ops.service(),
        )
        self.app = conn
        self.counters.connects += 1
        self._unreported.clear()  # the previous app's drops are in the counters; this app never saw them
        log.info("%s: API application connected (pid %d)", self.label, conn.peer[0])
        conn.send(encode_control("status", usable=self.usable))
        self._update_reading()

    def _on_closed(self, conn: Connection) -> None:
        if conn is not self.app:
            return
        self.app = None
        self.counters.rx_lost_app_closed += conn.lost_data
        # A frame already read but refused by the port stays _pending: like data written
        # before a TCP close, it still goes out when the port has room.
        log.info("%s: API application disconnected", self.label)

    # -- app -> line -----------------------------------------------------------------
    def _wants_input(self) -> bool:
        return self._pending is None and self.ops.can_send(self.channel)

    def _update_reading(self) -> None:
        app = self.app
        if app is None:
            return
        if self._wants_input():
            app.resume_reading()
        elif app.reading:
            app.pause_reading()
            self.counters.tx_flow_paused += 1

    def _on_message(self, conn: Connection, message: Data | Control) -> None:
        if isinstance(message, Control):
            if message.op == "status":
                conn.send(encode_control("status", usable=self.usable, **self._app_counters()))
                return
            raise WireError(f'unknown op "{message.op}" (raw channels know: status)')
        if message.q or message.d:
            raise WireError("raw channels carry no Q/D bits: the flag octet must be 0")
        if not self.usable:
            self.counters.tx_dropped_unusable += 1
            self._note_drop("tx", "channel not usable")
            self._flush_reports()
            return
        if self.ops.submit(self.channel, message.payload, Proto.RAW):
            self.counters.tx_frames += 1
            self.counters.tx_bytes += len(message.payload)
        else:
            self._pending = message
        if not self._wants_input():
            self._update_reading()

    def on_writable(self) -> None:
        """The port has room again: the frame it refused goes first, then we read the app again."""
        pending = self._pending
        if (
            pending is not None
            and self.ops.can_send(self.channel)
            and self.ops.submit(self.channel, pending.payload, Proto.RAW)
        ):
            self._pending = None
            self.counters.tx_frames += 1
            self.counters.tx_bytes += len(pending.payload)
            self._service_soon()
        self._update_reading()

    # -- line -> app -------------------------------------------------------------------
    def deliver(self, payload: bytes, flags: object = None) -> None:
        app = self.app
        if app is None:
            self.counters.rx_no_app += 1
            return
        if app.backlog_data >= self.backlog_limit:
            self.counters.rx_dropped_app_slow += 1
            self._note_drop("rx", "application too slow")
            return
        self._flush_reports()
        app.send(encode_data(payload), data=True)
        self.counters.rx_frames += 1
        self.counters.rx_bytes += len(payload)

    def set_usable(self, usable: bool) -> None:
        if usable == self.usable:
            return
        self.usable = usable
        if self.app is not None:
            self._flush_reports()
            self.app.send(encode_control("status", usable=usable))
        self._update_reading()

    def _note_drop(self, direction: str, reason: str) -> None:
        key = (direction, reason)
        self._unreported[key] = self._unreported.get(key, 0) + 1

    def _flush_reports(self) -> None:
        """Tell the app about drops, in stream order: before the next message, or when its backlog drains."""
        app = self.app
        if app is None or not self._unreported:
            return
        for (direction, reason), count in self._unreported.items():
            app.send(encode_control("dropped", direction=direction, count=count, reason=reason))
        self._unreported.clear()

    def _on_drained(self, conn: Connection) -> None:
        if conn is self.app:
            self._flush_reports()

    # -- status --------------------------------------------------------------------------
    def _app_counters(self) -> dict[str, int]:
        c = self.counters
        return {
            "tx_frames": c.tx_frames,
            "rx_frames": c.rx_frames,
            "rx_dropped_app_slow": c.rx_dropped_app_slow,
            "tx_dropped_unusable": c.tx_dropped_unusable,
        }

    def status(self) -> dict[str, Any]:
        return {
            "interface": self.ifname,
            "mode": "api",
            "kind": "raw",
            "channel": self.channel,
            "path": self.path,
            "usable": self.usable,
            "app": self.app.describe() if self.app is not None else None,
            "tx_pending": self._pending is not None,
            **asdict(self.counters),
            **asdict(self.stats),
        }
