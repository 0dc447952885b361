"""Async PPP between two real daemons over a pty pair, the way it runs on a serial cable.

socat joins two ptys (`pty,raw,echo=0,link=...` twice); each daemon opens
one end as a `type: tty` transport, in its own namespace. The line is a
115200 baud serial port: the port paces 10 bit times per octet, so TCP sees
at most 11,520 octets/s. Killing socat is pulling the cable: both ttys hang
up, LCP's echo keepalive takes the link down (NO-CARRIER), and when socat is
back behind the same paths both ends re-open them and the link returns.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.sites import Site, ping, sleep, wait_until, write
from wand import netns as nsutil

BAUD = 115200
PPP = {
    "type": "ppp",
    "framing": "async",
    "restart": 0.5,
    "echo_interval": 1,
    "echo_failures": 3,
    "holdoff": 1,
}

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat for the pty pair")


class PtyPair:
    """`socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`, started and stopped on demand."""

    def __init__(self, directory: Path) -> None:
        self.a, self.b = directory / "ttyA", directory / "ttyB"
        self.log = directory / "socat.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
                stdout=log,
                stderr=log,
            )
        assert wait_until(lambda: self.a.exists() and self.b.exists(), 10), self.log.read_text()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # socat removes its links on the way out
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def _device(device: Path, address: str, peer: str, auth: dict) -> dict:
    return {
        "device": "wanpipe1",
        # An async port's clock rate is its baud rate. Short queues (and a small MTU) keep
        # the queueing delay of a 11.5 kB/s line near a second, so TCP's handshake stays snappy.
        "line": {"type": "serial", "clock_rate": BAUD, "tx_queue_len": 8},
        "protocol": {**PPP, "auth": auth},
        "interfaces": [{"name": "wp1_ppp", "address": address, "peer": peer, "mtu": 576}],
        "transport": {"type": "tty", "device": str(device), "baud": BAUD},
    }


@pytest.fixture
def async_pair(netns, tmp_path: Path) -> Iterator[Callable[[], tuple[Site, Site, PtyPair]]]:
    """Factory: socat's pty pair plus site A (authenticates with CHAP) and B (requires it), carrier up."""
    ptys = PtyPair(tmp_path)
    sites: list[Site] = []

    def start() -> tuple[Site, Site, PtyPair]:
        ptys.start()
        ends = (
            ("a", ptys.a, "10.0.0.1/30", "10.0.0.2", {"username": "siteA", "password": "wand-lab"}),
            ("b", ptys.b, "10.0.0.2/30", "10.0.0.1", {"require": "chap", "secrets": {"siteA": "wand-lab"}}),
        )
        for name, device, address, peer, auth in ends:
            path = write(tmp_path / name / "wanpipe1.yaml", _device(device, address, peer, auth))
            site = Site(netns(), [path], tmp_path / f"{name}.log")
            site.start()
            sites.append(site)
        for site in sites:
            assert site.wait_carrier("wp1_ppp", timeout=30), site.log_text()
        return sites[0], sites[1], ptys

    yield start
    try:
        for site in sites:
            if site.proc and site.proc.poll() is None:
                site.stop()
    finally:
        ptys.stop()


def _iperf(a: Site, b: Site, dst: str, seconds: int = 3) -> float:
    server = nsutil.popen(b.ns, ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sleep(0.5)
        out = a.run(["iperf3", "-c", dst, "-t", str(seconds), "-J"], timeout=90)
        return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]
    finally:
        server.kill()
        server.wait()


def test_ping_iperf3_and_chap_over_a_pty_pair(async_pair):
    a, b, ptys = async_pair()
    assert ping(a, "10.0.0.2") == (3, 3), a.log_text()
    assert ping(b, "10.0.0.1") == (3, 3), b.log_text()
    status = b.status()["wanpipe1"]
    assert status["protocol"]["framing"] == "async"
    assert status["protocol"]["auth"]["require"] == "chap"
    assert status["protocol"]["auth"]["result"] is not None
    assert "auth chap" in b.log_text()
    assert status["transport"].startswith(f"tty {ptys.b} (/dev/pts/")
    assert "115200 baud" in status["transport"]
    goodput = _iperf(a, b, "10.0.0.2")
    assert 0 < goodput < BAUD  # paced at 10 bits per octet: never above the line rate
    for site in (a, b):
        line = site.status()["wanpipe1"]
        assert line["counters"]["rx_crc_errors"] == 0
        assert line["line"]["async"]["frames"] > 0
        assert site.proc is not None and site.proc.poll() is None


def test_pulling_the_cable_drops_the_carrier_and_reconnecting_restores_it(async_pair):
    a, b, ptys = async_pair()
    ptys.stop()  # both ttys hang up
    for site in (a, b):
        assert site.wait_carrier("wp1_ppp", up=False, timeout=20), site.log_text()
        assert "NO-CARRIER" in (site.flags("wp1_ppp") or "")
        assert site.proc is not None and site.proc.poll() is None, site.log_text()
        assert "far end absent" in site.status()["wanpipe1"]["transport"]
    assert "link down" in a.log_text() and "link down" in b.log_text()
    ptys.start()  # a new pty pair behind the same paths: both ends re-open them
    for site in (a, b):
        assert site.wait_carrier("wp1_ppp", timeout=30), site.log_text()
    assert ping(a, "10.0.0.2") == (3, 3), a.log_text()
    assert "Traceback" not in a.log_text() + b.log_text()
