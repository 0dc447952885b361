"""Line impairments: WANPIPE's "insane" test interface, moved onto the wire.

The receiving port applies them to each frame as it arrives from the cable,
before the FCS check, so every protocol above sees what a bad line does to
it. Randomness comes from an injected `random.Random`, so tests can seed it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from firmware_emu.errors import LocalProtocolError


@dataclass(frozen=True)
class Impairments:
    loss: float = 0.0  # probability that a frame is lost on the line (0..1)

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise LocalProtocolError(f"loss must be a probability 0..1, not {self.loss}")

    @property
    def active(self) -> bool:
        return self.loss > 0.0


NONE = Impairments()


class LineImpairer:
    def __init__(self, impairments: Impairments, rng: random.Random | None = None) -> None:
        self.impairments = impairments
        self.rng = rng or random.Random()
        self.lost = 0

    def passes(self) -> bool:
        """Does the next frame survive the line? Counts the ones that do not."""
        if self.rng.random() < self.impairments.loss:
            self.lost += 1
            return False
        return True
