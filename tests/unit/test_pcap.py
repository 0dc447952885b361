"""The capture writers: pcap and pcapng, checked field by field and read back by scapy."""

from __future__ import annotations

import io
import logging
import struct
from pathlib import Path

import pytest
from scapy.utils import rdpcap

from wand import pcap

FRAMES = [
    (1_700_000_000.123456, pcap.TX, b"\x00\x01\x03\x08\x00\x75\x95\x01\x01\x00\x03\x02\x01\x00"),
    (1_700_000_000.5, pcap.RX, b"\x04\x01\x03\xcc" + bytes([0x45]) + bytes(19)),
    (1_700_000_001.9999996, pcap.TX, b"\x0f\x00\x08\x00"),  # rounds up to the next second
]

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # "unknown LL type": scapy has no FR dissector


def _write(writer_cls: type[pcap.PcapWriter] | type[pcap.PcapngWriter], linktype: int) -> bytes:
    stream = io.BytesIO()
    writer = writer_cls(stream, linktype)
    for t, direction, frame in FRAMES:
        writer.write(t, direction, frame)
    writer.flush()
    return stream.getvalue()


@pytest.mark.parametrize(
    ("firmware", "linktype"),
    [("frame_relay", 107), ("chdlc", 104), ("ppp", 204)],
)
def test_link_type_per_firmware(firmware: str, linktype: int) -> None:
    assert pcap.linktype_for(firmware) == linktype
    stream = io.BytesIO()
    pcap.open_writer(stream, firmware, pcapng=False)
    assert struct.unpack_from("<I", stream.getvalue(), 20)[0] == linktype
    stream = io.BytesIO()
    pcap.open_writer(stream, firmware, pcapng=True)
    assert pcap.read_capture(stream.getvalue()) == (linktype, [])


def test_unknown_firmware_has_no_link_type() -> None:
    with pytest.raises(ValueError, match="sdlc"):
        pcap.linktype_for("sdlc")


def test_pcap_global_header_and_records() -> None:
    data = _write(pcap.PcapWriter, pcap.LINKTYPE_FRELAY)
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, zone, sigfigs) == (0xA1B2C3D4, 2, 4, 0, 0)
    assert snaplen >= 65535 and linktype == 107
    at = 24
    for t, _direction, frame in FRAMES:
        sec, usec, caplen, length = struct.unpack_from("<IIII", data, at)
        assert 0 <= usec < 1_000_000
        assert abs(sec + usec / 1e6 - t) <= 0.5e-6
        assert caplen == length == len(frame)  # no direction octet in plain Frame Relay
        assert data[at + 16 : at + 16 + caplen] == frame
        at += 16 + caplen
    assert at == len(data)
    assert struct.unpack_from("<II", data, 24 + 2 * 16 + len(FRAMES[0][2]) + len(FRAMES[1][2])) == (
        1_700_000_002,
        0,
    )


def test_pcap_with_dir_puts_the_direction_octet_first() -> None:
    data = _write(pcap.PcapWriter, pcap.LINKTYPE_PPP_WITH_DIR)
    linktype, frames = pcap.read_capture(data)
    assert linktype == 204
    assert [(f.direction, f.frame) for f in frames] == [(d, f) for _, d, f in FRAMES]
    first = data[24 + 16 :]
    assert first[0] == 1 and first[1:3] == FRAMES[0][2][:2]  # sent by this host: 1
    second_at = 24 + 16 + 1 + len(FRAMES[0][2]) + 16
    assert data[second_at] == 0  # received: 0
    assert struct.unpack_from("<I", data, 24 + 8)[0] == len(FRAMES[0][2]) + 1


def test_pcapng_blocks_and_direction_flags() -> None:
    data = _write(pcap.PcapngWriter, pcap.LINKTYPE_C_HDLC)
    kind, length, bom, major, minor = struct.unpack_from("<IIIHH", data)
    assert (kind, bom, major, minor) == (0x0A0D0D0A, 0x1A2B3C4D, 1, 0)
    assert struct.unpack_from("<I", data, length - 4)[0] == length  # trailing length repeats
    linktype, frames = pcap.read_capture(data)
    assert linktype == 104
    assert [(f.direction, f.frame) for f in frames] == [(d, f) for _, d, f in FRAMES]
    assert all(abs(f.time - t) <= 0.5e-6 for f, (t, _, _) in zip(frames, FRAMES, strict=True))
    # every block is 32-bit aligned
    at = 0
    while at < len(data):
        block_length = struct.unpack_from("<I", data, at + 4)[0]
        assert block_length % 4 == 0
        at += block_length
    assert at == len(data)


@pytest.mark.parametrize("pcapng", [False, True])
def test_scapy_reads_the_captures_back(tmp_path: Path, pcapng: bool) -> None:
    path = tmp_path / ("t.pcapng" if pcapng else "t.pcap")
    with open(path, "wb") as f:
        writer = pcap.open_writer(f, "chdlc", pcapng=pcapng, ifname="wp1_chdlc")
        for t, direction, frame in FRAMES:
            writer.write(t, direction, frame)
    packets = rdpcap(str(path))
    assert [bytes(p) for p in packets] == [frame for _, _, frame in FRAMES]
    assert [float(p.time) for p in packets] == pytest.approx([t for t, _, _ in FRAMES], abs=1e-6)
    if pcapng:
        # scapy reports the EPB flags' direction: 1 inbound, 2 outbound
        assert [p.direction for p in packets] == [2 if d == pcap.TX else 1 for _, d, _ in FRAMES]


def test_frames_longer_than_the_snaplen_are_cut_and_say_so() -> None:
    stream = io.BytesIO()
    writer = pcap.PcapWriter(stream, pcap.LINKTYPE_PPP_WITH_DIR, snaplen=10)
    writer.write(1.0, pcap.RX, bytes(range(20)))
    caplen, length = struct.unpack_from("<II", stream.getvalue(), 24 + 8)
    assert (caplen, length) == (10, 21)


def test_read_capture_refuses_other_files() -> None:
    with pytest.raises(ValueError, match="magic"):
        pcap.read_capture(b"\xa1\xb2\xc3\xd4" + bytes(20))  # big-endian pcap: not ours
