"""X.25 line traces as text: LAPB frames, and the X.25 packet each I frame carries.

An X.25 port's trace holds LAPB frames (address first, FCS removed) or, on
an XOT line (no LAPB), bare X.25 packets, GFI first. To tell a command from a
response, LAPB needs the frame's direction and our role: a DTE sends
commands with address B and responses with A, a DCE the other way round
(``firmware_emu.lapb.codec``). The packet's name depends on who sent it in
the same way: a DTE's Call Request arrives at the DCE, which sends an
Incoming Call.

So an X.25 trace is read under a *view name* that says all this, e.g.
``x25:lapb:dce:8`` or ``x25:xot:dte``; ``trace_name`` builds it from the
port's status when a trace starts. Plain ``x25`` (a capture of unknown
origin) reads a frame whose first octet has a zero high nibble as LAPB
(modulo 8, as a DTE sees it) and anything else as a bare packet: no X.25
packet has GFI 0, and LAPB's addresses are 0x01 and 0x03.

    LAPB SABM cmd P
    LAPB UA rsp F
    LAPB I cmd N(S)=0 N(R)=0: X.25 Restart Request cause 0x00 (dte originated) diagnostic 0 (none)
    LAPB I cmd N(S)=3 N(R)=2: X.25 Data LCN 1 P(S)=1 P(R)=0 len 84: IPv4 192.0.2.1 > 192.0.2.2 ICMP ...

The firmware's codecs decode, as the engines do; where they refuse a frame
the summary says why, and never raises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from firmware_emu.errors import ProtocolError
from firmware_emu.lapb import codec as lapb
from firmware_emu.x25 import causes
from firmware_emu.x25 import codec as x25
from firmware_emu.x25 import facilities as fac

FIRMWARE: Final = "x25"
RX: Final = 0
TX: Final = 1
HEX_PREVIEW: Final = 16
IP_USER_DATA: Final = 0xCC  # RFC 1356: an IP-over-X.25 call


def _hex(data: bytes, limit: int = HEX_PREVIEW) -> str:
    text = data[:limit].hex(" ")
    return text + (" ..." if len(data) > limit else "")


# -- the view: how to read one port's frames -----------------------------------------


@dataclass(frozen=True, slots=True)
class X25View:
    link: str = "auto"  # lapb | xot | auto (LAPB or bare packet, from the first octet)
    role: str = "dte"  # ours: LAPB's station, or the packet layer's on XOT
    modulo: int = 8  # LAPB's (the packet's own comes with each packet's GFI)

    @property
    def name(self) -> str:
        if self.link == "auto":
            return FIRMWARE
        if self.link == "xot":
            return f"{FIRMWARE}:xot:{self.role}"
        return f"{FIRMWARE}:lapb:{self.role}:{self.modulo}"

    @property
    def peer_role(self) -> str:
        return "dce" if self.role == "dte" else "dte"


def is_x25(name: str) -> bool:
    return name.partition(":")[0] == FIRMWARE


def parse_view(name: str) -> X25View:
    """The view a name gives (``x25``, ``x25:xot:dte``, ``x25:lapb:dce:128``); unknown words are ignored."""
    words = name.split(":")[1:]
    link = next((w for w in words if w in ("lapb", "xot")), "auto")
    role = next((w for w in words if w in ("dte", "dce")), "dte")
    modulo = 128 if "128" in words else 8
    return X25View(link, role, modulo)


def trace_name(protocol: Mapping[str, Any] | None) -> str:
    """The view name for a port whose engine status (X25Engine.status()) is ``protocol``."""
    if not isinstance(protocol, Mapping):
        return FIRMWARE
    link = protocol.get("link")
    plp = protocol.get("packet_layer")
    plp = plp if isinstance(plp, Mapping) else {}
    if not isinstance(link, Mapping):
        return FIRMWARE
    if link.get("type") == "xot":
        return X25View("xot", str(plp.get("role") or "dte")).name
    role = str(link.get("role") or plp.get("role") or "dte")
    return X25View("lapb", role, 128 if link.get("modulo") == 128 else 8).name


def frame_is_lapb(view: X25View, frame: bytes) -> bool:
    if view.link != "auto":
        return view.link == "lapb"
    return bool(frame) and frame[0] >> 4 == 0


# -- LAPB -------------------------------------------------------------------------------


def _lapb_sender(view: X25View, direction: int | None) -> str | None:
    if direction is None:
        return None
    return view.role if direction == TX else view.peer_role


def summarize_lapb(view: X25View, frame: bytes, direction: int | None) -> str:
    sender = _lapb_sender(view, direction)
    if sender is None:
        return _lapb_undirected(view, frame)
    receiver = "dce" if sender == "dte" else "dte"
    try:
        f = lapb.decode(frame, view.modulo, receiver)
    except lapb.BadAddressError:
        return f"LAPB address 0x{frame[0]:02x} (neither A nor B): {_hex(frame)}"
    except lapb.FrameRejectError as exc:
        return f"LAPB invalid ({exc}): {_hex(frame)}"
    except ProtocolError as exc:
        return f"LAPB malformed ({exc}): {_hex(frame)}"
    return _lapb_text(f, view, sender)


def _lapb_undirected(view: X25View, frame: bytes) -> str:
    """Without a direction, only the address letter can be said, not command or response."""
    if len(frame) < 2:
        return f"LAPB malformed: {_hex(frame)}"
    letter = {lapb.ADDR_A: "A", lapb.ADDR_B: "B"}.get(frame[0])
    if letter is None:
        return f"LAPB address 0x{frame[0]:02x} (neither A nor B): {_hex(frame)}"
    # As the DTE receives it, A is a command: decode that way, then drop the reading.
    for receiver in ("dte", "dce"):
        try:
            f = lapb.decode(frame, view.modulo, receiver)
        except lapb.FrameRejectError:
            continue
        except ProtocolError as exc:
            return f"LAPB malformed ({exc}): {_hex(frame)}"
        return _lapb_text(f, view, None, f"address {letter}")
    return f"LAPB invalid: {_hex(frame)}"


def _lapb_text(f: lapb.Frame, view: X25View, sender: str | None, who: str | None = None) -> str:
    kind = f.type
    head = f"LAPB {kind.value} {who or ('cmd' if f.command else 'rsp')}"
    if kind is lapb.FrameType.I:
        head += f" N(S)={f.ns} N(R)={f.nr}"
    elif kind in lapb.S_CODE:
        head += f" N(R)={f.nr}"
    if f.pf:
        head += " P" if f.command else " F"
    if kind is lapb.FrameType.I:
        return f"{head}: {summarize_packet(f.info, sender)}" if f.info else f"{head} (empty)"
    if kind is lapb.FrameType.FRMR:
        return head + _frmr(f, view)
    return head


def _frmr(f: lapb.Frame, view: X25View) -> str:
    info = f.frmr
    if info is None:
        return f": information field {_hex(f.info)}" if f.info else ""
    flags = " ".join(n for bit, n in ((1, "W"), (2, "X"), (4, "Y"), (8, "Z")) if info.flags & bit)
    what = "response" if info.response else "command"
    return f": rejected {what} control 0x{info.control.hex()} V(S)={info.vs} V(R)={info.vr}" + (
        f" {flags}" if flags else ""
    )


# -- X.25 packets -------------------------------------------------------------------------

T = x25.PacketType
# (sent by a DTE, sent by a DCE)
_NAMES: Final[dict[x25.PacketType, tuple[str, str]]] = {
    T.CALL: ("Call Request", "Incoming Call"),
    T.CALL_ACCEPTED: ("Call Accepted", "Call Connected"),
    T.CLEAR: ("Clear Request", "Clear Indication"),
    T.RESET: ("Reset Request", "Reset Indication"),
    T.RESTART: ("Restart Request", "Restart Indication"),
}
_FIXED_NAMES: Final[dict[x25.PacketType, str]] = {
    T.CLEAR_CONFIRMATION: "Clear Confirmation",
    T.DATA: "Data",
    T.INTERRUPT: "Interrupt",
    T.INTERRUPT_CONFIRMATION: "Interrupt Confirmation",
    T.RR: "RR",
    T.RNR: "RNR",
    T.REJ: "REJ",
    T.RESET_CONFIRMATION: "Reset Confirmation",
    T.RESTART_CONFIRMATION: "Restart Confirmation",
    T.DIAGNOSTIC: "Diagnostic",
    T.REGISTRATION: "Registration Request",
    T.REGISTRATION_CONFIRMATION: "Registration Confirmation",
}
_CAUSE_NAMES: Final[dict[x25.PacketType, Callable[[int], str]]] = {
    T.CLEAR: causes.clear_cause_name,
    T.RESET: causes.reset_cause_name,
    T.RESTART: causes.restart_cause_name,
}


def packet_name(ptype: x25.PacketType, sender: str | None) -> str:
    pair = _NAMES.get(ptype)
    if pair is None:
        return _FIXED_NAMES.get(ptype, ptype.name)
    if sender is None:
        return "/".join(pair)
    return pair[0] if sender == "dte" else pair[1]


def _cause(ptype: x25.PacketType, cause: int) -> str:
    if cause & 0x80:  # a DTE's own cause, passed through the network unchanged
        return f"cause 0x{cause:02x} (DTE originated)"
    return f"cause 0x{cause:02x} ({_CAUSE_NAMES[ptype](cause)})"


def _diagnostic(code: int) -> str:
    return f"diagnostic {code} ({causes.diagnostic_name(code)})"


def _facilities(field: bytes) -> str:
    try:
        parsed = fac.parse(field)
    except ProtocolError:
        return f" facilities {field.hex()} (invalid)"
    parts = []
    if parsed.packet_size is not None:
        parts.append("packet size {}/{}".format(*parsed.packet_size))
    if parsed.window is not None:
        parts.append("window {}/{}".format(*parsed.window))
    if parsed.other:
        parts.append(f"other {parsed.other.hex()}")
    return f" [{', '.join(parts)}]" if parts else ""


def _user_data(data: bytes, what: str) -> str:
    if not data:
        return ""
    if data[0] == IP_USER_DATA:
        return f" {what} cc (IP)" + (f" +{_hex(data[1:])}" if len(data) > 1 else "")
    return f" {what} {_hex(data)}"


def _data_text(p: x25.Packet) -> str:
    from wand.trace_format import summarize_ipv4

    data = p.data
    text = f" len {len(data)}"
    if len(data) >= 20 and data[0] >> 4 == 4 and (data[0] & 0x0F) >= 5:
        total = struct.unpack_from("!H", data, 2)[0]
        # A whole datagram, or the first packet of one cut into an M-bit sequence; a
        # later packet of a sequence rarely looks like this (its length would not fit).
        if (not p.m and total == len(data)) or (p.m and total > len(data)):
            text += f": {summarize_ipv4(data)}" + (" (first of an M-bit sequence)" if p.m else "")
    return text


def summarize_packet(data: bytes, sender: str | None = None) -> str:
    """One X.25 packet; ``sender`` is "dte", "dce" or None (unknown) and only chooses names."""
    try:
        p = x25.decode(data)
    except x25.PacketError as exc:
        where = f" LCN {exc.lcn}" if exc.lcn is not None else ""
        return f"X.25 invalid{where} ({exc}, diagnostic {exc.diagnostic}): {_hex(data)}"
    except ProtocolError as exc:
        return f"X.25 malformed ({exc}): {_hex(data)}"
    name = packet_name(p.type, sender)
    text = f"X.25 {name}" if p.type in x25.LCN0_TYPES else f"X.25 {name} LCN {p.lcn}"
    t = p.type
    if t is T.DATA:
        text += f" P(S)={p.ps} P(R)={p.pr}"
        text += "".join(f" {flag}" for flag, on in (("M", p.m), ("D", p.d), ("Q", p.q)) if on)
        text += _data_text(p)
    elif t in (T.RR, T.RNR, T.REJ):
        text += f" P(R)={p.pr}"
    elif t in (T.CALL, T.CALL_ACCEPTED):
        if p.facilities is not None:  # the extended format (always, in a call)
            if p.calling or p.called:
                text += f" from {p.calling or '-'} to {p.called or '-'}"
            text += _facilities(p.facilities)
            text += _user_data(p.data, "CUD" if t is T.CALL else "user data")
        if p.d:
            text += " D"
    elif t in _CAUSE_NAMES:
        text += f" {_cause(t, p.cause)}"
        if p.diagnostic is not None:
            text += f" {_diagnostic(p.diagnostic)}"
        if p.facilities is not None:
            text += _facilities(p.facilities) + _user_data(p.data, "clear user data")
    elif t is T.INTERRUPT:
        text += f" data {_hex(p.data)}"
    elif t is T.DIAGNOSTIC:
        text += f" {_diagnostic(p.diagnostic or 0)}"
        if p.data:
            text += f" about {_hex(p.data)}"
    elif p.data:
        text += f" +{_hex(p.data)}"
    if p.modulo == 128:
        text += " (modulo 128)"
    return text


# -- the whole frame ------------------------------------------------------------------------


def summarize(name: str, frame: bytes, direction: int | None = None) -> str:
    """One line about a traced frame of an X.25 port read under view ``name``."""
    view = parse_view(name)
    if frame_is_lapb(view, frame):
        return summarize_lapb(view, frame, direction)
    sender = None if direction is None else (view.role if direction == TX else view.peer_role)
    return summarize_packet(frame, sender)
