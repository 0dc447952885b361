#!/usr/bin/env python3
"""Place an X.25 call through wand's API, send messages, print the replies, clear.

    examples/x25_call.py --socket /run/wand/default/api/wp2_x25 --called 1234 --count 5

With --check, every reply must be the message sent (against x25_echo_server.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from wand.api.client import ApiError, X25Cleared, X25Event, X25Socket  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the X.25 interface's API socket")
    parser.add_argument("--called", required=True, help="the X.121 address to call")
    parser.add_argument("--calling", default=None, help="our X.121 address (default: the line's)")
    parser.add_argument("--user-data", default="", help="call user data, hex")
    parser.add_argument("--packet-size", type=int, default=None)
    parser.add_argument("--window", type=int, default=None)
    parser.add_argument("--count", type=int, default=1, help="messages to send")
    parser.add_argument("--size", type=int, default=64, help="octets per message")
    parser.add_argument("--check", action="store_true", help="fail unless every reply echoes its message")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the call / a reply")
    args = parser.parse_args(argv)

    try:
        call = X25Socket.connect(
            args.socket,
            args.called,
            calling=args.calling,
            user_data=bytes.fromhex(args.user_data),
            packet_size=args.packet_size,
            window=args.window,
            timeout=args.timeout,
        )
    except X25Cleared as exc:
        print(f"call refused: {exc}", file=sys.stderr)
        return 1
    except (ApiError, OSError) as exc:
        print(f"call failed: {exc}", file=sys.stderr)
        return 1
    print(f"connected on LCN {call.lcn} (packet size {call.packet_size}, window {call.window})", flush=True)
    call.settimeout(args.timeout)
    failures = 0
    with call:
        started = time.monotonic()
        for i in range(args.count):
            message = (f"{i:08d} ".encode() * (args.size // 9 + 1))[: args.size]
            call.send(message)
            while True:
                try:
                    reply = call.recv()
                    break
                except X25Cleared as exc:
                    print(f"cleared: {exc}", file=sys.stderr)
                    return 1
                except X25Event as exc:
                    print(f"event: {exc}", flush=True)
            if args.check and reply.data != message:
                failures += 1
                print(f"message {i}: reply differs", file=sys.stderr)
        elapsed = time.monotonic() - started
        print(f"{args.count} message(s) of {args.size} octets, {elapsed * 1000:.1f} ms", flush=True)
        call.clear()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
