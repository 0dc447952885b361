"""`wand`: run the daemon, validate configs, and drive the namespace lab."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wand import __version__


def _cmd_run(args: argparse.Namespace) -> int:
    from wand.daemon import run

    return run(args.config, args.state_dir)


def _cmd_validate(args: argparse.Namespace) -> int:
    from wand.config import ConfigErrors, format_errors, load_site

    try:
        configs = load_site(args.config)
    except ConfigErrors as exc:
        print(format_errors(exc.errors), file=sys.stderr)
        print(f"{len(exc.errors)} error(s); configuration is NOT valid", file=sys.stderr)
        return 1
    for cfg in configs:
        names = ", ".join(i.name for i in cfg.interfaces) or "no interfaces"
        print(f"{cfg.source}: {cfg.name} OK ({cfg.line.kind}, {cfg.protocol_name}, {names})")
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    from wand import lab

    return lab.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wand", description="userspace WAN driver")
    parser.add_argument("--version", action="version", version=f"wand {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon for one site (one or more wanpipe device configs)")
    run.add_argument("config", nargs="+", help="wanpipeN.yaml files")
    run.add_argument("--state-dir", type=Path, help="status files (default /run/wand/<netns or default>)")
    run.set_defaults(func=_cmd_run)

    validate = sub.add_parser("validate", help="check config files without starting anything")
    validate.add_argument("config", nargs="+")
    validate.set_defaults(func=_cmd_validate)

    from wand.lab import add_lab_parser

    add_lab_parser(sub)
    sub.choices["lab"].set_defaults(func=_cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from wand.logsetup import setup_logging

    # Only the daemon logs to syslog: the tools answer the person who ran them.
    setup_logging(args.verbose, daemon=args.command == "run")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
