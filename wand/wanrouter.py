"""`wanrouter`: the classic WANPIPE start/stop/status front end.

For now it knows `version` and `validate`; per-line start/stop/status arrive
with the control socket.
"""

from __future__ import annotations

import argparse
import sys

from wand import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wanrouter")
    parser.add_argument("command", choices=["version", "validate"])
    parser.add_argument("args", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"wanrouter (wand) {__version__}")
        return 0
    from wand.cli import main as wand_main

    return wand_main(["validate", *args.args])


if __name__ == "__main__":
    sys.exit(main())
