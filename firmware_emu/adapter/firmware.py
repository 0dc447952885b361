"""What a protocol engine must offer to be loaded onto an adapter port.

Each protocol package (fr, chdlc, ppp, x25) provides an engine with
this shape plus a registry entry, so the port and the driver never special-case
a protocol. Channel ids are protocol-specific: the DLCI for Frame Relay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

from firmware_emu.errors import LocalProtocolError


class ProtocolEngine(Protocol):
    def start(self, now: float) -> None: ...
    def stop(self, now: float) -> None: ...
    def encode(self, channel: int, payload: bytes, proto: Any) -> bytes: ...
    def receive_frame(self, frame: bytes, now: float) -> Any: ...
    def frames_to_send(self) -> list[bytes]: ...
    def next_event(self) -> Any: ...
    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def channel_usable(self, channel: int) -> bool: ...
    @property
    def link_up(self) -> bool: ...


EngineFactory = Callable[[Any, float], ProtocolEngine]


def _frame_relay(config: Any, now: float) -> ProtocolEngine:
    from firmware_emu.fr.engine import FrameRelayEngine

    return FrameRelayEngine(config, now)


def _cisco_hdlc(config: Any, now: float) -> ProtocolEngine:
    from firmware_emu.chdlc.engine import ChdlcEngine

    return ChdlcEngine(config, now)


def _ppp(config: Any, now: float) -> ProtocolEngine:
    from firmware_emu.ppp.engine import PppEngine

    return PppEngine(config, now)


def _x25(config: Any, now: float) -> ProtocolEngine:
    from firmware_emu.x25.engine import X25Engine

    return X25Engine(config, now)  # type: ignore[return-value]


# firmware name -> (engine factory, version): the builds that ship with wand
FIRMWARE: dict[str, tuple[EngineFactory, str]] = {
    "frame_relay": (_frame_relay, "1.0"),
    "chdlc": (_cisco_hdlc, "1.0"),
    "ppp": (_ppp, "1.0"),
    "x25": (_x25, "1.0"),
}

# Installed packages add builds through this entry-point group; each entry point
# names a FirmwareBuild. The group is read anew on every lookup, so a build
# installed while the daemon runs can be loaded without restarting it.
ENTRY_POINT_GROUP = "wand.firmware"


@dataclass(frozen=True)
class FirmwareBuild:
    name: str  # the protocol it runs: frame_relay, chdlc, ppp, x25
    version: str
    factory: EngineFactory
    origin: str = "built in"


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in version.replace("-", ".").split("."))


def available_builds() -> list[FirmwareBuild]:
    builds = [FirmwareBuild(name, version, factory) for name, (factory, version) in FIRMWARE.items()]
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            build = entry.load()
        except Exception as exc:  # a broken plugin must not break the lookup of the others
            raise LocalProtocolError(
                f"firmware plugin {entry.name} ({entry.value}) failed to load: {exc}"
            ) from exc
        if isinstance(build, FirmwareBuild):
            builds.append(dataclasses.replace(build, origin=entry.value))
    return builds


def find_build(name: str, version: str | None = None) -> FirmwareBuild:
    """The build of `name` with `version`, or the newest one when version is None."""
    candidates = [
        b for b in available_builds() if b.name == name and (version is None or b.version == version)
    ]
    if not candidates:
        have = ", ".join(sorted(f"{b.name}:{b.version}" for b in available_builds()))
        raise LocalProtocolError(f"no firmware {name}{':' + version if version else ''} (available: {have})")
    return max(candidates, key=lambda b: _version_key(b.version))


# protocol config class name -> firmware name (by name, so that importing this
# module does not import every protocol package)
_FIRMWARE_BY_CONFIG = {
    "FrameRelayConfig": "frame_relay",
    "ChdlcConfig": "chdlc",
    "PppConfig": "ppp",
    "X25Config": "x25",
}


def firmware_for(config: Any) -> str:
    """The firmware name that runs a protocol config."""
    try:
        return _FIRMWARE_BY_CONFIG[type(config).__name__]
    except KeyError:
        raise TypeError(f"no firmware for protocol config {type(config).__name__}") from None
