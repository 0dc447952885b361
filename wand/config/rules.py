"""One device file -> one DeviceConfig: the top-level keys and how sections fit together.

Section details live in line_rules, fr_rules and iface_rules; this module reads
the small sections (device, adapter, transport), dispatches `protocol:` on its
type, and applies the rules that span sections (an interface and a switch
entry may not share a DLCI; DLCI modes and addresses come from interfaces).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from typing import Literal, cast

from firmware_emu.fr.config import ChannelMode, FrameRelayConfig
from wand.config.fields import Section, Sink, as_choice, is_null, kind
from wand.config.fr_rules import FR_KEYS, FrameRelayResult, read_frame_relay, read_switch
from wand.config.iface_rules import DlciUse, read_interfaces
from wand.config.line_rules import LINE_KEYS, read_line
from wand.config.model import DeviceConfig, InterfaceConfig, SwitchConfig, TransportConfig
from wand.config.yamlpos import Map, Mark, Node

TOP_KEYS = ("device", "adapter", "line", "protocol", "interfaces", "transport", "switch")
ADAPTER_KEYS = ("name", "port")
TRANSPORT_KEYS = ("type", "local", "remote")

DEVICE_MAX = 16
PORTS_PER_ADAPTER = 4
DEFAULT_ADAPTER = "adapter1"
SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the NUL

_DEVICE = re.compile(r"^wanpipe(\d+)$")
_ADAPTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)

# Adding a protocol (PPP, Cisco HDLC, ...) means adding its reader here; each
# reader owns its allowed keys, so `protocol:` is validated per type.
ProtocolReader = Callable[[Section], FrameRelayResult]
PROTOCOLS: dict[str, tuple[tuple[str, ...], ProtocolReader]] = {
    "frame_relay": (FR_KEYS, read_frame_relay),
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
    protocol = _protocol(top)
    station = None if protocol is None else protocol.station
    declared = None if protocol is None else protocol.declared
    interfaces, iface_uses = read_interfaces(top, number, declared)
    switch, switch_uses = read_switch(top, name, station, declared)
    _check_exclusive(sink, iface_uses, switch_uses)
    transport = _transport(top)
    if sink.errors:
        return None
    # No errors means every reader returned a value; the checks below only narrow types.
    assert name is not None and number is not None and adapter is not None and port is not None
    assert line is not None and protocol is not None and protocol.config is not None
    assert interfaces is not None and switch is not None and transport is not None
    return DeviceConfig(
        name=name,
        number=number,
        adapter=adapter,
        port=port,
        line=line,
        protocol=_bind_channels(protocol.config, interfaces, switch),
        transport=transport,
        interfaces=interfaces,
        switch=switch,
        source=source,
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


def _protocol(top: Section) -> FrameRelayResult | None:
    """Dispatch on protocol.type; None when the section is missing or its type unusable."""
    node = top.require("protocol")
    if node is None:
        return None
    if not isinstance(node, Map):
        top.sink.add(node.mark, "protocol", f"expected a mapping, got {kind(node)}")
        return None
    type_node = next((entry.value for entry in node.entries if entry.key == "type"), None)
    if type_node is None or is_null(type_node):
        top.sink.add(
            node.mark, "protocol.type", f"missing required key 'type' (one of {', '.join(PROTOCOLS)})"
        )
        return None
    protocol = as_choice(top.sink, type_node, "protocol.type", tuple(PROTOCOLS))
    if protocol is None:
        return None
    keys, reader = PROTOCOLS[protocol]
    return reader(Section(top.sink, node, "protocol", keys))


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
    frames arriving on it are counted and dropped.
    """
    by_dlci = {iface.channel: iface for iface in interfaces}
    switched = {entry.dlci for entry in switch}
    dlcis = []
    for dlci in config.dlcis:
        iface = by_dlci.get(dlci.dlci)
        if dlci.dlci in switched:
            dlcis.append(dataclasses.replace(dlci, mode=ChannelMode.RAW))
        elif iface is not None:
            dlcis.append(dataclasses.replace(dlci, mode=iface.mode, address=iface.address))
        else:
            dlcis.append(dlci)
    return dataclasses.replace(config, dlcis=tuple(dlcis))


def _transport(top: Section) -> TransportConfig | None:
    """How this emulated line reaches the far end: a unix datagram socket pair or UDP."""
    section = top.section("transport", TRANSPORT_KEYS, required=True)
    if section is None:
        return None
    kind_ = section.choice("type", ("unix", "udp"), required=True)
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
        return f"'{port}' in '{text}' is not a UDP port 1..65535"
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
