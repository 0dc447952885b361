"""One device file -> one DeviceConfig: the top-level keys and how sections fit together.

Section details live in line_rules, fr_rules, chdlc_rules, ppp_rules,
x25_rules and iface_rules; this module reads the small sections (device,
adapter, transport), dispatches `protocol:` on its type, and applies the rules
that span sections (an interface and a switch entry may not share a DLCI;
channel modes and addresses come from interfaces; a tty transport means async
PPP on a serial line; an XOT transport means X.25 on an unpaced line). Last,
the firmware's own validate_config sees the finished protocol configuration,
so that nothing it would refuse at start-up gets past the loader.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.chdlc.config import validate_config as validate_chdlc
from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import ChannelMode, FrameRelayConfig
from firmware_emu.fr.lmi import validate_config as validate_frame_relay
from firmware_emu.phy.config import LineConfig
from firmware_emu.ppp.config import PppConfig
from firmware_emu.ppp.config import validate_config as validate_ppp
from firmware_emu.x25.config import X25Config
from firmware_emu.x25.config import validate_config as validate_x25
from wand.config.chdlc_rules import CHDLC_CHANNEL, CHDLC_KEYS, bind_chdlc, read_chdlc
from wand.config.fields import Section, Sink, as_choice, is_null, kind
from wand.config.fr_rules import FR_KEYS, read_frame_relay, read_switch
from wand.config.iface_rules import (
    API,
    IFACE_KEYS,
    DlciUse,
    OneInterface,
    SingleChannel,
    check_interfaces,
    read_interfaces,
    read_single_interface,
)
from wand.config.line_rules import LINE_KEYS, read_line
from wand.config.mgmt_rules import read_management
from wand.config.model import DeviceConfig, InterfaceConfig, SwitchConfig, TransportConfig
from wand.config.ppp_rules import PPP_CHANNEL, PPP_KEYS, bind_ppp, read_ppp
from wand.config.x25_rules import X25_IFACE_KEYS, X25_KEYS, read_x25
from wand.config.yamlpos import Map, Mark, Node
from wand.transport import STANDARD_BAUDS

TOP_KEYS = ("device", "adapter", "line", "protocol", "interfaces", "transport", "switch", "management")
ADAPTER_KEYS = ("name", "port")
TRANSPORT_KEYS = ("type", "local", "remote", "device", "baud")
TRANSPORT_TYPES = ("unix", "udp", "tty", "xot")
TRANSPORT_ALIASES = {"serial": "tty", "pty": "tty"}

DEVICE_MAX = 16
PORTS_PER_ADAPTER = 4
DEFAULT_ADAPTER = "adapter1"
SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the NUL
XOT_PORT = 1998  # RFC 1613's TCP port, when an XOT endpoint leaves it out
XOT_LOCAL_EMPTY = "local is where XOT listens: host[:port], like 0.0.0.0 (every address) or 10.0.0.1:1998"

_DEVICE = re.compile(r"^wanpipe(\d+)$")
_ADAPTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)

ProtocolConfig = FrameRelayConfig | ChdlcConfig | PppConfig | X25Config
PROTOCOL_NAMES: dict[type, str] = {
    FrameRelayConfig: "frame_relay",
    ChdlcConfig: "chdlc",
    PppConfig: "ppp",
    X25Config: "x25",
}
# Interfaces whose protocol is unknown may be of any protocol: accept every key.
ANY_IFACE_KEYS = (*IFACE_KEYS, *(key for key in X25_IFACE_KEYS if key not in IFACE_KEYS))


_Config = TypeVar("_Config", FrameRelayConfig, ChdlcConfig, PppConfig, X25Config)


@dataclass(frozen=True)
class Links:
    """A protocol and what runs over it; each part None when something in it was wrong."""

    config: ProtocolConfig | None
    interfaces: tuple[InterfaceConfig, ...] | None
    switch: tuple[SwitchConfig, ...] | None


@dataclass(frozen=True)
class Device:
    """Who the file is about, for default interface names and switch targets; None if wrong."""

    name: str | None
    number: int | None


# Adding a protocol means adding its reader here. A reader gets the `protocol:`
# section (opened with the reader's own keys, so unknown keys are reported per
# type) and the whole file, whose `interfaces:` and `switch:` it interprets.
ProtocolReader = Callable[[Section, Section, Device], Links]
# What people call them elsewhere (sethdlc, Cisco IOS), for "did you mean".
PROTOCOL_ALIASES = {
    "fr": "frame_relay",
    "frame-relay": "frame_relay",
    "framerelay": "frame_relay",
    "hdlc": "chdlc",
    "cisco": "chdlc",
    "cisco-hdlc": "chdlc",
    "cisco_hdlc": "chdlc",
    "x.25": "x25",
    "lapb": "x25",
    "xot": "x25",
}


def read_device(root: Node | None, sink: Sink, source: str) -> DeviceConfig | None:
    """Check one parsed file; the DeviceConfig, or None with the errors in `sink`."""
    if root is None:
        sink.add(Mark(1, 1), "", "the file is empty: a device needs device, line, protocol and transport")
        return None
    if not isinstance(root, Map):
        sink.add(root.mark, "", f"expected a mapping of settings (device: ..., line: ...), got {kind(root)}")
        return None
    top = Section(sink, root, "", TOP_KEYS, extensions=True)
    name, number = _device(top)
    adapter, port = _adapter(top)
    line_section = top.section("line", LINE_KEYS, required=True)
    line = None if line_section is None else read_line(line_section)
    links = _protocol(top, Device(name, number))
    transport = _transport(top)
    _check_async(top, line, links.config, transport)
    _check_xot(top, line, links.config, transport)
    management = read_management(top)
    if sink.errors:
        return None
    # No errors means every reader returned a value; the checks below only narrow types.
    assert name is not None and number is not None and adapter is not None and port is not None
    assert line is not None and links.config is not None and transport is not None
    assert links.interfaces is not None and links.switch is not None and management is not None
    return DeviceConfig(
        name=name,
        number=number,
        adapter=adapter,
        port=port,
        line=line,
        protocol=links.config,
        transport=transport,
        interfaces=links.interfaces,
        switch=links.switch,
        source=source,
        management=management,
    )


def _device(top: Section) -> tuple[str | None, int | None]:
    name = top.string("device", required=True)
    if name is None:
        return None, None
    match = _DEVICE.match(name)
    if match is None:
        top.sink.add(top.where("device"), "device", f"'{name}' is not a device name like wanpipe1")
        return None, None
    number = int(match.group(1))
    if not 1 <= number <= DEVICE_MAX:
        top.sink.add(top.where("device"), "device", f"{name}: devices are wanpipe1..wanpipe{DEVICE_MAX}")
        return None, None
    return name, number


def _adapter(top: Section) -> tuple[str | None, int | None]:
    """Which card and which of its ports this line is on; without the section, port 1 of adapter1."""
    section = top.section("adapter", ADAPTER_KEYS)
    if section is None:
        return (DEFAULT_ADAPTER, 1) if not top.has("adapter") else (None, None)
    name = section.string("name", DEFAULT_ADAPTER)
    if name is not None and not _ADAPTER.match(name):
        top.sink.add(
            section.where("name"),
            section.key("name"),
            f"'{name}' is not an adapter name (letters, digits, '_', '-', '.'; up to 32)",
        )
        name = None
    port = section.integer("port", 1, lo=1, hi=PORTS_PER_ADAPTER)
    return name, port


def _protocol(top: Section, device: Device) -> Links:
    """Dispatch on protocol.type to the reader that also interprets interfaces and switch."""
    node = top.require("protocol")
    protocol = None
    if node is not None and not isinstance(node, Map):
        top.sink.add(node.mark, "protocol", f"expected a mapping, got {kind(node)}")
    elif isinstance(node, Map):
        type_node = next((entry.value for entry in node.entries if entry.key == "type"), None)
        if type_node is None or is_null(type_node):
            top.sink.add(
                node.mark, "protocol.type", f"missing required key 'type' (one of {', '.join(PROTOCOLS)})"
            )
        else:
            protocol = as_choice(top.sink, type_node, "protocol.type", tuple(PROTOCOLS), PROTOCOL_ALIASES)
    if protocol is None or not isinstance(node, Map):
        # Without a type there is nothing to read the protocol's keys or its channels
        # against; still report what every interface and switch entry must get right.
        check_interfaces(top, ANY_IFACE_KEYS)
        read_switch(top, device.name, None, None)
        return Links(None, None, None)
    keys, reader = PROTOCOLS[protocol]
    return reader(Section(top.sink, node, "protocol", keys), top, device)


def _frame_relay(section: Section, top: Section, device: Device) -> Links:
    """Frame Relay: interfaces on declared DLCIs, and DLCIs switched to other ports."""
    result = read_frame_relay(section)
    interfaces, iface_uses = read_interfaces(top, device.number, result.declared)
    switch, switch_uses = read_switch(top, device.name, result.station, result.declared)
    _check_exclusive(top.sink, iface_uses, switch_uses)
    if result.config is None or interfaces is None or switch is None:
        return Links(None, interfaces, switch)
    config = _bind_channels(result.config, interfaces, switch)
    return Links(_firmware_check(section, validate_frame_relay, config), interfaces, switch)


# Cisco HDLC also carries mode api: the frames, protocol field included, go to a socket.
_CHDLC_API_CHANNEL = dataclasses.replace(CHDLC_CHANNEL, modes=(*CHDLC_CHANNEL.modes, API))


def _chdlc(section: Section, top: Section, device: Device) -> Links:
    return _single_channel(
        section, top, device, _CHDLC_API_CHANNEL, read_chdlc(section), _bind_chdlc, validate_chdlc
    )


def _bind_chdlc(config: ChdlcConfig, one: OneInterface) -> ChdlcConfig:
    bound = bind_chdlc(config, one)
    return dataclasses.replace(bound, mode=ChannelMode.RAW) if bound.mode is ChannelMode.API else bound


def _ppp(section: Section, top: Section, device: Device) -> Links:
    return _single_channel(section, top, device, PPP_CHANNEL, read_ppp(section), bind_ppp, validate_ppp)


def _x25(section: Section, top: Section, device: Device) -> Links:
    """X.25: IP over PVCs and SVCs, and the API socket; nothing to switch."""
    result = read_x25(section, top, device.number)
    if top.has("switch"):
        top.sink.add(
            top.key_mark("switch"),
            "switch",
            "switching DLCIs between ports is for frame_relay; an X.25 line has no DLCIs (remove switch)",
        )
    if result.config is None or result.interfaces is None:
        return Links(None, result.interfaces, ())
    return Links(_firmware_check(section, validate_x25, result.config), result.interfaces, ())


PROTOCOLS: dict[str, tuple[tuple[str, ...], ProtocolReader]] = {
    "frame_relay": (FR_KEYS, _frame_relay),
    "chdlc": (CHDLC_KEYS, _chdlc),
    "ppp": (PPP_KEYS, _ppp),
    "x25": (X25_KEYS, _x25),
}


def _single_channel(
    section: Section,
    top: Section,
    device: Device,
    rules: SingleChannel,
    config: _Config | None,
    bind: Callable[[_Config, OneInterface], _Config],
    validate: Callable[[_Config], object],
) -> Links:
    """Cisco HDLC, PPP: one channel, at most one interface, nothing to switch."""
    one = read_single_interface(top, device.number, rules)
    if top.has("switch"):
        top.sink.add(
            top.key_mark("switch"),
            "switch",
            f"switching DLCIs between ports is for frame_relay; a {rules.title} line "
            "has no DLCIs to switch (remove switch)",
        )
    interfaces = None if one is None else one.interfaces
    if config is None or one is None:
        return Links(None, interfaces, ())
    return Links(_firmware_check(section, validate, bind(config, one)), interfaces, ())


def _firmware_check(
    section: Section, validate: Callable[[_Config], object], config: _Config
) -> _Config | None:
    """The firmware's own check, last: an error at `protocol` if it refuses what the rules let by."""
    try:
        validate(config)
    except LocalProtocolError as exc:
        section.sink.add(section.mark, "protocol", f"the firmware refuses this configuration: {exc}")
        return None
    return config


