"""The Cisco HDLC `protocol:` section, and how its one interface completes the port.

Limits follow Cisco IOS, whose `keepalive` command takes 0..32767 seconds
(0 turns keepalives off) and whose line protocol goes down after three missed
keepalives; `error_margin` makes that three configurable, up to one octet.
"""

from __future__ import annotations

import dataclasses

from firmware_emu.chdlc.config import ChdlcConfig
from wand.config.fields import Section
from wand.config.iface_rules import OneInterface, SingleChannel

CHDLC_KEYS = ("type", "keepalive", "error_margin")

# Cisco IOS takes whole seconds from 1; as with Frame Relay's T391 we accept
# fractions down to 0.1 s so that tests can run the keepalive with compressed
# timers. Production configs should stay >= 1.
KEEPALIVE_MIN = 0.1
KEEPALIVE_MAX = 32767
ERROR_MARGIN_MAX = 255

CHDLC_CHANNEL = SingleChannel(
    protocol="chdlc",
    title="Cisco HDLC",
    modes=("ip", "bridge"),
    learn_word="slarp",
    learn_prefix=ChdlcConfig.prefix,  # unused: the mask comes in the peer's SLARP reply
    learn_excludes={
        "peer": "with address: slarp the peer's address comes from its SLARP reply: remove peer",
        "prefix": "with address: slarp the mask comes from the peer's SLARP reply: remove prefix",
    },
)


def read_chdlc(section: Section) -> ChdlcConfig | None:
    """The settings of the protocol section itself; the interface adds the rest (bind_chdlc)."""
    keepalive = section.number("keepalive", ChdlcConfig.keepalive, lo=0, hi=KEEPALIVE_MAX)
    if keepalive is not None and 0 < keepalive < KEEPALIVE_MIN:
        section.sink.add(
            section.where("keepalive"),
            section.key("keepalive"),
            f"keepalive {keepalive:g} s is too short: at least {KEEPALIVE_MIN:g} s "
            "(Cisco IOS: 1..32767 s; fractions are for test timers), or 0 to disable keepalives",
        )
        keepalive = None
    error_margin = section.integer("error_margin", ChdlcConfig.error_margin, lo=1, hi=ERROR_MARGIN_MAX)
    if keepalive is None or error_margin is None:
        return None
    return ChdlcConfig(keepalive=keepalive, error_margin=error_margin)


def bind_chdlc(config: ChdlcConfig, one: OneInterface) -> ChdlcConfig:
    """Our address (sent in SLARP replies), its mask and the channel mode come from the interface."""
    if not one.interfaces:
        return config
    (iface,) = one.interfaces
    return dataclasses.replace(
        config, address=iface.address, prefix=iface.prefix, learn_address=one.learn, mode=iface.mode
    )
