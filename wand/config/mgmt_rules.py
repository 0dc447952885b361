"""The `management:` section: wanpipemon's UDP port, reply TTL and optional key.

    management:
      udp_port: 9000        # WANPIPE's UDPPORT; 0 turns management off
      ttl: 64               # IP TTL of replies; 1 = the local segment only
      key_file: mgmt.key    # optional: HMAC-SHA256 key (mode 0600, not world-readable)
      bind: 0.0.0.0         # with key_file only: where to listen

Without a key the daemon listens only on loopback and the WAN interfaces'
own addresses; an unauthenticated protocol has no business on every address
of the host. A key authenticates each request, and only then may `bind`
open it wider. Devices sharing a port share one socket, so they must agree
on key and bind (checked across files by check_shared_ports).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from wand.config.errors import ConfigError
from wand.config.fields import Section
from wand.config.model import ManagementConfig
from wand.config.secrets import read_private

if TYPE_CHECKING:
    from wand.config.cross_rules import Loaded

MANAGEMENT_KEYS = ("udp_port", "ttl", "key_file", "bind")
DEFAULT_UDP_PORT = 9000
DEFAULT_TTL = 64
TTL_MAX = 255
KEY_MIN = 16  # octets: below this an HMAC key is guessable


def read_management(top: Section) -> ManagementConfig | None:
    """The device's management settings; the defaults when the section is absent."""
    section = top.section("management", MANAGEMENT_KEYS)
    if section is None:
        return None if top.has("management") else ManagementConfig()
    udp_port = section.integer("udp_port", DEFAULT_UDP_PORT, lo=0, hi=65535)
    ttl = section.integer("ttl", DEFAULT_TTL, lo=1, hi=TTL_MAX)
    key_file, key, key_ok = _key(section)
    bind = _bind(section, has_key=key_file is not None)
    if udp_port is None or ttl is None or not key_ok or (bind is None and section.has("bind")):
        return None
    if key is not None and bind is None:
        bind = "0.0.0.0"
    return ManagementConfig(udp_port=udp_port, ttl=ttl, key=key, key_file=key_file, bind=bind)


def _key(section: Section) -> tuple[str | None, bytes | None, bool]:
    """(path, key, ok): the key is the file's text without surrounding whitespace."""
    if not section.has("key_file"):
        return None, None, True
    written = section.string("key_file")
    if written is None:
        return None, None, False
    where, name = section.where("key_file"), section.key("key_file")
    path, text, problem = read_private(section.sink.file, written, "key file")
    if text is None:
        section.sink.add(where, name, problem.replace("secrets files", "key files"))
        return path, None, False
    key = text.strip().encode()
    if len(key) < KEY_MIN:
        section.sink.add(
            where,
            name,
            f"the key in {path} is {len(key)} octets: use at least {KEY_MIN} "
            "(e.g. openssl rand -hex 32 > key; chmod 600 key)",
        )
        return path, None, False
    return path, key, True


def _bind(section: Section, *, has_key: bool) -> str | None:
    if not section.has("bind"):
        return None
    text = section.string("bind")
    if text is None:
        return None
    where, name = section.where("bind"), section.key("bind")
    if not has_key:
        section.sink.add(
            where,
            name,
            "bind needs key_file: without a key, management listens only on loopback "
            "and the WAN interfaces' addresses",
        )
        return None
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        section.sink.add(where, name, f"'{text}' is not an IPv4 address (like 0.0.0.0 or 192.168.1.1)")
        return None
    return text


def check_shared_ports(devices: list[Loaded], errors: list[ConfigError]) -> None:
    """Devices on one udp_port share its socket: the same key (or none) and the same bind."""
    first_on: dict[int, Loaded] = {}
    for device in devices:
        mgmt = device.config.management
        if mgmt.udp_port == 0:
            continue
        first = first_on.setdefault(mgmt.udp_port, device)
        if first is device:
            continue
        other = first.config.management
        where = first.where("management.udp_port")
        if mgmt.key != other.key:
            path = "management.key_file" if mgmt.key is not None else "management.udp_port"
            errors.append(
                device.error(
                    path,
                    f"udp_port {mgmt.udp_port} is shared with {first.config.name} ({where}), which uses "
                    f"{'no key' if other.key is None else 'another key'}: devices on one port "
                    "share its socket, so they need the same key_file contents",
                )
            )
        elif mgmt.bind != other.bind:
            errors.append(
                device.error(
                    "management.bind",
                    f"udp_port {mgmt.udp_port} is shared with {first.config.name} ({where}), which binds "
                    f"{other.bind or '0.0.0.0'}: devices on one port share its socket",
                )
            )
