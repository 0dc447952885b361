"""Netlink from inside the daemon's event loop.

pyroute2 0.9's synchronous IPRoute drives an asyncio loop of its own, and
asyncio refuses to run a second loop in a thread whose loop is running. So
the daemon keeps one Netlink on a dedicated thread and calls it through this
proxy. The calls are rare (interface set-up, carrier and route changes) and
short, so waiting for each one keeps the daemon's logic sequential.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wand.netlink import Netlink


class NetlinkWorker:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink")
        self._netlink: Netlink = self._pool.submit(Netlink).result()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._netlink, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._pool.submit(method, *args, **kwargs).result()

        return call

    def close(self) -> None:
        self._pool.submit(self._netlink.close).result()
        self._pool.shutdown()
