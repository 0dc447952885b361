"""RFC 2427 and Cisco encapsulation: header bytes and the receive classifier."""

import pytest
from scapy.layers.l2 import SNAP

from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import ChannelMode, Encapsulation
from firmware_emu.fr.encap import Control, Proto, classify, inarp_header, payload_header, rx_table
from firmware_emu.fr.q922 import encode_address

DLCI16 = encode_address(16)


@pytest.mark.parametrize(
    ("encapsulation", "proto", "header"),
    [
        ("ietf", Proto.IPV4, "03 cc"),
        ("ietf", Proto.IPV6, "03 8e"),
        ("ietf", Proto.ETHER, "03 00 80 00 80 c2 00 07"),
        ("ietf", Proto.RAW, ""),
        ("cisco", Proto.IPV4, "08 00"),
        ("cisco", Proto.IPV6, "86 dd"),
        ("cisco", Proto.ETHER, "65 58"),
        ("cisco", Proto.RAW, ""),
    ],
)
def test_payload_headers(encapsulation: Encapsulation, proto: Proto, header: str) -> None:
    assert payload_header(encapsulation, proto) == bytes.fromhex(header)


def test_ipv4_frame_header_is_04_01_03_cc() -> None:
    assert DLCI16 + payload_header("ietf", Proto.IPV4) == bytes.fromhex("040103cc")


def test_bridged_snap_matches_scapy() -> None:
    # pad, NLPID SNAP, then a SNAP header with OUI 00-80-C2 and PID 00-07 (Ethernet without FCS).
    assert payload_header("ietf", Proto.ETHER)[3:] == bytes(SNAP(OUI=0x0080C2, code=0x0007))
    assert inarp_header("ietf")[3:] == bytes(SNAP(OUI=0, code=0x0806))


def test_inarp_headers() -> None:
    assert inarp_header("ietf") == bytes.fromhex("03 00 80 00 00 00 08 06")
    assert inarp_header("cisco") == bytes.fromhex("08 06")


def test_unknown_encapsulation_is_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        payload_header("frf12", Proto.IPV4)  # type: ignore[arg-type]


@pytest.mark.parametrize("encapsulation", ["ietf", "cisco"])
@pytest.mark.parametrize("proto", [Proto.IPV4, Proto.IPV6])
def test_classify_routed_round_trip(encapsulation: Encapsulation, proto: Proto) -> None:
    frame = DLCI16 + payload_header(encapsulation, proto) + b"payload"
    hit = classify(rx_table(encapsulation, ChannelMode.IP), frame)
    assert hit is not None
    kind, offset = hit
    assert kind is proto
    assert frame[offset:] == b"payload"


@pytest.mark.parametrize("encapsulation", ["ietf", "cisco"])
def test_classify_bridged(encapsulation: Encapsulation) -> None:
    frame = DLCI16 + payload_header(encapsulation, Proto.ETHER) + b"\xff" * 14
    assert classify(rx_table(encapsulation, ChannelMode.BRIDGE), frame) == (
        Proto.ETHER,
        len(frame) - 14,
    )
    # A routed PVC does not accept bridged frames, nor a bridged PVC IP.
    assert classify(rx_table(encapsulation, ChannelMode.IP), frame) is None
    ip = DLCI16 + payload_header(encapsulation, Proto.IPV4) + b"x"
    assert classify(rx_table(encapsulation, ChannelMode.BRIDGE), ip) is None


@pytest.mark.parametrize("encapsulation", ["ietf", "cisco"])
def test_classify_inarp(encapsulation: Encapsulation) -> None:
    frame = DLCI16 + inarp_header(encapsulation) + b"arp"
    assert classify(rx_table(encapsulation, ChannelMode.IP), frame) == (
        Control.INARP,
        len(frame) - 3,
    )


def test_ietf_accepts_snap_routed_ip() -> None:
    table = rx_table("ietf", ChannelMode.IP)
    assert classify(table, DLCI16 + bytes.fromhex("03 00 80 00 00 00 08 00") + b"x") == (Proto.IPV4, 10)
    assert classify(table, DLCI16 + bytes.fromhex("03 00 80 00 00 00 86 dd") + b"x") == (Proto.IPV6, 10)


@pytest.mark.parametrize(
    "after_address",
    [
        "",
        "03",
        "03 81",  # unknown NLPID (ISO CLNP)
        "13 cc",  # not UI
        "03 00 80 00 80 c2 00 01",  # bridged with FCS preserved: not supported
        "03 80 00 80 c2 00 07",  # SNAP without the pad octet
        "08 00",  # Cisco header on an IETF port
    ],
)
def test_ietf_rejects(after_address: str) -> None:
    assert classify(rx_table("ietf", ChannelMode.IP), DLCI16 + bytes.fromhex(after_address)) is None
    assert classify(rx_table("ietf", ChannelMode.BRIDGE), DLCI16 + bytes.fromhex(after_address)) is None


@pytest.mark.parametrize("after_address", ["", "08", "03 cc", "88 47"])
def test_cisco_rejects(after_address: str) -> None:
    assert classify(rx_table("cisco", ChannelMode.IP), DLCI16 + bytes.fromhex(after_address)) is None


def test_raw_mode_table_is_empty() -> None:
    table = rx_table("ietf", ChannelMode.RAW)
    assert not table.short and not table.snap
