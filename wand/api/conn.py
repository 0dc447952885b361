"""The socket plumbing both API endpoints share: the listening socket and one app connection.

Theory of operation
-------------------
An API interface listens on one AF_UNIX SOCK_SEQPACKET socket. Every
accepted connection is a `Connection`: non-blocking, driven by the event loop
with add_reader/add_writer, one API message per SEQPACKET message.

Reading is the endpoint's decision (`resume_reading`/`pause_reading`): while
the line cannot take the app's data, the connection is not read at all, the
kernel socket buffer fills, and the app's `send` blocks or gets EAGAIN. That
is the whole app -> line flow control.

Writing never loses a message: `send` tries the socket once; when the kernel
says EAGAIN the message goes to the connection's backlog, a writer is armed,
and the backlog drains in order as the app reads. The endpoint bounds the
backlog (raw channels drop *and report* beyond a limit; X.25 stops the peer
with RNR, so its window bounds it). `on_drained` tells the endpoint when the
backlog is empty again.

Malformed input never takes the endpoint down: a message that does not decode,
or a request the endpoint refuses (WireError, ApiCommandError), is answered
with an ``error`` control message and counted; anything unexpected is logged
(rate-limited), answered the same way, and the connection carries on.

SEQPACKET cannot tell an empty message from the end of the connection by the
read alone, so an empty read is checked with poll(): a hang-up is EOF, anything
else was an (invalid) empty message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import select
import socket
import stat
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wand.api.wire import MAX_MESSAGE, Control, Data, WireError, decode, encode_control
from wand.ratelimit import RateLimitedLog

log = logging.getLogger("wand.api")
BATCH = 64  # messages read per readiness callback, so one busy app cannot starve the loop
LISTEN_BACKLOG = 16
DIR_MODE = 0o750
SOCKET_MODE = 0o660
_HANGUP = select.POLLHUP | select.POLLRDHUP | select.POLLERR


class ApiCommandError(Exception):
    """A mailbox command an endpoint ran for an app failed; the text is the reason (told to the app)."""


@dataclass
class ConnStats:
    """Counters every connection of one endpoint adds to (the endpoint reports them)."""

    malformed: int = 0  # messages that did not decode (answered with an error)
    refused_requests: int = 0  # well-formed requests the endpoint refused (answered with an error)
    internal_errors: int = 0  # bugs: logged, answered with an error
    backlog_high: int = 0  # most messages ever waiting for one app to read


class Connection:
    """One app's connection. `state` is the endpoint's own per-connection record."""

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        label: str,
        stats: ConnStats,
        on_message: Callable[[Connection, Data | Control], None],
        on_closed: Callable[[Connection], None],
        on_drained: Callable[[Connection], None] | None = None,
        on_batch_end: Callable[[Connection], None] | None = None,
    ) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        self.loop = loop
        self.label = label
        self.stats = stats
        self.on_message = on_message
        self.on_closed = on_closed
        self.on_drained = on_drained
        self.on_batch_end = on_batch_end
        self.backlog: deque[tuple[bytes, bool]] = deque()  # (message, is data)
        self.backlog_data = 0
        self.reading = False
        self.writing = False
        self.closed = False
        self.close_when_drained = False
        self.lost_data = 0  # data messages still in the backlog when the connection ended
        self.peer = _peer_credentials(sock)
        self.state: Any = None
        self.errors = RateLimitedLog(log)

    # -- reading -------------------------------------------------------------
    def resume_reading(self) -> None:
        if not self.reading and not self.closed:
            self.loop.add_reader(self.fd, self._on_readable)
            self.reading = True

    def pause_reading(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.fd)
            self.reading = False

    def _on_readable(self) -> None:
        got = False
        for _ in range(BATCH):
            if not self.reading or self.closed:  # the endpoint paused us (the line is full) or we ended
                break
            try:
                message, _, flags, _ = self.sock.recvmsg(MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._lost()
                return
            if not message and self._hung_up():
                self._lost()
                return
            got = True
            if flags & socket.MSG_TRUNC:
                self.stats.malformed += 1
                self.reply_error(f"message longer than {MAX_MESSAGE} octets (discarded)", None)
                continue
            self._dispatch(message)
        if got and not self.closed and self.on_batch_end is not None:
            self._guarded(self.on_batch_end, None)

    def _hung_up(self) -> bool:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLRDHUP)
        return any(events & _HANGUP for _, events in poller.poll(0))

    def _dispatch(self, raw: bytes) -> None:
        try:
            message = decode(raw)
        except WireError as exc:
            self.stats.malformed += 1
            self.reply_error(str(exc), None)
            return
        request = message.op if isinstance(message, Control) else "data"
        self._guarded(lambda conn: self.on_message(conn, message), request)

    def _guarded(self, fn: Callable[[Connection], None], request: str | None) -> None:
        try:
            fn(self)
        except (WireError, ApiCommandError) as exc:
            self.stats.refused_requests += 1
            self.reply_error(str(exc), request)
        except Exception as exc:
            self.stats.internal_errors += 1
            self.errors.exception(self.label, "%s: handling %s failed", self.label, request)
            self.reply_error(f"internal error: {type(exc).__name__}: {exc}", request)

    def reply_error(self, error: str, request: str | None) -> None:
        self.send(encode_control("error", error=error, request=request))

    # -- writing ---------------------------------------------------------------
    def send(self, message: bytes, *, data: bool = False) -> bool:
        """Send now or keep in the backlog, in order. False when it was queued (or we are closed)."""
        if self.closed:
            return False
        if not self.backlog:
            try:
                self.sock.send(message)
                return True
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._lost()
                return False
        self.backlog.append((message, data))
        self.backlog_data += data
        if len(self.backlog) > self.stats.backlog_high:
            self.stats.backlog_high = len(self.backlog)
        if not self.writing:
            self.loop.add_writer(self.fd, self._on_writable)
            self.writing = True
        return False

    def _on_writable(self) -> None:
        backlog = self.backlog
        while backlog:
            message, data = backlog[0]
            try:
                self.sock.send(message)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._lost()
                return
            backlog.popleft()
            self.backlog_data -= data
        self.loop.remove_writer(self.fd)
        self.writing = False
        if self.close_when_drained:
            self.close()
        elif self.on_drained is not None:
            self._guarded(self.on_drained, None)

    # -- ending ------------------------------------------------------------------
    def close_after_flush(self) -> None:
        """Close once the app has everything queued for it (it then reads those, then EOF)."""
        if not self.backlog:
            self.close()
        else:
            self.close_when_drained = True

    def _lost(self) -> None:
        """The app went away (EOF, reset): whatever it had not read yet is lost; the endpoint counts it."""
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.pause_reading()
        if self.writing:
            self.loop.remove_writer(self.fd)
            self.writing = False
        self.closed = True
        self.lost_data = self.backlog_data
        self.backlog.clear()
        self.backlog_data = 0
        self.sock.close()
        self._guarded(self.on_closed, None)

    def describe(self) -> dict[str, Any]:
        pid, uid, gid = self.peer
        return {"pid": pid, "uid": uid, "gid": gid, "backlog": len(self.backlog), "reading": self.reading}


def _peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", raw)
        return pid, uid, gid
    except OSError:
        return 0, -1, -1


class ApiListener:
    """The listening socket at `path`; hands each accepted socket to `on_connection`."""

    def __init__(
        self, path: str, loop: asyncio.AbstractEventLoop, on_connection: Callable[[socket.socket], None]
    ) -> None:
        self.path = path
        self.loop = loop
        self.on_connection = on_connection
        self.sock: socket.socket | None = None
        self.errors = RateLimitedLog(log)

    def open(self) -> None:
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
        os.chmod(directory, DIR_MODE)
        _remove_stale(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.bind(self.path)
            os.chmod(self.path, SOCKET_MODE)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
            self.loop.add_reader(sock.fileno(), self._on_acceptable)
        except BaseException:
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            raise
        self.sock = sock

    def _on_acceptable(self) -> None:
        assert self.sock is not None
        for _ in range(BATCH):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and friends: the app's connect stays pending, try later
                self.errors.warning(self.path, "%s: accept: %s", self.path, exc)
                return
            try:
                self.on_connection(conn)
            except Exception:
                self.errors.exception(self.path, "%s: setting up a connection failed", self.path)
                conn.close()

    def close(self) -> None:
        if self.sock is None:
            return
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self.sock = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _remove_stale(path: str) -> None:
    """Unlink a socket left by a dead daemon; refuse to take over a live one or clobber a file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(errno.EEXIST, "exists and is not a socket", path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        pass  # nobody listens: stale
    else:
        raise OSError(errno.EADDRINUSE, "an API socket is already served there", path)
    finally:
        probe.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
