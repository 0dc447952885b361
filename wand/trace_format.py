"""Line trace frames as a network engineer reads them: one line per frame.

``summarize(firmware, frame)`` turns a traced frame (address field first, no
FCS) into a short description, e.g.::

    LMI STATUS ENQUIRY full status seq 5/4 (ANSI)
    DLCI 16 IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 1
    SLARP keepalive 12/11
    LCP Configure-Request id 3 MRU 1500 Magic 0x1a2b3c4d

The firmware's own codecs do the decoding where they exist, so the trace reads
frames exactly as the engines do; where they are strict (they raise on
anything malformed) the summary says what is wrong instead of failing. A trace
must never stop on a frame it cannot read: every path ends in a hex excerpt.

``format_interpreted`` / ``format_raw`` lay out whole trace lines (``ti`` and
``tr``), ``record_json`` the ``--json`` form.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
import time
from collections.abc import Callable
from typing import Any, Final

from firmware_emu.chdlc import codec as chdlc
from firmware_emu.errors import ProtocolError
from firmware_emu.fr import encap as fr_encap
from firmware_emu.fr import inarp, lmi_codec, q922
from firmware_emu.ppp import packet as ppp

RX: Final = 0
TX: Final = 1
DIRECTION_NAMES: Final = {RX: "IN ", TX: "OUT"}
HEX_PREVIEW: Final = 16  # octets shown of a frame nothing else could be said about


def _hex(data: bytes, limit: int = HEX_PREVIEW) -> str:
    text = data[:limit].hex(" ")
    return text + (" ..." if len(data) > limit else "")


# -- IP and what it carries -----------------------------------------------------

_ICMP_TYPES: Final = {
    0: "echo reply",
    3: "destination unreachable",
    4: "source quench",
    5: "redirect",
    8: "echo request",
    11: "time exceeded",
    12: "parameter problem",
}
_ICMP6_TYPES: Final = {
    1: "destination unreachable",
    2: "packet too big",
    3: "time exceeded",
    4: "parameter problem",
    128: "echo request",
    129: "echo reply",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
    143: "MLDv2 report",
}
_TCP_FLAGS: Final = ((0x02, "S"), (0x10, "."), (0x08, "P"), (0x01, "F"), (0x04, "R"), (0x20, "U"))
_IP_PROTOCOLS: Final = {
    1: "ICMP",
    2: "IGMP",
    6: "TCP",
    17: "UDP",
    47: "GRE",
    50: "ESP",
    58: "ICMPv6",
    89: "OSPF",
}
_IPV6_EXTENSIONS: Final = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options


def _transport(proto: int, data: bytes, src: str, dst: str, *, v6: bool) -> str:
    name = _IP_PROTOCOLS.get(proto, f"protocol {proto}")
    if proto in (1, 58) and len(data) >= 4:
        kind, code = data[0], data[1]
        types = _ICMP6_TYPES if v6 else _ICMP_TYPES
        text = f"{src} > {dst} {name} {types.get(kind, f'type {kind}')}"
        if kind in ((128, 129) if v6 else (0, 8)) and len(data) >= 8:
            ident, seq = struct.unpack_from("!HH", data, 4)
            text += f" id {ident} seq {seq}"
        elif code:
            text += f" code {code}"
        return text
    if proto in (6, 17) and len(data) >= 4:
        sport, dport = struct.unpack_from("!HH", data)
        text = f"{src}.{sport} > {dst}.{dport} {name}"
        if proto == 6 and len(data) >= 20:
            seq, ack, offset, flags = struct.unpack_from("!IIBB", data, 4)
            shown = "".join(c for bit, c in _TCP_FLAGS if flags & bit) or "none"
            text += f" [{shown}] seq {seq}"
            if flags & 0x10:
                text += f" ack {ack}"
            text += f" len {max(0, len(data) - (offset >> 4) * 4)}"
        elif proto == 17:
            text += f" len {max(0, len(data) - 8)}"
        return text
    return f"{src} > {dst} {name}"


def summarize_ipv4(packet: bytes) -> str:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return f"IPv4 malformed: {_hex(packet)}"
    ihl = (packet[0] & 0x0F) * 4
    total = int.from_bytes(packet[2:4], "big")
    frag = int.from_bytes(packet[6:8], "big")
    src = str(ipaddress.IPv4Address(packet[12:16]))
    dst = str(ipaddress.IPv4Address(packet[16:20]))
    payload = packet[ihl:total] if ihl <= total <= len(packet) else packet[ihl:]
    if frag & 0x1FFF:  # a later fragment: no transport header in it
        return f"IPv4 {src} > {dst} {_IP_PROTOCOLS.get(packet[9], packet[9])} fragment offset {(frag & 0x1FFF) * 8}"
    return f"IPv4 {_transport(packet[9], payload, src, dst, v6=False)}"


def summarize_ipv6(packet: bytes) -> str:
    if len(packet) < 40 or packet[0] >> 4 != 6:
        return f"IPv6 malformed: {_hex(packet)}"
    src = str(ipaddress.IPv6Address(packet[8:24]))
    dst = str(ipaddress.IPv6Address(packet[24:40]))
    proto, at = packet[6], 40
    while proto in _IPV6_EXTENSIONS and at + 2 <= len(packet):
        proto, at = packet[at], at + (packet[at + 1] + 1) * 8
    return f"IPv6 {_transport(proto, packet[at:], src, dst, v6=True)}"


def _mac(data: bytes) -> str:
    return ":".join(f"{b:02x}" for b in data)


def summarize_ethernet(frame: bytes) -> str:
    if len(frame) < 14:
        return f"Ethernet malformed: {_hex(frame)}"
    ethertype = int.from_bytes(frame[12:14], "big")
    head = f"Ethernet {_mac(frame[6:12])} > {_mac(frame[0:6])}"
    inner = _ETHERTYPES.get(ethertype)
    if inner is not None:
        return f"{head} {inner(frame[14:])}"
    return f"{head} ethertype 0x{ethertype:04x}"


def _arp(packet: bytes) -> str:
    if len(packet) < 28:
        return f"ARP malformed: {_hex(packet)}"
    op = int.from_bytes(packet[6:8], "big")
    spa, tpa = ipaddress.IPv4Address(packet[14:18]), ipaddress.IPv4Address(packet[24:28])
    if op == 1:
        return f"ARP who-has {tpa} tell {spa}"
    if op == 2:
        return f"ARP reply {spa} is-at {_mac(packet[8:14])}"
    return f"ARP op {op}"


_ETHERTYPES: Final[dict[int, Callable[[bytes], str]]] = {
    0x0800: summarize_ipv4,
    0x86DD: summarize_ipv6,
    0x0806: _arp,
}


# -- Frame Relay ------------------------------------------------------------------

_REPORTS: Final = {
    lmi_codec.ReportType.FULL_STATUS: "full status",
    lmi_codec.ReportType.LINK_INTEGRITY: "link integrity",
    lmi_codec.ReportType.SINGLE_PVC: "single PVC (asynchronous)",
}
_VARIANT_NAMES: Final = {
    lmi_codec.Variant.ANSI: "ANSI",
    lmi_codec.Variant.Q933: "Q.933",
    lmi_codec.Variant.CISCO: "Cisco",
}


def _lmi_variant(dlci: int, frame: bytes) -> lmi_codec.Variant | None:
    """Which LMI a frame is, from where it travels and its protocol discriminator."""
    if len(frame) < 6 or frame[2] != fr_encap.CONTROL_UI:
        return None
    if dlci == 0 and frame[3] == fr_encap.NLPID_Q933:
        # ANSI's IEs are in codeset 5: a locking shift follows the message type.
        return lmi_codec.Variant.ANSI if frame[6:7] == b"\x95" else lmi_codec.Variant.Q933
    if dlci == 1023 and frame[3] == fr_encap.NLPID_CISCO_LMI:
        return lmi_codec.Variant.CISCO
    return None


def _pvc(p: lmi_codec.PvcStatus) -> str:
    states = [s for s, on in (("new", p.new), ("deleted", p.delete)) if on]
    states.append("active" if p.active else "inactive")
    text = f"DLCI {p.dlci} {' '.join(states)}"
    return text + (f" {p.bandwidth} b/s" if p.bandwidth else "")


def summarize_lmi(variant: lmi_codec.Variant, frame: bytes) -> str:
    name = _VARIANT_NAMES[variant]
    try:
        msg = lmi_codec.decode(variant, frame)
    except ProtocolError as exc:
        return f"LMI malformed ({name}): {exc}"
    kind = "STATUS ENQUIRY" if msg.message_type is lmi_codec.MessageType.STATUS_ENQUIRY else "STATUS"
    text = f"LMI {kind} {_REPORTS[msg.report_type]}"
    if msg.integrity is not None:
        text += f" seq {msg.integrity.send_seq}/{msg.integrity.recv_seq}"
    text += f" ({name})"
    if msg.pvcs:
        text += ": " + ", ".join(_pvc(p) for p in msg.pvcs)
    return text


def _inarp(packet: bytes) -> str:
    try:
        hrd, pro, hln, pln, op = struct.unpack_from("!HHBBH", packet)
    except struct.error:
        return f"InARP malformed: {_hex(packet)}"
    if op not in (inarp.Op.REQUEST, inarp.Op.REPLY) or (hln, pln) != (2, 4) or len(packet) < inarp.PACKET_LEN:
        return _arp(packet) if hrd == 1 else f"ARP hrd {hrd} op {op}: {_hex(packet)}"
    sender = ipaddress.IPv4Address(packet[10:14])
    target = ipaddress.IPv4Address(packet[16:20])
    if op == inarp.Op.REQUEST:
        return f"InARP request from {sender}"
    return f"InARP reply {sender} (to {target})"


# octets after the address -> (what, offset of its payload from the frame start)
_FR_IETF_SHORT: Final = {b"\x03\xcc": "ipv4", b"\x03\x8e": "ipv6"}
_FR_IETF_SNAP: Final = {
    b"\x03\x00\x80\x00\x00\x00\x08\x00": "ipv4",
    b"\x03\x00\x80\x00\x00\x00\x86\xdd": "ipv6",
    b"\x03\x00\x80\x00\x00\x00\x08\x06": "arp",
    b"\x03\x00\x80\x00\x80\xc2\x00\x07": "ether",
    b"\x03\x00\x80\x00\x80\xc2\x00\x01": "ether",  # bridged with the LAN FCS kept
}
_FR_CISCO: Final = {b"\x08\x00": "ipv4", b"\x86\xdd": "ipv6", b"\x08\x06": "arp", b"\x65\x58": "ether"}
_PAYLOADS: Final[dict[str, Callable[[bytes], str]]] = {
    "ipv4": summarize_ipv4,
    "ipv6": summarize_ipv6,
    "arp": _inarp,
    "ether": summarize_ethernet,
}


def summarize_fr(frame: bytes) -> str:
    try:
        addr = q922.decode_address(frame)
    except ProtocolError as exc:
        return f"malformed: {exc}: {_hex(frame)}"
    variant = _lmi_variant(addr.dlci, frame)
    if variant is not None:
        return summarize_lmi(variant, frame)
    flags = " ".join(f for f, on in (("FECN", addr.fecn), ("BECN", addr.becn), ("DE", addr.de)) if on)
    head = f"DLCI {addr.dlci}" + (f" [{flags}]" if flags else "")
    if (kind := _FR_IETF_SHORT.get(frame[2:4])) is not None:
        return f"{head} {_PAYLOADS[kind](frame[4:])}"
    if (kind := _FR_IETF_SNAP.get(frame[2:10])) is not None:
        return f"{head} {_PAYLOADS[kind](frame[10:])}"
    if frame[2:3] == b"\x03":
        return f"{head} NLPID 0x{frame[3]:02x}: {_hex(frame[4:])}" if len(frame) > 3 else f"{head} empty"
    if (kind := _FR_CISCO.get(frame[2:4])) is not None:
        return f"{head} {_PAYLOADS[kind](frame[4:])} (Cisco encapsulation)"
    return f"{head} unknown encapsulation: {_hex(frame[2:])}"


# -- Cisco HDLC -------------------------------------------------------------------

_CHDLC_PAYLOADS: Final[dict[int, Callable[[bytes], str]]] = {
    chdlc.ETHERTYPE_IPV4: summarize_ipv4,
    chdlc.ETHERTYPE_IPV6: summarize_ipv6,
    chdlc.ETHERTYPE_BRIDGED: summarize_ethernet,
    chdlc.ETHERTYPE_CDP: lambda data: f"CDP ({len(data)} octets)",
}


def summarize_slarp(data: bytes) -> str:
    try:
        msg = chdlc.decode_slarp(data)
    except ProtocolError as exc:
        return f"SLARP malformed: {exc}"
    if isinstance(msg, chdlc.Keepalive):
        return f"SLARP keepalive {msg.my_seq}/{msg.your_seq}"
    if msg.code is chdlc.SlarpCode.REQUEST:
        return "SLARP address request"
    return f"SLARP address reply {msg.address} {msg.mask}"


def summarize_chdlc(frame: bytes) -> str:
    if len(frame) < chdlc.HEADER_LEN:
        return f"malformed: {len(frame)} octets: {_hex(frame)}"
    address, control, protocol = struct.unpack_from("!BBH", frame)
    data = frame[chdlc.HEADER_LEN :]
    odd = ""
    if address not in (chdlc.ADDR_UNICAST, chdlc.ADDR_BROADCAST) or control != chdlc.CONTROL:
        odd = f" (address 0x{address:02x} control 0x{control:02x})"
    if protocol == chdlc.ETHERTYPE_SLARP:
        return summarize_slarp(data) + odd
    handler = _CHDLC_PAYLOADS.get(protocol)
    if handler is not None:
        return handler(data) + odd
    return f"protocol 0x{protocol:04x}{odd}: {_hex(data)}"


# -- PPP -------------------------------------------------------------------------

_CODES: Final = {
    1: "Configure-Request",
    2: "Configure-Ack",
    3: "Configure-Nak",
    4: "Configure-Reject",
    5: "Terminate-Request",
    6: "Terminate-Ack",
    7: "Code-Reject",
    8: "Protocol-Reject",
    9: "Echo-Request",
    10: "Echo-Reply",
    11: "Discard-Request",
    12: "Identification",
    13: "Time-Remaining",
}
_PPP_PROTOCOLS: Final = {
    ppp.LCP: "LCP",
    ppp.IPCP: "IPCP",
    ppp.IPV6CP: "IPV6CP",
    ppp.PAP: "PAP",
    ppp.CHAP: "CHAP",
    ppp.IPV4: "IPv4",
    ppp.IPV6: "IPv6",
    0x80FD: "CCP",
    0x8031: "BCP",
    0xC025: "LQR",
}
_AUTH_PROTOCOLS: Final = {ppp.PAP: "PAP", ppp.CHAP: "CHAP"}
_CHAP_ALGORITHMS: Final = {5: "MD5", 0x80: "MS-CHAP", 0x81: "MS-CHAPv2"}


def _u(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _lcp_option(kind: int, value: bytes) -> str:
    if kind == 1 and len(value) == 2:
        return f"MRU {_u(value)}"
    if kind == 2 and len(value) == 4:
        return f"ACCM 0x{_u(value):08x}"
    if kind == 3 and len(value) >= 2:
        name = _AUTH_PROTOCOLS.get(_u(value[:2]), f"0x{_u(value[:2]):04x}")
        if name == "CHAP" and len(value) >= 3:
            name += f"/{_CHAP_ALGORITHMS.get(value[2], value[2])}"
        return f"Auth-Protocol {name}"
    if kind == 4 and len(value) >= 2:
        return f"Quality-Protocol 0x{_u(value[:2]):04x}"
    if kind == 5 and len(value) == 4:
        return f"Magic 0x{_u(value):08x}"
    if kind == 7 and not value:
        return "PFC"
    if kind == 8 and not value:
        return "ACFC"
    return _unknown_option(kind, value)


def _ipcp_option(kind: int, value: bytes) -> str:
    if kind == 3 and len(value) == 4:
        return f"IP-Address {ipaddress.IPv4Address(value)}"
    if kind == 2 and len(value) >= 2:
        return f"IP-Compression 0x{_u(value[:2]):04x}"
    names = {129: "Primary-DNS", 130: "Primary-NBNS", 131: "Secondary-DNS", 132: "Secondary-NBNS"}
    if kind in names and len(value) == 4:
        return f"{names[kind]} {ipaddress.IPv4Address(value)}"
    return _unknown_option(kind, value)


def _ipv6cp_option(kind: int, value: bytes) -> str:
    if kind == 1 and len(value) == 8:
        iid = value.hex()
        return "Interface-Id " + ":".join(iid[i : i + 4] for i in range(0, 16, 4))
    return _unknown_option(kind, value)


def _unknown_option(kind: int, value: bytes) -> str:
    return f"option {kind}" + (f" {value.hex()}" if value else "")


_OPTION_NAMERS: Final[dict[int, Callable[[int, bytes], str]]] = {
    ppp.LCP: _lcp_option,
    ppp.IPCP: _ipcp_option,
    ppp.IPV6CP: _ipv6cp_option,
}


def _control(protocol: int, name: str, info: bytes) -> str:
    """LCP and the NCPs: code, identifier and what the code carries."""
    try:
        packet = ppp.parse_packet(info)
    except ProtocolError as exc:
        return f"{name} malformed: {exc}"
    code = _CODES.get(packet.code, f"code {packet.code}")
    text = f"{name} {code} id {packet.identifier}"
    data = packet.data
    if packet.code in (1, 2, 3, 4):
        try:
            options = ppp.parse_options(data)
        except ProtocolError as exc:
            return f"{text} malformed options: {exc}"
        namer = _OPTION_NAMERS.get(protocol, _unknown_option)
        return " ".join([text, *(namer(k, v) for k, v in options)])
    if protocol == ppp.LCP and packet.code in (9, 10, 11, 12, 13) and len(data) >= 4:
        return f"{text} Magic 0x{_u(data[:4]):08x}"
    if protocol == ppp.LCP and packet.code == 8 and len(data) >= 2:
        rejected = _u(data[:2])
        return f"{text} protocol {_PPP_PROTOCOLS.get(rejected, f'0x{rejected:04x}')}"
    if packet.code == 7 and len(data) >= 4:
        return f"{text} rejected code {data[0]} id {data[1]}"
    if packet.code in (5, 6) and data:
        return f"{text} {data.decode('ascii', 'replace')!r}"
    return text


def _pap(info: bytes) -> str:
    try:
        packet = ppp.parse_packet(info)
    except ProtocolError as exc:
        return f"PAP malformed: {exc}"
    data = packet.data
    head = f"id {packet.identifier}"
    if packet.code == 1 and data:
        user = data[1 : 1 + data[0]].decode("utf-8", "replace")
        return f"PAP Authenticate-Request {head} user {user!r}"  # the password stays off the screen
    if packet.code in (2, 3):
        message = data[1 : 1 + data[0]].decode("utf-8", "replace") if data else ""
        kind = "Authenticate-Ack" if packet.code == 2 else "Authenticate-Nak"
        return f"PAP {kind} {head}" + (f" {message!r}" if message else "")
    return f"PAP code {packet.code} {head}"


def _chap(info: bytes) -> str:
    try:
        packet = ppp.parse_packet(info)
    except ProtocolError as exc:
        return f"CHAP malformed: {exc}"
    data = packet.data
    head = f"id {packet.identifier}"
    if packet.code in (1, 2) and data:
        size = data[0]
        name = data[1 + size :].decode("utf-8", "replace")
        kind = "Challenge" if packet.code == 1 else "Response"
        return f"CHAP {kind} {head} value {size} octets name {name!r}"
    if packet.code in (3, 4):
        kind = "Success" if packet.code == 3 else "Failure"
        message = data.decode("utf-8", "replace")
        return f"CHAP {kind} {head}" + (f" {message!r}" if message else "")
    return f"CHAP code {packet.code} {head}"


def summarize_ppp(frame: bytes) -> str:
    try:
        protocol, at = ppp.split_frame(frame)
    except ProtocolError as exc:
        return f"malformed: {exc}: {_hex(frame)}"
    info = frame[at:]
    if protocol == ppp.IPV4:
        return summarize_ipv4(info)
    if protocol == ppp.IPV6:
        return summarize_ipv6(info)
    if protocol == ppp.PAP:
        return _pap(info)
    if protocol == ppp.CHAP:
        return _chap(info)
    name = _PPP_PROTOCOLS.get(protocol)
    if name is not None and protocol & 0x8000:  # a control protocol: LCP, NCPs, CCP...
        return _control(protocol, name, info)
    return f"protocol 0x{protocol:04x}: {_hex(info)}"


# -- the whole line ----------------------------------------------------------------

SUMMARIZERS: Final[dict[str, Callable[[bytes], str]]] = {
    "frame_relay": summarize_fr,
    "chdlc": summarize_chdlc,
    "ppp": summarize_ppp,
}


def summarize(firmware: str, frame: bytes, direction: int | None = None) -> str:
    """One line about `frame`; never raises, whatever the frame holds.

    `firmware` may be a trace view name (``trace_name``): X.25 reads its frames
    as LAPB or XOT, and needs the direction to tell LAPB commands from responses.
    """
    summarizer = SUMMARIZERS.get(firmware)
    if summarizer is None and firmware.partition(":")[0] == "x25":
        from wand import trace_x25  # it uses this module's IP summaries: imported when needed

        summarizer = functools.partial(trace_x25.summarize, firmware, direction=direction)
    if summarizer is None:
        return _hex(frame)
    try:
        return summarizer(frame)
    except Exception as exc:  # a bug here must not end a live trace: say so and carry on
        return f"undecodable ({type(exc).__name__}: {exc}): {_hex(frame)}"


def trace_name(firmware: str, engine_status: Callable[[], dict[str, Any]]) -> str:
    """The name a port's trace is read under: its firmware, qualified where the frames need
    more to be read right (X.25: LAPB or XOT, our role, LAPB's modulo; see wand.trace_x25).
    `engine_status` (the port engine's status method) is only called when it matters."""
    if firmware == "x25":
        from wand import trace_x25

        return trace_x25.trace_name(engine_status())
    return firmware


def timestamp(t: float) -> str:
    """Local wall-clock time of day with microseconds, as tcpdump prints it."""
    sec, usec = divmod(round(t * 1_000_000), 1_000_000)
    return time.strftime("%H:%M:%S", time.localtime(sec)) + f".{usec:06d}"


def format_interpreted(firmware: str, t: float, direction: int, frame: bytes) -> str:
    return f"{timestamp(t)} {DIRECTION_NAMES.get(direction, '?  ')} {summarize(firmware, frame, direction)}"


def hexdump(frame: bytes, width: int = 16) -> list[str]:
    """Offset, hex and printable ASCII, `width` octets a line."""
    lines = []
    for at in range(0, len(frame), width):
        chunk = frame[at : at + width]
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"  {at:04x}  {chunk.hex(' '):<{width * 3 - 1}}  {text}")
    return lines


def _length(frame: bytes, length: int | None) -> str:
    """The frame's length, and how much of it is shown when it was cut short on the way."""
    if length is None or length <= len(frame):
        return f"len {len(frame)}"
    return f"len {length} (first {len(frame)} shown)"


def format_raw(t: float, direction: int, frame: bytes, length: int | None = None) -> str:
    head = f"{timestamp(t)} {DIRECTION_NAMES.get(direction, '?  ')} {_length(frame, length)}"
    return "\n".join([head, *hexdump(frame)])


def record_json(
    firmware: str, t: float, direction: int, frame: bytes, *, interpret: bool, length: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": round(t, 6),
        "direction": "out" if direction == TX else "in",
        "length": max(len(frame), length or 0),
        "hex": frame.hex(),
    }
    if interpret:
        out["summary"] = summarize(firmware, frame, direction)
    return out
