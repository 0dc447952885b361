"""Line trace: the card records the frames on one port's line while a trace is on.

Theory of operation
-------------------
A trace is a bounded ring of records ``(seq, time, direction, frame)``. The
frame is what travelled on the line from the address field on, FCS and (async)
octet stuffing removed, which is what a protocol analyser wants. ``time`` is
the ``now`` the port was given when the frame went out or came in: the card
has no clock of its own, the driver turns it into wall-clock time.

- The data path never waits for the reader. The ring holds at most
  ``capacity`` records and ``max_bytes`` octets of frames; a new record pushes
  the oldest out. Every record has a sequence number, so a reader that fell
  behind learns exactly how many it missed (``dropped``) from its cursor.
- Off costs one attribute test per frame (``port.trace is not None``): the
  port does nothing else for tracing until a trace is started.
- Several readers may trace one port at once (two wanpipemon sessions): each
  gets a session id and its own cursor, and the ring stays on until the last
  one stops. A reader that goes away without stopping (killed, or its host
  unreachable) must not leave a busy line paying for a trace forever: when no
  session has read for ``idle_timeout`` seconds, the next frame ends the trace.

The mailbox commands are StartTrace, ReadTrace and StopTrace (mailbox.py);
their handlers live here so that the whole feature reads in one place.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from firmware_emu.adapter.mailbox import ReadTrace, StartTrace, StopTrace, handles
from firmware_emu.errors import LocalProtocolError
from firmware_emu.hdlc.async_framing import AsyncDeframer

if TYPE_CHECKING:
    from firmware_emu.adapter.card import Adapter
    from firmware_emu.adapter.port import Port

# The mailbox commands carry the defaults (the ring bounds octets too: 64 KiB frames must not
# make it 256 MiB; one read must fit a management reply, a UDP datagram once base64-encoded).
DEFAULT_CAPACITY: Final[int] = StartTrace.capacity
DEFAULT_MAX_BYTES: Final[int] = StartTrace.max_bytes
DEFAULT_IDLE_TIMEOUT: Final[float] = StartTrace.idle_timeout
READ_MAX_RECORDS: Final[int] = ReadTrace.max_records
READ_MAX_BYTES: Final[int] = ReadTrace.max_bytes


class Direction(enum.IntEnum):
    """Which way a frame travelled, seen from this card."""

    RX = 0  # received from the line
    TX = 1  # sent on the line


class TraceRecord(NamedTuple):
    """One frame on the line. A tuple: it is built for every frame while tracing, and cheaply."""

    seq: int
    time: float  # the port's `now` when the frame left (TX) or arrived (RX)
    direction: Direction
    frame: bytes  # address field first; no FCS, no stuffing


@dataclass(slots=True)
class TraceRead:
    records: list[TraceRecord]
    cursor: int  # pass back to read what comes next
    dropped: int  # records this reader missed: pushed out of the ring before it read them


@dataclass
class TraceBuffer:
    """The ring and its readers. Sans-I/O: every call that needs the time is given `now`."""

    capacity: int = DEFAULT_CAPACITY
    max_bytes: int = DEFAULT_MAX_BYTES
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    records: deque[TraceRecord] = field(default_factory=deque)
    next_seq: int = 0
    octets: int = 0  # frame octets in the ring, bounded by max_bytes
    overwritten: int = 0  # records pushed out of the ring, whoever was (not) reading
    sessions: dict[int, float] = field(default_factory=dict)  # session id -> when it last read
    expires: float = float("inf")  # the trace ends at the first frame after this
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.max_bytes < 1:
            raise LocalProtocolError("a trace ring needs room for at least one record")

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest record still in the ring."""
        return self.next_seq - len(self.records)

    def append(self, now: float, direction: Direction, frame: bytes) -> None:
        records = self.records
        records.append(TraceRecord(self.next_seq, now, direction, frame))
        self.next_seq += 1
        self.octets += len(frame)
        # Drop the oldest, never the newest: the reader wants to see what is happening now.
        while len(records) > self.capacity or (self.octets > self.max_bytes and len(records) > 1):
            self.octets -= len(records.popleft().frame)
            self.overwritten += 1

    def open_session(self, now: float) -> tuple[int, int]:
        """A new reader: (session id, cursor). The cursor starts at the next frame, not the ring's past."""
        session = next(self._ids)
        self._touch(session, now)
        return session, self.next_seq

    def close_session(self, session: int, now: float) -> None:
        self.sessions.pop(session, None)
        self._prune(now)

    def read(
        self,
        session: int,
        cursor: int,
        now: float,
        max_records: int = READ_MAX_RECORDS,
        max_bytes: int = READ_MAX_BYTES,
    ) -> TraceRead:
        """Records from `cursor` on, at most `max_records` and about `max_bytes` (at least one)."""
        if session not in self.sessions:
            raise LocalProtocolError(f"trace session {session} is not open")
        self._touch(session, now)
        first = self.first_seq
        dropped = max(0, first - cursor)
        start = max(cursor, first)
        out: list[TraceRecord] = []
        size = 0
        if start < self.next_seq:
            for record in itertools.islice(self.records, start - first, None):
                if out and (len(out) >= max_records or size + len(record.frame) > max_bytes):
                    break
                out.append(record)
                size += len(record.frame)
        next_cursor = out[-1].seq + 1 if out else max(cursor, first)
        return TraceRead(out, next_cursor, dropped)

    def _touch(self, session: int, now: float) -> None:
        self.sessions[session] = now
        self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget readers that went away without stopping, so that they do not keep the trace on."""
        limit = now - self.idle_timeout
        for session in [s for s, last in self.sessions.items() if last < limit]:
            del self.sessions[session]
        self.expires = max(self.sessions.values(), default=now) + self.idle_timeout

    def status(self) -> dict[str, Any]:
        return {
            "records": len(self.records),
            "bytes": self.octets,
            "capacity": self.capacity,
            "max_bytes": self.max_bytes,
            "next_seq": self.next_seq,
            "overwritten": self.overwritten,
            "sessions": len(self.sessions),
        }


class PortTrace(TraceBuffer):
    """A port's trace: the ring plus what the port needs to record its own frames."""

    def __init__(self, port: Port, **kw: Any) -> None:
        super().__init__(**kw)
        # Sync lines may carry the FCS on the cable; async lines always stuff and carry it.
        self.fcs_len = port._fcs_bits // 8 if port.carries_fcs else 0
        # Async TX frames are recovered from the stuffed octets the port sent; each one is a
        # whole `7E ... 7E` item, so one deframer per trace sees every frame complete.
        self.tx_deframer = (
            AsyncDeframer(accm=0, fcs_bits=port._fcs_bits, max_frame=65535 + 8)
            if port.framing == "async"
            else None
        )

    def record_rx(self, port: Port, frame: bytes, now: float) -> None:
        """A good frame from the line (FCS already checked and removed)."""
        if now > self.expires:
            port.trace = None
            return
        self.append(now, Direction.RX, frame)

    def record_tx(self, port: Port, wire: list[bytes], now: float) -> None:
        """Frames the serializer finished, as they went on the cable."""
        if now > self.expires:
            port.trace = None
            return
        deframer = self.tx_deframer
        if deframer is not None:
            for item in wire:
                for frame in deframer.feed(item):
                    self.append(now, Direction.TX, frame)
            return
        cut = self.fcs_len
        for item in wire:
            self.append(now, Direction.TX, item[:-cut] if cut else item)


