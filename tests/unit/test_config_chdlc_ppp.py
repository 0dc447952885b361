"""wand.config for Cisco HDLC and PPP lines: the lab examples load into the expected
models, single-channel interface rules, PPP authentication files, and the
firmware's own validate_config as the last check.

The corpus in configs/bad/ (chdlc_*.yaml, ppp_*.yaml) is run by test_config.py;
rules that need files with particular modes (secrets files) are tested here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from firmware_emu.chdlc.config import ChdlcConfig
from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import ChannelMode
from firmware_emu.phy.config import LineConfig
from firmware_emu.ppp.config import PppConfig
from wand.config import ConfigError, ConfigErrors, load_configs, load_device
from wand.config import rules as config_rules
from wand.config.model import DeviceConfig, InterfaceConfig, RouteConfig, TransportConfig

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "etc" / "lab"
BAD = Path(__file__).parent / "configs" / "bad"

T1 = LineConfig(kind="t1", framing="esf", coding="b8zs", clock="normal", timeslots=None, tx_queue_len=32)
SITE_A_SOCK = "/run/wand/lab/siteA-wanpipe1.sock"
SITE_B_SOCK = "/run/wand/lab/siteB-wanpipe1.sock"


def errors_of(path: Path | str) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_device(str(path))
    return caught.value.errors


def one_error(path: Path | str) -> ConfigError:
    errors = errors_of(path)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def write(tmp_path: Path, name: str, text: str, mode: int = 0o644) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


def device(protocol: str, interfaces: str = "", device_name: str = "wanpipe1", extra: str = "") -> str:
    """A small device file: `protocol` is the indented body after `protocol:`."""
    return (
        f"device: {device_name}\n"
        "line: {type: t1}\n"
        f"protocol:\n{protocol}"
        + (f"interfaces:\n{interfaces}" if interfaces else "")
        + extra
        + "transport: {type: unix, local: /run/a.sock, remote: /run/b.sock}\n"
    )


def ppp_auth(auth: str, interfaces: str = "") -> str:
    return device("  type: ppp\n  auth:\n" + auth, interfaces)


# --- the lab examples -----------------------------------------------------------


def test_chdlc_site_a_loads_into_the_full_model() -> None:
    path = str(LAB / "chdlc" / "siteA" / "wanpipe1.yaml")
    expected = DeviceConfig(
        name="wanpipe1",
        number=1,
        adapter="a1",
        port=1,
        line=T1,
        protocol=ChdlcConfig(
            keepalive=10.0, error_margin=3, address="10.0.0.1", prefix=30, learn_address=False
        ),
        transport=TransportConfig(kind="unix", local=SITE_A_SOCK, remote=SITE_B_SOCK),
        interfaces=(
            InterfaceConfig(
                name="wp1_chdlc",
                channel=0,
                mode=ChannelMode.IP,
                address="10.0.0.1",
                peer="10.0.0.2",
                prefix=30,
                mtu=1500,
                routes=(RouteConfig(dst="192.168.2.0/24", gateway="10.0.0.2"),),
            ),
        ),
    )
    config = load_device(path)
    assert config == expected
    assert config.protocol_name == "chdlc"


def test_chdlc_site_b_is_the_mirror() -> None:
    config = load_device(str(LAB / "chdlc" / "siteB" / "wanpipe1.yaml"))
    assert config.line.clock == "master"
    assert config.protocol == ChdlcConfig(keepalive=10.0, error_margin=3, address="10.0.0.2", prefix=30)
    (iface,) = config.interfaces
    assert (iface.name, iface.channel, iface.address, iface.peer) == ("wp1_chdlc", 0, "10.0.0.2", "10.0.0.1")
    assert iface.routes == (RouteConfig(dst="192.168.1.0/24", gateway="10.0.0.1"),)
    assert (config.transport.local, config.transport.remote) == (SITE_B_SOCK, SITE_A_SOCK)


def test_ppp_site_a_loads_into_the_full_model() -> None:
    path = str(LAB / "ppp" / "siteA" / "wanpipe1.yaml")
    expected = DeviceConfig(
        name="wanpipe1",
        number=1,
        adapter="a1",
        port=1,
        line=T1,
        protocol=PppConfig(
            framing="sync",
            echo_interval=10.0,
            echo_failures=3,
            local_address="10.0.0.1",
            peer_address="10.0.0.2",
            require="none",
            username="siteA",
            password="wand-lab",
        ),
        transport=TransportConfig(kind="unix", local=SITE_A_SOCK, remote=SITE_B_SOCK),
        interfaces=(
            InterfaceConfig(
                name="wp1_ppp",
                channel=0,
                address="10.0.0.1",
                peer="10.0.0.2",
                routes=(RouteConfig(dst="192.168.2.0/24", gateway="10.0.0.2"),),
            ),
        ),
    )
    config = load_device(path)
    assert config == expected
    assert config.protocol_name == "ppp"


def test_ppp_site_b_authenticates_site_a_with_chap() -> None:
    config = load_device(str(LAB / "ppp" / "siteB" / "wanpipe1.yaml"))
    assert isinstance(config.protocol, PppConfig)
    assert config.protocol.require == "chap"
    assert config.protocol.secrets == (("siteA", "wand-lab"),)
    assert (config.protocol.username, config.protocol.password) == (None, None)
    assert (config.protocol.local_address, config.protocol.peer_address) == ("10.0.0.2", "10.0.0.1")
    assert config.line.clock == "master"
    assert (config.transport.local, config.transport.remote) == (SITE_B_SOCK, SITE_A_SOCK)


def test_ppp_sites_agree_on_the_credentials() -> None:
    a, b = (load_device(str(LAB / "ppp" / site / "wanpipe1.yaml")).protocol for site in ("siteA", "siteB"))
    assert isinstance(a, PppConfig) and isinstance(b, PppConfig)
    assert (a.username, a.password) in b.secrets


@pytest.mark.parametrize("protocol", ["chdlc", "ppp"])
def test_lab_pairs_are_one_host_set_each(protocol: str) -> None:
    # Each site is its own host (namespace) with its own wanpipe1: load them one by one.
    a, b = (load_device(str(LAB / protocol / site / "wanpipe1.yaml")) for site in ("siteA", "siteB"))
    assert (a.transport.local, a.transport.remote) == (b.transport.remote, b.transport.local)
    assert a.protocol_name == b.protocol_name == protocol


def test_protocol_name_of_frame_relay_is_unchanged() -> None:
    assert load_device(str(LAB / "siteA" / "wanpipe1.yaml")).protocol_name == "frame_relay"


# --- Cisco HDLC -------------------------------------------------------------------


def test_chdlc_defaults_without_interfaces(tmp_path: Path) -> None:
    config = load_device(write(tmp_path, "w.yaml", device("  type: chdlc\n")))
    assert config.protocol == ChdlcConfig()
    assert config.interfaces == ()


def test_chdlc_default_interface_name_and_mode(tmp_path: Path) -> None:
    text = device("  type: chdlc\n", "  - {address: 10.9.0.1/24, mode: bridge}\n", "wanpipe3")
    config = load_device(write(tmp_path, "w.yaml", text))
    (iface,) = config.interfaces
    assert (iface.name, iface.channel, iface.mode, iface.prefix) == ("wp3_chdlc", 0, ChannelMode.BRIDGE, 24)
    assert config.protocol == ChdlcConfig(address="10.9.0.1", prefix=24, mode=ChannelMode.BRIDGE)


def test_chdlc_slarp_learns_our_address(tmp_path: Path) -> None:
    text = device("  type: chdlc\n", "  - {name: wan0, address: slarp, routes: [{dst: default}]}\n")
    config = load_device(write(tmp_path, "w.yaml", text))
    (iface,) = config.interfaces
    assert (iface.address, iface.peer, iface.mode) == (None, None, ChannelMode.IP)
    assert isinstance(config.protocol, ChdlcConfig)
    assert config.protocol.learn_address is True
    assert config.protocol.address is None


def test_chdlc_keepalive_zero_disables_and_fractions_are_for_tests(tmp_path: Path) -> None:
    off = load_device(write(tmp_path, "a.yaml", device("  type: chdlc\n  keepalive: 0\n")))
    fast = load_device(
        write(tmp_path, "b.yaml", device("  type: chdlc\n  keepalive: 0.2\n  error_margin: 255\n"))
    )
    assert off.protocol == ChdlcConfig(keepalive=0.0)
    assert fast.protocol == ChdlcConfig(keepalive=0.2, error_margin=255)


def test_chdlc_slarp_excludes_prefix(tmp_path: Path) -> None:
    text = device("  type: chdlc\n", "  - address: slarp\n    prefix: 30\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("interfaces[0].prefix", 7, 5)
    assert "remove prefix" in err.message


def test_point_to_point_prefix_zero(tmp_path: Path) -> None:
    text = device("  type: chdlc\n", "  - {address: 10.0.0.1, prefix: 0}\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("interfaces[0].prefix", 6, 33)


def test_protocol_type_aliases_suggest_the_name(tmp_path: Path) -> None:
    err = one_error(write(tmp_path, "w.yaml", device("  type: cisco-hdlc\n")))
    assert (err.key, err.line, err.column) == ("protocol.type", 4, 9)
    assert err.message.endswith("did you mean 'chdlc'?")


def test_several_single_channel_errors_are_all_reported(tmp_path: Path) -> None:
    text = device(
        "  type: chdlc\n  keepalive: -1\n  error_margin: 300\n",
        "  - {dlci: 16, address: slarp, peer: 10.0.0.2, mtu: 20}\n  - {name: wan1}\n",
        extra="switch: [{dlci: 16, to: 'wanpipe2:16'}]\n",
    )
    errors = errors_of(write(tmp_path, "w.yaml", text))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("protocol.keepalive", 5, 14),
        ("protocol.error_margin", 6, 17),
        ("interfaces[0].dlci", 8, 6),
        ("interfaces[0].peer", 8, 32),
        ("interfaces[0].mtu", 8, 53),
        ("interfaces[1]", 9, 5),
        ("switch", 10, 1),
    ]


# --- PPP ------------------------------------------------------------------------


def test_ppp_defaults_and_every_key(tmp_path: Path) -> None:
    body = (
        "  type: ppp\n  framing: async\n  mru: 1492\n  accm: 0x000a0000\n  magic: false\n"
        "  pfc: true\n  acfc: true\n  restart: 0.5\n  max_configure: 4\n  max_terminate: 1\n"
        "  max_failure: 2\n  holdoff: 1\n  echo_interval: 0\n  echo_failures: 9\n  ipv6: true\n"
    )
    config = load_device(write(tmp_path, "w.yaml", device(body)))
    assert config.protocol == PppConfig(
        framing="async",
        mru=1492,
        accm=0xA0000,
        magic=False,
        pfc=True,
        acfc=True,
        restart=0.5,
        max_configure=4,
        max_terminate=1,
        max_failure=2,
        holdoff=1.0,
        echo_interval=0.0,
        echo_failures=9,
        ipv6=True,
    )
    assert load_device(write(tmp_path, "d.yaml", device("  type: ppp\n"))).protocol == PppConfig()


def test_ppp_ipcp_asks_the_peer_for_our_address(tmp_path: Path) -> None:
    text = device("  type: ppp\n", "  - {address: ipcp, peer: 10.0.0.2}\n", "wanpipe2")
    config = load_device(write(tmp_path, "w.yaml", text))
    (iface,) = config.interfaces
    assert (iface.name, iface.address, iface.prefix, iface.peer) == ("wp2_ppp", None, 32, "10.0.0.2")
    assert isinstance(config.protocol, PppConfig)
    assert (config.protocol.local_address, config.protocol.peer_address) == (None, "10.0.0.2")


def test_ppp_slarp_is_not_its_word(tmp_path: Path) -> None:
    err = one_error(write(tmp_path, "w.yaml", device("  type: ppp\n", "  - {address: slarp}\n")))
    assert (err.key, err.line, err.column) == ("interfaces[0].address", 6, 15)
    assert "or 'ipcp'" in err.message


def test_secrets_file_is_read_relative_to_the_device_file(tmp_path: Path) -> None:
    write(tmp_path, "ppp-secrets.yaml", "# name: secret\nsiteA: s3cret\nsiteC: 'other one'\n", 0o600)
    text = ppp_auth("    require: pap\n    secrets_file: ppp-secrets.yaml\n")
    config = load_device(write(tmp_path, "w.yaml", text))
    assert isinstance(config.protocol, PppConfig)
    assert config.protocol.secrets == (("siteA", "s3cret"), ("siteC", "other one"))
    assert config.protocol.require == "pap"


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o777])
def test_world_readable_secrets_file_is_refused(tmp_path: Path, mode: int) -> None:
    secrets = write(tmp_path, "ppp-secrets.yaml", "siteA: s3cret\n", mode)
    text = ppp_auth(f"    require: chap\n    secrets_file: {secrets}\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("protocol.auth.secrets_file", 7, 19)
    assert f"mode {mode:04o}" in err.message
    assert f"chmod o-r {secrets}" in err.message
    assert "s3cret" not in err.message


def test_group_readable_secrets_file_is_accepted(tmp_path: Path) -> None:
    secrets = write(tmp_path, "ppp-secrets.yaml", "siteA: s3cret\n", 0o640)
    config = load_device(write(tmp_path, "w.yaml", ppp_auth(f"    secrets_file: {secrets}\n")))
    assert isinstance(config.protocol, PppConfig)
    assert config.protocol.secrets == (("siteA", "s3cret"),)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("siteA: [s3cret\n", ":1:"),  # YAML syntax error, positioned in the secrets file
        ("- siteA\n- s3cret\n", "expected a mapping of name: secret, got a list"),
        ("siteA: 1234\n", "the secret for 'siteA' must be a string, got a number (quote it)"),
        ("siteA: x\nsiteA: y\n", ":2:1: duplicate name 'siteA' (first at line 1)"),
        ("siteA: ''\n", "the secret for 'siteA' is empty"),
        (f"siteA: {'x' * 256}\n", "is 256 octets long"),
        ("", "is empty"),
        ("{}\n", "no secrets in it"),
    ],
)
def test_bad_secrets_file_is_an_error_at_secrets_file(tmp_path: Path, content: str, problem: str) -> None:
    secrets = write(tmp_path, "ppp-secrets.yaml", content, 0o600)
    text = ppp_auth(f"    require: chap\n    secrets_file: {secrets}\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("protocol.auth.secrets_file", 7, 19)
    assert problem in err.message
    assert "1234" not in err.message


def test_secrets_file_must_be_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir(mode=0o700)
    err = one_error(write(tmp_path, "w.yaml", ppp_auth(f"    secrets_file: {tmp_path / 'dir'}\n")))
    assert err.key == "protocol.auth.secrets_file"
    assert "is not a regular file" in err.message


def test_password_file_gives_the_first_line(tmp_path: Path) -> None:
    password = write(tmp_path, "pw", "s3cret\nignored\n", 0o600)
    text = ppp_auth(f"    username: siteA\n    password_file: {password}\n")
    config = load_device(write(tmp_path, "w.yaml", text))
    assert isinstance(config.protocol, PppConfig)
    assert (config.protocol.username, config.protocol.password) == ("siteA", "s3cret")


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        ("s3cret\n", 0o644, "chmod o-r"),
        ("\ns3cret\n", 0o600, "the first line of password file"),
    ],
)
def test_bad_password_file(tmp_path: Path, content: str, mode: int, problem: str) -> None:
    password = write(tmp_path, "pw", content, mode)
    text = ppp_auth(f"    username: siteA\n    password_file: {password}\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("protocol.auth.password_file", 7, 20)
    assert problem in err.message


def test_missing_password_file(tmp_path: Path) -> None:
    text = ppp_auth("    username: siteA\n    password_file: nope.txt\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("protocol.auth.password_file", 7, 20)
    assert f"{tmp_path / 'nope.txt'} does not exist" in err.message


def test_password_and_password_file_exclude_each_other(tmp_path: Path) -> None:
    password = write(tmp_path, "pw", "s3cret\n", 0o600)
    text = ppp_auth(f"    username: siteA\n    password: s3cret\n    password_file: {password}\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("protocol.auth.password_file", 8, 5)


def test_password_without_username(tmp_path: Path) -> None:
    err = one_error(write(tmp_path, "w.yaml", ppp_auth("    password: s3cret\n")))
    assert (err.key, err.line, err.column) == ("protocol.auth.username", 6, 5)


def test_passwords_are_never_echoed(tmp_path: Path) -> None:
    text = ppp_auth(f"    username: {'u' * 256}\n    password: 987654\n")
    errors = errors_of(write(tmp_path, "w.yaml", text))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("protocol.auth.username", 6, 15),
        ("protocol.auth.password", 7, 15),
    ]
    assert "256 octets" in errors[0].message
    assert "(quote it)" in errors[1].message
    assert all("987654" not in e.message for e in errors)


def test_inline_secrets_have_positions_of_their_own(tmp_path: Path) -> None:
    text = ppp_auth(
        "    require: chap\n    secrets:\n      siteA: ok\n      siteB: [no]\n      siteA: again\n"
    )
    errors = errors_of(write(tmp_path, "w.yaml", text))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("protocol.auth.secrets.siteB", 9, 14),
        ("protocol.auth.secrets.siteA", 10, 7),
    ]


def test_inline_secrets_must_be_a_mapping(tmp_path: Path) -> None:
    err = one_error(write(tmp_path, "w.yaml", ppp_auth("    require: pap\n    secrets: [siteA]\n")))
    assert (err.key, err.line, err.column) == ("protocol.auth.secrets", 7, 14)


def test_auth_must_be_a_mapping(tmp_path: Path) -> None:
    err = one_error(write(tmp_path, "w.yaml", device("  type: ppp\n  auth: chap\n")))
    assert (err.key, err.line, err.column) == ("protocol.auth", 5, 9)


def test_several_ppp_errors_are_all_reported(tmp_path: Path) -> None:
    text = device(
        "  type: ppp\n  mru: 70000\n  accm: -1\n  echo_interval: -1\n  auth: {require: chap}\n",
        "  - {address: ipcp, prefix: 32, mode: bridge}\n",
    )
    errors = errors_of(write(tmp_path, "w.yaml", text))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("protocol.mru", 5, 8),
        ("protocol.accm", 6, 9),
        ("protocol.echo_interval", 7, 18),
        ("protocol.auth.require", 8, 19),
        ("interfaces[0].prefix", 10, 21),
        ("interfaces[0].mode", 10, 39),
    ]


# --- the firmware's own check, and rules across files ----------------------------


@pytest.mark.parametrize(
    ("protocol", "validator"),
    [
        ("chdlc", "validate_chdlc"),
        ("ppp", "validate_ppp"),
        ("frame_relay\n  dlcis: [16]", "validate_frame_relay"),
    ],
)
def test_firmware_refusal_is_an_error_at_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str, validator: str
) -> None:
    def refuse(config: object) -> None:
        raise LocalProtocolError("something the rules missed")

    monkeypatch.setattr(config_rules, validator, refuse)
    err = one_error(write(tmp_path, "w.yaml", device(f"  type: {protocol}\n")))
    assert (err.key, err.line, err.column) == ("protocol", 4, 3)
    assert err.message == "the firmware refuses this configuration: something the rules missed"


def test_frame_relay_cannot_switch_to_a_chdlc_port(tmp_path: Path) -> None:
    fr = write(
        tmp_path,
        "a.yaml",
        device(
            "  type: frame_relay\n  station: node\n  dlcis: [16]\n",
            extra="adapter: {port: 1}\nswitch: [{dlci: 16, to: 'wanpipe2:16'}]\n",
        ),
    )
    chdlc = write(
        tmp_path,
        "b.yaml",
        device("  type: chdlc\n", device_name="wanpipe2", extra="adapter: {port: 2}\n").replace(
            "/run/a.sock", "/run/c.sock"
        ),
    )
    with pytest.raises(ConfigErrors) as caught:
        load_configs([fr, chdlc])
    (err,) = caught.value.errors
    assert (err.file, err.key, err.line, err.column) == (fr, "switch[0].to", 8, 25)
    assert "wanpipe2 runs chdlc, not frame_relay" in err.message


def test_unknown_protocol_still_checks_what_does_not_depend_on_it(tmp_path: Path) -> None:
    text = device("  type: sdlc\n", "  - {address: slarp, mtu: 20}\n  - {dlci: 5}\n")
    errors = errors_of(write(tmp_path, "w.yaml", text))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("protocol.type", 4, 9),
        ("interfaces[0].mtu", 6, 27),
        ("interfaces[1].dlci", 7, 12),
    ]


def test_corpus_covers_the_new_protocols() -> None:
    assert len(list(BAD.glob("chdlc_*.yaml"))) + len(list(BAD.glob("ppp_*.yaml"))) >= 15


def test_slarp_on_a_bridge_is_reported_beside_other_mistakes(tmp_path: Path) -> None:
    text = device("  type: chdlc\n", "  - {address: slarp, mode: bridge, mtu: 20}\n")
    errors = errors_of(write(tmp_path, "w.yaml", text))
    assert [(e.key, e.line, e.column) for e in errors] == [
        ("interfaces[0].mode", 6, 28),
        ("interfaces[0].mtu", 6, 41),
    ]
