"""Link transports: "the cable" that joins two emulated WAN ports.

A transport moves whole frames, one per datagram, between this port and the
far port. It is non-blocking and meant for ``loop.add_reader(t.fileno(), ...)``
plus ``recv_batch()``; ``send()`` never blocks and never raises for the
ordinary ways a cable can fail (far end not running, far end not draining).

Two wire formats exist, told apart by ``carries_fcs``:

- ``UnixDatagramTransport`` (``carries_fcs = True``): the datagram is the
  HDLC frame *including* its FCS but without flags or bit stuffing; the
  receiving firmware checks the FCS, so bit-error impairments applied on the
  sending side are detected where a real receiver would detect them.
- ``UdpTransport`` (``carries_fcs = False``): the GNS3/dynamips serial NIO
  format, one frame per UDP datagram starting at the address field, no
  flags and no FCS. The receiver must not expect an FCS.

Flow control (AF_UNIX datagrams)
--------------------------------
Linux limits how many datagrams may wait in a Unix datagram socket's receive
queue to ``/proc/sys/net/unix/max_dgram_qlen`` (per network namespace, taken
when the *receiving* socket is created; the default is 10). Measured on 6.x:
a non-blocking burst of 10,000 frames at a receiver that is not reading gets
exactly ``max_dgram_qlen + 1`` = 11 frames through and EAGAIN for the rest.
SO_SNDBUF/SO_RCVBUF do not change that number (AF_UNIX charges queued
datagrams to the *sender's* SO_SNDBUF, which only becomes the limit when the
queue length is raised); we still set them large so that limit is far away.

The kernel lifts the queue-length limit only for two sockets connect()ed to
each other. We deliberately do not do that: a connected socket keeps
pointing at its peer after the peer process exits, and a restarted peer then
gets EPERM on every send until the survivor happens to send first. A quiet
survivor (e.g. an FR DCE that only answers STATUS ENQUIRY) would deadlock the
link. Unconnected ``sendto`` has no such state, so either end can restart.

The design is therefore the simplest correct one: EAGAIN (and ENOBUFS) make
``send()`` return False and count ``tx_would_block``; the frame was not
taken, so the caller keeps it at the head of its queue and retries later.
poll() cannot signal "writable again" for an unconnected AF_UNIX sender, so
the retry is timer driven: the daemon's pacing timer already fires at least
every frame time, and ``WOULD_BLOCK_RETRY`` is a suggested interval when no
other timer is due. A receiver that drains with ``recv_batch()`` whenever its
fd is readable keeps the queue far below the limit at emulated line rates
(a T1 carries at most ~3,000 minimum-size frames per second).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

# Not exported by Python's socket module; values from <asm-generic/socket.h>.
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_FRAME_BYTES = 65536  # >= any HDLC frame we emulate and >= the largest UDP payload
WOULD_BLOCK_RETRY = 0.001  # seconds; suggested retry interval after send() -> False (would block)

_WOULD_BLOCK = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})


@dataclass
class TransportCounters:
    tx_frames: int = 0
    tx_bytes: int = 0
    rx_frames: int = 0
    rx_bytes: int = 0
    tx_peer_absent: int = 0  # far end not there (not bound / not running / unreachable)
    tx_would_block: int = 0  # far end's queue or our buffer full; caller keeps the frame
    rx_errors: int = 0  # datagrams dropped on receive (e.g. larger than MAX_FRAME_BYTES)


class LinkTransport(ABC):
    """One end of a point-to-point frame link between two emulated ports."""

    carries_fcs: bool
    counters: TransportCounters

    @abstractmethod
    def fileno(self) -> int:
        """The fd to register with loop.add_reader."""

    @abstractmethod
    def send(self, frame: bytes) -> bool:
        """Queue one frame to the far end; False if it was not delivered (see counters)."""

    @abstractmethod
    def recv_batch(self, limit: int = 64) -> list[bytes]:
        """Read up to `limit` frames, stopping early when none are left."""

    @abstractmethod
    def close(self) -> None:
        """Release the socket (and any filesystem name); idempotent."""

    @abstractmethod
    def describe(self) -> str:
        """A one-line human description for status output and logs."""


class _SocketTransport(LinkTransport):
    """Shared send/receive logic for transports built on one datagram socket."""

    # errno values that mean "nobody is listening at the far end".
    _peer_absent: frozenset[int] = frozenset({errno.ECONNREFUSED})

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._sock.setblocking(False)
        self._buf = bytearray(MAX_FRAME_BYTES)
        self._view = memoryview(self._buf)
        self.counters = TransportCounters()
        _set_buffers(sock)

    @abstractmethod
    def _transmit(self, frame: bytes) -> None:
        """Hand one datagram to the kernel; raises OSError on failure."""

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, frame: bytes) -> bool:
        try:
            self._transmit(frame)
        except OSError as exc:
            if exc.errno in _WOULD_BLOCK:
                self.counters.tx_would_block += 1
                return False
            if exc.errno in self._peer_absent:
                self.counters.tx_peer_absent += 1
                return False
            raise
        self.counters.tx_frames += 1
        self.counters.tx_bytes += len(frame)
        return True

    def recv_batch(self, limit: int = 64) -> list[bytes]:
        frames: list[bytes] = []
        while len(frames) < limit:
            try:
                # MSG_TRUNC makes the kernel return the datagram's real length,
                # so an oversized one is detected instead of silently cut.
                n = self._sock.recv_into(self._buf, 0, socket.MSG_TRUNC)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionRefusedError:
                # UDP only: an ICMP port-unreachable for an earlier send,
                # reported on the next socket call. Nothing was received.
                self.counters.tx_peer_absent += 1
                continue
            if n > MAX_FRAME_BYTES:
                self.counters.rx_errors += 1
                continue
            frames.append(bytes(self._view[:n]))
            self.counters.rx_frames += 1
            self.counters.rx_bytes += n
        return frames

    def close(self) -> None:
        self._view.release()
        self._sock.close()


def _set_buffers(sock: socket.socket) -> None:
    """Make the kernel buffers big enough that bursts are not lost.

    The *FORCE variants ignore net.core.[rw]mem_max but need CAP_NET_ADMIN;
    without it, fall back to the ordinary options (capped by those sysctls).
    """
    for force, plain in ((SO_SNDBUFFORCE, socket.SO_SNDBUF), (SO_RCVBUFFORCE, socket.SO_RCVBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, SOCKET_BUFFER_BYTES)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, plain, SOCKET_BUFFER_BYTES)


class UnixDatagramTransport(_SocketTransport):
    """AF_UNIX datagram cable: bound at `local_path`, sends to `remote_path`.

    Path sockets live in the filesystem, not in a network namespace, so the
    two ends may run in different netns (as the two lab sites do).
    """

    carries_fcs = True
    # ENOENT: nothing bound at the path; ECONNREFUSED: a stale socket file
    # whose owner is gone; EPERM: the far socket is connected to someone else.
    _peer_absent = frozenset({errno.ENOENT, errno.ECONNREFUSED, errno.EPERM})

    def __init__(self, local_path: str, remote_path: str) -> None:
        self.local_path = local_path
        self.remote_path = remote_path
        parent = os.path.dirname(os.path.abspath(local_path))
        os.makedirs(parent, exist_ok=True)
        _remove_stale_socket(local_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # close-on-exec by default
        try:
            sock.bind(local_path)
        except OSError:
            sock.close()
            raise
        # Remember which file is ours, so close() never unlinks a socket that
        # a newer instance has bound at the same path in the meantime.
        self._inode: int | None = os.stat(local_path).st_ino
        super().__init__(sock)

    def _transmit(self, frame: bytes) -> None:
        self._sock.sendto(frame, self.remote_path)

    def close(self) -> None:
        if self._inode is not None:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.local_path).st_ino == self._inode:
                    os.unlink(self.local_path)
            self._inode = None
        if self._sock.fileno() >= 0:
            super().close()

    def describe(self) -> str:
        return f"unix {self.local_path} -> {self.remote_path}"


def _remove_stale_socket(path: str) -> None:
    """Unlink a socket file left behind by a dead process; refuse a live one or a non-socket."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise FileExistsError(errno.EEXIST, "exists and is not a socket; not removing it", path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        pass  # nobody bound: stale (or already gone)
    except PermissionError as exc:
        # EPERM: a live datagram socket that is connected to someone else.
        raise OSError(errno.EADDRINUSE, "in use by a running process", path) from exc
    else:
        raise OSError(errno.EADDRINUSE, "in use by a running process", path)
    finally:
        probe.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def parse_hostport(
    text: str, *, passive: bool = False, family: int = socket.AF_UNSPEC
) -> tuple[int, tuple[Any, ...]]:
    """Resolve "host:port" or "[v6addr]:port" to a sockaddr tuple plus family.

    Returns (family, sockaddr). An empty host with `passive` binds the
    wildcard address. Resolution happens once, at configuration time.
    """
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"bad address {text!r}: expected [IPv6]:port")
    else:
        host, sep, port = text.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(f"bad address {text!r}: expected host:port (IPv6 as [addr]:port)")
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bad port in {text!r}")
    flags = socket.AI_NUMERICSERV | (socket.AI_PASSIVE if passive else 0)
    infos = socket.getaddrinfo(host or None, int(port), family, socket.SOCK_DGRAM, 0, flags)
    fam, _, _, _, sockaddr = infos[0]
    return int(fam), tuple(sockaddr)