# -- mailbox handlers -------------------------------------------------------------


@handles(StartTrace)
def _start_trace(adapter: Adapter, cmd: StartTrace, now: float) -> dict[str, Any]:
    port = adapter.port(cmd.port)
    trace = port.trace
    if trace is None:
        trace = PortTrace(port, capacity=cmd.capacity, max_bytes=cmd.max_bytes, idle_timeout=cmd.idle_timeout)
        port.trace = trace
    session, cursor = trace.open_session(now)
    return {"session": session, "cursor": cursor, "firmware": port.firmware, **trace.status()}


@handles(ReadTrace)
def _read_trace(adapter: Adapter, cmd: ReadTrace, now: float) -> dict[str, Any]:
    trace = adapter.port(cmd.port).trace
    if trace is None or cmd.session not in trace.sessions:
        raise LocalProtocolError(f"{adapter.name}: port {cmd.port}: trace session {cmd.session} is not open")
    got = trace.read(cmd.session, cmd.cursor, now, cmd.max_records, cmd.max_bytes)
    return {"records": got.records, "cursor": got.cursor, "dropped": got.dropped}


@handles(StopTrace)
def _stop_trace(adapter: Adapter, cmd: StopTrace, now: float) -> dict[str, Any]:
    port = adapter.port(cmd.port)
    trace = port.trace
    if trace is None:
        return {"tracing": False}
    trace.close_session(cmd.session, now)
    if not trace.sessions:
        port.trace = None
    return {"tracing": port.trace is not None}
