"""wanpipemon's X.25 commands and their renderers, on the status of real X.25 ports (LAPB and XOT).

Two adapter cards run X.25 back to back on a fake clock (tests.unit.test_trace.BackToBack),
the DTE with an IP SVC to the DCE and an IP PVC on LCN 1; the commands read the
DTE's port through mgmt_fakes.LiveLine, as the daemon reads a LineDriver.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP

from firmware_emu.x25.config import svc_channel
from tests.unit.mgmt_fakes import FakeDaemon, LiveLine, daemon_with, device_config, x25_device_config
from tests.unit.test_trace import BackToBack
from wand import wanpipemon
from wand.mgmt import load_commands, x25_commands
from wand.mgmt import protocol as p
from wand.mgmt.protocol import RC
from wand.mgmt.registry import CLIENT, COMMANDS, MgmtContext, MgmtError
from wand.mgmt.server import MgmtServer

load_commands()
OURS = {code for code, cmd in COMMANDS.items() if cmd.handler.__module__ == x25_commands.__name__}
SHARED = ("xm", "xl", "xru", "xcv", "sc", "dg")
SVC = svc_channel(0)
PVC = 1
PING = bytes(IP(src="10.0.1.1", dst="10.0.1.2") / ICMP(type=8, id=7, seq=1) / (b"x" * 32))
WAN_IFINDEX = 7


class X25Lab:
    """A DTE (card a, traced by nobody) and a DCE back to back; the DTE is the line under test."""

    def __init__(self, tmp_path: Path, *, xot: bool = False, modulo: int = 8) -> None:
        self.xot = xot
        self.cfg = x25_device_config(tmp_path, xot=xot, modulo=modulo, lapb_modulo=modulo)
        peer = x25_device_config(tmp_path, station="dce", xot=xot, modulo=modulo, lapb_modulo=modulo)
        self.link = BackToBack(self.cfg.protocol, peer.protocol, trace=False)
        self.link.advance(2)
        self.line = LiveLine(self.cfg, self.link.a.port(1))
        self.daemon = FakeDaemon([self.cfg])
        self.daemon.lines[self.cfg.name] = self.line  # type: ignore[assignment]

    @property
    def engine(self) -> Any:
        return self.link.a.port(1).engine

    def traffic(self) -> None:
        self.link.send("a", SVC, PING)
        if not self.xot:
            self.link.send("a", PVC, PING)
            self.link.send("b", PVC, PING)
        self.link.advance(1)

    def context(self, ifname: str | None = None) -> MgmtContext:
        """A request naming an interface (its channel), or the device (ifname None)."""
        channel = next((ch for ch in self.line.channels.values() if ch.name == ifname), None)
        return MgmtContext(self.daemon, self.line, channel, ifname or "", True)  # type: ignore[arg-type]


def run(ctx: MgmtContext, code: str, params: dict[str, Any] | None = None) -> Any:
    return COMMANDS[code].handler(ctx, params or {})


def render(code: str, data: Any) -> str:
    return CLIENT.renderers[code](data, argparse.Namespace())


@pytest.fixture
def lab(tmp_path: Path) -> X25Lab:
    lab = X25Lab(tmp_path)
    lab.traffic()
    return lab


@pytest.fixture
def xot(tmp_path: Path) -> X25Lab:
    lab = X25Lab(tmp_path, xot=True)
    lab.traffic()
    return lab


def test_commands_registered_for_x25_with_renderers_help_and_writes() -> None:
    assert {"xh", "sh", "sx", "sl", "fh", "fx", "fl"} <= OURS
    for code in OURS:
        cmd = COMMANDS[code]
        assert cmd.protocols == ("x25",) and cmd.help, code
        assert code in CLIENT.renderers, code
        assert cmd.writes == code.startswith("f"), code
    help_text = wanpipemon.help_text()
    assert "  X.25:" in help_text and "    sl " in help_text and "    fh    *" in help_text


@pytest.mark.parametrize("code", sorted(OURS | set(SHARED)))
def test_every_command_renders_text_and_json(lab: X25Lab, code: str) -> None:
    data = run(lab.context("wp1_x25"), code)
    assert json.loads(json.dumps(data)) is not None  # --json prints exactly this
    text = render(code, data)
    assert "wanpipe1" in text
    assert "None" not in text and "{" not in text  # no raw Python or JSON leaking into the text


def test_xl_and_xm_work_on_an_x25_line(lab: X25Lab) -> None:
    data = run(lab.context("wp1_x25"), "xl")
    assert data["operative"] is True and data["station"] == "dte"
    assert data["state"] == "connected, packet layer r1"
    assert "OPERATIVE" in render("xl", data)
    assert "T1" in render("xm", run(lab.context("wp1_x25"), "xm"))


def test_xl_is_inoperative_until_the_packet_layer_restarts(tmp_path: Path) -> None:
    cfg = x25_device_config(tmp_path)
    peer = x25_device_config(tmp_path, station="dce")
    link = BackToBack(cfg.protocol, peer.protocol, trace=False)  # not started on: no time has passed
    line = LiveLine(cfg, link.a.port(1))
    daemon = FakeDaemon([cfg])
    ctx = MgmtContext(daemon, line, None, "", True)  # type: ignore[arg-type]
    data = run(ctx, "xl")
    assert data["operative"] is False and "INOPERATIVE" in render("xl", data)
    assert run(ctx, "xh")["packet_layer"]["ready"] is False


def test_xh_shows_lapb_sequence_numbers_and_restart_state(lab: X25Lab) -> None:
    data = run(lab.context("wp1_x25"), "xh")
    lapb = lab.engine.lapb.status()
    assert data["link"] == "lapb" and data["operative"] is True
    assert (data["lapb"]["vs"], data["lapb"]["vr"], data["lapb"]["va"]) == (
        lapb["vs"],
        lapb["vr"],
        lapb["va"],
    )
    assert data["lapb"]["vs"] > 0 and data["lapb"]["state"] == "connected"
    assert data["packet_layer"]["restart_state"] == "r1" and data["packet_layer"]["circuits"] == 2
    channels = {row["interface"]: row for row in data["ip_channels"]}
    assert channels["wp1_pvc1"]["lcn"] == PVC and channels["wp1_x25"]["connected"] is True
    text = render("xh", data)
    for needle in ("OPERATIVE", "LAPB, DTE, modulo 8", "R1 (packet level ready)", "Remote busy"):
        assert needle in text, needle
    assert f"V(S) / V(R) / V(A): {lapb['vs']} / {lapb['vr']} / {lapb['va']}" in text


def test_sh_counts_lapb_frames(lab: X25Lab) -> None:
    data = run(lab.context("wp1_x25"), "sh")
    counters = lab.engine.lapb.status()["counters"]
    assert data["counters"] == counters
    assert counters["tx_iframes"] > 0 and counters["tx_sabm"] >= 1
    text = render("sh", data)
    row = next(line for line in text.splitlines() if line.strip().startswith("I frames "))
    assert row.split()[-2:] == [str(counters["rx_iframes"]), str(counters["tx_iframes"])]
    assert "T1 timeouts" in text and "SABM/SABME" in text and "FRMR" in text


def test_sx_counts_packets_and_ip_calls(lab: X25Lab) -> None:
    data = run(lab.context(), "sx")
    assert data["counters"] == lab.engine.plp.status()["counters"]
    assert data["counters"]["calls_out"] == 1 and data["counters"]["restarts"] == 1
    assert data["ip"]["ip_calls_placed"] == 1
    text = render("sx", data)
    assert "Calls placed: 1" in text and "IP calls placed: 1" in text and "Restarts" in text


def test_sl_chooses_the_interface_circuit_an_lcn_or_all(lab: X25Lab) -> None:
    svc_lcn = lab.engine.status()["ip_channels"][SVC]["lcn"]
    assert [c["lcn"] for c in run(lab.context("wp1_x25"), "sl")["circuits"]] == [svc_lcn]
    pvc = run(lab.context("wp1_pvc1"), "sl")["circuits"]
    assert [(c["lcn"], c["interface"], c["state"]) for c in pvc] == [(PVC, "wp1_pvc1", "pvc")]
    assert pvc[0]["counters"]["data_packets_rx"] == 1 and pvc[0]["counters"]["data_packets_tx"] == 1
    assert [c["lcn"] for c in run(lab.context("wp1_x25"), "sl", {"lcn": PVC})["circuits"]] == [PVC]
    assert [c["lcn"] for c in run(lab.context("wp1_x25"), "sl", {"lcn": "1"})["circuits"]] == [PVC]
    every = run(lab.context(), "sl")["circuits"]  # the device named: every circuit
    assert sorted(c["lcn"] for c in every) == sorted([PVC, svc_lcn])
    assert [c["lcn"] for c in run(lab.context("wp1_api"), "sl")["circuits"]] == [c["lcn"] for c in every]
    text = render("sl", {**run(lab.context(), "sl")})
    assert "LCN 1 (wp1_pvc1): PVC, up" in text and f"LCN {svc_lcn} (wp1_x25): SVC, connected" in text
    assert "P4 data transfer" in text and "D1 flow control ready" in text


@pytest.mark.parametrize("bad", [0, 4096, True, "x", -1])
def test_sl_refuses_a_bad_lcn(lab: X25Lab, bad: Any) -> None:
    with pytest.raises(MgmtError) as info:
        run(lab.context(), "sl", {"lcn": bad})
    assert info.value.code == RC.BAD_REQUEST


def test_sl_says_which_lcns_are_in_use(lab: X25Lab) -> None:
    with pytest.raises(MgmtError, match=r"no circuit on LCN 9 \(in use: 1, "):
        run(lab.context(), "sl", {"lcn": 9})


def test_sl_on_an_svc_interface_without_a_call(tmp_path: Path) -> None:
    lab = X25Lab(tmp_path)  # up, but no traffic yet: the SVC is not called
    with pytest.raises(MgmtError, match="wp1_x25 has no call up"):
        run(lab.context("wp1_x25"), "sl")
    data = run(lab.context(), "sl")
    assert [c["lcn"] for c in data["circuits"]] == [PVC]


def test_no_circuits_renders_a_sentence() -> None:
    text = render("sl", {"device": "wanpipe1", "interface": "", "chosen": "every circuit", "circuits": []})
    assert "No circuits in use (every circuit)." in text


# -- flushes ------------------------------------------------------------------------------


def test_fh_flushes_lapb_counters_not_state_nor_the_packet_layer(lab: X25Lab) -> None:
    ctx = lab.context("wp1_x25")
    before = run(ctx, "xh")["lapb"]
    assert run(ctx, "fh")["counters"] == len(lab.engine.lapb.status()["counters"])
    assert all(v == 0 for v in run(ctx, "sh")["counters"].values())
    assert run(ctx, "xh")["lapb"]["vs"] == before["vs"]  # sequence numbers are state
    assert run(ctx, "sx")["counters"]["calls_out"] == 1  # the packet layer's are untouched
    lab.link.send("a", SVC, PING)
    lab.link.advance(1)
    assert run(ctx, "sh")["counters"]["tx_iframes"] == 1  # counting again from the flush
    assert lab.engine.lapb.status()["counters"]["tx_iframes"] > 1  # the firmware's stay monotonic


def test_fx_flushes_packet_layer_and_ip_counters(lab: X25Lab) -> None:
    ctx = lab.context()
    run(ctx, "fx")
    data = run(ctx, "sx")
    assert all(v == 0 for v in data["counters"].values()) and all(v == 0 for v in data["ip"].values())
    assert run(ctx, "sh")["counters"]["tx_iframes"] > 0
    assert run(ctx, "sl", {"lcn": PVC})["circuits"][0]["counters"]["data_packets_rx"] == 1


def test_fl_flushes_one_circuit_or_all(lab: X25Lab) -> None:
    svc_lcn = lab.engine.status()["ip_channels"][SVC]["lcn"]
    run(lab.context(), "fl", {"lcn": PVC})
    assert all(v == 0 for v in run(lab.context(), "sl", {"lcn": PVC})["circuits"][0]["counters"].values())
    assert run(lab.context(), "sl", {"lcn": svc_lcn})["circuits"][0]["counters"]["data_packets_tx"] == 1
    run(lab.context("wp1_x25"), "fl")  # the interface's circuit
    assert run(lab.context(), "sl", {"lcn": svc_lcn})["circuits"][0]["counters"]["data_packets_tx"] == 0
    text = render("fl", run(lab.context(), "fl"))
    assert text == "wanpipe1: logical channel statistics of every circuit flushed (28 counters)"  # 2 x 14


def test_fs_covers_every_x25_counter(lab: X25Lab) -> None:
    ctx = lab.context()
    run(ctx, "fs")
    assert all(v == 0 for v in run(ctx, "sh")["counters"].values())
    assert all(v == 0 for v in run(ctx, "sx")["counters"].values())
    for circuit in run(ctx, "sl")["circuits"]:
        assert all(v == 0 for v in circuit["counters"].values())


# -- XOT: no LAPB -----------------------------------------------------------------------------


def test_xot_line_has_no_lapb(xot: X25Lab) -> None:
    ctx = xot.context("wp1_x25")
    data = run(ctx, "xh")
    assert data["link"] == "xot" and data["lapb"] is None and data["operative"] is True
    assert "XOT (X.25 over TCP" in render("xh", data)
    assert run(ctx, "xl")["state"] == "xot, packet layer r1"
    for code in ("sh", "fh"):
        with pytest.raises(MgmtError, match="XOT"):
            run(ctx, code)
    assert run(ctx, "sx")["counters"]["calls_out"] == 1
    assert len(run(ctx, "sl")["circuits"]) == 1


def test_modulo_128_line(tmp_path: Path) -> None:
    lab = X25Lab(tmp_path, modulo=128)
    lab.traffic()
    data = run(lab.context(), "xh")
    assert data["lapb"]["modulo"] == 128 and data["packet_layer"]["modulo"] == 128
    assert "LAPB, DTE, modulo 128" in render("xh", data)


# -- through the server: protocol checks and the network side's read-only rule -------------------


def _ask(server: MgmtServer, command: str, target: str, ifindex: int) -> tuple[int, Any]:
    data = p.encode(p.Packet(p.KIND_REQUEST, 1, command, target, RC.OK, {}))
    answer = server.handle(data, 9000, ifindex, ("127.0.0.1", 5555))
    assert answer is not None
    reply, _ttl = answer
    header = p.parse_header(reply, kind=p.KIND_REPLY, max_size=p.MAX_DATAGRAM)
    return header.rc, p.payload(reply, header)


def test_server_checks_protocol_and_read_only(tmp_path: Path, lab: X25Lab) -> None:
    fr = device_config(tmp_path, device="wanpipe2", port=2)
    daemon = daemon_with([fr])
    daemon.configs.append(lab.cfg)
    daemon.lines[lab.cfg.name] = lab.line  # type: ignore[assignment]
    server = MgmtServer(daemon)  # type: ignore[arg-type]
    server.wan_ifindexes = lambda: {WAN_IFINDEX}  # type: ignore[method-assign]
    daemon.mgmt = server
    rc, body = _ask(server, "sx", "wp2_fr16", 1)
    assert rc == RC.WRONG_PROTOCOL and "x25" in body["error"]
    rc, body = _ask(server, "sx", "wp1_x25", WAN_IFINDEX)  # reads are fine from the network side
    assert rc == RC.OK and body["data"]["counters"]["calls_out"] == 1
    for code in ("fh", "fx", "fl"):
        rc, _ = _ask(server, code, "wp1_x25", WAN_IFINDEX)
        assert rc == RC.READ_ONLY, code
    rc, body = _ask(server, "fh", "wp1_x25", 1)  # the host side may flush
    assert rc == RC.OK and body["data"]["counters"] > 0


# -- the client: --lcn --------------------------------------------------------------------------


def test_lcn_option_becomes_a_parameter() -> None:
    parser = wanpipemon.build_parser()
    args = parser.parse_args(["-i", "wp1_x25", "-c", "sl", "--lcn", "5"])
    assert wanpipemon._params(args) == {"lcn": 5}
    args = parser.parse_args(["-i", "wp1_x25", "-c", "fl", "-l", "7", "-p", "x=y"])
    assert wanpipemon._params(args) == {"lcn": 7, "x": "y"}
    assert wanpipemon._params(parser.parse_args(["-i", "wp1_x25", "-c", "sl"])) == {}