class UdpTransport(_SocketTransport):
    """UDP cable in the GNS3/dynamips serial format: one frame per datagram, no flags, no FCS.

    The socket is connect()ed to `remote`: the kernel then drops datagrams
    from anyone else, and ICMP port-unreachable comes back as ECONNREFUSED
    (counted as tx_peer_absent) instead of being silently ignored.
    """

    carries_fcs = False
    _peer_absent = frozenset(
        {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EPERM}
    )

    def __init__(self, local: str, remote: str) -> None:
        self.local = local
        self.remote = remote
        family, remote_addr = parse_hostport(remote)
        _, local_addr = parse_hostport(local, passive=True, family=family)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind(local_addr)
            sock.connect(remote_addr)
        except OSError:
            sock.close()
            raise
        super().__init__(sock)

    @property
    def local_address(self) -> tuple[Any, ...]:
        """The bound address (useful when `local` asked for port 0)."""
        return self._sock.getsockname()

    def _transmit(self, frame: bytes) -> None:
        self._sock.send(frame)

    def close(self) -> None:
        if self._sock.fileno() >= 0:
            super().close()

    def describe(self) -> str:
        if self._sock.fileno() < 0:
            return f"udp {self.local} -> {self.remote} (closed)"
        host, port = self.local_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"udp {host}:{port} -> {self.remote}"


class _TransportSpec(Protocol):
    # Read-only properties so frozen dataclasses (TransportConfig) conform.
    @property
    def kind(self) -> str: ...
    @property
    def local(self) -> str: ...
    @property
    def remote(self) -> str: ...


def make_transport(cfg: _TransportSpec) -> LinkTransport:
    """Build the transport a wand.config.model.TransportConfig describes."""
    if cfg.kind == "unix":
        return UnixDatagramTransport(cfg.local, cfg.remote)
    if cfg.kind == "udp":
        return UdpTransport(cfg.local, cfg.remote)
    raise ValueError(f"unknown transport kind {cfg.kind!r} (expected 'unix' or 'udp')")
