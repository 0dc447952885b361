"""One logical channel's network interface: a TUN (routed IP) or TAP (bridged).

The interface's carrier follows the channel's usability (link up and PVC
active), so the kernel sees NO-CARRIER exactly when the WAN says the circuit
is down. Routes configured for the channel are installed only while it is
usable, and `ignore_routes_with_linkdown` makes the kernel skip the connected
route too, so traffic fails over to other paths instead of black-holing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from firmware_emu.fr.config import ChannelMode
from wand.config.model import InterfaceConfig
from wand.netlink_worker import NetlinkWorker
from wand.tun import open_tun, set_carrier

log = logging.getLogger("wand.channel")


@dataclass
class ChannelCounters:
    rx_write_errors: int = 0  # packets from the line the kernel refused
    tx_not_ip: int = 0  # TUN packets that were neither IPv4 nor IPv6


class Channel:
    def __init__(self, device: str, cfg: InterfaceConfig, netlink: NetlinkWorker, txqueuelen: int) -> None:
        self.device = device
        self.cfg = cfg
        self.name = cfg.name
        self.number = cfg.channel
        self.is_tap = cfg.mode is ChannelMode.BRIDGE
        self.netlink = netlink
        self.txqueuelen = txqueuelen  # the kernel queue in front of the TUN (see LineDriver)
        self.fd = -1
        self.usable = False
        self.assigned: tuple[str, int] | None = None  # IPv4 address/prefix the peer gave us
        self.reading = False  # is the TUN fd registered with the event loop?
        self.counters = ChannelCounters()

    def open(self) -> None:
        self.fd = open_tun(self.name, tap=self.is_tap)
        try:
            set_carrier(self.fd, False)
            self.netlink.ignore_routes_with_linkdown(self.name)
            self.netlink.configure(
                self.name,
                mtu=self.cfg.mtu,
                address=self.cfg.address,
                prefix=self.cfg.prefix,
                peer=self.cfg.peer,
                txqueuelen=self.txqueuelen,
            )
        except BaseException:
            self.close()
            raise
        log.info(
            "%s: %s: created (%s, channel %d)",
            self.device,
            self.name,
            "TAP" if self.is_tap else "TUN",
            self.number,
        )

    def learn_peer(self, peer: str) -> None:
        """The protocol told us the far end's address (IPCP). With no configured peer,
        it becomes the point-to-point peer of an address the peer assigned, as pppd does."""
        if self.cfg.peer is None and self.assigned is not None and ":" not in peer:
            self.assign_address(*self.assigned, peer=peer)

    def assign_address(self, address: str, prefix: int, peer: str | None = None) -> None:
        """The peer gave us our address (SLARP, IPCP): put it on the interface."""
        if ":" in address:
            peer = None  # IPV6CP gives a link-local address: no peer
        else:
            self.assigned = (address, prefix)
            peer = peer or self.cfg.peer
        try:
            self.netlink.configure(
                self.name, mtu=self.cfg.mtu, address=address, prefix=prefix, peer=peer, txqueuelen=None
            )
        except OSError as exc:
            log.warning("%s: %s: address %s/%d: %s", self.device, self.name, address, prefix, exc)

    def set_usable(self, usable: bool) -> None:
        if usable == self.usable or self.fd < 0:
            return
        self.usable = usable
        set_carrier(self.fd, usable)
        for route in self.cfg.routes:
            try:
                if usable:
                    self.netlink.route_add(
                        route.dst, gateway=route.gateway, ifname=self.name, metric=route.metric
                    )
                else:
                    self.netlink.route_del(
                        route.dst, gateway=route.gateway, ifname=self.name, metric=route.metric
                    )
            except OSError as exc:
                log.warning("%s: %s: route %s: %s", self.device, self.name, route.dst, exc)
        log.info("%s: %s: carrier %s", self.device, self.name, "up" if usable else "down (NO-CARRIER)")

    def close(self) -> None:
        if self.fd < 0:
            return
        if self.usable:
            self.set_usable(False)
        os.close(self.fd)  # a non-persistent TUN disappears with its last fd, and its routes with it
        self.fd = -1
        log.info("%s: %s: removed", self.device, self.name)
