"""wanpipemon against real daemons: locally (host side) and across the Frame Relay PVC (network side)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.sites import SHORT_TIMERS, Site, fr_device, interface, ping, wait_until, write

TTL_A = 7  # site A's management.ttl: not the default 64, so the test sees it is applied

# Sends one request and prints the reply's return code and the IP TTL it arrived with
# (IP_RECVTTL), or sends raw bytes and prints nothing. Runs inside a namespace.
PROBE = r"""
import json, socket, sys
from wand.mgmt import protocol as p
host, port, command, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)
s.settimeout(3)
if command == "raw":
    for junk in json.loads(target):
        s.sendto(bytes.fromhex(junk), (host, port))
    sys.exit(0)
s.sendto(p.encode(p.Packet(p.KIND_REQUEST, 4242, command, target)), (host, port))
data, anc, _flags, _src = s.recvmsg(65535, socket.CMSG_SPACE(4))
reply = p.decode(data, kind=p.KIND_REPLY, max_size=p.MAX_DATAGRAM)
ttl = next(int.from_bytes(d[:4], sys.byteorder) for lvl, kind, d in anc if lvl == socket.IPPROTO_IP and kind == socket.IP_TTL)
print(json.dumps({"rc": reply.rc, "ttl": ttl, "id": reply.request_id}))
"""


@pytest.fixture
def fr_pair(netns, tmp_path):
    """Site A (DTE, 10.0.0.1, management ttl 7) and site B (DCE, 10.0.0.2) back to back on DLCI 16."""
    sites: list[Site] = []
    sock_a, sock_b = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    ends = (
        ("b", "node", "10.0.0.2", "10.0.0.1", sock_b, sock_a, {}),
        ("a", "cpe", "10.0.0.1", "10.0.0.2", sock_a, sock_b, {"ttl": TTL_A}),
    )
    for name, station, address, peer, local, remote, management in ends:
        doc = fr_device(
            station=station,
            dlcis=[16],
            interfaces=[interface("wp1_fr16", 16, address, peer)],
            local=local,
            remote=remote,
        )
        if management:
            doc["management"] = management
        site = Site(netns(), [write(tmp_path / name / "wanpipe1.yaml", doc)], tmp_path / f"{name}.log")
        site.start()
        sites.append(site)
        assert wait_until(lambda p=local: os.path.exists(p), 10), site.log_text()
    b, a = sites
    for site in sites:
        assert site.wait_carrier("wp1_fr16"), site.log_text()
    yield a, b
    for site in sites:
        if site.proc and site.proc.poll() is None:
            site.stop()


def mon(run_in, site: Site, *argv: str) -> subprocess.CompletedProcess[str]:
    return run_in(site.ns, ["python3", "-m", "wand.wanpipemon", *argv], timeout=30)


def probe(run_in, site: Site, host: str, command: str, target: str = "") -> dict:
    out = run_in(site.ns, ["python3", "-c", PROBE, host, "9000", command, target], timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def wait_mgmt(run_in, site: Site) -> None:
    """The server binds right after the control socket; give it that moment."""
    assert wait_until(lambda: mon(run_in, site, "-i", "wp1_fr16", "-c", "xl").returncode == 0, 10), (
        site.log_text()
    )


def test_local_commands(fr_pair, run_in) -> None:
    a, _ = fr_pair
    wait_mgmt(run_in, a)
    xl = mon(run_in, a, "-i", "wp1_fr16", "-c", "xl")
    assert xl.returncode == 0 and "Channel status: OPERATIVE" in xl.stdout, xl.stderr
    xm = mon(run_in, a, "-i", "wp1_fr16", "-c", "xm")
    assert xm.returncode == 0 and "T1" in xm.stdout and "1536000" in xm.stdout and "DCD: HIGH" in xm.stdout
    # The carrier comes up with the PVC "new"; the next full status report makes it active.
    assert wait_until(lambda: "Active" in mon(run_in, a, "-i", "wp1_fr16", "-c", "cl").stdout, 10)
    sg = json.loads(mon(run_in, a, "-i", "wp1_fr16", "-c", "sg", "--json").stdout)
    assert sg["role"] == "dte" and sg["enquiries_sent"] > 0 and sg["status_received"] > 0
    sd = json.loads(mon(run_in, a, "-i", "wanpipe1", "-c", "sd", "-d", "16", "--json").stdout)
    assert [d["dlci"] for d in sd["dlcis"]] == [16] and sd["dlcis"][0]["state"] == "active"
    xru = mon(run_in, a, "-i", "wp1_fr16", "-c", "xru")
    assert xru.returncode == 0 and "Router UP Time" in xru.stdout
    wrong = mon(run_in, a, "-i", "wp1_fr16", "-c", "ss")
    assert wrong.returncode == 1 and "chdlc" in wrong.stderr


def test_remote_reads_work_and_writes_are_refused(fr_pair, run_in) -> None:
    a, b = fr_pair
    wait_mgmt(run_in, a)
    xl = mon(run_in, b, "-i", "10.0.0.1", "-u", "9000", "-n", "wp1_fr16", "-c", "xl")
    assert xl.returncode == 0 and "OPERATIVE" in xl.stdout, xl.stderr
    sd = mon(run_in, b, "-i", "10.0.0.1", "-c", "sd", "--json")  # no -n: A's only device
    assert sd.returncode == 0 and json.loads(sd.stdout)["device"] == "wanpipe1"
    flush = mon(run_in, b, "-i", "10.0.0.1", "-n", "wp1_fr16", "-c", "fs")
    assert flush.returncode == 1 and "read-only" in flush.stderr
    assert probe(run_in, b, "10.0.0.1", "fs", "wp1_fr16")["rc"] == 3  # RC.READ_ONLY
    assert wait_until(lambda: "refused fs on wp1_fr16 from 10.0.0.2" in a.log_text(), 5), a.log_text()


def test_reply_ttl_is_the_configured_one(fr_pair, run_in) -> None:
    a, b = fr_pair
    wait_mgmt(run_in, a)
    remote = probe(run_in, b, "10.0.0.1", "xl", "wp1_fr16")
    assert (remote["rc"], remote["ttl"], remote["id"]) == (0, TTL_A, 4242)
    assert probe(run_in, a, "127.0.0.1", "xl", "wp1_fr16")["ttl"] == TTL_A
    assert probe(run_in, b, "127.0.0.1", "xl", "wp1_fr16")["ttl"] == 64  # B keeps the default


def test_flush_from_the_host_side_resets_the_counters(fr_pair, run_in) -> None:
    a, b = fr_pair
    wait_mgmt(run_in, a)
    assert ping(b, "10.0.0.1", count=5) == (5, 5)

    def rx16() -> int:
        out = mon(run_in, a, "-i", "wp1_fr16", "-c", "sd", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["dlcis"][0]["rx_frames"]

    before = rx16()
    assert before >= 5
    flushed_at = time.monotonic()
    flushed = mon(run_in, a, "-i", "wp1_fr16", "-c", "fs")
    assert flushed.returncode == 0 and "flushed" in flushed.stdout, flushed.stderr
    assert rx16() < 5
    lmi = json.loads(mon(run_in, a, "-i", "wp1_fr16", "-c", "sg", "--json").stdout)
    polls_since = (time.monotonic() - flushed_at) / SHORT_TIMERS["t391"] + 1
    assert (
        lmi["enquiries_sent"] <= polls_since and lmi["ssn"] > 0
    )  # counters restart, sequence numbers do not
    # the firmware's counters stay monotonic for everything else (status files, SIGUSR1)
    assert a.status()["wanpipe1"]["protocol"]["dlcis"][0]["counters"]["rx_frames"] >= before


def test_garbage_is_counted_and_the_daemon_keeps_answering(fr_pair, run_in) -> None:
    a, b = fr_pair
    wait_mgmt(run_in, a)
    junk = [b"hello".hex(), os.urandom(64).hex(), b"WANPIPEM".hex(), (b"WANPIPEM\x01\x02" + bytes(60)).hex()]
    probe(run_in, b, "10.0.0.1", "raw", json.dumps(junk))
    probe(run_in, a, "127.0.0.1", "raw", json.dumps(junk))
    assert probe(run_in, a, "127.0.0.1", "nosuch", "wp1_fr16")["rc"] == 2  # RC.UNKNOWN_COMMAND

    def counters() -> dict:
        return a.status()["mgmt"]

    assert wait_until(lambda: counters()["bad_signature"] >= 4, 5), counters()
    stats = counters()
    assert stats["truncated"] >= 2 and stats["bad_kind"] >= 2 and stats["unknown_command"] >= 1
    dg = json.loads(mon(run_in, a, "-i", "wp1_fr16", "-c", "dg", "--json").stdout)
    assert dg["mgmt"]["bad_signature"] >= 4
    assert mon(run_in, b, "-i", "10.0.0.1", "-c", "xl").returncode == 0
    assert a.proc is not None and a.proc.poll() is None


# -- Cisco HDLC and PPP -------------------------------------------------------------------


def _single(protocol: dict, ifname: str, address: str, peer: str, local: str, remote: str) -> dict:
    return {
        "device": "wanpipe1",
        "line": {"type": "t1"},
        "protocol": protocol,
        "interfaces": [{"name": ifname, "address": address, "peer": peer}],
        "transport": {"type": "unix", "local": local, "remote": remote},
    }


@pytest.mark.parametrize(
    ("protocol", "command", "expect"),
    [
        ({"type": "chdlc", "keepalive": 0.5, "error_margin": 3}, "ss", "SLARP keepalive packets"),
        (
            {"type": "ppp", "restart": 0.5, "echo_interval": 1, "echo_failures": 3, "holdoff": 1},
            "xs",
            "Opened",
        ),
    ],
)
def test_chdlc_and_ppp(netns, tmp_path: Path, run_in, protocol: dict, command: str, expect: str) -> None:
    kind = protocol["type"]
    ifname = f"wp1_{kind}"
    sock_a, sock_b = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    sites = []
    try:
        for name, address, peer, local, remote in (
            ("b", "10.0.0.2/30", "10.0.0.1", sock_b, sock_a),
            ("a", "10.0.0.1/30", "10.0.0.2", sock_a, sock_b),
        ):
            doc = _single(protocol, ifname, address, peer, local, remote)
            site = Site(netns(), [write(tmp_path / name / "wanpipe1.yaml", doc)], tmp_path / f"{name}.log")
            site.start()
            sites.append(site)
            assert wait_until(lambda p=local: os.path.exists(p), 10), site.log_text()
        b, a = sites
        for site in sites:  # B's requests to A need B's own carrier (and route) up too
            assert site.wait_carrier(ifname), site.log_text()
        local = mon(run_in, a, "-i", ifname, "-c", command)
        assert local.returncode == 0 and expect in local.stdout, local.stdout + local.stderr
        remote = mon(run_in, b, "-i", "10.0.0.1", "-n", ifname, "-c", "xl", "--json")
        assert remote.returncode == 0 and json.loads(remote.stdout)["operative"] is True, remote.stderr
        refused = mon(run_in, b, "-i", "10.0.0.1", "-c", "fo")
        assert refused.returncode == 1 and "read-only" in refused.stderr
    finally:
        for site in sites:
            if site.proc and site.proc.poll() is None:
                site.stop()
