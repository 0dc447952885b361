"""TUN/TAP interfaces: one kernel network interface per logical WAN channel.

Payload format (IFF_NO_PI is always set, so there is no 4-byte packet-info
header in front):

- TUN: each read()/write() on the fd is exactly one raw IP packet, starting
  at the IPv4/IPv6 header. The kernel infers the protocol from the version
  nibble; this is what a Frame Relay / Cisco HDLC / PPP channel carries.
- TAP: each read()/write() is exactly one Ethernet frame (destination MAC
  first, no preamble, no FCS); used for bridged channels.

The interface is not persistent: it exists exactly as long as the fd is
open, so closing the fd (or the daemon dying) removes the interface and,
with it, every address and route the kernel had on it. No cleanup code is
needed on any exit path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct

# From <linux/if_tun.h>. _IOW('T', n, int) = (1 << 30) | (sizeof(int) << 16) | (ord('T') << 8) | n.
TUNSETIFF = 0x400454CA  # _IOW('T', 202, int)
TUNSETCARRIER = 0x400454E2  # _IOW('T', 226, int)
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

_IFNAMSIZ = 16  # including the trailing NUL
_IFREQ = "16sH22x"  # struct ifreq: name, then ifr_flags inside the 24-byte union

TUN_DEVICE = "/dev/net/tun"


class InterfaceExistsError(Exception):
    """An interface with the requested name already exists in this network namespace."""


def interface_exists(ifname: str) -> bool:
    """True if an interface of that name exists in the current network namespace."""
    try:
        socket.if_nametoindex(ifname)
    except OSError:
        return False
    return True


def open_tun(ifname: str, tap: bool = False) -> int:
    """Create TUN (or TAP) interface `ifname` in the current netns; return its fd.

    The fd is non-blocking (for loop.add_reader) and close-on-exec (so helper
    processes the daemon spawns do not keep the interface alive).
    """
    name = ifname.encode()
    if not name or len(name) >= _IFNAMSIZ or b"/" in name or b" " in name:
        raise ValueError(f"invalid interface name {ifname!r} (1..15 bytes, no '/' or spaces)")
    # Checked first because TUNSETIFF on an existing *unattached persistent*
    # tun device would silently attach to it instead of failing.
    if interface_exists(ifname):
        raise InterfaceExistsError(f"interface {ifname!r} already exists in this network namespace")
    fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI
        fcntl.ioctl(fd, TUNSETIFF, struct.pack(_IFREQ, name, flags))
    except OSError as exc:
        os.close(fd)
        # Lost a race with someone creating the same name: EBUSY when it is a
        # tun/tap already attached, EINVAL when it is another kind of device
        # (or a tun where we asked for a tap, or vice versa).
        if exc.errno in (errno.EBUSY, errno.EINVAL) and interface_exists(ifname):
            raise InterfaceExistsError(
                f"interface {ifname!r} already exists in this network namespace"
            ) from exc
        raise
    return fd


def set_carrier(fd: int, up: bool) -> None:
    """Raise or drop carrier on the interface behind `fd` (TUNSETCARRIER).

    Carrier off shows at once as NO-CARRIER (IFF_RUNNING cleared, the link
    stays administratively UP) and, via linkwatch, as `state DOWN` in
    `ip link`; the kernel flags routes over the interface `linkdown` (they are
    then skipped by lookups if ignore_routes_with_linkdown is set). Carrier
    on restores `state UP` (a fresh TUN reports UNKNOWN until its first
    carrier change). This is how a WAN channel going inactive (PVC down, LMI
    lost, line alarm) reaches IP. Packets still routed to the device while
    carrier is off are dropped by the kernel (tx_dropped), not queued for
    later; the TUN fd stays open throughout.
    """
    fcntl.ioctl(fd, TUNSETCARRIER, struct.pack("i", 1 if up else 0))
