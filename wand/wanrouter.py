"""`wanrouter`: start, stop, restart and inspect lines and interfaces of a running wand.

    wanrouter start|stop|restart [wanpipeN [IFNAME]]
    wanrouter status [wanpipeN] | list | version | reload
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
    if verb == "status":
        lines = [f"{'device':10} {'firmware':12} {'line':6} {'bit rate':>10} {'link':6} channels"]
        for name, st in result.items():
            if not st.get("running", True) or "protocol" not in st:
                lines.append(f"{name:10} {'-':12} {'-':6} {'-':>10} {'stopped':6}")
                continue
            rate = st["line"]["bit_rate"]
            link = "up" if st["protocol"].get("link_up") else "down"
            chans = (
                ", ".join(f"{n}({'up' if c['usable'] else 'down'})" for n, c in st["channels"].items()) or "-"
            )
            lines.append(
                f"{name:10} {st['firmware']:12} {st['line']['type']:6} {rate or 'unpaced':>10} {link:6} {chans}"
            )
        return "\n".join(lines)
    if verb == "version":
        return f"wand {result['version']}, up {result['uptime']} s"
    return " ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in result.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wanrouter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, help="daemon state dir (default /run/wand/<netns>)")
    parser.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    parser.add_argument("verb", choices=[*VERBS, "validate"])
    parser.add_argument("args", nargs="*")
    args = parser.parse_args(argv)
    if args.verb == "validate":
        from wand.cli import main as wand_main

        return wand_main(["validate", *args.args])
    try:
        reply = request(args.state_dir or default_state_dir(), args.verb, args.args)
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
