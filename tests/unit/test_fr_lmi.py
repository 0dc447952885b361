"""The LMI state machines on their own: transition table, polling, sequence numbers, error window."""

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import FrameRelayConfig
from firmware_emu.fr.events import LinkDown, LinkUp, ProtocolErrorSeen, PvcState, PvcStatusChanged
from firmware_emu.fr.lmi import (
    TRANSITIONS,
    DceLink,
    DteLink,
    LinkInput,
    LinkMachine,
    LinkState,
    StaticLink,
    make_link_machine,
    next_seq,
)
from firmware_emu.fr.lmi_codec import (
    LinkIntegrity,
    LmiMessage,
    MessageType,
    PvcStatus,
    ReportType,
    Variant,
    decode,
    encode,
)

FULL, LIV, SINGLE = ReportType.FULL_STATUS, ReportType.LINK_INTEGRITY, ReportType.SINGLE_PVC
ENQ, STATUS = MessageType.STATUS_ENQUIRY, MessageType.STATUS
T391, T392 = 10.0, 15.0


def cfg(station: str = "cpe", signalling: str = "ansi", **kw: object) -> FrameRelayConfig:
    return FrameRelayConfig(station=station, signalling=signalling, **kw)  # type: ignore[arg-type]


def sent(m: LinkMachine, variant: Variant = Variant.ANSI) -> list[LmiMessage]:
    return [decode(variant, f) for f in m.take_frames()]


def events(m: LinkMachine) -> list[object]:
    return list(m.take_events())


# ------------------------------------------------------------------ table


def test_transition_table_is_total_except_misuse() -> None:
    missing = {(s, i) for s in LinkState for i in LinkInput} - TRANSITIONS.keys()
    assert missing == {
        (LinkState.DOWN, LinkInput.START),
        (LinkState.UP, LinkInput.START),
        (LinkState.STOPPED, LinkInput.VERIFIED),
        (LinkState.STOPPED, LinkInput.ERRORS),
    }


def test_start_twice_is_local_error_and_stop_is_idempotent() -> None:
    m = DteLink(cfg())
    m.start(0)
    with pytest.raises(LocalProtocolError):
        m.start(1)
    m.stop(2)
    m.stop(3)
    assert m.state is LinkState.STOPPED and m.get_timer() is None
    m.start(4)  # a stopped port can be started again
    assert m.get_timer() == 4


@pytest.mark.parametrize(("seq", "nxt"), [(0, 1), (1, 2), (254, 255), (255, 1)])
def test_sequence_wraps_to_one_never_zero(seq: int, nxt: int) -> None:
    assert next_seq(seq) == nxt


