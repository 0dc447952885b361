#!/usr/bin/env python3
"""An X.25 echo server on wand's X.25 API: accept calls, send every message back (Q and D bits too).

    examples/x25_echo_server.py --socket /run/wand/default/api/wp2_x25 --called 1234

Written like a threaded TCP server: one listener, `accept()` returns a new
circuit per call, one thread per circuit.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from wand.api.client import (  # noqa: E402
    IncomingCallInfo,
    X25Cleared,
    X25Event,
    X25Interrupt,
    X25Listener,
    X25Socket,
)


def serve(circuit: X25Socket, call: IncomingCallInfo) -> None:
    who = f"LCN {circuit.lcn} from {call.calling or '?'}"
    print(f"{who}: connected (packet size {circuit.packet_size}, window {circuit.window})", flush=True)
    echoed = 0
    with circuit:
        while True:
            try:
                message = circuit.recv()
            except X25Cleared as exc:
                print(f"{who}: {exc}; echoed {echoed} message(s)", flush=True)
                return
            except X25Interrupt as exc:
                print(f"{who}: interrupt {exc.data.hex()}", flush=True)
                continue
            except X25Event as exc:  # reset, interrupt confirmed: the circuit carries on
                print(f"{who}: {exc}", flush=True)
                continue
            circuit.send(message.data, q=message.q, d=message.d)
            echoed += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the X.25 interface's API socket")
    parser.add_argument("--called", default=None, help="only calls to addresses with this prefix")
    parser.add_argument("--user-data", default=None, help="only calls whose user data starts with this (hex)")
    parser.add_argument("--max-calls", type=int, default=0, help="exit after this many calls (0: never)")
    args = parser.parse_args(argv)

    prefix = bytes.fromhex(args.user_data) if args.user_data is not None else None
    threads: list[threading.Thread] = []
    with X25Listener(args.socket, args.called, prefix) as listener:
        print(f"{args.socket}: listening", flush=True)
        while not args.max_calls or len(threads) < args.max_calls:
            try:
                circuit, call = listener.accept()
            except X25Event as exc:  # restart, link down: calls are gone, the listener carries on
                print(f"listener: {exc}", flush=True)
                continue
            thread = threading.Thread(target=serve, args=(circuit, call), daemon=True)
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