def _check_exclusive(sink: Sink, iface_uses: dict[int, DlciUse], switch_uses: dict[int, str]) -> None:
    """A frame on a DLCI goes to one place: up to an interface, or across the switch."""
    for dlci, use in iface_uses.items():
        if dlci in switch_uses:
            sink.add(
                use.mark,
                f"{use.path}.dlci",
                f"DLCI {dlci} is also switched by {switch_uses[dlci]}: "
                "a DLCI serves an interface or a switch entry, not both",
            )


def _bind_channels(
    config: FrameRelayConfig, interfaces: tuple[InterfaceConfig, ...], switch: tuple[SwitchConfig, ...]
) -> FrameRelayConfig:
    """Each PVC's mode from what uses it; its address from its interface (for Inverse ARP).

    A declared DLCI that nothing uses stays IP: the LMI still reports it, and
    frames arriving on it are counted and dropped. An interface in mode api
    gets its frames untouched (RAW), as a switch entry does.
    """
    by_dlci = {iface.channel: iface for iface in interfaces}
    switched = {entry.dlci for entry in switch}
    dlcis = []
    for dlci in config.dlcis:
        iface = by_dlci.get(dlci.dlci)
        if dlci.dlci in switched or (iface is not None and iface.mode is ChannelMode.API):
            dlcis.append(dataclasses.replace(dlci, mode=ChannelMode.RAW))
        elif iface is not None:
            dlcis.append(dataclasses.replace(dlci, mode=iface.mode, address=iface.address))
        else:
            dlcis.append(dlci)
    return dataclasses.replace(config, dlcis=tuple(dlcis))


