"""Cisco HDLC and PPP lines between two real daemons over a paced T1."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.sites import Site, ping, sleep, wait_until, write
from wand import netns as nsutil


def _device(protocol: dict, interface: dict, local: str, remote: str) -> dict:
    return {
        "device": "wanpipe1",
        "line": {"type": "t1"},
        "protocol": protocol,
        "interfaces": [interface],
        "transport": {"type": "unix", "local": local, "remote": remote},
    }


@pytest.fixture
def pair(netns, tmp_path):
    """Factory: start(protocol_a, iface_a, protocol_b, iface_b) -> (a, b) running daemons."""
    sites: list[Site] = []

    def start(
        proto_a: dict, iface_a: dict, proto_b: dict, iface_b: dict, wait: bool = True
    ) -> tuple[Site, Site]:
        sa, sb = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
        for name, proto, iface, local, remote in (
            ("b", proto_b, iface_b, sb, sa),
            ("a", proto_a, iface_a, sa, sb),
        ):
            path = write(tmp_path / name / "wanpipe1.yaml", _device(proto, iface, local, remote))
            site = Site(netns(), [path], tmp_path / f"{name}.log")
            site.start()
            sites.append(site)
            assert wait_until(lambda p=local: __import__("os").path.exists(p), 10), site.log_text()
        b, a = sites
        if wait:
            for site, iface in ((a, iface_a), (b, iface_b)):
                assert site.wait_carrier(iface["name"]), site.log_text()
        return a, b

    yield start
    for site in sites:
        if site.proc and site.proc.poll() is None:
            site.stop()


CHDLC = {"type": "chdlc", "keepalive": 0.5, "error_margin": 3}
PPP = {"type": "ppp", "restart": 0.5, "echo_interval": 1, "echo_failures": 3, "holdoff": 1}


def _iface(name: str, address: str, peer: str | None = None) -> dict:
    iface = {"name": name, "address": address}
    if peer:
        iface["peer"] = peer
    return iface


def _iperf(a: Site, b: Site, dst: str) -> float:
    server = nsutil.popen(b.ns, ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sleep(0.5)
        out = a.run(["iperf3", "-c", dst, "-t", "3", "-J"], timeout=60)
        return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("protocol", ["chdlc", "ppp"])
def test_ping_and_iperf3(pair, protocol):
    proto = CHDLC if protocol == "chdlc" else PPP
    name = f"wp1_{protocol}"
    a, b = pair(
        proto, _iface(name, "10.0.0.1/30", "10.0.0.2"), proto, _iface(name, "10.0.0.2/30", "10.0.0.1")
    )
    assert ping(a, "10.0.0.2") == (3, 3)
    assert ping(b, "10.0.0.1") == (3, 3)
    goodput = _iperf(a, b, "10.0.0.2")
    assert 0 < goodput < 1_536_000  # paced: never above the T1's payload rate


def test_chdlc_slarp_learns_the_address(pair):
    a, b = pair(
        CHDLC,
        _iface("wp1_chdlc", "10.0.0.1/30", "10.0.0.2"),
        CHDLC,
        {"name": "wp1_chdlc", "address": "slarp"},
    )
    assert wait_until(lambda: "10.0.0.2/30" in b.run(["ip", "-o", "addr", "show", "dev", "wp1_chdlc"]).stdout)
    assert ping(b, "10.0.0.1") == (3, 3)


def test_chdlc_keepalive_loss_takes_the_line_down(pair):
    a, b = pair(
        CHDLC,
        _iface("wp1_chdlc", "10.0.0.1/30", "10.0.0.2"),
        CHDLC,
        _iface("wp1_chdlc", "10.0.0.2/30", "10.0.0.1"),
    )
    b.stop()
    assert a.wait_carrier("wp1_chdlc", up=False), a.log_text()
    assert "link down" in a.log_text()


def test_ppp_ipcp_assigns_the_address_and_chap_succeeds(pair):
    auth = {"require": "chap", "secrets": {"siteA": "wand-lab"}}
    a, b = pair(
        {**PPP, "auth": {"username": "siteA", "password": "wand-lab"}},
        {"name": "wp1_ppp", "address": "ipcp"},
        {**PPP, "auth": auth},
        _iface("wp1_ppp", "10.0.0.2/30", "10.0.0.1"),
    )
    assert wait_until(lambda: "10.0.0.1" in a.run(["ip", "-o", "addr", "show", "dev", "wp1_ppp"]).stdout)
    assert ping(a, "10.0.0.2") == (3, 3)
    status = b.status()["wanpipe1"]["protocol"]
    assert status["auth"]["require"] == "chap" and status["ipcp"]["state"] == "Opened"
    assert "negotiated: LCP Opened" in b.log_text() and "auth chap" in b.log_text()


def test_ppp_auth_failure_closes_the_link_with_a_logged_reason(pair):
    a, b = pair(
        {**PPP, "auth": {"username": "siteA", "password": "wrong"}},
        _iface("wp1_ppp", "10.0.0.1/30", "10.0.0.2"),
        {**PPP, "auth": {"require": "pap", "secrets": {"siteA": "right"}}},
        _iface("wp1_ppp", "10.0.0.2/30", "10.0.0.1"),
        wait=False,
    )
    assert wait_until(lambda: "auth failed" in b.log_text(), 20), b.log_text()
    assert not a.carrier("wp1_ppp") and not b.carrier("wp1_ppp")
    assert a.proc.poll() is None and b.proc.poll() is None
