"""Link transports: "the cable" that joins two emulated WAN ports.

A transport moves whole frames, one per datagram, between this port and the
far port. It is non-blocking and meant for ``loop.add_reader(t.fileno(), ...)``
plus ``recv_batch()``; ``send()`` never blocks and never raises for the
ordinary ways a cable can fail (far end not running, far end not draining).

The contract of ``send(frame)``:

- True: the cable took the frame. Either it was sent, or nobody is attached
  at the far end and it was dropped and counted in ``tx_peer_absent`` (a
  real line with the far end unplugged loses frames the same way).
- False: would block (counted in ``tx_would_block``); the frame was not
  taken. Keep it, wait with ``loop.add_writer(t.fileno(), ...)`` and retry
  when the fd is writable. Both transports here are connected sockets, for
  which poll() reports POLLOUT correctly.

``deadline()``/``maintain(now)`` are the upkeep timer: the daemon calls
``maintain(now)`` once ``deadline() <= now`` (same clock as ``now``, i.e.
``time.monotonic()``/``loop.time()``). The Unix transport uses it to
re-attach to a far end that restarted; UDP needs none (``deadline()`` is
None).

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
queue to ``/proc/sys/net/unix/max_dgram_qlen`` (per network namespace; the
default is 10) -- unless the *receiver* is connect()ed to the *sender*
(``unix_peer(other) == sk`` in ``unix_dgram_sendmsg``). Measured on 6.x with
an unconnected ``sendto``: a non-blocking burst at a receiver that is not
reading got exactly 11 frames through and EAGAIN for the rest, and poll()
never reports POLLOUT to an unconnected sender, so it cannot learn when to
retry. TCP over an unpaced line then reached ~100 Mb/s, 0.29x of a socat
TUN<->UDP tunnel. Host sysctls are not ours to change.

So both ends connect() their bound socket to the far path and use send().
The queue-length check is skipped, the limit becomes the sender's
SO_SNDBUF (AF_UNIX charges queued datagrams to the sender): with 4 MiB
requested (the kernel doubles it to 8 MiB) a burst of 4-byte frames at a
receiver that is not reading got 10,923 frames queued before EAGAIN (~768
bytes of skb truesize each), and poll() reports POLLOUT again once the
receiver has drained the queue below a quarter of that. The caller waits for
it with add_writer. (While only the sender is connected -- briefly, until
the other end attaches -- the queue-length limit applies again, but poll()
still wakes the connected sender when the receiver dequeues.) TCP through a
bare TUN<->transport forwarder in two namespaces (iperf3, 8 s): unconnected
with a 1 ms retry timer 730-910 Mb/s, connected with add_writer
1080-1250 Mb/s, socat TUN<->UDP 450-480 Mb/s on the same machine.

Restarts: why connect needs upkeep
----------------------------------
A connected socket keeps pointing at its peer after the peer's process
exits, and the kernel lets a socket send to (or connect to) a receiver only
if the receiver is unconnected or connected to it. Measured: after B
restarts as B', B's ``connect()`` and ``send()`` to the survivor A fail with
EPERM / ENOTCONN until A re-targets; A's first ``send()`` to the dead B gets
ECONNREFUSED (the kernel then drops A's peer), later ones ENOTCONN. A quiet
survivor (an FR DCE that only answers STATUS ENQUIRY) would never send and
so never re-target: the link would deadlock. Hence:

- A send error meaning "peer gone / not connected to us" re-connects and,
  if that works, sends the frame once more; otherwise the frame is dropped
  (counted, returns True). These attempts back off from
  ``RECONNECT_FIRST`` to one per ``RECONNECT_INTERVAL``: the first ones
  come quickly, so the usual start-up race (the far end binds a moment
  after our first frame) costs no frames, and a long outage costs one
  connect() per interval, however fast frames come. Receiving a frame while
  not connected (the far end is evidently there) also tries at once.
- ``maintain(now)`` re-connect()s to the far path when the socket is not
  connected (every ``RECONNECT_INTERVAL``) or nothing was received for
  ``REFRESH_IDLE``. connect() on a connected datagram socket re-targets it;
  re-connecting to the same live peer changes nothing (measured: nothing
  queued is lost), so the refresh is harmless on a healthy idle link, which
  wakes for it about once per ``REFRESH_IDLE``. A quiet survivor thus
  re-targets about ``REFRESH_IDLE`` after it last heard from the dead peer
  (or at its next refresh), and the restarted end's next attempt then
  succeeds: measured 1.05 s from restart to the first answer.

Re-targeting to a *new* peer makes the kernel purge our receive queue; it
can only hold frames from the dead peer, whose sessions are gone anyway.

Serial ports and ptys (``TtyTransport``)
---------------------------------------
An async PPP line is a byte stream, not a frame per datagram: ``send()``
takes a piece of the stream (the async port hands it whole stuffed frames)
and ``recv_batch()`` returns whatever the tty had, cut anywhere; the port's
deframer finds the frames. See the class for how a hang-up (the far end of a
pty closed, a USB adapter pulled) is survived.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
import stat
import termios
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("wand.transport")

# Not exported by Python's socket module; values from <asm-generic/socket.h>.
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_FRAME_BYTES = 65536  # >= any HDLC frame we emulate and >= the largest UDP payload
RECONNECT_INTERVAL = 0.5  # seconds between connect() attempts while the far end is not attached
RECONNECT_FIRST = 0.01  # first gap between send()-triggered attempts; doubles up to RECONNECT_INTERVAL
REFRESH_IDLE = 1.0  # seconds without receiving anything before maintain() re-connects anyway

_WOULD_BLOCK = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})


@dataclass
class TransportCounters:
    tx_frames: int = 0
    tx_bytes: int = 0
    rx_frames: int = 0
    rx_bytes: int = 0
    tx_peer_absent: int = 0  # frames dropped: far end not there (not bound / not running / unreachable)
    tx_would_block: int = 0  # send() -> False: our buffer (or the far queue) full; caller keeps the frame
    rx_errors: int = 0  # datagrams dropped on receive (e.g. larger than MAX_FRAME_BYTES)
    connect_failures: int = 0  # connect() (Unix) or re-open (tty) attempts at the far end that failed
    hangups: int = 0  # tty only: the device hung up (the other end of a pty closed, the port vanished)


class LinkTransport(ABC):
    """One end of a point-to-point frame link between two emulated ports."""

    carries_fcs: bool
    counters: TransportCounters

    @abstractmethod
    def fileno(self) -> int:
        """The fd to register with loop.add_reader (and add_writer after send() -> False)."""

    @abstractmethod
    def send(self, frame: bytes) -> bool:
        """Hand one frame to the cable.

        True: taken -- sent, or dropped and counted in tx_peer_absent because
        nobody is attached at the far end. False: would block (tx_would_block);
        the frame was not taken: keep it and retry once fileno() is writable.
        """

    @abstractmethod
    def recv_batch(self, limit: int = 64, now: float | None = None) -> list[bytes]:
        """Read up to `limit` frames, stopping early when none are left.

        `now` (the caller's monotonic clock) records when the far end was last
        heard from; without it, a transport that needs that reads the clock.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the socket (and any filesystem name); idempotent."""

    @abstractmethod
    def describe(self) -> str:
        """A one-line human description for status output and logs."""

    def deadline(self) -> float | None:
        """When maintain() next has work to do (monotonic seconds), or None for never."""
        return None

    def maintain(self, now: float) -> None:
        """Periodic upkeep; call when deadline() <= now. Does nothing before deadline()."""
        return None


class _SocketTransport(LinkTransport):
    """Shared send/receive logic for transports built on one connected datagram socket."""

    # errno values of send() that mean "nobody attached at the far end": the
    # frame is dropped and counted, as on a line whose far end is unplugged.
    _peer_absent: frozenset[int] = frozenset({errno.ECONNREFUSED})

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._sock.setblocking(False)
        self._buf = bytearray(MAX_FRAME_BYTES)
        self._view = memoryview(self._buf)
        self.counters = TransportCounters()
        self._last_rx: float | None = None  # caller's clock; when a frame last arrived
        _set_buffers(sock)

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, frame: bytes) -> bool:
        try:
            self._sock.send(frame)
        except OSError as exc:
            return self._send_failed(frame, exc)
        self.counters.tx_frames += 1
        self.counters.tx_bytes += len(frame)
        return True

    def _send_failed(self, frame: bytes, exc: OSError) -> bool:
        """The slow path of send(): classify the error, maybe re-attach and try once more."""
        retried = False
        while True:
            if exc.errno in _WOULD_BLOCK:
                self.counters.tx_would_block += 1
                return False
            if exc.errno not in self._peer_absent:
                raise exc
            # One retry at most: a far end that keeps vanishing between our
            # connect() and send() must not keep us here.
            if retried or not self._reattach():
                self.counters.tx_peer_absent += 1
                return True
            retried = True
            try:
                self._sock.send(frame)
            except OSError as again:
                exc = again
                continue
            self.counters.tx_frames += 1
            self.counters.tx_bytes += len(frame)
            return True

    def _reattach(self) -> bool:
        """The far end looks absent: try to re-connect; True if that just succeeded."""
        return False

    def recv_batch(self, limit: int = 64, now: float | None = None) -> list[bytes]:
        frames: list[bytes] = []
        while len(frames) < limit:
            try:
                # MSG_TRUNC makes the kernel return the datagram's real length,
                # so an oversized one is detected instead of silently cut.
                n = self._sock.recv_into(self._buf, 0, socket.MSG_TRUNC)
            except (BlockingIOError, InterruptedError):
                break
            except (ConnectionRefusedError, ConnectionResetError):
                # An error about earlier sends, reported (once) on this call;
                # nothing was received. UDP: ICMP port-unreachable. AF_UNIX:
                # the far socket was re-pointed elsewhere and discarded what
                # we had queued to it.
                self.counters.tx_peer_absent += 1
                continue
            if n > MAX_FRAME_BYTES:
                self.counters.rx_errors += 1
                continue
            frames.append(bytes(self._view[:n]))
            self.counters.rx_frames += 1
            self.counters.rx_bytes += n
        if frames:
            self._last_rx = time.monotonic() if now is None else now
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


# connect() failures that only mean "the far end is not (yet) attached":
# nothing bound at the path, a stale socket file whose owner is gone, or a
# live far socket still connected to someone else (e.g. to our dead
# predecessor). Anything else at construction time is a configuration error.
_NOT_ATTACHED = frozenset({errno.ENOENT, errno.ECONNREFUSED, errno.EPERM})


class UnixDatagramTransport(_SocketTransport):
    """AF_UNIX datagram cable: bound at `local_path`, connected to `remote_path`.

    Path sockets live in the filesystem, not in a network namespace, so the
    two ends may run in different netns (as the two lab sites do). Both ends
    are connected to each other (see the module docstring for why, and for
    how a restart of either end is survived).
    """

    carries_fcs = True
    # ECONNREFUSED: the peer we were connected to died (the kernel then drops
    # it: later sends get ENOTCONN). ENOTCONN/EDESTADDRREQ: not connected.
    # EPERM: the far socket is connected to someone else. ENOENT: nothing at
    # the path. ECONNRESET: the far socket re-targeted and discarded what we
    # had queued. EPIPE: the far socket was shut down for receiving.
    _peer_absent = frozenset(
        {
            errno.ECONNREFUSED,
            errno.ENOTCONN,
            errno.EDESTADDRREQ,
            errno.EPERM,
            errno.ENOENT,
            errno.ECONNRESET,
            errno.EPIPE,
        }
    )

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
        self._connected = False  # our socket is (believed) connected to the far path's socket
        self.last_connect_error = ""  # strerror of the last failed connect(), for describe()
        # maintain() schedule, on the caller's clock; 0.0 = due at once, so the
        # first timer after start sets it up with a real `now`.
        self._refresh_due = 0.0  # while connected: next idle check
        self._retry_due = 0.0  # while not connected: next connect() attempt
        # The rate limit of send()'s own re-connect, which has no `now` of the
        # caller's: it reads time.monotonic(), and only on the error path.
        self._send_retry_at = 0.0
        self._send_backoff = RECONNECT_FIRST
        try:
            self._sock.connect(remote_path)
        except OSError as exc:
            if exc.errno not in _NOT_ATTACHED:
                self.close()
                raise
            self._connect_failed(exc)
        else:
            self._connected = True

    def _connect(self) -> None:
        """(Re-)connect to the far path; a failure is counted and left for the next attempt."""
        try:
            self._sock.connect(self.remote_path)
        except OSError as exc:
            self._connect_failed(exc)
        else:
            self._connected = True
            self.last_connect_error = ""

    def _connect_failed(self, exc: OSError) -> None:
        # A failed connect() leaves any previous association in place, but it
        # is no longer trusted: keep retrying until one succeeds.
        self._connected = False
        self.counters.connect_failures += 1
        self.last_connect_error = exc.strerror or str(exc)

    def _reattach(self) -> bool:
        self._connected = False
        now = time.monotonic()
        if now < self._send_retry_at:
            return False
        self._connect()
        if self._connected:
            self._send_backoff = RECONNECT_FIRST
            return True
        self._send_retry_at = now + self._send_backoff
        self._send_backoff = min(2 * self._send_backoff, RECONNECT_INTERVAL)
        return False

    def recv_batch(self, limit: int = 64, now: float | None = None) -> list[bytes]:
        frames = super().recv_batch(limit, now)
        if frames and not self._connected:
            # Only a far end that is unconnected or connected to us can have
            # sent these: it is there, so attach now rather than at the next
            # maintain() (rate-limited all the same: strangers can reach an
            # unconnected socket too).
            self._reattach()
        return frames

    @property
    def connected(self) -> bool:
        """Whether the last connect() to the far path succeeded and no send has failed since."""
        return self._connected

    def deadline(self) -> float | None:
        if self._inode is None:
            return None
        return self._refresh_due if self._connected else self._retry_due

    def maintain(self, now: float) -> None:
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return
        last_rx = self._last_rx
        if self._connected and last_rx is not None and now - last_rx < REFRESH_IDLE:
            # Heard from the far end recently: it is alive and connected to us.
            self._refresh_due = last_rx + REFRESH_IDLE
            return
        # Not connected, or quiet for a while: the far end may have restarted
        # and be waiting for us to re-target (it cannot reach us until then).
        self._connect()
        self._refresh_due = now + REFRESH_IDLE
        self._retry_due = now + RECONNECT_INTERVAL

    def close(self) -> None:
        if self._inode is not None:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.local_path).st_ino == self._inode:
                    os.unlink(self.local_path)
            self._inode = None
        if self._sock.fileno() >= 0:
            super().close()

    def describe(self) -> str:
        text = f"unix {self.local_path} -> {self.remote_path}"
        if self._inode is None:
            return f"{text} (closed)"
        if not self._connected:
            return f"{text} (far end not attached: {self.last_connect_error or 'send failed'})"
        return text


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
    instead of being silently ignored; like any "nobody there" error it
    drops the frame and counts tx_peer_absent (send() -> True). A full
    socket buffer is send() -> False, and POLLOUT tells when to retry.
    """

    carries_fcs = False
    # ICMP port/host/net unreachable, the underlay down, or a firewall's
    # EPERM: the far end cannot be reached, the frame is lost on the way.
    _peer_absent = frozenset(
        {
            errno.ECONNREFUSED,
            errno.EHOSTUNREACH,
            errno.ENETUNREACH,
            errno.EHOSTDOWN,
            errno.ENETDOWN,
            errno.EPERM,
        }
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


# Re-open attempts while a tty is hung up; an absent device costs one open() per interval.
REOPEN_INTERVAL = 0.5
TTY_READ_BYTES = 65536  # one read(); a pty hands over at most its 4 KiB buffer per read anyway
# read() or write() errors that mean the tty hung up: EIO is what a pty (either side)
# returns once its other side is gone; ENXIO/ENODEV, a serial adapter that disappeared.
_HANGUP_ERRNOS = frozenset({errno.EIO, errno.ENXIO, errno.ENODEV, errno.EPIPE})
# Rates a termios speed constant exists for (Linux); a config outside this list is refused.
STANDARD_BAUDS = (
    300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
    500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
)  # fmt: skip


class TtyTransport(LinkTransport):
    """An async serial line: a real serial port, or one end of a pty pair (socat, another PPP).

    The device is opened non-blocking and without becoming our controlling
    terminal (O_NOCTTY: a hang-up must not SIGHUP the daemon), in raw mode,
    8N1, with CLOCAL (a null-modem cable has no DCD to wait for) and the baud
    rate when one is given. A pty ignores the rate, and so does this class if
    the driver refuses it: the port's pacer sets the line's speed either way.

    The fd the loop watches is an epoll instance holding the tty, not the tty:

    - Hang-up. When the other end of a pty closes, the kernel hangs up our
      open file for good: read() returns end of file (or EIO), write() EIO,
      and poll() reports POLLHUP at once, forever. Watched directly, that fd
      would spin the event loop, and a new far end (socat restarted) is a new
      pty behind the same path, reachable only by opening it again. So a
      hang-up is counted (``hangups``), the tty is closed and taken out of
      the epoll set (the loop goes quiet), frames sent meanwhile are dropped
      and counted in ``tx_peer_absent`` like a line with the far end
      unplugged, and ``maintain()`` re-opens the path every
      ``REOPEN_INTERVAL``. The loop keeps the same fd throughout.
    - Flow control. ``send()`` writes what the tty takes and keeps the rest;
      the next ``send()`` (or ``flush()``, or ``recv_batch()``) writes that
      remainder first, so octets are never reordered or lost. Only when a
      remainder is still pending does ``send()`` refuse (False). While one
      is, the tty is watched for POLLOUT too, and its writability makes the
      watched fd *readable*: the driver's ``recv_batch()`` flushes and its
      service pass retries. (A writer registered on the fd after
      ``send() -> False`` never fires, since an epoll fd only ever polls
      readable; it is harmless.)

    ``tx_frames``/``rx_frames`` count pieces of the stream (one send() or
    read() each), not PPP frames; the port counts those.
    """

    carries_fcs = True  # the FCS is inside the async framing, always on the stream
    kind = "tty"

    def __init__(self, device: str, baud: int | None = None) -> None:
        if baud is not None and baud not in STANDARD_BAUDS:
            raise ValueError(f"{baud} is not a standard baud rate")
        self.device = device
        self.baud = baud
        self.counters = TransportCounters()
        self.last_error = ""  # why the tty is not open, for describe()
        self.speed_set = False  # whether the device accepted `baud`
        self._name = device  # the device actually opened (a symlink's target: /dev/pts/3)
        self._fd = -1
        self._pending = b""  # octets a send() could not write yet; always written first
        self._watching = 0  # epoll events the tty is registered for (0: not registered)
        self._reopen_due = 0.0  # caller's clock: next re-open attempt while hung up
        self._epoll = select.epoll()
        try:
            self._fd = self._open()
        except BaseException:
            self._epoll.close()
            raise
        self._watch()

    # -- opening -----------------------------------------------------------------
    def _open(self) -> int:
        """Open and configure the device; OSError if that is impossible."""
        try:
            return self._open_tty()
        except termios.error as exc:  # not an OSError: callers expect one for a device problem
            code, text = exc.args if len(exc.args) == 2 else (errno.EIO, str(exc))
            raise OSError(code, f"cannot configure the port: {text}", self.device) from exc

    def _open_tty(self) -> int:
        fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if not os.isatty(fd):
                raise OSError(errno.ENOTTY, "not a serial port or pty", self.device)
            tty.setraw(fd, termios.TCSANOW)
            attrs = termios.tcgetattr(fd)
            # Ignore modem control lines (no DCD on a null-modem cable or a pty) and enable the receiver.
            attrs[2] |= termios.CLOCAL | termios.CREAD
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
            self.speed_set = False
            speed = getattr(termios, f"B{self.baud}", None) if self.baud is not None else None
            if speed is not None:
                attrs[4] = attrs[5] = speed
                try:
                    termios.tcsetattr(fd, termios.TCSANOW, attrs)
                    self.speed_set = termios.tcgetattr(fd)[5] == speed
                except termios.error:
                    pass  # the driver refuses this rate: the pacer still paces the line at it
            try:
                self._name = os.ttyname(fd)
            except OSError:
                self._name = self.device
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _watch(self) -> None:
        """Keep the epoll registration in step: readable always, writable while a remainder waits."""
        want = select.EPOLLIN | (select.EPOLLOUT if self._pending else 0)
        if self._fd < 0 or want == self._watching:
            return
        if self._watching:
            self._epoll.modify(self._fd, want)
        else:
            self._epoll.register(self._fd, want)
        self._watching = want

    def _hang_up(self, why: str, now: float | None) -> None:
        """The far end is gone: stop watching, drop what was pending, re-open later."""
        self.counters.hangups += 1
        if self._pending:
            self.counters.tx_peer_absent += 1
            self._pending = b""
        self._close_tty()
        self.last_error = why
        self._reopen_due = (time.monotonic() if now is None else now) + REOPEN_INTERVAL
        # Once per hang-up (re-open failures are only counted): the carrier follows when
        # the protocol notices, PPP by its echo keepalive.
        log.warning("tty %s: %s; far end absent, re-opening every %g s", self.device, why, REOPEN_INTERVAL)

    def _close_tty(self) -> None:
        if self._fd < 0:
            return
        if self._watching:
            self._epoll.unregister(self._fd)
            self._watching = 0
        os.close(self._fd)
        self._fd = -1

    @property
    def present(self) -> bool:
        """Whether the tty is open (False while hung up, until a re-open succeeds)."""
        return self._fd >= 0

    # -- LinkTransport -------------------------------------------------------------
    def fileno(self) -> int:
        return self._epoll.fileno()

    def send(self, frame: bytes) -> bool:
        if self._pending and not self.flush():
            self.counters.tx_would_block += 1
            return False
        if self._fd < 0:  # hung up (perhaps just now, by the flush): the far end is absent
            self.counters.tx_peer_absent += 1
            return True
        try:
            written = os.write(self._fd, frame)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError as exc:
            if exc.errno not in _HANGUP_ERRNOS:
                raise
            self._hang_up(f"write: {exc.strerror}", None)
            self.counters.tx_peer_absent += 1
            return True
        self.counters.tx_frames += 1
        self.counters.tx_bytes += len(frame)
        if written < len(frame):
            self._pending = frame[written:]
            self._watch()
        return True

    def flush(self) -> bool:
        """Write the pending remainder; True when nothing is left pending."""
        while self._pending and self._fd >= 0:
            try:
                written = os.write(self._fd, self._pending)
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno not in _HANGUP_ERRNOS:
                    raise
                self._hang_up(f"write: {exc.strerror}", None)
                break
            self._pending = self._pending[written:]
        self._watch()
        return not self._pending

    def recv_batch(self, limit: int = 64, now: float | None = None) -> list[bytes]:
        chunks: list[bytes] = []
        if self._pending:
            self.flush()  # the wake-up may have been for writability (see the class docstring)
        while len(chunks) < limit and self._fd >= 0:
            try:
                data = os.read(self._fd, TTY_READ_BYTES)
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno not in _HANGUP_ERRNOS:
                    raise
                self._hang_up(f"read: {exc.strerror}", now)
                break
            if not data:
                self._hang_up("hung up (end of file)", now)
                break
            chunks.append(data)
            self.counters.rx_frames += 1
            self.counters.rx_bytes += len(data)
        return chunks

    def deadline(self) -> float | None:
        return None if self._fd >= 0 or self._epoll.closed else self._reopen_due

    def maintain(self, now: float) -> None:
        if self._fd >= 0 or self._epoll.closed or now < self._reopen_due:
            return
        try:
            fd = self._open()
        except OSError as exc:
            self.counters.connect_failures += 1
            self.last_error = f"re-open: {exc.strerror or exc}"
            self._reopen_due = now + REOPEN_INTERVAL
            return
        # A path left behind by a dead far end (socat killed) may name a pty that is
        # already hung up: that is not a far end either.
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if any(events & select.POLLHUP for _, events in poller.poll(0)):
            os.close(fd)
            self.counters.connect_failures += 1
            self.last_error = "re-open: hung up"
            self._reopen_due = now + REOPEN_INTERVAL
            return
        self._fd = fd
        self.last_error = ""
        self._watch()
        log.info("tty %s: re-opened (%s)", self.device, self._name)

    def close(self) -> None:
        self._close_tty()
        self._pending = b""
        if not self._epoll.closed:
            self._epoll.close()

    def describe(self) -> str:
        text = f"tty {self.device}"
        if self._name != self.device:
            text += f" ({self._name})"
        if self.baud is not None:
            text += f", {self.baud} baud" + ("" if self.speed_set else " (not set: the device ignores it)")
        if self._epoll.closed:
            return f"{text} (closed)"
        if self._fd < 0:
            return f"{text} (far end absent: {self.last_error}; re-opening)"
        return text


class _TransportSpec(Protocol):
    # Read-only properties so frozen dataclasses (TransportConfig) conform.
    @property
    def kind(self) -> str: ...
    @property
    def local(self) -> str: ...
    @property
    def remote(self) -> str: ...


def make_transport(cfg: _TransportSpec) -> LinkTransport:
    """Build the transport a wand.config.model.TransportConfig describes.

    A tty's config (a TransportConfig of kind "tty") names its device in
    `local` and adds `baud`: a serial port has no far address.
    """
    if cfg.kind == "unix":
        return UnixDatagramTransport(cfg.local, cfg.remote)
    if cfg.kind == "udp":
        return UdpTransport(cfg.local, cfg.remote)
    if cfg.kind == "tty":
        return TtyTransport(cfg.local, getattr(cfg, "baud", None))
    if cfg.kind == "xot":
        from wand.xot import XotTransport  # X.25 lines only; most lines never need it

        return XotTransport(cfg.local, cfg.remote)
    raise ValueError(f"unknown transport kind {cfg.kind!r} (expected 'unix', 'udp', 'tty' or 'xot')")
