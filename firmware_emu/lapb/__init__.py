"""LAPB firmware (ISO 7776, the X.25 link layer): a sans-I/O single link procedure, DTE or DCE.

``LapbEngine`` (engine.py) is what the X.25 engine and the adapter drive; the
other modules are its parts: codec (frames on the wire), config, states (the
link state machine: set-up, reset, disconnect, frame reject), transfer (I and
S frames, windows, acknowledgements, recovery) and events.
"""

from firmware_emu.events import LinkDown, LinkUp, ProtocolErrorSeen
from firmware_emu.lapb.config import LapbConfig
from firmware_emu.lapb.engine import LapbCounters, LapbData, LapbEngine, LinkReset

__all__ = [
    "LapbConfig",
    "LapbCounters",
    "LapbData",
    "LapbEngine",
    "LinkDown",
    "LinkReset",
    "LinkUp",
    "ProtocolErrorSeen",
]
