"""Writing line traces as capture files Wireshark and tcpdump read: pcap and pcapng.

Link types (https://www.tcpdump.org/linktypes.html), chosen per firmware:

=============  ======================  ===========================================
firmware       pcap                    pcapng
=============  ======================  ===========================================
frame_relay    107 LINKTYPE_FRELAY     107, direction in each packet's flags
chdlc          104 LINKTYPE_C_HDLC     104, direction in each packet's flags
ppp            204 LINKTYPE_PPP_WITH_DIR (both formats: a direction octet per packet)
x25            1 LINKTYPE_ETHERNET     1, direction (DTE -> DCE for LAPB) in the flags
=============  ======================  ===========================================

Why not LINKTYPE_FRELAY_WITH_DIR (206) and LINKTYPE_C_HDLC_WITH_DIR (205) in a
pcap file: Wireshark 4.0 (Debian 12) refuses to open a pcap of either type
("network type 205 unknown or unsupported"), while 204 decodes, direction
included. A pcap of Frame Relay or Cisco HDLC therefore cannot say which way a
frame went; pcapng can, for every link type, in the Enhanced Packet Block's
flags (inbound/outbound), which Wireshark shows as the frame's direction. The
PPP frames are the deframed HDLC-like frames (``FF 03`` unless ACFC), so sync
and async PPP share 204; LINKTYPE_PPP_HDLC (50) would lose the direction.
X.25 frames go out as Ethernet frames Wireshark knows how to take apart
(LAPB over Linux lapbether, XOT over TCP): see wand.pcap_x25. For X.25 the
`firmware` argument is a trace view name (``x25:lapb:dte:8``, ``x25:xot:dte``;
wand.trace_x25), since LAPB's direction flag depends on our role.

Sans-I/O in spirit: the writers only call ``write``/``flush`` on the binary
stream they are given (a file, or stdout's buffer for ``| wireshark -k -i -``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final, Union

LINKTYPE_ETHERNET: Final = 1
LINKTYPE_PPP: Final = 9
LINKTYPE_C_HDLC: Final = 104
LINKTYPE_FRELAY: Final = 107
LINKTYPE_PPP_WITH_DIR: Final = 204
LINKTYPE_C_HDLC_WITH_DIR: Final = 205  # not readable by Wireshark 4.0 in pcap: not used
LINKTYPE_FRELAY_WITH_DIR: Final = 206  # idem

# Link types that put a direction octet before the frame: 0 received, 1 sent (by this host).
WITH_DIR: Final = frozenset({LINKTYPE_PPP_WITH_DIR, LINKTYPE_C_HDLC_WITH_DIR, LINKTYPE_FRELAY_WITH_DIR})

# firmware name (Port.firmware, LineDriver protocol_name) -> link type
LINKTYPES: Final[dict[str, int]] = {
    "frame_relay": LINKTYPE_FRELAY,
    "chdlc": LINKTYPE_C_HDLC,
    "ppp": LINKTYPE_PPP_WITH_DIR,
    "x25": LINKTYPE_ETHERNET,  # wrapped: wand.pcap_x25
}

RX: Final = 0  # received from the line (firmware_emu.adapter.trace.Direction.RX)
TX: Final = 1  # sent on the line

SNAPLEN: Final = 65535 + 8  # PPP's largest frame; nothing on a line is longer
PCAP_MAGIC_USEC: Final = 0xA1B2C3D4
PCAPNG_BYTE_ORDER_MAGIC: Final = 0x1A2B3C4D
_SHB: Final = 0x0A0D0D0A
_IDB: Final = 0x00000001
_EPB: Final = 0x00000006
_OPT_END: Final = 0
_SHB_USERAPPL: Final = 4
_IF_NAME: Final = 2
_IF_DESCRIPTION: Final = 3
_IF_TSRESOL: Final = 9
_EPB_FLAGS: Final = 2
_EPB_INBOUND: Final = 0b01
_EPB_OUTBOUND: Final = 0b10
_EPB_FCS_SHIFT: Final = 5  # bits 5-8 of the flags: FCS length in octets


def linktype_for(firmware: str) -> int:
    """The link type of a firmware's traces; a qualified view name (``x25:xot:dte``) counts as its firmware."""
    try:
        return LINKTYPES[firmware.partition(":")[0]]
    except KeyError:
        raise ValueError(f"no capture link type for firmware {firmware!r}") from None


def _usec(t: float) -> tuple[int, int]:
    """(seconds, microseconds) of a wall-clock time, rounded, never 1_000_000 microseconds."""
    total = round(t * 1_000_000)
    return divmod(total, 1_000_000)


class PcapWriter:
    """Classic pcap (microsecond timestamps, little endian)."""

    def __init__(self, stream: BinaryIO, linktype: int, snaplen: int = SNAPLEN) -> None:
        self.stream = stream
        self.linktype = linktype
        self.snaplen = snaplen
        self._with_dir = linktype in WITH_DIR
        stream.write(struct.pack("<IHHiIII", PCAP_MAGIC_USEC, 2, 4, 0, 0, snaplen, linktype))

    def write(self, t: float, direction: int, frame: bytes, length: int | None = None) -> None:
        """One frame; `length` is its length on the line when `frame` is only its first octets."""
        length = max(len(frame), length or 0)
        if self._with_dir:
            frame = (b"\x01" if direction == TX else b"\x00") + frame
            length += 1
        captured = frame[: self.snaplen]
        sec, usec = _usec(t)
        self.stream.write(struct.pack("<IIII", sec, usec, len(captured), length) + captured)

    def flush(self) -> None:
        self.stream.flush()


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def _options(*options: bytes) -> bytes:
    return b"".join(options) + _option(_OPT_END, b"") if options else b""


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


