"""The Wireshark gate for X.25: traces written as captures must decode cleanly in tshark.

As tests/unit/test_trace_tshark.py does for the other firmwares, with two forms
(wand.pcap_x25): LAPB lines as Linux lapbether frames, XOT lines as IPv4/TCP
segments to port 1998. Every LAPB frame type (modulo 8, as both DTE and DCE)
and every X.25 packet type (modulo 8 and 128), IP over X.25 included, in pcap
and pcapng, from the codecs; then real engines back to back. For each capture:

    tshark -r F -Y '_ws.malformed || _ws.expert.severity >= 0x00800000'   -> prints nothing

and tshark must show the frames as LAPB and X.25, with LAPB's commands and
responses read as we sent them (pcapng: the direction flag says DTE -> DCE),
and, on XOT, TCP streams without a sequence-analysis remark.

LAPB modulo 128 is not here: Wireshark's LAPB dissector assumes modulo 8
(1-octet control fields) and misreads every I and S frame of modulo 128.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP

from firmware_emu.lapb import codec as lapb
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.x25 import codec as x25
from firmware_emu.x25.config import X25Channel, X25Config, svc_channel
from firmware_emu.x25.layer import PacketLayerConfig
from tests.unit.test_trace import BackToBack
from wand import pcap, trace_format

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None,
    reason="tshark is not installed (apt-get install tshark): the Wireshark decode gate cannot run",
)

BASE = 1_700_000_000.0
GATE = "_ws.malformed || _ws.expert.severity >= 0x00800000"
FORMATS = [pytest.param(False, id="pcap"), pytest.param(True, id="pcapng")]
T = lapb.FrameType
P = x25.PacketType
RX, TX = 0, 1
PING = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(type=8, id=7, seq=1) / (b"x" * 32))
PONG = bytes(IP(src="192.0.2.2", dst="192.0.2.1") / ICMP(type=0, id=7, seq=1) / (b"x" * 32))
BIG = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(type=8, id=7, seq=2) / (b"y" * 172))  # 200 octets
FIELDS = (
    "frame.protocols",
    "frame.p2p_dir",
    "lapb.control.p",
    "lapb.control.f",
    "lapb.control.u_modifier_cmd",
    "lapb.control.u_modifier_resp",
    "x25.type",
    "_ws.col.Info",
)
# Wireshark's names for packets whose name says who sent them (packet-x25.c)
WS_NAMES = {
    P.CALL: ("Call req.", "Inc. call"),
    P.CLEAR: ("Clear req.", "Clear ind."),
    P.RESET: ("Reset req.", "Reset ind."),
    P.RESTART: ("Restart req.", "Restart ind."),
}


def _tshark(*argv: str) -> str:
    done = subprocess.run(["tshark", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _capture(tmp_path: Path, name: str, view: str, records: list[tuple[int, bytes]], pcapng: bool) -> Path:
    path = tmp_path / f"{name}.{'pcapng' if pcapng else 'pcap'}"
    with open(path, "wb") as f:
        writer = pcap.open_writer(f, view, pcapng=pcapng, ifname=name)
        for i, (direction, frame) in enumerate(records):
            writer.write(BASE + i / 100, direction, frame)
    return path


def _decode(path: Path, count: int) -> list[dict[str, str]]:
    """The gate, then tshark's reading of each frame."""
    assert _tshark("-r", str(path), "-Y", GATE) == ""
    argv = ["-r", str(path), "-T", "fields", "-E", "occurrence=l"]
    for field in FIELDS:
        argv += ["-e", field]
    rows = [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in _tshark(*argv).splitlines()]
    assert len(rows) == count
    return rows


# -- vectors from the codecs ------------------------------------------------------------