def _transport(top: Section) -> TransportConfig | None:
    """How this emulated line reaches the far end: a unix datagram socket pair, UDP, a tty,
    or TCP connections for X.25 over TCP (XOT)."""
    section = top.section("transport", TRANSPORT_KEYS, required=True)
    if section is None:
        return None
    kind_ = section.choice("type", TRANSPORT_TYPES, required=True, aliases=TRANSPORT_ALIASES)
    if kind_ == "tty":
        return _tty_transport(section)
    if kind_ == "xot":
        return _xot_transport(section)
    if kind_ is not None:
        for key in ("device", "baud"):
            section.reject(
                key, f"{key} is for a tty transport (type: tty); a {kind_} cable has local and remote"
            )
    ends = {key: section.string(key, required=True) for key in ("local", "remote")}
    if kind_ is not None:
        for key, value in ends.items():
            problem = None if value is None else endpoint_problem(kind_, value)
            if problem:
                section.sink.add(section.where(key), section.key(key), problem)
                ends[key] = None
    local, remote = ends["local"], ends["remote"]
    if local is not None and local == remote:
        section.sink.add(
            section.where("remote"), section.key("remote"), "remote is the same endpoint as local"
        )
        return None
    if kind_ is None or local is None or remote is None:
        return None
    return TransportConfig(kind=cast(Literal["unix", "udp"], kind_), local=local, remote=remote)


