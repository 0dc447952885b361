"""The `interfaces:` section: one Linux TUN/TAP interface per channel.

On Frame Relay a channel is a DLCI: each interface names its own (`dlci: 16`)
and a port may have many. Cisco HDLC and PPP lines carry a single channel:
at most one interface, no `dlci`, and `address:` may be the word that asks the
peer for our address instead (`slarp`, `ipcp`). X.25 interfaces are read by
x25_rules with the helpers here.

`mode: api` gives the channel an application socket (wand.api) instead of a
TUN: the interface then has no IP settings (address, peer, prefix, routes),
only an mtu, and the engine passes the channel's frames through untouched.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from firmware_emu.fr.config import ChannelMode
from wand.config.fields import INVALID, Invalid, Section, Sink, as_section, as_str, item
from wand.config.fr_rules import read_dlci
from wand.config.model import InterfaceConfig, RouteConfig
from wand.config.yamlpos import Mark, Scalar

IFACE_KEYS = ("dlci", "name", "mode", "address", "peer", "prefix", "mtu", "routes")
ROUTE_KEYS = ("dst", "gateway", "metric")
MODES = {"ip": ChannelMode.IP, "bridge": ChannelMode.BRIDGE, "api": ChannelMode.API}
MODE_ALIASES = {
    "tun": "ip",
    "tap": "bridge",
    "routed": "ip",
    "bridged": "bridge",
    "raw": "api",
    "socket": "api",
}
API = ChannelMode.API.value
# What an API interface does without: its channel ends in a socket, not in the kernel's IP stack.
API_EXCLUDES = ("address", "peer", "prefix", "routes")

IFNAMSIZ = 16  # Linux: 15 characters plus the terminating NUL
MTU_MIN = 68  # the IPv4 minimum (RFC 791)
MTU_MAX = 9000  # jumbo frames; HDLC framing on the emulated line has no lower cap
METRIC_MAX = 2**32 - 1
SINGLE_CHANNEL = 0  # InterfaceConfig.channel on Cisco HDLC and PPP lines


@dataclass(frozen=True)
class DlciUse:
    """Where an interface claims a DLCI, for the interface-or-switch rule."""

    path: str
    mark: Mark


@dataclass(frozen=True)
class SingleChannel:
    """What a protocol allows on an interface: Cisco HDLC and PPP on their one interface
    (read_single_interface), X.25 on each of its (x25_rules)."""

    protocol: str  # as written in protocol.type; also the default name, wp<N>_<protocol>
    title: str  # for messages: "Cisco HDLC"
    modes: tuple[str, ...]  # the subset of MODES it carries
    learn_word: str  # `address: <word>`: our address comes from the peer ("" if it cannot)
    learn_prefix: int  # the interface's prefix then
    # Keys that make no sense with a learned address, and why.
    learn_excludes: Mapping[str, str] = field(default_factory=dict)
    address_required: bool = False


@dataclass(frozen=True)
class OneInterface:
    """A single-channel line's interfaces (none or one), and whether its address is learned."""

    interfaces: tuple[InterfaceConfig, ...]
    learn: bool = False


def read_interfaces(
    top: Section, device_number: int | None, declared: frozenset[int] | None
) -> tuple[tuple[InterfaceConfig, ...] | None, dict[int, DlciUse]]:
    """Frame Relay: any number of interfaces, each on a DLCI declared in protocol.dlcis."""
    sink = top.sink
    interfaces: list[InterfaceConfig] = []
    uses: dict[int, DlciUse] = {}
    names: dict[str, str] = {}
    ok = True
    for index, node in enumerate(top.items("interfaces")):
        path = item("interfaces", index)
        entry = as_section(sink, node, path, IFACE_KEYS)
        if entry is None:
            ok = False
            continue
        dlci = _dlci(entry, declared, uses)
        # WANPIPE's own naming: wp<device>_fr<dlci>, e.g. wp1_fr16.
        default = None if device_number is None or dlci is None else f"wp{device_number}_fr{dlci}"
        name = interface_name(entry, default, names)
        config = interface_settings(entry, name, dlci)
        if config is None:
            ok = False
        else:
            interfaces.append(config)
    return (tuple(interfaces) if ok else None), uses


