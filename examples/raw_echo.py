#!/usr/bin/env python3
"""Echo every frame back on a raw API channel (a Frame Relay DLCI, Cisco HDLC or HDLC line).

    examples/raw_echo.py --socket /run/wand/default/api/wp1_fr16

The channel must be configured ``mode: api``. Drops are never silent: when
this program reads too slowly the daemon tells it how many frames it lost,
and we print that.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from wand.api.client import ConnectionClosed, FramesDropped, RawChannel  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the interface's API socket")
    parser.add_argument("--count", type=int, default=0, help="exit after echoing this many frames (0: never)")
    args = parser.parse_args(argv)

    with RawChannel.open(args.socket) as channel:
        print(f"{args.socket}: channel {'usable' if channel.usable else 'not usable (yet)'}", flush=True)
        echoed = 0
        while not args.count or echoed < args.count:
            try:
                frame = channel.recv()
            except FramesDropped as exc:
                print(f"warning: {exc}", file=sys.stderr, flush=True)
                continue
            except ConnectionClosed:
                print("the daemon closed the channel", flush=True)
                return 0
            channel.send(frame)
            echoed += 1
        print(f"echoed {echoed} frame(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
