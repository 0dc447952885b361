"""The adapter mailbox: the command set the driver uses to drive the card.

As on a Sangoma S514, every control operation is a command block written to
the card's mailbox and answered with a return code and data. Commands are
frozen dataclasses; each registers its handler with `@handles`, so adding a
command is one dataclass plus one function. Data does not go through the
mailbox: it moves through each port's tx/rx queues (see port.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware_emu.adapter.card import Adapter


@dataclass(frozen=True)
class ConfigurePort:
    """(Re)configure a stopped or absent port: line, protocol, FCS on the wire, framing."""

    port: int
    line: Any  # LineConfig
    protocol: Any  # protocol config, e.g. FrameRelayConfig
    carries_fcs: bool = True
    fcs_bits: int = 16
    # "sync": one HDLC frame per cable item (bit-synchronous line); "async": the
    # line is an octet stream with RFC 1662 octet stuffing (PPP on a serial port).
    framing: str = "sync"


@dataclass(frozen=True)
class RemovePort:
    port: int


@dataclass(frozen=True)
class StartPort:
    port: int


@dataclass(frozen=True)
class StopPort:
    port: int


@dataclass(frozen=True)
class AddChannel:
    port: int
    channel: Any  # protocol channel config, e.g. DlciConfig


@dataclass(frozen=True)
class RemoveChannel:
    port: int
    channel: int


@dataclass(frozen=True)
class SetChannelActive:
    """Network side: report a channel (PVC) as active or inactive to the peer."""

    port: int
    channel: int
    active: bool


@dataclass(frozen=True)
class ReadStatus:
    port: int | None = None  # None: every port


@dataclass(frozen=True)
class LoadFirmware:
    """Swap a port's protocol engine for another firmware build, live."""

    port: int
    firmware: str  # frame_relay, chdlc, ppp
    version: str | None = None  # None: the newest build available


@dataclass(frozen=True)
class StartTrace:
    """Record the port's line frames (both directions) into a ring; opens a reader session."""

    port: int
    # Sizes and the idle timeout apply when this starts the ring; a second reader shares it.
    capacity: int = 4096  # records
    max_bytes: int = 4 << 20  # octets of frames
    idle_timeout: float = 30.0  # s without any read before the trace switches itself off


@dataclass(frozen=True)
class ReadTrace:
    """The session's records from `cursor` on, and how many it missed (pushed out of the ring)."""

    port: int
    session: int
    cursor: int
    max_records: int = 1024
    max_bytes: int = 32 << 10


@dataclass(frozen=True)
class StopTrace:
    """Close a reader session; the ring goes when the last one does."""

    port: int
    session: int


# Switched circuits (X.25 SVCs) and receive flow control; handlers in calls.py.
@dataclass(frozen=True)
class PlaceCall:
    port: int
    called: str  # X.121
    calling: str | None = None  # None: the line's own address
    user_data: bytes = b""
    packet_size: int | None = None  # None: the line's default, no facility sent
    window: int | None = None


@dataclass(frozen=True)
class AcceptCall:
    port: int
    lcn: int
    packet_size: int | None = None
    window: int | None = None


@dataclass(frozen=True)
class ClearCall:
    port: int
    lcn: int
    cause: int = 0
    diagnostic: int = 0


@dataclass(frozen=True)
class ResetCircuit:
    port: int
    lcn: int
    cause: int = 0
    diagnostic: int = 0


@dataclass(frozen=True)
class SendInterrupt:
    port: int
    lcn: int
    data: bytes = b""


@dataclass(frozen=True)
class SetChannelBusy:
    """Hold a channel's receive side back (X.25: RNR) while the application behind it is slow."""

    port: int
    channel: int
    busy: bool


@dataclass(frozen=True)
class Reply:
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""


Handler = Callable[["Adapter", Any, float], dict[str, Any] | None]
HANDLERS: dict[type, Handler] = {}


def handles(command: type) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[command] = fn
        return fn

    return register
