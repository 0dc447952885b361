"""The Frame Relay port engine: data plane, LMI and Inverse ARP behind one sans-I/O API.

The driver (adapter firmware loop) owns the clock and the line. It feeds
received frames (address first, FCS already checked and stripped) to
``receive_frame``, calls ``handle_timer`` when ``get_timer`` says so, and
after every call drains ``frames_to_send`` (LMI and Inverse ARP, to put on the
line) and ``next_event`` (link and PVC state for the driver side). Data goes
out through ``encode``, which only builds bytes.

Both hot paths are a few dictionary lookups: ``encode`` concatenates a header
precomputed per DLCI and protocol; ``receive_frame`` decodes the address
inline, finds the channel, and classifies the encapsulation by looking up the
octets after the address (see encap). Errors on the receive path are the
peer's: they are counted, reported as rate-limited ProtocolErrorSeen events,
and the frame is dropped; ``receive_frame`` never raises.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.fr import encap, inarp, q922
from firmware_emu.fr.config import ChannelMode, DlciConfig, FrameRelayConfig
from firmware_emu.fr.encap import Control, Kind, Proto
from firmware_emu.fr.events import FrameRelayEvent, PeerAddressLearned, ProtocolErrorSeen, PvcStatusChanged
from firmware_emu.fr.lmi import DceLink, LmiCounters, make_link_machine
from firmware_emu.fr.lmi_codec import Variant, lmi_dlci
from firmware_emu.payload import Delivery

__all__ = ["Delivery", "DlciCounters", "EngineCounters", "FrameRelayEngine", "Proto"]

INARP_RETRY: Final = 10.0  # s between Inverse ARP requests until one is answered
ERROR_REPORT_INTERVAL: Final = 1.0  # s; data-path ProtocolErrorSeen at most this often per counter
DLCI_FIRST: Final = 1  # 0 is the ANSI/Q.933 LMI DLCI
DLCI_LAST: Final = 1022  # 1023 is the Cisco LMI DLCI

_ADDR_EA: Final = q922.EA
_DE: Final = q922.DE
_BECN: Final = q922.BECN
_FECN: Final = q922.FECN
_CONGESTION: Final = q922.DE | q922.BECN | q922.FECN
_new_tuple: Final = tuple.__new__
# Enum members as plain globals: on Python 3.11 ``Proto.RAW`` goes through a descriptor (~100 ns).
_RAW: Final = Proto.RAW
_INARP: Final = Control.INARP


@dataclass(slots=True)
class DlciCounters:
    rx_frames: int = 0
    rx_bytes: int = 0  # payload octets delivered (after the encapsulation header)
    tx_frames: int = 0
    tx_bytes: int = 0  # payload octets handed to encode
    rx_de: int = 0
    rx_fecn: int = 0
    rx_becn: int = 0
    inarp_requests_sent: int = 0
    inarp_replies_sent: int = 0
    inarp_received: int = 0


@dataclass(slots=True)
class EngineCounters:
    """Port-wide drops. The LMI's own counters are in ``FrameRelayEngine.lmi_counters``."""

    unknown_dlci: int = 0
    inactive_dlci: int = 0  # configured, but the PVC is not usable
    malformed: int = 0  # bad address, too short, broken Inverse ARP
    unknown_protocol: int = 0  # encapsulation not recognised (or not for this channel's mode)


@dataclass(slots=True)
class _Channel:
    cfg: DlciConfig
    headers: dict[Proto, bytes]  # address + encapsulation header, per protocol
    rx_short: dict[bytes, tuple[Kind, int]]  # the two halves of encap.RxTable, one lookup closer
    rx_snap: dict[bytes, tuple[Kind, int]]
    raw: bool
    counters: DlciCounters = field(default_factory=DlciCounters)
    usable: bool = False  # cached from the link machine's PvcStatusChanged events
    peer_address: str | None = None
    inarp_due: float | None = None  # next Inverse ARP request; None when not soliciting


