"""PPP firmware: LCP, PAP/CHAP, IPCP and IPV6CP over HDLC-like framing (RFC 1661, 1662).

``PppEngine`` (engine.py) is the sans-I/O port engine the adapter drives; the
other modules are its parts: packet (frames, control packets, options), fsm
(the RFC 1661 automaton as one transition table), lcp, auth, ipcp, ipv6cp.
"""

from firmware_emu.ppp.config import PppConfig, validate_config
from firmware_emu.ppp.engine import EngineCounters, Phase, PppEngine, PppEvent

__all__ = ["EngineCounters", "Phase", "PppConfig", "PppEngine", "PppEvent", "validate_config"]