class PcapngWriter:
    """pcapng: one section, one interface, Enhanced Packet Blocks with an inbound/outbound flag."""

    def __init__(
        self,
        stream: BinaryIO,
        linktype: int,
        snaplen: int = SNAPLEN,
        *,
        ifname: str = "",
        description: str = "",
        application: str = "wand wanpipemon",
    ) -> None:
        self.stream = stream
        self.linktype = linktype
        self.snaplen = snaplen
        self._with_dir = linktype in WITH_DIR
        shb = struct.pack("<IHHq", PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1)  # section length unknown: streamed
        shb += _options(_option(_SHB_USERAPPL, application.encode()))
        idb_options = [_option(_IF_TSRESOL, b"\x06")]  # microseconds, the pcapng default, said explicitly
        if ifname:
            idb_options.append(_option(_IF_NAME, ifname.encode()))
        if description:
            idb_options.append(_option(_IF_DESCRIPTION, description.encode()))
        idb = struct.pack("<HHI", linktype, 0, snaplen) + _options(*idb_options)
        stream.write(_block(_SHB, shb) + _block(_IDB, idb))

    def write(
        self, t: float, direction: int, frame: bytes, length: int | None = None, *, fcs_len: int = 0
    ) -> None:
        """One frame; `length` is its length on the line when `frame` is only its first octets.

        `fcs_len`: octets of FCS at the end of `frame` (0: none), in the flags' FCS length bits."""
        length = max(len(frame), length or 0)
        if self._with_dir:
            frame = (b"\x01" if direction == TX else b"\x00") + frame
            length += 1
        captured = frame[: self.snaplen]
        ts = round(t * 1_000_000)
        flags = (_EPB_OUTBOUND if direction == TX else _EPB_INBOUND) | (fcs_len & 0x0F) << _EPB_FCS_SHIFT
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(captured), length)
        body += _pad4(captured) + _options(_option(_EPB_FLAGS, struct.pack("<I", flags)))
        self.stream.write(_block(_EPB, body))

    def flush(self) -> None:
        self.stream.flush()


if TYPE_CHECKING:
    from wand.pcap_x25 import X25CaptureWriter

CaptureWriter = Union[PcapWriter, PcapngWriter, "X25CaptureWriter"]


def open_writer(stream: BinaryIO, firmware: str, *, pcapng: bool, ifname: str = "") -> CaptureWriter:
    """The writer for a trace of `firmware` (or view name), in pcapng (direction for every link type) or pcap."""
    linktype = linktype_for(firmware)
    writer: PcapWriter | PcapngWriter
    if pcapng:
        writer = PcapngWriter(stream, linktype, ifname=ifname, description=f"wand {firmware} line trace")
    else:
        writer = PcapWriter(stream, linktype)
    if firmware.partition(":")[0] == "x25":
        from wand.pcap_x25 import X25CaptureWriter  # it builds on the writers above
        from wand.trace_x25 import parse_view

        return X25CaptureWriter(writer, parse_view(firmware))
    return writer


# -- reading back (tests, and a quick look at a capture without Wireshark) ---------


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    time: float
    direction: int | None  # RX, TX, or None when the file does not say
    frame: bytes  # the link-layer frame (direction octet removed)


def read_capture(data: bytes) -> tuple[int, list[CapturedFrame]]:
    """(link type, frames) of a little-endian pcap or single-interface pcapng written above."""
    (magic,) = struct.unpack_from("<I", data)
    if magic == PCAP_MAGIC_USEC:
        return _read_pcap(data)
    if magic == _SHB:
        return _read_pcapng(data)
    raise ValueError(f"not a capture written by wand (magic {magic:#010x})")


def _strip_dir(linktype: int, frame: bytes) -> tuple[int | None, bytes]:
    if linktype in WITH_DIR:
        return (TX if frame[0] else RX), frame[1:]
    return None, frame


def _read_pcap(data: bytes) -> tuple[int, list[CapturedFrame]]:
    *_, linktype = struct.unpack_from("<IHHiIII", data)
    out: list[CapturedFrame] = []
    at = 24
    while at < len(data):
        sec, usec, caplen, _length = struct.unpack_from("<IIII", data, at)
        at += 16
        direction, frame = _strip_dir(linktype, data[at : at + caplen])
        out.append(CapturedFrame(sec + usec / 1e6, direction, frame))
        at += caplen
    return linktype, out


def _read_pcapng(data: bytes) -> tuple[int, list[CapturedFrame]]:
    linktype = -1
    out: list[CapturedFrame] = []
    at = 0
    while at < len(data):
        kind, length = struct.unpack_from("<II", data, at)
        body = data[at + 8 : at + length - 4]
        if kind == _IDB:
            linktype = struct.unpack_from("<H", body)[0]
        elif kind == _EPB:
            _iface, hi, lo, caplen, _length = struct.unpack_from("<IIIII", body)
            frame = body[20 : 20 + caplen]
            direction, frame = _strip_dir(linktype, frame)
            opts = body[20 + caplen + (-caplen % 4) :]
            while opts:
                code, olen = struct.unpack_from("<HH", opts)
                if code == _EPB_FLAGS and direction is None:
                    flags = struct.unpack_from("<I", opts, 4)[0] & 0b11
                    direction = {_EPB_INBOUND: RX, _EPB_OUTBOUND: TX}.get(flags)
                if code == _OPT_END:
                    break
                opts = opts[4 + olen + (-olen % 4) :]
            out.append(CapturedFrame(((hi << 32) | lo) / 1e6, direction, frame))
        at += length
    return linktype, out
