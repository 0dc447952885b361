"""The RFC 1661 automaton: every cell of the state transition table, then the driver's mechanics.

The table is transcribed here independently, as RFC 1661 section 4.1 prints
it, and parsed; fsm.TABLE must agree with it cell by cell, and driving the
Automaton through each cell must produce exactly the cell's actions.
"""

from __future__ import annotations

import re

import pytest

from firmware_emu.errors import LocalProtocolError, RemoteProtocolError
from firmware_emu.ppp.fsm import TABLE, Automaton, Event, OptionHandler, State, Verdict
from firmware_emu.ppp.packet import Code, Option, Packet, build_options, build_packet, parse_packet

# RFC 1661 section 4.1, State Transition Table, as printed (in two halves).
RFC_1661_TABLE = """
      | State
      |    0         1         2         3         4         5
Events| Initial   Starting  Closed    Stopped   Closing   Stopping
------+-----------------------------------------------------------
 Up   |    2     irc,scr/6     -         -         -         -
 Down |    -         -         0       tls/1       0         1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r
 Close|    0       tlf/0       2         2         4         4
      |
  TO+ |    -         -         -         -       str/4     str/5
  TO- |    -         -         -         -       tlf/2     tlf/3
      |
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5
 RCA  |    -         -       sta/2     sta/3       4         5
 RCN  |    -         -       sta/2     sta/3       4         5
      |
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3
      |
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5
 RXJ+ |    -         -         2         3         4         5
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3
      |
 RXR  |    -         -         2         3         4         5

      | State
      |    6         7         8           9
Events| Req-Sent  Ack-Rcvd  Ack-Sent    Opened
------+-----------------------------------------
 Up   |    -         -         -           -
 Down |    1         1         1         tld/1
 Open |    6         7         8           9r
 Close|irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
      |
  TO+ |  scr/6     scr/6     scr/8         -
  TO- |  tlf/3p    tlf/3p    tlf/3p        -
      |
 RCR+ |  sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |  scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |  irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
      |
 RTR  |  sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    6         6         8       tld,scr/6
      |
 RUC  |  scj/6     scj/7     scj/8       scj/9
 RXJ+ |    6         6         8           9
 RXJ- |  tlf/3     tlf/3     tlf/3   tld,irc,str/5
      |
 RXR  |    6         7         8         ser/9
"""

STATE_NUMBERS = list(State)  # the RFC numbers states 0..9 in this order
assert [s.value for s in STATE_NUMBERS] == [
    "Initial",
    "Starting",
    "Closed",
    "Stopped",
    "Closing",
    "Stopping",
    "Req-Sent",
    "Ack-Rcvd",
    "Ack-Sent",
    "Opened",
]


def parse_rfc_table(text: str) -> dict[tuple[State, Event], tuple[tuple[str, ...], State]]:
    cells: dict[tuple[State, Event], tuple[tuple[str, ...], State]] = {}
    columns: list[int] = []
    for line in text.splitlines():
        if "|" not in line:
            continue
        label, _, rest = line.partition("|")
        label, fields = label.strip(), rest.split()
        if label == "" and fields and fields[0] != "State":
            columns = [int(f) for f in fields]
            continue
        if label in ("", "Events") or label.startswith("---"):
            continue
        event = Event(label)
        assert len(fields) == len(columns), line
        for column, cell in zip(columns, fields, strict=True):
            if cell == "-":
                continue
            m = re.fullmatch(r"(?:([a-z,]+)/)?(\d)[rpx]?", cell)
            assert m, cell
            actions = tuple(m.group(1).split(",")) if m.group(1) else ()
            cells[(STATE_NUMBERS[column], event)] = (actions, STATE_NUMBERS[int(m.group(2))])
    return cells


RFC = parse_rfc_table(RFC_1661_TABLE)
MAX_CONFIGURE, MAX_TERMINATE, RESTART = 10, 2, 3.0


