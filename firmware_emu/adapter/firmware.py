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


# firmware name -> (engine factory, version). LoadFirmware looks names up here.
FIRMWARE: dict[str, tuple[EngineFactory, str]] = {
    "frame_relay": (_frame_relay, "1.0"),
}


def firmware_for(config: Any) -> str:
    """The firmware name that runs a protocol config."""
    from firmware_emu.fr.config import FrameRelayConfig

    if isinstance(config, FrameRelayConfig):
        return "frame_relay"
    raise TypeError(f"no firmware for protocol config {type(config).__name__}")
