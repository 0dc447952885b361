"""The UDP link transport: one frame per datagram, from the address field, no flags, no FCS.

That is the GNS3/dynamips serial NIO format, so a wand site can be patched
into a GNS3 lab. Here two sites talk over it across a veth underlay, and a
plain UDP socket stands in for the GNS3 side to check the bytes.
"""

from __future__ import annotations

import sys

from tests.integration.sites import Site, fr_device, interface, ping, write
from wand import netns as nsutil


def _udp_site(
    ns: str, tmp_path, name: str, station: str, address: str, peer: str, local: str, remote: str
) -> Site:
    doc = fr_device(
        station=station,
        dlcis=[16],
        interfaces=[interface("wp1_fr16", 16, address, peer)],
        local="",
        remote="",
    )
    doc["transport"] = {"type": "udp", "local": local, "remote": remote}
    return Site(ns, [write(tmp_path / name / "wanpipe1.yaml", doc)], tmp_path / f"{name}.log")


def test_two_sites_over_udp(netns, tmp_path):
    a_ns, b_ns = netns(), netns()
    nsutil.veth_pair(a_ns, b_ns, "ul0", "172.30.0.1/30", "172.30.0.2/30")
    a = _udp_site(a_ns, tmp_path, "a", "cpe", "10.0.0.1", "10.0.0.2", "172.30.0.1:4000", "172.30.0.2:4000")
    b = _udp_site(b_ns, tmp_path, "b", "node", "10.0.0.2", "10.0.0.1", "172.30.0.2:4000", "172.30.0.1:4000")
    b.start()
    a.start()
    try:
        assert a.wait_carrier("wp1_fr16"), a.log_text()
        assert ping(a, "10.0.0.2") == (3, 3)
    finally:
        a.stop()
        b.stop()


# Receives one datagram on UDP 4000 and prints it in hex.
GNS3_SIDE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("172.30.0.2", 4000))
s.settimeout(20)
print(s.recv(65535).hex(), flush=True)
"""


def test_datagram_is_a_bare_frame_without_fcs(netns, tmp_path):
    a_ns, g_ns = netns(), netns()
    nsutil.veth_pair(a_ns, g_ns, "ul0", "172.30.0.1/30", "172.30.0.2/30")
    listener = nsutil.popen(g_ns, [sys.executable, "-c", GNS3_SIDE], stdout=-1, text=True)
    a = _udp_site(a_ns, tmp_path, "a", "cpe", "10.0.0.1", "10.0.0.2", "172.30.0.1:4000", "172.30.0.2:4000")
    a.start()
    try:
        out, _ = listener.communicate(timeout=30)
    finally:
        a.stop()
    frame = bytes.fromhex(out.strip())
    # ANSI T1.617 Annex D STATUS ENQUIRY on DLCI 0: address 00 01, UI 03, PD 08, CR 00,
    # type 75, locking shift 95, report type IE (01 01 00 = full status), LIV IE (03 02 ss rr)
    assert frame[:7] == bytes.fromhex("00010308007595")
    assert frame[7:10] == bytes.fromhex("010100")
    assert frame[10:12] == bytes.fromhex("0302")
    assert len(frame) == 14  # nothing after the last IE: no FCS, no flags
