"""The adapter card through its mailbox: two cards wired back to back on a fake clock."""

from __future__ import annotations

from firmware_emu.adapter import (
    Adapter,
    AddChannel,
    ConfigurePort,
    ReadStatus,
    RemoveChannel,
    StartPort,
    StopPort,
)
from firmware_emu.fr.config import DlciConfig, FrameRelayConfig
from firmware_emu.fr.engine import Proto
from firmware_emu.fr.events import PvcStatusChanged
from firmware_emu.phy.config import LineConfig

T1 = LineConfig(kind="t1")


def _fr(station: str, *dlcis: int) -> FrameRelayConfig:
    return FrameRelayConfig(
        station=station, t391=1, t392=2, n391=2, dlcis=tuple(DlciConfig(d) for d in dlcis)
    )


class Wire:
    """Two adapter ports joined by an ideal cable; a fake clock drives everything."""

    def __init__(self, line: LineConfig = T1) -> None:
        self.now = 0.0
        self.a, self.b = Adapter("a"), Adapter("b")
        for card, station in ((self.a, "cpe"), (self.b, "node")):
            assert card.execute(ConfigurePort(1, line, _fr(station, 16)), self.now).ok
            assert card.execute(StartPort(1), self.now).ok
        self.arrivals: list[tuple[float, str, bytes]] = []

    def step(self) -> float | None:
        """Advance to the earliest deadline and move finished frames across the wire."""
        deadlines = [d for d in (self.a.deadline(), self.b.deadline()) if d is not None]
        if not deadlines:
            return None
        self.now = max(self.now, min(deadlines))
        for card in (self.a, self.b):  # ports other than 1 have no cable: their frames go nowhere
            for number, port in card.ports.items():
                if number != 1:
                    port.handle_timer(self.now)
                    port.line_output(self.now)
        for src, dst, name in ((self.a, self.b, "b"), (self.b, self.a, "a")):
            port = src.port(1)
            port.handle_timer(self.now)
            for frame in port.line_output(self.now):
                self.arrivals.append((self.now, name, frame))
                dst.port(1).line_input(frame, self.now)
        return self.now

    def run_until(self, t: float) -> None:
        while self.now < t:
            if self.step() is None:
                break

    def events(self, card: Adapter) -> list:
        port = card.port(1)
        out = list(port.events)
        port.events.clear()
        return out


def test_link_and_pvc_come_up_through_the_mailbox():
    w = Wire()
    w.run_until(3)
    assert any(isinstance(e, PvcStatusChanged) and e.usable for e in w.events(w.a))
    status = w.a.execute(ReadStatus(1), w.now)
    assert status.ok and status.data["running"] and status.data["firmware"] == "frame_relay"


def test_data_is_paced_at_t1_rate():
    w = Wire()
    w.run_until(3)
    port = w.a.port(1)
    packet = bytes([0x45]) + bytes(1499)
    queued_lmi = len(port.transmitter)  # a poll may be on the line right now
    sent = 0
    while port.submit(16, packet, Proto.IPV4, w.now):
        sent += 1
    assert sent == T1.tx_queue_len - queued_lmi  # the bounded tx queue is the flow-control point
    start = w.now
    w.arrivals.clear()
    w.run_until(start + 1.0)
    data = [(t, f) for t, name, f in w.arrivals if name == "b" and len(f) > 1000]
    assert len(data) == sent
    # each 1500-byte packet occupies >= (1 flag + 4 header + 1500 + 2 FCS) * 8 bits at 1.536 Mb/s
    min_gap = (1 + 4 + 1500 + 2) * 8 / 1_536_000
    gaps = [b[0] - a[0] for a, b in zip(data, data[1:], strict=False)]
    assert all(g >= min_gap * 0.999 for g in gaps)
    delivered = list(w.b.port(1).rx)
    assert len(delivered) == sent and delivered[0].payload == packet


def test_full_tx_queue_refuses_instead_of_dropping():
    w = Wire()
    w.run_until(3)
    port = w.a.port(1)
    while port.submit(16, b"\x45" + bytes(99), Proto.IPV4, w.now):
        pass
    assert port.tx_space == 0
    assert port.counters.tx_flow_controlled == 1
    w.step()
    assert port.tx_space > 0


def test_bad_fcs_is_counted_and_dropped():
    w = Wire()
    w.run_until(3)
    port = w.b.port(1)
    before = port.counters.rx_crc_errors
    port.line_input(b"\x04\x01\x03\xcc\x45garbage\x00\x00", w.now)
    port.line_input(b"", w.now)
    assert port.counters.rx_crc_errors == before + 2
    assert not port.rx


def test_channels_and_ports_are_independent():
    w = Wire()
    w.run_until(3)
    assert w.a.execute(AddChannel(1, DlciConfig(17)), w.now).ok
    assert not w.a.execute(AddChannel(1, DlciConfig(17)), w.now).ok  # duplicate: a clear error
    assert w.a.execute(RemoveChannel(1, 17), w.now).ok
    reply = w.a.execute(ConfigurePort(1, T1, _fr("cpe", 16)), w.now)
    assert not reply.ok and "running" in reply.error
    assert not w.a.execute(StartPort(3), w.now).ok
    assert not w.a.execute(ConfigurePort(5, T1, _fr("cpe", 16)), w.now).ok
    assert w.a.execute(ConfigurePort(2, T1, _fr("cpe", 20)), w.now).ok
    assert w.a.execute(StartPort(2), w.now).ok
    assert w.a.execute(StopPort(2), w.now).ok
    assert w.a.port(1).running  # port 1 unaffected by port 2's life


def test_unknown_command_is_an_error_reply():
    reply = Adapter("x").execute(object(), 0.0)
    assert not reply.ok and "unknown mailbox command" in reply.error
