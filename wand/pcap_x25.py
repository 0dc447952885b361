"""X.25 line traces as Ethernet frames that Wireshark decodes: LAPB over lapbether, XOT over TCP.

There is no pcap link type for LAPB that both carries the direction and opens
in Wireshark 4.0, so each traced frame is wrapped in an Ethernet frame
(LINKTYPE_ETHERNET) the way Linux puts it on a wire:

- **LAPB** (``lapbether``, ethertype 0x6000): a 2-octet little-endian length,
  then the LAPB frame; padded to Ethernet's 60 octets.
- **XOT** (RFC 1613): IPv4/TCP to port 1998, the XOT header (version 0 and
  the packet's length, 2 octets each), then the X.25 packet. Each call rides
  its own TCP connection, as in real XOT: a Call Request or Incoming Call on
  an LCN starts a new one (the caller's side gets the next ephemeral port,
  the other 1998), and a Clear Confirmation ends it. Sequence and
  acknowledgement numbers follow each direction's octets, and the IPv4 and
  TCP checksums are right, so tshark sees consistent streams.

Addresses are fixed and never real: this port is 02:00:00:00:00:01 and
192.0.2.1, the far end 02:00:00:00:00:02 and 192.0.2.2 (locally
administered MACs; TEST-NET-1), so source and destination say which way a
frame went, in pcap too.

Direction and LAPB. Wireshark's LAPB dissector tells a command from a response
by ``p2p_dir``: "sent" means *from the DTE* (packet-lapb.c names the columns
DTE -> DCE), and without a direction it reads every frame as a command. So in
pcapng the Enhanced Packet Block's flag says outbound for frames the DTE sent
and inbound for the DCE's, which on a DCE's trace is the opposite of
sent/received (the MACs still tell that). A classic pcap cannot carry a
direction for Ethernet: LAPB responses show as commands there (P for F, DM as
SARM). Use pcapng for LAPB.

The X.25 packet inside. Wireshark 4.0 names packets by who sent them (Call
Request from the DTE, Incoming Call from the DCE) from a pseudo-header flag
that LAPB over Ethernet does not have; the X.25 dissector reads it from the
same memory as the Ethernet pseudo-header's FCS length, where "unknown" (-1)
reads as "from the DCE". Frames from the DTE therefore carry a real Ethernet
FCS (CRC-32) with the FCS length (4) in the block's flags, which reads as
"from the DTE"; frames from the DCE carry none. Both are valid Ethernet
frames either way. XOT packets reach the X.25 dissector without a direction
and are named both ways ("Call req./Inc. call").

LAPB modulo 128 is not decodable: Wireshark's LAPB dissector assumes
modulo 8 (1-octet control fields), so the frames are written as they are and
Wireshark misreads them.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from wand.pcap import PcapngWriter, PcapWriter
from wand.trace_x25 import X25View, frame_is_lapb

RX: Final = 0
TX: Final = 1
LOCAL_MAC: Final = bytes.fromhex("020000000001")
PEER_MAC: Final = bytes.fromhex("020000000002")
LOCAL_IP: Final = bytes((192, 0, 2, 1))
PEER_IP: Final = bytes((192, 0, 2, 2))
ETHERTYPE_LAPB: Final = 0x6000  # ETHERTYPE_DEC, Linux lapbether's ETH_P_DEC
ETHERTYPE_IPV4: Final = 0x0800
ETH_MIN: Final = 60  # octets before the FCS
XOT_PORT: Final = 1998
EPHEMERAL_BASE: Final = 49152
FCS_LEN: Final = 4
_TCP_PSH_ACK: Final = 0x18
_CALL: Final = 0x0B
_CLEAR_CONFIRMATION: Final = 0x17


def _ethernet(direction: int, ethertype: int, payload: bytes, *, fcs: bool = False) -> bytes:
    src, dst = (LOCAL_MAC, PEER_MAC) if direction == TX else (PEER_MAC, LOCAL_MAC)
    frame = dst + src + struct.pack("!H", ethertype) + payload
    if len(frame) < ETH_MIN:
        frame += bytes(ETH_MIN - len(frame))
    if fcs:
        frame += struct.pack("<I", zlib.crc32(frame))
    return frame


def lapbether(direction: int, frame: bytes, *, length: int | None = None, fcs: bool = False) -> bytes:
    """The Ethernet frame Linux lapbether sends for one LAPB frame (``length``: its real length)."""
    real = max(len(frame), length or 0)
    return _ethernet(direction, ETHERTYPE_LAPB, struct.pack("<H", real) + frame, fcs=fcs)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass
class _Connection:
    local_port: int
    peer_port: int
    seq: list[int]  # next sequence number of each direction: [RX (the peer's), TX (ours)]


class XotStreams:
    """TCP connections of an XOT trace, one per call; builds each packet's Ethernet frame."""

    def __init__(self) -> None:
        self._connections: dict[int, _Connection] = {}
        self._next_port = EPHEMERAL_BASE
        self._ip_id = [0, 0]

    def _connection(self, lcn: int, direction: int, packet_type: int | None) -> _Connection:
        conn = self._connections.get(lcn)
        if conn is None or packet_type == _CALL:
            # The caller's end is the ephemeral one. Packets of a circuit whose call was
            # not traced (a trace started mid-call, a PVC) get a connection as if we called.
            port = self._next_port
            self._next_port = port + 1 if port < 65535 else EPHEMERAL_BASE
            caller_is_peer = packet_type == _CALL and direction == RX
            local, peer = (XOT_PORT, port) if caller_is_peer else (port, XOT_PORT)
            # Initial sequence numbers: any will do; distinct ones keep streams apart to the eye.
            conn = _Connection(local, peer, [0x20000000 + port * 0x1000, 0x10000000 + port * 0x1000])
            self._connections[lcn] = conn
        return conn

    def frame(self, direction: int, packet: bytes, *, length: int | None = None) -> bytes:
        real = max(len(packet), length or 0)
        lcn = ((packet[0] & 0x0F) << 8 | packet[1]) if len(packet) >= 2 else 0
        ptype = packet[2] if len(packet) >= 3 else None
        conn = self._connection(lcn, direction, ptype)
        xot = struct.pack("!HH", 0, real) + packet
        tcp_len = 20 + 4 + real
        seq, ack = conn.seq[direction], conn.seq[1 - direction]
        conn.seq[direction] = (seq + 4 + real) & 0xFFFFFFFF
        if direction == TX:
            src_ip, dst_ip, sport, dport = LOCAL_IP, PEER_IP, conn.local_port, conn.peer_port
        else:
            src_ip, dst_ip, sport, dport = PEER_IP, LOCAL_IP, conn.peer_port, conn.local_port
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, _TCP_PSH_ACK, 65535, 0, 0)
        pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 6, tcp_len)
        tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + xot)) + tcp[18:]
        self._ip_id[direction] = (self._ip_id[direction] + 1) & 0xFFFF
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, self._ip_id[direction], 0x4000, 64, 6, 0, src_ip, dst_ip
        )
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        if ptype == _CLEAR_CONFIRMATION:
            del self._connections[lcn]  # the call is over: the next one gets a new connection
        return _ethernet(direction, ETHERTYPE_IPV4, ip + tcp + xot)


class X25CaptureWriter:
    """Writes an X.25 port's traced frames through a pcap or pcapng writer of LINKTYPE_ETHERNET."""

    def __init__(self, inner: PcapWriter | PcapngWriter, view: X25View) -> None:
        self.inner = inner
        self.view = view
        self.xot = XotStreams()

    def write(self, t: float, direction: int, frame: bytes, length: int | None = None) -> None:
        cut = max(0, (length or 0) - len(frame))  # octets the trace left out (a frame over SNAP)
        if not frame_is_lapb(self.view, frame):
            eth = self.xot.frame(direction, frame, length=length)
            self.inner.write(t, direction, eth, len(eth) + cut)
            return
        if not isinstance(self.inner, PcapngWriter):
            eth = lapbether(direction, frame, length=length)
            self.inner.write(t, direction, eth, len(eth) + cut)
            return
        from_dte = (direction == TX) == (self.view.role == "dte")
        fcs = from_dte and not cut  # no FCS over octets we do not have
        eth = lapbether(direction, frame, length=length, fcs=fcs)
        self.inner.write(t, TX if from_dte else RX, eth, len(eth) + cut, fcs_len=FCS_LEN if fcs else 0)

    def flush(self) -> None:
        self.inner.flush()
