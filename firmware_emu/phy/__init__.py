"""Line models: T1/E1/serial rates and serialization-delay pacing."""

from firmware_emu.phy.config import LineConfig

__all__ = ["LineConfig"]