def read_single_interface(
    top: Section, device_number: int | None, rules: SingleChannel
) -> OneInterface | None:
    """Cisco HDLC, PPP: at most one interface, on channel 0; None after reporting errors."""
    sink = top.sink
    nodes = top.items("interfaces")
    for index in range(1, len(nodes)):
        sink.add(
            nodes[index].mark,
            item("interfaces", index),
            f"a {rules.title} line carries a single channel: at most one interface "
            "(this is a second one; several channels need frame_relay)",
        )
    if not nodes:
        return OneInterface(())
    entry = as_section(sink, nodes[0], item("interfaces", 0), IFACE_KEYS)
    if entry is None:
        return None
    ok = len(nodes) == 1  # the first is still checked: its mistakes are worth knowing too
    if entry.has("dlci"):
        sink.add(
            entry.key_mark("dlci"),
            entry.key("dlci"),
            f"a {rules.title} line has a single channel and no DLCIs: remove dlci",
        )
        ok = False
    default = None if device_number is None else f"wp{device_number}_{rules.protocol}"
    name = interface_name(entry, default, {})
    api = says(entry, "mode", API)
    # In mode api every IP setting is refused (interface_settings), a learned address included.
    learn = not api and says(entry, "address", rules.learn_word)
    if learn:
        for key, reason in rules.learn_excludes.items():
            if entry.has(key):
                sink.add(entry.key_mark(key), entry.key(key), reason)
                ok = False
    elif rules.address_required and not api and not entry.has("address"):
        entry.require("address", f"an IPv4 address like 10.0.0.1/30, or '{rules.learn_word}'")
        ok = False
    config = interface_settings(
        entry, name, SINGLE_CHANNEL, rules, learned_prefix=rules.learn_prefix if learn else None
    )
    bridge = ChannelMode.BRIDGE.value
    if learn and bridge in rules.modes and says(entry, "mode", bridge):
        sink.add(
            entry.where("mode"),
            entry.key("mode"),
            f"address: {rules.learn_word} needs mode ip: a bridge port has no IP address to learn",
        )
        ok = False
    if config is not None and config.prefix == 0:
        blame = "prefix" if entry.has("prefix") else "address"
        sink.add(
            entry.where(blame), entry.key(blame), "a point-to-point link needs a prefix of 1..32, not /0"
        )
        ok = False
    if config is None or not ok:
        return None
    return OneInterface((config,), learn)


def check_interfaces(top: Section, keys: tuple[str, ...] = IFACE_KEYS) -> None:
    """The protocol is unusable: still report what does not depend on it (mtu, addresses,
    routes), without the channel rules that do (DLCIs declared, a single interface).

    `keys` are those of any protocol's interfaces: which apply is not known."""
    for index, node in enumerate(top.items("interfaces")):
        entry = as_section(top.sink, node, item("interfaces", index), keys)
        if entry is None:
            continue
        dlci = entry.get("dlci")
        if entry.has("dlci") and dlci is not None:
            read_dlci(top.sink, dlci, entry.key("dlci"))
        interface_name(entry, None, {})
        words = ("slarp", "ipcp")
        learned = 32 if any(says(entry, "address", word) for word in words) else None
        interface_settings(entry, "", 0, learned_prefix=learned)


def says(entry: Section, key: str, word: str) -> bool:
    """Whether `key` is written as exactly `word` (e.g. mode: api), before any reading."""
    node = entry.get(key)
    return isinstance(node, Scalar) and node.value == word


def _dlci(entry: Section, declared: frozenset[int] | None, uses: dict[int, DlciUse]) -> int | None:
    node = entry.require("dlci")
    if node is None:
        return None
    key = entry.key("dlci")
    dlci = read_dlci(entry.sink, node, key)
    if dlci is None:
        return None
    if declared is not None and dlci not in declared:
        entry.sink.add(node.mark, key, f"DLCI {dlci} is not declared in protocol.dlcis")
        return None
    if dlci in uses:
        entry.sink.add(node.mark, key, f"DLCI {dlci} already has an interface ({uses[dlci].path})")
        return None
    uses[dlci] = DlciUse(entry.path, node.mark)
    return dlci


