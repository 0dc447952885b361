"""The emulated adapter card: up to four ports behind one mailbox.

The driver talks to the card only through `execute` (commands) and through
the per-port queue handle that `port()` returns (tx ring, rx queue, events).
Because every port is self-contained, one port can be reconfigured, have its
firmware swapped or be restarted while the others keep running.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from firmware_emu.adapter import calls  # noqa: F401 - registers the call commands' handlers
from firmware_emu.adapter.firmware import FIRMWARE, find_build, firmware_for
from firmware_emu.adapter.mailbox import (
    HANDLERS,
    AddChannel,
    ConfigurePort,
    LoadFirmware,
    ReadStatus,
    RemoveChannel,
    RemovePort,
    Reply,
    SetChannelActive,
    StartPort,
    StopPort,
    handles,
)
from firmware_emu.adapter.port import Port
from firmware_emu.adapter.trace import PortTrace  # noqa: F401 - registers the trace commands' handlers
from firmware_emu.errors import LocalProtocolError, ProtocolError

MAX_PORTS = 4


class Adapter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ports: dict[int, Port] = {}

    def execute(self, command: Any, now: float) -> Reply:
        handler = HANDLERS.get(type(command))
        if handler is None:
            return Reply(False, error=f"unknown mailbox command {type(command).__name__}")
        try:
            return Reply(True, handler(self, command, now) or {})
        except ProtocolError as exc:
            return Reply(False, error=str(exc))

    def port(self, number: int) -> Port:
        try:
            return self.ports[number]
        except KeyError:
            raise LocalProtocolError(f"{self.name}: port {number} is not configured") from None

    def deadline(self) -> float | None:
        deadlines = [d for d in (p.deadline() for p in self.ports.values()) if d is not None]
        return min(deadlines, default=None)


def _stopped_port(adapter: Adapter, number: int) -> Port:
    port = adapter.port(number)
    if port.running:
        raise LocalProtocolError(f"{adapter.name}: port {number} is running; stop it first")
    return port


@handles(ConfigurePort)
def _configure(adapter: Adapter, cmd: ConfigurePort, now: float) -> None:
    if not 1 <= cmd.port <= MAX_PORTS:
        raise LocalProtocolError(f"{adapter.name}: port {cmd.port} out of range 1..{MAX_PORTS}")
    if cmd.port in adapter.ports:
        _stopped_port(adapter, cmd.port)
    name = firmware_for(cmd.protocol)
    factory, version = FIRMWARE[name]
    adapter.ports[cmd.port] = port = Port(
        cmd.port,
        cmd.line,
        name,
        factory(cmd.protocol, now),
        carries_fcs=cmd.carries_fcs,
        fcs_bits=cmd.fcs_bits,
        framing=cmd.framing,
    )
    port.protocol_config, port.firmware_version = cmd.protocol, version


@handles(LoadFirmware)
def _load_firmware(adapter: Adapter, cmd: LoadFirmware, now: float) -> dict[str, Any]:
    """Swap one port's engine for another build, live; the other ports never notice.

    The new engine starts from the port's configuration, so the link
    renegotiates (one LMI exchange, keepalive or LCP round) on this port only.
    """
    port = adapter.port(cmd.port)
    build = find_build(cmd.firmware, cmd.version)
    if build.name != firmware_for(port.protocol_config):
        raise LocalProtocolError(
            f"firmware {build.name} cannot run port {cmd.port}'s {firmware_for(port.protocol_config)} configuration"
        )
    previous = f"{port.firmware}:{port.firmware_version}"
    port.swap_engine(build.name, build.factory(port.protocol_config, now), now)
    port.firmware_version = build.version
    return {"previous": previous, "firmware": f"{build.name}:{build.version}", "origin": build.origin}


@handles(RemovePort)
def _remove(adapter: Adapter, cmd: RemovePort, now: float) -> None:
    _stopped_port(adapter, cmd.port)
    del adapter.ports[cmd.port]


@handles(StartPort)
def _start(adapter: Adapter, cmd: StartPort, now: float) -> None:
    port = adapter.port(cmd.port)
    if not port.running:
        port.start(now)


@handles(StopPort)
def _stop(adapter: Adapter, cmd: StopPort, now: float) -> dict[str, Any]:
    port = adapter.port(cmd.port)
    return {"discarded": port.stop(now) if port.running else 0}


@handles(AddChannel)
def _add_channel(adapter: Adapter, cmd: AddChannel, now: float) -> None:
    port = adapter.port(cmd.port)
    port.engine.add_dlci(cmd.channel, now)  # type: ignore[attr-defined]
    cfg = port.protocol_config  # kept in step, so that a firmware swap rebuilds the same PVCs
    port.protocol_config = dataclasses.replace(cfg, dlcis=(*cfg.dlcis, cmd.channel))
    port.handle_timer(now)


@handles(RemoveChannel)
def _remove_channel(adapter: Adapter, cmd: RemoveChannel, now: float) -> None:
    port = adapter.port(cmd.port)
    port.engine.remove_dlci(cmd.channel, now)  # type: ignore[attr-defined]
    cfg = port.protocol_config
    port.protocol_config = dataclasses.replace(
        cfg, dlcis=tuple(d for d in cfg.dlcis if d.dlci != cmd.channel)
    )
    port.handle_timer(now)


@handles(SetChannelActive)
def _set_active(adapter: Adapter, cmd: SetChannelActive, now: float) -> None:
    port = adapter.port(cmd.port)
    port.engine.set_pvc_active(cmd.channel, cmd.active, now)  # type: ignore[attr-defined]
    port.handle_timer(now)


@handles(ReadStatus)
def _status(adapter: Adapter, cmd: ReadStatus, now: float) -> dict[str, Any]:
    if cmd.port is not None:
        return adapter.port(cmd.port).status()
    return {"adapter": adapter.name, "ports": {n: p.status() for n, p in sorted(adapter.ports.items())}}
