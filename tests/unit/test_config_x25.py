"""wand.config for X.25 lines: the lab examples load into the expected model, the
interfaces become the firmware's channels, XOT transports, and the firmware's own
checks as the last word.

Single-rule mistakes are in the corpus (configs/bad/x25_*.yaml, xot_*.yaml), run by
test_config.py; this file covers what needs a whole model or several files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_emu.errors import LocalProtocolError
from firmware_emu.fr.config import ChannelMode
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.phy.config import LineConfig
from firmware_emu.phy.theory import tcp_goodput
from firmware_emu.x25.config import X25Channel, X25Config, svc_channel
from firmware_emu.x25.layer import PacketLayerConfig
from wand import lab
from wand.cli import main
from wand.config import ConfigError, ConfigErrors, load_configs, load_device, x25_rules
from wand.config import rules as config_rules
from wand.config.model import DeviceConfig, InterfaceConfig, RouteConfig, TransportConfig

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "etc" / "lab" / "x25"
T1 = LineConfig(kind="t1", framing="esf", coding="b8zs", clock="normal", timeslots=None, tx_queue_len=32)
UNIX = "transport: {type: unix, local: /run/a.sock, remote: /run/b.sock}\n"
UNPACED = "line: {type: serial, clock_rate: unlimited}\n"


def errors_of(path: Path | str) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_device(str(path))
    return caught.value.errors


def one_error(path: Path | str) -> ConfigError:
    errors = errors_of(path)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def x25(
    protocol: str = "", interfaces: str = "", transport: str = UNIX, line: str = "line: {type: t1}\n"
) -> str:
    """A small X.25 device file: `protocol` is indented keys after `type: x25`."""
    return (
        "device: wanpipe1\n"
        + line
        + "protocol:\n  type: x25\n"
        + protocol
        + (f"interfaces:\n{interfaces}" if interfaces else "")
        + transport
    )


# --- the lab examples -----------------------------------------------------------


def test_site_a_loads_into_the_full_model() -> None:
    path = str(LAB / "siteA" / "wanpipe1.yaml")
    channel = svc_channel(0)
    expected = DeviceConfig(
        name="wanpipe1",
        number=1,
        adapter="a1",
        port=1,
        line=T1,
        protocol=X25Config(
            lapb=LapbConfig(role="dte", modulo=8, window=7, t1=3.0, t2=0.0, n2=10, n1=3 + 4096),
            packet=PacketLayerConfig(
                role="dte",
                modulo=8,
                packet_size=1024,
                window=7,
                max_packet_size=4096,
                max_window=7,
                pvcs=(),
                incoming=None,
                two_way=(1, 64),
                outgoing=None,
                address="31370001",
                t20=180.0,
                t21=200.0,
                t22=180.0,
                t23=180.0,
            ),
            channels=(X25Channel(channel=channel, remote="31370002", idle_timeout=300.0, call_out=True),),
            link="lapb",
            api=True,
        ),
        transport=TransportConfig(
            kind="unix", local="/run/wand/lab/siteA-wanpipe1.sock", remote="/run/wand/lab/siteB-wanpipe1.sock"
        ),
        interfaces=(
            InterfaceConfig(
                name="wp1_x25",
                channel=channel,
                address="10.0.0.1",
                peer="10.0.0.2",
                routes=(RouteConfig(dst="192.168.2.0/24", gateway="10.0.0.2"),),
            ),
            InterfaceConfig(name="wp1_api", channel=0, mode=ChannelMode.API),
        ),
    )
    config = load_device(path)
    assert config == expected
    assert config.protocol_name == "x25"


def test_site_b_is_the_dce_mirror() -> None:
    a, b = (load_device(str(LAB / site / "wanpipe1.yaml")) for site in ("siteA", "siteB"))
    assert isinstance(a.protocol, X25Config) and isinstance(b.protocol, X25Config)
    assert (b.protocol.packet.role, b.protocol.lapb.role, b.line.clock) == ("dce", "dce", "master")
    assert (a.protocol.packet.address, b.protocol.packet.address) == ("31370001", "31370002")
    assert a.protocol.channels[0].remote == b.protocol.packet.address
    assert b.protocol.channels[0].remote == a.protocol.packet.address
    # What both ends must agree on, as a subscription would say it.
    for field in ("modulo", "packet_size", "window", "two_way", "incoming", "outgoing", "pvcs"):
        assert getattr(a.protocol.packet, field) == getattr(b.protocol.packet, field), field
    assert a.protocol.lapb.modulo == b.protocol.lapb.modulo
    wan, api = b.interfaces
    assert (wan.name, wan.address, wan.peer) == ("wp1_x25", "10.0.0.2", "10.0.0.1")
    assert wan.routes == (RouteConfig(dst="192.168.1.0/24", gateway="10.0.0.1"),)
    assert (api.name, api.mode) == ("wp1_api", ChannelMode.API)
    assert (a.transport.local, a.transport.remote) == (b.transport.remote, b.transport.local)


@pytest.mark.parametrize("site", ["siteA", "siteB"])
def test_wand_validate_passes_each_site(site: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(LAB / site / "wanpipe1.yaml")]) == 0
    assert "wanpipe1 OK (t1, x25, wp1_x25, wp1_api)" in capsys.readouterr().out


def test_the_lab_knows_x25() -> None:
    sites = lab._site_configs(ROOT / "etc" / "lab", switch=False, protocol="x25")
    assert sites == {ns: [LAB / ns / "wanpipe1.yaml"] for ns in ("siteA", "siteB")}
    with pytest.raises(ValueError, match="Frame Relay switch"):
        lab._site_configs(ROOT / "etc" / "lab", switch=True, protocol="x25")


def test_x25_goodput_counts_a_frame_per_packet() -> None:
    config = load_device(str(LAB / "siteA" / "wanpipe1.yaml")).protocol
    assert isinstance(config, X25Config)
    # 1500 octets in 1024-octet packets: two frames, each with 3 + 2 octets of headers.
    two_frames = lab.x25_tcp_goodput(1_536_000, config)
    one_frame = tcp_goodput(1_536_000, header=lab.HEADER_BYTES["x25"])
    assert lab.HEADER_BYTES["x25"] == 5
    assert two_frames < one_frame
    big = X25Config(packet=PacketLayerConfig(packet_size=2048, max_packet_size=2048))
    assert lab.x25_tcp_goodput(1_536_000, big) == pytest.approx(one_frame)
    extended = X25Config(
        lapb=LapbConfig(modulo=128), packet=PacketLayerConfig(modulo=128, packet_size=2048, max_window=127)
    )
    assert lab.x25_tcp_goodput(1_536_000, extended) == pytest.approx(tcp_goodput(1_536_000, header=7))


# --- the model ----------------------------------------------------------------------


def test_defaults_fill_a_minimal_file(tmp_path: Path) -> None:
    config = load_device(write(tmp_path, "w.yaml", x25()))
    assert config.interfaces == ()
    default = PacketLayerConfig()
    assert config.protocol == X25Config(
        lapb=LapbConfig(role="dte", n1=3 + default.max_packet_size), packet=default, channels=(), api=False
    )


def test_interfaces_become_channels_with_wanpipe_names(tmp_path: Path) -> None:
    interfaces = (
        '  - {remote: "31370002", address: 10.1.0.1/30}\n'
        '  - {remote: "31370003", call: accept, idle_timeout: 0, mtu: 1400}\n'
        "  - {pvc: 1, address: 10.2.0.1/30}\n"
        "  - {mode: api, mtu: 4000}\n"
        '  - {remote: "4", name: far}\n'
    )
    text = x25("  lcns: {pvc: [1, 2], two_way: [10, 20]}\n", interfaces).replace("wanpipe1", "wanpipe3")
    config = load_device(write(tmp_path, "w.yaml", text))
    assert [(i.name, i.channel, i.mode) for i in config.interfaces] == [
        ("wp3_x25", svc_channel(0), ChannelMode.IP),
        ("wp3_x25_1", svc_channel(1), ChannelMode.IP),
        ("wp3_pvc1", 1, ChannelMode.IP),
        ("wp3_api", 0, ChannelMode.API),
        ("far", svc_channel(2), ChannelMode.IP),
    ]
    assert config.interfaces[1].mtu == 1400 and config.interfaces[3].mtu == 4000
    protocol = config.protocol
    assert isinstance(protocol, X25Config)
    assert protocol.api
    assert protocol.channels == (
        X25Channel(channel=svc_channel(0), remote="31370002", idle_timeout=300.0, call_out=True),
        X25Channel(channel=svc_channel(1), remote="31370003", idle_timeout=0.0, call_out=False),
        X25Channel(channel=1, pvc=1),
        X25Channel(channel=svc_channel(2), remote="4"),
    )
    assert (protocol.packet.pvcs, protocol.packet.two_way, protocol.packet.incoming) == (
        (1, 2),
        (10, 20),
        None,
    )


def test_written_lcns_are_the_whole_plan(tmp_path: Path) -> None:
    text = x25("  lcns:\n    pvc: [3, 1]\n    incoming: [5, 9]\n    outgoing: [100, 119]\n")
    packet = load_device(write(tmp_path, "w.yaml", text)).protocol.packet  # type: ignore[union-attr]
    # No two_way written: none (the default 1..255 applies only without lcns).
    assert (packet.pvcs, packet.incoming, packet.two_way, packet.outgoing) == (
        (1, 3),
        (5, 9),
        None,
        (100, 119),
    )


def test_extended_modulo_and_small_packets(tmp_path: Path) -> None:
    protocol = (
        "  modulo: 128\n  window: 100\n  packet_size: 16\n  max_packet_size: 64\n"
        "  lapb: {modulo: 128, window: 127, t1: 0.5, t2: 0.1, n2: 3}\n"
        "  timers: {t20: 0.2, t21: 0.3, t22: 0.4, t23: 0.5}\n"
    )
    config = load_device(write(tmp_path, "w.yaml", x25(protocol))).protocol
    assert isinstance(config, X25Config)
    assert (config.packet.modulo, config.packet.window, config.packet.max_window) == (128, 100, 127)
    assert (config.packet.t20, config.packet.t23) == (0.2, 0.5)
    assert config.lapb == LapbConfig(modulo=128, window=127, t1=0.5, t2=0.1, n2=3, n1=4 + 256)


@pytest.mark.parametrize(
    ("modulo", "max_packet_size", "n1"),
    [(8, 4096, 4099), (128, 4096, 4100), (8, 128, 259), (8, 16, 259), (8, 256, 259), (8, 512, 515)],
)
def test_lapb_n1_fits_the_largest_packet(modulo: int, max_packet_size: int, n1: int) -> None:
    # A clear request with every optional field: 3 + cause, diagnostic + 16 + 110 + 128 user data.
    assert x25_rules.lapb_n1(modulo, max_packet_size) == n1


def test_station_sets_both_layers(tmp_path: Path) -> None:
    config = load_device(write(tmp_path, "w.yaml", x25("  station: dce\n"))).protocol
    assert isinstance(config, X25Config)
    assert (config.lapb.role, config.packet.role) == ("dce", "dce")


def test_a_dce_calls_on_incoming_lcns(tmp_path: Path) -> None:
    # Ranges are named as the DTE sees them: the DTE's incoming calls are the DCE's outgoing.
    iface = '  - {remote: "1"}\n'
    ok = x25("  station: dce\n  lcns: {incoming: [1, 9]}\n", iface)
    assert load_device(write(tmp_path, "ok.yaml", ok)).interfaces[0].name == "wp1_x25"
    err = one_error(write(tmp_path, "bad.yaml", x25("  station: dce\n  lcns: {outgoing: [1, 9]}\n", iface)))
    assert err.key == "interfaces[0].remote"
    assert "a dce places calls on protocol.lcns.two_way or .incoming" in err.message


def test_a_dte_that_only_answers_needs_incoming_lcns(tmp_path: Path) -> None:
    iface = '  - {remote: "1", call: accept}\n'
    err = one_error(write(tmp_path, "w.yaml", x25("  lcns: {outgoing: [1, 9]}\n", iface)))
    assert (err.key, err.line) == ("interfaces[0].call", 7)
    assert "a dte receives calls on protocol.lcns.two_way or .incoming" in err.message


def test_every_mistake_is_reported_in_one_run(tmp_path: Path) -> None:
    protocol = "  address: 12\n  window: 0\n  lcns: {two_way: [1, 2, 3]}\n  lapb: {n2: 0}\n"
    interfaces = "  - {pvc: 0}\n  - {remote: 5}\n  - {mode: api, peer: 10.0.0.2, routes: []}\n"
    errors = errors_of(write(tmp_path, "w.yaml", x25(protocol, interfaces)))
    assert [e.key for e in errors] == [
        "protocol.address",
        "protocol.window",
        "protocol.lcns.two_way",
        "protocol.lapb.n2",
        "interfaces[0].pvc",
        "interfaces[1].remote",
        "interfaces[2].peer",
        "interfaces[2].routes",
    ]


def test_unknown_protocol_accepts_x25_interface_keys(tmp_path: Path) -> None:
    text = x25(interfaces='  - {remote: "1", call: accept, idle_timeout: 5, pvc: 1, mtu: 20}\n')
    errors = errors_of(write(tmp_path, "w.yaml", text.replace("type: x25", "type: sdlc")))
    assert [(e.key, e.line) for e in errors] == [("protocol.type", 4), ("interfaces[0].mtu", 6)]


def test_x25_port_cannot_be_a_switch_target(tmp_path: Path) -> None:
    fr = write(
        tmp_path,
        "a.yaml",
        "device: wanpipe1\nline: {type: t1}\nadapter: {port: 1}\n"
        "protocol: {type: frame_relay, station: node, dlcis: [16]}\n"
        'switch: [{dlci: 16, to: "wanpipe2:16"}]\n' + UNIX,
    )
    other = write(
        tmp_path,
        "b.yaml",
        x25().replace("wanpipe1", "wanpipe2").replace("/run/a.sock", "/run/c.sock") + "adapter: {port: 2}\n",
    )
    with pytest.raises(ConfigErrors) as caught:
        load_configs([fr, other])
    (err,) = caught.value.errors
    assert "wanpipe2 runs x25, not frame_relay" in err.message


# --- XOT --------------------------------------------------------------------------------


def xot(local: str, remote: str = "", device: str = "wanpipe1", port: int = 1) -> str:
    ends = f'local: "{local}"' + (f', remote: "{remote}"' if remote else "")
    text = x25(line=UNPACED, transport=f"transport: {{type: xot, {ends}}}\n")
    return text.replace("wanpipe1", device) + f"adapter: {{port: {port}}}\n"


@pytest.mark.parametrize(
    ("local", "remote", "expected"),
    [
        ("0.0.0.0", "192.0.2.1", ("0.0.0.0:1998", "192.0.2.1:1998")),
        ("10.0.0.1:2000", "", ("10.0.0.1:2000", "")),
        ("[::]", "[2001:db8::1]:1999", ("[::]:1998", "[2001:db8::1]:1999")),
        ("0.0.0.0", "xot.example.net", ("0.0.0.0:1998", "xot.example.net:1998")),
    ],
)
def test_xot_endpoints_get_port_1998(
    tmp_path: Path, local: str, remote: str, expected: tuple[str, str]
) -> None:
    config = load_device(write(tmp_path, "w.yaml", xot(local, remote)))
    assert config.transport == TransportConfig(kind="xot", local=expected[0], remote=expected[1])
    assert isinstance(config.protocol, X25Config) and config.protocol.link == "xot"
    assert config.line.bit_rate is None


def test_xot_needs_somewhere_to_listen(tmp_path: Path) -> None:
    text = x25(line=UNPACED, transport='transport: {type: xot, remote: "192.0.2.1"}\n')
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.message) == ("transport.local", "missing required key 'local'")


def test_xot_remote_cannot_be_local(tmp_path: Path) -> None:
    err = one_error(write(tmp_path, "w.yaml", xot("10.0.0.1", "10.0.0.1:1998")))
    assert err.key == "transport.remote"


def test_xot_line_must_be_unpaced(tmp_path: Path) -> None:
    text = xot("0.0.0.0").replace(UNPACED, "line: {type: serial, clock_rate: 64000}\n")
    err = one_error(write(tmp_path, "w.yaml", text))
    assert (err.key, err.line, err.column) == ("line.clock_rate", 2, 34)
    assert "clock_rate: unlimited" in err.message


def test_xot_listeners_on_one_port_clash_through_a_wildcard(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", xot("0.0.0.0"))
    b = write(tmp_path, "b.yaml", xot("10.0.0.1:1998", device="wanpipe2", port=2))
    with pytest.raises(ConfigErrors) as caught:
        load_configs([a, b])
    (err,) = caught.value.errors
    assert (err.file, err.key) == (b, "transport.local")
    assert "TCP port 1998 is already taken by wanpipe1's XOT listener on 0.0.0.0:1998" in err.message


def test_xot_listeners_on_different_addresses_or_ports_coexist(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", xot("10.0.0.1"))
    b = write(tmp_path, "b.yaml", xot("10.0.0.2", device="wanpipe2", port=2))
    c = write(tmp_path, "c.yaml", xot("0.0.0.0:1999", device="wanpipe3", port=3))
    assert [d.transport.local for d in load_configs([a, b, c])] == [
        "10.0.0.1:1998",
        "10.0.0.2:1998",
        "0.0.0.0:1999",
    ]


def test_same_xot_listener_twice_is_one_error(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", xot("[::]"))
    b = write(tmp_path, "b.yaml", xot("[::]:1998", device="wanpipe2", port=2))
    with pytest.raises(ConfigErrors) as caught:
        load_configs([a, b])
    (err,) = caught.value.errors
    assert "is already used by wanpipe1" in err.message


# --- the firmware's word ----------------------------------------------------------


def test_firmware_validate_is_the_last_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(config: object) -> None:
        raise LocalProtocolError("something the rules missed")

    monkeypatch.setattr(config_rules, "validate_x25", refuse)
    err = one_error(write(tmp_path, "w.yaml", x25()))
    assert (err.key, err.line, err.column) == ("protocol", 4, 3)
    assert err.message == "the firmware refuses this configuration: something the rules missed"


def test_firmware_dataclasses_are_checked_when_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: object) -> None:
        raise LocalProtocolError("two SVC channels call 1")

    monkeypatch.setattr(x25_rules, "X25Config", refuse)
    err = one_error(write(tmp_path, "w.yaml", x25()))
    assert (err.key, err.message) == (
        "protocol",
        "the firmware refuses this configuration: two SVC channels call 1",
    )


def test_xot_local_cannot_be_empty(tmp_path: Path) -> None:
    text = x25(line=UNPACED, transport='transport: {type: xot, local: "", remote: "192.0.2.1"}\n')
    err = one_error(write(tmp_path, "w.yaml", text))
    assert err.key == "transport.local"
    assert err.message.startswith("local is where XOT listens")


def test_xot_takes_the_same_protocol_section_as_lapb(tmp_path: Path) -> None:
    # lapb: goes unused over TCP but is still checked, so one section serves either transport.
    text = xot("0.0.0.0").replace("type: x25\n", "type: x25\n  station: dce\n  lapb: {t1: 0.3, n2: 20}\n")
    config = load_device(write(tmp_path, "w.yaml", text)).protocol
    assert isinstance(config, X25Config)
    assert (config.link, config.packet.role, config.lapb.t1) == ("xot", "dce", 0.3)
    bad = text.replace("n2: 20", "n2: 0")
    assert one_error(write(tmp_path, "bad.yaml", bad)).key == "protocol.lapb.n2"