def interface_name(entry: Section, default: str | None, names: dict[str, str]) -> str | None:
    """The interface's name: as written, or `default` (None when that cannot be known);
    `names` (name -> path) collects the names of one file's interfaces, to refuse a second use."""
    if not entry.has("name"):
        name = default
    else:
        name = entry.string("name")
        if name is not None:
            problem = ifname_problem(name)
            if problem:
                entry.sink.add(entry.where("name"), entry.key("name"), problem)
                return None
    if name is not None and name in names:
        entry.sink.add(
            entry.where("name"), entry.key("name"), f"interface name {name} is already used by {names[name]}"
        )
        return None
    if name is not None:
        names[name] = entry.path
    return name


def ifname_problem(name: str) -> str:
    """Why Linux would refuse this interface name (dev_valid_name), or ""."""
    if not name:
        return "an interface name cannot be empty"
    if len(name.encode()) >= IFNAMSIZ:
        return f"interface name '{name}' is longer than {IFNAMSIZ - 1} characters"
    if name in (".", ".."):
        return f"'{name}' cannot be an interface name"
    if any(ch in "/:" or ch.isspace() for ch in name):
        return f"interface name '{name}' contains '/', ':' or whitespace"
    return ""


def interface_settings(
    entry: Section,
    name: str | None,
    channel: int | None,
    rules: SingleChannel | None = None,
    *,
    learned_prefix: int | None = None,
) -> InterfaceConfig | None:
    """The settings every interface has; `learned_prefix` is set when the peer gives our address."""
    mode = _mode(entry, rules)
    if mode == API:
        return _api_interface(entry, name, channel)
    if learned_prefix is None:
        address, prefix = _address_and_prefix(entry, rules)
    else:
        address, prefix = None, learned_prefix
    peer = _ipv4(entry, "peer")
    if isinstance(address, str) and isinstance(peer, str) and peer == address:
        entry.sink.add(entry.where("peer"), entry.key("peer"), f"peer {peer} is this interface's own address")
        peer = INVALID
    mtu = entry.integer("mtu", 1500, lo=MTU_MIN, hi=MTU_MAX)
    routes = _routes(entry)
    if name is None or channel is None or mode is None or mtu is None or routes is None:
        return None
    if isinstance(address, Invalid) or isinstance(prefix, Invalid) or isinstance(peer, Invalid):
        return None
    return InterfaceConfig(
        name=name,
        channel=channel,
        mode=MODES[mode],
        address=address,
        peer=peer,
        prefix=prefix,
        mtu=mtu,
        routes=routes,
    )


def _api_interface(entry: Section, name: str | None, channel: int | None) -> InterfaceConfig | None:
    """mode: api: no TUN, so nothing of IP to set; the mtu still bounds what the socket takes."""
    ok = True
    for key in API_EXCLUDES:
        if entry.has(key):  # written as null, it asks for the default (none): harmless
            entry.reject(
                key,
                f"an interface in mode api has no {key}: its channel ends in an application "
                f"socket, not in a TUN (remove {key})",
            )
            ok = False
    mtu = entry.integer("mtu", 1500, lo=MTU_MIN, hi=MTU_MAX)
    if not ok or name is None or channel is None or mtu is None:
        return None
    return InterfaceConfig(name=name, channel=channel, mode=ChannelMode.API, mtu=mtu)


def _mode(entry: Section, rules: SingleChannel | None) -> str | None:
    mode = entry.choice("mode", tuple(MODES), "ip", aliases=MODE_ALIASES)
    if rules is not None and mode == API and API not in rules.modes:
        entry.sink.add(
            entry.where("mode"),
            entry.key("mode"),
            f"mode api (raw frames to an application socket) is for Frame Relay, Cisco HDLC and "
            f"X.25; {rules.title} carries mode {' or '.join(rules.modes)} only: its control "
            "protocols own the channel",
        )
        return None
    if rules is not None and mode is not None and mode not in rules.modes:
        entry.sink.add(
            entry.where("mode"),
            entry.key("mode"),
            f"{rules.title} carries mode {' or '.join(rules.modes)} only, not {mode}",
        )
        return None
    return mode


