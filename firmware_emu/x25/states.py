"""The X.25 packet layer state machine: restart, call set-up and clearing, reset (X.25 Annexes B to D).

Theory of operation
-------------------
X.25 names the states of the DTE/DCE interface, not of one end: "p2 DTE
waiting" is the same state whether we are that DTE or its DCE. So TABLE is
keyed by (state, who sends, packet kind), the sender being the DTE or the
DCE, and one table serves both roles: a packet we send is an event from our
role, a packet we receive an event from the other. The packet type codes are
the same either way (a call request is an incoming call going the other way).

Three machines, in order of priority (Annex B.2):

* restart, for the whole interface: r1 packet layer ready, r2 DTE restart
  request, r3 DCE restart indication. Only restart packets on LCN 0 drive
  it; in r2 and r3 every other packet is discarded.
* call set-up and clearing, per virtual call, in r1: p1 ready, p2 DTE
  waiting (call request sent), p3 DCE waiting (incoming call sent), p4 data
  transfer, p5 call collision, p6 DTE clear request, p7 DCE clear indication.
* reset, per circuit in p4 (and per PVC, which lives in p4): d1 flow control
  ready, d2 DTE reset request, d3 DCE reset indication. In d1, data, flow
  control and interrupt packets go to the circuit (circuit.py).

A cell is (action, next state, diagnostic):

    NORMAL    take the packet, go to the next state
    CONFIRM   the same, and the end that receives it answers at once with
              the confirmation (restart, clear, reset), which is itself the
              cell of that confirmation: r2/r3, p6/p7 and d2/d3 are waiting
              states for the end that sent the request only
    DISCARD   ignore the packet (counted)
    ERROR     the packet is invalid in this state: the receiver restarts (r
              states), clears (p states) or resets (d states) with the
              diagnostic, "packet type invalid for state x" (Annex C, E)

A packet from the peer whose cell is ERROR gets that response; one we would
send there is a misuse of the API (LocalProtocolError in the layer). The
cells follow the DCE's tables of Annex C (the DTE's mirror image, ISO 8208,
is the same table read with the roles swapped), including the collisions:

* restart collision: a DTE in r2 receiving a restart indication, or a DCE in
  r3 receiving a restart request, is in r1: no confirmation either way;
* call collision: a DTE in p2 receiving an incoming call on the same LCN,
  or a DCE in p3 receiving a call request, is in p5; the DCE then serves
  the DTE's call and drops its own (X.25 call collision), so only the DCE may answer
  (call connected or clear) in p5;
* clear and reset collisions, like the restart one: p6 + clear indication,
  p7 + clear request, d2 + reset indication, d3 + reset request are done.

Timers are not events of the table (see layer.py): each waiting state has the
timer of the end that sent the request (DTE T20-T23, DCE T10-T13).
"""

from __future__ import annotations

import enum
from typing import Final, NamedTuple

from firmware_emu.x25.causes import Diagnostic


class State(enum.Enum):
    R1 = "r1"
    R2 = "r2"
    R3 = "r3"
    P1 = "p1"
    P2 = "p2"
    P3 = "p3"
    P4 = "p4"
    P5 = "p5"
    P6 = "p6"
    P7 = "p7"
    D1 = "d1"
    D2 = "d2"
    D3 = "d3"


class Sender(enum.Enum):
    DTE = "dte"
    DCE = "dce"

    @property
    def other(self) -> Sender:
        return Sender.DCE if self is Sender.DTE else Sender.DTE


class Kind(enum.Enum):
    """Packet kinds as the state machines see them."""

    RESTART = "restart"
    RESTART_CONF = "restart confirmation"
    CALL = "call"
    CALL_ACC = "call accepted"
    CLEAR = "clear"
    CLEAR_CONF = "clear confirmation"
    RESET = "reset"
    RESET_CONF = "reset confirmation"
    OTHER = "data, flow control or interrupt"


class Act(enum.Enum):
    NORMAL = "normal"
    CONFIRM = "confirm"
    DISCARD = "discard"
    ERROR = "error"


class Cell(NamedTuple):
    act: Act
    next: State
    diagnostic: int = 0


R_STATES: Final = (State.R1, State.R2, State.R3)
P_STATES: Final = (State.P1, State.P2, State.P3, State.P4, State.P5, State.P6, State.P7)
D_STATES: Final = (State.D1, State.D2, State.D3)
RESTART_KINDS: Final = (Kind.RESTART, Kind.RESTART_CONF)
CALL_KINDS: Final = (Kind.CALL, Kind.CALL_ACC, Kind.CLEAR, Kind.CLEAR_CONF)
RESET_KINDS: Final = (Kind.RESET, Kind.RESET_CONF, Kind.OTHER)
CIRCUIT_KINDS: Final = CALL_KINDS + RESET_KINDS

# "Packet type invalid for state x" (Annex E).
INVALID: Final[dict[State, int]] = {
    s: Diagnostic.INVALID_R1 + i for i, s in enumerate(R_STATES + P_STATES + D_STATES)
}