@pytest.mark.parametrize(
    "bad",
    [
        {"n392": 5, "n393": 4},
        {"n391": 0},
        {"t391": 0},
        {"signalling": "frf"},
        {"station": "switch"},
        {"encapsulation": "ppp"},
    ],
)
def test_bad_config_is_local_error(bad: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        make_link_machine(FrameRelayConfig(**bad))  # type: ignore[arg-type]


def test_factory_picks_the_role() -> None:
    assert isinstance(make_link_machine(cfg("cpe")), DteLink)
    assert isinstance(make_link_machine(cfg("node")), DceLink)
    assert isinstance(make_link_machine(cfg("node", "none")), StaticLink)


# ------------------------------------------------------------------ DTE


class Dte:
    """A DteLink with a hand-driven network side."""

    def __init__(self, **kw: object) -> None:
        self.m = DteLink(cfg(**kw))
        self.net_seq = 0
        self.now = 0.0
        self.last: LmiMessage | None = None
        self.pvcs: tuple[PvcStatus, ...] = ()

    def poll(self) -> LmiMessage:
        """Advance to the next poll and return the enquiry sent."""
        deadline = self.m.get_timer()
        assert deadline is not None
        self.now = deadline
        self.m.handle_timer(self.now)
        (msg,) = sent(self.m)
        assert msg.message_type is ENQ and msg.integrity is not None
        self.last = msg
        return msg

    def answer(
        self,
        report: ReportType | None = None,
        pvcs: tuple[PvcStatus, ...] | None = None,
        ack: int | None = None,
    ) -> None:
        """Reply to the last enquiry; by default as asked, listing the standing PVCs."""
        assert self.last is not None and self.last.integrity is not None
        if pvcs is not None:
            self.pvcs = pvcs
        report = self.last.report_type if report is None else report
        self.net_seq = next_seq(self.net_seq)
        acked = self.last.integrity.send_seq if ack is None else ack
        listed = self.pvcs if report is FULL else ()
        frame = encode(Variant.ANSI, LmiMessage(STATUS, report, LinkIntegrity(self.net_seq, acked), listed))
        self.m.receive(frame, self.now + 0.01)

    def cycle(
        self, report: ReportType | None = None, pvcs: tuple[PvcStatus, ...] | None = None
    ) -> LmiMessage:
        msg = self.poll()
        self.answer(report, pvcs)
        return msg


def test_dte_polls_at_start_then_every_t391() -> None:
    d = Dte()
    d.m.start(100.0)
    assert d.m.get_timer() == 100.0
    assert d.poll().integrity == LinkIntegrity(1, 0)
    assert d.m.get_timer() == 100.0 + T391


def test_dte_full_status_every_n391_polls() -> None:
    d = Dte(n391=6)
    d.m.start(0)
    kinds = [d.cycle().report_type for _ in range(13)]
    assert kinds == [FULL, LIV, LIV, LIV, LIV, LIV, FULL, LIV, LIV, LIV, LIV, LIV, FULL]


def test_dte_up_on_first_valid_full_status_only() -> None:
    d = Dte()
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.poll()
    d.answer(LIV)  # integrity only: no PVC information yet
    assert not d.m.link_up
    d.poll()
    d.answer(FULL, (PvcStatus(16, active=True),), ack=99)  # wrong sequence
    assert not d.m.link_up
    d.poll()
    d.answer(FULL, (PvcStatus(16, active=True),))
    assert d.m.link_up
    evs = events(d.m)
    assert evs.index(LinkUp()) < evs.index(PvcStatusChanged(16, PvcState.ACTIVE, True))
    assert d.m.counters.sequence_errors == 1


def test_dte_sequence_numbers_echo_the_network() -> None:
    d = Dte()
    d.m.start(0)
    d.poll()
    d.answer()
    msg = d.poll()
    assert msg.integrity == LinkIntegrity(2, 1)  # our 2nd, acknowledging the network's 1st
    for _ in range(300):
        d.answer()
        d.poll()
    assert d.last is not None and d.last.integrity is not None
    assert d.last.integrity.send_seq == 302 % 255 and d.last.integrity.recv_seq != 0


def test_dte_rejects_status_with_send_seq_zero() -> None:
    d = Dte()
    d.m.start(0)
    d.poll()
    d.m.receive(encode(Variant.ANSI, LmiMessage(STATUS, FULL, LinkIntegrity(0, 1))), 0.1)
    assert not d.m.link_up and d.m.counters.sequence_errors == 1


def test_dte_down_at_n392_errors_of_n393() -> None:
    d = Dte(n392=3, n393=4)
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.cycle(FULL, (PvcStatus(16, active=True),))
    events(d.m)
    # error, good, error: 2 of the last 3 -> still up.
    d.poll()  # unanswered
    d.poll()  # timeout of the previous poll counted here
    d.answer()
    d.poll()
    d.poll()  # second error
    assert d.m.link_up
    d.answer(ack=0)  # sequence error: the third error within the last four events
    assert not d.m.link_up
    evs = events(d.m)
    assert isinstance(evs[-2], LinkDown) and "3 errors" in evs[-2].reason
    assert evs[-1] == PvcStatusChanged(16, PvcState.ACTIVE, False)  # state kept, unusable
    assert d.m.counters.t391_timeouts == 2 and d.m.counters.link_down_events == 1


def test_dte_errors_spread_out_do_not_take_the_link_down() -> None:
    d = Dte(n392=3, n393=4)
    d.m.start(0)
    d.cycle()
    for _ in range(10):  # one error in every three events, never 3 in 4
        d.poll()
        d.poll()
        d.answer()
        d.cycle()
    assert d.m.link_up and d.m.counters.t391_timeouts == 10


def test_dte_recovers_on_next_full_status_and_polls_full_while_down() -> None:
    d = Dte(n392=2, n393=2)
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.cycle(FULL, (PvcStatus(16, active=True),))
    d.poll()
    d.poll()
    d.poll()  # two timeouts
    assert not d.m.link_up
    assert d.last is not None and d.last.report_type is FULL  # asks for full status while down
    d.answer(FULL, (PvcStatus(16, active=True),))
    assert d.m.link_up and d.m.usable(16)
    assert d.m.status()["errors_in_window"] == 0  # a fresh start


def test_dte_sequence_error_asks_for_full_status_next() -> None:
    d = Dte(n391=6)
    d.m.start(0)
    d.cycle()
    d.cycle()
    d.poll()
    d.answer(LIV, ack=77)
    assert d.poll().report_type is FULL


def test_dte_pvc_states_from_full_status() -> None:
    d = Dte()
    for dlci in (16, 17, 18, 19, 20):
        d.m.add_pvc(dlci, 0)
    d.m.start(0)
    d.cycle(
        FULL,
        (
            PvcStatus(16, new=True, active=True),
            PvcStatus(17, active=True),
            PvcStatus(18, active=False),
            PvcStatus(20, delete=True),
            PvcStatus(99, active=True),  # not configured here
        ),
    )
    got = {dlci: (d.m.pvc(dlci).state, d.m.usable(dlci)) for dlci in (16, 17, 18, 19, 20)}
    assert got == {
        16: (PvcState.NEW, True),
        17: (PvcState.ACTIVE, True),
        18: (PvcState.INACTIVE, False),
        19: (PvcState.DELETED, False),
        20: (PvcState.DELETED, False),
    }
    assert d.m.status()["unconfigured_pvcs"] == [99]
    changed = [e for e in events(d.m) if isinstance(e, PvcStatusChanged)]
    assert {e.dlci for e in changed} == {16, 17, 18}  # 19 and 20 stay deleted: no event
    # A later full status without 17: deleted.
    for _ in range(6):
        d.cycle(pvcs=(PvcStatus(16, active=True), PvcStatus(18, active=False)))
    assert [e for e in events(d.m) if isinstance(e, PvcStatusChanged)] == [
        PvcStatusChanged(16, PvcState.ACTIVE, True),
        PvcStatusChanged(17, PvcState.DELETED, False),
    ]


def test_dte_integrity_reply_does_not_touch_pvcs() -> None:
    d = Dte()
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.cycle(FULL, (PvcStatus(16, active=True),))
    d.cycle(LIV)
    assert d.m.usable(16)


def test_dte_single_pvc_async_status() -> None:
    d = Dte()
    d.m.add_pvc(16, 0)
    d.m.add_pvc(17, 0)
    d.m.start(0)
    d.cycle(FULL, (PvcStatus(16, active=True), PvcStatus(17, active=True)))
    events(d.m)
    d.m.receive(encode(Variant.ANSI, LmiMessage(STATUS, SINGLE, None, (PvcStatus(16),))), 3.0)
    assert events(d.m) == [PvcStatusChanged(16, PvcState.INACTIVE, False)]
    assert d.m.usable(17)


def test_dte_adding_a_pvc_asks_for_full_status_next() -> None:
    d = Dte()
    d.m.start(0)
    d.cycle()
    d.cycle()
    d.m.add_pvc(16, d.now)
    assert d.poll().report_type is FULL


def test_dte_admin_disable_makes_pvc_unusable() -> None:
    d = Dte()
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.cycle(FULL, (PvcStatus(16, active=True),))
    events(d.m)
    d.m.set_admin_active(16, False, 1)
    assert events(d.m) == [PvcStatusChanged(16, PvcState.ACTIVE, False)]


@pytest.mark.parametrize(
    "frame",
    [
        encode(Variant.ANSI, LmiMessage(ENQ, FULL, LinkIntegrity(1, 0))),  # enquiry to a DTE
        encode(Variant.Q933, LmiMessage(STATUS, FULL, LinkIntegrity(1, 1))),  # wrong variant
        b"\x00\x01\x03\x08\x00",
    ],
)
def test_dte_bad_lmi_counted_never_raised(frame: bytes) -> None:
    d = Dte()
    d.m.start(0)
    d.poll()
    d.m.receive(frame, 0.5)
    assert d.m.counters.lmi_errors == 1
    assert [type(e) for e in events(d.m)] == [ProtocolErrorSeen]


def test_dte_unsolicited_status_is_an_lmi_error() -> None:
    d = Dte()
    d.m.start(0)
    d.cycle()
    d.m.receive(encode(Variant.ANSI, LmiMessage(STATUS, FULL, LinkIntegrity(9, 1))), 1.0)
    assert d.m.counters.lmi_errors == 1 and d.m.link_up


def test_lmi_ignored_when_stopped() -> None:
    m = DteLink(cfg())
    m.receive(b"garbage", 0)
    assert m.counters.lmi_errors == 0 and not m.take_frames()


# ------------------------------------------------------------------ DCE


class Dce:
    """A DceLink with a hand-driven user side."""

    def __init__(self, **kw: object) -> None:
        self.m = DceLink(cfg("node", **kw))
        self.tx = 0
        self.rx = 0
        self.now = 0.0

    def enquire(
        self, report: ReportType = LIV, ack: int | None = None, at: float | None = None
    ) -> LmiMessage:
        self.now = self.now + T391 if at is None else at
        self.tx = next_seq(self.tx)
        integrity = LinkIntegrity(self.tx, self.rx if ack is None else ack)
        self.m.receive(encode(Variant.ANSI, LmiMessage(ENQ, report, integrity)), self.now)
        (reply,) = sent(self.m)
        assert reply.message_type is STATUS and reply.integrity is not None
        assert reply.integrity.recv_seq == self.tx
        self.rx = reply.integrity.send_seq
        return reply


def test_dce_up_on_first_in_sequence_enquiry_and_new_bit_lifecycle() -> None:
    d = Dce()
    d.m.add_pvc(16, 0)
    d.m.add_pvc(17, 0)
    d.m.set_admin_active(17, False, 0)
    d.m.start(0)
    assert not d.m.link_up and d.m.get_timer() == T392
    first = d.enquire(FULL)
    assert d.m.link_up
    assert first.report_type is FULL
    assert first.pvcs == (PvcStatus(16, new=True, active=True), PvcStatus(17, new=True, active=False))
    assert d.m.pvc(16).state is PvcState.NEW and d.m.usable(16) and not d.m.usable(17)
    # The DTE acknowledged it: the new bits go, announced in another full status.
    second = d.enquire(LIV)
    assert second.report_type is FULL
    assert second.pvcs == (PvcStatus(16, active=True), PvcStatus(17, active=False))
    assert d.m.pvc(16).state is PvcState.ACTIVE and d.m.pvc(17).state is PvcState.INACTIVE
    assert d.enquire(LIV).report_type is LIV  # nothing more to tell
    assert d.enquire(FULL).report_type is FULL  # unless asked


def test_dce_reports_changes_in_the_next_reply() -> None:
    d = Dce()
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.enquire(FULL)
    d.enquire()
    assert d.enquire().report_type is LIV
    d.m.set_admin_active(16, False, d.now)
    assert d.enquire().pvcs == (PvcStatus(16, active=False),)
    d.m.add_pvc(18, d.now)
    assert d.enquire().pvcs == (PvcStatus(16, active=False), PvcStatus(18, new=True, active=True))
    d.m.remove_pvc(16, d.now)
    reply = d.enquire()
    assert reply.report_type is FULL and [p.dlci for p in reply.pvcs] == [18]


def test_dce_out_of_sequence_enquiry_is_an_error_but_answered() -> None:
    d = Dce(n392=2, n393=3)
    d.m.start(0)
    d.enquire(FULL)
    reply = d.enquire(ack=200)
    assert reply.report_type is not None and d.m.counters.sequence_errors == 1 and d.m.link_up
    d.enquire(ack=201)
    assert not d.m.link_up
    d.enquire()  # in sequence again: up at once
    assert d.m.link_up


def test_dce_t392_supervision() -> None:
    d = Dce(n392=3, n393=4)
    d.m.add_pvc(16, 0)
    d.m.start(0)
    d.enquire(FULL, at=1.0)
    assert d.m.get_timer() == 1.0 + T392
    events(d.m)
    for k in range(3):
        deadline = d.m.get_timer()
        assert deadline is not None
        d.m.handle_timer(deadline - 0.001)  # early: nothing
        assert d.m.counters.t392_timeouts == k
        d.m.handle_timer(deadline)
    assert d.m.counters.t392_timeouts == 3 and not d.m.link_up
    evs = events(d.m)
    assert [type(e) for e in evs] == [ProtocolErrorSeen] * 3 + [LinkDown, PvcStatusChanged]
    # After an outage every PVC is announced as new again.
    assert evs[-1] == PvcStatusChanged(16, PvcState.NEW, False)
    d.now = 100.0
    reply = d.enquire(FULL)
    assert d.m.link_up and reply.pvcs == (PvcStatus(16, new=True, active=True),)


def test_dce_ignores_status_messages() -> None:
    d = Dce()
    d.m.start(0)
    d.m.receive(encode(Variant.ANSI, LmiMessage(STATUS, FULL, LinkIntegrity(1, 1))), 1)
    assert d.m.counters.lmi_errors == 1 and not d.m.take_frames()


def test_dce_cisco_reports_bandwidth() -> None:
    m = DceLink(cfg("node", "cisco"))
    m.add_pvc(16, 0, bandwidth=64000)
    m.add_pvc(17, 0, bandwidth=1 << 30)  # clamped to what 3 octets hold
    m.start(0)
    m.receive(encode(Variant.CISCO, LmiMessage(ENQ, FULL, LinkIntegrity(1, 0))), 1)
    (reply,) = sent(m, Variant.CISCO)
    assert [p.bandwidth for p in reply.pvcs] == [64000, 0xFFFFFF]


# ------------------------------------------------------------------ none


def test_no_signalling_up_at_start() -> None:
    m = StaticLink(cfg("cpe", "none"))
    m.add_pvc(16, 0)
    m.add_pvc(17, 0)
    m.set_admin_active(17, False, 0)
    events(m)
    m.start(0)
    assert m.link_up and m.get_timer() is None
    assert events(m) == [LinkUp(), PvcStatusChanged(16, PvcState.ACTIVE, True)]
    m.stop(1)
    assert events(m) == [LinkDown("stopped"), PvcStatusChanged(16, PvcState.INACTIVE, False)]
