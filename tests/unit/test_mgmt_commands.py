"""Statistics commands and their renderers, on status snapshots taken from real daemons; flush baselines."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from tests.unit.mgmt_fakes import SAMPLES, FakeDaemon, FakeLine, FakePort, daemon_with, device_config
from wand.mgmt import load_commands, stats_commands
from wand.mgmt.registry import CLIENT, COMMANDS, MgmtContext, MgmtError
from wand.mgmt.render import uptime_text

load_commands()
OURS = {code for code, cmd in COMMANDS.items() if cmd.handler.__module__ == stats_commands.__name__}
SAMPLE_PROTOCOL = {
    "frame_relay_cpe": "frame_relay",
    "frame_relay_node": "frame_relay",
    "chdlc": "chdlc",
    "ppp_peer": "ppp",
    "ppp_authenticator": "ppp",
}


def context(tmp_path: Path, sample: str) -> tuple[FakeDaemon, MgmtContext]:
    protocol = SAMPLE_PROTOCOL[sample]
    station = "node" if sample == "frame_relay_node" else "cpe"
    cfg = device_config(tmp_path, protocol=protocol, station=station)
    daemon = daemon_with([cfg])
    line = daemon.lines[cfg.name] = FakeLine(cfg, sample)
    channel = next(iter(line.channels.values()))
    return daemon, MgmtContext(daemon, line, channel, channel.name, True)  # type: ignore[arg-type]


def run(ctx: MgmtContext, code: str, params: dict[str, Any] | None = None) -> Any:
    return COMMANDS[code].handler(ctx, params or {})


def cases() -> list[tuple[str, str]]:
    out = []
    for code in sorted(OURS):
        for sample, protocol in SAMPLE_PROTOCOL.items():
            if not COMMANDS[code].protocols or protocol in COMMANDS[code].protocols:
                out.append((code, sample))
    return out


def test_every_command_has_a_renderer_and_help() -> None:
    assert {"xm", "xl", "xru", "cl", "clr", "sg", "sc", "se", "sd", "fs", "fc", "ss", "xs", "xn"} <= OURS
    for code in OURS:
        assert code in CLIENT.renderers, code
        assert COMMANDS[code].help


@pytest.mark.parametrize(("code", "sample"), cases())
def test_renderer_produces_text(tmp_path: Path, code: str, sample: str) -> None:
    _, ctx = context(tmp_path, sample)
    data = run(ctx, code)
    text = CLIENT.renderers[code](data, argparse.Namespace())
    assert isinstance(text, str) and text.strip()
    assert "wanpipe1" in text
    assert "None" not in text and "{" not in text  # no raw Python or JSON leaking into the text


def test_xm_shows_the_line(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    text = CLIENT.renderers["xm"](run(ctx, "xm"), argparse.Namespace())
    for needle in ("T1", "1536000 bit/s", "ESF", "B8ZS", "DCD: HIGH", "CTS: HIGH"):
        assert needle in text


def test_xl_and_cl(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    assert "OPERATIVE" in CLIENT.renderers["xl"](run(ctx, "xl"), argparse.Namespace())
    rows = run(ctx, "cl")["dlcis"]
    assert [(r["dlci"], r["state"], r["interface"]) for r in rows] == [
        (16, "active", "wp1_fr16"),
        (17, "deleted", None),
    ]
    reported = run(ctx, "clr")["dlcis"]
    assert [(r["dlci"], r.get("configured", True)) for r in reported] == [(16, True), (17, True), (18, False)]


def test_sg_fr_shows_lmi_counters_and_window(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    data = run(ctx, "sg")
    assert (data["enquiries_sent"], data["status_received"], data["ssn"], data["n392"], data["n393"]) == (
        3,
        3,
        3,
        2,
        3,
    )
    assert "GLOBAL STATISTICS: CPE" in CLIENT.renderers["sg"](data, argparse.Namespace())
    _, node = context(tmp_path, "frame_relay_node")
    assert "GLOBAL STATISTICS: NODE" in CLIENT.renderers["sg"](run(node, "sg"), argparse.Namespace())


def test_sd_defaults_to_the_interface_dlci_and_checks_it(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    assert [d["dlci"] for d in run(ctx, "sd")["dlcis"]] == [16]
    assert [d["dlci"] for d in run(ctx, "sd", {"dlci": 17})["dlcis"]] == [17]
    with pytest.raises(MgmtError):
        run(ctx, "sd", {"dlci": 99})
    with pytest.raises(MgmtError):
        run(ctx, "sd", {"dlci": True})
    ctx.channel = None  # a request naming the device: every DLCI
    assert [d["dlci"] for d in run(ctx, "sd")["dlcis"]] == [16, 17]


def test_chdlc_ss(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "chdlc")
    data = run(ctx, "ss")
    assert (data["my_seq"], data["your_seq"], data["keepalive"]["keepalives_sent"]) == (6, 6, 6)


def test_ppp_state_and_negotiation(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "ppp_peer")
    state = run(ctx, "xs")
    assert (state["lcp"], state["ipcp"], state["auth"]["result"]) == ("Opened", "Opened", "succeeded")
    text = CLIENT.renderers["xn"](run(ctx, "xn"), argparse.Namespace())
    assert "MRU" in text and "5bf76e3d" in text


def test_uptime_text() -> None:
    assert uptime_text(59) == "00:00:59"
    assert uptime_text(93784.5) == "1 day(s) 02:03:04"


# -- flushing: baselines on monotonic counters -------------------------------------------


def dlci16(line: FakeLine) -> dict[str, int]:
    return line.sample["protocol"]["dlcis"][0]["counters"]


def test_flush_all_zeroes_counters_but_not_state(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    line = ctx.line
    assert run(ctx, "fs")["counters"] > 40
    sg = run(ctx, "sg")
    assert sg["enquiries_sent"] == 0 and sg["status_received"] == 0
    assert (sg["ssn"], sg["rsn"], sg["n392"]) == (3, 3, 2)  # sequence numbers and config are state
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 0
    dlci16(line)["rx_frames"] += 5  # traffic after the flush counts from zero
    line.sample["protocol"]["lmi"]["enquiries_sent"] += 2
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 5
    assert run(ctx, "sg")["enquiries_sent"] == 2
    # the firmware itself is untouched: the status files keep the monotonic counts
    assert line.status()["protocol"]["dlcis"][0]["counters"]["rx_frames"] == 9


def test_flush_categories_are_independent(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    line = ctx.line
    line.sample["counters"]["rx_crc_errors"] = 4
    line.sample["protocol"]["counters"]["unknown_dlci"] = 3
    run(ctx, "fc")
    assert run(ctx, "sc")["crc_errors"] == 0
    assert run(ctx, "se")["unknown_dlci"] == 3  # fc leaves the error statistics alone
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 4
    run(ctx, "fe")
    assert run(ctx, "se")["unknown_dlci"] == 0
    assert run(ctx, "sg")["enquiries_sent"] == 3  # fe leaves the LMI counters alone
    run(ctx, "fi", {"dlci": 17})
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 4  # only DLCI 17 was flushed
    run(ctx, "fi")  # the interface's DLCI (16)
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 0
    run(ctx, "fd")
    assert all(v == 0 for k, v in run(ctx, "dg")["port"].items() if k != "rx_crc_errors")


def test_a_counter_reset_underneath_drops_its_baseline(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    line = ctx.line
    run(ctx, "fs")
    dlci16(line)["rx_frames"] = 2  # DLCI removed and re-added, or firmware swapped: counting again
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 2
    dlci16(line)["rx_frames"] = 7
    assert run(ctx, "sd")["dlcis"][0]["rx_frames"] == 7


def test_a_restarted_line_has_no_baseline(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    run(ctx, "fs")
    ctx.line.port = FakePort()  # restart: a new port object, fresh counters
    assert run(ctx, "sg")["enquiries_sent"] == 3


def test_flush_ppp_and_chdlc(tmp_path: Path) -> None:
    _, ppp = context(tmp_path, "ppp_peer")
    run(ppp, "fg")
    data = run(ppp, "sg")
    assert data["lcp"]["echo_requests_sent"] == 0 and data["lcp_packets_sent"]["echo_request"] == 0
    assert run(ppp, "so")["counters"]["rx_frames"] == 3  # fg leaves the operational counters
    run(ppp, "fo")
    assert run(ppp, "so")["counters"]["rx_frames"] == 0
    _, chdlc = context(tmp_path, "chdlc")
    run(chdlc, "fg")
    data = run(chdlc, "ss")
    assert data["keepalive"]["keepalives_sent"] == 0 and data["my_seq"] == 6


def test_stopped_port_cannot_be_flushed(tmp_path: Path) -> None:
    _, ctx = context(tmp_path, "frame_relay_cpe")
    ctx.line.port = None
    with pytest.raises(MgmtError):
        run(ctx, "fs")


def test_counter_paths_cover_only_counters() -> None:
    paths = {path for path, _, _ in stats_commands.counter_leaves(SAMPLES["frame_relay_cpe"])}
    assert ("protocol", "lmi", "enquiries_sent") in paths
    assert ("protocol", "dlcis", 16, "counters", "rx_frames") in paths
    assert not any(path[-1] in ("tx_seq", "rx_seq", "n392", "bit_rate", "port", "channel") for path in paths)
    ppp = {path for path, _, _ in stats_commands.counter_leaves(SAMPLES["ppp_peer"])}
    assert ("protocol", "lcp", "restart_count") not in ppp
    assert ("protocol", "auth", "roles", "peer/chap", "sent") in ppp
