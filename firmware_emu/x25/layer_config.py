"""The X.25 packet layer's configuration and counters.

LCN ranges follow X.25 Annex A: PVCs, then SVC ranges for incoming-only
calls (placed by the DCE), two-way calls and outgoing-only calls (placed by
the DTE), all within 1..4095, disjoint, and at most 255 logical channels on
one line. The timers are the DTE's T20-T23; a DCE uses the same values for
its T10-T13. r22 and r23 are ISO 8208's retransmission counts of a reset
and a clear request before giving up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import LocalProtocolError
from firmware_emu.x25 import codec
from firmware_emu.x25 import facilities as fac

MAX_CIRCUITS: Final = 255


@dataclass(frozen=True)
class PacketLayerConfig:
    role: str = "dte"  # "dte" | "dce"
    modulo: int = 8  # 8 | 128
    packet_size: int = 128  # default (and PVC) maximum data field, octets
    window: int = 2  # default window, packets
    max_packet_size: int = 4096  # the most we agree to in negotiation
    max_window: int = 7  # (up to 127 with modulo 128)
    pvcs: tuple[int, ...] = ()  # LCNs that are PVCs
    incoming: tuple[int, int] | None = None  # inclusive LCN ranges of SVCs: incoming-only,
    two_way: tuple[int, int] | None = (1, 255)  # two-way,
    outgoing: tuple[int, int] | None = None  # and outgoing-only (as seen by the DTE)
    address: str = ""  # our X.121 address: the calling address of our calls
    t20: float = 180.0  # restart request (DCE: T10, restart indication)
    t21: float = 200.0  # call request (DCE: T11, incoming call)
    t22: float = 180.0  # reset request (DCE: T12, reset indication)
    t23: float = 180.0  # clear request (DCE: T13, clear indication)
    tx_queue_limit: int = 8  # messages waiting per circuit beyond the window
    r22: int = 1  # reset retransmissions before giving up (ISO 8208 R22)
    r23: int = 1  # clear retransmissions before giving up (ISO 8208 R23)

    def __post_init__(self) -> None:
        _validate(self)

    def lcns(self) -> dict[str, list[int]]:
        """The LCNs of each kind: pvc, incoming, two_way, outgoing."""
        out = {"pvc": sorted(self.pvcs)}
        for name in ("incoming", "two_way", "outgoing"):
            rng = getattr(self, name)
            out[name] = [] if rng is None else list(range(rng[0], rng[1] + 1))
        return out


def _validate(c: PacketLayerConfig) -> None:
    def bad(msg: str) -> LocalProtocolError:
        return LocalProtocolError(f"X.25 packet layer: {msg}")

    if c.role not in ("dte", "dce"):
        raise bad(f"role must be dte or dce, not {c.role!r}")
    if c.modulo not in (8, 128):
        raise bad(f"modulo must be 8 or 128, not {c.modulo!r}")
    for name in ("packet_size", "max_packet_size"):
        if getattr(c, name) not in fac.PACKET_SIZES:
            raise bad(f"{name} must be a power of two from 16 to 4096, not {getattr(c, name)!r}")
    if c.max_packet_size < c.packet_size:
        raise bad("max_packet_size is below packet_size")
    if not 1 <= c.window <= c.max_window <= c.modulo - 1:
        raise bad(f"need 1 <= window <= max_window <= {c.modulo - 1} (modulo {c.modulo})")
    for name in ("t20", "t21", "t22", "t23"):
        if not getattr(c, name) > 0:
            raise bad(f"{name} must be positive")
    if c.tx_queue_limit < 1 or c.r22 < 0 or c.r23 < 0:
        raise bad("tx_queue_limit must be at least 1, r22 and r23 not negative")
    if len(c.address) > codec.MAX_ADDRESS_DIGITS or not (c.address.isdigit() or not c.address):
        raise bad(f"address {c.address!r}: up to 15 decimal digits")
    seen: dict[int, str] = {}
    for name in ("incoming", "two_way", "outgoing"):
        rng = getattr(c, name)
        if rng is None:
            continue
        if len(rng) != 2 or not 1 <= rng[0] <= rng[1] <= codec.MAX_LCN:
            raise bad(f"{name} range {rng!r}: need (low, high) within 1..4095")
    for name, lcns in c.lcns().items():
        for lcn in lcns:
            if not 1 <= lcn <= codec.MAX_LCN:
                raise bad(f"{name} LCN {lcn} out of 1..4095")
            if lcn in seen:
                raise bad(f"LCN {lcn} is both {seen[lcn]} and {name}")
            seen[lcn] = name
    if len(seen) > MAX_CIRCUITS:
        raise bad(f"{len(seen)} logical channels (at most {MAX_CIRCUITS} per line)")


@dataclass(slots=True)
class PacketLayerCounters:
    restarts: int = 0  # restart procedures completed
    restarts_tx: int = 0
    restarts_rx: int = 0
    calls_out: int = 0
    calls_in: int = 0  # calls offered to the user
    calls_accepted: int = 0  # calls that reached data transfer, either direction
    calls_refused: int = 0  # calls that ended before data transfer
    call_collisions: int = 0
    clears_tx: int = 0
    clears_rx: int = 0
    resets_tx: int = 0
    resets_rx: int = 0
    data_packets_tx: int = 0
    data_packets_rx: int = 0
    data_bytes_tx: int = 0
    data_bytes_rx: int = 0
    rr_tx: int = 0
    rr_rx: int = 0
    rnr_tx: int = 0
    rnr_rx: int = 0
    interrupts_tx: int = 0
    interrupts_rx: int = 0
    diagnostics_tx: int = 0
    diagnostics_rx: int = 0
    timeouts: int = 0
    lost_messages: int = 0  # queued messages thrown away by resets, clears, restarts
    # Bad input, each also a ProtocolErrorSeen:
    unassigned_lcn: int = 0
    bad_ps: int = 0
    bad_pr: int = 0
    oversize: int = 0
    invalid_in_state: int = 0
    malformed: int = 0
    unknown_type: int = 0
    unknown_facility: int = 0
    rej_rx: int = 0  # REJ: reject is not subscribed
    discarded: int = 0  # packets a waiting state ignores (Annex C DISCARD)
    link_not_up: int = 0
