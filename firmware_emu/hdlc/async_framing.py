"""Asynchronous HDLC-like framing: octet stuffing with an ACCM (RFC 1662 section 4).

A frame (FCS included) goes on the wire as ``7E stuffed-frame 7E``. Stuffing
replaces 0x7E (Flag), 0x7D (Control Escape) and every control character
(0x00-0x1F) whose bit is set in the Async-Control-Character-Map by 0x7D
followed by the octet XOR 0x20.

Both directions avoid a Python loop per octet. ``encode_async`` first finds
which special octets occur at all (``bytes.translate`` deleting every other
octet) and then runs one ``bytes.replace`` per octet that does, escaping 0x7D
before anything that introduces new 0x7Ds. ``AsyncDeframer`` splits on flags
with ``bytes.split``, drops flagged control characters with ``translate``
(RFC 1662 4.2: they may have been inserted by the link), and undoes escapes
with one regular expression substitution, all in C.

The deframer keeps the octets after the last flag between calls, so cutting
the stream into ``feed`` calls differently never changes the result. It
starts out hunting: octets before the first flag belong to no frame.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from firmware_emu.errors import LocalProtocolError
from firmware_emu.hdlc.fcs import check_fcs16, check_fcs32

__all__ = ["AsyncDeframer", "AsyncDeframerCounters", "encode_async"]

FLAG: Final = 0x7E
ESCAPE: Final = 0x7D
_FLAG_BYTES: Final = b"\x7e"
_ESCAPED_ESCAPE: Final = b"\x7d\x5d"
_UNESCAPE: Final = re.compile(rb"\x7d(.)", re.DOTALL)
_UNESCAPED: Final = {bytes((b,)): bytes((b ^ 0x20,)) for b in range(256)}
ALL_CONTROL: Final = 0xFFFFFFFF

_FCS: Final[dict[int, tuple[int, Callable[[bytes], bytes | None]]]] = {
    16: (2, check_fcs16),
    32: (4, check_fcs32),
}


@functools.lru_cache(maxsize=64)
def _escape_plan(accm: int) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]]:
    """For an ACCM: the octets that are never escaped (to delete when looking for
    the others), and the (octet, escaped) replacements other than 0x7D itself."""
    special = {FLAG, ESCAPE} | {c for c in range(32) if accm >> c & 1}
    keep = bytes(b for b in range(256) if b not in special)
    replacements = tuple((bytes((b,)), bytes((ESCAPE, b ^ 0x20))) for b in sorted(special - {ESCAPE}))
    return keep, replacements


@functools.lru_cache(maxsize=64)
def _control_chars(accm: int) -> bytes:
    return bytes(c for c in range(32) if accm >> c & 1)


def encode_async(frame_with_fcs: bytes, accm: int = ALL_CONTROL) -> bytes:
    """``frame_with_fcs`` stuffed for an asynchronous line, between an opening and a closing flag."""
    keep, replacements = _escape_plan(accm & ALL_CONTROL)
    present = frame_with_fcs.translate(None, keep)  # only the octets that need escaping remain
    data = frame_with_fcs
    if present:
        # 0x7D first: the replacements below introduce 0x7Ds that must stay as they are.
        if ESCAPE in present:
            data = data.replace(b"\x7d", _ESCAPED_ESCAPE)
        for octet, escaped in replacements:
            if octet[0] in present:
                data = data.replace(octet, escaped)
    return _FLAG_BYTES + data + _FLAG_BYTES


@dataclass(slots=True)
class AsyncDeframerCounters:
    frames: int = 0  # good frames delivered
    crc_errors: int = 0
    too_long: int = 0  # more than max_frame octets (FCS included) after unescaping
    aborts: int = 0  # 0x7D 0x7E: the sender aborted the frame
    too_short: int = 0  # fewer than FCS + 2 octets (RFC 1662 4.3)


class AsyncDeframer:
    """Recovers frames from an asynchronous octet stream; ``feed`` returns FCS-checked frames without the FCS.

    ``accm`` is the receive map: unescaped control characters it flags are
    dropped before the FCS check. Until LCP negotiates one it is all ones; the
    port updates it from the engine (the attribute can be set at any time).
    """

    def __init__(self, accm: int = ALL_CONTROL, fcs_bits: int = 16, max_frame: int = 1600) -> None:
        if fcs_bits not in _FCS:
            raise LocalProtocolError(f"fcs_bits must be 16 or 32, got {fcs_bits}")
        if max_frame < 1:
            raise LocalProtocolError(f"max_frame must be positive, got {max_frame}")
        self._fcs_len, self._check = _FCS[fcs_bits]
        self.accm = accm
        self.max_frame = max_frame
        self.counters = AsyncDeframerCounters()
        self._hunting = True  # no flag seen yet: octets belong to no frame
        self._partial = bytearray()  # raw (still stuffed) octets since the last flag
        self._overrun = False  # the frame in progress already counted as too long

    @property
    def _raw_limit(self) -> int:
        # Stuffing at most doubles a frame; past that it is too long whatever it unescapes to.
        return 2 * self.max_frame

    def feed(self, data: bytes) -> list[bytes]:
        """More octets from the line; the good frames they complete."""
        if FLAG not in data:
            self._extend(data)
            return []
        chunks = data.split(_FLAG_BYTES)
        out: list[bytes] = []
        self._extend(chunks[0])
        if not self._hunting:
            self._close(bytes(self._partial), out)
        self._hunting = False
        for chunk in chunks[1:-1]:
            self._overrun = False
            self._close(chunk, out)
        self._partial = bytearray()
        self._overrun = False
        self._extend(chunks[-1])
        return out

    def _extend(self, data: bytes) -> None:
        if self._hunting or self._overrun or not data:
            return
        self._partial += data
        if len(self._partial) > self._raw_limit:
            self.counters.too_long += 1
            self._overrun = True
            self._partial = bytearray()

    def _close(self, raw: bytes, out: list[bytes]) -> None:
        """Octets between two flags: a frame, or nothing at all."""
        if self._overrun:
            return
        if len(raw) > self._raw_limit:
            self.counters.too_long += 1
            return
        if raw.endswith(b"\x7d"):
            self.counters.aborts += 1  # 0x7D 0x7E
            return
        if self.accm:
            raw = raw.translate(None, _control_chars(self.accm & ALL_CONTROL))
        if not raw:
            return  # back-to-back flags (or only line noise between them): not a frame
        frame = _UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], raw) if ESCAPE in raw else raw
        if len(frame) < self._fcs_len + 2:
            self.counters.too_short += 1
        elif len(frame) > self.max_frame:
            self.counters.too_long += 1
        else:
            good = self._check(frame)
            if good is None:
                self.counters.crc_errors += 1
            else:
                self.counters.frames += 1
                out.append(good)
