"""Rules across device files: what one host's set of wanpipe configs must agree on.

Each file is valid on its own by the time it gets here; these checks need the
whole set: names are global (one Linux host, one namespace of interfaces),
adapters are shared by up to four ports, and a switch entry names a DLCI on
another device.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from firmware_emu.fr.config import FrameRelayConfig
from wand.config.errors import ConfigError
from wand.config.mgmt_rules import check_shared_ports
from wand.config.model import DeviceConfig
from wand.config.rules import PORTS_PER_ADAPTER
from wand.config.yamlpos import Mark, Node, mark_at


@dataclass(frozen=True)
class Loaded:
    """A valid device and where each of its settings was written."""

    config: DeviceConfig
    root: Node  # the parsed file, to find where a setting was written

    def error(self, path: str, message: str) -> ConfigError:
        mark = self.at(path)
        return ConfigError(self.config.source, mark.line, mark.column, path, message)

    def at(self, path: str) -> Mark:
        return mark_at(self.root, path)

    def where(self, path: str) -> str:
        mark = self.at(path)
        return f"{self.config.source}:{mark.line}"


def cross_check(devices: list[Loaded], complete: bool) -> list[ConfigError]:
    """Errors between files. `complete` is False when some file of the set failed to
    load: a switch target may then be in that file, so a missing one is not reported."""
    errors: list[ConfigError] = []
    by_name = _unique_devices(devices, errors)
    _check_ports(devices, errors)
    _check_interface_names(devices, errors)
    _check_local_endpoints(devices, errors)
    _check_xot_listeners(devices, errors)
    _check_switch_targets(devices, by_name, complete, errors)
    check_shared_ports(devices, errors)
    return errors


def _check_local_endpoints(devices: list[Loaded], errors: list[ConfigError]) -> None:
    """Two lines cannot own one end of a cable: one socket path, UDP port or tty each."""
    owner: dict[tuple[str, str], Loaded] = {}
    for device in devices:
        transport = device.config.transport
        key = (transport.kind, transport.local)
        first = owner.setdefault(key, device)
        if first is not device:
            path = "transport.device" if transport.kind == "tty" else "transport.local"
            errors.append(
                device.error(
                    path, f"{transport.local} is already used by {first.config.name} ({first.where(path)})"
                )
            )


WILDCARDS = ("0.0.0.0", "[::]")


def _check_xot_listeners(devices: list[Loaded], errors: list[ConfigError]) -> None:
    """Two XOT lines cannot listen on one TCP port where their addresses meet: a wildcard
    (0.0.0.0, [::], which is dual-stack on Linux) takes the port on every address.
    Identical endpoints are already reported by _check_local_endpoints."""
    listeners: list[tuple[Loaded, str, str]] = []
    for device in devices:
        transport = device.config.transport
        if transport.kind != "xot":
            continue
        host, _, port = transport.local.rpartition(":")
        for first, first_host, first_port in listeners:
            if port == first_port and host != first_host and (host in WILDCARDS or first_host in WILDCARDS):
                errors.append(
                    device.error(
                        "transport.local",
                        f"TCP port {port} is already taken by {first.config.name}'s XOT listener on "
                        f"{first.config.transport.local} ({first.where('transport.local')})",
                    )
                )
                break
        listeners.append((device, host, port))


def _unique_devices(devices: list[Loaded], errors: list[ConfigError]) -> dict[str, Loaded]:
    by_name: dict[str, Loaded] = {}
    for device in devices:
        first = by_name.setdefault(device.config.name, device)
        if first is not device:
            errors.append(
                device.error("device", f"{device.config.name} is already defined in {first.where('device')}")
            )
    return by_name


def _check_ports(devices: list[Loaded], errors: list[ConfigError]) -> None:
    ports: dict[tuple[str, int], Loaded] = {}
    per_adapter: dict[str, list[Loaded]] = defaultdict(list)
    for device in devices:
        config = device.config
        first = ports.setdefault((config.adapter, config.port), device)
        if first is not device:
            errors.append(
                device.error(
                    "adapter.port",
                    f"port {config.port} of adapter {config.adapter} is already used by "
                    f"{first.config.name} ({first.where('adapter.port')})",
                )
            )
        per_adapter[config.adapter].append(device)
    for adapter, members in per_adapter.items():
        for device in members[PORTS_PER_ADAPTER:]:
            names = ", ".join(member.config.name for member in members)
            errors.append(
                device.error(
                    "adapter.name",
                    f"adapter {adapter} has {PORTS_PER_ADAPTER} ports, but {len(members)} devices use it ({names})",
                )
            )


def _check_interface_names(devices: list[Loaded], errors: list[ConfigError]) -> None:
    owners: dict[str, tuple[Loaded, str]] = {}
    for device in devices:
        for index, iface in enumerate(device.config.interfaces):
            path = f"interfaces[{index}].name"
            first = owners.setdefault(iface.name, (device, path))
            if first[0] is not device:
                errors.append(
                    device.error(
                        path,
                        f"interface name {iface.name} is already used by {first[0].config.name} "
                        f"({first[0].where(first[1])})",
                    )
                )


def _check_switch_targets(
    devices: list[Loaded], by_name: dict[str, Loaded], complete: bool, errors: list[ConfigError]
) -> None:
    """A switched PVC is two entries, one on each port, pointing at each other.

    Switching is one-way per entry (frames in on `dlci` go out on the target),
    so a PVC whose far side does not switch back would carry traffic one way only.
    """
    for device in devices:
        for index, entry in enumerate(device.config.switch):
            path = f"switch[{index}].to"
            target = by_name.get(entry.to_device)
            here = f"{device.config.name}:{entry.dlci}"
            if target is None:
                if complete:
                    loaded = ", ".join(sorted(by_name)) or "none"
                    errors.append(
                        device.error(path, f"no device {entry.to_device} in this set (loaded: {loaded})")
                    )
                continue
            protocol = target.config.protocol
            if not isinstance(protocol, FrameRelayConfig):
                errors.append(
                    device.error(
                        path,
                        f"{entry.to_device} runs {target.config.protocol_name}, not frame_relay: "
                        f"only Frame Relay DLCIs can be switched ({target.config.source})",
                    )
                )
                continue
            if entry.to_dlci not in {dlci.dlci for dlci in protocol.dlcis}:
                errors.append(
                    device.error(
                        path,
                        f"{entry.to_device} has no DLCI {entry.to_dlci} in protocol.dlcis ({target.config.source})",
                    )
                )
                continue
            back = [e for e in target.config.switch if e.dlci == entry.to_dlci]
            if not back or (back[0].to_device, back[0].to_dlci) != (device.config.name, entry.dlci):
                errors.append(
                    device.error(
                        path,
                        f"{entry.to_device} does not switch DLCI {entry.to_dlci} back to {here} "
                        f'(its switch: needs {{dlci: {entry.to_dlci}, to: "{here}"}})',
                    )
                )
