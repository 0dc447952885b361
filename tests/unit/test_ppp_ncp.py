"""IPCP address negotiation and IPV6CP interface identifiers."""

from __future__ import annotations

import random

from firmware_emu.events import ChannelStatusChanged, LinkUp, LocalAddressAssigned, PeerAddressLearned
from firmware_emu.payload import Delivery, Proto
from firmware_emu.ppp import PppConfig
from firmware_emu.ppp.fsm import Verdict
from firmware_emu.ppp.ipcp import IP_ADDRESS, Ipcp
from firmware_emu.ppp.ipv6cp import INTERFACE_IDENTIFIER, Ipv6cp
from firmware_emu.ppp.packet import IPCP, IPV6CP, Code, Packet, frame_header, parse_options, parse_packet
from tests.unit.test_ppp_engine import IPV6_PACKET, Link

ZERO = bytes(4)


def ncp_packets(link: Link, direction: str, protocol: int) -> list[Packet]:
    head = frame_header(protocol)
    return [parse_packet(f[4:]) for d, f in link.wire if d == direction and f[:4] == head]


def ip(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


# ------------------------------------------------------------------ IPCP


def test_address_is_assigned_through_a_nak() -> None:
    link = Link(
        PppConfig(local_address="0.0.0.0"), PppConfig(local_address="10.9.0.1", peer_address="10.9.0.2")
    )
    link.start()
    a_requests = [p for p in ncp_packets(link, "a>b", IPCP) if p.code == Code.CONFIGURE_REQUEST]
    assert [parse_options(p.data) for p in a_requests] == [
        [(IP_ADDRESS, ZERO)],
        [(IP_ADDRESS, ip("10.9.0.2"))],
    ]
    naks = [p for p in ncp_packets(link, "b>a", IPCP) if p.code == Code.CONFIGURE_NAK]
    assert [parse_options(p.data) for p in naks] == [[(IP_ADDRESS, ip("10.9.0.2"))]]
    assert LocalAddressAssigned(0, "10.9.0.2", 32) in link.events["a"]
    assert PeerAddressLearned(0, "10.9.0.2") in link.events["b"]
    assert LocalAddressAssigned(0, "10.9.0.1", 32) not in link.events["b"]  # b's address is its own
    status = link.a.status()["ipcp"]
    assert (status["local_address"], status["peer_address"], status["assigned_by_peer"]) == (
        "10.9.0.2",
        "10.9.0.1",
        True,
    )


def test_nobody_to_assign_an_address_rejects_the_request() -> None:
    link = Link(PppConfig(), PppConfig(local_address="10.9.0.1"))
    link.start()
    assert [p.code for p in ncp_packets(link, "b>a", IPCP) if p.code != Code.CONFIGURE_REQUEST] == [
        Code.CONFIGURE_REJECT,
        Code.CONFIGURE_ACK,
    ]
    assert link.a.channel_usable(0) and link.a.status()["ipcp"]["local_address"] is None
    assert link.events["a"] == [
        LinkUp(),
        PeerAddressLearned(0, "10.9.0.1"),
        ChannelStatusChanged(0, "opened", True),
    ]


def test_a_static_address_is_not_replaced_by_a_suggestion() -> None:
    ipcp = Ipcp(PppConfig(local_address="10.0.0.5"))
    ipcp.nak_received([(IP_ADDRESS, ip("10.0.0.2"))])
    assert ipcp.request() == [(IP_ADDRESS, ip("10.0.0.5"))]


def test_assigner_insists_on_its_address() -> None:
    ipcp = Ipcp(PppConfig(peer_address="10.0.0.2"))
    nak = Verdict(Code.CONFIGURE_NAK, [(IP_ADDRESS, ip("10.0.0.2"))])
    assert ipcp.check_request([(IP_ADDRESS, ZERO)], True) == nak
    assert ipcp.check_request([(IP_ADDRESS, ip("10.0.0.7"))], True) == nak
    assert ipcp.check_request([], True) == nak  # left out: appended (RFC 1332 3.3)
    assert ipcp.check_request([], False) == (Code.CONFIGURE_ACK, [])
    assert ipcp.check_request([(IP_ADDRESS, ip("10.0.0.7"))], False) == (
        Code.CONFIGURE_REJECT,
        [(IP_ADDRESS, ip("10.0.0.7"))],
    )
    assert ipcp.check_request([(IP_ADDRESS, ip("10.0.0.2"))], True) == (Code.CONFIGURE_ACK, [])


def test_ipcp_rejects_what_it_does_not_do() -> None:
    ipcp = Ipcp(PppConfig())
    vj = (2, b"\x00\x2d\x0f\x01")
    dns = (129, ZERO)
    short = (IP_ADDRESS, b"\x0a\x00")
    assert ipcp.check_request([vj, (IP_ADDRESS, ip("1.2.3.4")), dns, short], True) == (
        Code.CONFIGURE_REJECT,
        [vj, dns, short],
    )
    ipcp.reject_received([(IP_ADDRESS, ZERO)])
    assert ipcp.request() == []


# ------------------------------------------------------------------ IPV6CP


def v6(**kw: object) -> PppConfig:
    return PppConfig(ipv6=True, **kw)  # type: ignore[arg-type]


def test_interface_identifiers_and_link_local_addresses() -> None:
    link = Link(v6(ipv6_interface_id=0x1111), v6(ipv6_interface_id=0x2222))
    link.start()
    assert link.a.status()["ipv6cp"]["state"] == "Opened"
    assert LocalAddressAssigned(0, "fe80::1111", 64) in link.events["a"]
    assert PeerAddressLearned(0, "fe80::2222") in link.events["a"]
    assert PeerAddressLearned(0, "fe80::1111") in link.events["b"]
    status = link.b.status()["ipv6cp"]
    assert (status["local_interface_id"], status["peer_interface_id"]) == (
        "0000000000002222",
        "0000000000001111",
    )
    frame = link.a.encode(0, IPV6_PACKET, Proto.IPV6)
    assert link.b.receive_frame(frame, 0.0) == Delivery(0, Proto.IPV6, IPV6_PACKET)


def test_identifier_collision_is_resolved() -> None:
    link = Link(v6(ipv6_interface_id=0x42), v6(ipv6_interface_id=0x42))
    link.start()
    a, b = link.a.ipv6cp, link.b.ipv6cp
    assert a is not None and b is not None
    assert a.ours and b.ours and a.ours != b.ours
    assert (a.ours, a.his) == (b.his, b.ours)
    assert a.collisions + b.collisions >= 1
    naks = [p for p in ncp_packets(link, "a>b", IPV6CP) if p.code == Code.CONFIGURE_NAK]
    assert naks and all(parse_options(p.data)[0][1] != (0x42).to_bytes(8, "big") for p in naks)


def test_zero_identifiers() -> None:
    ipv6cp = Ipv6cp(v6(ipv6_interface_id=7), random.Random(5))
    zero = (INTERFACE_IDENTIFIER, bytes(8))
    verdict = ipv6cp.check_request([zero], True)
    assert verdict.code == Code.CONFIGURE_NAK and verdict.options[0][1] not in (
        bytes(8),
        (7).to_bytes(8, "big"),
    )
    ipv6cp.reject_received([(INTERFACE_IDENTIFIER, (7).to_bytes(8, "big"))])
    assert ipv6cp.request() == []
    assert ipv6cp.check_request([zero], True) == (Code.CONFIGURE_REJECT, [zero])  # both zero
    ipv6cp.nak_received([zero])  # a zero suggestion: draw our own
    assert ipv6cp.want not in (0, 7) and ipv6cp.request()
