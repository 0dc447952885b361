"""The driver for one wanpipe device: one adapter port, its cable and its channels.

Theory of operation
-------------------
Everything runs on the daemon's single event loop; this class only reacts to
readiness callbacks and timer expiries:

- A channel's TUN fd is readable: drain up to BATCH packets into the port's
  tx ring. When the ring is full, stop reading every TUN of this line: the
  packets stay in the kernel's queue (counted there if it overflows) until the
  serializer frees room. Nothing is dropped by us.
- The cable is readable: drain up to BATCH frames into the port.
- After either, and after a timer expiry, `service` sends every frame the
  serializer has finished, hands received packets to their TUN (or to the
  switch), and turns firmware events into carrier, route and log changes.

All fds are non-blocking and drained in loops (add_reader style): asyncio's
DatagramProtocol costs several times more per packet.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from firmware_emu.adapter import (
    Adapter,
    AddChannel,
    ConfigurePort,
    LoadFirmware,
    Port,
    RemoveChannel,
    RemovePort,
    SetChannelActive,
    StartPort,
    StopPort,
)
from firmware_emu.events import (
    ChannelStatusChanged,
    LinkDown,
    LinkUp,
    LocalAddressAssigned,
    PeerAddressLearned,
    ProtocolErrorSeen,
)
from firmware_emu.fr.config import DlciConfig, FrameRelayConfig
from firmware_emu.fr.events import PvcStatusChanged
from firmware_emu.payload import Proto
from wand.channel import Channel
from wand.config.model import DeviceConfig
from wand.line_api import ApiChannels, LinePortOps
from wand.netlink_worker import NetlinkWorker
from wand.ratelimit import RateLimitedLog
from wand.transport import LinkTransport, make_transport

log = logging.getLogger("wand.line")
BATCH = 64
MAX_PACKET = 65535
UNPACED_QUEUE_LEN = 500  # the kernel's default txqueuelen for a TUN


class MailboxError(RuntimeError):
    pass


def _errors_logged(method: Callable[..., None]) -> Callable[..., None]:
    """For the callbacks the event loop (or the daemon's timer) calls: an unexpected
    error is logged with the device, rate-limited, and the loop carries on.

    Left to asyncio, it would log a full traceback on every call, and a fd that
    stays ready calls straight back: the journal would fill. From on_timer it
    would also skip every other line's timers.
    """

    @functools.wraps(method)
    def guarded(self: LineDriver, *args: object) -> None:
        try:
            method(self, *args)
        except Exception:
            self.errors.exception(
                f"{self.name}: {method.__name__}", "%s: %s failed", self.name, method.__name__
            )

    return guarded


class LineDriver:
    def __init__(
        self,
        cfg: DeviceConfig,
        adapter: Adapter,
        loop: asyncio.AbstractEventLoop,
        netlink: NetlinkWorker,
        on_link_change: Callable[[LineDriver], None],
        switch_lookup: Callable[[str], LineDriver | None],
        rearm: Callable[[], None],
        state_dir: Path,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.adapter = adapter
        self.loop = loop
        self.netlink = netlink
        self.on_link_change = on_link_change
        self.switch_lookup = switch_lookup
        self.rearm = rearm  # the daemon's timer must learn of new serializer/engine deadlines
        self.port: Port | None = None
        self.transport: LinkTransport | None = None
        self.channels: dict[int, Channel] = {}  # by DLCI
        self.stopped_channels: set[str] = set()  # interfaces stopped by the operator
        self.tx_paused = False
        self._wire_backlog: deque[bytes] = deque()  # frames the serializer finished but the cable refused
        self._writer_armed = False
        self.link_up = False
        self.switch_drops = 0
        self.rx_no_interface = 0
        self.errors = RateLimitedLog(log)
        ops = LinePortOps(
            cfg.port, adapter, lambda: self.port, loop, self.service, lambda: bool(self._wire_backlog)
        )
        self.api = ApiChannels(cfg, state_dir, loop, ops)  # interfaces in mode api: application sockets

    # -- mailbox -------------------------------------------------------------
    def _mailbox(self, command: object, now: float) -> dict:
        reply = self.adapter.execute(command, now)
        if not reply.ok:
            raise MailboxError(f"{self.name}: {type(command).__name__}: {reply.error}")
        return reply.data

    # -- lifecycle -----------------------------------------------------------
    def start(self, now: float) -> None:
        """Bring the line up; on any failure, undo what was done and raise."""
        cfg = self.cfg
        try:
            self.transport = make_transport(cfg.transport)
            # PPP may run async (RFC 1662 octet stuffing on a serial byte stream); all else is sync HDLC.
            framing = getattr(cfg.protocol, "framing", "sync") if cfg.protocol_name == "ppp" else "sync"
            self._mailbox(
                ConfigurePort(
                    cfg.port, cfg.line, cfg.protocol, carries_fcs=self.transport.carries_fcs, framing=framing
                ),
                now,
            )
            self.port = self.adapter.port(cfg.port)
            for icfg in cfg.interfaces:
                self._open_channel(icfg)
            self.loop.add_reader(self.transport.fileno(), self._on_line_readable)
            self._mailbox(StartPort(cfg.port), now)
        except BaseException:
            self.stop(now)
            raise
        log.info(
            "%s: started on %s port %d: %s, %s, %s",
            self.name,
            cfg.adapter,
            cfg.port,
            _describe_line(cfg),
            _describe_protocol(cfg),
            self.transport.describe(),
        )
        self.service(now)

    def stop(self, now: float) -> None:
        for channel in list(self.channels.values()):
            self._close_channel(channel)
        self.api.close_all()
        if self.port is not None:
            if self.port.running:
                self._mailbox(StopPort(self.cfg.port), now)
            self._mailbox(RemovePort(self.cfg.port), now)
            self.port = None
        if self.transport is not None:
            self.loop.remove_reader(self.transport.fileno())
            if self._writer_armed:
                self.loop.remove_writer(self.transport.fileno())
                self._writer_armed = False
            self._wire_backlog.clear()
            self.transport.close()
            self.transport = None
        if self.link_up:
            self.link_up = False
            self.on_link_change(self)
        log.info("%s: stopped", self.name)

    def _open_channel(self, icfg) -> None:  # noqa: ANN001 - InterfaceConfig
        if icfg.name in self.stopped_channels:
            return
        if ApiChannels.is_api(icfg):
            self.api.open(icfg)
            return
        channel = Channel(self.name, icfg, self.netlink, self._interface_queue_len())
        channel.open()
        self.channels[icfg.channel] = channel
        self._resume_reading(channel)
        if self.port is not None and self.port.running:  # a reopened channel picks up the PVC's state
            channel.set_usable(self.port.engine.channel_usable(icfg.channel))

    def _interface_queue_len(self) -> int:
        """The kernel queue in front of each TUN.

        On a paced line it is as short as the line's own tx queue, so latency under
        load stays bounded (tc qdiscs attach there too). An unpaced line has no
        serialization delay to bound, and TCP hands the TUN whole GSO bursts of up
        to ~44 packets at once: a short queue would drop a quarter of them.
        """
        line = self.cfg.line
        return line.tx_queue_len if line.bit_rate is not None else max(line.tx_queue_len, UNPACED_QUEUE_LEN)

    # -- per-channel control (wanrouter stop|start wanpipeN IFNAME) --------------
    def _interface(self, ifname: str):  # noqa: ANN202 - InterfaceConfig
        for icfg in self.cfg.interfaces:
            if icfg.name == ifname:
                return icfg
        raise KeyError(ifname)

    def stop_channel(self, ifname: str) -> None:
        """Take one interface down; the PVC and every other channel carry on."""
        icfg = self._interface(ifname)
        self._close_interface(icfg)
        self.stopped_channels.add(ifname)

    def start_channel(self, ifname: str) -> None:
        icfg = self._interface(ifname)
        self.stopped_channels.discard(ifname)
        if not self._is_open(icfg):
            self._open_channel(icfg)

    def _is_open(self, icfg) -> bool:  # noqa: ANN001 - InterfaceConfig
        return self.api.has(icfg) if ApiChannels.is_api(icfg) else icfg.channel in self.channels

    def _close_interface(self, icfg) -> None:  # noqa: ANN001 - InterfaceConfig
        if ApiChannels.is_api(icfg):
            self.api.close(icfg)
            return
        channel = self.channels.get(icfg.channel)
        if channel is not None:
            self._close_channel(channel)

    def _close_channel(self, channel: Channel) -> None:
        if channel.reading:
            self.loop.remove_reader(channel.fd)
            channel.reading = False
        channel.close()
        self.channels.pop(channel.number, None)

    def _resume_reading(self, channel: Channel) -> None:
        if not channel.reading and channel.fd >= 0:
            self.loop.add_reader(channel.fd, self._on_tun_readable, channel)
            channel.reading = True

    # -- reconfiguration (SIGHUP) -------------------------------------------
    def needs_restart(self, new: DeviceConfig) -> bool:
        """True when something other than channels changed (line, protocol timers, cable)."""
        old = self.cfg

        def core(c: DeviceConfig) -> DeviceConfig:
            protocol = (
                replace(c.protocol, dlcis=()) if isinstance(c.protocol, FrameRelayConfig) else c.protocol
            )
            return replace(c, interfaces=(), switch=(), protocol=protocol, source="")

        return core(old) != core(new)

    def update_channels(self, new: DeviceConfig, now: float) -> None:
        """Apply DLCI/interface changes without disturbing the unchanged ones."""
        old_dlcis = _declared_channels(self.cfg)
        new_dlcis = _declared_channels(new)
        old_ifs = {i.channel: i for i in self.cfg.interfaces}
        new_ifs = {i.channel: i for i in new.interfaces}
        for dlci, icfg in old_ifs.items():
            if new_ifs.get(dlci) != icfg or new_dlcis.get(dlci) != old_dlcis.get(dlci):
                self._close_interface(icfg)
        for dlci, dcfg in old_dlcis.items():
            if new_dlcis.get(dlci) != dcfg:
                self._mailbox(RemoveChannel(self.cfg.port, dlci), now)
                log.info("%s: DLCI %d removed", self.name, dlci)
        for dlci, dcfg in new_dlcis.items():
            if old_dlcis.get(dlci) != dcfg:
                self._mailbox(AddChannel(self.cfg.port, dcfg), now)
                log.info("%s: DLCI %d added", self.name, dlci)
        self.cfg = new
        for icfg in new_ifs.values():
            if not self._is_open(icfg):
                self._open_channel(icfg)
        self.service(now)

    def load_firmware(self, name: str, version: str | None, now: float) -> dict:
        """Swap this line's firmware engine live (wanrouter reload wanpipeN --firmware NAME[:VERSION])."""
        result = self._mailbox(LoadFirmware(self.cfg.port, name, version), now)
        log.info(
            "%s: firmware %s loaded (was %s, from %s)",
            self.name,
            result["firmware"],
            result["previous"],
            result["origin"],
        )
        self.service(now)
        return result

    def set_switched_active(self, dlci: int, active: bool, now: float) -> None:
        if self.port is not None and dlci in _declared_channels(self.cfg):
            self._mailbox(SetChannelActive(self.cfg.port, dlci, active), now)
            self.service(now)

    # -- fast path -------------------------------------------------------------
    @_errors_logged
    def _on_tun_readable(self, channel: Channel) -> None:
        port = self.port
        if port is None:
            return
        now = self.loop.time()
        fd, number = channel.fd, channel.number
        tap = channel.is_tap
        for _ in range(BATCH):
            if port.tx_space <= 0 or self._wire_backlog:
                self._send_due(now)  # an unpaced line frees its queue at once
                if port.tx_space <= 0 or self._wire_backlog:
                    self._pause_tx()
                    break
            try:
                packet = os.read(fd, MAX_PACKET)
            except (BlockingIOError, InterruptedError):
                break
            if tap:
                proto = Proto.ETHER
            else:
                version = packet[0] >> 4 if packet else 0
                if version == 4:
                    proto = Proto.IPV4
                elif version == 6:
                    proto = Proto.IPV6
                else:
                    channel.counters.tx_not_ip += 1
                    continue
            port.submit(number, packet, proto, now)
        self.service(now)

    @_errors_logged
    def _on_line_readable(self) -> None:
        port, transport = self.port, self.transport
        if port is None or transport is None:
            return
        now = self.loop.time()
        for frame in transport.recv_batch(BATCH, now):
            port.line_input(frame, now)
        self.service(now)

    def _wait_writable(self) -> None:
        self._pause_tx()
        if not self._writer_armed and self.transport is not None:
            self.loop.add_writer(self.transport.fileno(), self._on_line_writable)
            self._writer_armed = True

    @_errors_logged
    def _on_line_writable(self) -> None:
        if self.transport is not None:
            self.loop.remove_writer(self.transport.fileno())
        self._writer_armed = False
        self.service(self.loop.time())

    # -- timers ------------------------------------------------------------------
    def deadline(self) -> float | None:
        """The earliest of the port's (engine, serializer) and the cable's upkeep deadlines."""
        if self.port is None or self.transport is None:
            return None
        deadlines = [
            d for d in (self.port.deadline(), self.transport.deadline(), self.api.deadline()) if d is not None
        ]
        return min(deadlines, default=None)

    @_errors_logged
    def on_timer(self, now: float) -> None:
        port, transport = self.port, self.transport
        if port is None or transport is None:
            return
        cable = transport.deadline()
        if cable is not None and cable <= now:
            transport.maintain(now)
        port_deadline = port.deadline()
        if port_deadline is not None and port_deadline <= now:
            port.handle_timer(now)
        self.api.on_timer(now)
        self.service(now)

    def _pause_tx(self) -> None:
        if self.tx_paused:
            return
        self.tx_paused = True
        for channel in self.channels.values():
            if channel.reading:
                self.loop.remove_reader(channel.fd)
                channel.reading = False

    def service(self, now: float) -> None:
        port, transport = self.port, self.transport
        if port is None or transport is None:
            return
        self._send_due(now)
        rx = port.rx
        while rx:
            delivery = rx.popleft()
            channel = self.channels.get(delivery.channel)
            if channel is None:
                if not self.api.deliver(delivery):
                    self._switch(delivery, now)
            else:
                try:
                    os.write(channel.fd, delivery.payload)
                except OSError as exc:
                    channel.counters.rx_write_errors += 1
                    self.errors.warning(
                        f"{self.name}: {channel.name}: write",
                        "%s: %s: write: %s",
                        self.name,
                        channel.name,
                        exc,
                    )
        if port.events:
            self._handle_events(port, now)
        if port.tx_space > 0 and not self._wire_backlog:
            if self.tx_paused:
                self.tx_paused = False
                for channel in self.channels.values():
                    self._resume_reading(channel)
            if self.api.raw or self.api.x25 is not None:
                self.api.on_writable()
        self.rearm()

    def _send_due(self, now: float) -> None:
        """Put every frame the serializer has finished on the cable, in order."""
        assert self.port is not None and self.transport is not None
        backlog = self._wire_backlog
        backlog.extend(self.port.line_output(now))
        send = self.transport.send
        while backlog:
            if not send(backlog[0]):  # the cable pushes back: keep the frame, wait until writable
                self._wait_writable()
                break
            backlog.popleft()

    def _switch(self, delivery, now: float) -> None:  # noqa: ANN001 - Delivery
        for entry in self.cfg.switch:
            if entry.dlci == delivery.channel:
                target = self.switch_lookup(entry.to_device)
                port = target.port if target is not None else None
                if port is not None and port.submit(entry.to_dlci, delivery.payload, Proto.RAW, now):
                    target.service(now)  # type: ignore[union-attr]
                    return
                self.switch_drops += 1
                return
        self.rx_no_interface += 1  # neither switched nor an interface (stopped by the operator)

    def _handle_events(self, port: Port, now: float) -> None:
        while port.events:
            event = port.events.popleft()
            if self.api.handle_event(event):
                continue
            if isinstance(event, PvcStatusChanged | ChannelStatusChanged):
                channel = self.channels.get(event.channel)
                log.info(
                    "%s: %s%s: %s%s",
                    self.name,
                    self._channel_label(event.channel),
                    f" ({channel.name})" if channel else "",
                    f"PVC {event.state}" if isinstance(event, PvcStatusChanged) else event.state,
                    "" if event.usable else " (not usable)",
                )
                if channel is not None:
                    channel.set_usable(event.usable)
                if event.usable:
                    self._log_negotiation(port)
            elif isinstance(event, LinkUp | LinkDown):
                self.link_up = isinstance(event, LinkUp)
                if self.link_up:
                    log.info("%s: link up", self.name)
                    self._log_negotiation(port)
                else:
                    log.warning("%s: link down: %s", self.name, event.reason)
                self.on_link_change(self)
            elif isinstance(event, PeerAddressLearned):
                label = self._channel_label(event.channel)
                log.info("%s: %s: peer address learned: %s", self.name, label, event.address)
                channel = self.channels.get(event.channel)
                if channel is not None:
                    channel.learn_peer(event.address)
            elif isinstance(event, LocalAddressAssigned):
                channel = self.channels.get(event.channel)
                log.info("%s: address %s/%d assigned by the peer", self.name, event.address, event.prefix)
                if channel is not None:
                    channel.assign_address(event.address, event.prefix)
            elif isinstance(event, ProtocolErrorSeen):
                self.errors.warning(
                    f"{self.name}: {event.counter}", "%s: %s: %s", self.name, event.counter, event.detail
                )

    def _log_negotiation(self, port: Port) -> None:
        summary = getattr(port.engine, "negotiation_summary", None)  # protocols that negotiate (PPP)
        if summary is not None:
            log.info("%s: negotiated: %s", self.name, summary())

    def _channel_label(self, number: int) -> str:
        return f"DLCI {number}" if self.cfg.protocol_name == "frame_relay" else f"channel {number}"

    def status(self) -> dict:
        if self.port is None:
            return {"device": self.name, "running": False}
        status = self.port.status()
        status["device"] = self.name
        status["transport"] = self.transport.describe() if self.transport else None
        status["channels"] = {
            ch.name: {"channel": ch.number, "usable": ch.usable, **vars(ch.counters)}
            for ch in self.channels.values()
        }
        if self.api.raw or self.api.x25 is not None:
            status["api"] = self.api.status()
        status["switch_drops"] = self.switch_drops
        status["rx_no_interface"] = self.rx_no_interface
        status["stopped_channels"] = sorted(self.stopped_channels)
        return status


def _describe_line(cfg: DeviceConfig) -> str:
    rate = cfg.line.bit_rate
    return f"{cfg.line.kind} {'unpaced' if rate is None else f'{rate} b/s'}"


def _describe_protocol(cfg: DeviceConfig) -> str:
    protocol = cfg.protocol
    if isinstance(protocol, FrameRelayConfig):
        return f"frame relay {protocol.station} {protocol.signalling}"
    return cfg.protocol_name


def _declared_channels(cfg: DeviceConfig) -> dict[int, DlciConfig]:
    """The channels a line declares in its protocol section (Frame Relay's PVCs).

    Single-channel protocols have none: their one channel exists with the line,
    so a change there restarts the line (needs_restart) rather than a channel.
    """
    if isinstance(cfg.protocol, FrameRelayConfig):
        return {d.dlci: d for d in cfg.protocol.dlcis}
    return {}
