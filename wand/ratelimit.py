"""Rate-limited logging for repeated errors (a flood of bad frames must not flood syslog)."""

from __future__ import annotations

import logging
import time

INTERVAL = 10.0  # seconds
BURST = 5  # messages per key per interval before suppression


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval: float = INTERVAL, burst: int = BURST) -> None:
        self.logger = logger
        self.interval = interval
        self.burst = burst
        self._windows: dict[str, tuple[float, int, int]] = {}  # key -> (window start, sent, suppressed)

    def warning(self, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        start, sent, suppressed = self._windows.get(key, (now, 0, 0))
        if now - start >= self.interval:
            if suppressed:
                self.logger.warning("%s: %d similar messages suppressed", key, suppressed)
            start, sent, suppressed = now, 0, 0
        if sent < self.burst:
            self.logger.warning(msg, *args)
            sent += 1
        else:
            suppressed += 1
        self._windows[key] = (start, sent, suppressed)