def test_transcription_covers_the_whole_rfc_table() -> None:
    # 16 events x 10 states, minus the cells the RFC marks "-".
    assert len(RFC) == 120
    assert {e for _, e in RFC} == set(Event)


def test_table_is_exactly_the_rfc_table() -> None:
    ours = {key: (tuple(a.value for a in actions), nxt) for key, (actions, nxt) in TABLE.items()}
    assert ours == RFC


class Recorder(OptionHandler):
    """Acks whatever it is asked, logs every callback into a shared log."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def request(self) -> list[Option]:
        return [(1, b"\x05\xdc")]

    def check_request(self, options: list[Option], allow_nak: bool) -> Verdict:
        return Verdict(Code.CONFIGURE_ACK, [])

    def echo_reply(self, packet: Packet) -> bytes | None:
        return b"\0\0\0\0" if packet.code == Code.ECHO_REQUEST else None


def machine(log: list[str] | None = None, handler: OptionHandler | None = None) -> Automaton:
    log = [] if log is None else log
    return Automaton(
        "test",
        handler or Recorder(log),
        lambda data: log.append(f"sent:{Code(data[0]).name}"),
        lambda action, now: log.append(action.value),
        restart=RESTART,
        max_configure=MAX_CONFIGURE,
        max_terminate=MAX_TERMINATE,
        max_failure=5,
    )


# What each action leaves in the log; irc and zrc only show in the restart counter.
OBSERVED = {
    "tlu": "tlu",
    "tld": "tld",
    "tls": "tls",
    "tlf": "tlf",
    "scr": "sent:CONFIGURE_REQUEST",
    "sca": "sent:CONFIGURE_ACK",
    "scn": "sent:CONFIGURE_NAK",
    "str": "sent:TERMINATE_REQUEST",
    "sta": "sent:TERMINATE_ACK",
    "scj": "sent:CODE_REJECT",
    "ser": "sent:ECHO_REPLY",
}

PACKETS = {
    Event.RCR_PLUS: Packet(Code.CONFIGURE_REQUEST, 7, b"", build_packet(1, 7)),
    Event.RCR_MINUS: Packet(
        Code.CONFIGURE_REQUEST, 7, b"\x01\x04\x00\x10", build_packet(1, 7, b"\x01\x04\x00\x10")
    ),
    Event.RCA: Packet(Code.CONFIGURE_ACK, 1, b""),
    Event.RCN: Packet(Code.CONFIGURE_NAK, 1, b""),
    Event.RTR: Packet(Code.TERMINATE_REQUEST, 9, b""),
    Event.RTA: Packet(Code.TERMINATE_ACK, 9, b""),
    Event.RUC: Packet(99, 4, b"zz", build_packet(99, 4, b"zz")),
    Event.RXJ_PLUS: Packet(Code.CODE_REJECT, 2, b"\x0c"),
    Event.RXJ_MINUS: Packet(Code.CODE_REJECT, 2, b"\x01"),
    Event.RXR: Packet(Code.ECHO_REQUEST, 3, b"\x01\x02\x03\x04"),
}


CELLS = [
    pytest.param(s, e, id=f"{e.value}-{s.value}")
    for s, e in sorted(RFC, key=lambda k: (k[1].name, k[0].name))
]


@pytest.mark.parametrize(("state", "event"), CELLS)
def test_every_transition_does_what_the_rfc_says(state: State, event: Event) -> None:
    actions, expected_state = RFC[(state, event)]
    log: list[str] = []
    m = machine(log)
    m.state = state
    m.restart_count = 4
    m.deadline = 50.0 if state in (State.CLOSING, State.STOPPING, *NEGOTIATING) else None
    verdict = Verdict(Code.CONFIGURE_NAK, [(1, b"\x05\xdc")]) if event is Event.RCR_MINUS else None

    taken = m.fire(event, 100.0, PACKETS.get(event), verdict)

    assert tuple(a.value for a in taken) == actions
    assert m.state is expected_state
    assert log == [OBSERVED[a] for a in actions if a in OBSERVED]
    count = 4
    for a in actions:
        if a == "irc":
            count = MAX_TERMINATE if expected_state in (State.CLOSING, State.STOPPING) else MAX_CONFIGURE
        elif a == "zrc":
            count = 0
        elif a in ("scr", "str"):
            count -= 1
    assert m.restart_count == count
    if expected_state not in (State.CLOSING, State.STOPPING, *NEGOTIATING):
        assert m.deadline is None, "the restart timer stops outside the timer states"
    elif {"scr", "str", "zrc"} & set(actions):
        assert m.deadline == 100.0 + RESTART


NEGOTIATING = (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT)


@pytest.mark.parametrize("event", [Event.UP, Event.DOWN, Event.OPEN, Event.CLOSE])
def test_impossible_administrative_events_are_local_errors(event: Event) -> None:
    for state in State:
        if (state, event) in RFC:
            continue
        m = machine()
        m.state = state
        with pytest.raises(LocalProtocolError):
            m.fire(event, 0.0)


def test_impossible_packet_events_are_counted_and_ignored() -> None:
    m = machine()
    assert m.state is State.INITIAL
    assert m.fire(Event.RCR_PLUS, 0.0) == ()
    assert m.fire(Event.TO_PLUS, 0.0) == ()
    assert m.state is State.INITIAL and m.counters.discarded == 2


# ------------------------------------------------------------ the driver


class Peer(OptionHandler):
    """A scriptable option handler: naks or rejects on demand, records what it was told."""

    def __init__(self) -> None:
        self.answer = Code.CONFIGURE_ACK
        self.allow: list[bool] = []
        self.acked: list[list[Option]] = []
        self.naked: list[list[Option]] = []
        self.rejected: list[list[Option]] = []
        self.options: list[Option] = [(1, b"\x05\xdc"), (5, b"\x01\x02\x03\x04")]

    def request(self) -> list[Option]:
        return list(self.options)

    def check_request(self, options: list[Option], allow_nak: bool) -> Verdict:
        self.allow.append(allow_nak)
        if self.answer == Code.CONFIGURE_NAK and not allow_nak:
            return Verdict(Code.CONFIGURE_REJECT, options)
        return Verdict(self.answer, options if self.answer != Code.CONFIGURE_ACK else [])

    def ack_received(self, options: list[Option]) -> None:
        self.acked.append(options)

    def nak_received(self, options: list[Option]) -> None:
        self.naked.append(options)

    def reject_received(self, options: list[Option]) -> None:
        self.rejected.append(options)


def opened_req_sent() -> tuple[Automaton, Peer, list[bytes]]:
    sent: list[bytes] = []
    handler = Peer()
    m = Automaton(
        "t", handler, sent.append, lambda a, n: None, max_configure=10, max_terminate=2, max_failure=3
    )
    m.open(0.0)
    m.up(0.0)
    return m, handler, sent


def test_unanswered_requests_stop_after_max_configure() -> None:
    m, _, sent = opened_req_sent()
    now = 0.0
    while m.deadline is not None:
        now = m.deadline
        m.handle_timer(now)
    assert m.state is State.STOPPED
    assert len(sent) == 10 and {parse_packet(p).code for p in sent} == {Code.CONFIGURE_REQUEST}
    assert now == pytest.approx(30.0)
    # Retransmissions keep the Identifier while nothing was answered (RFC 1661 5.1).
    assert {parse_packet(p).identifier for p in sent} == {1}


def test_terminate_requests_stop_after_max_terminate() -> None:
    m, _, sent = opened_req_sent()
    sent.clear()
    m.close(0.0, "bye")
    while m.deadline is not None:
        m.handle_timer(m.deadline)
    assert m.state is State.CLOSED
    assert [parse_packet(p).code for p in sent] == [Code.TERMINATE_REQUEST] * 2
    assert parse_packet(sent[0]).data == b"bye"


def test_ack_must_answer_the_last_request_once_with_its_options() -> None:
    m, handler, sent = opened_req_sent()
    req = parse_packet(sent[-1])
    with pytest.raises(RemoteProtocolError):
        m.receive(build_packet(Code.CONFIGURE_ACK, req.identifier, b"\x01\x04\x05\xdb"), 0.0)
    m.receive(build_packet(Code.CONFIGURE_ACK, req.identifier + 1, req.data), 0.0)  # stale id
    assert m.state is State.REQ_SENT and m.counters.discarded == 1
    m.receive(build_packet(Code.CONFIGURE_ACK, req.identifier, req.data) + b"padding", 0.0)
    assert m.state is State.ACK_RCVD and len(handler.acked) == 1
    m.receive(build_packet(Code.CONFIGURE_ACK, req.identifier, req.data), 0.0)  # duplicate
    assert m.state is State.ACK_RCVD and m.counters.discarded == 2


def test_reject_must_only_name_options_we_sent() -> None:
    m, handler, sent = opened_req_sent()
    req = parse_packet(sent[-1])
    with pytest.raises(RemoteProtocolError):
        m.receive(build_packet(Code.CONFIGURE_REJECT, req.identifier, build_options([(9, b"")])), 0.0)
    m.receive(
        build_packet(Code.CONFIGURE_REJECT, req.identifier, build_options([(5, b"\x01\x02\x03\x04")])), 0.0
    )
    assert handler.rejected == [[(5, b"\x01\x02\x03\x04")]]
    assert m.state is State.REQ_SENT
    assert parse_packet(sent[-1]).identifier == req.identifier + 1  # a new request, a new Identifier


def test_max_failure_turns_naks_into_rejects() -> None:
    m, handler, sent = opened_req_sent()
    handler.answer = Code.CONFIGURE_NAK
    codes = []
    for ident in range(5):
        m.receive(build_packet(Code.CONFIGURE_REQUEST, ident, build_options([(1, b"\x00\x10")])), 0.0)
        codes.append(parse_packet(sent[-1]).code)
    assert codes == [Code.CONFIGURE_NAK] * 3 + [Code.CONFIGURE_REJECT] * 2
    assert handler.allow == [True, True, True, False, False]


def test_code_reject_classification_and_unknown_codes() -> None:
    m, _, sent = opened_req_sent()
    m.state = State.OPENED
    m.receive(build_packet(Code.CODE_REJECT, 1, build_packet(12, 1, b"id")), 0.0)
    assert m.state is State.OPENED  # RXJ+: we can live without code 12
    unknown = build_packet(42, 5, b"what")
    m.receive(unknown + b"\0\0", 0.0)
    reject = parse_packet(sent[-1])
    assert reject.code == Code.CODE_REJECT and reject.data == unknown  # padding is not part of it
    m.receive(build_packet(Code.CODE_REJECT, 2, build_packet(1, 1)), 0.0)
    assert m.state is State.STOPPING  # RXJ-: tld, irc, str
    with pytest.raises(RemoteProtocolError):
        m.receive(build_packet(Code.CODE_REJECT, 3), 0.0)


@pytest.mark.parametrize("data", [b"", b"\x01\x01\x00", b"\x01\x01\x00\x03", b"\x01\x01\x00\x09abc"])
def test_malformed_headers_are_the_peers_fault(data: bytes) -> None:
    m, _, _ = opened_req_sent()
    with pytest.raises(RemoteProtocolError):
        m.receive(data, 0.0)


def test_fresh_negotiation_resets_wishes_but_renegotiation_does_not() -> None:
    log: list[str] = []
    handler = Recorder(log)
    m = machine(log, handler)
    m.open(0.0)
    m.up(0.0)
    assert handler.resets == 1  # scr from Starting
    m.handle_timer(m.deadline or 0.0)
    assert handler.resets == 1  # TO+ in Req-Sent: still the same negotiation
