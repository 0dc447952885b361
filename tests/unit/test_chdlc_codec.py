"""Cisco HDLC and SLARP on the wire: byte vectors from Linux and Wireshark, scapy cross-checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.contrib.chdlc import CHDLC, SLARP
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from firmware_emu.chdlc import codec
from firmware_emu.chdlc.codec import (
    AddressMessage,
    Keepalive,
    SlarpCode,
    decode_slarp,
    encode_slarp,
    slarp_frame,
)
from firmware_emu.chdlc.slarp import local_from_peer
from firmware_emu.errors import RemoteProtocolError

# Linux drivers/net/wan/hdlc_cisco.c, cisco_keepalive_send(): struct hdlc_header (address 0x8F
# for CISCO_KEEPALIVE, control 0, protocol 0x8035) then the packed 18-octet struct cisco_packet
# {type, par1, par2, rel = 0xFFFF, time = uptime in ms}. A keepalive: par1 = ++txseq, par2 = rxseq.
LINUX_KEEPALIVE = bytes.fromhex("8f008035000000020000000500000004ffff0001d4c0")
# An address reply from the same function: par1/par2 = address/mask, rel and time filled as well.
LINUX_REPLY = bytes.fromhex("8f00803500000001c0a80101fffffffcffff00000000")
# CISCO_BIG_PACKET_LEN: the same with two more octets, which Linux also accepts.
BIG_KEEPALIVE = LINUX_KEEPALIVE + b"\x00\x00"
# Wireshark packet-slarp.c / tcpdump print-chdlc.c: the 14-octet packet, code at 0, then
# address/mask or mysequence/yoursequence at 4 and 8, reliability (expected 0xFFFF) at 12.
SHORT_KEEPALIVE = bytes.fromhex("8f008035000000020000000a00000009ffff")


def test_headers() -> None:
    assert codec.header(codec.ETHERTYPE_IPV4) == bytes.fromhex("0f000800")
    assert codec.header(codec.ETHERTYPE_IPV6) == bytes.fromhex("0f0086dd")
    assert codec.header(codec.ETHERTYPE_BRIDGED) == bytes.fromhex("0f006558")
    assert bytes.fromhex("8f008035") == codec.SLARP_HEADER


def test_decode_linux_keepalive() -> None:
    assert decode_slarp(LINUX_KEEPALIVE[4:]) == Keepalive(5, 4, 0xFFFF, 120000)
    assert decode_slarp(BIG_KEEPALIVE[4:]) == Keepalive(5, 4, 0xFFFF, 120000)
    assert decode_slarp(SHORT_KEEPALIVE[4:]) == Keepalive(10, 9, 0xFFFF, None)


def test_decode_linux_reply() -> None:
    assert decode_slarp(LINUX_REPLY[4:]) == AddressMessage(SlarpCode.REPLY, "192.168.1.1", "255.255.255.252")


def test_encode_keepalive_is_linux_layout() -> None:
    frame = slarp_frame(Keepalive(5, 4, unique=120000))
    assert frame == LINUX_KEEPALIVE
    assert len(frame) - 4 == codec.SLARP_LEN == 18


def test_encode_request_and_reply() -> None:
    req = slarp_frame(AddressMessage(SlarpCode.REQUEST, "0.0.0.0", "0.0.0.0"))
    assert req == bytes.fromhex("8f008035" + "00" * 18)
    rep = slarp_frame(AddressMessage(SlarpCode.REPLY, "10.1.2.1", "255.255.255.252"))
    assert rep == bytes.fromhex("8f008035000000010a010201fffffffc000000000000")


@pytest.mark.parametrize("n", [0, 4, 13, 15, 16, 17, 19, 21, 64])
def test_bad_slarp_length(n: int) -> None:
    with pytest.raises(RemoteProtocolError, match="octets"):
        decode_slarp(b"\x00\x00\x00\x02" + bytes(max(0, n - 4)) if n >= 4 else bytes(n))


def test_unknown_slarp_code() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown SLARP code"):
        decode_slarp(bytes.fromhex("00000003") + bytes(14))


@given(st.binary(max_size=40))
def test_decode_raises_only_remote_errors(data: bytes) -> None:
    try:
        msg = decode_slarp(data)
    except RemoteProtocolError:
        return
    # Whatever decodes re-encodes to the first 14 octets it came from (the rest is padding/unique).
    assert encode_slarp(msg)[:4] == data[:4]
    if isinstance(msg, Keepalive):
        assert encode_slarp(msg)[:14] == data[:14]


# ------------------------------------------------------------------ scapy cross-checks


def test_scapy_parses_our_keepalive() -> None:
    pkt = CHDLC(slarp_frame(Keepalive(7, 6, unique=0xDEADBEEF)))
    assert pkt.address == 0x8F and pkt.control == 0 and pkt.proto == 0x8035
    s = pkt[SLARP]
    assert (s.type, s.mysequence, s.yoursequence, s.reliability) == (2, 7, 6, 0xFFFF)
    # The four octets scapy's 14-octet layer does not know are left as trailing data.
    assert bytes(s.payload) == bytes.fromhex("deadbeef")


def test_scapy_parses_our_reply() -> None:
    s = CHDLC(slarp_frame(AddressMessage(SlarpCode.REPLY, "10.9.8.1", "255.255.255.252")))[SLARP]
    assert (s.type, s.address, s.mask, s.unused) == (1, "10.9.8.1", "255.255.255.252", 0)


def test_we_parse_scapy_slarp() -> None:
    ka = bytes(CHDLC(address=0x8F, proto=0x8035) / SLARP(type=2, mysequence=3, yoursequence=2))
    assert decode_slarp(ka[4:]) == Keepalive(3, 2, 0xFFFF, None)
    rep = bytes(
        CHDLC(address=0x8F, proto=0x8035) / SLARP(type=1, address="172.16.0.2", mask="255.255.255.252")
    )
    assert decode_slarp(rep[4:]) == AddressMessage(SlarpCode.REPLY, "172.16.0.2", "255.255.255.252")


@pytest.mark.parametrize(
    ("layer", "proto"),
    [
        (IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"x", 0x0800),
        (IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=2) / b"x", 0x86DD),
    ],
)
def test_scapy_data_headers_match(layer: object, proto: int) -> None:
    ours = codec.header(proto) + bytes(layer)  # type: ignore[call-overload]
    assert bytes(CHDLC(proto=proto) / layer) == ours  # type: ignore[operator]


# ------------------------------------------------------------------ SLARP address rule


@pytest.mark.parametrize(
    ("peer", "mask", "local", "prefix"),
    [
        ("10.0.0.1", "255.255.255.252", "10.0.0.2", 30),
        ("10.0.0.2", "255.255.255.252", "10.0.0.1", 30),
        ("10.0.0.5", "255.255.255.252", "10.0.0.6", 30),
        ("192.168.7.1", "255.255.255.0", "192.168.7.2", 24),
        ("192.168.7.2", "255.255.255.0", "192.168.7.1", 24),
        ("10.0.0.4", "255.255.255.254", "10.0.0.5", 31),
        ("10.0.0.5", "255.255.255.254", "10.0.0.4", 31),
    ],
)
def test_local_from_peer(peer: str, mask: str, local: str, prefix: int) -> None:
    assert local_from_peer(peer, mask) == (local, prefix)


@pytest.mark.parametrize(
    ("peer", "mask"),
    [
        ("10.0.0.3", "255.255.255.252"),  # broadcast of the /30
        ("10.0.0.0", "255.255.255.252"),
        ("192.168.7.9", "255.255.255.0"),  # not host 1 or 2
        ("10.0.0.1", "255.255.255.255"),
        ("10.0.0.1", "255.0.255.0"),  # not contiguous
        ("0.0.0.0", "255.255.255.255"),  # Linux's answer when it has no address
    ],
)
def test_local_from_peer_unusable(peer: str, mask: str) -> None:
    with pytest.raises(RemoteProtocolError):
        local_from_peer(peer, mask)
