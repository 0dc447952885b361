"""IPV6CP options (RFC 5072): the Interface-Identifier and its collision handling.

Our identifier is the configured one or a random non-zero 64-bit value. The
peer's is checked against the one we are asking for (RFC 5072 4.1):

* different and non-zero: Ack;
* equal (a collision) or zero: Nak with a fresh random identifier for the
  peer, different from both;
* both zero: Reject, identifiers cannot be negotiated.

When the peer Naks ours, we take its suggestion unless it is zero or the
peer's own identifier; then we draw a new random one. The negotiated
identifiers make the link-local addresses fe80::<identifier>.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any, Final

from firmware_emu.errors import RemoteProtocolError
from firmware_emu.ppp.config import PppConfig
from firmware_emu.ppp.fsm import OptionHandler, Verdict
from firmware_emu.ppp.packet import Code, Option

__all__ = ["INTERFACE_IDENTIFIER", "Ipv6cp", "link_local"]

INTERFACE_IDENTIFIER: Final = 1
_LINK_LOCAL: Final = 0xFE80 << 112


def link_local(identifier: int) -> str:
    return str(ipaddress.IPv6Address(_LINK_LOCAL | identifier))


class Ipv6cp(OptionHandler):
    def __init__(self, cfg: PppConfig, rng: random.Random) -> None:
        self._rng = rng
        self._configured = cfg.ipv6_interface_id
        self.want = self._configured or self._random()
        self.asking = True
        self.ours: int | None = None
        self.his: int | None = None
        self.collisions = 0

    def _random(self, *avoid: int) -> int:
        while True:
            iid = self._rng.getrandbits(64)
            if iid and iid not in avoid:
                return iid

    @property
    def local_address(self) -> str | None:
        return link_local(self.ours) if self.ours else None

    @property
    def peer_address(self) -> str | None:
        return link_local(self.his) if self.his else None

    def reset(self) -> None:
        self.want = self._configured or self._random()
        self.asking = True

    def request(self) -> list[Option]:
        return [(INTERFACE_IDENTIFIER, self.want.to_bytes(8, "big"))] if self.asking else []

    def check_request(self, options: list[Option], allow_nak: bool) -> Verdict:
        naks: list[Option] = []
        nak_originals: list[Option] = []
        rejects: list[Option] = []
        mine = self.want if self.asking else 0
        for option in options:
            kind, value = option
            if kind != INTERFACE_IDENTIFIER or len(value) != 8:
                rejects.append(option)
                continue
            theirs = int.from_bytes(value, "big")
            if theirs == 0 and mine == 0:
                rejects.append(option)
            elif theirs == 0 or theirs == mine:
                if theirs:
                    self.collisions += 1
                naks.append((INTERFACE_IDENTIFIER, self._random(theirs, mine).to_bytes(8, "big")))
                nak_originals.append(option)
        if rejects:
            return Verdict(Code.CONFIGURE_REJECT, rejects)
        if naks:
            if allow_nak:
                return Verdict(Code.CONFIGURE_NAK, naks)
            return Verdict(Code.CONFIGURE_REJECT, nak_originals)
        return Verdict(Code.CONFIGURE_ACK, [])

    def peer_acked(self, options: list[Option]) -> None:
        self.his = next((int.from_bytes(v, "big") for k, v in options if k == INTERFACE_IDENTIFIER), None)

    def ack_received(self, options: list[Option]) -> None:
        self.ours = next((int.from_bytes(v, "big") for k, v in options if k == INTERFACE_IDENTIFIER), None)

    def nak_received(self, options: list[Option]) -> None:
        for kind, value in options:
            if kind != INTERFACE_IDENTIFIER:
                continue
            if len(value) != 8:
                raise RemoteProtocolError(
                    f"IPV6CP Configure-Nak: Interface-Identifier of {len(value)} octets"
                )
            suggested = int.from_bytes(value, "big")
            his = self.his or 0
            self.want = suggested if suggested and suggested != his else self._random(his, self.want)
            self.asking = True

    def reject_received(self, options: list[Option]) -> None:
        if any(kind == INTERFACE_IDENTIFIER for kind, _ in options):
            self.asking = False

    def layer_down(self) -> None:
        self.ours = None
        self.his = None

    def status(self) -> dict[str, Any]:
        return {
            "local_interface_id": f"{self.ours:016x}" if self.ours else None,
            "peer_interface_id": f"{self.his:016x}" if self.his else None,
            "local_address": self.local_address,
            "peer_address": self.peer_address,
            "requesting": f"{self.want:016x}" if self.asking else None,
            "collisions": self.collisions,
        }
