"""XOT (RFC 1613, X.25 over TCP port 1998) as a link transport.

XOT carries X.25 *packets*, not frames: there is no LAPB, and each virtual
circuit rides its own TCP connection, every packet prefixed with a 4-octet
header (version 0, then the packet's length). What goes through ``send()``
and ``recv_batch()`` here are whole X.25 packets, GFI first
(``carries_packets = True``), and the X.25 engine above runs without LAPB.
It sees one X.25 interface on which it picks LCNs; this class maps them onto
connections. The link has nothing to bring up: it is usable from the start.

Theory of operation
-------------------
LCNs. RFC 1613 section 5: the LCN inside the packets "has no significance".

- A Call Request from above on a free LCN n opens a TCP connection to
  ``remote`` and binds n to it. The packets go out unmodified (section 6: an
  XOT SHOULD NOT modify what it forwards); whatever LCN the far end uses on
  that connection is rewritten to n on the way up.
- An accepted connection's first packet must be a Call: it gets the lowest
  LCN that is neither bound nor still being cleared (1..4095), as a DCE
  assigns incoming calls from the bottom; the DTE above should pick its own
  from the top. Packets on that connection are rewritten both ways: the far
  end's LCN on the wire, ours above. If the DTE calls out on an LCN we have
  just given an Incoming Call it has not answered, that is an X.25 call
  collision: the DTE's call wins, the incoming one is cleared towards the far
  end (cause 0x01 number busy, diagnostic 72 call collision) and the queued
  Incoming Call is withdrawn.

Per connection: CONNECTING (our call, TCP not up yet) -> OPEN; AWAIT_CALL
(accepted, no packet yet) -> INCOMING (Incoming Call delivered) -> OPEN once
the DTE accepts. A Clear from above -> CLEARING_LOCAL, from the far end ->
CLEARING_REMOTE; a Clear Confirmation either way, or a clear collision,
unbinds the LCN and the connection goes CLOSING: flush, shut down writing,
close at the far end's FIN (or after ``LINGER``).

What we synthesize towards the layer above (cause, diagnostic). The
diagnostics follow Cisco's documented use of Annex E codes for XOT: 119
when the far XOT closed the connection, 120 when it could not be reached.

- Connection closed or failed with the circuit up: Clear Indication 0x09
  (out of order), 119. Malformed stream on a circuit: 0x11 (remote procedure
  error), 0. connect() failed or timed out (``CONNECT_TIMEOUT``): 0x09, 120.
  No ``remote`` configured: 0x0D (not obtainable), 0.
- Connection closed while our Clear was outstanding: Clear Confirmation (the
  far end MAY close instead of confirming, RFC 1613 section 6.1).
- Clear Request from above on an LCN we know nothing of: Clear Confirmation.
  Any other packet there (a late RR, data for a PVC: XOT PVCs are not
  supported) is dropped and counted in ``tx_unbound``.
- Restart Request/Indication from above (LCN 0, 0xFB): Restart Confirmation;
  every circuit is cleared towards its far end (cause 0x09) and closed, and
  packets not yet read by the layer above are discarded.

An LCN on which we synthesized a Clear Indication stays reserved until the
layer above confirms it (or clears it too: a clear collision), so that a new
incoming call cannot take it and receive that late confirmation.

From the network, restart, diagnostic and registration packets are silently
discarded (section 6.4), as is a packet of unknown type before the Call
(6.1). A bad version, an impossible length, or a first packet that is
neither a Call nor unknown closes the connection, counted in ``rx_errors``.
A Cisco PVC setup (type 0xF5) is answered with status 0x16 (no such
destination PVC) and the connection closed.

I/O. The daemon watches one fd: an epoll instance holding the listening
socket, every connection, and an eventfd that is kept signalled while
packets wait for ``recv_batch()`` (synthesized ones, or more than one batch).
Writes are non-blocking into a per-connection buffer; ``send()`` refuses
(False) only while that connection's buffer is over ``OUT_LIMIT``. A
connection with a backlog is watched for EPOLLOUT, which makes the epoll fd
readable: the driver's ``recv_batch()`` then flushes and its service pass
retries, as with the tty transport.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import select
import socket
import struct
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from wand.transport import LinkTransport, TransportCounters, parse_hostport

log = logging.getLogger("wand.xot")

XOT_PORT: Final = 1998
XOT_VERSION: Final = 0
HEADER: Final = struct.Struct("!HH")  # version, length of the X.25 packet
MIN_PACKET: Final = 3  # GFI + LCN, packet type
MAX_PACKET: Final = 4096 + 4  # the largest X.25 user data field behind a modulo-128 data header
OUT_LIMIT: Final = 64 * 1024  # octets buffered per connection before send() refuses
READ_BYTES: Final = 65536  # one recv() per ready connection per recv_batch()
RX_HIGH: Final = 4096  # packets waiting for the layer above before we stop reading sockets
MAX_CONNECTIONS: Final = 4200  # every LCN plus connections that are closing or not yet called
CONNECT_TIMEOUT: Final = 15.0  # s; well inside X.25 T21 (200 s), so our diagnostic arrives first
FIRST_PACKET_TIMEOUT: Final = 30.0  # s an accepted connection may take to send its Call
LINGER: Final = 5.0  # s a closing connection waits for the far end's FIN
LISTEN_RETRY: Final = 1.0  # s without accepting after accept() ran out of fds
KEEPALIVE: Final = (60, 10, 4)  # idle, interval, probes: Cisco's XOT keepalive defaults (60 s, 4 tries)

PTI_CALL: Final = 0x0B
PTI_CALL_ACCEPTED: Final = 0x0F
PTI_CLEAR: Final = 0x13
PTI_CLEAR_CONFIRM: Final = 0x17
PTI_RESTART: Final = 0xFB
PTI_RESTART_CONFIRM: Final = 0xFF
PTI_PVC_SETUP: Final = 0xF5  # Cisco's XOT PVC setup (RFC 1613 section 6.5)
# Packets of local DTE/DCE significance that never cross XOT (section 6.4):
# diagnostic, registration request/confirmation, restart, restart confirmation.
LOCAL_ONLY: Final = frozenset({0xF1, 0xF3, 0xF7, PTI_RESTART, PTI_RESTART_CONFIRM})
_CONTROL: Final = frozenset({0x0B, 0x0F, 0x13, 0x17, 0x1B, 0x1F, 0x23, 0x27})

CAUSE_NUMBER_BUSY: Final = 0x01
CAUSE_CONGESTION: Final = 0x05
CAUSE_OUT_OF_ORDER: Final = 0x09
CAUSE_NOT_OBTAINABLE: Final = 0x0D
CAUSE_REMOTE_PROCEDURE_ERROR: Final = 0x11
DIAG_NO_LOGICAL_CHANNEL: Final = 71
DIAG_CALL_COLLISION: Final = 72
DIAG_XOT_CLOSED: Final = 119  # Cisco: the remote XOT peer closed the TCP connection
DIAG_XOT_UNREACHABLE: Final = 120  # Cisco: the remote XOT peer could not be reached
PVC_NO_SUCH_PVC: Final = 0x16


def lcn_of(packet: bytes) -> int:
    return ((packet[0] & 0x0F) << 8) | packet[1]


def relabel(packet: bytes, lcn: int) -> bytes:
    """The packet with its 12-bit LCN replaced (the GFI is kept)."""
    return bytes(((packet[0] & 0xF0) | (lcn >> 8), lcn & 0xFF)) + packet[2:]


def _known_type(pti: int) -> bool:
    # Data (bit 0 clear), RR/RNR/REJ (P(R) in the top bits at modulo 8), or a control packet.
    return pti in _CONTROL or pti in LOCAL_ONLY or not pti & 1 or (pti & 0x1F) in (0x01, 0x05, 0x09)


def _gfi(packet: bytes) -> int:
    """The modulo bits of a packet's GFI (0x10 modulo 8, 0x20 modulo 128), for packets we build."""
    return packet[0] & 0x30 or 0x10


