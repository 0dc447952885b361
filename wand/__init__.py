"""wand: the driver side of the userspace WAN adapter, and its tools."""

__version__ = "0.1.0"
