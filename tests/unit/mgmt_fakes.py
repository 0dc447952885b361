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