def _clear(gfi: int, lcn: int, cause: int, diagnostic: int) -> bytes:
    return bytes((gfi | lcn >> 8, lcn & 0xFF, PTI_CLEAR, cause, diagnostic))


def _clear_confirm(gfi: int, lcn: int) -> bytes:
    return bytes((gfi | lcn >> 8, lcn & 0xFF, PTI_CLEAR_CONFIRM))


def parse_endpoint(text: str, *, passive: bool = False) -> tuple[int, tuple[Any, ...]]:
    """Resolve "host[:port]" or "[v6addr][:port]" (port 1998 when left out) to (family, sockaddr)."""
    if text.startswith("["):
        if "]:" not in text:
            text = f"{text}:{XOT_PORT}"
    elif ":" not in text:
        text = f"{text}:{XOT_PORT}"
    return parse_hostport(text, passive=passive)


class _State(enum.Enum):
    CONNECTING = "connecting"
    AWAIT_CALL = "await-call"
    INCOMING = "incoming"
    OPEN = "open"
    CLEARING_LOCAL = "clearing-local"
    CLEARING_REMOTE = "clearing-remote"
    CLOSING = "closing"


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    fd: int
    state: _State
    peer: str
    lcn: int | None = None  # ours, the layer above's; None once unbound
    wire_lcn: int = 0  # the LCN the far end uses on this connection
    gfi: int = 0x10  # modulo bits of the call, for packets we synthesize on it
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    events: int = 0  # the epoll mask it is registered with
    shut: bool = False  # SHUT_WR done (CLOSING, everything flushed)
    alive: bool = True


