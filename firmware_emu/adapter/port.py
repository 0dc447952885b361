"""One port of the emulated adapter: line transmitter + HDLC FCS + protocol engine.

Theory of operation
-------------------
The driver hands the port packets through `submit` (the tx ring) and line
frames through `line_input`; it takes frames for the wire from `line_output`,
received packets from the bounded `rx` queue, and events from `events`.

Flow control is explicit in both directions:
- tx: `submit` returns False when the line's tx queue is full. Nothing is
  dropped: the driver keeps the packet where it was (in the kernel's TUN
  queue) and waits for `tx_space` to come back.
- rx: the rx queue is bounded. When the driver does not drain it, frames
  from the line are counted as `rx_overruns` and dropped, as a real card's
  receive buffer would overrun.

Control frames from the engine (LMI, ...) never compete with data for queue
space: they wait in a small backlog that is served first, so a saturated line
cannot starve link management.

Framing
-------
- ``sync`` (every protocol): one HDLC frame per `line_input`/`line_output`
  item, FCS included when the cable carries it; the serializer counts one
  flag, the frame, its FCS and the stuffed zeros (``line_bits``).
- ``async`` (PPP over a serial port or a pty, RFC 1662 section 4): the line is
  an octet stream. `line_output` hands out ``7E stuffed-frame-with-FCS 7E``
  octets escaped with the engine's ``accm_for(frame)``, each octet paced as
  10 bit times (start + 8 data + stop). `line_input` takes any chunk of the
  stream, however it was cut, and an `AsyncDeframer` finds the frames. The
  FCS is part of the async framing itself, so it is always on the stream,
  whatever ``carries_fcs`` says.

The mode is chosen once, at construction, by binding the matching methods:
the sync hot path is exactly what it was, with no per-frame test.

Engines that queue data
-----------------------
An engine with windows and retransmission (X.25 over LAPB) cannot turn a
packet into a frame on its own: it says so with ``queues_data = True``.
`submit` then hands packets to ``engine.submit``, which may refuse one when
its circuit's window and queue are full (the driver keeps it, as with a full
line); the frames come out through ``frames_to_send`` like control frames,
and received messages through the engine's ``deliveries`` queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from firmware_emu.adapter.firmware import ProtocolEngine
from firmware_emu.errors import LocalProtocolError
from firmware_emu.hdlc.async_framing import ALL_CONTROL, FLAG, AsyncDeframer, encode_async
from firmware_emu.hdlc.fcs import append_fcs16, append_fcs32, check_fcs16, check_fcs32
from firmware_emu.hdlc.framing import line_bits
from firmware_emu.phy.config import LineConfig
from firmware_emu.phy.impair import LineImpairer
from firmware_emu.phy.pacer import LineTransmitter

if TYPE_CHECKING:
    from firmware_emu.adapter.trace import PortTrace

RX_QUEUE_LEN = 1024
FRAMINGS = ("sync", "async")
ASYNC_BITS_PER_OCTET = 10  # start bit + 8 data bits + stop bit (8N1)
# Longest async frame (FCS included) the deframer accepts: PPP's largest MRU
# (65535) plus address, control, protocol and FCS-32. Anything longer is line
# garbage without flags; the port does not know the protocol's MRU, and a
# too-small limit would turn a legitimate large frame into an error.
ASYNC_MAX_FRAME = 65535 + 8
_FLAG_BYTE = bytes((FLAG,))


@dataclass
class PortCounters:
    tx_packets: int = 0
    tx_bytes: int = 0
    tx_flow_controlled: int = 0
    tx_refused: int = 0
    rx_frames: int = 0
    rx_bytes: int = 0
    rx_delivered: int = 0
    rx_crc_errors: int = 0
    rx_overruns: int = 0
    rx_while_stopped: int = 0
    rx_line_loss: int = 0  # frames the line's impairments destroyed before they arrived


class Port:
    def __init__(
        self,
        number: int,
        line: LineConfig,
        firmware: str,
        engine: ProtocolEngine,
        *,
        carries_fcs: bool,
        fcs_bits: int = 16,
        framing: str = "sync",
    ) -> None:
        if framing not in FRAMINGS:
            raise LocalProtocolError(f"port {number}: framing must be sync or async, not {framing!r}")
        if fcs_bits not in (16, 32):
            raise LocalProtocolError(f"port {number}: fcs_bits must be 16 or 32, not {fcs_bits}")
        self.number = number
        self.line = line
        self.firmware = firmware
        self.firmware_version = "?"
        self.protocol_config: Any = None  # what the engine was built from, for a live firmware swap
        self.engine = engine
        self.carries_fcs = carries_fcs
        self.running = False
        self.transmitter = LineTransmitter(line.bit_rate, line.tx_queue_len)
        self.rx: deque[Any] = deque()
        self.events: deque[Any] = deque()
        self.counters = PortCounters()
        # The line trace (trace.py): None while off, so the hot paths pay one test for it.
        self.trace: PortTrace | None = None
        self._control_backlog: deque[bytes] = deque()
        self._append_fcs = append_fcs32 if fcs_bits == 32 else append_fcs16
        self._check_fcs = check_fcs32 if fcs_bits == 32 else check_fcs16
        self._paced = line.bit_rate is not None
        self._impairer = LineImpairer(line.impair) if line.impair.active else None
        self.framing = framing
        self._fcs_bits = fcs_bits
        self._deframer: AsyncDeframer | None = None
        self._accm_for: Callable[[bytes], int] | None = None
        self._rx_accm: Callable[[Any], int] | None = None
        self._bind_data_path()
        if framing == "async":
            # Instance attributes shadow the sync methods: chosen once, never tested per frame.
            self._deframer = self._new_deframer()
            self._offer = self._offer_async  # type: ignore[method-assign]
            self.line_input = self._line_input_async  # type: ignore[method-assign]
            self._bind_engine()

    # -- lifecycle (called through the mailbox) --------------------------------
    def start(self, now: float) -> None:
        self.running = True
        if self._deframer is not None:
            # Octets of a frame cut short by the last stop belong to nothing: hunt for a flag again.
            self._deframer = self._new_deframer(self._deframer)
        self.engine.start(now)
        self._collect(now)

    def stop(self, now: float) -> int:
        """Stop the port; returns how many queued frames were discarded."""
        self.running = False
        self.engine.stop(now)
        self._collect(now)
        dropped = self.transmitter.clear() + len(self._control_backlog)
        self._control_backlog.clear()
        return dropped

    def swap_engine(self, firmware: str, engine: ProtocolEngine, now: float) -> None:
        was_running = self.running
        if was_running:
            self.engine.stop(now)
            self._collect(now)
        self.firmware, self.engine = firmware, engine
        self._bind_data_path()
        if self._deframer is not None:
            self._bind_engine()
        if was_running:
            self.start(now)

    # -- driver -> line (hot path) --------------------------------------------
    @property
    def tx_space(self) -> int:
        if not self.running or self._control_backlog:
            return 0
        return self.transmitter.space

    def submit(self, channel: int, payload: bytes, proto: Any, now: float) -> bool:
        """Queue one packet for the line. False means "full, keep it and retry"."""
        if self.tx_space <= 0:
            self.counters.tx_flow_controlled += 1
            return False
        try:
            frame = self.engine.encode(channel, payload, proto)
        except LocalProtocolError:
            # The engine cannot carry this now (unknown channel, protocol not negotiated):
            # the packet is consumed and counted, like a NIC's tx_dropped.
            self.counters.tx_refused += 1
            return True
        self._offer(frame, now)
        self.counters.tx_packets += 1
        self.counters.tx_bytes += len(payload)
        return True

    def _submit_queued(self, channel: int, payload: bytes, proto: Any, now: float) -> bool:
        if self.tx_space <= 0:
            self.counters.tx_flow_controlled += 1
            return False
        try:
            accepted = self.engine.submit(channel, payload, proto, now)  # type: ignore[attr-defined]
        except LocalProtocolError:
            self.counters.tx_refused += 1
            return True
        if accepted:
            self.counters.tx_packets += 1
            self.counters.tx_bytes += len(payload)
        else:
            self.counters.tx_flow_controlled += 1
        self._collect(now)
        return accepted

    def can_send(self, channel: int) -> bool:
        """Would `submit` take a packet for this channel now?"""
        if self.tx_space <= 0:
            return False
        can_send = getattr(self.engine, "can_send", None)
        return True if can_send is None else bool(can_send(channel))

    def _bind_data_path(self) -> None:
        queued = getattr(self.engine, "queues_data", False)
        if queued:
            self.submit = self._submit_queued  # type: ignore[method-assign]
        else:
            self.__dict__.pop("submit", None)
        self._deliveries: deque[Any] | None = self.engine.deliveries if queued else None  # type: ignore[attr-defined]

    def _offer(self, frame: bytes, now: float) -> bool:
        wire = self._append_fcs(frame)
        bits = line_bits(wire) if self._paced else 0
        return self.transmitter.offer(wire if self.carries_fcs else frame, bits, now)

    def _offer_async(self, frame: bytes, now: float) -> bool:
        accm_for = self._accm_for
        wire = encode_async(self._append_fcs(frame), accm_for(frame) if accm_for else ALL_CONTROL)
        bits = ASYNC_BITS_PER_OCTET * len(wire) if self._paced else 0
        return self.transmitter.offer(wire, bits, now)

    # -- line -> driver (hot path) --------------------------------------------
    def line_input(self, wire: bytes, now: float) -> None:
        counters = self.counters
        counters.rx_frames += 1
        counters.rx_bytes += len(wire)
        if not self.running:
            counters.rx_while_stopped += 1
            return
        if self._impairer is not None and not self._impairer.passes():
            counters.rx_line_loss += 1
            return
        if self.carries_fcs:
            frame = self._check_fcs(wire)
            if frame is None:
                counters.rx_crc_errors += 1
                return
        else:
            frame = wire
        if self.trace is not None:
            self.trace.record_rx(self, frame, now)
        delivery = self.engine.receive_frame(frame, now)
        if delivery is not None:
            if len(self.rx) >= RX_QUEUE_LEN:
                counters.rx_overruns += 1
            else:
                self.rx.append(delivery)
                counters.rx_delivered += 1
        self._collect(now)

    def _line_input_async(self, chunk: bytes, now: float) -> None:
        """Async mode: any piece of the octet stream; the frames it completes go to the engine.

        The stream is fed up to one flag at a time, so each frame is closed with
        the receive ACCM in force when it arrived: a peer's Configure-Ack and the
        first frame escaped with the newly agreed map often share a chunk, and
        the map changes (LCP Opened) between the two.
        """
        counters = self.counters
        counters.rx_bytes += len(chunk)
        if not self.running:
            counters.rx_while_stopped += 1
            return
        deframer = self._deframer
        assert deframer is not None
        dc = deframer.counters
        errors_before = dc.crc_errors + dc.too_long + dc.aborts + dc.too_short
        crc_before = dc.crc_errors
        rx_accm = self._rx_accm
        engine = self.engine
        rx = self.rx
        start = 0
        end = len(chunk)
        while start < end:
            cut = chunk.find(_FLAG_BYTE, start)
            stop = end if cut < 0 else cut + 1
            if rx_accm is not None:
                deframer.accm = rx_accm(engine)
            for frame in deframer.feed(chunk[start:stop] if start or stop != end else chunk):
                counters.rx_frames += 1
                if self.trace is not None:
                    self.trace.record_rx(self, frame, now)
                delivery = engine.receive_frame(frame, now)
                if delivery is not None:
                    if len(rx) >= RX_QUEUE_LEN:
                        counters.rx_overruns += 1
                    else:
                        rx.append(delivery)
                        counters.rx_delivered += 1
            start = stop
        errors = dc.crc_errors + dc.too_long + dc.aborts + dc.too_short - errors_before
        if errors:
            counters.rx_frames += errors  # frames that arrived, like sync's, good or not
            counters.rx_crc_errors += dc.crc_errors - crc_before
        self._collect(now)

    def line_output(self, now: float) -> list[bytes]:
        """Frames whose last bit has left the serializer by `now`."""
        frames = self.transmitter.due(now)
        backlog = self._control_backlog
        while backlog and self.transmitter.space > 0:
            self._offer(backlog.popleft(), now)
            frames.extend(self.transmitter.due(now))
        if self.trace is not None and frames:
            self.trace.record_tx(self, frames, now)
        return frames

    # -- timers ----------------------------------------------------------------
    def deadline(self) -> float | None:
        engine_timer = self.engine.get_timer() if self.running else None
        line_timer = self.transmitter.deadline()
        if engine_timer is None:
            return line_timer
        if line_timer is None:
            return engine_timer
        return min(engine_timer, line_timer)

    def handle_timer(self, now: float) -> None:
        if self.running:
            timer = self.engine.get_timer()
            if timer is not None and timer <= now:
                self.engine.handle_timer(now)
        self._collect(now)

    # -- engine output ---------------------------------------------------------
    def _collect(self, now: float) -> None:
        """Move the engine's control frames and events into the port's queues."""
        engine = self.engine
        for frame in engine.frames_to_send():
            if self._control_backlog or not self._offer(frame, now):
                self._control_backlog.append(frame)
        event = engine.next_event()
        while event is not None:
            self.events.append(event)
            event = engine.next_event()
        deliveries = self._deliveries
        if deliveries:
            # Flow control above (windows, RNR) bounds these; they are never dropped here.
            self.rx.extend(deliveries)
            self.counters.rx_delivered += len(deliveries)
            deliveries.clear()

    # -- async framing helpers -------------------------------------------------
    def _new_deframer(self, previous: AsyncDeframer | None = None) -> AsyncDeframer:
        deframer = AsyncDeframer(fcs_bits=self._fcs_bits, max_frame=ASYNC_MAX_FRAME)
        if previous is not None:
            deframer.counters = previous.counters  # statistics outlive a restart
        return deframer

    def _bind_engine(self) -> None:
        """Look up once what the engine offers for async framing (PPP: its ACCMs)."""
        engine = self.engine
        self._accm_for = getattr(engine, "accm_for", None)
        # rx_accm changes with LCP's state, so it is read again for every piece of the stream.
        self._rx_accm = attrgetter("rx_accm") if hasattr(engine, "rx_accm") else None

    def status(self) -> dict[str, Any]:
        status = self._status()
        if self._deframer is not None:
            status["line"]["framing"] = "async"
            status["line"]["async"] = {
                "rx_accm": f"{self._deframer.accm:08x}",
                **asdict(self._deframer.counters),
            }
        return status

    def _status(self) -> dict[str, Any]:
        return {
            "port": self.number,
            "firmware": self.firmware,
            "firmware_version": self.firmware_version,
            "running": self.running,
            "line": {
                "type": self.line.kind,
                "bit_rate": self.line.bit_rate,
                "tx_queue": len(self.transmitter),
                "tx_queue_len": self.line.tx_queue_len,
            },
            "counters": asdict(self.counters),
            "protocol": self.engine.status(),
        }