def _address_and_prefix(
    entry: Section, rules: SingleChannel | None = None
) -> tuple[str | None | Invalid, int | Invalid]:
    """`address: 10.0.0.1` plus `prefix: 30`, or the `10.0.0.1/30` shorthand."""
    sink = entry.sink
    prefix_given = entry.integer("prefix", lo=0, hi=32)
    if entry.has("prefix") and prefix_given is None:
        prefix: int | Invalid = INVALID
    else:
        prefix = 30 if prefix_given is None else prefix_given
    if not entry.has("address"):
        return None, prefix
    text = entry.string("address")
    if text is None:
        return INVALID, prefix
    where, key = entry.where("address"), entry.key("address")
    try:
        iface = ipaddress.IPv4Interface(text)
    except ValueError:
        learn = (
            ""
            if rules is None or not rules.learn_word
            else f", or '{rules.learn_word}' to learn it from the peer"
        )
        sink.add(where, key, f"'{text}' is not an IPv4 address (like 10.0.0.1 or 10.0.0.1/30{learn})")
        return INVALID, prefix
    if "/" in text:
        written = iface.network.prefixlen
        if prefix_given is not None and prefix_given != written:
            sink.add(
                entry.where("prefix"),
                entry.key("prefix"),
                f"prefix {prefix_given} contradicts address {text}",
            )
            return INVALID, INVALID
        prefix = written
    if isinstance(prefix, Invalid):
        return str(iface.ip), prefix
    # /31 (RFC 3021) and /32 have no network or broadcast address to collide with.
    network = ipaddress.IPv4Network(f"{iface.ip}/{prefix}", strict=False)
    if prefix <= 30 and iface.ip in (network.network_address, network.broadcast_address):
        which = "network" if iface.ip == network.network_address else "broadcast"
        sink.add(where, key, f"{iface.ip} is the {which} address of {network}, not a host address")
        return INVALID, prefix
    return str(iface.ip), prefix


def _ipv4(entry: Section, key: str) -> str | None | Invalid:
    if not entry.has(key):
        return None
    text = entry.string(key)
    if text is None:
        return INVALID
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        entry.sink.add(entry.where(key), entry.key(key), f"'{text}' is not an IPv4 address")
        return INVALID


def _routes(entry: Section) -> tuple[RouteConfig, ...] | None:
    routes: list[RouteConfig] = []
    ok = True
    for index, node in enumerate(entry.items("routes")):
        path = item(entry.key("routes"), index)
        route = as_section(entry.sink, node, path, ROUTE_KEYS)
        config = None if route is None else _route(route)
        if config is None:
            ok = False
        else:
            routes.append(config)
    return tuple(routes) if ok else None


def _route(route: Section) -> RouteConfig | None:
    dst = _destination(route)
    gateway = _ipv4(route, "gateway")
    metric = route.integer("metric", lo=0, hi=METRIC_MAX)
    if dst is None or isinstance(gateway, Invalid) or (route.has("metric") and metric is None):
        return None
    return RouteConfig(dst=dst, gateway=gateway, metric=metric)


def _destination(route: Section) -> str | None:
    node = route.require("dst", "a CIDR prefix like 192.168.2.0/24, or 'default'")
    if node is None:
        return None
    text = as_str(route.sink, node, route.key("dst"))
    if text is None:
        return None
    if text == "default":
        return "0.0.0.0/0"
    return _cidr(route.sink, text, node.mark, route.key("dst"))


def _cidr(sink: Sink, text: str, mark: Mark, key: str) -> str | None:
    try:
        return str(ipaddress.IPv4Network(text))
    except ValueError:
        pass
    try:
        loose = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        sink.add(mark, key, f"'{text}' is not an IPv4 prefix like 192.168.2.0/24 (or 'default')")
        return None
    sink.add(mark, key, f"'{text}' has host bits set; did you mean '{loose}'?")
    return None