@dataclass
class XotCounters(TransportCounters):
    # Inherited: tx/rx_frames and bytes count X.25 packets that crossed TCP; tx_would_block,
    # send() -> False; rx_errors, connections closed for a malformed stream; connect_failures,
    # outgoing connections that failed or timed out (each also clears its call).
    calls_out: int = 0  # connections opened for Call Requests from above
    calls_in: int = 0  # accepted connections whose Call was delivered above
    circuits_lost: int = 0  # connections lost with their circuit up (Clear Indication synthesized)
    collisions: int = 0  # incoming calls cancelled by the DTE calling out on the same LCN
    no_free_lcn: int = 0  # incoming calls refused: every LCN taken
    pvc_setups_refused: int = 0  # Cisco PVC setups answered "no such PVC" (PVCs are not supported)
    rx_discarded: int = 0  # packets dropped: local-only types, unknown type before the Call, after clearing
    tx_unbound: int = 0  # packets from above on an LCN without a connection (answered or dropped)
    tx_local_only: int = 0  # packets from above XOT does not carry (diagnostic, registration, ...)
    tx_protocol_errors: int = 0  # misuse from above: a Call on a busy LCN, a malformed packet
    restarts: int = 0  # Restart Requests from above, answered locally
    timeouts: int = 0  # connect, first-packet and closing timeouts
    refused: int = 0  # connections refused or calls failed for lack of resources


