"""The `management:` section: defaults, key files, bind, and devices sharing a port."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from wand.config import ConfigErrors, load_configs, load_device
from wand.config.model import ManagementConfig

BASE = """\
device: {device}
adapter: {{name: a1, port: {port}}}
line: {{type: t1}}
protocol: {{type: frame_relay, dlcis: [16]}}
transport: {{type: unix, local: /run/{device}-a.sock, remote: /run/{device}-b.sock}}
"""
KEY = "0123456789abcdef0123456789abcdef"


def write(tmp_path: Path, management: str = "", device: str = "wanpipe1", port: int = 1) -> Path:
    path = tmp_path / f"{device}.yaml"
    path.write_text(BASE.format(device=device, port=port) + management)
    return path


def key_file(tmp_path: Path, text: str = KEY, mode: int = 0o600, name: str = "mgmt.key") -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path


def errors(*paths: Path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigErrors) as info:
        load_configs(paths)
    return [(e.key, e.message) for e in info.value.errors]


def test_defaults_without_the_section(tmp_path: Path) -> None:
    mgmt = load_device(write(tmp_path)).management
    assert mgmt == ManagementConfig(udp_port=9000, ttl=64, key=None, key_file=None, bind=None)


def test_settings(tmp_path: Path) -> None:
    mgmt = load_device(write(tmp_path, "management: {udp_port: 9100, ttl: 1}")).management
    assert (mgmt.udp_port, mgmt.ttl) == (9100, 1)
    assert load_device(write(tmp_path, "management: {udp_port: 0}")).management.udp_port == 0
    assert load_device(write(tmp_path, "management:\n")).management == ManagementConfig()


def test_key_file_relative_to_the_config_and_stripped(tmp_path: Path) -> None:
    key_file(tmp_path, KEY + "\n")
    mgmt = load_device(write(tmp_path, "management: {key_file: mgmt.key}")).management
    assert mgmt.key == KEY.encode() and mgmt.bind == "0.0.0.0"
    assert KEY not in repr(mgmt)  # never in logs


def test_key_file_readable_by_everyone_is_refused(tmp_path: Path) -> None:
    key_file(tmp_path, mode=0o644)
    ((key, message),) = errors(write(tmp_path, "management: {key_file: mgmt.key}"))
    assert key == "management.key_file" and "readable by everyone" in message and "chmod o-r" in message


def test_short_key_is_refused(tmp_path: Path) -> None:
    key_file(tmp_path, "short")
    ((key, message),) = errors(write(tmp_path, "management: {key_file: mgmt.key}"))
    assert key == "management.key_file" and "at least 16" in message and "short" not in message.split(":")[-1]


def test_bind_needs_a_key_and_an_address(tmp_path: Path) -> None:
    ((key, message),) = errors(write(tmp_path, "management: {bind: 0.0.0.0}"))
    assert key == "management.bind" and "needs key_file" in message
    key_file(tmp_path)
    ((key, message),) = errors(write(tmp_path, "management: {key_file: mgmt.key, bind: lan0}"))
    assert key == "management.bind" and "IPv4" in message
    mgmt = load_device(write(tmp_path, "management: {key_file: mgmt.key, bind: 192.168.1.1}")).management
    assert mgmt.bind == "192.168.1.1"


def test_management_changes_do_not_make_a_different_line(tmp_path: Path) -> None:
    """A reload that only touches management must not restart the line (DeviceConfig equality)."""
    a = load_device(write(tmp_path))
    assert a == dataclasses.replace(a, management=ManagementConfig(udp_port=9100, ttl=3))


def test_devices_sharing_a_port_share_key_and_bind(tmp_path: Path) -> None:
    key_file(tmp_path)
    one = write(tmp_path, "management: {key_file: mgmt.key}")
    two = write(tmp_path, "", device="wanpipe2", port=2)
    ((key, message),) = errors(one, two)
    assert key == "management.udp_port" and "same key_file" in message and "wanpipe1" in message
    # a different port, or management off, is fine
    write(tmp_path, "management: {udp_port: 9001}", device="wanpipe2", port=2)
    assert len(load_configs([one, two])) == 2
    write(tmp_path, "management: {udp_port: 0}", device="wanpipe2", port=2)
    assert len(load_configs([one, two])) == 2
    write(tmp_path, "management: {key_file: mgmt.key, bind: 127.0.0.1}", device="wanpipe2", port=2)
    ((key, message),) = errors(one, two)
    assert key == "management.bind"
