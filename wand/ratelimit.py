"""Rate-limited logging for repeated errors (a flood of bad frames must not flood syslog).

Messages are grouped by a key; the key is also what the "suppressed" summary
names, so it should carry the device (and interface) the errors are about.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

INTERVAL = 10.0  # seconds
BURST = 5  # messages per key per interval before suppression


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = INTERVAL,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self._windows: dict[str, tuple[float, int, int]] = {}  # key -> (window start, sent, suppressed)

    def warning(self, key: str, msg: str, *args: object) -> None:
        self._log(logging.WARNING, key, msg, args, exc_info=False)

    def exception(self, key: str, msg: str, *args: object) -> None:
        """ERROR with the current exception's traceback (call from an except block)."""
        self._log(logging.ERROR, key, msg, args, exc_info=True)

    def _log(self, level: int, key: str, msg: str, args: tuple[object, ...], exc_info: bool) -> None:
        now = self.clock()
        start, sent, suppressed = self._windows.get(key, (now, 0, 0))
        if now - start >= self.interval:
            if suppressed:
                self.logger.log(level, "%s: %d similar messages suppressed", key, suppressed)
            start, sent, suppressed = now, 0, 0
        if sent < self.burst:
            self.logger.log(level, msg, *args, exc_info=exc_info)
            sent += 1
        else:
            suppressed += 1
        self._windows[key] = (start, sent, suppressed)
