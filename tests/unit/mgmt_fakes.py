"""Stand-ins for the daemon and its lines, for the management protocol's unit tests.

The server and the command handlers only read a line's status(), port,
transport, channels, cfg and tx_paused, and the daemon's configs, lines,
uptime() and mgmt: these fakes provide exactly that, fed with status
snapshots taken from real daemons (data/mgmt_status_samples.json).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wand.config import load_device
from wand.config.model import DeviceConfig
from wand.transport import TransportCounters

SAMPLES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "mgmt_status_samples.json").read_text()
)

FR_YAML = """\
device: {device}
adapter: {{name: a1, port: {port}}}
line: {{type: t1}}
protocol:
  type: frame_relay
  station: {station}
  dlcis: [16, 17]
interfaces:
  - {{name: {ifname}, dlci: 16, address: 10.0.{port}.1/30}}
transport: {{type: unix, local: /run/{device}-a.sock, remote: /run/{device}-b.sock}}
{management}
"""

SINGLE_YAML = """\
device: {device}
adapter: {{name: a1, port: {port}}}
line: {{type: t1}}
protocol: {{type: {protocol}}}
interfaces:
  - {{name: {ifname}, address: 10.0.{port}.1/30}}
transport: {{type: unix, local: /run/{device}-a.sock, remote: /run/{device}-b.sock}}
{management}
"""


def device_config(
    tmp: Path,
    *,
    device: str = "wanpipe1",
    port: int = 1,
    protocol: str = "frame_relay",
    station: str = "cpe",
    ifname: str | None = None,
    management: str = "",
) -> DeviceConfig:
    ifname = ifname or ("wp{n}_fr16" if protocol == "frame_relay" else f"wp{{n}}_{protocol}").format(
        n=device.removeprefix("wanpipe")
    )
    template = FR_YAML if protocol == "frame_relay" else SINGLE_YAML
    text = template.format(
        device=device, port=port, station=station, ifname=ifname, protocol=protocol, management=management
    )
    path = tmp / f"{device}.yaml"
    path.write_text(text)
    return load_device(path)


class FakePort:
    """Only its identity matters: flush baselines are keyed by the port object."""

    firmware = "frame_relay"
    firmware_version = "1.0"


@dataclass
class FakeChannel:
    name: str
    number: int
    is_tap: bool = False
    usable: bool = True
    assigned: tuple[str, int] | None = None


class FakeTransport:
    connected = True

    def __init__(self) -> None:
        self.counters = TransportCounters()

    def describe(self) -> str:
        return "unix /run/a.sock -> /run/b.sock"


class FakeLine:
    def __init__(self, cfg: DeviceConfig, sample: str) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.sample = copy.deepcopy(SAMPLES[sample])
        self.sample["device"] = cfg.name
        self.port: FakePort | None = FakePort()
        self.port.firmware = cfg.protocol_name
        self.transport: FakeTransport | None = FakeTransport()
        self.channels = {i.channel: FakeChannel(i.name, i.channel) for i in cfg.interfaces}
        self.tx_paused = False

    def status(self) -> dict[str, Any]:
        return copy.deepcopy(self.sample)


@dataclass
class FakeDaemon:
    configs: list[DeviceConfig]
    lines: dict[str, FakeLine] = field(default_factory=dict)
    mgmt: Any = None

    def uptime(self) -> float:
        return 93784.5


SAMPLE_FOR = {"frame_relay": "frame_relay_cpe", "chdlc": "chdlc", "ppp": "ppp_peer"}


def daemon_with(configs: list[DeviceConfig]) -> FakeDaemon:
    daemon = FakeDaemon(configs)
    for cfg in configs:
        daemon.lines[cfg.name] = FakeLine(cfg, SAMPLE_FOR[cfg.protocol_name])
    return daemon


# -- X.25: a device file, and a line whose status is a live port's ------------------------

X25_YAML = """\
device: {device}
adapter: {{name: a1, port: {port}}}
line: {line}
protocol:
  type: x25
  station: {station}
  address: "{address}"
  modulo: {modulo}
  lcns: {lcns}
  lapb: {{modulo: {lapb_modulo}}}
interfaces:
  - {{name: {prefix}_x25, remote: "{remote}", address: 10.0.{port}.{host}/30}}
  - {{name: {prefix}_api, mode: api}}
{pvc}transport: {transport}
{management}
"""


def x25_device_config(
    tmp: Path,
    *,
    device: str = "wanpipe1",
    port: int = 1,
    station: str = "dte",
    modulo: int = 8,
    lapb_modulo: int = 8,
    xot: bool = False,
    management: str = "",
) -> DeviceConfig:
    """An X.25 line: an IP SVC interface ({prefix}_x25), the API and, on LAPB, an IP PVC on LCN 1 ({prefix}_pvc1).

    The DTE is X.121 address 10, the DCE 20; `xot` puts it on TCP (no LAPB, so no PVC)."""
    dte = station == "dte"
    prefix = f"wp{device.removeprefix('wanpipe')}" + ("" if dte else "b")
    transport = (
        "{type: xot, local: '127.0.0.1:1998', remote: '127.0.0.2:1998'}"
        if xot
        else f"{{type: unix, local: /run/{device}-{station}.sock, remote: /run/{device}-peer.sock}}"
    )
    text = X25_YAML.format(
        device=device,
        port=port,
        station=station,
        address="10" if dte else "20",
        remote="20" if dte else "10",
        modulo=modulo,
        lapb_modulo=lapb_modulo,
        prefix=prefix,
        host=1 if dte else 2,
        transport=transport,
        management=management,
        line="{type: serial, clock_rate: unlimited}" if xot else "{type: t1}",
        lcns="{two_way: [2, 64]}" if xot else "{pvc: [1], two_way: [2, 64]}",
        pvc=""
        if xot
        else f"  - {{name: {prefix}_pvc1, pvc: 1, address: 10.1.{port}.{1 if dte else 2}/30}}\n",
    )
    path = tmp / f"{device}-{station}.yaml"
    path.write_text(text)
    return load_device(path)


class LiveLine(FakeLine):
    """A line whose status is a real port's (firmware_emu.adapter.Port), as LineDriver.status builds it."""

    def __init__(self, cfg: DeviceConfig, port: Any) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.port = port  # flush baselines are keyed by it
        self.transport = FakeTransport()
        self.channels = {i.channel: FakeChannel(i.name, i.channel) for i in cfg.interfaces}
        self.tx_paused = False

    def status(self) -> dict[str, Any]:
        status = copy.deepcopy(self.port.status())
        status["device"] = self.name
        status["transport"] = self.transport.describe()
        status["channels"] = {
            ch.name: {"channel": ch.number, "usable": ch.usable, "rx_write_errors": 0, "tx_not_ip": 0}
            for ch in self.channels.values()
        }
        status["switch_drops"] = 0
        status["rx_no_interface"] = 0
        return status
