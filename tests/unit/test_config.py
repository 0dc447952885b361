"""wand.config: the lab examples load into the expected model; every mistake is
reported at its file, line, column and key; nothing stops at the first error.

Single-file rules are covered by the corpus in configs/bad/: each file's leading
"# expect KEY at LINE:COLUMN" lines list exactly the errors it must produce
(KEY "-" for errors that name no key, such as YAML syntax errors).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_emu.fr.config import ChannelMode, DlciConfig, FrameRelayConfig
from firmware_emu.phy.config import LineConfig
from wand.config import ConfigError, ConfigErrors, format_errors, load_configs, load_device
from wand.config.model import DeviceConfig, InterfaceConfig, RouteConfig, SwitchConfig, TransportConfig

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "etc" / "lab"
BAD = Path(__file__).parent / "configs" / "bad"
EXPECT = re.compile(r"^# expect (\S+) at (\d+):(\d+)(?: -- (.+))?$")


def errors_of(path: Path | str) -> list[ConfigError]:
    """The errors load_device reports for one file."""
    with pytest.raises(ConfigErrors) as caught:
        load_device(str(path))
    return caught.value.errors


def set_errors(*paths: str) -> list[ConfigError]:
    """The errors load_configs reports for a set of files."""
    with pytest.raises(ConfigErrors) as caught:
        load_configs(list(paths))
    return caught.value.errors


def positions(errors: list[ConfigError]) -> set[tuple[str, int, int]]:
    return {(err.key, err.line, err.column) for err in errors}


# --- the lab examples -----------------------------------------------------------

T1 = LineConfig(kind="t1", framing="esf", coding="b8zs", clock="normal", timeslots=None, tx_queue_len=32)
PVC16 = DlciConfig(dlci=16, cir=64000, bc=64000, be=0, inarp=False)


def test_site_a_loads_into_the_full_model() -> None:
    path = str(LAB / "siteA" / "wanpipe1.yaml")
    expected = DeviceConfig(
        name="wanpipe1",
        number=1,
        adapter="a1",
        port=1,
        line=T1,
        protocol=FrameRelayConfig(
            station="cpe",
            signalling="ansi",
            encapsulation="ietf",
            t391=10.0,
            t392=15.0,
            n391=6,
            n392=3,
            n393=4,
            dlcis=(DlciConfig(dlci=16, mode=ChannelMode.IP, cir=64000, bc=64000, be=0, address="10.0.0.1"),),
        ),
        transport=TransportConfig(
            kind="unix", local="/run/wand/lab/siteA-wanpipe1.sock", remote="/run/wand/lab/siteB-wanpipe1.sock"
        ),
        interfaces=(
            InterfaceConfig(
                name="wp1_fr16",
                channel=16,
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
    assert config.source == path
    assert config.line.bit_rate == 1_536_000


def test_site_b_is_the_dce_mirror() -> None:
    config = load_device(str(LAB / "siteB" / "wanpipe1.yaml"))
    assert config.protocol.station == "node"
    assert config.line.clock == "master"
    assert config.protocol.dlcis == (dataclasses.replace(PVC16, address="10.0.0.2"),)
    (iface,) = config.interfaces
    assert (iface.name, iface.address, iface.peer, iface.prefix) == ("wp1_fr16", "10.0.0.2", "10.0.0.1", 30)
    assert iface.routes == (RouteConfig(dst="192.168.1.0/24", gateway="10.0.0.1"),)
    assert config.transport.local == "/run/wand/lab/siteB-wanpipe1.sock"
    assert config.transport.remote == "/run/wand/lab/siteA-wanpipe1.sock"


def test_back_to_back_ends_point_at_each_other() -> None:
    a, b = (load_device(str(LAB / site / "wanpipe1.yaml")) for site in ("siteA", "siteB"))
    assert (a.transport.local, a.transport.remote) == (b.transport.remote, b.transport.local)


def test_switched_sites_reach_the_carrier() -> None:
    site_a = load_device(str(LAB / "switched" / "siteA" / "wanpipe1.yaml"))
    site_b = load_device(str(LAB / "switched" / "siteB" / "wanpipe1.yaml"))
    assert site_a.transport.remote == "/run/wand/lab/carrier-wanpipe1.sock"
    assert site_a.protocol.station == site_b.protocol.station == "cpe"
    assert [d.dlci for d in site_b.protocol.dlcis] == [17]
    (iface,) = site_b.interfaces
    assert (iface.name, iface.channel, iface.address, iface.peer) == ("wp1_fr17", 17, "10.0.0.2", "10.0.0.1")
    assert iface.routes[0].dst == "192.168.1.0/24"
    assert site_b.transport.local == "/run/wand/lab/siteB-wanpipe1.sock"
    assert site_b.transport.remote == "/run/wand/lab/carrier-wanpipe2.sock"


def test_carrier_set_switches_16_to_17_and_back() -> None:
    port1, port2 = load_configs(
        [
            str(LAB / "switched" / "carrier" / "wanpipe1.yaml"),
            str(LAB / "switched" / "carrier" / "wanpipe2.yaml"),
        ]
    )
    assert (port1.name, port1.adapter, port1.port) == ("wanpipe1", "a1", 1)
    assert (port2.name, port2.adapter, port2.port) == ("wanpipe2", "a1", 2)
    assert port1.switch == (SwitchConfig(dlci=16, to_device="wanpipe2", to_dlci=17),)
    assert port2.switch == (SwitchConfig(dlci=17, to_device="wanpipe1", to_dlci=16),)
    for port in (port1, port2):
        assert port.protocol.station == "node"
        assert port.line.clock == "master"
        assert port.interfaces == ()
        assert [d.mode for d in port.protocol.dlcis] == [ChannelMode.RAW]
    assert port1.transport.remote == "/run/wand/lab/siteA-wanpipe1.sock"
    assert port2.transport.remote == "/run/wand/lab/siteB-wanpipe1.sock"


@pytest.mark.parametrize("path", sorted(LAB.rglob("*.yaml")), ids=lambda p: str(p.relative_to(LAB)))
def test_every_lab_file_validates(path: Path) -> None:
    if path.parent.name == "carrier":
        load_configs([str(p) for p in sorted(path.parent.glob("*.yaml"))])
    else:
        load_device(str(path))


# --- the bad-config corpus --------------------------------------------------------


def corpus() -> list[Path]:
    return sorted(BAD.glob("*.yaml"))


def expectations(path: Path) -> tuple[str, set[tuple[str, int, int]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    first = EXPECT.match(lines[0]) if lines else None
    assert first is not None and first.group(4), (
        f"{path.name}: first line must be '# expect KEY at L:C -- why'"
    )
    expected = set()
    for line in lines:
        match = EXPECT.match(line)
        if match is None:
            break
        key = "" if match.group(1) == "-" else match.group(1)
        expected.add((key, int(match.group(2)), int(match.group(3))))
    return first.group(4), expected


def test_corpus_is_big_enough() -> None:
    assert len(corpus()) >= 25


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_bad_config_reports_exactly_its_errors(path: Path) -> None:
    _, expected = expectations(path)
    errors = errors_of(path)
    assert all(err.file == str(path) for err in errors)
    assert all(err.line >= 1 and err.column >= 1 for err in errors)
    assert positions(errors) == expected, format_errors(errors)


# --- single-file behaviour beyond the corpus ------------------------------------


def test_error_str_is_file_line_column_key_message() -> None:
    err = ConfigError("a.yaml", 3, 7, "protocol.dlcis[0].dlci", "DLCI 15 is reserved")
    assert str(err) == "a.yaml:3:7: protocol.dlcis[0].dlci: DLCI 15 is reserved"
    assert str(ConfigError("a.yaml", 1, 2, "", "bad YAML")) == "a.yaml:1:2: bad YAML"
    assert format_errors([err, err]) == f"{err}\n{err}"
    assert str(ConfigErrors([err])) == str(err)


def test_several_errors_are_all_reported_in_file_order() -> None:
    path = BAD / "several_errors.yaml"
    errors = errors_of(path)
    assert [err.key for err in errors] == [
        "device",
        "line.type",
        "protocol.dlcis[0]",
        "interfaces[0].mtu",
        "transport.type",
    ]
    assert [err.line for err in errors] == sorted(err.line for err in errors)


def test_unknown_keys_suggest_the_closest_known_key() -> None:
    (err,) = errors_of(BAD / "iface_unknown_key.yaml")
    assert "did you mean 'address'?" in err.message
    (err,) = errors_of(BAD / "unknown_top_key.yaml")
    assert "did you mean 'interfaces'?" in err.message


def test_wrong_choices_suggest_a_value() -> None:
    (err,) = errors_of(BAD / "fr_station_bad.yaml")
    assert err.message == "'dte' is not one of cpe, node; did you mean 'cpe'?"


def test_kernel_rule_is_named_in_timer_errors() -> None:
    (err,) = errors_of(BAD / "fr_t391_too_short.yaml")
    assert "kernel rule t391 >= 1" in err.message
    (err,) = errors_of(BAD / "fr_n392_above_n393.yaml")
    assert "kernel rule n393 >= n392" in err.message


def test_syntax_error_is_positioned_and_keyless() -> None:
    (err,) = errors_of(BAD / "syntax_mapping_in_value.yaml")
    assert (err.line, err.column, err.key) == (2, 17, "")
    assert "mapping values are not allowed" in err.message


def test_unreadable_file_is_one_error_without_position(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    (err,) = errors_of(missing)
    assert (err.file, err.line, err.column) == (str(missing), 0, 0)


def test_invalid_utf8_is_positioned(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"device: wanpipe1\n# caf\xe9\n")
    (err,) = errors_of(path)
    assert (err.line, err.column) == (2, 6)


def test_sub_second_timers_are_accepted_for_tests(tmp_path: Path) -> None:
    text = minimal(dlcis="[16]").replace("  dlcis:", "  t391: 0.2\n  t392: 0.5\n  dlcis:")
    config = load_device(write(tmp_path, "fast.yaml", text))
    assert (config.protocol.t391, config.protocol.t392) == (0.2, 0.5)


def test_defaults_fill_a_minimal_file(tmp_path: Path) -> None:
    config = load_device(write(tmp_path, "wanpipe3.yaml", minimal(device="wanpipe3", dlcis="[16, 17]")))
    assert (config.adapter, config.port) == ("adapter1", 1)
    assert config.line == LineConfig()
    assert config.protocol == FrameRelayConfig(dlcis=(DlciConfig(16), DlciConfig(17)))


def test_interface_defaults_and_dlci_modes(tmp_path: Path) -> None:
    text = minimal(device="wanpipe2", dlcis="[16, 17, 18]") + (
        "interfaces:\n"
        "  - {dlci: 16, address: 10.1.0.1, routes: [{dst: default}]}\n"
        "  - {dlci: 17, mode: bridge}\n"
    )
    config = load_device(write(tmp_path, "wanpipe2.yaml", text))
    ip, tap = config.interfaces
    assert (ip.name, ip.prefix, ip.mtu, ip.routes) == ("wp2_fr16", 30, 1500, (RouteConfig("0.0.0.0/0"),))
    assert (tap.name, tap.mode) == ("wp2_fr17", ChannelMode.BRIDGE)
    modes = {d.dlci: (d.mode, d.address) for d in config.protocol.dlcis}
    # 18 is declared but unused: it stays IP, with no interface behind it.
    assert modes == {
        16: (ChannelMode.IP, "10.1.0.1"),
        17: (ChannelMode.BRIDGE, None),
        18: (ChannelMode.IP, None),
    }


def test_serial_line_unlimited_clock(tmp_path: Path) -> None:
    text = minimal().replace("line: {type: t1}", "line: {type: serial, clock_rate: unlimited}")
    line = load_device(write(tmp_path, "serial.yaml", text)).line
    assert (line.kind, line.clock_rate, line.bit_rate) == ("serial", None, None)


def test_fractional_t1_timeslots(tmp_path: Path) -> None:
    text = minimal().replace("line: {type: t1}", 'line: {type: t1, timeslots: "1-12,15"}')
    line = load_device(write(tmp_path, "frac.yaml", text)).line
    assert line.timeslots == (*range(1, 13), 15)
    assert line.bit_rate == 13 * 64_000


def test_anchors_and_extension_keys(tmp_path: Path) -> None:
    text = minimal(dlcis="[16, 17]") + (
        "x-pvc: &pvc {mtu: 1400, prefix: 24}\n"
        "interfaces:\n"
        "  - {<<: *pvc, dlci: 16, address: 10.1.1.1}\n"
        "  - {<<: *pvc, dlci: 17, address: 10.1.2.1}\n"
    )
    config = load_device(write(tmp_path, "anchors.yaml", text))
    assert [(i.mtu, i.prefix) for i in config.interfaces] == [(1400, 24), (1400, 24)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("device: wanpipe1\nline{}[]-,#&*!'\"\t 0123456789"))))
def test_any_text_gives_a_config_or_positioned_errors(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "fuzz.yaml", text)
    try:
        load_device(path)
    except ConfigErrors as exc:
        assert exc.errors
        assert all(err.file == path and err.line >= 1 and err.column >= 1 for err in exc.errors)


# --- cross-file checks ------------------------------------------------------------


def minimal(
    device: str = "wanpipe1",
    adapter: str = "",
    dlcis: str = "[16]",
    station: str = "cpe",
    local: str = "",
) -> str:
    local = local or f"/run/{device}.sock"  # each line its own cable end
    return (
        f"device: {device}\n"
        "line: {type: t1}\n"
        "protocol:\n"
        "  type: frame_relay\n"
        f"  station: {station}\n"
        f"  dlcis: {dlcis}\n"
        f"transport: {{type: unix, local: {local}, remote: /run/far.sock}}\n"
        + (f"adapter: {adapter}\n" if adapter else "")
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_duplicate_device_names(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", minimal(adapter="{port: 1}"))
    b = write(tmp_path, "b.yaml", minimal(adapter="{port: 2}", local="/run/b.sock"))
    (err,) = set_errors(a, b)
    assert (err.file, err.line, err.column, err.key) == (b, 1, 9, "device")
    assert f"{a}:1" in err.message


def test_same_adapter_port_twice(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", minimal("wanpipe1", adapter="{name: a1, port: 2}"))
    b = write(tmp_path, "b.yaml", minimal("wanpipe2", adapter="{name: a1, port: 2}"))
    (err,) = set_errors(a, b)
    assert (err.file, err.line, err.column, err.key) == (b, 8, 27, "adapter.port")
    assert "already used by wanpipe1" in err.message


def test_default_adapter_port_collides(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", minimal("wanpipe1"))
    b = write(tmp_path, "b.yaml", minimal("wanpipe2"))
    (err,) = set_errors(a, b)
    # No adapter: section to point at, so the error points at the top of the file.
    assert (err.file, err.line, err.column, err.key) == (b, 1, 1, "adapter.port")


def test_more_than_four_ports_on_one_adapter(tmp_path: Path) -> None:
    paths = [
        write(tmp_path, f"w{n}.yaml", minimal(f"wanpipe{n}", adapter=f"{{name: a1, port: {min(n, 4)}}}"))
        for n in range(1, 6)
    ]
    errors = set_errors(*paths)
    assert positions(errors) == {("adapter.port", 8, 27), ("adapter.name", 8, 17)}
    assert all(err.file == paths[4] for err in errors)
    assert any("5 devices use it" in err.message for err in errors)


def test_duplicate_interface_names_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", minimal("wanpipe1", "{port: 1}") + "interfaces: [{dlci: 16, name: wan0}]\n")
    b = write(
        tmp_path, "b.yaml", minimal("wanpipe2", "{port: 2}") + "interfaces:\n  - {dlci: 16, name: wan0}\n"
    )
    (err,) = set_errors(a, b)
    assert (err.file, err.line, err.column, err.key) == (b, 10, 22, "interfaces[0].name")


def node_port(device: str, port: int, dlci: int, to: str) -> str:
    return minimal(device, f"{{port: {port}}}", f"[{dlci}]", "node", f"/run/{device}.sock") + (
        f'switch:\n  - {{dlci: {dlci}, to: "{to}"}}\n'
    )


def test_switch_target_device_must_be_in_the_set(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", node_port("wanpipe1", 1, 16, "wanpipe3:17"))
    (err,) = set_errors(a)
    assert (err.key, err.line, err.column) == ("switch[0].to", 10, 20)
    assert "no device wanpipe3" in err.message


def test_switch_target_dlci_must_be_declared_there(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", node_port("wanpipe1", 1, 16, "wanpipe2:18"))
    b = write(tmp_path, "b.yaml", node_port("wanpipe2", 2, 17, "wanpipe1:16"))
    errors = set_errors(a, b)
    assert {(e.file, e.key, e.line, e.column) for e in errors} == {
        (a, "switch[0].to", 10, 20),  # wanpipe2 has no DLCI 18
        (b, "switch[0].to", 10, 20),  # wanpipe1:16 switches to 18, not back to 17
    }
    assert "has no DLCI 18" in errors[0].message


def test_switch_must_be_mirrored(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", node_port("wanpipe1", 1, 16, "wanpipe2:17"))
    b = write(tmp_path, "b.yaml", minimal("wanpipe2", "{port: 2}", "[17]", "node", "/run/b.sock"))
    (err,) = set_errors(a, b)
    assert (err.file, err.key) == (a, "switch[0].to")
    assert "does not switch DLCI 17 back to wanpipe1:16" in err.message


def test_one_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", node_port("wanpipe1", 1, 16, "wanpipe2:17"))
    b = write(tmp_path, "b.yaml", node_port("wanpipe2", 2, 17, "wanpipe1:16").replace("type: t1", "type: t3"))
    c = write(tmp_path, "c.yaml", minimal("wanpipe1", "{port: 3}", local="/run/c.sock"))
    errors = set_errors(a, b, c)
    # b's own error, and c's duplicate name; a's target is in the broken b, so not reported.
    assert [(e.file, e.key) for e in errors] == [(b, "line.type"), (c, "device")]


def test_load_configs_returns_devices_in_order(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", node_port("wanpipe1", 1, 16, "wanpipe2:17"))
    b = write(tmp_path, "b.yaml", node_port("wanpipe2", 2, 17, "wanpipe1:16"))
    assert [c.name for c in load_configs([b, a])] == ["wanpipe2", "wanpipe1"]
    assert load_configs([]) == []