S, K, A = State, Kind, Act
DTE, DCE = Sender.DTE, Sender.DCE
_N, _C, _D = Act.NORMAL, Act.CONFIRM, Act.DISCARD

# The cells of the standard that are not ERROR. Every (state, sender, kind) of a
# machine that is missing here is ERROR with INVALID[state].
# fmt: off
_VALID: Final[dict[tuple[State, Sender, Kind], tuple[Act, State]]] = {
    # -- restart (X.25 Annex C) ------------------------------------------------------
    (S.R1, DTE, K.RESTART): (_C, S.R2),
    (S.R1, DCE, K.RESTART): (_C, S.R3),
    (S.R2, DTE, K.RESTART): (_D, S.R2),
    (S.R2, DCE, K.RESTART): (_N, S.R1),        # restart collision
    (S.R2, DCE, K.RESTART_CONF): (_N, S.R1),
    (S.R3, DTE, K.RESTART): (_N, S.R1),        # restart collision
    (S.R3, DTE, K.RESTART_CONF): (_N, S.R1),
    (S.R3, DCE, K.RESTART): (_D, S.R3),

    # -- call set-up and clearing (Annex C) ---------------------------------------
    (S.P1, DTE, K.CALL): (_N, S.P2),
    (S.P1, DCE, K.CALL): (_N, S.P3),
    (S.P1, DTE, K.CLEAR): (_C, S.P6),
    (S.P1, DCE, K.CLEAR): (_C, S.P7),

    (S.P2, DCE, K.CALL): (_N, S.P5),           # call collision
    (S.P2, DCE, K.CALL_ACC): (_N, S.P4),
    (S.P2, DTE, K.CLEAR): (_C, S.P6),
    (S.P2, DCE, K.CLEAR): (_C, S.P7),

    (S.P3, DTE, K.CALL): (_N, S.P5),           # call collision
    (S.P3, DTE, K.CALL_ACC): (_N, S.P4),
    (S.P3, DTE, K.CLEAR): (_C, S.P6),
    (S.P3, DCE, K.CLEAR): (_C, S.P7),

    (S.P4, DTE, K.CLEAR): (_C, S.P6),
    (S.P4, DCE, K.CLEAR): (_C, S.P7),
    **{(S.P4, who, k): (_N, S.P4) for who in Sender for k in RESET_KINDS},  # to the reset machine

    (S.P5, DCE, K.CALL_ACC): (_N, S.P4),       # the DCE serves the DTE's call
    (S.P5, DTE, K.CLEAR): (_C, S.P6),
    (S.P5, DCE, K.CLEAR): (_C, S.P7),

    (S.P6, DCE, K.CLEAR_CONF): (_N, S.P1),
    (S.P6, DCE, K.CLEAR): (_N, S.P1),          # clear collision
    **{(S.P6, who, k): (_D, S.P6) for who in Sender for k in (K.CALL, K.CALL_ACC, *RESET_KINDS)},
    (S.P6, DTE, K.CLEAR): (_D, S.P6),

    (S.P7, DTE, K.CLEAR_CONF): (_N, S.P1),
    (S.P7, DTE, K.CLEAR): (_N, S.P1),          # clear collision
    **{(S.P7, who, k): (_D, S.P7) for who in Sender for k in (K.CALL, K.CALL_ACC, *RESET_KINDS)},
    (S.P7, DCE, K.CLEAR): (_D, S.P7),

    # -- reset (Annex C) ---------------------------------------------------------------
    (S.D1, DTE, K.RESET): (_C, S.D2),
    (S.D1, DCE, K.RESET): (_C, S.D3),
    (S.D1, DTE, K.OTHER): (_N, S.D1),          # to the circuit
    (S.D1, DCE, K.OTHER): (_N, S.D1),

    (S.D2, DCE, K.RESET_CONF): (_N, S.D1),
    (S.D2, DCE, K.RESET): (_N, S.D1),          # reset collision
    (S.D2, DTE, K.RESET): (_D, S.D2),
    (S.D2, DCE, K.OTHER): (_D, S.D2),

    (S.D3, DTE, K.RESET_CONF): (_N, S.D1),
    (S.D3, DTE, K.RESET): (_N, S.D1),          # reset collision
    (S.D3, DCE, K.RESET): (_D, S.D3),
    (S.D3, DTE, K.OTHER): (_D, S.D3),
}
# fmt: on


def _build() -> dict[tuple[State, Sender, Kind], Cell]:
    table: dict[tuple[State, Sender, Kind], Cell] = {}
    for states, kinds in ((R_STATES, RESTART_KINDS), (P_STATES, CIRCUIT_KINDS), (D_STATES, RESET_KINDS)):
        for state in states:
            for who in Sender:
                for kind in kinds:
                    act, nxt = _VALID.get((state, who, kind), (Act.ERROR, state))
                    table[state, who, kind] = Cell(act, nxt, INVALID[state] if act is Act.ERROR else 0)
    return table


TABLE: Final[dict[tuple[State, Sender, Kind], Cell]] = _build()


def cell(state: State, sender: Sender, kind: Kind) -> Cell:
    """The table's cell. KeyError for a kind that is not this state's machine's."""
    return TABLE[state, sender, kind]
