"""The emulated adapter card: everything that runs "on the board".

Pure Python, sans-I/O: no sockets, no asyncio, no clock reads. Engines take
frames plus ``now`` and hand back frames, events and their next deadline.
"""
