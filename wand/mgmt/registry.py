"""Where management commands register themselves, on both sides of the wire.

Daemon side: `@mgmt_command(code, help, writes=...)` registers a handler that
gets a MgmtContext and the request's parameters and returns JSON-able data.
A command with writes=True (flush counters, start a trace, run a test) is
refused when the request came from the network side (over a WAN interface).

Client side (wanpipemon): `@renderer(code)` turns a command's data into the
text a network engineer reads; `@client_command(code)` takes over a command
completely (live traces poll the daemon in a loop and may write pcap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from wand.channel import Channel
    from wand.daemon import Daemon
    from wand.line import LineDriver


class MgmtError(Exception):
    """A refused management request; `code` is the protocol's error code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class MgmtContext:
    daemon: Daemon
    line: LineDriver  # the device the request's interface belongs to
    channel: Channel | None  # the interface's channel, when the request named one
    ifname: str
    host_side: bool  # False: arrived over a WAN interface, read-only


Handler = Callable[[MgmtContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class MgmtCommand:
    code: str  # wanpipemon's command code: xm, sg, sd, tr, fs...
    help: str
    handler: Handler
    writes: bool = False  # changes state: host side only
    protocols: tuple[str, ...] = ()  # () = every protocol; else protocol_name values


COMMANDS: dict[str, MgmtCommand] = {}


def mgmt_command(
    code: str, help_text: str, *, writes: bool = False, protocols: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[code] = MgmtCommand(code, help_text, fn, writes, protocols)
        return fn

    return register


# -- client side ---------------------------------------------------------------

SendRequest = Callable[[str, dict[str, Any]], Any]  # (code, params) -> data, raises MgmtError
Renderer = Callable[[Any, "argparse.Namespace"], str]
ClientCommand = Callable[[SendRequest, "argparse.Namespace"], int]  # returns the exit code


@dataclass
class ClientRegistry:
    renderers: dict[str, Renderer] = field(default_factory=dict)
    commands: dict[str, ClientCommand] = field(default_factory=dict)


CLIENT = ClientRegistry()


def renderer(code: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        CLIENT.renderers[code] = fn
        return fn

    return register


def client_command(code: str) -> Callable[[ClientCommand], ClientCommand]:
    def register(fn: ClientCommand) -> ClientCommand:
        CLIENT.commands[code] = fn
        return fn

    return register
