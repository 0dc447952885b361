"""The trace management commands (daemon side) and wanpipemon's `tr`/`ti` loop (client side).

The handlers run against a real adapter (two cards back to back on a fake
clock) behind a stand-in for the LineDriver; the client's send_request calls
them directly, as the UDP server will, and its sleeps advance the fake clock.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from firmware_emu.adapter import Direction, StartTrace
from firmware_emu.payload import Proto
from tests.unit.test_trace import PACKET, BackToBack, fr
from wand import pcap
from wand.mgmt import trace_commands
from wand.mgmt.protocol import RC
from wand.mgmt.registry import CLIENT, COMMANDS, MgmtContext, MgmtError


class Lab:
    """A traced line and what wanpipemon's client sees of it."""

    def __init__(self, **kw: Any) -> None:
        self.link = BackToBack(fr("cpe", 16), fr("node", 16), trace=False, **kw)
        self.link.run_until(3)
        loop = SimpleNamespace(time=lambda: self.link.now)
        self.line = SimpleNamespace(
            name="wanpipe1",
            port=self.link.a.port(1),
            adapter=self.link.a,
            loop=loop,
            cfg=SimpleNamespace(port=1),
        )
        self.ctx = MgmtContext(
            daemon=None,  # type: ignore[arg-type]
            line=self.line,  # type: ignore[arg-type]
            channel=None,
            ifname="wp1_fr16",
            host_side=True,
        )
        self.calls: list[str] = []
        self.traffic = 0  # frames each way per poll interval
        self.fail_reads_after: int | None = None

    def send(self, code: str, params: dict[str, Any]) -> Any:
        """What the UDP client does: the daemon's handler, with its refusals, over JSON."""
        self.calls.append(code)
        command = COMMANDS[code]
        if command.writes and not self.ctx.host_side:
            raise MgmtError(f"{code}: refused from the network side")
        reads = self.calls.count("trace_read")
        if code == "trace_read" and self.fail_reads_after is not None and reads > self.fail_reads_after:
            raise MgmtError("wanpipe1: port 1: trace session 1 is not open")
        return json.loads(json.dumps(command.handler(self.ctx, json.loads(json.dumps(params)))))

    def sleep(self, seconds: float) -> None:
        # At least a microsecond: a float clock does not move for the last 1e-17 s to a deadline.
        step = max(seconds, 1e-6) / (self.traffic + 1)
        for _ in range(self.traffic):
            for card in (self.link.a, self.link.b):  # a full tx queue just means less traffic
                card.port(1).submit(16, PACKET, Proto.IPV4, self.link.now)
            self.link.advance(step)
        self.link.advance(step)


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Lab:
    lab = Lab()
    clock = SimpleNamespace(monotonic=lambda: lab.link.now, sleep=lab.sleep, time=time.time)
    monkeypatch.setattr(trace_commands, "time", clock)
    return lab


