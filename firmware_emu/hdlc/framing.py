"""HDLC flags and zero-bit stuffing (ISO/IEC 13239).

Two levels of fidelity:

* Frame mode (the hot path): frames travel whole and only their *cost* on the
  line matters, so :func:`line_bits` says how many bit times a frame occupies,
  stuffing included, for the pacer.
* Bit-exact mode: :class:`HdlcBitEncoder` and :class:`HdlcDeframer` produce and
  consume the real bit stream (LSB of each octet first), for links that carry
  line bits and for impairments that flip individual bits.

Bit streams are handled here as ``str`` of ``"0"``/``"1"`` in transmission
order: the conversion to and from ``bytes`` is a single C-level int operation,
and stuffing becomes ``str.replace``, so the encoder never loops per bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware_emu.errors import LocalProtocolError
from firmware_emu.hdlc.fcs import check_fcs16, check_fcs32

__all__ = [
    "FLAG",
    "DeframerCounters",
    "HdlcBitEncoder",
    "HdlcDeframer",
    "line_bits",
    "stuffed_bits",
]

FLAG = 0x7E
# Transmission order of 0x7E is its own mirror image, so it reads the same either way.
_FLAG_BITS = "01111110"
# A flag whose opening 0 is the closing 0 of the flag before it (011111101111110).
_SHARED_ZERO_FLAG_BITS = "1111110"


def stuffed_bits(data: bytes) -> int:
    """Zero bits an HDLC transmitter inserts while sending ``data``.

    A 0 goes in after every five consecutive 1s, so a run of L ones costs
    L // 5 extra bits. Reading ``data`` as a little-endian integer puts its bits
    in transmission order (LSB of the first octet is bit 0), and the
    non-overlapping count of "11111" over each run is exactly L // 5. Run
    direction does not matter for a count, and leading zeros dropped by bin()
    hold no ones. Everything happens in C: about 6x faster than a per-octet
    state table walked in Python.
    """
    return bin(int.from_bytes(data, "little")).count("11111")


def line_bits(wire_frame: bytes) -> int:
    """Bit times ``wire_frame`` (FCS included) occupies on the line.

    Counts one flag per frame. Frames sent back to back share a flag, so the
    closing flag of one frame is the opening flag of the next.
    """
    return 8 + 8 * len(wire_frame) + stuffed_bits(wire_frame)


def _to_bits(data: bytes) -> str:
    """``data`` as a string of bits in transmission order (LSB first)."""
    if not data:
        return ""
    return format(int.from_bytes(data, "little"), f"0{8 * len(data)}b")[::-1]


def _from_bits(bits: str) -> bytes:
    """Pack a whole number of octets of transmission-order bits into bytes."""
    if not bits:
        return b""
    return int(bits[::-1], 2).to_bytes(len(bits) // 8, "little")


def _stuff(bits: str) -> str:
    # str.replace scans left to right, never overlapping and never rescanning
    # what it wrote. So a run of ten 1s gets a 0 after the fifth and another
    # after the tenth, just as a transmitter would insert them.
    return bits.replace("11111", "111110")


class HdlcBitEncoder:
    """Turns wire frames (FCS included) into a packed HDLC bit stream.

    The stream is flag, stuffed frame, flag, stuffed frame, flag..., with one
    flag shared between back-to-back frames. That matches :func:`line_bits`.
    Stuffing shifts frames off octet boundaries, so bits that do not fill an
    octet yet are held until the next :meth:`encode` or :meth:`flush`.
    """

    def __init__(self) -> None:
        self._pending = ""  # fewer than 8 bits not yet returned
        # True once the last thing sent is a flag, so the next frame can reuse it
        # as its opening flag.
        self._after_flag = False

    def encode(self, wire_frames: list[bytes]) -> bytes:
        """Stuff and frame ``wire_frames``; returns every complete octet so far."""
        parts = [self._pending]
        if wire_frames and not self._after_flag:
            parts.append(_FLAG_BITS)
        for frame in wire_frames:
            parts.append(_stuff(_to_bits(frame)))
            parts.append(_FLAG_BITS)
        if wire_frames:
            self._after_flag = True
        return self._emit("".join(parts))

    def flush(self, idle_flags: int = 1) -> bytes:
        """Send ``idle_flags`` idle flags, then pad with flags to an octet boundary.

        The padding uses flags that share their opening 0 with the flag before
        them. Each one is 7 bits, which is -1 modulo 8, so k of them remove k
        bits of misalignment. The line stays in flag idle, so the next frame
        still needs no opening flag of its own.
        """
        if idle_flags < 0:
            raise LocalProtocolError(f"idle_flags must be >= 0, got {idle_flags}")
        bits = self._pending + _FLAG_BITS * idle_flags
        if idle_flags:
            self._after_flag = True
        # Bits are only ever pending after a flag, so a shared-zero flag always fits.
        bits += _SHARED_ZERO_FLAG_BITS * (len(bits) % 8)
        return self._emit(bits)

    def _emit(self, bits: str) -> bytes:
        whole = len(bits) - len(bits) % 8
        self._pending = bits[whole:]
        return _from_bits(bits[:whole])


@dataclass(slots=True)
class DeframerCounters:
    """Receive statistics of one :class:`HdlcDeframer`."""

    frames: int = 0  # good frames delivered
    crc_errors: int = 0
    aborts: int = 0  # 7+ ones while a frame was in progress
    too_short: int = 0
    too_long: int = 0
    misaligned: int = 0  # frame length not a whole number of octets


def _zero_runs(byte: int) -> tuple[tuple[int, ...], int]:
    """For each 0 bit of ``byte`` (LSB first), how many 1s came right before it
    within the byte; plus the number of trailing 1s."""
    runs: list[int] = []
    ones = 0
    for i in range(8):
        if byte >> i & 1:
            ones += 1
        else:
            runs.append(ones)
            ones = 0
    return tuple(runs), ones


# Every receive decision in HDLC (flag, stuffed zero, data) is taken when a 0
# arrives, and what it means depends only on how many 1s came before it. So
# the deframer walks 0 bits, not every bit, and adds runs of 1s in bulk.
_ZERO_RUNS: tuple[tuple[tuple[int, ...], int], ...] = tuple(_zero_runs(b) for b in range(256))

_FCS: dict[int, tuple[int, Callable[[bytes], bytes | None]]] = {
    16: (2, check_fcs16),
    32: (4, check_fcs32),
}


class HdlcDeframer:
    """Recovers frames from a packed HDLC bit stream (LSB of each octet first).

    ``feed`` returns the frames that are complete and whose FCS is good, with
    the FCS removed. All state is carried from one call to the next, so the
    way the stream is cut into ``feed`` calls makes no difference.
    ``min_frame`` and ``max_frame`` count octets between the flags, FCS
    included. A frame that could not even hold its FCS plus one octet counts as
    too short, whatever ``min_frame`` says.
    """

    def __init__(self, fcs_bits: int = 16, max_frame: int = 4500, min_frame: int = 4) -> None:
        if fcs_bits not in _FCS:
            raise LocalProtocolError(f"fcs_bits must be 16 or 32, got {fcs_bits}")
        if max_frame < min_frame:
            raise LocalProtocolError(f"max_frame {max_frame} < min_frame {min_frame}")
        fcs_len, self._check = _FCS[fcs_bits]
        self._min = max(min_frame, fcs_len + 1)
        self._max = max_frame
        self.counters = DeframerCounters()
        # Until a flag is seen there is no frame to collect: at start-up, and
        # after an abort or an overlong frame.
        self._hunting = True
        self._ones = 0  # consecutive 1s received, not yet committed
        # A data 0 we cannot commit yet: if six 1s and a 0 follow, it was the
        # opening 0 of a flag and belongs to no frame.
        self._zero_pending = False
        self._buf = bytearray()  # committed whole octets of the frame
        self._acc = 0  # committed bits not yet filling an octet, LSB first
        self._nacc = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Take more line bits; return the good frames they complete."""
        out: list[bytes] = []
        ones = self._ones
        for byte in data:
            zero_runs, tail = _ZERO_RUNS[byte]
            for run in zero_runs:
                ones += run
                if ones == 6:
                    self._flag(out)
                elif ones > 6:
                    self._abort()
                elif not self._hunting:
                    self._data(ones)
                ones = 0
            ones += tail
            # Looked at per octet, not deferred to the next 0, so that a line
            # left idling in 1s still reports the abort of the frame it cut.
            if ones > 6:
                self._abort()
        self._ones = ones
        return out

    def _data(self, ones: int) -> None:
        """A 0 arrived after ``ones`` (0..5) data 1s: commit what is now certain."""
        nbits = ones + self._zero_pending
        value = ((1 << ones) - 1) << self._zero_pending
        # A 0 after five 1s is stuffing: drop it. Any other 0 is data, but it
        # could still turn out to be the first bit of a flag.
        self._zero_pending = ones != 5
        if not nbits:
            return
        acc = self._acc | value << self._nacc
        nacc = self._nacc + nbits
        while nacc >= 8:
            self._buf.append(acc & 0xFF)
            acc >>= 8
            nacc -= 8
        self._acc = acc
        self._nacc = nacc
        if len(self._buf) > self._max:
            self.counters.too_long += 1
            self._hunt()

    def _flag(self, out: list[bytes]) -> None:
        """0111_1110 seen: close the frame in progress and open the next one."""
        if not self._hunting:
            self._close(out)
        self._reset_frame()
        self._hunting = False

    def _close(self, out: list[bytes]) -> None:
        # The pending 0 was the flag's own opening 0, so it is left out.
        buf = self._buf
        if self._nacc:
            self.counters.misaligned += 1
        elif not buf:
            return  # idle flags, or back-to-back flags: not a frame
        elif len(buf) < self._min:
            self.counters.too_short += 1
        else:
            frame = self._check(bytes(buf))
            if frame is None:
                self.counters.crc_errors += 1
            else:
                self.counters.frames += 1
                out.append(frame)

    def _abort(self) -> None:
        """Seven or more 1s: the transmitter aborted, or the line went idle."""
        if self._hunting:
            return  # a long idle run is seen once per octet; only the first counts
        if self._buf or self._nacc or self._zero_pending:
            self.counters.aborts += 1
        self._hunt()

    def _hunt(self) -> None:
        self._reset_frame()
        self._hunting = True

    def _reset_frame(self) -> None:
        self._buf = bytearray()
        self._acc = 0
        self._nacc = 0
        self._zero_pending = False
