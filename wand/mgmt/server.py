"""The UDP management server: wanpipemon requests in, replies out, on the daemon's loop.

Theory of operation
-------------------
Each device names a UDP port (`management.udp_port`, WANPIPE's UDPPORT);
devices sharing a port share its sockets, and a request names the interface
or device it is about. Without a key the sockets are bound to 127.0.0.1 and
to each WAN interface's own address (IP_FREEBIND, so an address the
netlink worker has not put on the TUN yet still binds); with a key, to
`bind` (default 0.0.0.0). The wanted set of sockets is recomputed every
RECONCILE_INTERVAL seconds, which follows reloads and addresses learned
through SLARP or IPCP without any hook in the lines.

Where a request came from decides what it may do, as in WANPIPE: IP_PKTINFO
gives the interface it arrived on. Over one of our TUN/TAP interfaces (or the
bridge a TAP is enslaved to) it came from the network side and may only read;
a command registered with writes=True is refused (RC.READ_ONLY) and logged.
From loopback or any other interface it came from the host side and may also
flush counters, start traces and run tests.

Replies carry the target device's IP TTL (`management.ttl`): with 1, they
die at the first router, so only the local segment can monitor the line.

Nothing a datagram contains can raise out of the handler: every malformed
packet, bad HMAC, unknown command and refused write is counted (see
MgmtCounters; `dg`, status.json's "mgmt" and the control command `mgmt`
show them), and the daemon keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import struct
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from wand.control import command
from wand.mgmt import load_commands
from wand.mgmt import protocol as proto
from wand.mgmt.protocol import RC, Header, PacketError
from wand.mgmt.registry import COMMANDS, MgmtContext, MgmtError
from wand.ratelimit import RateLimitedLog

if TYPE_CHECKING:
    from wand.config.model import DeviceConfig, InterfaceConfig
    from wand.daemon import Daemon

log = logging.getLogger("wand.mgmt")

DEFAULT_TTL = 64  # for error replies on a port no device uses any more
LOOPBACK = "127.0.0.1"
ANY = "0.0.0.0"
RECONCILE_INTERVAL = 2.0  # seconds between checks of which sockets should be open
BATCH = 64  # datagrams per readiness callback, so one busy port cannot starve the lines
# Linux's values; Python only has these constants from 3.12 on.
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
_PKTINFO = struct.Struct("=i4s4s")  # struct in_pktinfo: ifindex, spec_dst, addr
_ANCILLARY = socket.CMSG_SPACE(_PKTINFO.size)


@dataclass
class MgmtCounters:
    """Everything the server refused or served since it started (never flushed)."""

    requests: int = 0  # well-formed and, where a key is set, authenticated
    replies: int = 0
    truncated: int = 0  # shorter than the header or than the lengths it announces
    oversized: int = 0  # larger than protocol.MAX_REQUEST
    bad_signature: int = 0  # not a wanpipemon packet at all
    bad_version: int = 0
    bad_kind: int = 0  # a reply (or anything not a request) sent to us: never answered
    bad_request: int = 0  # bad names, flags or trailing octets
    bad_payload: int = 0  # parameters that are not a JSON object
    auth_failures: int = 0  # HMAC missing or wrong on a port with a key
    unknown_command: int = 0
    unknown_target: int = 0
    wrong_protocol: int = 0
    not_running: int = 0
    refused_read_only: int = 0  # writes asked from the network side
    command_errors: int = 0  # handlers that refused (MgmtError)
    internal_errors: int = 0  # bugs: logged with a traceback
    reply_errors: int = 0  # replies the socket would not take


@dataclass(frozen=True)
class Target:
    cfg: DeviceConfig
    iface: InterfaceConfig | None


class MgmtServer:
    def __init__(self, daemon: Daemon) -> None:
        load_commands()  # statistics, and the live traces (ti/tr) when they are installed
        self.daemon = daemon
        self.stats = MgmtCounters()
        self._socks: dict[tuple[str, int], socket.socket] = {}
        self._ttl: dict[int, int] = {}  # fd -> the IP_TTL it has now
        self._failed: set[tuple[str, int]] = set()  # binds that failed (logged once until they work)
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._errors = RateLimitedLog(log)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._reconcile()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for key in list(self._socks):
            self._close(key)

    def counters(self) -> dict[str, Any]:
        return {**asdict(self.stats), "listening": [f"{a}:{p}" for a, p in sorted(self._socks)]}

    # -- sockets ---------------------------------------------------------------------
    def wanted(self) -> set[tuple[str, int]]:
        """(address, port) of every socket the present configs ask for."""
        wan = self._wan_addresses()
        out: set[tuple[str, int]] = set()
        for cfg in self.daemon.configs:
            mgmt = cfg.management
            if mgmt.udp_port == 0:
                continue
            if mgmt.key is not None:
                out.add((mgmt.bind or ANY, mgmt.udp_port))
            else:
                out.update((address, mgmt.udp_port) for address in (LOOPBACK, *wan))
        return out

    def _wan_addresses(self) -> set[str]:
        """Our own IPv4 address on each WAN interface: configured, or learned from the peer."""
        addresses = {i.address for c in self.daemon.configs for i in c.interfaces if i.address}
        for line in self.daemon.lines.values():
            for channel in line.channels.values():
                if channel.assigned is not None:
                    addresses.add(channel.assigned[0])
        return {a for a in addresses if ":" not in a}

    def _reconcile(self) -> None:
        try:
            wanted = self.wanted()
            for key in set(self._socks) - wanted:
                self._close(key)
            for key in wanted - set(self._socks):
                self._open(key)
        except Exception:  # the management plane must never take the daemon down
            log.exception("management: reconciling sockets failed")
        if self._loop is not None:
            self._timer = self._loop.call_later(RECONCILE_INTERVAL, self._reconcile)

    def _open(self, key: tuple[str, int]) -> None:
        address, port = key
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # No SO_REUSEADDR: on UDP it would let a second daemon in this namespace bind
            # the same port and silently take half the requests; EADDRINUSE is clearer.
            sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            sock.setblocking(False)
            sock.bind((address, port))
        except OSError as exc:
            sock.close()
            if key not in self._failed:
                self._failed.add(key)
                log.error(
                    "management: cannot listen on %s:%d: %s (retrying)", address, port, exc.strerror or exc
                )
            return
        self._failed.discard(key)
        self._socks[key] = sock
        assert self._loop is not None
        self._loop.add_reader(sock.fileno(), self._on_readable, sock, port)
        log.info("management: listening on udp %s:%d", address, port)

    def _close(self, key: tuple[str, int]) -> None:
        sock = self._socks.pop(key)
        if self._loop is not None:
            self._loop.remove_reader(sock.fileno())
        self._ttl.pop(sock.fileno(), None)
        sock.close()

    # -- datagrams ---------------------------------------------------------------------
    def _on_readable(self, sock: socket.socket, port: int) -> None:
        for _ in range(BATCH):
            try:
                data, ancdata, flags, source = sock.recvmsg(proto.MAX_REQUEST, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP errors queued on the socket
                self._errors.warning("management receive", "management: receive on port %d: %s", port, exc)
                return
            if flags & socket.MSG_TRUNC:
                self._refuse("oversized", f"datagram longer than {proto.MAX_REQUEST} octets", source)
                continue
            ifindex, local = _pktinfo(ancdata)
            answer = self.handle(data, port, ifindex, source)
            if answer is not None:
                self._send(sock, *answer, source, local)

    def _send(
        self, sock: socket.socket, reply: bytes, ttl: int, destination: Any, local: bytes | None
    ) -> None:
        try:
            if self._ttl.get(sock.fileno()) != ttl:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
                self._ttl[sock.fileno()] = ttl
            # From the address the request was sent to: on a 0.0.0.0 socket the kernel
            # would otherwise pick one, and the client's connected socket would drop it.
            cmsg = (
                [] if local is None else [(socket.IPPROTO_IP, IP_PKTINFO, _PKTINFO.pack(0, local, bytes(4)))]
            )
            sock.sendmsg([reply], cmsg, 0, destination)
            self.stats.replies += 1
        except OSError as exc:
            self.stats.reply_errors += 1
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                self._errors.warning("management reply", "management: reply to %s: %s", destination, exc)

    def _refuse(self, counter: str, why: str, source: Any) -> None:
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self._errors.warning(
            f"management {counter}",
            "management: refused a datagram from %s: %s: %s",
            _peer(source),
            counter,
            why,
        )

    def handle(
        self, data: bytes, port: int, ifindex: int | None, source: Any = None
    ) -> tuple[bytes, int] | None:
        """One request datagram in; (reply datagram, its IP TTL) out, or None for no reply."""
        try:
            return self._handle(data, port, ifindex, source)
        except Exception:  # a bug must cost one request, never the daemon
            self.stats.internal_errors += 1
            log.exception("management: request from %s failed", _peer(source))
            return None

    def _handle(self, data: bytes, port: int, ifindex: int | None, source: Any) -> tuple[bytes, int] | None:
        devices = [c for c in self.daemon.configs if c.management.udp_port == port]
        key = devices[0].management.key if devices else None
        ttl = min((c.management.ttl for c in devices), default=DEFAULT_TTL)
        try:
            packet = proto.decode(data, key)
        except PacketError as exc:
            self._refuse(exc.counter, str(exc), source)
            if exc.header is None or exc.counter == "bad_kind":
                return None  # not our protocol (or a reply): answering could start a loop
            # Unsigned: the sender is not authenticated, and an error is all it gets.
            return self._error(exc.header, exc.rc, str(exc), ttl, None)
        header = Header(packet.kind, 0, packet.request_id, packet.command, packet.target, 0, 0)
        self.stats.requests += 1
        cmd = COMMANDS.get(packet.command)
        if cmd is None:
            self._refuse("unknown_command", f"command {packet.command!r}", source)
            known = ", ".join(sorted(COMMANDS))
            return self._error(
                header, RC.UNKNOWN_COMMAND, f"unknown command {packet.command!r} (known: {known})", ttl, key
            )
        target = self._target(devices, packet.target)
        if target is None:
            self._refuse("unknown_target", f"target {packet.target!r}", source)
            names = ", ".join(
                sorted({c.name for c in devices} | {i.name for c in devices for i in c.interfaces})
            )
            if packet.target or not devices:
                why = (
                    f"no interface or device {packet.target!r} on udp port {port} (there: {names or 'none'})"
                )
            else:
                why = f"several devices on udp port {port}: name one of {names}"
            return self._error(header, RC.NO_TARGET, why, ttl, key)
        cfg = target.cfg
        ttl = cfg.management.ttl
        line = self.daemon.lines.get(cfg.name)
        if line is None or line.port is None:
            self.stats.not_running += 1
            return self._error(header, RC.NOT_RUNNING, f"{cfg.name} is stopped", ttl, key)
        if cmd.protocols and cfg.protocol_name not in cmd.protocols:
            self.stats.wrong_protocol += 1
            return self._error(
                header,
                RC.WRONG_PROTOCOL,
                f"{packet.command} is for {', '.join(cmd.protocols)}; {cfg.name} runs {cfg.protocol_name}",
                ttl,
                key,
            )
        host_side = not self.network_side(ifindex)
        if cmd.writes and not host_side:
            self.stats.refused_read_only += 1
            self._errors.warning(  # rate-limited: the network side must not be able to flood the log
                "management read-only refusals",
                "management: refused %s on %s from %s: it changes state, and requests over a WAN "
                "interface may only read",
                packet.command,
                packet.target or cfg.name,
                _peer(source),
            )
            return self._error(
                header,
                RC.READ_ONLY,
                f"{packet.command} changes state: not allowed from the network side",
                ttl,
                key,
            )
        iface = target.iface
        channel = line.channels.get(iface.channel) if iface is not None else None
        ctx = MgmtContext(self.daemon, line, channel, iface.name if iface is not None else "", host_side)
        try:
            result = cmd.handler(ctx, packet.payload)
        except MgmtError as exc:
            self.stats.command_errors += 1
            return self._error(header, _rc(exc.code), str(exc), ttl, key)
        except Exception as exc:
            self.stats.internal_errors += 1
            log.exception("management: %s on %s failed", packet.command, packet.target or cfg.name)
            return self._error(header, RC.INTERNAL, f"internal error: {exc}", ttl, key)
        if cmd.writes:
            log.info("management: %s on %s from %s", packet.command, packet.target or cfg.name, _peer(source))
        try:
            reply = proto.encode(proto.reply_for(header, RC.OK, data=result), key)
        except ValueError:  # the payload length field cannot say it
            reply = b""
        if not reply or len(reply) > proto.MAX_DATAGRAM:
            return self._error(header, RC.TOO_LARGE, "the reply does not fit in one datagram", ttl, key)
        return reply, ttl

    def _error(self, header: Header, rc: RC, message: str, ttl: int, key: bytes | None) -> tuple[bytes, int]:
        return proto.encode(proto.reply_for(header, rc, error=message), key), ttl

    def _target(self, devices: list[DeviceConfig], name: str) -> Target | None:
        """The device (and interface) a request names; with no name, the port's only device."""
        if not name:
            return Target(devices[0], None) if len(devices) == 1 else None
        for cfg in devices:
            if cfg.name == name:
                return Target(cfg, None)
            for iface in cfg.interfaces:
                if iface.name == name:
                    return Target(cfg, iface)
        return None

    # -- where a request came from --------------------------------------------------------
    def network_side(self, ifindex: int | None) -> bool:
        """True when the request arrived over one of our WAN interfaces (or without PKTINFO)."""
        if ifindex is None:
            return True  # unknown: fail closed, read-only
        return ifindex in self.wan_ifindexes()

    def wan_ifindexes(self) -> set[int]:
        """Interface indexes of our TUN/TAPs, and of the bridges our TAPs are enslaved to."""
        ours = {ch.name: ch.is_tap for line in self.daemon.lines.values() for ch in line.channels.values()}
        if not ours:
            return set()
        index = {name: number for number, name in socket.if_nameindex()}
        found = {index[name] for name in ours if name in index}
        for name, tap in ours.items():
            if tap:
                with contextlib.suppress(OSError):
                    master = os.path.basename(os.readlink(f"/sys/class/net/{name}/master"))
                    if master in index:
                        found.add(index[master])
        return found


def _pktinfo(ancdata: list[tuple[int, int, bytes]]) -> tuple[int | None, bytes | None]:
    """(ingress ifindex, local address the datagram was sent to) from IP_PKTINFO."""
    for level, kind, data in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= _PKTINFO.size:
            ifindex, spec_dst, _addr = _PKTINFO.unpack_from(data)
            return ifindex, spec_dst
    return None, None


def _rc(code: int) -> RC:
    try:
        return RC(code)
    except ValueError:
        return RC.ERROR


def _peer(source: Any) -> str:
    if isinstance(source, tuple) and len(source) >= 2:
        return f"{source[0]}:{source[1]}"
    return str(source)


@command("mgmt", "mgmt", "management protocol counters: requests served and refused, sockets")
def _mgmt_counters(daemon: Daemon, args: list[str]) -> dict[str, Any]:
    server = getattr(daemon, "mgmt", None)
    return server.counters() if server is not None else {"listening": []}