def _tty_transport(section: Section) -> TransportConfig | None:
    """A serial port or pty: its device path and, optionally, the baud rate to set."""
    for key in ("local", "remote"):
        section.reject(
            key,
            f"{key} is for unix and udp cables; a tty transport names its port with device (no far address)",
        )
    device = section.string("device", required=True)
    if device is not None and (not device.startswith("/") or "\0" in device):
        section.sink.add(
            section.where("device"),
            section.key("device"),
            f"'{device}' is not an absolute path: name the port like /dev/ttyS0 or /dev/wand-lab/ttyA",
        )
        device = None
    baud = section.integer("baud")
    if baud is not None and baud not in STANDARD_BAUDS:
        common = ", ".join(str(b) for b in STANDARD_BAUDS if 9600 <= b <= 921600)
        section.sink.add(
            section.where("baud"),
            section.key("baud"),
            f"{baud} is not a standard baud rate (e.g. {common})",
        )
        return None
    if device is None or (baud is None and section.has("baud")):
        return None
    return TransportConfig(kind="tty", local=device, remote="", baud=baud)


def _xot_transport(section: Section) -> TransportConfig | None:
    """XOT (RFC 1613): listen on `local` for the far end's calls, and place ours to `remote`
    (none: listen only). A port left out is 1998."""
    for key in ("device", "baud"):
        section.reject(key, f"{key} is for a tty transport (type: tty); XOT has local and remote")
    ends: dict[str, str | None] = {"local": section.string("local", required=True), "remote": ""}
    if section.has("remote"):
        ends["remote"] = section.string("remote")
    for key, value in ends.items():
        if value is None or (key == "remote" and not value):  # no remote: listen only
            continue
        value = ends[key] = xot_endpoint(value)
        problem = endpoint_problem("xot", value) if value else XOT_LOCAL_EMPTY
        if problem:
            section.sink.add(section.where(key), section.key(key), problem)
            ends[key] = None
    local, remote = ends["local"], ends["remote"]
    if local is not None and local == remote:
        section.sink.add(
            section.where("remote"), section.key("remote"), "remote is the same endpoint as local"
        )
        return None
    if local is None or remote is None:
        return None
    return TransportConfig(kind="xot", local=local, remote=remote)


def xot_endpoint(text: str) -> str:
    """host[:port] with RFC 1613's port filled in (as wand.xot.parse_endpoint does)."""
    if not text:
        return text
    if text.startswith("["):
        return text if "]:" in text else f"{text}:{XOT_PORT}"
    return text if ":" in text else f"{text}:{XOT_PORT}"


