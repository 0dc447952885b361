"""What crosses the mailbox's data queues, for every protocol engine."""

from __future__ import annotations

import enum
from typing import NamedTuple


class Proto(enum.Enum):
    """What a payload is, as the driver sees it."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    ETHER = "ether"
    RAW = "raw"  # the frame's information field untouched (switching, API channels)

    # Members are singletons, so identity hashing is exact and, unlike
    # Enum.__hash__ (a Python-level hash of the name), runs in C: these are
    # dictionary keys on the transmit hot path.
    __hash__ = object.__hash__


class Delivery(NamedTuple):
    """One received packet for the driver. `channel` is the DLCI, LCN, or 0 on single-channel lines."""

    channel: int
    proto: Proto
    payload: bytes
    de: bool = False
    fecn: bool = False
    becn: bool = False


class X25Flags(NamedTuple):
    """The Q and D bits of an X.25 message, given as `proto` when an API application sends one."""

    q: bool = False
    d: bool = False


class MessageDelivery(NamedTuple):
    """A received X.25 message for the API: a Delivery's first fields plus the Q and D bits."""

    channel: int  # the LCN
    proto: Proto
    payload: bytes  # one complete M-bit sequence
    q: bool = False
    d: bool = False
