"""Where a daemon keeps its runtime state: /run/wand/<network namespace name>.

The daemon and the tools compute the same default, so `ip netns exec siteA
wanrouter status` finds the siteA daemon without being told where it is.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RUN_DIR = Path("/run/wand")


def current_netns() -> str:
    """The name of our network namespace (as `ip netns` knows it), or "default"."""
    try:
        out = subprocess.run(
            ["ip", "netns", "identify", str(os.getpid())], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out or "default"


def default_state_dir() -> Path:
    return RUN_DIR / current_netns()
