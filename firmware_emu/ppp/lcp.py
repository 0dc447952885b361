"""LCP options (RFC 1661 section 6, RFC 1662 ACCM), loopback detection and echo keepalive.

Three sets of values: ``want`` is what our next Configure-Request asks for;
``ours`` is what the peer acknowledged (how the peer sends to us); ``his`` is
what we acknowledged (how we send to the peer). Both negotiated sets fall
back to the RFC defaults when the layer goes down.

Answering the peer's options:

* An option we do not know, or a known one with the wrong length, is
  rejected. A wrong length could be Nak'd only with a value we cannot read,
  so Reject is the one reply that lets the peer carry on (pppd does the
  same). An option list that does not parse at all is a malformed packet
  and is discarded by the automaton.
* MRU below MIN_MRU is Nak'd with MIN_MRU. Any ACCM is acceptable (it only
  says what the peer wants us to escape). PFC and ACFC are always accepted:
  we receive either form.
* Auth-Protocol: without credentials of our own we reject it; PAP and
  CHAP with MD5 are accepted; anything else is Nak'd with CHAP/MD5.
* Magic-Number zero, or equal to the one we are asking for, is Nak'd with a
  fresh random value. Equal to ours is evidence of a loop (RFC 1661 6.4):
  ``loops`` counts it, and the engine declares the line looped at MAX_LOOPS.

When the peer Naks our Magic-Number we pick a new random one rather than the
suggestion (a looped line suggests what we just sent). When it rejects our
Auth-Protocol we stop asking, and the engine fails the link once LCP opens.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

from firmware_emu.errors import RemoteProtocolError
from firmware_emu.ppp.config import PppConfig
from firmware_emu.ppp.fsm import Event, OptionHandler, Verdict
from firmware_emu.ppp.packet import CHAP, PAP, Code, Option, Packet

__all__ = ["MAX_LOOPS", "Keepalive", "Lcp", "LcpCounters", "LcpValues"]

MRU: Final = 1
ACCM: Final = 2
AUTH: Final = 3
MAGIC: Final = 5
PFC: Final = 7
ACFC: Final = 8

DEFAULT_MRU: Final = 1500
MIN_MRU: Final = 128  # pppd's floor: below it a peer cannot even carry an IPv4 header and options
DEFAULT_ACCM: Final = 0xFFFFFFFF
CHAP_MD5: Final = 5
MAX_LOOPS: Final = 5  # our own Magic-Number seen this often in a negotiation: the line is looped
_AUTH_NAMES: Final = {PAP: "pap", CHAP: "chap"}
_CHAP_MD5_VALUE: Final = CHAP.to_bytes(2, "big") + bytes((CHAP_MD5,))
_PAP_VALUE: Final = PAP.to_bytes(2, "big")


@dataclass(slots=True)
class LcpValues:
    mru: int = DEFAULT_MRU
    accm: int = DEFAULT_ACCM
    auth: int | None = None  # PAP or CHAP (always with MD5)
    magic: int = 0  # 0: not negotiated
    pfc: bool = False
    acfc: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "mru": self.mru,
            "accm": f"{self.accm:08x}",
            "auth": _AUTH_NAMES.get(self.auth, "none") if self.auth else "none",
            "magic": f"{self.magic:08x}",
            "pfc": self.pfc,
            "acfc": self.acfc,
        }


@dataclass(slots=True)
class LcpCounters:
    loops: int = 0  # Configure-Requests carrying our own Magic-Number
    echo_requests_sent: int = 0
    echo_requests_received: int = 0
    echo_replies_sent: int = 0
    echo_replies_received: int = 0
    echo_loops: int = 0  # Echo packets carrying our own Magic-Number (not answered)
    echo_bad_magic: int = 0  # Echo packets whose Magic-Number is not the peer's
    discard_requests_received: int = 0
    protocol_rejects_received: int = 0


def _values(options: list[Option]) -> LcpValues:
    """The values a list of (already checked) options sets; the rest keep their defaults."""
    v = LcpValues()
    for kind, value in options:
        if kind == MRU:
            v.mru = int.from_bytes(value, "big")
        elif kind == ACCM:
            v.accm = int.from_bytes(value, "big")
        elif kind == AUTH:
            v.auth = int.from_bytes(value[:2], "big")
        elif kind == MAGIC:
            v.magic = int.from_bytes(value, "big")
        elif kind == PFC:
            v.pfc = True
        elif kind == ACFC:
            v.acfc = True
    return v


class Keepalive:
    """LCP echo keepalive: one Echo-Request per interval; too many unanswered and the link fails."""

    def __init__(self, interval: float, failures: int) -> None:
        self.interval = interval
        self.failures = failures
        self.enabled = interval > 0  # cleared when the peer Code-Rejects Echo-Request
        self.due: float | None = None
        self.outstanding = 0

    def start(self, now: float) -> None:
        self.outstanding = 0
        self.due = now + self.interval if self.enabled else None

    def stop(self) -> None:
        self.due = None
        self.outstanding = 0

    def answered(self) -> None:
        self.outstanding = 0

    def tick(self, now: float) -> bool | None:
        """At the deadline: True to send an Echo-Request, False when the link has failed."""
        if self.due is None or now < self.due:
            return None
        if self.outstanding >= self.failures:
            self.due = None
            return False
        self.outstanding += 1
        nxt = self.due + self.interval
        self.due = nxt if nxt > now else now + self.interval
        return True


class Lcp(OptionHandler):
    def __init__(
        self,
        cfg: PppConfig,
        rng: random.Random,
        on_protocol_reject: Callable[[int], None] = lambda protocol: None,
    ) -> None:
        self._cfg = cfg
        self._rng = rng
        self._on_protocol_reject = on_protocol_reject
        self._async = cfg.framing == "async"
        self._can_authenticate = cfg.username is not None and cfg.password is not None
        self.counters = LcpCounters()
        self.keepalive = Keepalive(cfg.echo_interval, cfg.echo_failures)
        self.want = LcpValues()
        self.ours = LcpValues()
        self.his = LcpValues()
        self.reset()

    def new_magic(self, *avoid: int) -> int:
        while True:
            magic = self._rng.getrandbits(32)
            if magic and magic not in avoid:
                return magic

    # ------------------------------------------------------ OptionHandler

    def reset(self) -> None:
        cfg = self._cfg
        self.keepalive.enabled = cfg.echo_interval > 0  # a new negotiation may meet a new peer
        self.want = LcpValues(
            mru=cfg.mru,
            accm=cfg.accm if self._async else DEFAULT_ACCM,
            auth={"pap": PAP, "chap": CHAP}.get(cfg.require),
            magic=self.new_magic() if cfg.magic else 0,
            pfc=cfg.pfc,
            acfc=cfg.acfc,
        )

    def request(self) -> list[Option]:
        w = self.want
        options: list[Option] = []
        if w.mru != DEFAULT_MRU:
            options.append((MRU, w.mru.to_bytes(2, "big")))
        if self._async and w.accm != DEFAULT_ACCM:
            options.append((ACCM, w.accm.to_bytes(4, "big")))
        if w.auth == PAP:
            options.append((AUTH, _PAP_VALUE))
        elif w.auth == CHAP:
            options.append((AUTH, _CHAP_MD5_VALUE))
        if w.magic:
            options.append((MAGIC, w.magic.to_bytes(4, "big")))
        if w.pfc:
            options.append((PFC, b""))
        if w.acfc:
            options.append((ACFC, b""))
        return options

    def check_request(self, options: list[Option], allow_nak: bool) -> Verdict:
        naks: list[Option] = []
        nak_originals: list[Option] = []
        rejects: list[Option] = []
        for option in options:
            kind, value = option
            suggestion: bytes | None = None
            if kind == MRU:
                if len(value) != 2:
                    rejects.append(option)
                elif int.from_bytes(value, "big") < MIN_MRU:
                    suggestion = MIN_MRU.to_bytes(2, "big")
            elif kind == ACCM:
                if len(value) != 4:
                    rejects.append(option)
            elif kind == AUTH:
                if len(value) < 2 or not self._can_authenticate:
                    rejects.append(option)
                elif value not in (_PAP_VALUE, _CHAP_MD5_VALUE):
                    suggestion = _CHAP_MD5_VALUE
            elif kind == MAGIC:
                if len(value) != 4:
                    rejects.append(option)
                else:
                    magic = int.from_bytes(value, "big")
                    if magic and magic == self.want.magic:
                        self.counters.loops += 1
                    if not magic or magic == self.want.magic:
                        suggestion = self.new_magic(magic, self.want.magic).to_bytes(4, "big")
            elif kind in (PFC, ACFC):
                if value:
                    rejects.append(option)
            else:
                rejects.append(option)
            if suggestion is not None:
                naks.append((kind, suggestion))
                nak_originals.append(option)
        if rejects:
            return Verdict(Code.CONFIGURE_REJECT, rejects)
        if naks:
            if allow_nak:
                return Verdict(Code.CONFIGURE_NAK, naks)
            return Verdict(Code.CONFIGURE_REJECT, nak_originals)
        return Verdict(Code.CONFIGURE_ACK, [])

    def peer_acked(self, options: list[Option]) -> None:
        self.his = _values(options)

    def ack_received(self, options: list[Option]) -> None:
        self.ours = _values(options)

    def nak_received(self, options: list[Option]) -> None:
        w = self.want
        for kind, value in options:
            size = {MRU: 2, ACCM: 4, MAGIC: 4}.get(kind)
            if size is not None and len(value) != size:
                raise RemoteProtocolError(f"LCP Configure-Nak: option {kind} of {len(value)} octets")
            if kind == MRU:
                mru = int.from_bytes(value, "big")
                # We can always take less than we asked for; more only up to what we are configured for.
                if mru >= MIN_MRU and (mru <= self._cfg.mru or mru <= DEFAULT_MRU):
                    w.mru = mru
            elif kind == ACCM and self._async:
                w.accm |= int.from_bytes(value, "big")  # RFC 1662 7.1: escape what both want
            elif kind == MAGIC:
                w.magic = self.new_magic(w.magic, int.from_bytes(value, "big"))
            # Auth-Protocol: we insist on the configured one; PFC/ACFC have no value to suggest.

    def reject_received(self, options: list[Option]) -> None:
        w = self.want
        for kind, _ in options:
            if kind == MRU:
                w.mru = DEFAULT_MRU
            elif kind == ACCM:
                w.accm = DEFAULT_ACCM
            elif kind == AUTH:
                w.auth = None
            elif kind == MAGIC:
                w.magic = 0
            elif kind == PFC:
                w.pfc = False
            elif kind == ACFC:
                w.acfc = False

    def layer_down(self) -> None:
        self.ours = LcpValues()
        self.his = LcpValues()
        self.keepalive.stop()

    def knows_code(self, code: int) -> bool:
        return Code.PROTOCOL_REJECT <= code <= Code.DISCARD_REQUEST

    def extra_code(self, packet: Packet, opened: bool) -> Event | None:
        code, data = packet.code, packet.data
        if code == Code.PROTOCOL_REJECT:
            if len(data) < 2:
                raise RemoteProtocolError("LCP Protocol-Reject without a protocol")
            self.counters.protocol_rejects_received += 1
            if not opened:
                return None  # RFC 1661 5.7: only meaningful in Opened
            protocol = int.from_bytes(data[:2], "big")
            self._on_protocol_reject(protocol)
            return Event.RXJ_MINUS if protocol == 0xC021 else Event.RXJ_PLUS
        if code == Code.DISCARD_REQUEST:
            self.counters.discard_requests_received += 1
            return Event.RXR
        # Echo-Request and Echo-Reply carry the sender's Magic-Number first.
        if len(data) < 4:
            raise RemoteProtocolError(f"LCP {Code(code).name} without a Magic-Number")
        if code == Code.ECHO_REQUEST:
            self.counters.echo_requests_received += 1
        else:
            self.counters.echo_replies_received += 1
            if opened and not self._echo_looped(data):
                self.keepalive.answered()
        return Event.RXR

    def code_rejected(self, code: int) -> bool:
        if code in (Code.ECHO_REQUEST, Code.ECHO_REPLY):
            self.keepalive.enabled = False  # the peer does not do echo: stop asking
            self.keepalive.stop()
        return super().code_rejected(code)

    def echo_reply(self, packet: Packet) -> bytes | None:
        if packet.code != Code.ECHO_REQUEST or self._echo_looped(packet.data):
            return None
        self.counters.echo_replies_sent += 1
        return self.ours.magic.to_bytes(4, "big") + packet.data[4:]

    # ------------------------------------------------------------ helpers

    def echo_request(self) -> bytes:
        self.counters.echo_requests_sent += 1
        return self.ours.magic.to_bytes(4, "big")

    def _echo_looped(self, data: bytes) -> bool:
        magic = int.from_bytes(data[:4], "big")
        if self.ours.magic and magic == self.ours.magic:
            self.counters.echo_loops += 1
            return True
        if self.his.magic and magic != self.his.magic:
            self.counters.echo_bad_magic += 1
        return False

    def status(self) -> dict[str, Any]:
        return {
            "local": self.ours.as_dict(),  # what the peer agreed to send us
            "peer": self.his.as_dict(),  # what we agreed to send the peer
            "requesting": self.want.as_dict(),
            "echo": {
                "enabled": self.keepalive.enabled,
                "interval": self.keepalive.interval,
                "outstanding": self.keepalive.outstanding,
            },
            **asdict(self.counters),
        }