def _check_xot(
    top: Section, line: LineConfig | None, protocol: ProtocolConfig | None, transport: TransportConfig | None
) -> None:
    """XOT carries X.25 packets (no LAPB, no HDLC frames) and TCP sets their pace.

    `line:` still names the port's line type, but an XOT line must be unpaced
    (serial with clock_rate: unlimited): wand would otherwise pace packets
    that TCP already carries at its own speed. Each check needs its settings
    read without error.
    """
    if transport is None or transport.kind != "xot":
        return
    if protocol is not None and not isinstance(protocol, X25Config):
        top.sink.add(
            _value_mark(top, "transport", "type"),
            "transport.type",
            f"xot carries X.25 packets over TCP (RFC 1613): it needs protocol.type: x25, "
            f"not {PROTOCOL_NAMES[type(protocol)]}",
        )
        return
    if line is not None and line.bit_rate is not None:
        key = "clock_rate" if line.kind == "serial" else "type"
        top.sink.add(
            _value_mark(top, "line", key),
            f"line.{key}",
            "an XOT line is paced by TCP, not by wand: use line: {type: serial, clock_rate: unlimited} "
            f"(a {line.kind} line is paced at {line.bit_rate} bit/s)",
        )


def _check_async(
    top: Section, line: LineConfig | None, protocol: ProtocolConfig | None, transport: TransportConfig | None
) -> None:
    """A tty transport goes with async PPP, and its baud rate with the line's clock rate.

    A tty is an async serial port: only PPP runs async framing (RFC 1662), and
    sync HDLC cannot cross one. The other way round is allowed: async PPP over
    a unix or udp cable carries a piece of the octet stream per datagram. On a
    serial line the clock_rate of an async port is its baud rate (the port
    paces 10 bit times per octet). Each check needs both of its settings read
    without error (else it is skipped).
    """
    sink = top.sink
    framing = protocol.framing if isinstance(protocol, PppConfig) else None
    if transport is not None and transport.kind == "tty" and protocol is not None:
        if framing is None:
            name = PROTOCOL_NAMES[type(protocol)]
            sink.add(
                _value_mark(top, "transport", "type"),
                "transport.type",
                f"a tty is an async serial line, which carries PPP with framing: async, not {name}",
            )
        elif framing != "async":
            sink.add(
                _value_mark(top, "protocol", "framing"),
                "protocol.framing",
                "a tty transport is an async serial line: set framing: async "
                "(sync HDLC needs a synchronous port)",
            )
    if (
        transport is not None
        and transport.kind == "tty"
        and transport.baud is not None
        and line is not None
        and line.kind == "serial"
        and line.clock_rate is not None
        and line.clock_rate != transport.baud
    ):
        sink.add(
            _value_mark(top, "transport", "baud"),
            "transport.baud",
            f"baud {transport.baud} differs from line.clock_rate {line.clock_rate}: "
            "an async port's clock rate is its baud rate",
        )


def _value_mark(top: Section, section: str, key: str) -> Mark:
    """Where `section.key` is written (its value, or the key if null), else the section itself."""
    node = top.get(section)
    if not isinstance(node, Map):
        return top.where(section)
    for entry in node.entries:
        if entry.key == key:
            return entry.key_mark if is_null(entry.value) else entry.value.mark
    return node.mark


def endpoint_problem(kind_: str, text: str) -> str:
    """Why `text` is not a usable endpoint of this transport type, or ""."""
    if kind_ == "unix":
        if not text.startswith("/"):
            return f"'{text}' is not an absolute path: unix sockets are named by absolute path"
        if len(text.encode()) > SUN_PATH_MAX or "\0" in text:
            return f"'{text}' is too long for a unix socket path (at most {SUN_PATH_MAX} bytes)"
        return ""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port:
        return f"'{text}' is not host:port"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"'{port}' in '{text}' is not a {'TCP' if kind_ == 'xot' else 'UDP'} port 1..65535"
    return "" if _valid_host(host) else f"'{host}' in '{text}' is not an IP address or host name"


def _valid_host(host: str) -> bool:
    try:
        if host.startswith("[") and host.endswith("]"):
            ipaddress.IPv6Address(host[1:-1])
            return True
        if re.fullmatch(r"[\d.]+", host):  # looks numeric: must then be a real IPv4 address
            ipaddress.IPv4Address(host)
            return True
    except ValueError:
        return False
    return bool(_HOSTNAME.match(host))
