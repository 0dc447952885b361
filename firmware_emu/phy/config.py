"""Line configuration: what the physical port is and how fast it clocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from firmware_emu.phy.impair import NONE, Impairments

LineKind = Literal["t1", "e1", "serial"]

T1_TIMESLOTS = 24
E1_TIMESLOTS = 31
DS0_RATE = 64_000
# AMI without B8ZS cannot guarantee ones density, so each DS0 carries only
# 7 usable bits per frame (the "56k" channel).
DS0_RATE_AMI = 56_000


@dataclass(frozen=True)
class LineConfig:
    kind: LineKind = "t1"
    framing: str = "esf"  # t1: esf|d4, e1: crc4|ncrc4
    coding: str = "b8zs"  # t1: b8zs|ami, e1: hdb3|ami
    clock: str = "normal"  # normal (recover from line) | master (we drive the clock)
    timeslots: tuple[int, ...] | None = None  # None = all timeslots of the line
    clock_rate: int | None = None  # serial: bits/s; None on serial = unlimited (unpaced)
    tx_queue_len: int = 32  # frames waiting for the line, like a netdev's tx_queue_len
    impair: Impairments = NONE  # what the line does to frames arriving at this end

    @property
    def bit_rate(self) -> int | None:
        """Payload bit rate of the line in bits/s, or None for an unpaced line."""
        if self.kind == "serial":
            return self.clock_rate
        total = T1_TIMESLOTS if self.kind == "t1" else E1_TIMESLOTS
        slots = len(self.timeslots) if self.timeslots is not None else total
        per_slot = DS0_RATE_AMI if (self.kind == "t1" and self.coding == "ami") else DS0_RATE
        return slots * per_slot
