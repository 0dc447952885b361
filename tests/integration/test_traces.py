"""Live line traces against real daemons: wanpipemon -c tr/ti over the UDP management protocol.

Two sites back to back (site_pair: A is the DTE on DLCI 16, LMI every second).
While A pings B, `wanpipemon -i wp1_fr16 -c tr --pcap F --seconds 3` runs in
A's namespace; the capture must hold LMI and ICMP both ways, and pass the
Wireshark gate (nothing malformed, no expert warning).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.sites import Site, wait_until
from wand import pcap

GATE = "_ws.malformed || _ws.expert.severity >= 0x00800000"
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def mon(run_in, site: Site, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return run_in(site.ns, ["python3", "-m", "wand.wanpipemon", *argv], timeout=timeout)


def wait_mgmt(run_in, site: Site) -> None:
    assert wait_until(lambda: mon(run_in, site, "-i", "wp1_fr16", "-c", "xl").returncode == 0, 10), (
        site.log_text()
    )


def trace_while_pinging(
    run_in, popen_in, site: Site, *argv: str, seconds: float = 3
) -> subprocess.CompletedProcess[str]:
    pinger = popen_in(
        site.ns,
        ["ping", "-c", str(int(seconds * 5) + 10), "-i", "0.2", "10.0.0.2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return mon(run_in, site, "-i", "wp1_fr16", *argv, "--seconds", str(seconds))
    finally:
        pinger.terminate()
        pinger.wait(10)


def tshark(*argv: str) -> str:
    done = subprocess.run(["tshark", *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_tshark
@pytest.mark.parametrize("suffix", ["pcap", "pcapng"])
def test_pcap_of_a_live_line(site_pair, run_in, popen_in, tmp_path: Path, suffix: str) -> None:
    a, _ = site_pair()
    wait_mgmt(run_in, a)
    path = tmp_path / f"a.{suffix}"
    done = trace_while_pinging(run_in, popen_in, a, "-c", "tr", "--pcap", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "0 dropped" in done.stderr, done.stderr
    linktype, frames = pcap.read_capture(path.read_bytes())
    assert linktype == pcap.LINKTYPE_FRELAY and len(frames) >= 10

    assert tshark("-r", str(path), "-Y", GATE) == ""
    rows = [
        line.split("\t")
        for line in tshark(
            "-r", str(path), "-T", "fields", "-e", "frame.protocols", "-e", "ip.src", "-e", "frame.p2p_dir"
        ).splitlines()
    ]
    assert any(p == "fr:q933" for p, *_ in rows)  # ANSI LMI
    icmp = [(src, d) for p, src, d in rows if p.startswith("fr:ip:icmp")]
    assert {src for src, _ in icmp} == {"10.0.0.1", "10.0.0.2"}  # requests out, replies back
    if suffix == "pcapng":
        # and the capture itself says which way each went: 0 sent by A, 1 received
        assert {(src, d) for src, d in icmp} == {("10.0.0.1", "0"), ("10.0.0.2", "1")}
    times = [f.time for f in frames]
    assert times == sorted(times) and times[-1] - times[0] < 10


def test_interpreted_trace(site_pair, run_in, popen_in) -> None:
    a, _ = site_pair()
    wait_mgmt(run_in, a)
    done = trace_while_pinging(run_in, popen_in, a, "-c", "ti", seconds=2.5)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert " OUT LMI STATUS ENQUIRY " in out and " IN  LMI STATUS " in out, out
    assert " OUT DLCI 16 IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request" in out, out
    assert " IN  DLCI 16 IPv4 10.0.0.2 > 10.0.0.1 ICMP echo reply" in out, out
    # the client closed its session on the way out (the daemon logs every state change it serves)
    assert wait_until(lambda: "trace_stop on wp1_fr16" in a.log_text(), 5), a.log_text()


def test_raw_trace_count_and_the_network_side_is_refused(site_pair, run_in) -> None:
    a, b = site_pair()
    wait_mgmt(run_in, a)
    raw = mon(run_in, a, "-i", "wp1_fr16", "-c", "tr", "--count", "4")
    assert raw.returncode == 0, raw.stderr
    heads = [line for line in raw.stdout.splitlines() if " len " in line]
    assert len(heads) == 4 and "4 frame(s) traced" in raw.stderr
    remote = mon(run_in, b, "-i", "10.0.0.1", "-n", "wp1_fr16", "-c", "tr", "--count", "1")
    assert remote.returncode == 1 and "network side" in remote.stderr, remote.stderr
