"""`mode: api` in device configs: an interface whose channel goes to an application
socket (wand.api) instead of a TUN. It takes no IP settings, only an mtu; Frame Relay
and Cisco HDLC run the channel RAW in the engine; PPP refuses it; an X.25 line has at
most one, which takes every call no IP interface takes (test_config_x25.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.fr.config import ChannelMode, DlciConfig, FrameRelayConfig
from firmware_emu.x25.config import X25Config
from wand.config import ConfigError, ConfigErrors, load_device
from wand.config.model import InterfaceConfig

UNIX = "transport: {type: unix, local: /run/a.sock, remote: /run/b.sock}\n"


def device(protocol: str, interfaces: str) -> str:
    return f"device: wanpipe1\nline: {{type: t1}}\nprotocol:\n{protocol}interfaces:\n{interfaces}{UNIX}"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "wanpipe1.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def errors_of(tmp_path: Path, text: str) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_device(write(tmp_path, text))
    return caught.value.errors


FR = "  type: frame_relay\n  dlcis: [16, 17]\n"


def test_frame_relay_api_interface_runs_its_dlci_raw(tmp_path: Path) -> None:
    text = device(FR, "  - {dlci: 16, mode: api, mtu: 4000}\n  - {dlci: 17, address: 10.0.0.1/30}\n")
    config = load_device(write(tmp_path, text))
    api, ip = config.interfaces
    assert api == InterfaceConfig(name="wp1_fr16", channel=16, mode=ChannelMode.API, mtu=4000)
    assert ip.mode is ChannelMode.IP
    assert isinstance(config.protocol, FrameRelayConfig)
    assert config.protocol.dlcis == (
        DlciConfig(dlci=16, mode=ChannelMode.RAW),
        DlciConfig(dlci=17, mode=ChannelMode.IP, address="10.0.0.1"),
    )


def test_api_interface_takes_no_ip_settings(tmp_path: Path) -> None:
    iface = (
        "  - dlci: 16\n"
        "    mode: api\n"
        "    address: 10.0.0.1/30\n"
        "    peer: 10.0.0.2\n"
        "    prefix: 30\n"
        "    routes: [{dst: default}]\n"
        "    mtu: 20\n"
    )
    errors = errors_of(tmp_path, device(FR, iface))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("interfaces[0].address", 9, 5),
        ("interfaces[0].peer", 10, 5),
        ("interfaces[0].prefix", 11, 5),
        ("interfaces[0].routes", 12, 5),
        ("interfaces[0].mtu", 13, 10),  # the mtu is still read, and still checked
    ]
    assert errors[0].message == (
        "an interface in mode api has no address: its channel ends in an application socket, "
        "not in a TUN (remove address)"
    )


def test_null_ip_settings_mean_none_and_are_allowed(tmp_path: Path) -> None:
    text = device(FR, "  - dlci: 16\n    mode: api\n    address:\n    routes:\n")
    (iface,) = load_device(write(tmp_path, text)).interfaces
    assert (iface.mode, iface.address, iface.routes) == (ChannelMode.API, None, ())


def test_chdlc_api_interface_runs_the_engine_raw(tmp_path: Path) -> None:
    config = load_device(write(tmp_path, device("  type: chdlc\n", "  - {mode: api}\n")))
    assert config.interfaces == (InterfaceConfig(name="wp1_chdlc", channel=0, mode=ChannelMode.API),)
    assert config.protocol == ChdlcConfig(mode=ChannelMode.RAW)


def test_chdlc_api_interface_learns_no_address(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, device("  type: chdlc\n", "  - {mode: api, address: slarp}\n"))
    assert [(e.key, e.column) for e in errors] == [("interfaces[0].address", 17)]


def test_ppp_refuses_mode_api_with_one_clear_error(tmp_path: Path) -> None:
    # PPP wants an address on its interface; in mode api that would only be noise.
    (err,) = errors_of(tmp_path, device("  type: ppp\n", "  - {mode: api}\n"))
    assert (err.key, err.line, err.column) == ("interfaces[0].mode", 6, 12)
    assert "PPP carries mode ip only" in err.message
    assert "mode api" in err.message


def test_raw_suggests_api(tmp_path: Path) -> None:
    (err,) = errors_of(tmp_path, device(FR, "  - {dlci: 16, mode: raw}\n"))
    assert err.message == "'raw' is not one of ip, bridge, api; did you mean 'api'?"


def test_x25_api_interface(tmp_path: Path) -> None:
    text = device("  type: x25\n", "  - {mode: api, name: x25sock}\n")
    config = load_device(write(tmp_path, text))
    assert config.interfaces == (InterfaceConfig(name="x25sock", channel=0, mode=ChannelMode.API),)
    assert isinstance(config.protocol, X25Config)
    assert config.protocol.api and config.protocol.channels == ()


def test_unknown_protocol_still_checks_api_interfaces(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, device("  type: sdlc\n", "  - {mode: api, peer: 10.0.0.2}\n"))
    assert [e.key for e in errors] == ["protocol.type", "interfaces[0].peer"]


def test_without_mode_api_nothing_changes(tmp_path: Path) -> None:
    config = load_device(write(tmp_path, device("  type: chdlc\n", "  - {address: 10.0.0.1/30}\n")))
    assert config.protocol == ChdlcConfig(address="10.0.0.1", prefix=30, mode=ChannelMode.IP)