def _args(**kw: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {
        "interface": "wp1_fr16",
        "pcap": None,
        "count": None,
        "seconds": None,
        "json": False,
    }
    return argparse.Namespace(**{**defaults, **kw})


# -- daemon side ------------------------------------------------------------------


def test_registered_with_the_right_write_flags() -> None:
    assert COMMANDS["trace_start"].writes and COMMANDS["trace_stop"].writes
    assert not COMMANDS["trace_read"].writes
    assert {"tr", "ti"} <= CLIENT.commands.keys()


def test_start_read_stop(lab: Lab) -> None:
    started = lab.send("trace_start", {})
    assert started["firmware"] == "frame_relay" and started["linktype"] == pcap.LINKTYPE_FRELAY
    assert started["device"] == "wanpipe1"
    lab.link.send("a", 16, PACKET)
    lab.link.run_for(1.5)
    before = time.time()
    got = lab.send("trace_read", {"session": started["session"], "cursor": started["cursor"]})
    assert got["dropped"] == 0 and got["pending"] == 0 and got["records"]
    frames = [(d, base64.b64decode(f)) for _, d, f, _length in got["records"]]
    assert (1, b"\x04\x01\x03\xcc" + PACKET) in frames
    assert {d for d, _ in frames} == {0, 1}
    # wall-clock times: the last record is "now" on the fake clock, i.e. about the time of the read
    assert abs(got["records"][-1][0] - before) < 5
    again = lab.send("trace_read", {"session": started["session"], "cursor": got["cursor"]})
    assert again["records"] == []
    assert lab.send("trace_stop", {"session": started["session"]}) == {"tracing": False}
    assert lab.line.port.trace is None


def test_read_says_when_more_is_pending(lab: Lab) -> None:
    started = lab.send("trace_start", {})
    for _ in range(10):
        lab.link.send("a", 16, PACKET)
    lab.link.run_for(1)
    got = lab.send(
        "trace_read", {"session": started["session"], "cursor": started["cursor"], "max_bytes": 300}
    )
    assert got["pending"] > 0
    rest = lab.send("trace_read", {"session": started["session"], "cursor": got["cursor"]})
    assert rest["pending"] == 0 and rest["cursor"] == got["cursor"] + got["pending"]


def test_replies_fit_one_datagram_and_long_frames_travel_cut(lab: Lab) -> None:
    started = lab.send("trace_start", {})
    trace = lab.line.port.trace
    for size in (9000, 9000, 9000, 9000, 9000, 70000):
        trace.append(lab.link.now, Direction.TX, bytes([size % 251]) * size)
    cursor, got = started["cursor"], []
    for _ in range(10):
        reply = lab.send("trace_read", {"session": started["session"], "cursor": cursor})
        assert len(json.dumps(reply)) < trace_commands.REPLY_BUDGET + 1024
        got += reply["records"]
        cursor = reply["cursor"]
        if not reply["pending"]:
            break
    assert [length for *_, length in got] == [9000] * 5 + [70000]
    assert len(base64.b64decode(got[-1][2])) == trace_commands.SNAP


def test_the_network_side_reads_no_trace(lab: Lab) -> None:
    started = lab.send("trace_start", {})
    lab.ctx.host_side = False
    with pytest.raises(MgmtError, match="host side") as refused:
        lab.send("trace_read", {"session": started["session"], "cursor": 0})
    assert refused.value.code == RC.READ_ONLY


def test_refusals(lab: Lab) -> None:
    with pytest.raises(MgmtError, match="session"):
        lab.send("trace_read", {"session": 42, "cursor": 0})
    with pytest.raises(MgmtError, match="integer"):
        lab.send("trace_read", {"session": "1", "cursor": 0})
    with pytest.raises(MgmtError, match="capacity"):
        lab.send("trace_start", {"capacity": 1})
    lab.ctx.host_side = False
    with pytest.raises(MgmtError, match="network side"):
        lab.send("trace_start", {})
    lab.ctx.host_side = True
    lab.line.port = None
    with pytest.raises(MgmtError, match="not running"):
        lab.send("trace_start", {})


# -- client side -------------------------------------------------------------------


def test_ti_prints_count_interpreted_frames_and_stops(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    assert CLIENT.commands["ti"](lab.send, _args(count=5)) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 5
    assert all(" LMI STATUS" in line for line in lines)
    assert " OUT LMI STATUS ENQUIRY" in lines[0] and " IN  LMI STATUS " in lines[1]
    assert "5 frame(s) traced, 0 dropped" in err
    assert lab.calls[0] == "trace_start" and lab.calls[-1] == "trace_stop"
    assert lab.line.port.trace is None


def test_tr_prints_hex_for_some_seconds(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    start = lab.link.now
    assert CLIENT.commands["tr"](lab.send, _args(seconds=2.5)) == 0
    assert 2.5 <= lab.link.now - start < 3
    out, _ = capsys.readouterr()
    heads = [line for line in out.splitlines() if " len " in line]
    assert len(heads) >= 4  # an enquiry and a status a second
    assert any(line.strip().startswith("0000  00 01 03 08 00 75") for line in out.splitlines())


def test_json_lines(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    assert CLIENT.commands["ti"](lab.send, _args(count=2, json=True)) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["direction"] for r in records] == ["out", "in"]
    assert records[0]["summary"].startswith("LMI STATUS ENQUIRY")


@pytest.mark.parametrize("suffix", ["pcap", "pcapng"])
def test_pcap_file(lab: Lab, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    lab.traffic = 2
    path = tmp_path / f"trace.{suffix}"
    assert CLIENT.commands["tr"](lab.send, _args(pcap=str(path), seconds=1.5)) == 0
    out, err = capsys.readouterr()
    assert out == ""  # like tcpdump -w: the frames go to the file only
    linktype, frames = pcap.read_capture(path.read_bytes())
    assert linktype == pcap.LINKTYPE_FRELAY
    data = [f for f in frames if f.frame == b"\x04\x01\x03\xcc" + PACKET]
    assert len(data) >= 4
    if suffix == "pcapng":
        assert {f.direction for f in data} == {pcap.RX, pcap.TX}
    assert f"{len(frames)} frame(s) traced" in err


def test_pcap_to_stdout(lab: Lab, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert CLIENT.commands["tr"](lab.send, _args(pcap="-", count=3)) == 0
    out, err = capsysbinary.readouterr()
    linktype, frames = pcap.read_capture(out)
    assert linktype == pcap.LINKTYPE_FRELAY and len(frames) == 3
    assert b"3 frame(s) traced" in err


def test_a_slow_reader_is_told_what_it_missed(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    # The ring is shared: a small one started first is the one the client reads.
    keep = lab.link.a.execute(StartTrace(1, capacity=16), lab.link.now)
    assert keep.ok
    lab.traffic = 20
    assert CLIENT.commands["ti"](lab.send, _args(seconds=0.5)) == 0
    out, err = capsys.readouterr()
    missed = [line for line in out.splitlines() if line.startswith("*** ")]
    assert missed and "dropped: the trace ring overflowed" in missed[0]
    dropped = int(err.rsplit(", ", 1)[1].split()[0])
    assert dropped > 0
    assert lab.line.port.trace is not None  # the other session still holds it


def test_the_trace_ends_when_the_session_does(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.fail_reads_after = 2
    assert CLIENT.commands["ti"](lab.send, _args()) == 1
    assert "trace ended" in capsys.readouterr().err


def test_ctrl_c_stops_the_trace(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(trace_commands.time, "sleep", interrupted)
    assert CLIENT.commands["ti"](lab.send, _args()) == 0
    assert lab.calls[-1] == "trace_stop" and lab.line.port.trace is None


def test_ipv4_between_the_sites_in_the_interpreted_trace(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.traffic = 1
    assert CLIENT.commands["ti"](lab.send, _args(seconds=0.3)) == 0
    out = capsys.readouterr().out
    # PACKET is an IPv4 header of zeros: from 0.0.0.0 to 0.0.0.0, protocol 0
    assert " OUT DLCI 16 IPv4 0.0.0.0 > 0.0.0.0 " in out and " IN  DLCI 16 IPv4 " in out
