"""Interface addresses, routes and link state through rtnetlink (pyroute2).

Everything here acts on the network namespace of the calling process: the
daemon runs inside the site's netns, so a plain IPRoute() is the right one.
All calls are short synchronous netlink round trips; they happen on channel
state changes, not per packet, so running them on the event loop is fine.

Every failure is raised as OSError with the kernel's errno (pyroute2's
NetlinkError is translated), so callers handle one exception family.

Timing note: carrier changes made with wand.tun.set_carrier reach routing
through the kernel's linkwatch worker. Measured on 6.x, operstate and the
`linkdown` route flag follow within ~5 ms, but linkwatch may defer a
non-urgent event by up to about a second; code (and tests) that need to
observe the flag must poll for it rather than expect it at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

RT_TABLE_MAIN = 254

# <linux/if.h> net_device_flags, in the order `ip link` prints them.
_IFF_NAMES: tuple[tuple[int, str], ...] = (
    (0x1, "UP"),
    (0x2, "BROADCAST"),
    (0x4, "DEBUG"),
    (0x8, "LOOPBACK"),
    (0x10, "POINTOPOINT"),
    (0x20, "NOTRAILERS"),
    (0x40, "RUNNING"),
    (0x80, "NOARP"),
    (0x100, "PROMISC"),
    (0x200, "ALLMULTI"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x1000, "MULTICAST"),
    (0x2000, "PORTSEL"),
    (0x4000, "AUTOMEDIA"),
    (0x8000, "DYNAMIC"),
    (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
    (0x40000, "ECHO"),
)

# <linux/rtnetlink.h> RTNH_F_* next-hop flags, as `ip route` spells them.
_RTNH_NAMES: tuple[tuple[int, str], ...] = (
    (1, "dead"),
    (2, "pervasive"),
    (4, "onlink"),
    (8, "offload"),
    (16, "linkdown"),
    (32, "unresolved"),
    (64, "trap"),
)

_RTPROT_NAMES = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static"}

_STAT_KEYS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped")


class InterfaceNotFoundError(OSError):
    """No interface of that name in this network namespace (errno ENODEV)."""

    def __init__(self, ifname: str) -> None:
        super().__init__(errno.ENODEV, f"no interface {ifname!r} in this network namespace")
        self.ifname = ifname


@contextlib.contextmanager
def _netlink_errors(what: str) -> Iterator[None]:
    """Re-raise pyroute2's NetlinkError as OSError, so callers catch one family."""
    try:
        yield
    except NetlinkError as exc:
        raise OSError(exc.code, f"{what}: {os.strerror(exc.code)}") from exc


def _flag_names(value: int, table: tuple[tuple[int, str], ...]) -> list[str]:
    return [name for bit, name in table if value & bit]


def _split_cidr(dst: str) -> tuple[str, int]:
    """'10.0.0.0/8' -> ('10.0.0.0', 8); a bare address is a /32 host route."""
    addr, _, plen = dst.partition("/")
    return addr, int(plen) if plen else 32


