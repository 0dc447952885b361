"""Status files laid out like WANPIPE's /proc/net/wanrouter, under /run/wand/<instance>/wanrouter/.

    config      one row per device: adapter, port, line, clocking, framing/coding, timeslots
    status      one row per device: protocol, station, interface, clocking, baud rate, MTU, link state
    interfaces  one row per interface: device, media address, operational state
    wanpipeN    that device's counters, one `name: value` per line

They are rewritten (atomically, file by file) whenever a line or channel
changes state and at least once a second, so `cat` always shows the present.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wand.line_api import ApiChannels

if TYPE_CHECKING:
    from wand.daemon import Daemon

PROTOCOL_LABELS = {"frame_relay": "FR", "chdlc": "CHDLC", "ppp": "PPP"}


def _row(cells: list[Any], widths: list[int]) -> str:
    return "|".join(f" {str(c):<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()


def _table(header: list[str], rows: list[list[Any]]) -> str:
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(header)]
    lines = [_row(header, widths), "-" * (sum(widths) + 2 * len(widths))]
    lines += [_row(r, widths) for r in rows]
    return "\n".join(lines) + "\n"


def render(daemon: Daemon) -> dict[str, str]:
    """File name -> contents, for every file of the wanrouter directory."""
    config_rows, status_rows, iface_rows = [], [], []
    files: dict[str, str] = {}
    for cfg in daemon.configs:
        line = daemon.lines.get(cfg.name)
        status = line.status() if line is not None else {}
        protocol = PROTOCOL_LABELS.get(cfg.protocol_name, cfg.protocol_name)
        station = getattr(cfg.protocol, "station", None)
        packet = getattr(cfg.protocol, "packet", None)  # X.25: the packet layer's role
        station = station or (packet.role if packet is not None else "-")
        station = {"cpe": "CPE", "node": "Node", "dte": "DTE", "dce": "DCE"}.get(station, station)
        rate = cfg.line.bit_rate or "unpaced"
        clocking = "Internal" if cfg.line.clock == "master" else "External"
        slots = "all" if cfg.line.timeslots is None else ",".join(map(str, cfg.line.timeslots))
        config_rows.append(
            [
                cfg.name,
                cfg.adapter,
                cfg.port,
                cfg.line.kind.upper(),
                clocking,
                cfg.line.framing,
                cfg.line.coding,
                slots,
            ]
        )
        link = "Stopped" if line is None else "Connected" if line.link_up else "Disconnected"
        mtu = max((i.mtu for i in cfg.interfaces), default="-")
        status_rows.append(
            [cfg.name, protocol, station, cfg.transport.kind, clocking, rate, mtu, len(cfg.interfaces), link]
        )
        for icfg in cfg.interfaces:
            channel = line.channels.get(icfg.channel) if line is not None else None
            media = f"DLCI {icfg.channel}" if cfg.protocol_name == "frame_relay" else "-"
            if line is not None and ApiChannels.is_api(icfg) and line.api.has(icfg):
                state = "API socket"  # no netdev: applications reach the channel through a socket
            elif channel is None:
                state = "Stopped" if line is None or icfg.name in line.stopped_channels else "Down"
            else:
                state = "Up" if channel.usable else "Down (no carrier)"
            iface_rows.append([icfg.name, cfg.name, media, icfg.address or "-", state])
        files[cfg.name] = _counters(cfg.name, status)
    files["config"] = _table(
        ["Device name", "adapter", "port", "line", "clocking", "framing", "coding", "timeslots"], config_rows
    )
    files["status"] = _table(
        [
            "Device name",
            "protocol",
            "station",
            "interface",
            "clocking",
            "baud rate",
            "MTU",
            "ndev",
            "link state",
        ],
        status_rows,
    )
    files["interfaces"] = _table(
        ["Interface name", "Device name", "Media address", "IP address", "Operational state"], iface_rows
    )
    return files


def _counters(name: str, status: dict[str, Any]) -> str:
    if not status or "counters" not in status:
        return f"{name}: stopped\n"
    out = [f"{name} ({status.get('firmware', '?')}, {status.get('transport', '')})"]

    def flat(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                flat(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, int | float | str | bool) or value is None:
            out.append(f"{prefix}: {value}")

    flat("port", status["counters"])
    flat("protocol", status.get("protocol", {}).get("counters", {}))
    for ifname, channel in status.get("channels", {}).items():
        flat(f"interface.{ifname}", channel)
    return "\n".join(out) + "\n"


class StatusFiles:
    def __init__(self, daemon: Daemon, state_dir: Path) -> None:
        self.daemon = daemon
        self.dir = state_dir / "wanrouter"
        self._written: dict[str, str] = {}

    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        files = render(self.daemon)
        for name, text in files.items():
            if self._written.get(name) == text:
                continue  # unchanged: no write, no wakeup for anyone watching
            tmp = self.dir / f".{name}.tmp"
            tmp.write_text(text)
            os.replace(tmp, self.dir / name)
            self._written[name] = text
        for stale in set(self._written) - set(files):  # a device removed by a reload
            (self.dir / stale).unlink(missing_ok=True)
            del self._written[stale]

    def remove(self) -> None:
        for name in list(self._written):
            (self.dir / name).unlink(missing_ok=True)
        self._written.clear()
        with contextlib.suppress(OSError):
            self.dir.rmdir()
