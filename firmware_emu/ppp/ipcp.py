"""IPCP options (RFC 1332): the IP-Address option and address assignment.

Our side asks for ``local_address``, or for 0.0.0.0 (unset) to have the peer
assign one: its Configure-Nak carries the address, which we then request and,
once acknowledged, report as assigned. A static address is never replaced by
a Nak'd suggestion (as pppd without ipcp-accept-local): the negotiation then
does not converge, which is the right outcome for a misconfiguration.

For the peer's request, ``peer_address`` (when configured) is what the peer
must use: 0.0.0.0 or any other address is Nak'd with it, and a request that
leaves the option out gets it appended to a Configure-Nak (RFC 1332 3.3).
Without ``peer_address`` we accept any address but cannot assign one, so a
0.0.0.0 request is rejected. A wrong-length IP-Address and every other option
(VJ compression, the deprecated IP-Addresses, RFC 1877 DNS) are rejected.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from firmware_emu.errors import RemoteProtocolError
from firmware_emu.ppp.config import PppConfig
from firmware_emu.ppp.fsm import OptionHandler, Verdict
from firmware_emu.ppp.packet import Code, Option

__all__ = ["IP_ADDRESS", "Ipcp"]

IP_ADDRESS: Final = 3
_UNSET: Final = bytes(4)


def _packed(address: str | None) -> bytes:
    return _UNSET if address is None else ipaddress.IPv4Address(address).packed


def _text(packed: bytes | None) -> str | None:
    return None if packed is None or packed == _UNSET else str(ipaddress.IPv4Address(packed))


class Ipcp(OptionHandler):
    def __init__(self, cfg: PppConfig) -> None:
        self._static = _packed(cfg.local_address)  # 0.0.0.0: ask the peer
        self._assign = None if cfg.peer_address is None else _packed(cfg.peer_address)
        self.want = self._static
        self.asking = True  # False once the peer rejected the option
        self.ours: bytes | None = None  # acknowledged by the peer
        self.his: bytes | None = None  # what we acknowledged
        self.assigned = False  # ``ours`` came from the peer's Nak

    @property
    def local_address(self) -> str | None:
        return _text(self.ours)

    @property
    def peer_address(self) -> str | None:
        return _text(self.his)

    def reset(self) -> None:
        self.want = self._static
        self.asking = True

    def request(self) -> list[Option]:
        return [(IP_ADDRESS, self.want)] if self.asking else []

    def check_request(self, options: list[Option], allow_nak: bool) -> Verdict:
        naks: list[Option] = []
        nak_originals: list[Option] = []
        rejects: list[Option] = []
        seen = False
        for option in options:
            kind, value = option
            if kind != IP_ADDRESS or len(value) != 4:
                rejects.append(option)
                continue
            seen = True
            if value == _UNSET and self._assign is None:
                rejects.append(option)  # it wants an address and we have none to give
            elif self._assign is not None and value != self._assign:
                naks.append((IP_ADDRESS, self._assign))
                nak_originals.append(option)
        if rejects:
            return Verdict(Code.CONFIGURE_REJECT, rejects)
        if not seen and self._assign is not None and allow_nak:
            naks.append((IP_ADDRESS, self._assign))  # RFC 1332 3.3: tell it which address to use
        if naks:
            if allow_nak:
                return Verdict(Code.CONFIGURE_NAK, naks)
            return Verdict(Code.CONFIGURE_REJECT, nak_originals)
        return Verdict(Code.CONFIGURE_ACK, [])

    def peer_acked(self, options: list[Option]) -> None:
        self.his = next((value for kind, value in options if kind == IP_ADDRESS), None)

    def ack_received(self, options: list[Option]) -> None:
        self.ours = next((value for kind, value in options if kind == IP_ADDRESS), None)
        self.assigned = self.ours is not None and self.ours != _UNSET and self._static == _UNSET

    def nak_received(self, options: list[Option]) -> None:
        for kind, value in options:
            if kind != IP_ADDRESS:
                continue
            if len(value) != 4:
                raise RemoteProtocolError(f"IPCP Configure-Nak: IP-Address of {len(value)} octets")
            if self._static == _UNSET and value != _UNSET:
                self.want = value
                self.asking = True

    def reject_received(self, options: list[Option]) -> None:
        if any(kind == IP_ADDRESS for kind, _ in options):
            self.asking = False

    def layer_down(self) -> None:
        self.ours = None
        self.his = None
        self.assigned = False

    def status(self) -> dict[str, Any]:
        return {
            "local_address": self.local_address,
            "peer_address": self.peer_address,
            "requesting": _text(self.want) if self.asking else None,
            "assigned_by_peer": self.assigned,
        }
