"""LAPB information transfer (X.25 2.4): I and S frames, windows, acknowledgements, recovery.

Only used in the information transfer phase (states.py decides when). Its
pieces, with the standard's names:

* Sending. I frames are numbered from V(S) and kept from V(A) on until
  acknowledged; at most k are outstanding. ``outstanding`` holds every frame
  sent at least once and not acknowledged (N(S) = V(A) + index), ``queue`` the
  ones not sent yet. Going back (REJ, a poll answer) only moves V(S) back to
  V(A): ``kick`` then sends ``outstanding`` again from there. Nothing is sent
  while the peer is busy or while a poll is outstanding.
* Acknowledging. A valid N(R) is one of V(A)..V(A)+len(outstanding): every
  frame up to it was sent at least once (after a go-back that can be past
  V(S), which then follows it). An I frame in sequence is delivered and makes
  an acknowledgement pending: the next I frame carries it, or an RR response
  goes out at once (T2 = 0) or when T2 runs out.
* REJ recovery. An I frame out of sequence is discarded; the first one sends
  REJ with N(R) = V(R) and enters the reject condition, which lasts until the
  expected frame arrives: one REJ outstanding at a time. A REJ received
  (outside a poll) sends everything again from its N(R).
* T1 and checkpointing. T1 runs while I frames are unacknowledged, while the
  peer is busy, and while a poll is outstanding; an acknowledgement that
  makes progress restarts it. When it runs out we poll: RR (RNR if we are
  busy) command with P=1, and send nothing new until the response with F=1
  comes; its N(R) tells where to go back to (unless it is an RNR). In the
  meantime acknowledgements are taken but do not restart T1, and a REJ does
  not trigger a second retransmission. ``retry`` counts the polls of one
  recovery; the engine resets the link after N2 of them.
* Busy. Local busy (``set_local_busy``) sends RNR and discards I frames
  without advancing V(R), so nothing is acknowledged that was not delivered;
  polls are answered with RNR F=1. Clearing it sends RR, or REJ if frames were
  discarded, so the peer resends them at once. Remote busy (RNR received)
  stops I frames until RR or REJ, or a poll answer that is not RNR.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from firmware_emu.lapb.codec import Frame, FrameType, address, i_frame, s_frame
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.lapb.events import LapbCounters, LapbData

__all__ = ["Transfer"]

IFRAME, RR, RNR, REJ = FrameType.I, FrameType.RR, FrameType.RNR, FrameType.REJ
_TX_COUNTER: Final = {RR: "tx_rr", RNR: "tx_rnr", REJ: "tx_rej"}


class Transfer:
    """Sequence variables, conditions and I frame queues of one link."""

    def __init__(
        self, config: LapbConfig, counters: LapbCounters, frames: list[bytes], events: deque
    ) -> None:
        self._m = config.modulo
        self._k = config.window
        self._t1 = config.t1
        self._t2 = config.t2
        self._capacity = config.window + config.queue_limit
        self._cmd = address(config.role, True)
        self._rsp = address(config.role, False)
        self._counters = counters
        self._frames = frames  # the engine's output lists, appended to directly
        self._events = events
        self.outstanding: deque[bytes] = deque()
        self.queue: deque[bytes] = deque()
        self.local_busy = False
        self.enter()

    def enter(self) -> None:
        """Information transfer (re)starts: all variables 0, no conditions, no timers."""
        self.vs = self.vr = self.va = 0
        self.remote_busy = False
        self.reject = False  # REJ sent, the expected frame not yet received
        self.ack_pending = False
        self.polling = False
        self.retry = 0
        self.busy_discarded = False  # I frames discarded during this local busy
        self.fresh = True  # nothing received from the peer since entering
        self.t1: float | None = None
        self.t2: float | None = None

    def announce_busy(self) -> None:
        """Tell the peer at once that we are busy (on entering information transfer)."""
        if self.local_busy:
            self._supervisory(RNR, False, False)

    # ------------------------------------------------------------- queues

    @property
    def has_room(self) -> bool:
        return len(self.outstanding) + len(self.queue) < self._capacity

    def discard(self) -> int:
        """Throw away every I frame, sent or not; how many there were."""
        n = len(self.outstanding) + len(self.queue)
        self.outstanding.clear()
        self.queue.clear()
        self.vs = self.va
        return n

    def valid_nr(self, nr: int) -> bool:
        return (nr - self.va) % self._m <= len(self.outstanding)

    # ------------------------------------------------------------- receiving

    def receive(self, frame: Frame, now: float) -> None:
        """A valid I or S frame (N(R) and length already checked by the engine)."""
        self.fresh = False
        if frame.type is IFRAME:
            self._receive_i(frame, now)
        else:
            self._receive_s(frame, now)

    def _receive_i(self, frame: Frame, now: float) -> None:
        progress = self._ack(frame.nr)
        c = self._counters
        if self.local_busy:
            c.rx_while_busy += 1
            self.busy_discarded = True
            if frame.pf:
                self._supervisory(RNR, False, True)
        elif frame.ns == self.vr:
            self.vr = (self.vr + 1) % self._m
            self.reject = False
            c.rx_iframes += 1
            c.rx_bytes += len(frame.info)
            self._events.append(LapbData(frame.info))
            if frame.pf:
                self._supervisory(RR, False, True)
            else:
                self.ack_pending = True
        else:
            c.out_of_sequence += 1
            if self.reject:
                if frame.pf:
                    self._supervisory(RR, False, True)
            else:
                self.reject = True
                self._supervisory(REJ, False, frame.pf)
        self._restart_t1(now, progress)

    def _receive_s(self, frame: Frame, now: float) -> None:
        kind = frame.type
        self.remote_busy = kind is RNR
        if frame.command and frame.pf:
            self._supervisory(RNR if self.local_busy else RR, False, True)
        progress = self._ack(frame.nr)
        if self.polling and frame.pf and not frame.command:
            # The checkpoint answer: its N(R) is where the peer wants to go on from.
            self.polling = False
            self.retry = 0
            self.t1 = None
            if not self.remote_busy:
                self.vs = self.va
            progress = True
        elif kind is REJ and not self.polling:
            self.vs = self.va
            progress = True
        self._restart_t1(now, progress)

    def _ack(self, nr: int) -> bool:
        """V(A) = N(R); True if that acknowledged anything."""
        n = (nr - self.va) % self._m
        if not n:
            return False
        sent = (self.vs - self.va) % self._m
        outstanding = self.outstanding
        for _ in range(n):
            outstanding.popleft()
        self.va = nr
        if n > sent:
            self.vs = nr  # acknowledged beyond a go-back's V(S): those need no resending
        return True

    def _restart_t1(self, now: float, progress: bool) -> None:
        if self.polling:
            return  # T1 times the poll
        if self.outstanding or self.remote_busy:
            if self.t1 is None or progress:
                self.t1 = now + self._t1
        else:
            self.t1 = None

    # ------------------------------------------------------------- timers

    def poll(self, now: float) -> None:
        """T1 ran out: checkpoint with RR (RNR if busy) command P=1."""
        self.retry += 1
        self.polling = True
        self._counters.polls += 1
        self._supervisory(RNR if self.local_busy else RR, True, True)
        self.t1 = now + self._t1

    def t2_expired(self) -> None:
        self.t2 = None
        if self.ack_pending:
            self._supervisory(RR, False, False)

    # ------------------------------------------------------------- sending

    def kick(self, now: float) -> None:
        """Send what the window allows, then any acknowledgement still owed."""
        if not (self.remote_busy or self.polling):
            m = self._m
            idx = (self.vs - self.va) % m
            outstanding, queue = self.outstanding, self.queue
            if idx < self._k and (idx < len(outstanding) or queue):
                c = self._counters
                frames, addr, vr = self._frames, self._cmd, self.vr
                vs = self.vs
                while idx < self._k:
                    if idx < len(outstanding):
                        payload = outstanding[idx]
                        c.retransmissions += 1
                    elif queue:
                        payload = queue.popleft()
                        outstanding.append(payload)
                        c.tx_iframes += 1
                        c.tx_bytes += len(payload)
                    else:
                        break
                    frames.append(i_frame(addr, m, vs, vr, False, payload))
                    vs = (vs + 1) % m
                    idx += 1
                self.vs = vs
                self.ack_pending = False  # the I frames carried N(R)
                self.t2 = None
                if self.t1 is None:
                    self.t1 = now + self._t1
        if self.ack_pending:
            if self._t2 == 0:
                self._supervisory(RR, False, False)
            elif self.t2 is None:
                self.t2 = now + self._t2

    def set_local_busy(self, busy: bool, connected: bool) -> None:
        """Outside information transfer only the flag changes; entering it sends RNR if set."""
        if busy == self.local_busy:
            return
        self.local_busy = busy
        if not connected:
            self.busy_discarded = False
            return
        if busy:
            self._supervisory(RNR, False, False)
        elif self.busy_discarded:
            self.busy_discarded = False
            self.reject = True
            self._supervisory(REJ, False, False)  # resend what we discarded, now
        else:
            self._supervisory(RR, False, False)

    def _supervisory(self, kind: FrameType, command: bool, pf: bool) -> None:
        self._frames.append(s_frame(self._cmd if command else self._rsp, self._m, kind, self.vr, pf))
        counters = self._counters
        name = _TX_COUNTER[kind]
        setattr(counters, name, getattr(counters, name) + 1)
        self.ack_pending = False  # it carried N(R)
        self.t2 = None