def _packets(modulo: int, base_lcn: int) -> list[tuple[int, bytes]]:
    """Every packet type, in an order a real line could carry them, each with its direction:
    an IP call, a call of another protocol (X.29), their data, flow control, interrupt, reset
    and clearing."""

    def pk(direction: int, ptype: x25.PacketType, lcn: int = 0, **kw: Any) -> tuple[int, bytes]:
        return direction, x25.encode(x25.Packet(ptype, lcn, modulo, **kw))

    ip, other = base_lcn, base_lcn + 1
    sizes = bytes((0x42, 7, 7, 0x43, 2, 2))
    return [
        pk(TX, P.RESTART, cause=0, diagnostic=0),
        pk(RX, P.RESTART_CONFIRMATION),
        pk(TX, P.CALL, ip, called="20", calling="10", facilities=sizes, data=b"\xcc"),
        pk(RX, P.CALL_ACCEPTED, ip, called="", calling="", facilities=sizes),
        pk(TX, P.DATA, ip, ps=0, pr=0, data=PING),
        pk(RX, P.DATA, ip, ps=0, pr=1, data=PONG),
        pk(TX, P.DATA, ip, ps=1, pr=1, m=True, data=BIG[:128]),  # one datagram as an M-bit sequence
        pk(TX, P.DATA, ip, ps=2, pr=1, data=BIG[128:]),
        pk(RX, P.RR, ip, pr=3),
        pk(RX, P.CALL, other, called="10", calling="20", facilities=b"", data=b"\x01\x00\x00\x00"),
        pk(TX, P.CALL_ACCEPTED, other),
        pk(RX, P.DATA, other, ps=0, pr=0, d=True, data=b"hello"),
        pk(TX, P.DATA, other, ps=0, pr=1, q=True, data=b"\x01\x02"),
        pk(TX, P.RNR, other, pr=1),
        pk(RX, P.REJ, other, pr=1),
        pk(TX, P.RR, other, pr=1),
        pk(TX, P.INTERRUPT, other, data=b"\x42"),
        pk(RX, P.INTERRUPT_CONFIRMATION, other),
        pk(RX, P.RESET, other, cause=0x03, diagnostic=2),
        pk(TX, P.RESET_CONFIRMATION, other),
        pk(RX, P.CLEAR, other, cause=0x09, diagnostic=64, called="20", calling="10", facilities=b""),
        pk(TX, P.CLEAR_CONFIRMATION, other),
        pk(TX, P.CLEAR, ip, cause=0, diagnostic=0),
        pk(RX, P.CLEAR_CONFIRMATION, ip),
        pk(RX, P.DIAGNOSTIC, diagnostic=33, data=bytes((0x10, 0x01, 0xFF))),
        pk(TX, P.REGISTRATION, data=b"\x00\x00"),  # no addresses, no registration field
        pk(RX, P.REGISTRATION_CONFIRMATION, data=b"\x7f\x00\x00\x00"),  # cause: registration confirmed
    ]


def _all_packets() -> list[tuple[int, bytes]]:
    """Modulo 8 on LCNs 1 and 2, then modulo 128 on LCNs 17 and 18 (one restart is enough)."""
    return _packets(8, 1) + _packets(128, 17)[2:-3]


def _lapb_vectors(role: str) -> list[tuple[int, bytes, lapb.Frame]]:
    """Every LAPB frame type each way, as `role` sends and receives them, then I frames carrying
    every packet type (modulo 8 and 128): (direction, frame, the frame as the receiver reads it)."""
    peer = "dce" if role == "dte" else "dte"
    out: list[tuple[int, bytes, lapb.Frame]] = []

    def add(direction: int, frame: lapb.Frame) -> None:
        sender, receiver = (role, peer) if direction == TX else (peer, role)
        wire = lapb.encode(frame, 8, sender)
        out.append((direction, wire, lapb.decode(wire, 8, receiver)))

    for us, them in ((TX, RX), (RX, TX)):
        add(us, lapb.Frame(T.SABM, True, True))
        add(them, lapb.Frame(T.UA, False, True))
        for kind in (T.RR, T.RNR, T.REJ):
            add(us, lapb.Frame(kind, True, True, nr=3))
            add(them, lapb.Frame(kind, False, True, nr=2))
            add(them, lapb.Frame(kind, False, False, nr=5))
        add(us, lapb.Frame(T.FRMR, False, False, frmr=lapb.FrmrInfo(b"\x11", 1, 2, False, lapb.FRMR_W)))
        add(us, lapb.Frame(T.DISC, True, True))
        add(them, lapb.Frame(T.DM, False, True))
        add(them, lapb.Frame(T.DM, False, False))
    sent = [0, 0]  # each direction's N(S)
    for i, (direction, packet) in enumerate(_all_packets()):
        ns, nr = sent[direction] % 8, sent[1 - direction] % 8
        sent[direction] += 1
        add(direction, lapb.Frame(T.I, True, i % 5 == 0, nr=nr, ns=ns, info=packet))
    return out


def _sender(role: str, direction: int) -> str:
    return role if direction == TX else ("dce" if role == "dte" else "dte")


@pytest.mark.parametrize("pcapng", FORMATS)
@pytest.mark.parametrize("role", ["dte", "dce"])
def test_every_lapb_frame_and_x25_packet(tmp_path: Path, role: str, pcapng: bool) -> None:
    vectors = _lapb_vectors(role)
    records = [(d, f) for d, f, _ in vectors]
    rows = _decode(_capture(tmp_path, f"lapb_{role}", f"x25:lapb:{role}:8", records, pcapng), len(records))
    types = set()
    for (direction, _wire, frame), row in zip(vectors, rows, strict=True):
        assert row["frame.protocols"].startswith("eth:ethertype:lapbether:lapb"), row
        assert int(row["frame.p2p_dir"] or -1) == (
            (0 if _sender(role, direction) == "dte" else 1) if pcapng else -1
        )
        if frame.type is T.I:
            assert ":x25" in row["frame.protocols"], row
            packet = x25.decode(frame.info)
            types.add(packet.type)
            named = row["frame.protocols"].endswith(":x25")  # the Info is not what the packet carries
            if pcapng and named and packet.type in WS_NAMES:  # who sent it, as Wireshark names it
                ws_dte, ws_dce = WS_NAMES[packet.type]
                expected = ws_dte if _sender(role, direction) == "dte" else ws_dce
                assert row["_ws.col.Info"].startswith(expected), (row, packet)
        if not pcapng:
            continue  # no direction: Wireshark reads every frame as a command
        # LAPB's command/response reading, as Wireshark makes it from the direction flag
        if frame.type in (T.SABM, T.DISC, T.UA, T.DM, T.FRMR):
            field = "lapb.control.u_modifier_cmd" if frame.command else "lapb.control.u_modifier_resp"
            assert row[field], (row, frame)
        if frame.pf:
            assert row["lapb.control.p" if frame.command else "lapb.control.f"] == "1", (row, frame)
    assert types == set(P)  # every packet type went through, and Wireshark read each one's type
    assert {int(row["x25.type"], 16) for row in rows if row["x25.type"]} == {int(t) for t in P}
    assert sum(":ip:icmp" in row["frame.protocols"] for row in rows) >= 2 * 3  # ping, pong, the M-bit one


