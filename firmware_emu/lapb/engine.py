"""The LAPB engine (ISO 7776 / X.25 link layer), sans-I/O: one single link, DTE or DCE.

The driver (or the X.25 engine) calls ``start``, feeds received frames
(address first, FCS checked and stripped) to ``receive_frame``, calls
``handle_timer`` when ``get_timer`` says so, queues packets with ``send``, and
after every call drains ``frames_to_send`` (to put on the line, in order) and
``next_event``: LapbData (one I frame's information field, once and in order),
LinkUp, LinkReset, LinkDown, and ProtocolErrorSeen for counted drops.

The link procedures (set-up, reset, disconnect, frame reject) are the table
in states.py; information transfer is transfer.py. This module classifies
what arrives into the table's events, carries out its actions, and keeps the
driver's view (LinkUp / LinkReset / LinkDown) consistent.

``send`` takes no ``now``: a T1 it starts counts from the last ``now`` the
engine was given, which is at most early, never late. A peer's error never
escapes ``receive_frame``: it is counted, reported (rate-limited) and
dropped, or answered with FRMR where ISO 7776 says so.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Final

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.events import LinkDown, LinkUp, ProtocolErrorSeen
from firmware_emu.lapb.codec import (
    FRMR_Y,
    FRMR_Z,
    BadAddressError,
    Frame,
    FrameRejectError,
    FrameType,
    FrmrInfo,
    address,
    decode,
    encode_frmr_info,
    u_frame,
)
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.lapb.events import LapbCounters, LapbData, LinkReset
from firmware_emu.lapb.states import ADMIN, PUBLIC, TABLE, Action, Event, State
from firmware_emu.lapb.transfer import Transfer

__all__ = ["LapbCounters", "LapbData", "LapbEngine", "LinkReset"]

ERROR_REPORT_INTERVAL: Final = 1.0  # s; ProtocolErrorSeen at most this often per counter

T = FrameType
E, A, S = Event, Action, State
_RX_COUNTER: Final = {
    T.RR: "rx_rr",
    T.RNR: "rx_rnr",
    T.REJ: "rx_rej",
    T.SABM: "rx_sabm",
    T.SABME: "rx_sabm",
    T.DISC: "rx_disc",
    T.DM: "rx_dm",
    T.UA: "rx_ua",
    T.FRMR: "rx_frmr",
}
_INFO_TYPES: Final = frozenset((T.I, T.RR, T.RNR, T.REJ))
_STOPPED: Final = frozenset((S.OFF, S.DISCONNECTING))


@dataclass(frozen=True, slots=True)
class _Rejection:
    """What an FRMR of ours reports."""

    control: bytes
    response: bool  # the rejected frame was a response
    pf: bool
    flags: int
    detail: str


class LapbEngine:
    """One LAPB single link procedure."""

    def __init__(self, config: LapbConfig, now: float) -> None:
        if not isinstance(config, LapbConfig):
            raise LocalProtocolError(f"not a LapbConfig: {config!r}")
        self.config = config
        self.counters = LapbCounters()
        self._m = config.modulo
        self._role = config.role
        self._cmd = address(config.role, True)
        self._rsp = address(config.role, False)
        self._mode_set = T.SABM if config.modulo == 8 else T.SABME
        self._frames: list[bytes] = []
        self._events: deque[Any] = deque()
        self._x = Transfer(config, self.counters, self._frames, self._events)
        self._state = S.OFF
        self._timer: float | None = None  # T1 or the slow retry, outside information transfer
        self._retry = 0  # SABM / DISC / FRMR retransmissions
        self._now = now
        self._up_reported = False  # LinkUp emitted and no LinkDown since
        self._pending: LinkReset | None = None  # our reset in progress
        self._rejection: _Rejection | None = None
        self._last_report: dict[str, float] = {}

    # ------------------------------------------------------------- lifecycle

    def start(self, now: float) -> None:
        """Begin link set-up (SABM/SABME P=1). LocalProtocolError if already started."""
        self._now = now
        self._fire(E.START, now)

    def stop(self, now: float) -> None:
        """DISC, and disconnected when the UA comes (LinkDown at once if the link was up)."""
        self._now = now
        self._fire(E.STOP, now)

    # ------------------------------------------------------------- data

    def send(self, payload: bytes) -> bool:
        """Queue one I frame; False if the queue is full. Queued while the link is not up."""
        if self._state in _STOPPED:
            raise LocalProtocolError("the LAPB link is stopped")
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise LocalProtocolError(f"payload must be bytes, not {type(payload).__name__}")
        if len(payload) > self.config.n1:
            raise LocalProtocolError(f"I frame of {len(payload)} octets exceeds N1 = {self.config.n1}")
        x = self._x
        if not x.has_room:
            return False
        x.queue.append(bytes(payload))
        if self._state is S.CONNECTED:
            x.kick(self._now)
        return True

    @property
    def can_send(self) -> bool:
        return self._state not in _STOPPED and self._x.has_room

    def set_local_busy(self, busy: bool, now: float) -> None:
        """Own receiver busy: RNR, and I frames are refused (the peer keeps them) until cleared."""
        self._now = now
        self._x.set_local_busy(bool(busy), self._state is S.CONNECTED)
        self._after(now)

    # ------------------------------------------------------------- receiving

    def receive_frame(self, frame: bytes, now: float) -> None:
        self._now = now
        try:
            f = decode(frame if type(frame) is bytes else bytes(frame), self._m, self._role)
        except BadAddressError as exc:
            self._drop("bad_address", str(exc), now)
            return
        except FrameRejectError as exc:
            self._drop("malformed", str(exc), now)
            self._rejection = _Rejection(exc.control, exc.response, exc.pf, exc.flags, str(exc))
            self._fire(E.RX_INVALID, now)
            self._after(now)
            return
        except (RemoteProtocolError, TypeError, ValueError) as exc:
            self._drop("malformed", str(exc), now)
            return
        c = self.counters
        name = _RX_COUNTER.get(f.type)
        if name is not None:
            setattr(c, name, getattr(c, name) + 1)
        self._fire(self._classify(f, now), now, f)
        self._after(now)

    def _classify(self, f: Frame, now: float) -> Event:
        kind = f.type
        if kind in _INFO_TYPES:
            if self._state is S.CONNECTED:
                flags = 0
                if kind is T.I and len(f.info) > self.config.n1:
                    flags |= FRMR_Y
                if not self._x.valid_nr(f.nr):
                    flags |= FRMR_Z
                if flags:
                    detail = f"{kind.value} N(R)={f.nr} ({len(f.info)} octets), V(A)={self._x.va}"
                    self._drop("malformed", detail, now)
                    self._rejection = _Rejection(f.control, not f.command, f.pf, flags, detail)
                    return E.RX_INVALID
            return E.RX_POLL if f.command and f.pf else E.RX_INFO
        if kind is self._mode_set:
            return E.RX_SABM
        if kind is T.SABM or kind is T.SABME:
            self._drop("mode_mismatch", f"{kind.value} received, configured for modulo {self._m}", now)
            return E.RX_SABM_OTHER
        if kind is T.DISC:
            return E.RX_DISC
        if kind is T.UA:
            return E.RX_UA_F1 if f.pf else E.RX_UA_F0
        if kind is T.DM:
            return E.RX_DM_F1 if f.pf else E.RX_DM_F0
        frmr = f.frmr
        detail = (
            f"FRMR {f.info.hex()}"
            if frmr is None
            else f"FRMR flags {frmr.flags:X} control {frmr.control.hex()}"
        )
        self._report("rx_frmr", f"peer rejected our frame: {detail}", now)
        return E.RX_FRMR

    # ------------------------------------------------------------- outputs

    def frames_to_send(self) -> list[bytes]:
        frames = self._frames[:]
        self._frames.clear()  # the list object is shared with Transfer
        return frames

    def next_event(self) -> Any | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        if self._state is S.CONNECTED:
            a, b = self._x.t1, self._x.t2
            if a is None:
                return b
            return a if b is None or a <= b else b
        return self._timer

    def handle_timer(self, now: float) -> None:
        self._now = now
        if self._state is S.CONNECTED:
            x = self._x
            if x.t2 is not None and now >= x.t2:
                x.t2_expired()
            if x.t1 is not None and now >= x.t1:
                x.t1 = None
                self.counters.t1_timeouts += 1
                self._fire(E.TIMEOUT_N2 if x.retry >= self.config.n2 else E.TIMEOUT, now)
        elif self._timer is not None and now >= self._timer:
            self._timer = None
            state, n2 = self._state, self.config.n2
            if state is S.DOWN:
                event = E.TIMEOUT_SLOW
            else:
                self.counters.t1_timeouts += 1
                if self._retry < n2:
                    event = E.TIMEOUT
                elif self._retry == n2 or state is not S.SETUP:
                    event = E.TIMEOUT_N2
                else:
                    event = E.TIMEOUT_SLOW
            self._fire(event, now)
        self._after(now)

    # ------------------------------------------------------------- queries

    @property
    def link_up(self) -> bool:
        return self._state is S.CONNECTED

    @property
    def state(self) -> str:
        return PUBLIC[self._state]

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot for status files and the management protocol."""
        x, cfg = self._x, self.config
        return {
            "protocol": "lapb",
            "state": self.state,
            "link_up": self.link_up,
            "role": cfg.role,
            "modulo": cfg.modulo,
            "k": cfg.window,
            "n1": cfg.n1,
            "n2": cfg.n2,
            "t1": cfg.t1,
            "t2": cfg.t2,
            "vs": x.vs,
            "vr": x.vr,
            "va": x.va,
            "remote_busy": x.remote_busy,
            "local_busy": x.local_busy,
            "reject": x.reject,
            "polling": x.polling,
            "outstanding": len(x.outstanding),
            "queued": len(x.queue),
            "counters": asdict(self.counters),
        }

    # ------------------------------------------------------------- the table

    def _fire(self, event: Event, now: float, frame: Frame | None = None) -> None:
        prev = self._state
        cell = TABLE.get((prev, event))
        if cell is None:
            if event in ADMIN:
                raise LocalProtocolError(f"LAPB: {event.value} not allowed in state {PUBLIC[prev]}")
            self.counters.ignored += 1
            return
        actions, self._state = cell
        for action in actions:
            self._act(action, event, prev, now, frame)

    def _act(self, action: Action, event: Event, prev: State, now: float, frame: Frame | None) -> None:
        cfg, x, c = self.config, self._x, self.counters
        pf = frame.pf if frame is not None else False
        if action is A.TRANSFER:
            assert frame is not None
            x.receive(frame, now)
        elif action is A.UA:
            self._frames.append(u_frame(self._rsp, T.UA, pf))
            c.tx_ua += 1
        elif action is A.DM:
            self._frames.append(u_frame(self._rsp, T.DM, pf))
            c.tx_dm += 1
        elif action in (A.SABM, A.SABM_AGAIN, A.SABM_SLOW):
            if action is A.SABM:
                self._retry = 0
            elif action is A.SABM_AGAIN:
                self._retry += 1
            else:
                self._retry = cfg.n2 + 1
            self._frames.append(u_frame(self._cmd, self._mode_set, True))
            c.tx_sabm += 1
            self._timer = now + (cfg.slow_retry if action is A.SABM_SLOW else cfg.t1)
        elif action is A.DISC or action is A.DISC_AGAIN:
            self._retry = 0 if action is A.DISC else self._retry + 1
            self._frames.append(u_frame(self._cmd, T.DISC, True))
            c.tx_disc += 1
            self._timer = now + cfg.t1
        elif action in (A.FRMR, A.FRMR_AGAIN, A.FRMR_POLLED):
            self._send_frmr(action, pf, now)
        elif action is A.ENTER:
            self._timer = None
            self._retry = 0
            x.enter()
            x.announce_busy()
        elif action is A.UP:
            if not self._up_reported:
                self._up_reported = True
                self._events.append(LinkUp())
            elif self._pending is not None:
                self._events.append(self._pending)
            self._pending = None
        elif action is A.PEER_RESET:
            self._timer = None
            self._retry = 0
            if prev is S.CONNECTED and x.fresh:
                # The peer repeated its SABM (our UA was lost): it ignored what we sent since,
                # which stays outstanding and goes again from N(S) = 0.
                x.enter()
            else:
                discarded = x.discard()
                x.enter()
                c.link_resets += 1
                self._events.append(LinkReset(f"peer reset the link ({self._mode_set.value})", discarded))
            x.announce_busy()
        elif action is A.RESET:
            discarded = x.discard()
            c.link_resets += 1
            self._pending = LinkReset(self._reason(event, prev), discarded)
            self._report("link_resets", f"resetting the link: {self._pending.reason}", now)
        elif action is A.DOWN:
            self._pending = None
            if self._up_reported:
                self._up_reported = False
                x.discard()
                self._events.append(LinkDown(self._reason(event, prev)))
        elif action is A.FLUSH:
            x.discard()
        elif action is A.STOP_TIMERS:
            self._timer = None
        elif action is A.RETRY_LATER:
            self._timer = now + cfg.slow_retry
        elif action is A.POLL:
            x.poll(now)
        elif action is A.N2:
            c.n2_exhausted += 1
            self._report("n2_exhausted", f"N2 = {cfg.n2} retries exhausted in {PUBLIC[prev]}", now)
        else:  # pragma: no cover - every Action is handled above
            raise AssertionError(action)

    def _send_frmr(self, action: Action, pf: bool, now: float) -> None:
        rej = self._rejection
        assert rej is not None
        x = self._x
        if action is A.FRMR:
            self._retry = 0
            x.fresh = False
            f = rej.pf and not rej.response  # F = P of a rejected command
            self._report("tx_frmr", f"FRMR: {rej.detail}", now)
        else:
            f = action is A.FRMR_POLLED
            if action is A.FRMR_AGAIN:
                self._retry += 1
        if action is not A.FRMR_POLLED:
            self._timer = now + self.config.t1
        info = encode_frmr_info(FrmrInfo(rej.control, x.vs, x.vr, rej.response, rej.flags), self._m)
        self._frames.append(u_frame(self._rsp, T.FRMR, f, info))
        self.counters.tx_frmr += 1

    def _reason(self, event: Event, prev: State) -> str:
        if event is E.STOP:
            return "stopped"
        if event is E.RX_DISC:
            return "peer disconnected (DISC)"
        if event in (E.RX_DM_F0, E.RX_DM_F1):
            return "peer is in disconnected mode (DM)"
        if event is E.RX_FRMR:
            return "peer rejected a frame (FRMR)"
        if event is E.RX_SABM_OTHER:
            return f"peer asked for the other modulo than {self._m}"
        if event is E.TIMEOUT_N2:
            what = {S.CONNECTED: "polls", S.FRAME_REJECT: "FRMRs", S.SETUP: "SABMs"}.get(prev, "retries")
            return f"no answer to N2 = {self.config.n2} {what}"
        return event.value

    def _after(self, now: float) -> None:
        """I frames the window now allows, and any acknowledgement owed."""
        if self._state is S.CONNECTED:
            self._x.kick(now)

    def _drop(self, counter: str, detail: str, now: float) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        self._report(counter, detail, now)

    def _report(self, counter: str, detail: str, now: float) -> None:
        last = self._last_report.get(counter)
        if last is None or now - last >= ERROR_REPORT_INTERVAL or now < last:
            self._last_report[counter] = now
            self._events.append(ProtocolErrorSeen(counter, detail))