class FrameRelayEngine:
    """One Frame Relay port (UNI), either end, with any LMI variant."""

    def __init__(self, config: FrameRelayConfig, now: float) -> None:
        self._cfg = config
        self._link = make_link_machine(config)  # validates the config
        self._lmi_dlci = None if config.signalling == "none" else lmi_dlci(Variant(config.signalling))
        self._inarp_header = encap.inarp_header(config.encapsulation)
        self._channels: dict[int, _Channel] = {}
        self._frames: list[bytes] = []
        self._events: deque[FrameRelayEvent] = deque()
        self._last_report: dict[str, float] = {}
        self.counters = EngineCounters()
        for dlci_cfg in config.dlcis:
            self.add_dlci(dlci_cfg, now)

    # ------------------------------------------------------------- lifecycle

    def start(self, now: float) -> None:
        """Begin LMI (a DTE polls at once: the deadline is ``now``). Twice: LocalProtocolError."""
        self._link.start(now)
        self._drain(now)

    def stop(self, now: float) -> None:
        """Link down, every PVC unusable, no timers, queued control frames dropped."""
        self._link.stop(now)
        self._drain(now)
        for ch in self._channels.values():
            ch.inarp_due = None
        self._frames.clear()

    def add_dlci(self, cfg: DlciConfig, now: float) -> None:
        dlci = cfg.dlci
        if dlci in self._channels:
            raise LocalProtocolError(f"DLCI {dlci} already configured")
        if not DLCI_FIRST <= dlci <= DLCI_LAST:
            raise LocalProtocolError(f"DLCI {dlci} out of range {DLCI_FIRST}..{DLCI_LAST}")
        try:
            mode = ChannelMode(cfg.mode)
        except ValueError:
            raise LocalProtocolError(f"DLCI {dlci}: unknown mode {cfg.mode!r}") from None
        inarp.pack_ipv4(cfg.address)  # validate now, not when the first request arrives
        address = q922.encode_address(dlci)
        enc = self._cfg.encapsulation
        rx = encap.rx_table(enc, mode)
        self._channels[dlci] = _Channel(
            cfg=cfg,
            headers={p: address + encap.payload_header(enc, p) for p in Proto},
            rx_short=rx.short,
            rx_snap=rx.snap,
            raw=mode is ChannelMode.RAW,
        )
        # Only a DCE reports bandwidth (Cisco LMI); a DTE learns it from the network.
        bandwidth = (cfg.cir or 0) if isinstance(self._link, DceLink) else 0
        self._link.add_pvc(dlci, now, bandwidth=bandwidth)
        self._drain(now)

    def remove_dlci(self, dlci: int, now: float) -> None:
        if dlci not in self._channels:
            raise LocalProtocolError(f"unknown DLCI {dlci}")
        self._link.remove_pvc(dlci, now)
        del self._channels[dlci]
        self._drain(now)

    def set_pvc_active(self, dlci: int, active: bool, now: float) -> None:
        """DCE: what we report for the PVC. Any role: a PVC set inactive is not usable here."""
        if dlci not in self._channels:
            raise LocalProtocolError(f"unknown DLCI {dlci}")
        self._link.set_admin_active(dlci, active, now)
        self._drain(now)

    # ------------------------------------------------------------- hot paths

    def encode(self, dlci: int, payload: bytes, proto: Proto) -> bytes:
        """Address + encapsulation + payload (no FCS). Proto.RAW prepends only the address."""
        ch = self._channels.get(dlci)
        if ch is None:
            raise LocalProtocolError(f"unknown DLCI {dlci}")
        try:
            header = ch.headers[proto]
        except KeyError:
            raise LocalProtocolError(f"not a Proto: {proto!r}") from None
        c = ch.counters
        c.tx_frames += 1
        c.tx_bytes += len(payload)
        return header + payload

    def receive_frame(self, frame: bytes, now: float) -> Delivery | None:
        """A received frame (address first, FCS stripped): data for the driver, or None."""
        if type(frame) is not bytes:
            frame = bytes(frame)  # the classifier hashes slices, which needs bytes
        n = len(frame)
        if n < 3:
            self._drop("malformed", f"frame of {n} octets", now)
            return None
        hi = frame[0]
        lo = frame[1]
        if hi & _ADDR_EA or not lo & _ADDR_EA:
            self._drop("malformed", f"bad Q.922 address EA bits {hi:02X} {lo:02X}", now)
            return None
        dlci = ((hi & 0xFC) << 2) | (lo >> 4)
        ch = self._channels.get(dlci)
        if ch is None:
            if dlci == self._lmi_dlci:
                self._link.receive(frame, now)
                self._drain(now)
            else:
                self._drop("unknown_dlci", self._unknown_dlci_detail(dlci), now)
            return None
        if not ch.usable:
            self._drop("inactive_dlci", f"frame on DLCI {dlci}, PVC not usable", now)
            return None
        c = ch.counters
        de = fecn = becn = False
        if lo & _CONGESTION:
            if lo & _DE:
                de = True
                c.rx_de += 1
            if lo & _FECN:
                fecn = True
                c.rx_fecn += 1
            if lo & _BECN:
                becn = True
                c.rx_becn += 1
        if ch.raw:
            payload = frame[2:]
            proto = _RAW
        else:
            hit = ch.rx_short.get(frame[2:4]) or ch.rx_snap.get(frame[2:10])
            if hit is None:
                self._drop("unknown_protocol", f"DLCI {dlci}: header {frame[2:10].hex(' ')}", now)
                return None
            kind, offset = hit
            if n <= offset:
                self._drop("malformed", f"DLCI {dlci}: no payload after the header", now)
                return None
            if kind is _INARP:
                self._receive_inarp(ch, frame[offset:], now)
                return None
            payload = frame[offset:]
            proto = kind  # type: ignore[assignment]  # every other kind is a Proto
        c.rx_frames += 1
        c.rx_bytes += len(payload)
        # tuple.__new__ skips NamedTuple's Python-level __new__: a third of the cost of this call.
        return _new_tuple(Delivery, (dlci, proto, payload, de, fecn, becn))

    # ----------------------------------------------------------- outputs

    def frames_to_send(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        return frames

    def next_event(self) -> FrameRelayEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        deadline = self._link.get_timer()
        for ch in self._channels.values():
            due = ch.inarp_due
            if due is not None and (deadline is None or due < deadline):
                deadline = due
        return deadline

    def handle_timer(self, now: float) -> None:
        self._link.handle_timer(now)
        self._drain(now)
        for ch in self._channels.values():
            if ch.inarp_due is not None and now >= ch.inarp_due:
                self._solicit(ch, now)

    # ----------------------------------------------------------- queries

    def pvc_usable(self, dlci: int) -> bool:
        """False for an unknown DLCI as well."""
        ch = self._channels.get(dlci)
        return ch is not None and ch.usable

    channel_usable = pvc_usable  # the protocol-neutral name the driver uses

    @property
    def link_up(self) -> bool:
        return self._link.link_up

    @property
    def lmi_counters(self) -> LmiCounters:
        return self._link.counters

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot for status files and the management protocol."""
        lmi = self._link.status()
        lc = self._link.counters
        dlcis = []
        for dlci, ch in sorted(self._channels.items()):
            pvc = self._link.pvc(dlci)
            dlcis.append(
                {
                    "dlci": dlci,
                    "mode": ChannelMode(ch.cfg.mode).value,
                    "state": pvc.state.value,
                    "usable": ch.usable,
                    "admin_active": pvc.admin_active,
                    "bandwidth": pvc.bandwidth,
                    "inarp": ch.cfg.inarp,
                    "address": ch.cfg.address,
                    "peer_address": ch.peer_address,
                    "counters": asdict(ch.counters),
                }
            )
        return {
            "station": self._cfg.station,
            "signalling": self._cfg.signalling,
            "encapsulation": self._cfg.encapsulation,
            "link": self._link.state.value,
            "link_up": self._link.link_up,
            "lmi": lmi,
            "counters": {
                **asdict(self.counters),
                "lmi_errors": lc.lmi_errors,
                "t391_timeouts": lc.t391_timeouts,
                "t392_timeouts": lc.t392_timeouts,
                "link_down_events": lc.link_down_events,
            },
            "dlcis": dlcis,
        }

    # ----------------------------------------------------------- internals

    def _drain(self, now: float) -> None:
        """Move the link machine's outputs into ours; follow PVC usability for InARP."""
        self._frames.extend(self._link.take_frames())
        for ev in self._link.take_events():
            self._events.append(ev)
            if type(ev) is PvcStatusChanged:
                ch = self._channels.get(ev.dlci)
                if ch is None or ch.usable == ev.usable:
                    continue
                ch.usable = ev.usable
                if ev.usable:
                    if ch.cfg.inarp and not ch.raw:
                        self._solicit(ch, now)
                else:
                    # The far end may be a different station when the PVC comes back.
                    ch.inarp_due = None
                    ch.peer_address = None

    def _solicit(self, ch: _Channel, now: float) -> None:
        """Send an Inverse ARP request, and schedule a retry until it is answered."""
        if not ch.usable or ch.peer_address is not None:
            ch.inarp_due = None
            return
        dlci = ch.cfg.dlci
        self._frames.append(ch.headers[Proto.RAW] + self._inarp_header + inarp.request(dlci, ch.cfg.address))
        ch.counters.inarp_requests_sent += 1
        ch.inarp_due = now + INARP_RETRY

    def _receive_inarp(self, ch: _Channel, data: bytes, now: float) -> None:
        try:
            pkt = inarp.decode(data)
        except RemoteProtocolError as exc:
            self._drop("malformed", f"DLCI {ch.cfg.dlci}: {exc}", now)
            return
        ch.counters.inarp_received += 1
        if pkt.op is inarp.Op.REQUEST and ch.cfg.address is not None:
            reply = inarp.reply(ch.cfg.dlci, ch.cfg.address, pkt)
            self._frames.append(ch.headers[Proto.RAW] + self._inarp_header + reply)
            ch.counters.inarp_replies_sent += 1
        # A request teaches us the asker's address as well as a reply does (RFC 2390, 7.2).
        if pkt.sender_ip != inarp.UNSPECIFIED and pkt.sender_ip != ch.peer_address:
            ch.peer_address = pkt.sender_ip
            self._events.append(PeerAddressLearned(ch.cfg.dlci, pkt.sender_ip))
        if ch.peer_address is not None:
            ch.inarp_due = None

    def _drop(self, counter: str, detail: str, now: float) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        last = self._last_report.get(counter)
        if last is None or now - last >= ERROR_REPORT_INTERVAL or now < last:
            self._last_report[counter] = now
            self._events.append(ProtocolErrorSeen(counter, detail))

    def _unknown_dlci_detail(self, dlci: int) -> str:
        if dlci in (0, 1023):
            # The classic misconfiguration: the two ends run different LMI variants.
            return f"LMI-like frame on DLCI {dlci}, but signalling is {self._cfg.signalling}"
        return f"frame on unconfigured DLCI {dlci}"
