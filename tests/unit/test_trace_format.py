"""Interpreted traces: what `wanpipemon -c ti` says about each kind of frame."""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoReply, IPv6

from firmware_emu.chdlc import codec as chdlc
from firmware_emu.fr import encap, inarp, q922
from firmware_emu.fr.lmi_codec import LinkIntegrity, LmiMessage, MessageType, PvcStatus, ReportType, Variant
from firmware_emu.fr.lmi_codec import encode as lmi_encode
from firmware_emu.ppp import packet as ppp
from wand import trace_format as tf

PING = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, id=7, seq=3) / b"abc")
DLCI16 = q922.encode_address(16)


def _lmi(variant: Variant, message_type: MessageType, report: ReportType, *pvcs: PvcStatus) -> bytes:
    return lmi_encode(variant, LmiMessage(message_type, report, LinkIntegrity(5, 4), pvcs))


@pytest.mark.parametrize(
    ("variant", "name"), [(Variant.ANSI, "ANSI"), (Variant.Q933, "Q.933"), (Variant.CISCO, "Cisco")]
)
def test_lmi_status_enquiry(variant: Variant, name: str) -> None:
    frame = _lmi(variant, MessageType.STATUS_ENQUIRY, ReportType.FULL_STATUS)
    assert tf.summarize("frame_relay", frame) == f"LMI STATUS ENQUIRY full status seq 5/4 ({name})"


def test_lmi_status_lists_the_pvcs() -> None:
    frame = _lmi(
        Variant.ANSI,
        MessageType.STATUS,
        ReportType.FULL_STATUS,
        PvcStatus(16, new=True, active=True),
        PvcStatus(17),
    )
    assert tf.summarize("frame_relay", frame) == (
        "LMI STATUS full status seq 5/4 (ANSI): DLCI 16 new active, DLCI 17 inactive"
    )
    link = _lmi(Variant.Q933, MessageType.STATUS, ReportType.LINK_INTEGRITY)
    assert tf.summarize("frame_relay", link) == "LMI STATUS link integrity seq 5/4 (Q.933)"


def test_fr_data_ietf_and_cisco() -> None:
    ietf = DLCI16 + encap.payload_header("ietf", encap.Proto.IPV4) + PING
    assert (
        tf.summarize("frame_relay", ietf) == "DLCI 16 IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 3"
    )
    cisco = DLCI16 + encap.payload_header("cisco", encap.Proto.IPV4) + PING
    assert tf.summarize("frame_relay", cisco).endswith("ICMP echo request id 7 seq 3 (Cisco encapsulation)")
    congested = q922.encode_address(16, becn=True, de=True) + b"\x03\xcc" + PING
    assert tf.summarize("frame_relay", congested).startswith("DLCI 16 [BECN DE] IPv4 10.0.0.1 > 10.0.0.2")


def test_fr_inverse_arp() -> None:
    request = DLCI16 + encap.inarp_header("ietf") + inarp.request(16, "10.0.0.1")
    assert tf.summarize("frame_relay", request) == "DLCI 16 InARP request from 10.0.0.1"
    req = inarp.InarpPacket(inarp.Op.REQUEST, DLCI16, "10.0.0.1", DLCI16, "0.0.0.0")
    reply = DLCI16 + encap.inarp_header("ietf") + inarp.reply(16, "10.0.0.2", req)
    assert tf.summarize("frame_relay", reply) == "DLCI 16 InARP reply 10.0.0.2 (to 10.0.0.1)"


def test_fr_bridged_ethernet() -> None:
    ether = bytes.fromhex("020000000002 020000000001 0800") + PING
    frame = DLCI16 + encap.payload_header("ietf", encap.Proto.ETHER) + ether
    assert tf.summarize("frame_relay", frame) == (
        "DLCI 16 Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 3"
    )


def test_chdlc_slarp_and_data() -> None:
    keepalive = chdlc.slarp_frame(chdlc.Keepalive(12, 11, unique=99))
    assert tf.summarize("chdlc", keepalive) == "SLARP keepalive 12/11"
    request = chdlc.slarp_frame(chdlc.AddressMessage(chdlc.SlarpCode.REQUEST, "0.0.0.0", "0.0.0.0"))
    assert tf.summarize("chdlc", request) == "SLARP address request"
    reply = chdlc.slarp_frame(chdlc.AddressMessage(chdlc.SlarpCode.REPLY, "10.0.0.1", "255.255.255.252"))
    assert tf.summarize("chdlc", reply) == "SLARP address reply 10.0.0.1 255.255.255.252"
    data = chdlc.header(chdlc.ETHERTYPE_IPV4) + PING
    assert tf.summarize("chdlc", data) == "IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 3"
    v6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoReply(id=1, seq=2))
    assert tf.summarize("chdlc", chdlc.header(chdlc.ETHERTYPE_IPV6) + v6) == (
        "IPv6 2001:db8::1 > 2001:db8::2 ICMPv6 echo reply id 1 seq 2"
    )


def _ppp_control(protocol: int, code: int, ident: int, data: bytes) -> bytes:
    return ppp.frame_header(protocol) + ppp.build_packet(code, ident, data)


