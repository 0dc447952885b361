"""LAPB configuration (the firmware's view): the ISO 7776 system parameters, checked when built."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import LocalProtocolError

__all__ = ["RETRY_FACTOR", "LapbConfig"]

RETRY_FACTOR: Final = 4  # retry_interval 0: this many T1 between set-up attempts after N2


def _int(value: object, what: str, low: int, high: int | None = None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise LocalProtocolError(f"{what} must be an integer {bounds}, not {value!r}")


def _seconds(value: object, what: str, *, zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LocalProtocolError(f"{what} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not zero):
        raise LocalProtocolError(f"{what} must be {'>= 0' if zero else '> 0'}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class LapbConfig:
    role: str = "dte"  # "dte" | "dce": which addresses we send commands and responses with
    modulo: int = 8  # 8 | 128 (SABM or SABME; 1- or 2-octet I and S control fields)
    window: int = 7  # k: I frames outstanding (sent, not acknowledged); 1..modulo-1
    t1: float = 3.0  # s: acknowledgement / retransmission timer
    t2: float = 0.0  # s: acknowledgement delay; 0 = acknowledge at once if nothing to piggyback on
    n2: int = 10  # retransmissions (SABM, DISC, FRMR, polls) before giving up
    n1: int = 4096  # max information-field octets of an I frame
    tx_queue_limit: int | None = None  # I frames waiting beyond the window; None = 2 * window
    retry_interval: float = 0.0  # s between SABMs once N2 went unanswered or the peer refused; 0 = 4*T1

    def __post_init__(self) -> None:
        if self.role not in ("dte", "dce"):
            raise LocalProtocolError(f"role must be dte or dce, not {self.role!r}")
        if isinstance(self.modulo, bool) or self.modulo not in (8, 128):
            raise LocalProtocolError(f"modulo must be 8 or 128, not {self.modulo!r}")
        _int(self.window, f"window (k) for modulo {self.modulo}", 1, self.modulo - 1)
        t1 = _seconds(self.t1, "t1", zero=False)
        t2 = _seconds(self.t2, "t2", zero=True)
        if t2 >= t1:
            # X.25 2.4.8.2: the acknowledgement must get back before the peer's T1 runs out.
            raise LocalProtocolError(f"t2 ({t2}) must be less than t1 ({t1})")
        _int(self.n2, "n2", 1)
        _int(self.n1, "n1", 1)
        if self.tx_queue_limit is not None:
            _int(self.tx_queue_limit, "tx_queue_limit", 0)
        _seconds(self.retry_interval, "retry_interval", zero=True)

    @property
    def queue_limit(self) -> int:
        """I frames that may wait for the window, beyond the k outstanding."""
        return 2 * self.window if self.tx_queue_limit is None else self.tx_queue_limit

    @property
    def slow_retry(self) -> float:
        """Seconds between link set-up attempts once the fast ones (every T1, N2 times) are spent."""
        return self.retry_interval or RETRY_FACTOR * self.t1
