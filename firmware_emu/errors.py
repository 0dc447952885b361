"""Error types shared by every firmware engine.

As in h11, a fault of the peer (a malformed frame from the line) is kept apart
from a misuse of our own API (the driver asked for something impossible).
Engines never let RemoteProtocolError escape from ``receive_frame``: they
count and drop. It exists so that codecs can signal "this is the peer's fault"
to the engine that calls them.
"""


class ProtocolError(Exception):
    """Base of all firmware protocol errors."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something we cannot accept (malformed, out of range...)."""


class LocalProtocolError(ProtocolError):
    """The driver misused the firmware API (unknown channel, bad config...)."""
