"""`wanrouter`: start, stop, restart and inspect lines and interfaces of a running wand.

    wanrouter start|stop|restart [wanpipeN [IFNAME]]
    wanrouter status [wanpipeN] | list | version | reload
    wanrouter reload wanpipeN --firmware NAME[:VERSION]   (swap one line's firmware live)
    wanrouter validate FILE...

It talks to the daemon's control socket (the daemon of this network namespace
unless --state-dir says otherwise). Exit codes: 0 done, 1 refused by the
daemon, 2 usage error, 3 no daemon.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wand.control import ControlError, request
from wand.paths import default_state_dir

VERBS = ("start", "stop", "restart", "status", "list", "version", "reload")


def _render(verb: str, result: Any) -> str:
    if verb == "list":
        lines = [f"{'device':10} {'protocol':12} {'line':6} {'state':8} {'link':5} interfaces"]
        for row in result:
            ifs = ", ".join(f"{i['name']}({i['state']})" for i in row["interfaces"]) or "-"
            link = "up" if row["link"] else "down"
            lines.append(
                f"{row['device']:10} {row['protocol']:12} {row['line']:6} {row['state']:8} {link:5} {ifs}"
            )
        return "\n".join(lines)
    if verb == "version":
        return f"wand {result['version']}, up {result['uptime']} s"
    return " ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in result.items())


def _print_status_file(state_dir: Path, args: list[str]) -> int:
    """`wanrouter status [wanpipeN]` shows the /proc/net/wanrouter-style files the daemon keeps."""
    if len(args) > 1:
        print("wanrouter: usage: status [wanpipeN]", file=sys.stderr)
        return 2
    path = state_dir / "wanrouter" / (args[0] if args else "status")
    try:
        print(path.read_text(), end="")
    except FileNotFoundError:
        what = f"no device {args[0]}" if args and (state_dir / "wanrouter").is_dir() else "no wand daemon"
        print(f"wanrouter: {what} ({path} not found)", file=sys.stderr)
        return 1 if args and (state_dir / "wanrouter").is_dir() else 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wanrouter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, help="daemon state dir (default /run/wand/<netns>)")
    parser.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    parser.add_argument(
        "--firmware", metavar="NAME[:VERSION]", help="with reload wanpipeN: swap its firmware live"
    )
    parser.add_argument("verb", choices=[*VERBS, "validate"])
    parser.add_argument("args", nargs="*")
    args = parser.parse_args(argv)
    if args.verb == "validate":
        from wand.cli import main as wand_main

        return wand_main(["validate", *args.args])
    if args.firmware is not None:
        if args.verb != "reload" or len(args.args) != 1:
            print("wanrouter: usage: reload wanpipeN --firmware NAME[:VERSION]", file=sys.stderr)
            return 2
        args.args += ["--firmware", args.firmware]
    state_dir = args.state_dir or default_state_dir()
    if args.verb == "status" and not args.json:
        return _print_status_file(state_dir, args.args)
    try:
        reply = request(state_dir, args.verb, args.args)
    except ControlError as exc:
        print(f"wanrouter: {exc}", file=sys.stderr)
        return 3
    if not reply.get("ok"):
        print(f"wanrouter: {reply.get('error')}", file=sys.stderr)
        return 1
    print(json.dumps(reply["result"], indent=2) if args.json else _render(args.verb, reply["result"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