class Netlink:
    """One rtnetlink socket (pyroute2 IPRoute) for the current network namespace."""

    def __init__(self) -> None:
        self._ipr = IPRoute()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._ipr.close()

    # -- links ---------------------------------------------------------------

    def index(self, ifname: str) -> int:
        with _netlink_errors(f"{ifname}: lookup"):
            found = self._ipr.link_lookup(ifname=ifname)
        if not found:
            raise InterfaceNotFoundError(ifname)
        return int(found[0])

    def configure(
        self,
        ifname: str,
        *,
        mtu: int,
        address: str | None,
        prefix: int,
        peer: str | None,
        txqueuelen: int | None = None,
    ) -> None:
        """Set MTU (and txqueuelen), add the IPv4 address, bring the link up.

        With `peer`, the address is point-to-point: IFA_LOCAL is our address
        and IFA_ADDRESS the far end, as `ip addr add A peer P/prefix` does;
        the kernel then installs the connected route for P/prefix. Re-running
        with the same values is harmless (the address is replaced, not added).
        """
        index = self.index(ifname)
        link: dict[str, Any] = {"index": index, "mtu": mtu}
        if txqueuelen is not None:
            link["txqlen"] = txqueuelen
        with _netlink_errors(f"{ifname}: set mtu {mtu}"):
            self._ipr.link("set", **link)
        if address is not None:
            with _netlink_errors(f"{ifname}: address {address}/{prefix}"):
                self._ipr.addr(
                    "replace",
                    index=index,
                    local=address,
                    address=peer if peer is not None else address,
                    prefixlen=prefix,
                )
        with _netlink_errors(f"{ifname}: link up"):
            self._ipr.link("set", index=index, state="up")

    def set_txqueuelen(self, ifname: str, n: int) -> None:
        index = self.index(ifname)
        with _netlink_errors(f"{ifname}: set txqueuelen {n}"):
            self._ipr.link("set", index=index, txqlen=n)

    def ignore_routes_with_linkdown(self, ifname: str) -> None:
        """Make route lookups skip routes via `ifname` while it has no carrier.

        Without this the kernel only *flags* such routes `linkdown` and keeps
        using them, so traffic would black-hole into a dead PVC instead of
        failing over to a backup route. /proc/sys/net is per network
        namespace (it reflects the netns of the process that opens it).
        """
        if "/" in ifname or ifname in ("", ".", ".."):
            raise ValueError(f"invalid interface name {ifname!r}")
        path = f"/proc/sys/net/ipv4/conf/{ifname}/ignore_routes_with_linkdown"
        try:
            with open(path, "w") as f:
                f.write("1\n")
        except FileNotFoundError as exc:
            raise InterfaceNotFoundError(ifname) from exc

    def link_state(self, ifname: str) -> dict[str, Any]:
        """Operstate, carrier, flags, MTU and the basic counters of `ifname`."""
        index = self.index(ifname)
        with _netlink_errors(f"{ifname}: get link"):
            msg = self._ipr.get_links(index)[0]
        stats = msg.get("IFLA_STATS64") or msg.get("IFLA_STATS") or {}
        return {
            "ifname": msg.get("IFLA_IFNAME"),
            "index": msg["index"],
            "operstate": msg.get("IFLA_OPERSTATE"),
            "carrier": bool(msg.get("IFLA_CARRIER")),
            "flags": _flag_names(msg["flags"], _IFF_NAMES),
            "mtu": msg.get("IFLA_MTU"),
            "txqueuelen": msg.get("IFLA_TXQLEN"),
            "stats": {key: int(stats.get(key, 0)) for key in _STAT_KEYS},
        }

    # -- routes --------------------------------------------------------------

    @staticmethod
    def _route_args(dst: str, gateway: str | None, metric: int | None, index: int) -> dict[str, Any]:
        addr, plen = _split_cidr(dst)
        args: dict[str, Any] = {"dst": f"{addr}/{plen}", "oif": index, "table": RT_TABLE_MAIN}
        if gateway is not None:
            args["gateway"] = gateway
        if metric is not None:
            args["priority"] = metric
        return args

    def route_add(self, dst: str, *, gateway: str | None, ifname: str, metric: int | None = None) -> None:
        """Install (or replace) an IPv4 route; "0.0.0.0/0" is the default route.

        "replace" makes it idempotent: re-adding after a daemon restart or a
        reconfigure updates the route in place instead of failing with EEXIST.
        The kernel accepts it even while the interface has no carrier.
        """
        index = self.index(ifname)
        with _netlink_errors(f"route {dst} via {gateway} dev {ifname}"):
            self._ipr.route("replace", **self._route_args(dst, gateway, metric, index))

    def route_del(self, dst: str, *, gateway: str | None, ifname: str, metric: int | None = None) -> None:
        """Remove a route; a route (or interface) that is already gone is not an error."""
        try:
            index = self.index(ifname)
        except InterfaceNotFoundError:
            return  # its routes went with it
        try:
            self._ipr.route("del", **self._route_args(dst, gateway, metric, index))
        except NetlinkError as exc:
            if exc.code not in (errno.ESRCH, errno.ENODEV):
                raise OSError(exc.code, f"delete route {dst} dev {ifname}: {os.strerror(exc.code)}") from exc

    def routes(self, ifname: str) -> list[dict[str, Any]]:
        """IPv4 routes of the main table that leave through `ifname`."""
        index = self.index(ifname)
        out: list[dict[str, Any]] = []
        with _netlink_errors("dump routes"):
            dump = list(self._ipr.get_routes(family=socket.AF_INET, table=RT_TABLE_MAIN))
        for msg in dump:
            if msg.get("RTA_OIF") != index:
                continue
            dst = msg.get("RTA_DST") or "0.0.0.0"
            out.append(
                {
                    "dst": f"{dst}/{msg['dst_len']}",
                    "gateway": msg.get("RTA_GATEWAY"),
                    "metric": int(msg.get("RTA_PRIORITY") or 0),
                    "prefsrc": msg.get("RTA_PREFSRC"),
                    "proto": _RTPROT_NAMES.get(msg["proto"], str(msg["proto"])),
                    "flags": _flag_names(msg["flags"], _RTNH_NAMES),
                }
            )
        return out
