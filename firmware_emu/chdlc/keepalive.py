"""Cisco HDLC line protocol: the SLARP keepalive state machine.

Theory of operation
-------------------
The line protocol is STOPPED (port not started), DOWN (started, not
verified), UP, or LOOPED (our own keepalives are coming back to us). Seven
inputs move it, exactly as the TRANSITIONS table below says; anything not in
the table is a misuse of the API (LocalProtocolError):

* START / STOP: the driver starts or stops the port.
* ACKED: a keepalive from the peer acknowledges one of ours.
* UNCHECKED: keepalives are disabled (interval 0): the line is declared up
  at START and stays up until STOP, like IOS's "no keepalive".
* MISSED: ``error_margin`` keepalive intervals in a row without an ACKED.
* LOOPED: a keepalive we sent came back to us.
* LOOP_GONE: ``error_margin`` intervals in a row without a looped keepalive.

Keepalives. Each side keeps ``my_seq`` (incremented before every keepalive,
from 1; 0 means "none" and is skipped on 32-bit wrap) and ``your_seq`` (the
``my_seq`` of the last keepalive the peer sent us), and sends both every
interval, the first one at START. A keepalive acknowledges us when its
``your_seq`` is our current ``my_seq`` or the one before it (ours may be in
flight as the peer sends), the rule of Linux's hdlc_cisco.c. The first ACKED
brings the line up at once (as Linux does), without waiting for the next
tick.

Misses. At every tick (before sending) the interval just ended is judged:
while UP, no ACKED in it is a miss, counted in ``keepalives_missed``, and
``error_margin`` misses in a row take the line DOWN (IOS's "3 keepalives
missed"). A DOWN line counts nothing: it is waiting for the peer anyway.
So the line goes down between ``error_margin`` and ``error_margin + 1``
intervals after the last acknowledgement, depending on where in its interval
that one arrived (hdlc_cisco.c instead times out a fixed period after it).
A keepalive that does not acknowledge us still tells us the peer's sequence,
so we acknowledge it in our next one; it just does not count as heard. A
peer that stops hearing us (one-way line) therefore brings us down too.

Loops. A looped line (a loopback plug, a carrier loop) sends us our own
frames. Counting sequence numbers cannot tell it from a peer in lock step
with us (two ends started at the same instant send identical keepalives),
so, as IOS does, every keepalive carries a fresh random 32-bit number in its
last four octets (where Linux puts its uptime), and a keepalive whose
``my_seq`` and number are those of one of our last two is ours. The line
goes LOOPED (LinkDown "looped" if it was up, ProtocolErrorSeen once per
detection); looped keepalives are never learned from. It leaves LOOPED for UP
on a real acknowledgement, or for DOWN after ``error_margin`` intervals with
no looped keepalive.

Events. Leaving UP emits LinkDown(reason) then ChannelStatusChanged(0,
"down", False); entering UP emits LinkUp then ChannelStatusChanged(0, "up",
True): the single channel is usable exactly when the line is UP.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Final

from firmware_emu.chdlc.codec import SEQ_MOD, Keepalive, slarp_frame
from firmware_emu.errors import LocalProtocolError
from firmware_emu.events import ChannelStatusChanged, LinkDown, LinkUp, ProtocolErrorSeen

CHANNEL: Final = 0
LOOP_MEMORY: Final = 2  # our keepalives still recognised when they come back (one may be in flight)


class LinkState(enum.Enum):
    STOPPED = "stopped"
    DOWN = "down"
    UP = "up"
    LOOPED = "looped"


class LinkInput(enum.Enum):
    START = "start"
    STOP = "stop"
    ACKED = "acked"
    UNCHECKED = "unchecked"
    MISSED = "missed"
    LOOPED = "looped"
    LOOP_GONE = "loop_gone"


_S, _I = LinkState, LinkInput
TRANSITIONS: Final[dict[tuple[LinkState, LinkInput], LinkState]] = {
    (_S.STOPPED, _I.START): _S.DOWN,
    (_S.STOPPED, _I.STOP): _S.STOPPED,
    (_S.DOWN, _I.STOP): _S.STOPPED,
    (_S.UP, _I.STOP): _S.STOPPED,
    (_S.LOOPED, _I.STOP): _S.STOPPED,
    (_S.DOWN, _I.UNCHECKED): _S.UP,
    (_S.DOWN, _I.ACKED): _S.UP,
    (_S.UP, _I.ACKED): _S.UP,
    (_S.LOOPED, _I.ACKED): _S.UP,
    (_S.UP, _I.MISSED): _S.DOWN,
    (_S.DOWN, _I.LOOPED): _S.LOOPED,
    (_S.UP, _I.LOOPED): _S.LOOPED,
    (_S.LOOPED, _I.LOOPED): _S.LOOPED,
    (_S.LOOPED, _I.LOOP_GONE): _S.DOWN,
}

LinkEvent = LinkUp | LinkDown | ChannelStatusChanged | ProtocolErrorSeen


def next_seq(seq: int) -> int:
    """The sequence number after ``seq``: 32 bits, skipping 0 (which means "none")."""
    return seq % (SEQ_MOD - 1) + 1


@dataclass(slots=True)
class KeepaliveCounters:
    keepalives_sent: int = 0
    keepalives_received: int = 0  # well-formed, from the peer (looped ones are not)
    keepalives_missed: int = 0  # intervals UP without an acknowledging keepalive
    sequence_errors: int = 0  # a keepalive acknowledging neither of our last two
    looped_keepalives: int = 0  # our own keepalives received
    loop_detections: int = 0  # times the line went LOOPED
    link_down_events: int = 0


class KeepaliveMachine:
    """The line protocol of one Cisco HDLC port. Outputs are taken by the engine."""

    def __init__(self, interval: float, error_margin: int, rng: random.Random) -> None:
        self._interval = interval
        self._margin = error_margin
        self._rng = rng
        self._state = LinkState.STOPPED
        self.my_seq = 0
        self.your_seq = 0
        self._sent: deque[tuple[int, int]] = deque(maxlen=LOOP_MEMORY)  # (my_seq, unique)
        self._acked = False  # an ACKED in the current interval
        self._looped = False  # a looped keepalive in the current interval
        self.misses = 0  # intervals in a row without ACKED
        self._loop_quiet = 0  # intervals in a row without a looped keepalive
        self._deadline: float | None = None
        self._frames: list[bytes] = []
        self._events: list[LinkEvent] = []
        self.counters = KeepaliveCounters()

    # ---------------------------------------------------------------- queries

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def link_up(self) -> bool:
        return self._state is LinkState.UP

    def get_timer(self) -> float | None:
        return self._deadline

    def take_frames(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        return frames

    def take_events(self) -> list[LinkEvent]:
        events, self._events = self._events, []
        return events

    def status(self) -> dict[str, Any]:
        return {
            "state": self._state.value,
            "interval": self._interval,
            "error_margin": self._margin,
            "my_seq": self.my_seq,
            "your_seq": self.your_seq,
            "misses_in_a_row": self.misses,
            **asdict(self.counters),
        }

    # ----------------------------------------------------------- entry points

    def start(self, now: float) -> None:
        self._fire(LinkInput.START, "")
        self.my_seq = self.your_seq = 0
        self._sent.clear()
        self._acked = self._looped = False
        self.misses = self._loop_quiet = 0
        if not self._interval:
            self._fire(LinkInput.UNCHECKED, "")
            return
        self._send()
        self._deadline = now + self._interval

    def stop(self, now: float) -> None:
        self._fire(LinkInput.STOP, "stopped")
        self._deadline = None
        self._frames.clear()

    def receive(self, ka: Keepalive, now: float) -> None:
        """A well-formed keepalive from the line. Never raises."""
        if self._state is LinkState.STOPPED:
            return
        if ka.unique is not None and (ka.my_seq, ka.unique) in self._sent:
            self._on_looped(ka)
            return
        self.counters.keepalives_received += 1
        self.your_seq = ka.my_seq
        if not self._interval:
            return  # nothing to verify; we still echo their sequence, as IOS does
        ack = ka.your_seq
        if ack and any(ack == seq for seq, _ in self._sent):
            self._acked = True
            self.misses = 0
            self._fire(LinkInput.ACKED, "")
        elif ack:
            # 0 is a peer that has not heard us yet (just started): no error.
            self.counters.sequence_errors += 1
            self._events.append(
                ProtocolErrorSeen(
                    "sequence_errors",
                    f"keepalive acknowledges {ack}, we sent {self.my_seq} (peer seq {ka.my_seq})",
                )
            )

    def handle_timer(self, now: float) -> None:
        if self._deadline is None or now < self._deadline:
            return
        self._judge_interval()
        self._send()
        # Keep the tick grid unless we fell behind by a whole interval (e.g. a stalled loop).
        nxt = self._deadline + self._interval
        self._deadline = nxt if nxt > now else now + self._interval

    # -------------------------------------------------------------- internals

    def _judge_interval(self) -> None:
        # Only an UP line misses keepalives (IOS's no_keep_count); a DOWN one is waiting for them.
        if not self._acked and self._state is LinkState.UP:
            self.misses += 1
            self.counters.keepalives_missed += 1
        self._acked = False
        if self._looped:
            self._looped = False
            self._loop_quiet = 0
        else:
            self._loop_quiet += 1
        if self._state is LinkState.UP and self.misses >= self._margin:
            self._fire(LinkInput.MISSED, f"{self.misses} keepalive intervals without an acknowledgement")
        elif self._state is LinkState.LOOPED and self._loop_quiet >= self._margin:
            self._fire(LinkInput.LOOP_GONE, "")

    def _on_looped(self, ka: Keepalive) -> None:
        self.counters.looped_keepalives += 1
        self._looped = True
        if self._state is not LinkState.LOOPED:
            self.counters.loop_detections += 1
            self._events.append(
                ProtocolErrorSeen(
                    "loop_detections", f"our own keepalive (seq {ka.my_seq}) came back: line looped"
                )
            )
        self._fire(LinkInput.LOOPED, "looped")

    def _send(self) -> None:
        self.my_seq = next_seq(self.my_seq)
        unique = self._rng.getrandbits(32)
        self._sent.append((self.my_seq, unique))
        self._frames.append(slarp_frame(Keepalive(self.my_seq, self.your_seq, unique=unique)))
        self.counters.keepalives_sent += 1

    def _fire(self, inp: LinkInput, reason: str) -> None:
        old = self._state
        try:
            new = TRANSITIONS[(old, inp)]
        except KeyError:
            raise LocalProtocolError(f"{inp.value} not allowed when the line is {old.value}") from None
        self._state = new
        if new is LinkState.UP and old is not LinkState.UP:
            self.misses = 0
            self._events.append(LinkUp())
            self._events.append(ChannelStatusChanged(CHANNEL, "up", True))
        elif old is LinkState.UP and new is not LinkState.UP:
            self.counters.link_down_events += 1
            self._events.append(LinkDown(reason))
            self._events.append(ChannelStatusChanged(CHANNEL, "down", False))