@pytest.mark.parametrize("pcapng", FORMATS)
def test_every_x25_packet_over_xot(tmp_path: Path, pcapng: bool) -> None:
    records = _all_packets()
    path = _capture(tmp_path, "xot", "x25:xot:dte", records, pcapng)
    rows = _decode(path, len(records))
    assert all(row["frame.protocols"].startswith("eth:ethertype:ip:tcp:xot:x25") for row in rows), rows
    assert {int(row["x25.type"], 16) for row in rows} == {
        int(t) for t in P
    }  # every type, as Wireshark sees it
    assert sum(":ip:icmp" in row["frame.protocols"] for row in rows) >= 2 * 3
    # consistent TCP streams: no retransmission, lost segment or unseen ACK remarks
    assert _tshark("-r", str(path), "-Y", "tcp.analysis.flags || tcp.checksum.status == 0") == ""
    streams = _tshark("-r", str(path), "-T", "fields", "-e", "tcp.stream").split()
    assert len(set(streams)) >= 5  # LCN 0, and a connection for each of the four calls


# -- real engines ----------------------------------------------------------------------------


def _x25(role: str, address: str, remote: str, *, xot: bool = False) -> X25Config:
    """An IP SVC to `remote` and, over LAPB, an IP PVC on LCN 1 (XOT carries no PVCs)."""
    svc = X25Channel(svc_channel(0), remote=remote)
    if xot:
        plp = PacketLayerConfig(role=role, address=address, two_way=(2, 64))
        return X25Config(packet=plp, channels=(svc,), link="xot")
    plp = PacketLayerConfig(role=role, address=address, pvcs=(1,), two_way=(2, 64))
    return X25Config(lapb=LapbConfig(role=role), packet=plp, channels=(X25Channel(1, pvc=1), svc))


def _engine_trace(role: str, *, xot: bool = False) -> tuple[str, list[tuple[int, bytes]]]:
    peer = "dce" if role == "dte" else "dte"
    link = BackToBack(_x25(role, "10", "20", xot=xot), _x25(peer, "20", "10", xot=xot))
    link.advance(2)
    link.send("a", svc_channel(0), PING)
    link.send("a", svc_channel(0), BIG)  # more than a packet: an M-bit sequence
    if not xot:
        link.send("b", 1, PONG)
    link.advance(1)
    link.send("b", svc_channel(0), PONG)
    link.advance(1)
    records, dropped = link.read_all()
    assert dropped == 0
    view = trace_format.trace_name("x25", link.a.port(1).engine.status)
    return view, [(int(r.direction), r.frame) for r in records]


@pytest.mark.parametrize(
    ("role", "xot", "pcapng"),
    [
        ("dte", False, True),
        ("dte", False, False),
        ("dce", False, True),
        ("dte", True, True),
        ("dce", True, False),
    ],
)
def test_engines_back_to_back(tmp_path: Path, role: str, xot: bool, pcapng: bool) -> None:
    view, records = _engine_trace(role, xot=xot)
    assert view == (f"x25:xot:{role}" if xot else f"x25:lapb:{role}:8")
    rows = _decode(_capture(tmp_path, "engines", view, records, pcapng), len(records))
    stack = "eth:ethertype:ip:tcp:xot:x25" if xot else "eth:ethertype:lapbether:lapb"
    assert all(row["frame.protocols"].startswith(stack) for row in rows), rows
    # IP on the SVC (its call says CUD 0xCC), the M-bit sequence reassembled; IP on a PVC has no
    # call to say what it carries, and Wireshark shows it as data.
    assert sum(":ip:icmp" in row["frame.protocols"] for row in rows) == 3
    infos = "\n".join(row["_ws.col.Info"] for row in rows)
    assert "Echo (ping) request" in infos and "Echo (ping) reply" in infos
    if pcapng and not xot:  # the restart and the call, named by who sent them
        assert ("Call req." if role == "dte" else "Inc. call") in infos
        assert "Restart req." in infos and "Restart ind." in infos
