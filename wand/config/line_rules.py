"""The `line:` section: what the physical port is (T1, E1, serial) and how it clocks."""

from __future__ import annotations

import re
from typing import cast

from firmware_emu.phy.config import E1_TIMESLOTS, T1_TIMESLOTS, LineConfig, LineKind
from firmware_emu.phy.impair import NONE, Impairments
from wand.config.fields import INVALID, Invalid, Section, Sink, kind
from wand.config.yamlpos import Node, Scalar

LINE_KEYS = ("type", "framing", "coding", "clock", "timeslots", "clock_rate", "tx_queue_len", "impair")
IMPAIR_KEYS = ("loss",)
LINE_TYPES = ("t1", "e1", "serial")
CLOCKS = ("normal", "master")

# First choice is the default, as on the carrier's order form.
FRAMING = {"t1": ("esf", "d4"), "e1": ("crc4", "ncrc4")}
CODING = {"t1": ("b8zs", "ami"), "e1": ("hdb3", "ami")}
TIMESLOTS = {"t1": T1_TIMESLOTS, "e1": E1_TIMESLOTS}

# Synchronous serial (V.35, X.21) clocks from 1200 bit/s to well above what a
# userspace emulation can pace; "unlimited" runs the line unpaced.
# An async serial port (PPP with framing: async, e.g. over transport type tty)
# has no clock line: its "clock rate" is its baud rate, and the port paces
# each octet as 10 bit times (start, 8 data, stop), so 115200 carries 11520
# octets/s. The rules check that it matches transport.baud when both are set.
CLOCK_RATE_MIN = 1200
CLOCK_RATE_MAX = 100_000_000
UNLIMITED = "unlimited"

TX_QUEUE_MIN = 1
TX_QUEUE_MAX = 10_000

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def read_line(section: Section) -> LineConfig | None:
    sink = section.sink
    line_type = section.choice("type", LINE_TYPES, required=True)
    clock = section.choice("clock", CLOCKS, "normal")
    tx_queue_len = section.integer("tx_queue_len", 32, lo=TX_QUEUE_MIN, hi=TX_QUEUE_MAX)
    impair = _impairments(section)

    if line_type == "serial":
        for key in ("framing", "coding", "timeslots"):
            section.reject(key, f"{key} applies to T1/E1 lines only, not to a serial line")
        clock_rate = _clock_rate(section)
        if clock is None or tx_queue_len is None or isinstance(clock_rate, Invalid) or impair is None:
            return None
        return LineConfig(
            kind="serial", clock=clock, clock_rate=clock_rate, tx_queue_len=tx_queue_len, impair=impair
        )

    if line_type is None:
        return None  # framing/coding/timeslots depend on the type: nothing sound to check them against
    section.reject(
        "clock_rate",
        f"clock_rate applies to serial lines only; a {line_type.upper()} clocks at the line rate",
    )
    framing = section.choice("framing", FRAMING[line_type], FRAMING[line_type][0])
    coding = section.choice("coding", CODING[line_type], CODING[line_type][0])
    timeslots = _timeslots(sink, section, line_type)
    if clock is None or tx_queue_len is None or framing is None or coding is None:
        return None
    if isinstance(timeslots, Invalid) or impair is None:
        return None
    return LineConfig(
        kind=cast(LineKind, line_type),  # checked against LINE_TYPES by choice()
        framing=framing,
        coding=coding,
        clock=clock,
        timeslots=timeslots,
        tx_queue_len=tx_queue_len,
        impair=impair,
    )


def _impairments(section: Section) -> Impairments | None:
    """`impair: {loss: 1}`: what the line does to frames arriving here (loss in percent)."""
    impair = section.section("impair", IMPAIR_KEYS)
    if impair is None:
        return None if section.has("impair") else NONE
    loss = impair.number("loss", 0, lo=0, hi=100)
    return None if loss is None else Impairments(loss=loss / 100)


def _clock_rate(section: Section) -> int | None | Invalid:
    """bits/s, or None for "unlimited"."""
    node = section.require(
        "clock_rate", f"bits/s from {CLOCK_RATE_MIN} to {CLOCK_RATE_MAX}, or '{UNLIMITED}'"
    )
    if node is None:
        return INVALID
    if isinstance(node, Scalar) and node.value == UNLIMITED:
        return None
    if isinstance(node, Scalar) and isinstance(node.value, str):
        section.sink.add(
            node.mark, section.key("clock_rate"), f"expected bits/s or '{UNLIMITED}', got {kind(node)}"
        )
        return INVALID
    rate = section.integer("clock_rate", lo=CLOCK_RATE_MIN, hi=CLOCK_RATE_MAX)
    return INVALID if rate is None else rate


def _timeslots(sink: Sink, section: Section, line_type: str) -> tuple[int, ...] | None | Invalid:
    """Sorted timeslot numbers, or None for the whole line.

    Written like a provisioning sheet: "all", one slot (7), or ranges ("1-12,15").
    A fractional line carries N x 64k; overlapping ranges are almost always a typo
    in a circuit order, so they are errors rather than silently merged.
    """
    node = section.get("timeslots")
    if node is None or (isinstance(node, Scalar) and node.value in (None, "all")):
        return None
    key = section.key("timeslots")
    total = TIMESLOTS[line_type]
    text = _timeslot_text(node)
    if text is None:
        sink.add(node.mark, key, f"expected 'all', a timeslot or ranges like '1-12,15', got {kind(node)}")
        return INVALID
    slots: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            sink.add(node.mark, key, f"'{part.strip()}' is not a timeslot or a range like '1-12'")
            return INVALID
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first > last:
            sink.add(node.mark, key, f"range '{part.strip()}' runs backwards")
            return INVALID
        if first < 1 or last > total:
            sink.add(
                node.mark, key, f"'{part.strip()}' is outside the {line_type.upper()} timeslots 1..{total}"
            )
            return INVALID
        span = set(range(first, last + 1))
        if span & slots:
            sink.add(node.mark, key, f"timeslot {min(span & slots)} is listed twice")
            return INVALID
        slots |= span
    return tuple(sorted(slots))


def _timeslot_text(node: Node) -> str | None:
    if not isinstance(node, Scalar) or isinstance(node.value, bool):
        return None
    if isinstance(node.value, int):
        return str(node.value)
    return node.value if isinstance(node.value, str) else None
