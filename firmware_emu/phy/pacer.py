"""Serialization-delay pacing: when a frame has finished going out on the line.

A port's transmitter is a bounded FIFO in front of a serializer that clocks
bits out at the line rate. Time is whatever the caller says ``now`` is: the
daemon passes its loop clock, tests pass a virtual one. So the model is exact
and deterministic, and the serialization delay never adds up as drift from
timer jitter, because each finish time builds on the previous one and not on
the moment the timer fired.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from firmware_emu.errors import LocalProtocolError

__all__ = ["LineTransmitter", "TxCounters", "serialization_delay"]


def serialization_delay(bits: int, bit_rate: int | None) -> float:
    """Seconds needed to clock ``bits`` onto a line of ``bit_rate`` (0 if unpaced)."""
    if bit_rate is None:
        return 0.0
    return bits / bit_rate


@dataclass(slots=True)
class TxCounters:
    """What has left the line: counted when :meth:`LineTransmitter.due` hands it over."""

    frames: int = 0
    bits: int = 0


class _Queued(NamedTuple):
    finish: float
    frame: bytes
    bits: int
    offered: float  # kept so that a rate change can re-time the queue


def _check_rate(bit_rate: int | None) -> None:
    if bit_rate is not None and bit_rate <= 0:
        raise LocalProtocolError(f"bit_rate must be positive or None, got {bit_rate}")


class LineTransmitter:
    """The serializer of one line, with room for ``queue_len`` waiting frames."""

    def __init__(self, bit_rate: int | None, queue_len: int) -> None:
        _check_rate(bit_rate)
        if queue_len < 1:
            raise LocalProtocolError(f"queue_len must be >= 1, got {queue_len}")
        self._rate = bit_rate
        self._queue_len = queue_len
        self._queue: deque[_Queued] = deque()
        # Finish time of the last frame handed over by due(). A rate change or
        # clear() falls back on it, because everything after it is still open.
        self._sent_until = float("-inf")
        self._last_finish = float("-inf")
        self.counters = TxCounters()

    @property
    def bit_rate(self) -> int | None:
        return self._rate

    @property
    def space(self) -> int:
        """Frames that can still be offered before the queue is full."""
        return self._queue_len - len(self._queue)

    @property
    def busy_until(self) -> float:
        """When the line goes idle if nothing more is offered (-inf before any frame)."""
        return self._last_finish

    def __len__(self) -> int:
        return len(self._queue)

    def offer(self, frame: bytes, bits: int, now: float) -> bool:
        """Queue ``frame``, which occupies ``bits`` bit times on the line.

        Returns False, and queues nothing, when the queue is full. It is up to
        the caller to hold the frame back (flow control), not to drop it here.
        """
        if bits < 0:
            raise LocalProtocolError(f"bits must be >= 0, got {bits}")
        if len(self._queue) >= self._queue_len:
            return False
        # max() keeps departures in order even if a caller's clock steps back
        # or the line just became unpaced with paced frames still queued.
        finish = max(now, self._last_finish) + serialization_delay(bits, self._rate)
        self._queue.append(_Queued(finish, frame, bits, now))
        self._last_finish = finish
        return True

    def due(self, now: float) -> list[bytes]:
        """Remove and return, in order, every frame that has finished by ``now``."""
        queue = self._queue
        out: list[bytes] = []
        while queue and queue[0].finish <= now:
            item = queue.popleft()
            out.append(item.frame)
            self.counters.bits += item.bits
            self._sent_until = item.finish
        self.counters.frames += len(out)
        return out

    def deadline(self) -> float | None:
        """When the next frame finishes, or None if nothing is queued."""
        return self._queue[0].finish if self._queue else None

    def clear(self) -> int:
        """Drop every queued frame (the one on the wire too); return how many."""
        dropped = len(self._queue)
        self._queue.clear()
        self._last_finish = self._sent_until
        return dropped

    def set_rate(self, bit_rate: int | None) -> None:
        """Change the line rate, re-timing frames that are still queued.

        Queued frames are rescheduled as if they had been offered at the new
        rate. Otherwise a full queue on a line slowed from T1 to 9600 bit/s
        would keep going out at T1 speed. The reverse case is worse: a line
        sped up would keep draining at 9600 bit/s for tens of seconds.
        """
        _check_rate(bit_rate)
        self._rate = bit_rate
        last = self._sent_until
        retimed: deque[_Queued] = deque()
        for item in self._queue:
            last = max(item.offered, last) + serialization_delay(item.bits, bit_rate)
            retimed.append(item._replace(finish=last))
        self._queue = retimed
        self._last_finish = last
