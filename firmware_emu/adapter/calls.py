"""The mailbox handlers for switched circuits (X.25 SVCs) and receive flow control.

The X.25 API drives calls through these, as WANPIPE's X.25 API drove its
card's mailbox: place, accept, clear and reset a call, send an interrupt,
and hold a channel's receive side back (RNR) while its application is slow.
Each handler passes the command to the port's engine and reports the
engine's LocalProtocolError as a failed reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from firmware_emu.adapter.mailbox import (
    AcceptCall,
    ClearCall,
    PlaceCall,
    ResetCircuit,
    SendInterrupt,
    SetChannelBusy,
    handles,
)
from firmware_emu.errors import LocalProtocolError

if TYPE_CHECKING:
    from firmware_emu.adapter.card import Adapter
    from firmware_emu.adapter.port import Port


def _engine_method(adapter: Adapter, port_number: int, name: str) -> tuple[Port, Any]:
    port = adapter.port(port_number)
    method = getattr(port.engine, name, None)
    if method is None:
        raise LocalProtocolError(f"port {port_number}: {port.firmware} firmware has no switched calls")
    if not port.running:
        raise LocalProtocolError(f"port {port_number} is stopped")
    return port, method


@handles(PlaceCall)
def _place_call(adapter: Adapter, cmd: PlaceCall, now: float) -> dict[str, Any]:
    port, call = _engine_method(adapter, cmd.port, "place_call")
    lcn = call(
        cmd.called,
        now,
        calling=cmd.calling,
        user_data=cmd.user_data,
        packet_size=cmd.packet_size,
        window=cmd.window,
    )
    port.handle_timer(now)
    return {"lcn": lcn}


@handles(AcceptCall)
def _accept_call(adapter: Adapter, cmd: AcceptCall, now: float) -> None:
    port, accept = _engine_method(adapter, cmd.port, "accept_call")
    accept(cmd.lcn, now, packet_size=cmd.packet_size, window=cmd.window)
    port.handle_timer(now)


@handles(ClearCall)
def _clear_call(adapter: Adapter, cmd: ClearCall, now: float) -> None:
    port, clear = _engine_method(adapter, cmd.port, "clear_call")
    clear(cmd.lcn, now, cmd.cause, cmd.diagnostic)
    port.handle_timer(now)


@handles(ResetCircuit)
def _reset_circuit(adapter: Adapter, cmd: ResetCircuit, now: float) -> None:
    port, reset = _engine_method(adapter, cmd.port, "reset_circuit")
    reset(cmd.lcn, now, cmd.cause, cmd.diagnostic)
    port.handle_timer(now)


@handles(SendInterrupt)
def _send_interrupt(adapter: Adapter, cmd: SendInterrupt, now: float) -> None:
    port, interrupt = _engine_method(adapter, cmd.port, "send_interrupt")
    interrupt(cmd.lcn, cmd.data, now)
    port.handle_timer(now)


@handles(SetChannelBusy)
def _set_busy(adapter: Adapter, cmd: SetChannelBusy, now: float) -> None:
    port, set_busy = _engine_method(adapter, cmd.port, "set_channel_busy")
    set_busy(cmd.channel, cmd.busy, now)
    port.handle_timer(now)
