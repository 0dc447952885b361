"""What the LAPB engine hands to the layer above, and what it counts.

The engine also emits the shared ``firmware_emu.events`` LinkUp, LinkDown and
ProtocolErrorSeen; these two are LAPB's own.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LapbCounters", "LapbData", "LinkReset"]


@dataclass(frozen=True, slots=True)
class LapbData:
    """One I frame's information field, delivered once and in order."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class LinkReset:
    """The link was reset (by us or the peer) and is back in information transfer.

    Sequence numbers started again from 0; the I frames not yet acknowledged
    or not yet sent when the reset began were thrown away (``discarded``),
    so the layer above must recover (X.25 restarts its packet layer)."""

    reason: str
    discarded: int


@dataclass(slots=True)
class LapbCounters:
    # Frames sent and received, by type. tx_iframes counts first transmissions only
    # (retransmissions has the rest); rx_iframes the I frames delivered in sequence.
    tx_iframes: int = 0
    rx_iframes: int = 0
    tx_rr: int = 0
    rx_rr: int = 0
    tx_rnr: int = 0
    rx_rnr: int = 0
    tx_rej: int = 0
    rx_rej: int = 0
    tx_sabm: int = 0  # SABM or SABME
    rx_sabm: int = 0
    tx_ua: int = 0
    rx_ua: int = 0
    tx_disc: int = 0
    rx_disc: int = 0
    tx_dm: int = 0
    rx_dm: int = 0
    tx_frmr: int = 0
    rx_frmr: int = 0
    tx_bytes: int = 0  # information-field octets, first transmissions
    rx_bytes: int = 0  # information-field octets delivered
    # Recovery
    retransmissions: int = 0  # I frames sent again (REJ, poll answers, repeated SABM)
    t1_timeouts: int = 0
    polls: int = 0  # RR/RNR commands with P=1 sent at T1 expiry (checkpoints)
    n2_exhausted: int = 0
    link_resets: int = 0  # by either side
    # Drops
    malformed: int = 0  # undecodable, or a frame reject condition (W, X, Y, Z)
    bad_address: int = 0  # neither A nor B
    rx_while_busy: int = 0  # I frames discarded in local busy (the peer sends them again)
    out_of_sequence: int = 0  # I frames discarded for N(S) != V(R)
    mode_mismatch: int = 0  # SABM in modulo 128 or SABME in modulo 8
    ignored: int = 0  # valid frames the state has no use for (I frames while setting up...)
