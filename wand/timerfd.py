"""A one-shot CLOCK_MONOTONIC timerfd for the asyncio event loop.

Why not loop.call_at: asyncio hands the next timer to epoll_wait() as a
timeout in whole milliseconds, rounded up, so every timer fires up to ~1 ms
late. A T1 frame takes ~0.3-8 ms to serialize; pacing on millisecond ticks
would distort the line rate badly. A timerfd has nanosecond resolution and
becomes readable when it expires, so the same event loop can wait on it
with loop.add_reader(timer.fileno(), ...).

Deadlines are time.monotonic() seconds: on Linux that clock *is*
CLOCK_MONOTONIC, so an absolute timerfd deadline needs no conversion
(loop.time() is time.monotonic() too with the default event loop).

Python 3.13 has os.timerfd_create; this module targets 3.11, hence ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC
TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.timerfd_create.restype = ctypes.c_int
_libc.timerfd_settime.argtypes = [
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(_Itimerspec),
    ctypes.POINTER(_Itimerspec),
]
_libc.timerfd_settime.restype = ctypes.c_int


def _raise_errno(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


class TimerFd:
    """One-shot timer: arm it for an absolute monotonic deadline, read it when it fires."""

    def __init__(self) -> None:
        fd = _libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            _raise_errno("timerfd_create")
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def arm_at(self, deadline: float | None) -> None:
        """Fire once at `deadline` (time.monotonic() seconds); None disarms.

        A deadline already in the past fires at once. Re-arming (or
        disarming) also clears an expiration that was not yet ack()ed, so a
        stale wakeup is never delivered after the deadline moved.
        """
        spec = _Itimerspec()  # zero interval: one-shot
        if deadline is not None:
            ns = max(int(deadline * 1_000_000_000), 0)
            sec, nsec = divmod(ns, 1_000_000_000)
            if sec == 0 and nsec == 0:
                nsec = 1  # an all-zero it_value would mean "disarm", not "fire now"
            spec.it_value.tv_sec = sec
            spec.it_value.tv_nsec = nsec
        flags = TFD_TIMER_ABSTIME if deadline is not None else 0
        if _libc.timerfd_settime(self._fd, flags, ctypes.byref(spec), None) < 0:
            _raise_errno("timerfd_settime")

    def ack(self) -> int:
        """Consume and return the number of expirations since the last ack (0 if none)."""
        try:
            data = os.read(self._fd, 8)
        except BlockingIOError:
            return 0
        return int(struct.unpack("=Q", data)[0])

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
