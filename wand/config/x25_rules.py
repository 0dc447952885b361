"""The X.25 `protocol:` section (LAPB and the packet layer) and the X.25 interfaces.

Key names follow WANPIPE's wanpipe.conf X.25 section where it has one (STATION,
PACKETWINDOW, HDLCWINDOW, T1, T2, N2, T10_T20..T13_T23, the LOWEST/HIGHEST
PVC and SVC numbers as `lcns` ranges), in the snake_case of the other
sections. Limits are ITU-T X.25's: packet sizes are powers of two from 16 to
4096 octets; windows are 1..7 with modulo 8 and 1..127 with modulo 128 (at
both layers); logical channel numbers are 12 bits, 1..4095 (LCN 0 carries
restarts); X.121 addresses are up to 15 decimal digits. A line runs at most
MAX_CIRCUITS circuits, PVCs included.

An interface is an IP channel over a PVC (`pvc: N`), over SVCs to one remote
address (`remote:`), or the line's X.25 API socket (`mode: api`), which gets
every call no IP channel takes (firmware_emu.x25.config).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from firmware_emu.errors import LocalProtocolError
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.x25.config import X25Channel, X25Config, svc_channel
from firmware_emu.x25.facilities import PACKET_SIZES
from firmware_emu.x25.layer import PacketLayerConfig
from wand.config.fields import INVALID, Invalid, Section, as_int, as_list, as_section, is_null, item, kind
from wand.config.iface_rules import (
    API,
    SINGLE_CHANNEL,
    SingleChannel,
    interface_name,
    interface_settings,
    says,
)
from wand.config.model import InterfaceConfig
from wand.config.yamlpos import Map, Scalar

X25_KEYS = (
    "type",
    "station",
    "address",
    "modulo",
    "packet_size",
    "max_packet_size",
    "window",
    "lcns",
    "timers",
    "lapb",
)
LCN_KEYS = ("pvc", "incoming", "two_way", "outgoing")
RANGES = ("incoming", "two_way", "outgoing")  # as seen by the DTE, in X.25 Annex A's order
TIMER_KEYS = ("t20", "t21", "t22", "t23")
LAPB_KEYS = ("modulo", "window", "t1", "t2", "n2", "n1")
X25_IFACE_KEYS = (
    "name",
    "mode",
    "pvc",
    "remote",
    "call",
    "idle_timeout",
    "address",
    "peer",
    "prefix",
    "mtu",
    "routes",
    "dlci",  # known only to say why it does not apply
)
STATIONS = ("dte", "dce")
# Frame Relay's words for the same two ends; DTE and DCE as wanpipe.conf writes them get a hint.
STATION_ALIASES = {"cpe": "dte", "user": "dte", "node": "dce", "network": "dce", "dte": "dte", "dce": "dce"}
CALLS = ("auto", "accept")  # auto: call on first traffic; accept: only answer the remote's calls
CALL_ALIASES = {"out": "auto", "call": "auto", "in": "accept", "answer": "accept"}
MODULOS = (8, 128)

MAX_CIRCUITS: Final = 255  # the packet layer's limit per line (firmware_emu.x25.layer)
LCN_MAX: Final = 4095  # 12 bits; LCN 0 is the restart and diagnostic channel
X121_DIGITS: Final = 15
# Room in a LAPB I frame beyond a data packet's data field for the largest other
# packet: a clear with cause and diagnostic (2), address block (1 + 15), facilities
# (1 + 109) and 128 octets of clear user data.
CONTROL_ROOM: Final = 256
XOT_NO_PVCS: Final = "XOT carries SVCs only (a TCP connection per call): PVCs need a LAPB line"

X25_INTERFACE = SingleChannel(protocol="x25", title="X.25", modes=("ip", API), learn_word="", learn_prefix=30)
API_CHANNEL: Final = SINGLE_CHANNEL  # InterfaceConfig.channel of the API interface


@dataclass(frozen=True)
class Lcns:
    """The logical channel plan: PVC numbers and the inclusive SVC ranges."""

    pvcs: tuple[int, ...] = ()
    incoming: tuple[int, int] | None = None
    two_way: tuple[int, int] | None = PacketLayerConfig.two_way
    outgoing: tuple[int, int] | None = None

    def can_call(self, station: str, out: bool) -> bool:
        """Whether a DTE or DCE has LCNs to place (`out`) or receive calls on.

        The ranges are named as the DTE sees them: a DCE places its calls on
        the DTE's incoming channels and receives them on its outgoing ones.
        """
        one_way = self.outgoing if (station == "dte") == out else self.incoming
        return one_way is not None or self.two_way is not None


@dataclass(frozen=True)
class X25Links:
    """The finished protocol configuration and the interfaces; each None when something was wrong."""

    config: X25Config | None
    interfaces: tuple[InterfaceConfig, ...] | None


def link_of(top: Section) -> Literal["lapb", "xot"]:
    """xot when the transport says so: X.25 then rides TCP (RFC 1613), without LAPB.

    Read straight from the tree: the transport section is checked later, and
    a mistake there is reported there.
    """
    node = top.get("transport")
    if isinstance(node, Map):
        for entry in node.entries:
            if entry.key == "type" and isinstance(entry.value, Scalar) and entry.value.value == "xot":
                return "xot"
    return "lapb"


def lapb_n1(modulo: int, max_packet_size: int) -> int:
    """LAPB's N1 (information field octets): the largest packet we may send or accept.

    A data packet is its header (3 octets, 4 with modulo 128) plus up to
    max_packet_size; call and clear packets need up to CONTROL_ROOM after the
    3-octet header, which matters when the packet size is small.
    """
    header = 3 if modulo == 8 else 4
    return header + max(max_packet_size, CONTROL_ROOM)


def read_x25(section: Section, top: Section, device_number: int | None) -> X25Links:
    """The protocol section and the interfaces of an X.25 line."""
    link = link_of(top)
    default = PacketLayerConfig()
    station = section.choice("station", STATIONS, "dte", aliases=STATION_ALIASES)
    address = _x121(section, "address", default.address)
    modulo = _modulo(section, "modulo")
    packet_size = _packet_size(section, "packet_size", default.packet_size)
    max_packet_size = _packet_size(section, "max_packet_size", default.max_packet_size)
    if packet_size is not None and max_packet_size is not None and packet_size > max_packet_size:
        blame = "max_packet_size" if section.has("max_packet_size") else "packet_size"
        section.sink.add(
            section.where(blame),
            section.key(blame),
            f"packet_size ({packet_size}) is above max_packet_size ({max_packet_size}): the default "
            "must be a size we agree to",
        )
        max_packet_size = None
    window = _window(section, "window", default.window, modulo)
    lcns = _lcns(section, link)
    timers = _timers(section, default)
    lapb = _lapb(section)
    interfaces, channels = _interfaces(top, device_number, lcns, station, link)
    parts = (station, address, modulo, packet_size, max_packet_size, window, timers, lapb)
    if any(part is None for part in parts) or isinstance(lcns, Invalid) or channels is None:
        return X25Links(None, interfaces)
    assert station is not None and address is not None and modulo is not None and window is not None
    assert packet_size is not None and max_packet_size is not None and timers is not None
    assert lapb is not None and interfaces is not None
    try:
        packet = PacketLayerConfig(
            role=station,
            modulo=modulo,
            packet_size=packet_size,
            window=window,
            max_packet_size=max_packet_size,
            max_window=modulo - 1,
            pvcs=lcns.pvcs,
            incoming=lcns.incoming,
            two_way=lcns.two_way,
            outgoing=lcns.outgoing,
            address=address,
            t20=timers["t20"],
            t21=timers["t21"],
            t22=timers["t22"],
            t23=timers["t23"],
        )
        config = X25Config(
            lapb=LapbConfig(role=station, n1=lapb_n1(modulo, max_packet_size), **lapb),
            packet=packet,
            channels=channels,
            link=link,
            api=any(iface.mode.value == API for iface in interfaces),
        )
    except LocalProtocolError as exc:
        section.sink.add(section.mark, "protocol", f"the firmware refuses this configuration: {exc}")
        return X25Links(None, interfaces)
    return X25Links(config, interfaces)


# --- protocol: ------------------------------------------------------------------


def _x121(section: Section, key: str, default: str | None = None) -> str | None:
    """An X.121 address: up to 15 digits, written as a string so that leading zeros survive."""
    node = section.get(key)
    if node is None or is_null(node):
        return default
    where, path = section.where(key), section.key(key)
    if isinstance(node, Scalar) and isinstance(node.value, int) and not isinstance(node.value, bool):
        section.sink.add(
            where,
            path,
            f'write X.121 addresses in quotes ("{node.value}"): as a number, leading zeros are lost',
        )
        return None
    if not (isinstance(node, Scalar) and isinstance(node.value, str)):
        section.sink.add(where, path, f'expected an X.121 address like "31370001", got {kind(node)}')
        return None
    text = node.value
    if not (text.isascii() and text.isdigit() and len(text) <= X121_DIGITS) and not (
        text == "" and default is not None
    ):
        section.sink.add(where, path, f"'{text}' is not an X.121 address: 1 to {X121_DIGITS} digits")
        return None
    return text


def _modulo(section: Section, key: str) -> int | None:
    value = section.integer(key, 8)
    if value is not None and value not in MODULOS:
        section.sink.add(
            section.where(key),
            section.key(key),
            f"modulo {value}: sequence numbers count modulo 8 or 128 (extended)",
        )
        return None
    return value


def _packet_size(section: Section, key: str, default: int) -> int | None:
    value = section.integer(key, default)
    if value is not None and value not in PACKET_SIZES:
        sizes = ", ".join(str(size) for size in PACKET_SIZES)
        section.sink.add(
            section.where(key), section.key(key), f"{key} {value} is not an X.25 packet size ({sizes})"
        )
        return None
    return value


def _window(section: Section, key: str, default: int, modulo: int | None) -> int | None:
    """A window: 1 up to modulo - 1 (frames or packets outstanding, unacknowledged)."""
    value = section.integer(key, default, lo=1)
    if value is not None and modulo is not None and value > modulo - 1:
        section.sink.add(
            section.where(key),
            section.key(key),
            f"window {value} does not fit modulo {modulo}: at most {modulo - 1} unacknowledged"
            + (" (modulo: 128 allows up to 127)" if modulo == 8 else ""),
        )
        return None
    return value


def _lcns(section: Section, link: str) -> Lcns | Invalid:
    """protocol.lcns: absent, the packet layer's default plan (two-way 1..255, no PVCs); present,
    exactly the ranges written (an absent one is not used)."""
    lcns = section.section("lcns", LCN_KEYS)
    if lcns is None:
        return INVALID if section.has("lcns") else Lcns()
    sink = lcns.sink
    if link == "xot" and lcns.has("pvc"):
        lcns.reject("pvc", XOT_NO_PVCS)
        pvcs: tuple[int, ...] | Invalid = INVALID
    else:
        pvcs = _pvcs(lcns)
    ranges: dict[str, tuple[int, int] | None | Invalid] = {name: _range(lcns, name) for name in RANGES}
    ok = not isinstance(pvcs, Invalid) and not any(isinstance(r, Invalid) for r in ranges.values())
    taken = [("pvc", lcn, lcn) for lcn in (() if isinstance(pvcs, Invalid) else pvcs)]
    for name, rng in ranges.items():
        if rng is None or isinstance(rng, Invalid):
            continue
        other = next(((n, lo, hi) for n, lo, hi in taken if lo <= rng[1] and rng[0] <= hi), None)
        if other is not None:
            what = f"PVC {other[1]}" if other[0] == "pvc" else f"lcns.{other[0]} ({other[1]}..{other[2]})"
            sink.add(
                lcns.where(name),
                lcns.key(name),
                f"{name} ({rng[0]}..{rng[1]}) overlaps {what}: each LCN has one use",
            )
            ok = False
        taken.append((name, *rng))
    if not ok:
        return INVALID
    assert not isinstance(pvcs, Invalid)
    total = len(pvcs) + sum(hi - lo + 1 for name, lo, hi in taken if name != "pvc")
    if total > MAX_CIRCUITS:
        sink.add(
            section.where("lcns"),
            section.key("lcns"),
            f"{total} logical channels: a line runs at most {MAX_CIRCUITS} circuits, PVCs included",
        )
        return INVALID
    incoming, two_way, outgoing = (ranges[name] for name in RANGES)
    assert not isinstance(incoming, Invalid) and not isinstance(two_way, Invalid)
    assert not isinstance(outgoing, Invalid)
    return Lcns(pvcs=pvcs, incoming=incoming, two_way=two_way, outgoing=outgoing)


def _pvcs(lcns: Section) -> tuple[int, ...] | Invalid:
    node = lcns.get("pvc")
    if is_null(node):
        return ()
    assert node is not None
    nodes = as_list(lcns.sink, node, lcns.key("pvc"))
    if nodes is None:
        return INVALID
    pvcs: list[int] = []
    ok = True
    for index, node in enumerate(nodes):
        path = item(lcns.key("pvc"), index)
        lcn = as_int(lcns.sink, node, path, 1, LCN_MAX)
        if lcn is not None and lcn in pvcs:
            lcns.sink.add(node.mark, path, f"PVC {lcn} is listed twice")
            lcn = None
        if lcn is None:
            ok = False
        else:
            pvcs.append(lcn)
    return tuple(sorted(pvcs)) if ok else INVALID


def _range(lcns: Section, name: str) -> tuple[int, int] | None | Invalid:
    """[low, high], inclusive, within 1..4095."""
    node = lcns.get(name)
    if node is None or is_null(node):
        return None
    path = lcns.key(name)
    values = as_list(lcns.sink, node, path)
    if values is None:
        return INVALID
    if len(values) != 2:
        lcns.sink.add(node.mark, path, f"expected [low, high] (two LCNs, inclusive), got {len(values)} items")
        return INVALID
    low, high = (as_int(lcns.sink, value, item(path, i), 1, LCN_MAX) for i, value in enumerate(values))
    if low is None or high is None:
        return INVALID
    if low > high:
        lcns.sink.add(node.mark, path, f"range {low}..{high} runs backwards: write [low, high]")
        return INVALID
    return low, high


def _timers(section: Section, default: PacketLayerConfig) -> dict[str, float] | None:
    """The restart, call, reset and clear timers: T20..T23 (a DCE's T10..T13), in seconds."""
    timers = section.section("timers", TIMER_KEYS)
    if timers is None:
        return None if section.has("timers") else {key: getattr(default, key) for key in TIMER_KEYS}
    values = {key: _positive(timers, key, getattr(default, key)) for key in TIMER_KEYS}
    if any(value is None for value in values.values()):
        return None
    return {key: value for key, value in values.items() if value is not None}


def _positive(section: Section, key: str, default: float) -> float | None:
    value = section.number(key, default)
    if value is not None and value <= 0:
        section.sink.add(section.where(key), section.key(key), f"{key} must be more than 0 s, not {value:g}")
        return None
    return value


def _lapb(section: Section) -> dict[str, Any] | None:
    """LAPB's parameters (ISO 7776 / X.25 clause 2); N1 is not among them: it follows
    max_packet_size (lapb_n1).

    Still read and checked on XOT, where TCP carries the packets and they go
    unused: one protocol section then serves a line on either transport.
    """
    lapb = section.section("lapb", LAPB_KEYS)
    if lapb is None:
        return None if section.has("lapb") else {}
    lapb.reject(
        "n1",
        "N1 follows max_packet_size: the largest packet plus its header, with room for call "
        "and clear packets (remove n1)",
    )
    default = LapbConfig()
    modulo = _modulo(lapb, "modulo")
    window = _window(lapb, "window", default.window, modulo)
    t1 = _positive(lapb, "t1", default.t1)
    t2 = lapb.number("t2", default.t2, lo=0)
    if t1 is not None and t2 is not None and not t2 < t1:
        lapb.sink.add(
            lapb.where("t2"),
            lapb.key("t2"),
            f"t2 ({t2:g} s) must be less than t1 ({t1:g} s): our acknowledgement must reach the "
            "peer before its T1 runs out",
        )
        t2 = None
    n2 = lapb.integer("n2", default.n2, lo=1)
    values = {"modulo": modulo, "window": window, "t1": t1, "t2": t2, "n2": n2}
    if lapb.has("n1") or any(value is None for value in values.values()):
        return None
    return {key: value for key, value in values.items() if value is not None}


# --- interfaces: ------------------------------------------------------------------


def _interfaces(
    top: Section, device_number: int | None, lcns: Lcns | Invalid, station: str | None, link: str
) -> tuple[tuple[InterfaceConfig, ...] | None, tuple[X25Channel, ...] | None]:
    """Each interface and, for the IP ones, the firmware's channel."""
    sink = top.sink
    interfaces: list[InterfaceConfig] = []
    channels: list[X25Channel] = []
    names: dict[str, str] = {}
    pvc_users: dict[int, str] = {}
    remotes: dict[str, str] = {}
    api_path: str | None = None
    svcs = 0
    ok = True
    for index, node in enumerate(top.items("interfaces")):
        path = item("interfaces", index)
        entry = as_section(sink, node, path, X25_IFACE_KEYS)
        if entry is None:
            ok = False
            continue
        entry.reject(
            "dlci",
            "an X.25 line has no DLCIs: an interface names pvc (a PVC's LCN), remote (SVCs) or mode: api",
        )
        ok &= not entry.has("dlci")
        channel: X25Channel | None | Invalid = None  # None: the API interface, no IP channel
        number: int | None
        if says(entry, "mode", API):
            # A second one gets no default name: its error is being second, not its name.
            default = _api_name(device_number) if api_path is None else None
            number = API_CHANNEL
            if api_path is not None:
                sink.add(
                    entry.where("mode"),
                    entry.key("mode"),
                    f"an X.25 line has one API socket, and {api_path} is already in mode api",
                )
                ok = False
            api_path = api_path or path
            ok &= _api_only(entry)
        elif entry.has("pvc"):
            channel = _pvc_channel(entry, lcns, link, pvc_users)
            number = None if isinstance(channel, Invalid) else channel.channel
            default = None if device_number is None or number is None else f"wp{device_number}_pvc{number}"
        else:
            channel = _svc_channel(entry, svcs, lcns, station, remotes)
            number = svc_channel(svcs)
            # WANPIPE-like names: wp1_x25 for the first SVC interface, then wp1_x25_1, ...
            suffix = "" if svcs == 0 else f"_{svcs}"
            default = None if device_number is None else f"wp{device_number}_x25{suffix}"
            svcs += 1
        name = interface_name(entry, default, names)
        config = interface_settings(entry, name, number, X25_INTERFACE)
        if config is None or isinstance(channel, Invalid):
            ok = False
            continue
        interfaces.append(config)
        if channel is not None:
            channels.append(channel)
    if not ok:
        return None, None
    return tuple(interfaces), tuple(channels)


def _api_name(device_number: int | None) -> str | None:
    return None if device_number is None else f"wp{device_number}_api"


def _api_only(entry: Section) -> bool:
    """The API interface's calls are its application's: nothing to say about circuits here."""
    ok = True
    for key in ("pvc", "remote", "call", "idle_timeout"):
        if entry.has(key):
            entry.reject(
                key,
                f"the X.25 API socket serves every call no IP interface takes; its application "
                f"places and answers them (remove {key})",
            )
            ok = False
    return ok


def _pvc_channel(
    entry: Section, lcns: Lcns | Invalid, link: str, users: dict[int, str]
) -> X25Channel | Invalid:
    """IP over a PVC (RFC 1356): the channel is the PVC's LCN."""
    ok = True
    for key in ("remote", "call", "idle_timeout"):
        if entry.has(key):
            entry.reject(key, f"a PVC is permanent: there is no call to place or clear (remove {key})")
            ok = False
    lcn = entry.integer("pvc", lo=1, hi=LCN_MAX)
    if lcn is None:
        return INVALID
    where, key = entry.where("pvc"), entry.key("pvc")
    if link == "xot":
        entry.sink.add(where, key, XOT_NO_PVCS)
        return INVALID
    if not isinstance(lcns, Invalid) and lcn not in lcns.pvcs:
        entry.sink.add(where, key, f"LCN {lcn} is not a PVC: declare it in protocol.lcns.pvc")
        return INVALID
    if lcn in users:
        entry.sink.add(where, key, f"PVC {lcn} already has an interface ({users[lcn]})")
        return INVALID
    users[lcn] = entry.path
    return X25Channel(channel=lcn, pvc=lcn) if ok else INVALID


def _svc_channel(
    entry: Section, index: int, lcns: Lcns | Invalid, station: str | None, remotes: dict[str, str]
) -> X25Channel | Invalid:
    """IP over SVCs to one remote address: called on first traffic (call: auto), or only answered."""
    sink = entry.sink
    call = entry.choice("call", CALLS, "auto", aliases=CALL_ALIASES)
    idle = entry.number("idle_timeout", X25Channel.idle_timeout, lo=0)
    if not entry.has("remote"):
        if call == "accept":
            sink.add(
                entry.where("call"),
                entry.key("call"),
                "call: accept answers the calls of one remote address: name it with remote",
            )
        else:
            entry.require("remote", 'the X.121 address to call, like "31370002"; or pvc: N, or mode: api')
        return INVALID
    remote = _x121(entry, "remote")
    if remote is not None and remote in remotes:
        sink.add(
            entry.where("remote"),
            entry.key("remote"),
            f"{remotes[remote]} already calls {remote}: one SVC interface per remote address "
            "(its IP calls could not tell the two apart)",
        )
        remote = None
    if remote is not None:
        remotes[remote] = entry.path
    if not isinstance(lcns, Invalid) and station is not None and call is not None:
        out = call == "auto"
        if not lcns.can_call(station, out):
            blame = "call" if entry.has("call") else "remote"
            needed = (
                ("outgoing" if station == "dte" else "incoming")
                if out
                else ("incoming" if station == "dte" else "outgoing")
            )
            sink.add(
                entry.where(blame),
                entry.key(blame),
                f"a {station} {'places' if out else 'receives'} calls on protocol.lcns.two_way or "
                f".{needed} (ranges as the DTE sees them), and this line has neither",
            )
            return INVALID
    if remote is None or call is None or idle is None:
        return INVALID
    return X25Channel(channel=svc_channel(index), remote=remote, idle_timeout=idle, call_out=call == "auto")