def test_ppp_lcp() -> None:
    options = ppp.build_options(
        [(1, (1500).to_bytes(2, "big")), (5, bytes.fromhex("1a2b3c4d")), (7, b""), (8, b"")]
    )
    frame = _ppp_control(ppp.LCP, ppp.Code.CONFIGURE_REQUEST, 3, options)
    assert tf.summarize("ppp", frame) == "LCP Configure-Request id 3 MRU 1500 Magic 0x1a2b3c4d PFC ACFC"
    auth = ppp.build_options([(3, bytes.fromhex("c22305")), (2, bytes(4))])
    assert tf.summarize("ppp", _ppp_control(ppp.LCP, ppp.Code.CONFIGURE_NAK, 4, auth)) == (
        "LCP Configure-Nak id 4 Auth-Protocol CHAP/MD5 ACCM 0x00000000"
    )
    echo = _ppp_control(ppp.LCP, ppp.Code.ECHO_REQUEST, 9, bytes.fromhex("0badcafe"))
    assert tf.summarize("ppp", echo) == "LCP Echo-Request id 9 Magic 0x0badcafe"
    reject = _ppp_control(ppp.LCP, ppp.Code.PROTOCOL_REJECT, 2, bytes.fromhex("8057") + b"junk")
    assert tf.summarize("ppp", reject) == "LCP Protocol-Reject id 2 protocol IPV6CP"
    term = _ppp_control(ppp.LCP, ppp.Code.TERMINATE_REQUEST, 1, b"bye")
    assert tf.summarize("ppp", term) == "LCP Terminate-Request id 1 'bye'"


def test_ppp_ncps_auth_and_data() -> None:
    ipcp = _ppp_control(ppp.IPCP, ppp.Code.CONFIGURE_ACK, 1, ppp.build_options([(3, bytes([10, 0, 0, 2]))]))
    assert tf.summarize("ppp", ipcp) == "IPCP Configure-Ack id 1 IP-Address 10.0.0.2"
    ipv6cp = _ppp_control(
        ppp.IPV6CP, ppp.Code.CONFIGURE_REQUEST, 1, ppp.build_options([(1, bytes(range(8)))])
    )
    assert tf.summarize("ppp", ipv6cp) == "IPV6CP Configure-Request id 1 Interface-Id 0001:0203:0405:0607"
    pap = ppp.frame_header(ppp.PAP) + ppp.build_packet(1, 5, b"\x05alice\x06secret")
    summary = tf.summarize("ppp", pap)
    assert summary == "PAP Authenticate-Request id 5 user 'alice'" and "secret" not in summary
    chap = ppp.frame_header(ppp.CHAP) + ppp.build_packet(1, 6, b"\x10" + bytes(16) + b"bob")
    assert tf.summarize("ppp", chap) == "CHAP Challenge id 6 value 16 octets name 'bob'"
    assert tf.summarize("ppp", ppp.frame_header(ppp.CHAP) + ppp.build_packet(3, 6, b"Welcome")) == (
        "CHAP Success id 6 'Welcome'"
    )
    assert tf.summarize("ppp", ppp.frame_header(ppp.IPV4) + PING) == (
        "IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 3"
    )
    # ACFC + PFC: no FF 03, a one-octet protocol field
    assert tf.summarize("ppp", b"\x21" + PING).startswith("IPv4 10.0.0.1 > 10.0.0.2")


def test_tcp_and_udp() -> None:
    syn = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=80, flags="S", seq=1000))
    assert tf.summarize_ipv4(syn) == "IPv4 10.0.0.1.40000 > 10.0.0.2.80 TCP [S] seq 1000 len 0"
    dns = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5353, dport=53) / bytes(12))
    assert tf.summarize_ipv4(dns) == "IPv4 10.0.0.1.5353 > 10.0.0.2.53 UDP len 12"


def test_malformed_frames_are_described_never_raised() -> None:
    assert tf.summarize("frame_relay", b"\x01").startswith("malformed")
    bad_lmi = _lmi(Variant.ANSI, MessageType.STATUS_ENQUIRY, ReportType.FULL_STATUS)[:-3]
    assert tf.summarize("frame_relay", bad_lmi).startswith("LMI malformed (ANSI)")
    assert tf.summarize("chdlc", chdlc.SLARP_HEADER + b"\x00\x00\x00\x02").startswith("SLARP malformed")
    assert tf.summarize("ppp", b"\xff\x03\xc0\x21\x01\x01\x00\x40").startswith("LCP malformed")
    rng = random.Random(1)
    prefixes = [b"", b"\x00\x01\x03\x08\x00", b"\x04\x01\x03", b"\x8f\x00\x80\x35", b"\xff\x03\xc0\x21"]
    prefixes += [b"\xff\x03\x00\x21\x45", b"\x0f\x00\x86\xdd\x60", b"\xfc\xf1\x03\x09\x00"]
    for summarizer in tf.SUMMARIZERS.values():
        for _ in range(3000):
            frame = rng.choice(prefixes) + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
            assert isinstance(summarizer(frame), str)  # the summarizer itself, not summarize()'s safety net
    assert tf.summarize("sdlc", b"\x01\x02").startswith("01 02")  # a firmware with no decoder


def test_line_layouts() -> None:
    t = 1_700_000_000.25
    line = tf.format_interpreted("chdlc", t, tf.TX, chdlc.slarp_frame(chdlc.Keepalive(2, 1)))
    assert line.endswith(".250000 OUT SLARP keepalive 2/1")
    raw = tf.format_raw(t, tf.RX, bytes(range(20))).splitlines()
    assert raw[0].endswith(".250000 IN  len 20")
    assert raw[1].strip().startswith("0000  00 01 02 03") and raw[2].strip().startswith("0010  10 11 12 13")
    record = tf.record_json("chdlc", t, tf.RX, b"\x0f\x00\x08\x00", interpret=True)
    assert record["direction"] == "in" and record["hex"] == "0f000800" and record["length"] == 4
    assert "summary" in record
