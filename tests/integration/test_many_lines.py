"""16 lines in one daemon per site (4 adapters x 4 ports), mixing Frame Relay, Cisco HDLC and PPP.

WANPIPE's design rule: each line is its own device and can be restarted
without disturbing the others. Here a ping flood on wanpipe1 must lose
nothing while wanpipe2 restarts three times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.sites import SHORT_TIMERS, Site, ping, wait_until, write
from wand import netns as nsutil

LINES = 16


def _protocol(n: int, station: str) -> tuple[dict, list[tuple[int, str]]]:
    """Protocol section and (channel, ifname) list for device n."""
    if n <= 6:  # Frame Relay, two PVCs each
        dlcis = [16, 17]
        proto = {
            "type": "frame_relay",
            "station": station,
            "signalling": "ansi",
            **SHORT_TIMERS,
            "dlcis": [{"dlci": d} for d in dlcis],
        }
        return proto, [(d, f"wp{n}_fr{d}") for d in dlcis]
    if n <= 11:
        return {"type": "chdlc", "keepalive": 0.5, "error_margin": 3}, [(0, f"wp{n}_chdlc")]
    return {"type": "ppp", "echo_interval": 1, "restart": 0.5}, [(0, f"wp{n}_ppp")]


def _device(n: int, side: str, tmp: Path) -> dict:
    station = "cpe" if side == "a" else "node"
    proto, channels = _protocol(n, station)
    interfaces = []
    for k, (channel, name) in enumerate(channels):
        mine, theirs = (1, 2) if side == "a" else (2, 1)
        iface = {"name": name, "address": f"10.{n}.{k}.{mine}/30", "peer": f"10.{n}.{k}.{theirs}"}
        if proto["type"] == "frame_relay":
            iface["dlci"] = channel
        interfaces.append(iface)
    other = "b" if side == "a" else "a"
    return {
        "device": f"wanpipe{n}",
        "adapter": {"name": f"card{(n - 1) // 4 + 1}", "port": (n - 1) % 4 + 1},
        "line": {"type": "t1"},
        "protocol": proto,
        "interfaces": interfaces,
        "transport": {
            "type": "unix",
            "local": str(tmp / f"{side}{n}.sock"),
            "remote": str(tmp / f"{other}{n}.sock"),
        },
    }


@pytest.fixture
def sixteen(netns, tmp_path):
    sites = []
    for side in ("b", "a"):
        files = [
            write(tmp_path / side / f"wanpipe{n}.yaml", _device(n, side, tmp_path))
            for n in range(1, LINES + 1)
        ]
        site = Site(netns(), files, tmp_path / f"{side}.log")
        site.start()
        sites.append(site)
        assert wait_until(
            lambda s=side: all((tmp_path / f"{s}{n}.sock").exists() for n in range(1, LINES + 1)), 20
        )
    b, a = sites
    try:
        names = [name for n in range(1, LINES + 1) for _, name in _protocol(n, "cpe")[1]]
        for site in (a, b):
            assert wait_until(lambda s=site: all(s.carrier(i) for i in names), 40), site.log_text()[-3000:]
        yield a, b, names
    finally:
        for site in (a, b):
            if site.proc.poll() is None:
                site.stop()


def _peer(name: str) -> str:
    n = int(name[2:].split("_")[0])
    k = 1 if name.endswith("_fr17") else 0
    return f"10.{n}.{k}.2"


def test_traffic_on_all_sixteen_lines(sixteen):
    a, b, names = sixteen
    assert len({name.split("_")[0] for name in names}) == LINES
    for name in names:
        assert ping(a, _peer(name), count=2, interval=0.1) == (2, 2), name
    listing = _wanrouter(a, "list")
    assert listing.returncode == 0, listing.stderr
    for n in range(1, LINES + 1):
        assert f"wanpipe{n} " in listing.stdout
    version = _wanrouter(a, "version")
    assert version.returncode == 0 and version.stdout.startswith("wand ")
    # the /proc/net/wanrouter-style files, kept current by the daemon
    assert wait_until(lambda: "wanpipe16" in _wanrouter(a, "status").stdout, 5)
    rows = {
        r.split("|")[0].strip(): [c.strip() for c in r.split("|")]
        for r in _wanrouter(a, "status").stdout.splitlines()
    }
    assert rows["wanpipe1"][1] == "FR" and rows["wanpipe7"][1] == "CHDLC" and rows["wanpipe12"][1] == "PPP"
    assert all(rows[f"wanpipe{n}"][-1] == "Connected" for n in range(1, LINES + 1))
    interfaces = (a.state_dir / "wanrouter" / "interfaces").read_text()
    assert "wp1_fr16" in interfaces and "DLCI 16" in interfaces
    counters = _wanrouter(a, "status", "wanpipe1").stdout
    assert "port.tx_packets:" in counters and "protocol.unknown_dlci:" in counters
    detail = json.loads(_wanrouter(a, "--json", "status", "wanpipe12").stdout)["wanpipe12"]
    assert detail["protocol"]["ipcp"]["state"] == "Opened"


def _wanrouter(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return nsutil.run(
        site.ns, [sys.executable, "-m", "wand.wanrouter", "--state-dir", str(site.state_dir), *args]
    )


def test_restarting_one_line_loses_nothing_on_another(sixteen):
    a, b, _ = sixteen
    flood = nsutil.popen(
        a.ns,
        ["ping", "-c", "400", "-i", "0.01", "-W", "1", _peer("wp1_fr16")],
        stdout=subprocess.PIPE,
        text=True,
    )
    for _ in range(3):
        result = _wanrouter(a, "restart", "wanpipe2")
        assert result.returncode == 0, result.stderr
        assert wait_until(lambda: a.carrier("wp2_fr16"), 20), a.log_text()[-2000:]
    out, _ = flood.communicate(timeout=60)
    assert "400 received" in out and " 0% packet loss" in out, out
    assert wait_until(lambda: b.carrier("wp2_fr16"), 20)  # the far DCE: up on the next in-sequence poll
    assert ping(a, _peer("wp2_fr16"), count=2) == (2, 2)


def test_restart_one_channel_keeps_its_sibling(sixteen):
    a, _, _ = sixteen
    flood = nsutil.popen(
        a.ns,
        ["ping", "-c", "200", "-i", "0.01", "-W", "1", _peer("wp3_fr17")],
        stdout=subprocess.PIPE,
        text=True,
    )
    result = _wanrouter(a, "restart", "wanpipe3", "wp3_fr16")
    assert result.returncode == 0, result.stderr
    assert wait_until(lambda: a.carrier("wp3_fr16"), 10)
    out, _ = flood.communicate(timeout=60)
    assert " 0% packet loss" in out, out
    stop = _wanrouter(a, "stop", "wanpipe3", "wp3_fr16")
    assert stop.returncode == 0 and a.flags("wp3_fr16") is None
    assert ping(a, _peer("wp3_fr17"), count=2) == (2, 2)
    assert "wp3_fr16(stopped)" in _wanrouter(a, "list").stdout
    assert _wanrouter(a, "start", "wanpipe3", "wp3_fr16").returncode == 0
    assert wait_until(lambda: a.carrier("wp3_fr16"), 10)


def test_bad_control_commands_get_clear_errors(sixteen):
    a, _, _ = sixteen
    for args, message in (
        (["restart", "wanpipe99"], "no device 'wanpipe99'"),
        (["stop", "wanpipe1", "nosuchif"], "has no interface 'nosuchif'"),
        (["start", "a", "b", "c"], "usage"),
    ):
        result = _wanrouter(a, *args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
    missing = nsutil.run(
        a.ns, [sys.executable, "-m", "wand.wanrouter", "--state-dir", "/nonexistent", "status"]
    )
    assert missing.returncode == 3 and "no wand daemon" in missing.stderr


def test_live_firmware_swap_loses_nothing_on_the_other_lines(sixteen):
    a, b, _ = sixteen
    flood = nsutil.popen(
        a.ns,
        ["ping", "-c", "300", "-i", "0.01", "-W", "1", _peer("wp1_fr16")],
        stdout=subprocess.PIPE,
        text=True,
    )
    for device, firmware, ifname in (
        ("wanpipe2", "frame_relay", "wp2_fr16"),
        ("wanpipe7", "chdlc:1.0", "wp7_chdlc"),
    ):
        result = _wanrouter(a, "reload", device, "--firmware", firmware)
        assert result.returncode == 0, result.stderr
        assert "firmware:" in result.stdout or "firmware" in result.stdout
        assert wait_until(lambda i=ifname: a.carrier(i), 20), a.log_text()[-2000:]
    out, _ = flood.communicate(timeout=60)
    assert "300 received" in out and " 0% packet loss" in out, out
    assert "wanpipe2: firmware frame_relay:1.0 loaded" in a.log_text()
    refused = _wanrouter(a, "reload", "wanpipe2", "--firmware", "ppp")
    assert refused.returncode == 1 and "cannot run" in refused.stderr
