"""The control socket's commands. Each registers itself; the answer is JSON-able data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wand import __version__
from wand.control import ControlError, command
from wand.line import MailboxError
from wand.tun import InterfaceExistsError

if TYPE_CHECKING:
    from wand.daemon import Daemon


def _targets(daemon: Daemon, args: list[str], verb: str) -> tuple[list[str], str | None]:
    """[wanpipeN [IFNAME]] -> (devices, interface or None); no device means all of them."""
    if len(args) > 2:
        raise ControlError(f"usage: {verb} [wanpipeN [IFNAME]]")
    if not args:
        return [c.name for c in daemon.configs], None
    device = args[0]
    try:
        cfg = daemon.device_config(device)
    except KeyError:
        known = ", ".join(c.name for c in daemon.configs)
        raise ControlError(f"no device {device!r} (configured: {known})") from None
    ifname = args[1] if len(args) == 2 else None
    if ifname is not None and ifname not in {i.name for i in cfg.interfaces}:
        names = ", ".join(i.name for i in cfg.interfaces) or "none"
        raise ControlError(f"{device} has no interface {ifname!r} (has: {names})")
    return [device], ifname


def _line_for_channel(daemon: Daemon, device: str, verb: str):  # noqa: ANN202
    line = daemon.lines.get(device)
    if line is None:
        raise ControlError(f"{device} is stopped; {verb} the device first")
    return line


@command("stop", "stop [wanpipeN [IFNAME]]", "stop a device (line) or one of its interfaces")
def _stop(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    devices, ifname = _targets(daemon, args, "stop")
    if ifname is not None:
        _line_for_channel(daemon, devices[0], "start").stop_channel(ifname)
        return {"stopped": [f"{devices[0]} {ifname}"]}
    for device in devices:
        daemon.stop_device(device)
    return {"stopped": devices}


@command("start", "start [wanpipeN [IFNAME]]", "start a device (line) or one of its interfaces")
def _start(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    devices, ifname = _targets(daemon, args, "start")
    try:
        if ifname is not None:
            _line_for_channel(daemon, devices[0], "start").start_channel(ifname)
            return {"started": [f"{devices[0]} {ifname}"]}
        for device in devices:
            daemon.start_device(device)
    except (InterfaceExistsError, OSError) as exc:
        raise ControlError(str(exc)) from None
    return {"started": devices}


@command("restart", "restart [wanpipeN [IFNAME]]", "stop then start; the other lines carry on")
def _restart(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    _stop(daemon, args)
    result = _start(daemon, args)
    return {"restarted": result["started"]}


@command("status", "status [wanpipeN]", "link, channel and counter status")
def _status(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    devices, _ = _targets(daemon, args[:1], "status")
    out: dict[str, Any] = {}
    for device in devices:
        line = daemon.lines.get(device)
        out[device] = line.status() if line is not None else {"device": device, "running": False}
    return out


@command("list", "list", "configured devices and their interfaces")
def _list(daemon: Daemon, args: list[str]) -> list[dict[str, Any]]:
    rows = []
    for cfg in daemon.configs:
        line = daemon.lines.get(cfg.name)
        rows.append(
            {
                "device": cfg.name,
                "adapter": cfg.adapter,
                "port": cfg.port,
                "protocol": cfg.protocol_name,
                "line": cfg.line.kind,
                "state": "running" if line is not None else "stopped",
                "link": bool(line and line.link_up),
                "interfaces": [
                    {
                        "name": i.name,
                        "channel": i.channel,
                        "state": _channel_state(line, i.name, i.channel),
                    }
                    for i in cfg.interfaces
                ],
            }
        )
    return rows


def _channel_state(line, ifname: str, channel: int) -> str:  # noqa: ANN001
    if line is None or ifname in line.stopped_channels:
        return "stopped"
    ch = line.channels.get(channel)
    return "up" if ch is not None and ch.usable else "down"


@command("version", "version", "wand version")
def _version(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    return {"version": __version__, "uptime": round(daemon.uptime(), 1)}


@command(
    "reload",
    "reload | reload wanpipeN --firmware NAME[:VERSION]",
    "re-read the configuration (as SIGHUP), or swap one line's firmware live",
)
def _reload(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    if not args:
        daemon.reload()
        return {"devices": sorted(daemon.lines)}
    if len(args) != 3 or args[1] != "--firmware":
        raise ControlError("usage: reload | reload wanpipeN --firmware NAME[:VERSION]")
    devices, _ = _targets(daemon, args[:1], "reload")
    line = _line_for_channel(daemon, devices[0], "start")
    name, _, version = args[2].partition(":")
    try:
        result = line.load_firmware(name, version or None, daemon.now())
    except MailboxError as exc:
        raise ControlError(str(exc)) from None
    daemon.rearm()
    return result
