"""One logical channel: windows, M-bit segmentation and reassembly, flow control, counters.

The layer owns the channel's states (p and d, see states.py) and its timer;
this is the data plane of a channel in data transfer (p4 with d1, or a PVC).

Sending. ``queue`` takes whole messages (at most ``queue_limit`` waiting);
``transmit`` cuts the head message into data packets of the negotiated size,
all full with M = 1 but the last (M = 0), each with the message's Q and D
bits, while the window is open: fewer than ``tx_window`` packets sent and
not acknowledged, and the peer not busy (RNR). There is no retransmission at
this layer (LAPB below is reliable); a reset throws everything away.

Receiving. A data packet is accepted only if its P(S) is the next expected
one, V(R), and inside the window we last advertised (the last P(R) we sent
plus ``rx_window``); its P(R) must acknowledge something between our oldest
unacknowledged packet and the next to send; its data field must fit the
negotiated size; and within one M-bit sequence the Q bit must not change.
Otherwise the layer resets the circuit with the diagnostic of the
``CircuitError`` (1 invalid P(S), 2 invalid P(R), 39 packet too long, 83
inconsistent Q bit). Packets with M = 1 are collected and the whole message
is handed up, with the Q and D of its first packet, on the one with M = 0.

Acknowledging. P(R) acknowledges every packet the channel has accepted: data
packets we send carry it, and ``ack`` returns an RR when V(R) moved past what
we last told the peer. While the local user is busy (``set_busy``) an RNR
has told the peer to stop after its window: packets already inside the
window are still accepted and delivered, but no RR goes out until the busy
condition ends. A reset ends both busy conditions (X.25).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Final

from firmware_emu.x25.causes import Diagnostic
from firmware_emu.x25.codec import Packet, PacketType
from firmware_emu.x25.facilities import Facilities
from firmware_emu.x25.states import State

MAX_MESSAGE: Final = 1 << 20  # octets in one M-bit sequence before we call it an attack (diagnostic 39)


class CircuitError(Exception):
    """A received packet breaks the data transfer rules: the layer resets with ``diagnostic``."""

    def __init__(self, diagnostic: int, counter: str, detail: str) -> None:
        super().__init__(detail)
        self.diagnostic = diagnostic
        self.counter = counter
        self.detail = detail


@dataclass(slots=True)
class CircuitCounters:
    data_packets_tx: int = 0
    data_packets_rx: int = 0
    data_bytes_tx: int = 0
    data_bytes_rx: int = 0
    messages_tx: int = 0  # whole messages (M-bit sequences) sent
    messages_rx: int = 0
    rr_tx: int = 0
    rr_rx: int = 0
    rnr_tx: int = 0
    rnr_rx: int = 0
    interrupts_tx: int = 0
    interrupts_rx: int = 0
    resets: int = 0
    lost_messages: int = 0  # queued or half-sent messages a reset, clear or restart threw away


class Circuit:
    """One LCN: an SVC's call state and data plane, or a PVC's."""

    def __init__(self, lcn: int, *, pvc: bool, modulo: int, queue_limit: int) -> None:
        self.lcn = lcn
        self.pvc = pvc
        self.modulo = modulo
        self.queue_limit = queue_limit
        self.p = State.P4 if pvc else State.P1
        self.d = State.D1
        # The call (SVCs): who called, what was asked for, how it ended.
        self.we_called = False
        self.requested = Facilities()
        self.end: tuple[int, int, bool] | None = None  # (cause, diagnostic, by_peer) of the clearing
        self.in_call = False  # a call was placed or offered on this LCN and has not ended
        self.connected = False  # ... and it reached data transfer
        self.reported = False  # ... and the user knows it (CallCleared is due when it ends)
        # The one timer of the waiting state we are in (T21/T22/T23, or T11/T12/T13).
        self.deadline: float | None = None
        self.timer = ""
        self.retries = 0
        self.pending_packet: bytes | None = None  # what a timeout retransmits
        # Data transfer.
        self.tx_size = self.rx_size = 128
        self.tx_window = self.rx_window = 2
        self.vs = self.va = self.vr = self.pr_sent = 0
        self.peer_busy = self.local_busy = False
        self.interrupt_out = False
        self.queue: deque[tuple[bytes, bool, bool]] = deque()
        self.offset = 0  # octets of the head message already sent
        self.blocked = False  # the queue filled up: CircuitWritable is due when it has room
        self._parts: list[bytes] = []
        self._rx_len = 0
        self._rx_q = self._rx_d = False
        self.counters = CircuitCounters()

    # ----------------------------------------------------------------- set-up

    def open(self, tx_size: int, tx_window: int, rx_size: int, rx_window: int) -> None:
        """Data transfer begins (call connected, or a PVC after restart) with these parameters."""
        self.tx_size, self.tx_window, self.rx_size, self.rx_window = tx_size, tx_window, rx_size, rx_window
        self.flush()

    def flush(self) -> int:
        """Back to the start of data transfer (reset, clear, restart): return the messages lost."""
        lost = len(self.queue)
        self.queue.clear()
        self.offset = 0
        self.vs = self.va = self.vr = self.pr_sent = 0
        self.peer_busy = self.local_busy = False
        self.interrupt_out = False
        self._parts.clear()
        self._rx_len = 0
        self.counters.lost_messages += lost
        return lost

    # ----------------------------------------------------------------- sending

    def can_queue(self) -> bool:
        return len(self.queue) < self.queue_limit

    def queue_message(self, data: bytes, q: bool, d: bool) -> bool:
        if len(self.queue) >= self.queue_limit:
            self.blocked = True
            return False
        self.queue.append((bytes(data), q, d))
        if len(self.queue) >= self.queue_limit:
            self.blocked = True
        return True

    def writable(self) -> bool:
        """True once after the queue filled up and then got room again (CircuitWritable)."""
        if self.blocked and len(self.queue) < self.queue_limit:
            self.blocked = False
            return True
        return False

    def window_open(self) -> bool:
        return not self.peer_busy and (self.vs - self.va) % self.modulo < self.tx_window

    def transmit(self) -> list[Packet]:
        """The data packets the window lets out now, each carrying our V(R) as P(R)."""
        out: list[Packet] = []
        size, mod, c = self.tx_size, self.modulo, self.counters
        while self.queue and self.window_open():
            data, q, d = self.queue[0]
            start = self.offset
            chunk = data[start : start + size]
            more = start + size < len(data)
            out.append(
                Packet(PacketType.DATA, self.lcn, mod, q, d, ps=self.vs, pr=self.vr, m=more, data=chunk)
            )
            self.pr_sent = self.vr
            self.vs = (self.vs + 1) % mod
            c.data_packets_tx += 1
            c.data_bytes_tx += len(chunk)
            if more:
                self.offset = start + size
            else:
                self.queue.popleft()
                self.offset = 0
                c.messages_tx += 1
        return out

    def ack(self) -> Packet | None:
        """An RR if the peer has not heard our V(R) yet (never while we are busy)."""
        if self.local_busy or self.vr == self.pr_sent:
            return None
        self.pr_sent = self.vr
        self.counters.rr_tx += 1
        return Packet(PacketType.RR, self.lcn, self.modulo, pr=self.vr)

    def set_busy(self, busy: bool) -> Packet | None:
        """RNR on becoming busy, RR when no longer; None if nothing changed."""
        if busy == self.local_busy:
            return None
        self.local_busy = busy
        self.pr_sent = self.vr
        if busy:
            self.counters.rnr_tx += 1
            return Packet(PacketType.RNR, self.lcn, self.modulo, pr=self.vr)
        self.counters.rr_tx += 1
        return Packet(PacketType.RR, self.lcn, self.modulo, pr=self.vr)

    # ----------------------------------------------------------------- receiving

    def receive_data(self, p: Packet) -> tuple[bytes, bool, bool] | None:
        """Take a data packet: the whole message (data, q, d) on M = 0, else None. CircuitError."""
        mod = self.modulo
        if p.ps != self.vr or (self.vr - self.pr_sent) % mod >= self.rx_window:
            raise CircuitError(
                Diagnostic.INVALID_PS,
                "bad_ps",
                f"LCN {self.lcn}: P(S) {p.ps}, expected {self.vr} in window {self.pr_sent}+{self.rx_window}",
            )
        self._take_pr(p.pr)
        n = len(p.data)
        if n > self.rx_size:
            raise CircuitError(
                Diagnostic.PACKET_TOO_LONG,
                "oversize",
                f"LCN {self.lcn}: {n} octets > packet size {self.rx_size}",
            )
        if self._parts and p.q != self._rx_q:
            raise CircuitError(
                Diagnostic.INCONSISTENT_Q_BIT, "malformed", f"LCN {self.lcn}: Q bit changed within a sequence"
            )
        if self._rx_len + n > MAX_MESSAGE:
            raise CircuitError(
                Diagnostic.PACKET_TOO_LONG,
                "oversize",
                f"LCN {self.lcn}: M-bit sequence over {MAX_MESSAGE} octets",
            )
        self.vr = (self.vr + 1) % mod
        c = self.counters
        c.data_packets_rx += 1
        c.data_bytes_rx += n
        if not self._parts:
            self._rx_q, self._rx_d = p.q, p.d
        self._parts.append(p.data)
        self._rx_len += n
        if p.m:
            return None
        message = b"".join(self._parts)
        self._parts.clear()
        self._rx_len = 0
        c.messages_rx += 1
        return message, self._rx_q, self._rx_d

    def receive_flow(self, p: Packet) -> None:
        """RR or RNR from the peer (REJ: not subscribed, diagnostic 37). CircuitError."""
        if p.type is PacketType.REJ:
            raise CircuitError(
                Diagnostic.REJECT_NOT_SUBSCRIBED, "rej_rx", f"LCN {self.lcn}: REJ (reject is not subscribed)"
            )
        self._take_pr(p.pr)
        if p.type is PacketType.RNR:
            self.counters.rnr_rx += 1
            self.peer_busy = True
        else:
            self.counters.rr_rx += 1
            self.peer_busy = False

    def _take_pr(self, pr: int) -> None:
        mod = self.modulo
        if (pr - self.va) % mod > (self.vs - self.va) % mod:
            raise CircuitError(
                Diagnostic.INVALID_PR, "bad_pr", f"LCN {self.lcn}: P(R) {pr} outside {self.va}..{self.vs}"
            )
        self.va = pr

    # ----------------------------------------------------------------- status

    def status(self) -> dict[str, Any]:
        return {
            "pvc": self.pvc,
            "p": self.p.value,
            "d": self.d.value,
            "packet_size": {"tx": self.tx_size, "rx": self.rx_size},
            "window": {"tx": self.tx_window, "rx": self.rx_window},
            "vs": self.vs,
            "va": self.va,
            "vr": self.vr,
            "unacked": (self.vs - self.va) % self.modulo,
            "peer_busy": self.peer_busy,
            "local_busy": self.local_busy,
            "queued": len(self.queue),
            "interrupt_outstanding": self.interrupt_out,
            "timer": self.timer or None,
            "counters": asdict(self.counters),
        }