class XotTransport(LinkTransport):
    """RFC 1613 XOT: listen on `local` (host:port, port 1998 by default; "" = do not listen)
    and call `remote` ("" = listen only). See the module docstring."""

    carries_fcs = False
    carries_packets = True
    kind = "xot"

    def __init__(self, local: str, remote: str = "") -> None:
        if not local and not remote:
            raise ValueError("xot needs a local address to listen on, a remote to call, or both")
        self.local = local
        self.remote = remote
        self.counters = XotCounters()
        self._remote: tuple[int, tuple[Any, ...]] | None = parse_endpoint(remote) if remote else None
        self._source: tuple[Any, ...] | None = None  # bind outgoing calls to the listening address
        local_ep = parse_endpoint(local, passive=True) if local else None
        if local_ep and self._remote and local_ep[0] == self._remote[0]:
            host = local_ep[1][0]
            if host not in ("0.0.0.0", "::"):
                self._source = (host, 0, *local_ep[1][2:])
        self._conns: dict[int, _Conn] = {}  # by fd
        self._by_lcn: dict[int, _Conn] = {}
        self._reserved: dict[int, int] = {}  # LCN -> GFI: Clear Indication sent up, not yet confirmed
        self._timed: dict[int, float] = {}  # fd -> deadline (monotonic)
        self._rx: deque[bytes] = deque()
        self._woken = False
        self._listen: socket.socket | None = None
        self._listen_retry: float | None = None
        self._epoll = select.epoll()
        self._wake = -1
        try:
            self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._epoll.register(self._wake, select.EPOLLIN)
            if local_ep is not None:
                sock = socket.socket(local_ep[0], socket.SOCK_STREAM)
                self._listen = sock
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(local_ep[1])
                sock.listen(128)
                sock.setblocking(False)
                self._epoll.register(sock.fileno(), select.EPOLLIN)
        except BaseException:
            self.close()
            raise

    # -- LinkTransport -------------------------------------------------------------
    def fileno(self) -> int:
        return self._epoll.fileno()

    def send(self, frame: bytes) -> bool:
        if self._epoll.closed:
            self.counters.tx_peer_absent += 1
            return True
        if not MIN_PACKET <= len(frame) <= MAX_PACKET:
            self.counters.tx_protocol_errors += 1
            return True
        lcn, pti = lcn_of(frame), frame[2]
        if lcn == 0 and pti == PTI_RESTART:
            self._restart(frame)
            return True
        if lcn == 0 or pti in LOCAL_ONLY:
            self.counters.tx_local_only += 1
            return True
        conn = self._by_lcn.get(lcn)
        if conn is None:
            self._unbound(lcn, frame)
            return True
        if pti == PTI_CALL:
            if conn.state is not _State.INCOMING:
                self.counters.tx_protocol_errors += 1
                return True
            self._collision(conn, lcn)
            self._call(lcn, frame)
            return True
        if conn.state is _State.CONNECTING and pti == PTI_CLEAR:
            # The call never left: abandon the connection and confirm at once.
            self._drop(conn)
            self._deliver(_clear_confirm(_gfi(frame), lcn))
            return True
        if len(conn.outbuf) >= OUT_LIMIT:
            self._flush(conn)
            if not conn.alive:  # the flush found the connection dead: the clear is on its way up
                return True
            if len(conn.outbuf) >= OUT_LIMIT:
                self.counters.tx_would_block += 1
                return False
        out = frame if conn.wire_lcn == lcn else relabel(frame, conn.wire_lcn)
        if pti == PTI_CLEAR_CONFIRM or (pti == PTI_CLEAR and conn.state is _State.CLEARING_REMOTE):
            self._close_after_flush(conn, out)  # the circuit is cleared (a clear collision too)
            return True
        # Move the state first: if the write finds the connection dead, _lost() then
        # answers according to what we just sent.
        if pti == PTI_CALL_ACCEPTED and conn.state is _State.INCOMING:
            conn.state = _State.OPEN
        elif pti == PTI_CLEAR:
            conn.state = _State.CLEARING_LOCAL
        self._queue(conn, out)
        return True

    def recv_batch(self, limit: int = 64, now: float | None = None) -> list[bytes]:
        if self._epoll.closed:
            return []
        now = time.monotonic() if now is None else now
        listen_fd = self._listen.fileno() if self._listen is not None else -1
        for fd, events in self._epoll.poll(0):
            if fd == listen_fd:
                self._accept(now)
            elif fd != self._wake:
                conn = self._conns.get(fd)
                if conn is not None:
                    self._on_event(conn, events)
        rx = self._rx
        packets = [rx.popleft() for _ in range(min(limit, len(rx)))]
        if not rx and self._woken:
            with contextlib.suppress(BlockingIOError):
                os.eventfd_read(self._wake)
            self._woken = False
        return packets

    def deadline(self) -> float | None:
        due = min(self._timed.values(), default=None)
        if self._listen_retry is not None and (due is None or self._listen_retry < due):
            return self._listen_retry
        return due

    def maintain(self, now: float) -> None:
        for fd, due in list(self._timed.items()):
            conn = self._conns.get(fd)
            if due > now or conn is None:
                continue
            if conn.state is not _State.CLOSING:
                self.counters.timeouts += 1
            if conn.state is _State.CONNECTING:
                self.counters.connect_failures += 1
                log.info("xot: call on LCN %s: connect to %s timed out", conn.lcn, conn.peer)
                self._lost(conn, CAUSE_OUT_OF_ORDER, DIAG_XOT_UNREACHABLE)
            else:  # no Call in time, or a closing connection whose far end never closed
                self._drop(conn)
        if self._listen_retry is not None and now >= self._listen_retry and self._listen is not None:
            self._listen_retry = None
            self._epoll.register(self._listen.fileno(), select.EPOLLIN)

    def close(self) -> None:
        for conn in list(self._conns.values()):
            self._drop(conn)
        self._rx.clear()
        self._reserved.clear()
        if self._listen is not None:
            self._listen.close()
            self._listen = None
        if self._wake >= 0:
            os.close(self._wake)
            self._wake = -1
        if not self._epoll.closed:
            self._epoll.close()

    @property
    def local_address(self) -> tuple[Any, ...] | None:
        """The listening address (useful when `local` asked for port 0), or None."""
        return self._listen.getsockname() if self._listen is not None else None

    @property
    def circuits(self) -> int:
        """Bound LCNs: circuits being set up, up, or being cleared with their connection open."""
        return len(self._by_lcn)

    @property
    def pending(self) -> int:
        """Packets waiting for recv_batch()."""
        return len(self._rx)

    def describe(self) -> str:
        if self._epoll.closed:
            return f"xot {self.local or '-'} -> {self.remote or '-'} (closed)"
        if self.local_address is not None:
            host, port = self.local_address[:2]
            text = f"xot listen {f'[{host}]' if ':' in host else host}:{port}"
        else:
            text = "xot (not listening)"
        text += f" -> {self.remote}" if self.remote else " (listen only)"
        n = len(self._by_lcn)
        return f"{text}, {n} circuit{'' if n == 1 else 's'}"

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "listen": self.local or None,
            "remote": self.remote or None,
            "circuits": len(self._by_lcn),
            "connections": len(self._conns),
            "pending": len(self._rx),
            "clearing": sorted(self._reserved),
            "lcns": {
                lcn: {"state": c.state.value, "peer": c.peer, "wire_lcn": c.wire_lcn}
                for lcn, c in sorted(self._by_lcn.items())
            },
            "counters": asdict(self.counters),
        }

    # -- calls from above ------------------------------------------------------------
    def _unbound(self, lcn: int, frame: bytes) -> None:
        pti = frame[2]
        if lcn in self._reserved:
            if pti in (PTI_CLEAR, PTI_CLEAR_CONFIRM):  # our Clear Indication is done (or collided)
                del self._reserved[lcn]
            else:
                self.counters.tx_unbound += 1  # a late packet of a circuit being cleared
            return
        if pti == PTI_CALL:
            self._call(lcn, frame)
            return
        self.counters.tx_unbound += 1
        if pti == PTI_CLEAR:
            self._deliver(_clear_confirm(_gfi(frame), lcn))

    def _call(self, lcn: int, frame: bytes) -> None:
        """Open a connection to `remote` for the Call Request `frame` on `lcn`."""
        if self._remote is None:
            self._clear_up(lcn, _gfi(frame), CAUSE_NOT_OBTAINABLE, 0)
            return
        if len(self._conns) >= MAX_CONNECTIONS:
            self.counters.refused += 1
            self._clear_up(lcn, _gfi(frame), CAUSE_CONGESTION, 0)
            return
        family, addr = self._remote
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # out of fds
            log.warning("xot: call on LCN %d: %s", lcn, exc)
            self.counters.refused += 1
            self._clear_up(lcn, _gfi(frame), CAUSE_CONGESTION, 0)
            return
        try:
            sock.setblocking(False)
            _tune(sock)
            if self._source is not None:
                sock.bind(self._source)
            err = sock.connect_ex(addr)
        except OSError as exc:
            err = exc.errno or errno.EIO
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.counters.connect_failures += 1
            log.info("xot: call on LCN %d: connect to %s: %s", lcn, self.remote, os.strerror(err))
            self._clear_up(lcn, _gfi(frame), CAUSE_OUT_OF_ORDER, DIAG_XOT_UNREACHABLE)
            return
        state = _State.OPEN if err == 0 else _State.CONNECTING
        conn = _Conn(sock, sock.fileno(), state, self.remote, lcn, lcn, _gfi(frame))
        self._conns[conn.fd] = conn
        self._by_lcn[lcn] = conn
        if state is _State.CONNECTING:
            self._timed[conn.fd] = time.monotonic() + CONNECT_TIMEOUT
        self.counters.calls_out += 1
        self._queue(conn, frame)  # registers it with epoll

    def _collision(self, conn: _Conn, lcn: int) -> None:
        """The DTE calls out on the LCN of an Incoming Call it has not answered: its call wins."""
        self.counters.collisions += 1
        log.info("xot: call collision on LCN %d: clearing the incoming call from %s", lcn, conn.peer)
        self._close_after_flush(conn, _clear(conn.gfi, conn.wire_lcn, CAUSE_NUMBER_BUSY, DIAG_CALL_COLLISION))
        # The DTE has not read the Incoming Call (it would not call out on that LCN if it had).
        self._rx = deque(p for p in self._rx if lcn_of(p) != lcn)

    def _restart(self, frame: bytes) -> None:
        """A Restart from above clears every circuit: close them all, confirm locally."""
        self.counters.restarts += 1
        self.counters.rx_discarded += len(self._rx)
        self._rx.clear()
        self._reserved.clear()
        for conn in list(self._by_lcn.values()):
            if conn.state is _State.CONNECTING:
                self._drop(conn)
                continue
            up = conn.state in (_State.INCOMING, _State.OPEN)
            self._close_after_flush(
                conn, _clear(conn.gfi, conn.wire_lcn, CAUSE_OUT_OF_ORDER, 0) if up else None
            )
        self._deliver(bytes((_gfi(frame), 0, PTI_RESTART_CONFIRM)))

    # -- the network side ------------------------------------------------------------
    def _accept(self, now: float) -> None:
        assert self._listen is not None
        for _ in range(64):
            try:
                sock, addr = self._listen.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of fds: stop watching the listener for a while rather than spin on it.
                    log.warning("xot: accept: %s; not accepting for %g s", exc.strerror, LISTEN_RETRY)
                    self.counters.refused += 1
                    self._epoll.unregister(self._listen.fileno())
                    self._listen_retry = now + LISTEN_RETRY
                    return
                continue  # ECONNABORTED and the like: that one connection is gone
            if len(self._conns) >= MAX_CONNECTIONS:
                self.counters.refused += 1
                sock.close()
                continue
            sock.setblocking(False)
            _tune(sock)
            conn = _Conn(sock, sock.fileno(), _State.AWAIT_CALL, _format_addr(addr))
            self._conns[conn.fd] = conn
            self._timed[conn.fd] = now + FIRST_PACKET_TIMEOUT
            self._watch(conn)

    def _on_event(self, conn: _Conn, events: int) -> None:
        if conn.state is _State.CONNECTING:
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.counters.connect_failures += 1
                log.info("xot: call on LCN %s: connect to %s: %s", conn.lcn, conn.peer, os.strerror(err))
                self._lost(conn, CAUSE_OUT_OF_ORDER, DIAG_XOT_UNREACHABLE)
                return
            conn.state = _State.OPEN
            self._timed.pop(conn.fd, None)
            self._flush(conn)
            return
        if events & select.EPOLLOUT:
            self._flush(conn)
        # Past RX_HIGH, leave the data in the kernel (epoll keeps reporting it) until the
        # layer above has caught up; a closing connection is only read for its FIN.
        readable = events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR)
        if conn.alive and readable and (len(self._rx) < RX_HIGH or conn.state is _State.CLOSING):
            self._read(conn)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("xot: %s: recv: %s", conn.peer, exc)
            self._lost(conn, CAUSE_OUT_OF_ORDER, DIAG_XOT_CLOSED)
            return
        if not data:
            self._lost(conn, CAUSE_OUT_OF_ORDER, DIAG_XOT_CLOSED)
            return
        if conn.state is _State.CLOSING:
            return  # the circuit is over; wait for the FIN
        buf = conn.inbuf
        buf += data
        at = 0
        while conn.alive and len(buf) - at >= HEADER.size:
            version, length = HEADER.unpack_from(buf, at)
            if version != XOT_VERSION or not MIN_PACKET <= length <= MAX_PACKET:
                self._malformed(conn, f"XOT header version {version}, length {length}")
                return
            end = at + HEADER.size + length
            if end > len(buf):
                break
            packet = bytes(buf[at + HEADER.size : end])
            at = end
            self._from_network(conn, packet)
            if conn.state is _State.CLOSING:
                buf.clear()
                return
        del buf[:at]

    def _from_network(self, conn: _Conn, packet: bytes) -> None:
        pti = packet[2]
        if pti in LOCAL_ONLY:
            self.counters.rx_discarded += 1  # RFC 1613 6.4: MUST be silently discarded
            return
        if conn.state is _State.AWAIT_CALL:
            if pti == PTI_CALL:
                self._incoming(conn, packet)
            elif pti == PTI_PVC_SETUP:
                self._refuse_pvc(conn, packet)
            elif not _known_type(pti):
                self.counters.rx_discarded += 1  # 6.1: an invalid type before the Call is discarded
            else:
                self._malformed(conn, f"first packet is type 0x{pti:02x}, not a Call")
            return
        lcn = conn.lcn
        if lcn is None or pti == PTI_PVC_SETUP:
            self.counters.rx_discarded += 1
            return
        self.counters.rx_frames += 1
        self.counters.rx_bytes += len(packet)
        # Whatever LCN the far end uses (on our own calls too) becomes ours.
        self._deliver(packet if lcn_of(packet) == lcn else relabel(packet, lcn))
        if pti == PTI_CLEAR:
            if conn.state is _State.CLEARING_LOCAL:  # clear collision
                self._close_after_flush(conn)
            else:
                conn.state = _State.CLEARING_REMOTE
        elif pti == PTI_CLEAR_CONFIRM:
            self._close_after_flush(conn)

    def _incoming(self, conn: _Conn, packet: bytes) -> None:
        self._timed.pop(conn.fd, None)
        lcn = next((n for n in range(1, 4096) if n not in self._by_lcn and n not in self._reserved), None)
        if lcn is None:
            self.counters.no_free_lcn += 1
            self._close_after_flush(
                conn, _clear(_gfi(packet), lcn_of(packet), CAUSE_NUMBER_BUSY, DIAG_NO_LOGICAL_CHANNEL)
            )
            return
        conn.lcn, conn.wire_lcn, conn.gfi = lcn, lcn_of(packet), _gfi(packet)
        conn.state = _State.INCOMING
        self._by_lcn[lcn] = conn
        self.counters.calls_in += 1
        self.counters.rx_frames += 1
        self.counters.rx_bytes += len(packet)
        log.debug("xot: incoming call from %s (LCN %d on the wire) on LCN %d", conn.peer, conn.wire_lcn, lcn)
        self._deliver(relabel(packet, lcn))

    def _refuse_pvc(self, conn: _Conn, packet: bytes) -> None:
        # The responder may "simply modify a few fields of the received packet and send it back".
        self.counters.pvc_setups_refused += 1
        log.info("xot: %s: PVC setup refused (XOT PVCs are not supported)", conn.peer)
        self._close_after_flush(
            conn, packet[:4] + bytes((PVC_NO_SUCH_PVC,)) + packet[5:] if len(packet) >= 5 else None
        )

    def _malformed(self, conn: _Conn, why: str) -> None:
        self.counters.rx_errors += 1
        log.info("xot: %s: %s; closing the connection", conn.peer, why)
        self._lost(conn, CAUSE_REMOTE_PROCEDURE_ERROR, 0)

    # -- connection plumbing ---------------------------------------------------------------
    def _queue(self, conn: _Conn, packet: bytes) -> None:
        self._append(conn, packet)
        self._flush(conn)

    def _append(self, conn: _Conn, packet: bytes) -> None:
        conn.outbuf += HEADER.pack(XOT_VERSION, len(packet))
        conn.outbuf += packet
        self.counters.tx_frames += 1
        self.counters.tx_bytes += len(packet)

    def _flush(self, conn: _Conn) -> None:
        if conn.state is _State.CONNECTING:  # written once connect() completes
            self._watch(conn)
            return
        out = conn.outbuf
        while out:
            try:
                sent = conn.sock.send(out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.debug("xot: %s: send: %s", conn.peer, exc)
                self._lost(conn, CAUSE_OUT_OF_ORDER, DIAG_XOT_CLOSED)
                return
            del out[:sent]
        if not out and conn.state is _State.CLOSING and not conn.shut:
            conn.shut = True
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_WR)
        self._watch(conn)

    def _watch(self, conn: _Conn) -> None:
        if conn.state is _State.CONNECTING:
            want = select.EPOLLOUT
        else:
            want = select.EPOLLIN | (select.EPOLLOUT if conn.outbuf else 0)
        if want == conn.events:
            return
        if conn.events:
            self._epoll.modify(conn.fd, want)
        else:
            self._epoll.register(conn.fd, want)
        conn.events = want

    def _close_after_flush(self, conn: _Conn, last: bytes | None = None) -> None:
        """The circuit is over: free its LCN, send `last` after what is queued, then close."""
        if conn.lcn is not None:
            del self._by_lcn[conn.lcn]
            conn.lcn = None
        conn.state = _State.CLOSING
        conn.inbuf.clear()
        self._timed[conn.fd] = time.monotonic() + LINGER
        if last is not None:
            self._append(conn, last)
        self._flush(conn)

    def _lost(self, conn: _Conn, cause: int, diagnostic: int) -> None:
        """The connection is gone: tell the layer above what became of its circuit."""
        state, lcn = conn.state, conn.lcn
        self._drop(conn)
        if lcn is None:
            return
        if state is _State.CLEARING_LOCAL:
            self._deliver(_clear_confirm(conn.gfi, lcn))
        elif state is _State.CLEARING_REMOTE:
            self._reserved[lcn] = conn.gfi  # its Clear Indication is up there; wait for the confirmation
        else:
            self.counters.circuits_lost += 1
            log.info("xot: circuit on LCN %d to %s lost (diagnostic %d)", lcn, conn.peer, diagnostic)
            self._clear_up(lcn, conn.gfi, cause, diagnostic)

    def _drop(self, conn: _Conn) -> None:
        if not conn.alive:
            return
        conn.alive = False
        if conn.lcn is not None:
            self._by_lcn.pop(conn.lcn, None)
            conn.lcn = None
        self._conns.pop(conn.fd, None)
        self._timed.pop(conn.fd, None)
        if conn.events:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(conn.fd)
        conn.sock.close()

    def _clear_up(self, lcn: int, gfi: int, cause: int, diagnostic: int) -> None:
        """Clear Indication towards the layer above; the LCN stays reserved until it confirms."""
        self._reserved[lcn] = gfi
        self._deliver(_clear(gfi, lcn, cause, diagnostic))

    def _deliver(self, packet: bytes) -> None:
        self._rx.append(packet)
        if not self._woken and self._wake >= 0:
            os.eventfd_write(self._wake, 1)
            self._woken = True


def _tune(sock: socket.socket) -> None:
    # X.25 packets are small and flow-controlled end to end: do not let Nagle hold them.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    idle, interval, probes = KEEPALIVE
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, probes)


def _format_addr(addr: tuple[Any, ...]) -> str:
    host, port = addr[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
