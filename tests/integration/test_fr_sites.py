"""Two (or three) real wand daemons in namespaces, Frame Relay over an emulated T1."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.sites import Site, fr_device, ping, sleep, wait_until, write
from wand import netns as nsutil


def _if(name: str, dlci: int, address: str, peer: str, routes: list[dict]) -> dict:
    return {"dlci": dlci, "name": name, "address": address, "peer": peer, "prefix": 30, "routes": routes}


@pytest.fixture
def back_to_back(netns, tmp_path):
    """siteA (DTE) and siteB (DCE) joined by a T1, DLCI 16, LANs behind each."""
    a_ns, b_ns = netns(), netns()
    sock_a, sock_b = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    cfg_a = write(
        tmp_path / "a" / "wanpipe1.yaml",
        fr_device(
            station="cpe",
            dlcis=[16],
            interfaces=[_if("wp1_fr16", 16, "10.0.0.1", "10.0.0.2", [{"dst": "192.168.2.0/24", "gateway": "10.0.0.2"}])],
            local=sock_a,
            remote=sock_b,
        ),
    )
    cfg_b = write(
        tmp_path / "b" / "wanpipe1.yaml",
        fr_device(
            station="node",
            dlcis=[16],
            interfaces=[_if("wp1_fr16", 16, "10.0.0.2", "10.0.0.1", [{"dst": "192.168.1.0/24", "gateway": "10.0.0.1"}])],
            local=sock_b,
            remote=sock_a,
        ),
    )
    a = Site(a_ns, [cfg_a], tmp_path / "a.log")
    b = Site(b_ns, [cfg_b], tmp_path / "b.log")
    a.add_lan("192.168.1.1/24")
    b.add_lan("192.168.2.1/24")
    a.start()
    b.start()
    try:
        assert a.wait_carrier("wp1_fr16"), a.log_text()
        assert b.wait_carrier("wp1_fr16"), b.log_text()
        yield a, b
    finally:
        for site in (a, b):
            if site.proc and site.proc.poll() is None:
                site.stop()


def test_ping_both_ways_wan_and_lan(back_to_back):
    a, b = back_to_back
    assert ping(a, "10.0.0.2") == (3, 3)
    assert ping(b, "10.0.0.1") == (3, 3)
    # LAN to LAN exercises the configured routes across the PVC
    assert ping(a, "192.168.2.1", src="192.168.1.1") == (3, 3)
    assert ping(b, "192.168.1.1", src="192.168.2.1") == (3, 3)


def test_iperf3_across_paced_t1(back_to_back):
    a, b = back_to_back
    server = nsutil.popen(b.ns, ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sleep(0.5)
        out = a.run(["iperf3", "-c", "10.0.0.2", "-t", "4", "-J"], timeout=60)
        result = json.loads(out.stdout)
    finally:
        server.kill()
        server.wait()
    goodput = result["end"]["sum_received"]["bits_per_second"]
    assert goodput > 0
    # pacing holds: TCP goodput can never exceed the T1's 1.536 Mb/s payload rate
    assert goodput < 1_536_000


def test_standard_tools_see_interfaces_counters_routes(back_to_back):
    a, _ = back_to_back
    assert ping(a, "10.0.0.2", count=5, interval=0.05) == (5, 5)
    stats = a.run(["ip", "-s", "-j", "link", "show", "dev", "wp1_fr16"]).stdout
    link = json.loads(stats)[0]
    assert link["mtu"] == 1500
    assert link["stats64"]["tx"]["packets"] >= 5
    assert link["stats64"]["rx"]["packets"] >= 5
    ifconfig = a.run(["ifconfig", "wp1_fr16"]).stdout
    assert "inet 10.0.0.1" in ifconfig and "destination 10.0.0.2" in ifconfig
    assert "RX packets" in ifconfig
    route = a.run(["route", "-n"]).stdout
    assert any(r.split()[:2] == ["192.168.2.0", "10.0.0.2"] and r.split()[-1] == "wp1_fr16" for r in route.splitlines())


def test_sighup_adds_dlci_while_dlci16_keeps_flowing(back_to_back, tmp_path):
    a, b = back_to_back
    for cfg_path, addr, peer in ((a.configs[0], "10.0.1.1", "10.0.1.2"), (b.configs[0], "10.0.1.2", "10.0.1.1")):
        doc = yaml.safe_load(Path(cfg_path).read_text())
        doc["protocol"]["dlcis"].append({"dlci": 17})
        doc["interfaces"].append(_if("wp1_fr17", 17, addr, peer, []))
        Path(cfg_path).write_text(yaml.safe_dump(doc, sort_keys=False))
    flood = nsutil.popen(
        a.ns, ["ping", "-c", "200", "-i", "0.02", "-W", "1", "10.0.0.2"], stdout=subprocess.PIPE, text=True
    )
    sleep(0.5)
    b.signal(signal.SIGHUP)
    a.signal(signal.SIGHUP)
    assert wait_until(lambda: a.carrier("wp1_fr17") and b.carrier("wp1_fr17")), a.log_text()
    out, _ = flood.communicate(timeout=60)
    assert " 0% packet loss" in out, out
    assert ping(a, "10.0.1.2") == (3, 3)
    assert "DLCI 17 added" in a.log_text()


def test_sigterm_removes_everything(back_to_back):
    a, b = back_to_back
    assert a.stop() == 0
    assert b.stop() == 0
    for site in (a, b):
        assert site.flags("wp1_fr16") is None
        routes = site.routes()
        assert "wp1_fr16" not in routes and "10.0.0." not in routes, routes


def test_bad_config_creates_nothing(netns, tmp_path):
    ns = netns()
    cfg = write(
        tmp_path / "bad.yaml",
        fr_device(station="cpe", dlcis=[5], interfaces=[], local=str(tmp_path / "x"), remote=str(tmp_path / "y")),
    )
    site = Site(ns, [cfg], tmp_path / "bad.log")
    site.start()
    assert site.proc.wait(20) != 0
    assert "bad.yaml:" in site.log_text()
    links = nsutil.ip("-n", ns, "-o", "link").stdout
    assert "wp1" not in links
    assert not (tmp_path / "x").exists()


def test_taken_interface_name_is_refused(netns, tmp_path):
    ns = netns()
    nsutil.ip("-n", ns, "link", "add", "wp1_fr16", "type", "veth", "peer", "name", "wp1p")
    cfg = write(
        tmp_path / "w.yaml",
        fr_device(
            station="cpe",
            dlcis=[16, 17],
            interfaces=[_if("wp1_fr17", 17, "10.0.1.1", "10.0.1.2", []), _if("wp1_fr16", 16, "10.0.0.1", "10.0.0.2", [])],
            local=str(tmp_path / "x"),
            remote=str(tmp_path / "y"),
        ),
    )
    site = Site(ns, [cfg], tmp_path / "w.log")
    site.start()
    assert site.proc.wait(20) != 0
    assert "wp1_fr16" in site.log_text() and "already exist" in site.log_text()
    links = nsutil.ip("-n", ns, "-o", "link").stdout
    assert "wp1_fr17" not in links


def test_garbage_from_the_line_is_dropped_and_daemon_keeps_serving(back_to_back, tmp_path):
    import os
    import socket

    a, b = back_to_back
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    junk = [b"", b"\x00", b"\xff" * 3, os.urandom(40), b"\x04\x01\x03\xcc" + os.urandom(30), os.urandom(3000)]
    for frame in junk * 20:
        s.sendto(frame, str(tmp_path / "a.sock"))
    s.close()
    assert ping(a, "10.0.0.2") == (3, 3)
    assert a.proc.poll() is None
    counters = a.status()["wanpipe1"]["counters"]
    # every junk datagram is accounted for: bad FCS (or too short to have one)
    assert counters["rx_crc_errors"] >= len(junk) * 20 - 20
