"""The Wireshark gate: traces of every protocol, written as captures, must decode cleanly in tshark.

Two real engines run back to back through adapter ports (sans-I/O, fake
clock) with card A tracing; the records become a pcap and a pcapng, and
tshark must find nothing malformed and no expert warning or error:

    tshark -r F -Y '_ws.malformed || _ws.expert.severity >= 0x00800000'   -> prints nothing

It must also decode the protocols we expect (``frame.protocols``), in the
direction the frames travelled (``frame.p2p_dir``: 0 sent, 1 received).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

from firmware_emu.adapter import Direction, TraceRecord
from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.fr.config import DlciConfig, FrameRelayConfig
from firmware_emu.payload import Proto
from firmware_emu.ppp import PppConfig
from tests.unit.test_trace import SERIAL, BackToBack
from wand import pcap

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None,
    reason="tshark is not installed (apt-get install tshark): the Wireshark decode gate cannot run",
)

BASE = 1_700_000_000.0  # the fake clock starts at 0: put the capture somewhere in 2023
GATE = "_ws.malformed || _ws.expert.severity >= 0x00800000"
PING = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, id=7, seq=1) / (b"x" * 32))
PONG = bytes(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=0, id=7, seq=1) / (b"x" * 32))
PING6 = bytes(IPv6(src="fe80::1", dst="fe80::2") / ICMPv6EchoRequest(id=7, seq=1))
FORMATS = [pytest.param(False, id="pcap"), pytest.param(True, id="pcapng")]


def _tshark(*argv: str) -> str:
    # tshark warns on stderr when run as root; only stdout is the answer.
    done = subprocess.run(["tshark", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _capture(tmp_path: Path, name: str, firmware: str, records: list[TraceRecord], pcapng: bool) -> Path:
    path = tmp_path / f"{name}.{'pcapng' if pcapng else 'pcap'}"
    with open(path, "wb") as f:
        writer = pcap.open_writer(f, firmware, pcapng=pcapng, ifname=name)
        for r in records:
            writer.write(BASE + r.time, r.direction, r.frame)
    return path


def _check(path: Path, records: list[TraceRecord], *, directions: bool) -> list[tuple[str, str]]:
    """Run the gate; return (frame.protocols, frame.p2p_dir) per frame."""
    assert _tshark("-r", str(path), "-Y", GATE) == ""
    rows = [
        tuple(line.split("\t"))
        for line in _tshark("-r", str(path), "-T", "fields", "-e", "frame.protocols", "-e", "frame.p2p_dir")
        .rstrip("\n")
        .split("\n")
    ]
    assert len(rows) == len(records)
    expected = [("0" if r.direction is Direction.TX else "1") if directions else "" for r in records]
    assert [d for _, d in rows] == expected
    return rows  # type: ignore[return-value]


def _has(rows: list[tuple[str, str]], stack: str, direction: str | None = None) -> bool:
    return any(p == stack and (direction is None or d == direction) for p, d in rows)


def _fr(station: str, signalling: str, address: str, encapsulation: str = "ietf") -> FrameRelayConfig:
    return FrameRelayConfig(
        station=station,  # type: ignore[arg-type]
        signalling=signalling,  # type: ignore[arg-type]
        encapsulation=encapsulation,  # type: ignore[arg-type]
        t391=1,
        t392=2,
        n391=2,
        dlcis=(DlciConfig(16, inarp=True, address=address),),
    )


def _traffic(link: BackToBack, channel: int, up_after: float) -> list[TraceRecord]:
    link.run_until(up_after)
    assert link.a.port(1).engine.channel_usable(channel), link.a.port(1).status()
    link.send("a", channel, PING)
    link.send("b", channel, PONG)
    link.run_for(1.5)
    records, dropped = link.read_all()
    assert dropped == 0
    return records


@pytest.mark.parametrize("pcapng", FORMATS)
@pytest.mark.parametrize(
    ("signalling", "lmi"), [("ansi", "fr:q933"), ("q933", "fr:q933"), ("cisco", "fr:lmi")]
)
def test_frame_relay_lmi_inarp_and_data(tmp_path: Path, signalling: str, lmi: str, pcapng: bool) -> None:
    link = BackToBack(_fr("cpe", signalling, "10.0.0.1"), _fr("node", signalling, "10.0.0.2"))
    records = _traffic(link, 16, 3)
    path = _capture(tmp_path, f"fr_{signalling}", "frame_relay", records, pcapng)
    rows = _check(path, records, directions=pcapng)
    # A (the DTE) sends status enquiries and receives the statuses; pings both ways.
    assert _has(rows, lmi) and _has(rows, "fr:arp")
    assert sum(p == "fr:ip:icmp:data" for p, _ in rows) == 2
    if pcapng:
        assert _has(rows, "fr:ip:icmp:data", "0") and _has(rows, "fr:ip:icmp:data", "1")
        assert _has(rows, lmi, "0") and _has(rows, lmi, "1")
    infos = _tshark("-r", str(path), "-T", "fields", "-e", "_ws.col.Info")
    assert "Echo (ping) request" in infos and "Echo (ping) reply" in infos
    assert "STATUS ENQUIRY" in infos.upper()


def test_frame_relay_cisco_encapsulation_data(tmp_path: Path) -> None:
    link = BackToBack(_fr("cpe", "ansi", "10.0.0.1", "cisco"), _fr("node", "ansi", "10.0.0.2", "cisco"))
    records = _traffic(link, 16, 3)
    rows = _check(
        _capture(tmp_path, "fr_cisco_encap", "frame_relay", records, True), records, directions=True
    )
    # Wireshark takes Cisco-encapsulated IP by its ethertype (its InARP it shows as LAPF data).
    assert _has(rows, "fr:ip:icmp:data", "0") and _has(rows, "fr:ip:icmp:data", "1")


@pytest.mark.parametrize("pcapng", FORMATS)
def test_cisco_hdlc_keepalives_slarp_and_data(tmp_path: Path, pcapng: bool) -> None:
    link = BackToBack(
        ChdlcConfig(keepalive=1, address="10.0.0.1"), ChdlcConfig(keepalive=1, learn_address=True)
    )
    records = _traffic(link, 0, 3)
    rows = _check(_capture(tmp_path, "chdlc", "chdlc", records, pcapng), records, directions=pcapng)
    assert _has(rows, "chdlc:slarp") and sum(p == "chdlc:ip:icmp:data" for p, _ in rows) == 2
    infos = _tshark(
        "-r", str(_capture(tmp_path, "chdlc", "chdlc", records, pcapng)), "-T", "fields", "-e", "_ws.col.Info"
    )
    assert "Line keepalive" in infos
    assert "Request, from 0.0.0.0" in infos and "Reply, from 10.0.0.1, mask 255.255.255.252" in infos
    if pcapng:
        assert _has(rows, "chdlc:slarp", "0") and _has(rows, "chdlc:slarp", "1")


def _ppp(
    local: str, peer: str, user: str, password: str, other: str, other_password: str, **kw: Any
) -> PppConfig:
    return PppConfig(
        local_address=local,
        peer_address=peer,
        ipv6=True,
        secrets=((other, other_password),),
        username=user,
        password=password,
        echo_interval=1,
        **kw,
    )


@pytest.mark.parametrize("pcapng", FORMATS)
@pytest.mark.parametrize("auth", ["pap", "chap"])
def test_ppp_lcp_auth_ncps_and_data(tmp_path: Path, auth: str, pcapng: bool) -> None:
    link = BackToBack(
        _ppp("10.0.0.1", "10.0.0.2", "alice", "pw-a", "bob", "pw-b", require=auth),
        _ppp("10.0.0.2", "10.0.0.1", "bob", "pw-b", "alice", "pw-a", require=auth),
    )
    link.run_until(3)
    link.send("a", 0, PING6, Proto.IPV6)
    records = _traffic(link, 0, 3)
    # LINKTYPE_PPP_WITH_DIR carries the direction in pcap as well.
    rows = _check(_capture(tmp_path, f"ppp_{auth}", "ppp", records, pcapng), records, directions=True)
    for stack in ("ppp:lcp", f"ppp:{auth}", "ppp:ipcp", "ppp:ipv6cp"):
        assert _has(rows, stack, "0") and _has(rows, stack, "1"), stack
    assert _has(rows, "ppp:ip:icmp:data", "0") and _has(rows, "ppp:ip:icmp:data", "1")
    assert _has(rows, "ppp:ipv6:icmpv6", "0")


def test_async_ppp_with_compressed_headers(tmp_path: Path) -> None:
    """Async PPP: frames recovered from the octet stream; ACFC and PFC drop FF 03 and a protocol octet."""

    def config(local: str, peer: str) -> PppConfig:
        return PppConfig(framing="async", local_address=local, peer_address=peer, acfc=True, pfc=True)

    link = BackToBack(
        config("10.0.0.1", "10.0.0.2"), config("10.0.0.2", "10.0.0.1"), line=SERIAL, framing="async"
    )
    records = _traffic(link, 0, 3)
    assert any(r.frame[:1] == b"\x21" for r in records)  # IPv4 with neither FF 03 nor a 2-octet protocol
    rows = _check(_capture(tmp_path, "ppp_async", "ppp", records, False), records, directions=True)
    assert _has(rows, "ppp:lcp") and _has(rows, "ppp:ipcp")
    assert _has(rows, "ppp:ip:icmp:data", "0") and _has(rows, "ppp:ip:icmp:data", "1")
