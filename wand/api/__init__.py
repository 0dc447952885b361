"""API sockets: applications reach ``mode: api`` channels through local SEQPACKET sockets.

- wire.py: the message format (stdlib only, shared with the client).
- conn.py: the listening socket and one app connection (backlog, flow control).
- endpoint.py: PortOps (what an endpoint asks of its line) and the raw-frame endpoint.
- x25_endpoint.py: the X.25 endpoint, one connection per virtual circuit.
- client.py: the client library (stdlib only).

Nothing is imported here, so that ``import wand.api.client`` pulls in neither
asyncio nor the firmware. docs/api.md describes the protocol.
"""
