"""The X.25 port engine: LAPB (or XOT), the packet layer, and IP over X.25 (RFC 1356).

Theory of operation
-------------------
Frames from the line go to LAPB, whose in-order I-frame payloads are the
packet layer's packets; the packet layer's packets go back down as I-frames.
On an XOT line there is no LAPB: each "frame" is a whole packet, and the
link counts as up from start (XOT has no link to set up).

Unlike the datagram protocols, X.25 has windows and retransmission, so data
does not go through a stateless ``encode``: the port hands it to ``submit``
(``queues_data`` tells the port so), and everything for the line comes out
of ``frames_to_send``. Received messages queue in ``deliveries``.

Channels are the driver's view (see config.py): an IP channel over a PVC or
over SVCs to one remote, or, for the X.25 API, a call's LCN itself. IP calls
carry call user data 0xCC and each datagram is one complete M-bit sequence.
An IP SVC is called on the first packet, which waits (with up to `ip_queue`
others) for the call to connect; it is cleared after `idle_timeout` seconds
without traffic. Incoming IP calls are accepted from a channel's remote.

Events for the X.25 API (IncomingCall, CallConnected, CallCleared,
ResetIndication, InterruptReceived, InterruptConfirmed, RestartIndication,
CircuitWritable, PacketLayerDown) are passed through when they concern a call
that is not an IP channel's; the driver hands them to the API endpoint.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import ChannelStatusChanged, LinkDown, LinkUp, ProtocolErrorSeen
from firmware_emu.lapb.engine import LapbData, LapbEngine, LinkReset
from firmware_emu.payload import Delivery, MessageDelivery, Proto, X25Flags
from firmware_emu.x25.config import IP_USER_DATA, X25Channel, X25Config
from firmware_emu.x25.events import (
    CallCleared,
    CallConnected,
    CircuitWritable,
    DataReceived,
    IncomingCall,
    PacketLayerDown,
    PacketLayerReady,
)
from firmware_emu.x25.layer import Facilities, PacketLayer

CAUSE_DTE_ORIGINATED: Final = 0x00
DIAG_IDLE: Final = 0  # no diagnostic: an idle IP call is cleared by the DTE as a matter of course
DIAG_NO_LISTENER: Final = 0
CAUSE_NOT_OBTAINABLE: Final = 0x0D  # no one here takes that call


@dataclass
class X25PortCounters:
    ip_calls_placed: int = 0
    ip_calls_accepted: int = 0
    ip_idle_clears: int = 0
    ip_queue_drops: int = 0  # IP packets dropped because a channel's queue was full
    ip_not_ipv4: int = 0  # data on an IP call that was not an IPv4 datagram
    calls_refused: int = 0  # incoming calls nothing here takes
    data_no_owner: int = 0  # data on a call that neither an IP channel nor the API owns


@dataclass
class _IpChannel:
    config: X25Channel
    lcn: int | None = None  # the circuit carrying it now (a PVC's is fixed)
    connected: bool = False
    queue: deque[bytes] = field(default_factory=deque)
    last_traffic: float = 0.0


class X25Engine:
    queues_data: Final = True  # the port hands data to submit(), not encode()

    def __init__(self, config: X25Config, now: float) -> None:
        self.config = config
        self.lapb: LapbEngine | None = LapbEngine(config.lapb, now) if config.link == "lapb" else None
        self.plp = PacketLayer(config.packet, now)
        self.counters = X25PortCounters()
        self.deliveries: deque[Any] = deque()
        self._ip = {
            ch.channel: _IpChannel(ch, lcn=ch.pvc, connected=ch.pvc is not None) for ch in config.channels
        }
        self._ip_by_lcn: dict[int, _IpChannel] = {
            ch.pvc: self._ip[ch.channel] for ch in config.channels if ch.pvc
        }
        self._ip_by_remote = {ch.remote: self._ip[ch.channel] for ch in config.channels if ch.remote}
        self._to_link: deque[bytes] = deque()  # packets LAPB could not take yet
        self._out: list[bytes] = []
        self._events: deque[Any] = deque()
        self._running = False
        self._ready = False

    # -- lifecycle --------------------------------------------------------------
    def start(self, now: float) -> None:
        self._running = True
        if self.lapb is not None:
            self.lapb.start(now)
        else:
            self.plp.link_up(now)
        self._pump(now)

    def stop(self, now: float) -> None:
        self._running = False
        if self.lapb is not None:
            self.lapb.stop(now)
        self.plp.link_down(now)
        self._pump(now)

    @property
    def link_up(self) -> bool:
        return self._ready

    # -- line side ----------------------------------------------------------------
    def receive_frame(self, frame: bytes, now: float) -> None:
        if self.lapb is not None:
            self.lapb.receive_frame(frame, now)
        else:
            self.plp.receive_packet(frame, now)
        self._pump(now)

    def frames_to_send(self) -> list[bytes]:
        if self.lapb is not None:
            return self.lapb.frames_to_send()
        out, self._out = self._out, []
        return out

    def next_event(self) -> Any:
        return self._events.popleft() if self._events else None

    # -- driver side ----------------------------------------------------------------
    def encode(self, channel: int, payload: bytes, proto: Any) -> bytes:
        raise LocalProtocolError("X.25 data goes through submit(): the engine keeps windows")

    def submit(self, channel: int, payload: bytes, proto: Any, now: float) -> bool:
        """Queue one message; False when that circuit's window and queue are full (keep it)."""
        ip = self._ip.get(channel)
        if ip is None:  # an API call: channel is the LCN
            flags = proto if isinstance(proto, X25Flags) else X25Flags()
            sent = self.plp.send(channel, payload, now, q=flags.q, d=flags.d)
        else:
            if proto is not Proto.IPV4:
                raise LocalProtocolError(f"IP over X.25 (RFC 1356, CUD 0xCC) carries IPv4 only, not {proto}")
            sent = self._submit_ip(ip, payload, now)
        self._pump(now)
        return sent

    def can_send(self, channel: int) -> bool:
        if channel in self._ip:
            return True
        return self.plp.can_send(channel)

    def channel_usable(self, channel: int) -> bool:
        return self._ready and (channel in self._ip or self.plp.circuit_state(channel) == "connected")

    def set_channel_busy(self, channel: int, busy: bool, now: float) -> None:
        self.plp.set_busy(channel, busy, now)
        self._pump(now)

    # X.25 API call control (through the adapter mailbox)
    def place_call(
        self,
        called: str,
        now: float,
        *,
        calling: str | None = None,
        user_data: bytes = b"",
        packet_size: int | None = None,
        window: int | None = None,
    ) -> int:
        lcn = self.plp.call(
            called,
            now,
            calling=calling,
            user_data=user_data,
            facilities=self._call_facilities(packet_size, window),
        )
        self._pump(now)
        return lcn

    def accept_call(
        self, lcn: int, now: float, *, packet_size: int | None = None, window: int | None = None
    ) -> None:
        self.plp.accept(lcn, now, facilities=_facilities(packet_size, window))
        self._pump(now)

    def clear_call(self, lcn: int, now: float, cause: int = 0, diagnostic: int = 0) -> None:
        self.plp.clear(lcn, now, cause, diagnostic)
        self._pump(now)

    def reset_circuit(self, lcn: int, now: float, cause: int = 0, diagnostic: int = 0) -> None:
        self.plp.reset(lcn, now, cause, diagnostic)
        self._pump(now)

    def send_interrupt(self, lcn: int, data: bytes, now: float) -> None:
        self.plp.interrupt(lcn, data, now)
        self._pump(now)

    def _call_facilities(self, packet_size: int | None, window: int | None) -> Facilities | None:
        """RFC 1613 section 5: a call over XOT states its packet and window sizes explicitly,
        since the far end's defaults are not known; on LAPB the line's defaults apply."""
        if self.config.link == "xot":
            packet_size = packet_size or self.config.packet.packet_size
            window = window or self.config.packet.window
        return _facilities(packet_size, window)

    # -- timers ------------------------------------------------------------------
    def get_timer(self) -> float | None:
        timers = [self.plp.get_timer()]
        if self.lapb is not None:
            timers.append(self.lapb.get_timer())
        for ip in self._ip.values():
            idle = ip.config.idle_timeout
            if ip.config.is_svc and ip.connected and idle > 0:
                timers.append(ip.last_traffic + idle)
        return min((t for t in timers if t is not None), default=None)

    def handle_timer(self, now: float) -> None:
        if self.lapb is not None:
            timer = self.lapb.get_timer()
            if timer is not None and timer <= now:
                self.lapb.handle_timer(now)
        timer = self.plp.get_timer()
        if timer is not None and timer <= now:
            self.plp.handle_timer(now)
        for ip in self._ip.values():
            idle = ip.config.idle_timeout
            if ip.config.is_svc and ip.connected and idle > 0 and now >= ip.last_traffic + idle:
                lcn = ip.lcn
                assert lcn is not None
                self.counters.ip_idle_clears += 1
                self._unbind(ip)
                ip.lcn = None
                self.plp.clear(lcn, now, CAUSE_DTE_ORIGINATED, DIAG_IDLE)
        self._pump(now)

    # -- plumbing -------------------------------------------------------------------
    def _submit_ip(self, ip: _IpChannel, payload: bytes, now: float) -> bool:
        ip.last_traffic = now
        if ip.connected and not ip.queue and ip.lcn is not None and self.plp.send(ip.lcn, payload, now):
            return True
        if len(ip.queue) >= self.config.ip_queue:
            self.counters.ip_queue_drops += 1  # a router's output queue overflowing: counted, TCP recovers
            return True
        ip.queue.append(payload)
        if ip.lcn is None and ip.config.call_out and self._ready:
            assert ip.config.remote is not None
            ip.lcn = self.plp.call(
                ip.config.remote, now, user_data=IP_USER_DATA, facilities=self._call_facilities(None, None)
            )
            self._ip_by_lcn[ip.lcn] = ip
            self.counters.ip_calls_placed += 1
        return True

    def _flush_ip(self, ip: _IpChannel, now: float) -> None:
        while ip.queue and ip.connected and ip.lcn is not None and self.plp.send(ip.lcn, ip.queue[0], now):
            ip.queue.popleft()

    def _unbind(self, ip: _IpChannel) -> None:
        if ip.config.is_svc:
            if ip.lcn is not None:
                self._ip_by_lcn.pop(ip.lcn, None)
            ip.connected = False

    def _pump(self, now: float) -> None:
        """Move everything between LAPB, the packet layer and the driver until nothing moves."""
        plp, lapb = self.plp, self.lapb
        for _ in range(1000):  # each pass moves something; the bound only guards against a bug looping
            moved = False
            if lapb is not None:
                event = lapb.next_event()
                while event is not None:
                    moved = True
                    self._on_link_event(event, now)
                    event = lapb.next_event()
            packets = plp.packets_to_send()
            if lapb is None:
                self._out.extend(packets)
            else:
                self._to_link.extend(packets)
                while self._to_link and lapb.can_send:
                    lapb.send(self._to_link.popleft())
            event = plp.next_event()
            while event is not None:
                moved = True
                self._on_packet_event(event, now)
                event = plp.next_event()
            if not moved:
                return

    def _on_link_event(self, event: Any, now: float) -> None:
        if isinstance(event, LapbData):
            self.plp.receive_packet(event.payload, now)
        elif isinstance(event, LinkUp):
            self.plp.link_up(now)
        elif isinstance(event, LinkDown):
            self.plp.link_down(now)
            self._events.append(event)
        elif isinstance(event, LinkReset):
            # Unacknowledged I-frames are gone: restart the packet layer, which
            # clears or resets every circuit, each with an event (never silently).
            self._events.append(ProtocolErrorSeen("lapb_link_resets", f"LAPB link reset: {event.reason}"))
            self.plp.link_down(now)
            if self._running:
                self.plp.link_up(now)
        else:
            self._events.append(event)

    def _on_packet_event(self, event: Any, now: float) -> None:
        if isinstance(event, DataReceived):
            ip = self._ip_by_lcn.get(event.lcn)
            if ip is not None:
                ip.last_traffic = now
                if event.data[:1] and event.data[0] >> 4 == 4:
                    self.deliveries.append(Delivery(ip.config.channel, Proto.IPV4, event.data))
                else:
                    self.counters.ip_not_ipv4 += 1
            elif self.config.api:
                self.deliveries.append(MessageDelivery(event.lcn, Proto.RAW, event.data, event.q, event.d))
            else:
                self.counters.data_no_owner += 1
            return
        if isinstance(event, PacketLayerReady):
            self._ready = True
            self._events.append(LinkUp())
            for ip in self._ip.values():
                self._events.append(ChannelStatusChanged(ip.config.channel, "ready", True))
                if ip.queue and ip.config.is_svc and ip.config.call_out and ip.lcn is None:
                    self._submit_ip(ip, ip.queue.pop(), now)
            return
        if isinstance(event, PacketLayerDown):
            was_ready, self._ready = self._ready, False
            for ip in self._ip.values():
                self._unbind(ip)
                if ip.config.is_svc:
                    ip.lcn = None
                if was_ready:
                    self._events.append(ChannelStatusChanged(ip.config.channel, "down", False))
            if was_ready and self.lapb is None:
                self._events.append(LinkDown(event.reason))
            if self.config.api:
                self._events.append(event)
            return
        if isinstance(event, IncomingCall):
            self._on_incoming(event, now)
            return
        lcn = getattr(event, "lcn", None)
        ip = self._ip_by_lcn.get(lcn) if lcn is not None else None
        if ip is not None:
            if isinstance(event, CallConnected):
                ip.connected = True
                ip.last_traffic = now
                self._flush_ip(ip, now)
            elif isinstance(event, CircuitWritable):
                self._flush_ip(ip, now)
            elif isinstance(event, CallCleared):
                self._unbind(ip)
                ip.lcn = None
                if ip.queue:
                    self.counters.ip_queue_drops += len(ip.queue)
                    ip.queue.clear()
                self._events.append(
                    ProtocolErrorSeen(
                        "ip_calls_cleared",
                        f"IP call to {ip.config.remote} cleared: cause {event.cause} diagnostic {event.diagnostic}",
                    )
                )
            return
        if self.config.api:
            self._events.append(event)

    def _on_incoming(self, call: IncomingCall, now: float) -> None:
        if call.user_data[:1] == IP_USER_DATA:
            ip = self._ip_by_remote.get(call.calling)
            if ip is not None and ip.config.is_svc:
                if ip.lcn is not None and ip.lcn != call.lcn:
                    if not ip.connected and self.config.packet.address > call.calling:
                        # Both ends called at once: the call of the higher address wins, a
                        # rule both sides apply alike. The peer drops its own call for ours.
                        self.counters.calls_refused += 1
                        self.plp.clear(call.lcn, now, CAUSE_DTE_ORIGINATED, DIAG_IDLE)
                        return
                    old = self._ip_by_lcn.pop(ip.lcn, ip)
                    if ip.connected and old is ip:  # the peer lost our call (it restarted): ours is stale
                        self.plp.clear(ip.lcn, now, CAUSE_DTE_ORIGINATED, DIAG_IDLE)
                ip.lcn, ip.connected, ip.last_traffic = call.lcn, True, now
                self._ip_by_lcn[call.lcn] = ip
                self.plp.accept(call.lcn, now)
                self.counters.ip_calls_accepted += 1
                self._flush_ip(ip, now)
                return
        if self.config.api:
            self._events.append(call)
            return
        self.counters.calls_refused += 1
        self.plp.clear(call.lcn, now, CAUSE_NOT_OBTAINABLE, DIAG_NO_LISTENER)

    # -- status ------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "link": self.lapb.status() if self.lapb is not None else {"type": "xot"},
            "packet_layer": self.plp.status(),
            "ip_channels": {
                ch: {
                    "remote": ip.config.remote,
                    "pvc": ip.config.pvc,
                    "lcn": ip.lcn,
                    "connected": ip.connected,
                    "queued": len(ip.queue),
                }
                for ch, ip in self._ip.items()
            },
            "counters": asdict(self.counters),
        }


def _facilities(packet_size: int | None, window: int | None) -> Facilities | None:
    if packet_size is None and window is None:
        return None
    return Facilities(
        packet_size=None if packet_size is None else (packet_size, packet_size),
        window=None if window is None else (window, window),
    )
