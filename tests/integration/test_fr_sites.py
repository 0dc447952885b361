"""Two (or three) real wand daemons in namespaces, Frame Relay over an emulated T1."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.sites import Site, fr_device, interface, ping, sleep, wait_until, write
from wand import netns as nsutil


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
    assert any(
        r.split()[:2] == ["192.168.2.0", "10.0.0.2"] and r.split()[-1] == "wp1_fr16"
        for r in route.splitlines()
    )


def test_sighup_adds_dlci_while_dlci16_keeps_flowing(back_to_back, tmp_path):
    a, b = back_to_back
    for cfg_path, addr, peer in (
        (a.configs[0], "10.0.1.1", "10.0.1.2"),
        (b.configs[0], "10.0.1.2", "10.0.1.1"),
    ):
        doc = yaml.safe_load(Path(cfg_path).read_text())
        doc["protocol"]["dlcis"].append({"dlci": 17})
        doc["interfaces"].append(interface("wp1_fr17", 17, addr, peer, []))
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
        fr_device(
            station="cpe", dlcis=[5], interfaces=[], local=str(tmp_path / "x"), remote=str(tmp_path / "y")
        ),
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
            interfaces=[
                interface("wp1_fr17", 17, "10.0.1.1", "10.0.1.2", []),
                interface("wp1_fr16", 16, "10.0.0.1", "10.0.0.2", []),
            ],
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
    # Replace site B with a stand-in that sends junk down the cable. A's end of the
    # cable re-attaches to whoever is at the far path (its upkeep, about 1 s).
    b.stop()
    far = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    far.bind(str(tmp_path / "b.sock"))

    def attached() -> bool:
        try:
            far.connect(str(tmp_path / "a.sock"))
        except OSError:
            return False
        return True

    assert wait_until(attached, 10)
    junk = [b"", b"\x00", b"\xff" * 3, os.urandom(40), b"\x04\x01\x03\xcc" + os.urandom(30), os.urandom(3000)]
    for frame in junk * 20:
        far.send(frame)
    far.close()
    os.unlink(tmp_path / "b.sock")
    assert a.proc.poll() is None
    counters = a.status()["wanpipe1"]["counters"]
    # every junk datagram is accounted for: bad FCS (or too short to have one)
    assert counters["rx_crc_errors"] >= len(junk) * 20 - 20
    # the real site B comes back, and A picks it up
    b.start()
    assert a.wait_carrier("wp1_fr16", timeout=30), a.log_text()
    assert b.wait_carrier("wp1_fr16", timeout=30), b.log_text()  # a restarted DCE needs one in-sequence poll
    assert ping(a, "10.0.0.2") == (3, 3)


@pytest.mark.parametrize("signalling", ["q933", "cisco", "none"])
def test_each_lmi_variant_carries_traffic(site_pair, signalling):
    a, b = site_pair(signalling=signalling)
    assert ping(a, "192.168.2.1", src="192.168.1.1") == (3, 3)


def test_cisco_encapsulation(site_pair):
    a, b = site_pair(encapsulation="cisco")
    assert ping(a, "10.0.0.2") == (3, 3)


def test_bridge_mode_carries_ethernet_over_tap(site_pair):
    a, b = site_pair(interface_extra={"mode": "bridge"})
    assert "link/ether" in a.run(["ip", "link", "show", "dev", "wp1_fr16"]).stdout
    # ARP has to cross the PVC (RFC 2427 bridged Ethernet) before the ping can
    assert ping(a, "10.0.0.2") == (3, 3)
    assert "10.0.0.2" in a.run(["ip", "neigh", "show", "dev", "wp1_fr16"]).stdout


def test_inverse_arp_learns_the_peer_address(site_pair):
    a, b = site_pair(dlci_extra={"inarp": True})
    assert wait_until(lambda: "DLCI 16: peer address learned: 10.0.0.2" in a.log_text()), a.log_text()
    assert wait_until(lambda: "DLCI 16: peer address learned: 10.0.0.1" in b.log_text()), b.log_text()
