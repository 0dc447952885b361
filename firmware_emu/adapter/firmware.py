"""What a protocol engine must offer to be loaded onto an adapter port.

Each protocol package (fr today; chdlc, ppp, x25 later) provides an engine with
this shape plus a registry entry, so the port and the driver never special-case
a protocol. Channel ids are protocol-specific: the DLCI for Frame Relay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


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


# firmware name -> (engine factory, version)
FIRMWARE: dict[str, tuple[EngineFactory, str]] = {
    "frame_relay": (_frame_relay, "1.0"),
    "chdlc": (_cisco_hdlc, "1.0"),
    "ppp": (_ppp, "1.0"),
}

# protocol config class name -> firmware name (by name, so that importing this
# module does not import every protocol package)
_FIRMWARE_BY_CONFIG = {"FrameRelayConfig": "frame_relay", "ChdlcConfig": "chdlc", "PppConfig": "ppp"}


def firmware_for(config: Any) -> str:
    """The firmware name that runs a protocol config."""
    try:
        return _FIRMWARE_BY_CONFIG[type(config).__name__]
    except KeyError:
        raise TypeError(f"no firmware for protocol config {type(config).__name__}") from None
