"""The local control socket: what ioctl was to WANPIPE, a Unix socket is to wand.

One request per connection: a JSON object {"command": NAME, "args": [...]}
on one line. The answer is one JSON object: {"ok": true, "result": ...} or
{"ok": false, "error": "..."}. Commands register themselves with `@command`
and get the daemon plus their arguments; a ControlError is a clear refusal,
anything else is a bug that is logged and reported without taking the daemon
down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wand.daemon import Daemon

log = logging.getLogger("wand.control")
SOCKET_NAME = "wand.sock"
MAX_REQUEST = 64 * 1024


class ControlError(Exception):
    """A refused request: bad arguments, unknown device, wrong state."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    handler: Callable[[Daemon, list[str]], Any]


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS[name] = Command(name, usage, help_text, fn)
        return fn

    return register


def dispatch(daemon: Daemon, request: bytes) -> dict[str, Any]:
    try:
        message = json.loads(request)
        if not isinstance(message, dict):
            raise ValueError("not a JSON object")
        name, args = message.get("command"), message.get("args", [])
        if (
            not isinstance(name, str)
            or not isinstance(args, list)
            or not all(isinstance(a, str) for a in args)
        ):
            raise ValueError('expected {"command": str, "args": [str, ...]}')
    except ValueError as exc:
        return {"ok": False, "error": f"bad request: {exc}"}
    cmd = COMMANDS.get(name)
    if cmd is None:
        return {"ok": False, "error": f"unknown command {name!r}; commands: {', '.join(sorted(COMMANDS))}"}
    try:
        return {"ok": True, "result": cmd.handler(daemon, args)}
    except ControlError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # a bug in one command must not take the daemon down
        log.exception("control command %s %s failed", name, args)
        return {"ok": False, "error": f"internal error: {exc}"}


class ControlServer:
    def __init__(self, daemon: Daemon, state_dir: Path) -> None:
        self.daemon = daemon
        self.path = state_dir / SOCKET_NAME
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        os.chmod(self.path, 0o600)  # root's ioctl, root's socket

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=10)
            reply = dispatch(self.daemon, request)
        except (asyncio.LimitOverrunError, ValueError):
            reply = {"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"}
        except (TimeoutError, ConnectionError):
            writer.close()
            return
        try:
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.path.unlink(missing_ok=True)


def request(state_dir: Path, name: str, args: list[str], timeout: float = 30.0) -> dict[str, Any]:
    """Client side: send one command to the daemon whose state dir is `state_dir`."""
    import socket

    path = state_dir / SOCKET_NAME
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ControlError(f"no wand daemon at {path} ({exc.strerror})") from None
        sock.sendall(json.dumps({"command": name, "args": args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)
