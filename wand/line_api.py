"""A line's API channels: the application sockets that stand in for interfaces in `mode: api`.

The LineDriver owns one of these per line. It opens a raw-frame endpoint per
Frame Relay / Cisco HDLC API interface (wand.api.endpoint) and the X.25 API
endpoint of an X.25 line (wand.api.x25_endpoint), and it is the endpoints'
only way to the card (the PortOps protocol): data through the port's tx
queue, call control and receive flow control through mailbox commands.

What the line receives for a channel without a TUN, and the events that are
about calls rather than the line, are offered here first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware_emu.adapter import Adapter, Port
from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import ChannelStatusChanged, LinkDown, LinkUp
from firmware_emu.fr.config import ChannelMode
from wand.api.endpoint import ApiCommandError, RawEndpoint
from wand.api.x25_endpoint import X25Endpoint
from wand.config.model import DeviceConfig, InterfaceConfig

log = logging.getLogger("wand.api")


class LinePortOps:
    """PortOps for one line: what an API endpoint may do to the card."""

    def __init__(
        self,
        port_number: int,
        adapter: Adapter,
        port: Callable[[], Port | None],
        loop: asyncio.AbstractEventLoop,
        service: Callable[[float], None],
        line_blocked: Callable[[], bool],
    ) -> None:
        self.port_number = port_number
        self._adapter = adapter
        self._port = port
        self._loop = loop
        self._service = service
        self._line_blocked = line_blocked  # frames wait for the cable: take nothing more

    def can_send(self, channel: int) -> bool:
        port = self._port()
        return port is not None and not self._line_blocked() and port.can_send(channel)

    def submit(self, channel: int, payload: bytes, proto: object) -> bool:
        port = self._port()
        if port is None:
            return False
        return port.submit(channel, payload, proto, self._loop.time())

    def command(self, command: object) -> dict:
        reply = self._adapter.execute(command, self._loop.time())
        if not reply.ok:
            raise ApiCommandError(reply.error)
        return reply.data

    def service(self) -> None:
        self._service(self._loop.time())


class ApiChannels:
    def __init__(
        self, cfg: DeviceConfig, state_dir: Path, loop: asyncio.AbstractEventLoop, ops: LinePortOps
    ) -> None:
        self.cfg = cfg
        self.dir = state_dir / "api"
        self.loop = loop
        self.ops = ops
        self.raw: dict[int, RawEndpoint] = {}  # by channel (DLCI; 0 on Cisco HDLC)
        self.x25: X25Endpoint | None = None

    @staticmethod
    def is_api(icfg: InterfaceConfig) -> bool:
        return icfg.mode is ChannelMode.API

    def open(self, icfg: InterfaceConfig) -> None:
        path = str(self.dir / icfg.name)
        if self.cfg.protocol_name == "x25":
            if self.x25 is not None:
                raise LocalProtocolError(f"{self.cfg.name}: a second X.25 API interface ({icfg.name})")
            endpoint: RawEndpoint | X25Endpoint = X25Endpoint(
                self.cfg.name, icfg.name, path, self.loop, self.ops
            )
            endpoint.open()
            self.x25 = endpoint
        else:
            endpoint = RawEndpoint(self.cfg.name, icfg.name, icfg.channel, path, self.loop, self.ops)
            endpoint.open()
            self.raw[icfg.channel] = endpoint
        log.info("%s: %s: API socket %s", self.cfg.name, icfg.name, path)

    def close(self, icfg: InterfaceConfig) -> None:
        if self.x25 is not None and self.cfg.protocol_name == "x25":
            self.x25.close()
            self.x25 = None
        endpoint = self.raw.pop(icfg.channel, None)
        if endpoint is not None:
            endpoint.close()

    def close_all(self) -> None:
        for endpoint in self.raw.values():
            endpoint.close()
        self.raw.clear()
        if self.x25 is not None:
            self.x25.close()
            self.x25 = None

    def has(self, icfg: InterfaceConfig) -> bool:
        return (self.x25 is not None) if self.cfg.protocol_name == "x25" else icfg.channel in self.raw

    # -- line -> applications ------------------------------------------------------
    def deliver(self, delivery: Any) -> bool:
        """A received message for an API channel: True when one took it."""
        endpoint = self.raw.get(delivery.channel)
        if endpoint is not None:
            endpoint.deliver(delivery.payload, delivery.proto)
            return True
        x25 = self.x25
        if x25 is not None and x25.owns(delivery.channel):
            x25.deliver(
                delivery.channel,
                delivery.payload,
                getattr(delivery, "q", False),
                getattr(delivery, "d", False),
            )
            return True
        return False

    def handle_event(self, event: Any) -> bool:
        """Call events go to the X.25 endpoint; line and channel state to everyone concerned.

        Returns True when the event concerned only the API (the driver need not look at it).
        """
        if isinstance(event, ChannelStatusChanged) or hasattr(event, "usable"):
            endpoint = self.raw.get(event.channel)
            if endpoint is not None:
                endpoint.set_usable(event.usable)
            return False
        if isinstance(event, LinkUp | LinkDown):
            if self.x25 is not None:
                self.x25.handle_event(event)
            return False
        return self.x25 is not None and self.x25.handle_event(event)

    def on_writable(self) -> None:
        """The port has room again: endpoints that stopped reading their applications resume."""
        for endpoint in self.raw.values():
            endpoint.on_writable()
        if self.x25 is not None and hasattr(self.x25, "on_writable"):
            self.x25.on_writable()

    # -- timers and status ------------------------------------------------------------
    def deadline(self) -> float | None:
        return self.x25.deadline() if self.x25 is not None else None

    def on_timer(self, now: float) -> None:
        if self.x25 is not None:
            deadline = self.x25.deadline()
            if deadline is not None and deadline <= now:
                self.x25.on_timer(now)

    def status(self) -> dict[str, Any]:
        status = {name: ep.status() for name, ep in ((e.ifname, e) for e in self.raw.values())}
        if self.x25 is not None:
            status[self.x25.ifname] = self.x25.status()
        return status
