"""The PPP `protocol:` section, and how its one interface completes the port.

Names and defaults follow RFC 1661 (Restart timer, Max-Configure,
Max-Terminate, Max-Failure) and pppd (`lcp-echo-interval`,
`lcp-echo-failure`); authentication is in wand.config.secrets.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from firmware_emu.ppp.config import Framing, PppConfig
from wand.config.fields import Section
from wand.config.iface_rules import OneInterface, SingleChannel
from wand.config.secrets import read_auth

PPP_KEYS = (
    "type",
    "framing",
    "mru",
    "accm",
    "magic",
    "pfc",
    "acfc",
    "restart",
    "max_configure",
    "max_terminate",
    "max_failure",
    "holdoff",
    "echo_interval",
    "echo_failures",
    "ipv6",
    "auth",
)
# sync: HDLC frames on a bit-synchronous line (T1, V.35); async: RFC 1662 octet
# stuffing on a byte stream (a serial port or pty: transport type tty, which
# requires it; over unix/udp each datagram carries a piece of the stream).
FRAMINGS = ("sync", "async")
FRAMING_ALIASES = {"hdlc": "sync", "synchronous": "sync", "asynchronous": "async", "ahdlc": "async"}

MRU_MIN = 64  # smaller than any IP datagram worth sending; pppd's floor too
MRU_MAX = 65535  # the MRU option is two octets
ACCM_MAX = 0xFFFFFFFF  # one bit per control character 0x00..0x1f

PPP_CHANNEL = SingleChannel(
    protocol="ppp",
    title="PPP",
    modes=("ip",),  # no BCP: PPP carries routed IP only
    learn_word="ipcp",
    learn_prefix=32,  # the peer assigns one host address
    learn_excludes={
        "prefix": "with address: ipcp the peer assigns one host address (/32 on the link): remove prefix",
    },
    address_required=True,
)


def read_ppp(section: Section) -> PppConfig | None:
    """The settings of the protocol section itself; the interface adds the addresses (bind_ppp)."""
    default = PppConfig()
    framing = section.choice("framing", FRAMINGS, default.framing, aliases=FRAMING_ALIASES)
    mru = section.integer("mru", default.mru, lo=MRU_MIN, hi=MRU_MAX)
    accm = _accm(section, default.accm)
    magic = section.boolean("magic", default.magic)
    pfc = section.boolean("pfc", default.pfc)
    acfc = section.boolean("acfc", default.acfc)
    restart = _positive(section, "restart", default.restart)
    holdoff = _positive(section, "holdoff", default.holdoff)
    max_configure = section.integer("max_configure", default.max_configure, lo=1)
    max_terminate = section.integer("max_terminate", default.max_terminate, lo=1)
    max_failure = section.integer("max_failure", default.max_failure, lo=1)
    echo_interval = section.number("echo_interval", default.echo_interval, lo=0)
    echo_failures = section.integer("echo_failures", default.echo_failures, lo=1)
    ipv6 = section.boolean("ipv6", default.ipv6)
    auth = read_auth(section)
    values = (framing, mru, accm, magic, pfc, acfc, restart, holdoff)
    counters = (max_configure, max_terminate, max_failure, echo_interval, echo_failures, ipv6)
    if any(value is None for value in (*values, *counters)) or auth is None:
        return None
    assert mru is not None and accm is not None and magic is not None and pfc is not None
    assert acfc is not None and restart is not None and holdoff is not None and ipv6 is not None
    assert max_configure is not None and max_terminate is not None and max_failure is not None
    assert echo_interval is not None and echo_failures is not None
    return PppConfig(
        mru=mru,
        accm=accm,
        magic=magic,
        pfc=pfc,
        acfc=acfc,
        restart=restart,
        max_configure=max_configure,
        max_terminate=max_terminate,
        max_failure=max_failure,
        holdoff=holdoff,
        echo_interval=echo_interval,
        echo_failures=echo_failures,
        ipv6=ipv6,
        require=auth.require,
        secrets=auth.secrets,
        username=auth.username,
        password=auth.password,
        framing=cast(Framing, framing),  # narrowed by choice()
    )


def bind_ppp(config: PppConfig, one: OneInterface) -> PppConfig:
    """IPCP: our address (None with `address: ipcp`: ask the peer) and the one we give the peer."""
    if not one.interfaces:
        return config
    (iface,) = one.interfaces
    return dataclasses.replace(config, local_address=iface.address, peer_address=iface.peer)


def _accm(section: Section, default: int) -> int | None:
    """The async control character map: 32 bits, most readable in hex (0x000a0000)."""
    value = section.integer("accm", default)
    if value is not None and not 0 <= value <= ACCM_MAX:
        section.sink.add(
            section.where("accm"),
            section.key("accm"),
            f"accm {value:#x} is not a 32-bit map: 0x0..{ACCM_MAX:#x}, one bit per control character",
        )
        return None
    return value


def _positive(section: Section, key: str, default: float) -> float | None:
    value = section.number(key, default)
    if value is not None and value <= 0:
        section.sink.add(section.where(key), section.key(key), f"{key} must be more than 0 s, not {value:g}")
        return None
    return value
