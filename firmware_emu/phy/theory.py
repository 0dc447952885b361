"""What a line can carry in theory: the yardstick for goodput and RTT figures.

Every HDLC frame costs one flag (the closing flag doubles as the next opening
flag on a busy line), the protocol header, the FCS, and the zero bits inserted
by bit stuffing. For random data a zero is stuffed after every run of five
ones: on average one bit in 62 (the run restarts at 0 after each stuffed bit,
so the expected distance is 2**6 - 2). Real payloads are not perfectly random;
`stuffing` lets a caller put in the ratio it measured.
"""

from __future__ import annotations

RANDOM_STUFFING = 1 / 62
FLAG_BYTES = 1
IPV4_TCP_HEADERS = 20 + 20 + 12  # IPv4 + TCP + timestamps option (Linux default)
FR_IETF_HEADER = 2 + 2  # Q.922 address + control 0x03 + NLPID


def frame_bits(
    payload: int, header: int = FR_IETF_HEADER, fcs: int = 2, stuffing: float = RANDOM_STUFFING
) -> float:
    """Average bits on the line for one frame carrying `payload` bytes."""
    body = (header + payload + fcs) * 8
    return FLAG_BYTES * 8 + body * (1 + stuffing)


def tcp_goodput(
    bit_rate: float, mtu: int = 1500, header: int = FR_IETF_HEADER, stuffing: float = RANDOM_STUFFING
) -> float:
    """Best possible TCP goodput (application bytes, bits/s) over the line."""
    return bit_rate * (mtu - IPV4_TCP_HEADERS) * 8 / frame_bits(mtu, header, stuffing=stuffing)


def serialization_rtt(bit_rate: float, ip_bytes: int, header: int = FR_IETF_HEADER) -> float:
    """Round-trip serialization time of one packet each way (e.g. ping), seconds."""
    return 2 * frame_bits(ip_bytes, header, stuffing=0.0) / bit_rate


# RFC 1662 async framing: every octet costs 10 bits (start + 8 + stop); with an
# ACCM of 0 only 0x7E and 0x7D are escaped, two octet values in 256 of random data.
ASYNC_BITS_PER_OCTET = 10
ASYNC_ESCAPES_ACCM0 = 2 / 256


def async_tcp_goodput(
    bit_rate: float, mtu: int = 1500, header: int = 4, escapes: float = ASYNC_ESCAPES_ACCM0
) -> float:
    """Best possible TCP goodput over async PPP (one flag between frames, FCS-16)."""
    octets = FLAG_BYTES + (header + mtu + 2) * (1 + escapes)
    return bit_rate * (mtu - IPV4_TCP_HEADERS) * 8 / (octets * ASYNC_BITS_PER_OCTET)
