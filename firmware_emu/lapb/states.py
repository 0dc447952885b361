"""The LAPB link state machine (ISO 7776, ITU-T X.25 2.4): set-up, reset, disconnect, frame reject.

Theory of operation
-------------------
TABLE maps (state, event) to (actions, next state); ``LapbEngine`` sets the
new state, then runs the actions in order. A missing cell is "ignore": a
frame landing there is counted as ignored; an administrative event there
(START while started) is a misuse of the API, LocalProtocolError.

States. OFF and DOWN are both the standard's disconnected phase ("disconnected"
in ``LapbEngine.state``): OFF is administratively down (never started, or
stopped) and refuses a SABM with DM; DOWN is started but disconnected (the
peer sent DISC, or refused our SABM with DM), answers a SABM with UA, and
tries again itself every ``slow_retry`` seconds. SETUP sends SABM (SABME in
modulo 128) with P=1 every T1, N2 more times, then keeps sending one every
``slow_retry`` seconds, forever: a line that comes back must come up. CONNECTED
is the information transfer phase, FRAME_REJECT the frame reject condition,
DISCONNECTING waits for the UA to our DISC (stop()).

Events. The engine classifies each received frame: RX_SABM is the mode-set
command of our modulo, RX_SABM_OTHER the other one (answered with DM: the
kernel's choice too); UA and DM split on their F bit; RX_POLL is an I or S
command with P=1, RX_INFO any other I or S frame. RX_INVALID is a frame
reject condition: the codec's W and W+X, and in information transfer the
engine's Y (I frame longer than N1) and Z (N(R) not in V(A)..V(S)). A T1
expiry is TIMEOUT while retries remain, TIMEOUT_N2 when N2 are spent (once),
TIMEOUT_SLOW for the slow set-up attempts after that.

Collisions of unnumbered commands (X.25 2.4). A SABM received in SETUP is
answered with UA and we enter information transfer at once, accepting the UA
to our own SABM when it comes (UA is ignored in CONNECTED). A DISC received in SETUP, or a SABM in
DISCONNECTING, is a collision of different commands: DM. A DISC received in
DISCONNECTING is answered with UA and we are disconnected at once.

Resets and what the driver is told. ``up_reported`` is what the driver
believes. UP emits LinkUp, or LinkReset if a reset of ours was pending; DOWN
emits LinkDown if the link was reported up (and then throws the I frames
away); a link that never came up keeps what was queued. RESET (we reset:
the peer sent FRMR, our FRMR went unanswered N2 times, or N2 polls went
unanswered) throws away every I frame not yet acknowledged or not yet sent
and remembers LinkReset(reason, discarded) until the UA comes: the link is
down in between (``link_up`` is False, send() queues) and if set-up fails,
LinkDown replaces the LinkReset. PEER_RESET is a SABM received in information
transfer: answered with UA, it resets the sequence numbers and emits
LinkReset at once, unless nothing at all came from the peer since we entered
information transfer: then it is the peer repeating a SABM whose UA it lost,
and the I frames we sent meanwhile (which it ignored, not being connected) are
sent again from N(S)=0 instead of being discarded. (The price: if everything
from the peer were lost from the very moment we came up until its own N2
reset, frames it did take would be sent again after its LinkReset.)

Frame reject. FRMR goes out with F=P of the rejected frame if it was a
command, T1 runs; the FRMR is repeated at each T1 (and with F=1 to a poll),
N2 times, then we reset the link. The peer clears it with SABM (a reset) or
DISC. An FRMR received in information transfer or in frame reject makes us
reset the link. A DM in information transfer means the peer is disconnected:
the link is down and set-up starts again; DISC from the peer (or a SABM of
the other modulo) is answered with UA (DM), the link is down, and we try
again, slowly, from DOWN. Disconnected (OFF, DOWN), a DISC or any command
with P=1 gets DM with F=P.

Information transfer itself (I and S frames, windows, acknowledgements,
REJ, busy conditions and T1 polling) is ``transfer.py``; the TRANSFER action
hands it the frame and POLL the T1 expiry.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["ADMIN", "PUBLIC", "TABLE", "Action", "Event", "State"]


class State(enum.Enum):
    OFF = "off"
    DOWN = "down"
    SETUP = "setup"
    CONNECTED = "connected"
    FRAME_REJECT = "frame_reject"
    DISCONNECTING = "disconnecting"


# What LapbEngine.state reports.
PUBLIC: Final = {
    State.OFF: "disconnected",
    State.DOWN: "disconnected",
    State.SETUP: "setup",
    State.CONNECTED: "connected",
    State.FRAME_REJECT: "frame_reject",
    State.DISCONNECTING: "disconnecting",
}


class Event(enum.Enum):
    START = "start"
    STOP = "stop"
    RX_SABM = "SABM"  # or SABME: the mode-set command of our modulo
    RX_SABM_OTHER = "SABM(other modulo)"
    RX_DISC = "DISC"
    RX_UA_F1 = "UA(F=1)"
    RX_UA_F0 = "UA(F=0)"
    RX_DM_F1 = "DM(F=1)"
    RX_DM_F0 = "DM(F=0)"
    RX_FRMR = "FRMR"
    RX_INFO = "I/S"
    RX_POLL = "I/S(P=1)"
    RX_INVALID = "invalid"
    TIMEOUT = "T1"
    TIMEOUT_N2 = "T1(N2)"
    TIMEOUT_SLOW = "retry"


class Action(enum.Enum):
    UA = "ua"  # answer with UA, F = P
    DM = "dm"  # answer with DM, F = P
    SABM = "sabm"  # SABM/SABME P=1, retry count 0, T1
    SABM_AGAIN = "sabm_again"  # retry count + 1, T1
    SABM_SLOW = "sabm_slow"  # retries spent, next one after slow_retry
    DISC = "disc"  # DISC P=1, retry count 0, T1
    DISC_AGAIN = "disc_again"
    FRMR = "frmr"  # FRMR for the rejected frame, retry count 0, T1
    FRMR_AGAIN = "frmr_again"
    FRMR_POLLED = "frmr_polled"  # the same FRMR with F=1, answering a poll
    ENTER = "enter"  # V(S) = V(R) = V(A) = 0, conditions cleared, RNR if locally busy
    UP = "up"  # LinkUp, or the pending LinkReset
    PEER_RESET = "peer_reset"  # LinkReset now (or a repeated SABM: I frames sent again)
    RESET = "reset"  # discard I frames, LinkReset pending until the UA
    DOWN = "down"  # LinkDown if reported up; I frames discarded then
    FLUSH = "flush"  # discard every I frame (stopped)
    STOP_TIMERS = "stop_timers"
    RETRY_LATER = "retry_later"  # a set-up attempt after slow_retry
    TRANSFER = "transfer"  # the I/S frame procedures
    POLL = "poll"  # T1 checkpoint: RR/RNR command P=1
    N2 = "n2"  # count an N2 exhaustion


S, E, A = State, Event, Action
Cell = tuple[tuple[Action, ...], State]

# fmt: off
TABLE: Final[dict[tuple[State, Event], Cell]] = {
    (S.OFF, E.START): ((A.SABM,), S.SETUP),
    (S.OFF, E.STOP): ((A.FLUSH,), S.OFF),
    (S.OFF, E.RX_SABM): ((A.DM,), S.OFF),
    (S.OFF, E.RX_SABM_OTHER): ((A.DM,), S.OFF),
    (S.OFF, E.RX_DISC): ((A.DM,), S.OFF),
    (S.OFF, E.RX_POLL): ((A.DM,), S.OFF),

    (S.DOWN, E.STOP): ((A.FLUSH, A.STOP_TIMERS), S.OFF),
    (S.DOWN, E.RX_SABM): ((A.UA, A.ENTER, A.UP), S.CONNECTED),
    (S.DOWN, E.RX_SABM_OTHER): ((A.DM,), S.DOWN),
    (S.DOWN, E.RX_DISC): ((A.DM,), S.DOWN),
    (S.DOWN, E.RX_POLL): ((A.DM,), S.DOWN),
    (S.DOWN, E.RX_DM_F0): ((A.SABM,), S.SETUP),          # the peer asks us to set the link up
    (S.DOWN, E.TIMEOUT_SLOW): ((A.SABM_SLOW,), S.SETUP),

    (S.SETUP, E.STOP): ((A.DOWN, A.FLUSH, A.DISC), S.DISCONNECTING),
    (S.SETUP, E.RX_SABM): ((A.UA, A.ENTER, A.UP), S.CONNECTED),   # collision: up at once
    (S.SETUP, E.RX_SABM_OTHER): ((A.DM,), S.SETUP),
    (S.SETUP, E.RX_DISC): ((A.DM,), S.SETUP),
    (S.SETUP, E.RX_UA_F1): ((A.ENTER, A.UP), S.CONNECTED),
    (S.SETUP, E.RX_DM_F1): ((A.DOWN, A.RETRY_LATER), S.DOWN),     # refused
    (S.SETUP, E.TIMEOUT): ((A.SABM_AGAIN,), S.SETUP),
    (S.SETUP, E.TIMEOUT_N2): ((A.N2, A.DOWN, A.SABM_SLOW), S.SETUP),
    (S.SETUP, E.TIMEOUT_SLOW): ((A.SABM_SLOW,), S.SETUP),

    (S.CONNECTED, E.STOP): ((A.DOWN, A.FLUSH, A.DISC), S.DISCONNECTING),
    (S.CONNECTED, E.RX_SABM): ((A.UA, A.PEER_RESET), S.CONNECTED),
    (S.CONNECTED, E.RX_SABM_OTHER): ((A.DM, A.DOWN, A.STOP_TIMERS, A.RETRY_LATER), S.DOWN),
    (S.CONNECTED, E.RX_DISC): ((A.UA, A.DOWN, A.STOP_TIMERS, A.RETRY_LATER), S.DOWN),
    (S.CONNECTED, E.RX_DM_F1): ((A.DOWN, A.SABM), S.SETUP),
    (S.CONNECTED, E.RX_DM_F0): ((A.DOWN, A.SABM), S.SETUP),
    (S.CONNECTED, E.RX_FRMR): ((A.RESET, A.SABM), S.SETUP),
    (S.CONNECTED, E.RX_INFO): ((A.TRANSFER,), S.CONNECTED),
    (S.CONNECTED, E.RX_POLL): ((A.TRANSFER,), S.CONNECTED),
    (S.CONNECTED, E.RX_INVALID): ((A.FRMR,), S.FRAME_REJECT),
    (S.CONNECTED, E.TIMEOUT): ((A.POLL,), S.CONNECTED),
    (S.CONNECTED, E.TIMEOUT_N2): ((A.N2, A.RESET, A.SABM), S.SETUP),

    (S.FRAME_REJECT, E.STOP): ((A.DOWN, A.FLUSH, A.DISC), S.DISCONNECTING),
    (S.FRAME_REJECT, E.RX_SABM): ((A.UA, A.PEER_RESET), S.CONNECTED),
    (S.FRAME_REJECT, E.RX_SABM_OTHER): ((A.DM, A.DOWN, A.STOP_TIMERS, A.RETRY_LATER), S.DOWN),
    (S.FRAME_REJECT, E.RX_DISC): ((A.UA, A.DOWN, A.STOP_TIMERS, A.RETRY_LATER), S.DOWN),
    (S.FRAME_REJECT, E.RX_DM_F1): ((A.DOWN, A.SABM), S.SETUP),
    (S.FRAME_REJECT, E.RX_DM_F0): ((A.DOWN, A.SABM), S.SETUP),
    (S.FRAME_REJECT, E.RX_FRMR): ((A.RESET, A.SABM), S.SETUP),
    (S.FRAME_REJECT, E.RX_POLL): ((A.FRMR_POLLED,), S.FRAME_REJECT),
    (S.FRAME_REJECT, E.TIMEOUT): ((A.FRMR_AGAIN,), S.FRAME_REJECT),
    (S.FRAME_REJECT, E.TIMEOUT_N2): ((A.N2, A.RESET, A.SABM), S.SETUP),

    (S.DISCONNECTING, E.START): ((A.SABM,), S.SETUP),
    (S.DISCONNECTING, E.STOP): ((), S.DISCONNECTING),
    (S.DISCONNECTING, E.RX_SABM): ((A.DM,), S.DISCONNECTING),
    (S.DISCONNECTING, E.RX_SABM_OTHER): ((A.DM,), S.DISCONNECTING),
    (S.DISCONNECTING, E.RX_DISC): ((A.UA, A.STOP_TIMERS), S.OFF),    # collision: down at once
    (S.DISCONNECTING, E.RX_UA_F1): ((A.STOP_TIMERS,), S.OFF),
    (S.DISCONNECTING, E.RX_DM_F1): ((A.STOP_TIMERS,), S.OFF),
    (S.DISCONNECTING, E.RX_DM_F0): ((A.STOP_TIMERS,), S.OFF),
    (S.DISCONNECTING, E.RX_POLL): ((A.DM,), S.DISCONNECTING),
    (S.DISCONNECTING, E.TIMEOUT): ((A.DISC_AGAIN,), S.DISCONNECTING),
    (S.DISCONNECTING, E.TIMEOUT_N2): ((A.N2, A.STOP_TIMERS), S.OFF),
}
# fmt: on

ADMIN: Final = frozenset((E.START, E.STOP))
