"""`wanpipemon`: line monitor. The UDP management protocol arrives in a later release."""

from __future__ import annotations

import argparse
import sys

from wand import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wanpipemon")
    parser.add_argument("--version", action="version", version=f"wanpipemon (wand) {__version__}")
    parser.add_argument("-i", dest="interface", required=True)
    parser.add_argument("-c", dest="command", required=True)
    parser.parse_args(argv)
    print(
        "wanpipemon: monitoring commands need the management protocol (not in this release)", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
