"""`wanpipemon`: monitor a wand line over the UDP management protocol, as WANPIPE's did.

    wanpipemon -i wp1_fr16 -c xl                        this host (127.0.0.1): the host side
    wanpipemon -i 10.0.0.1 -u 9000 -n wp1_fr16 -c sg    a remote site: read-only over its WAN
    wanpipemon -i wp1_fr16 -c sd -d 16 --json           the raw data instead of text
    wanpipemon -c help                                  every command, per protocol

Exit codes: 0 done, 1 refused or failed (the daemon's message on stderr),
2 usage, 3 no answer (nothing listening, or the timeout passed).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

from wand import __version__
from wand.mgmt import OPTIONAL_COMMAND_MODULES, load_commands
from wand.mgmt import protocol as proto
from wand.mgmt.protocol import RC, PacketError
from wand.mgmt.registry import CLIENT, COMMANDS, MgmtError

DEFAULT_PORT = 9000
LOCALHOST = "127.0.0.1"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3
PROTOCOL_TITLES = {"frame_relay": "Frame Relay", "chdlc": "Cisco HDLC", "ppp": "PPP", "x25": "X.25"}


class NoAnswer(MgmtError):
    """Nothing came back: no daemon on that port, or the request or reply was lost."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=-1)


class Client:
    """Sends requests to one daemon port and waits for the matching reply."""

    def __init__(
        self,
        host: str,
        port: int,
        target: str,
        *,
        key: bytes | None = None,
        timeout: float = 1.0,
        retries: int = 2,
    ) -> None:
        self.host, self.port, self.target = host, port, target
        self.key = key
        self.timeout = timeout
        self.retries = retries

    def request(self, code: str, params: dict[str, Any]) -> Any:
        """The reply's data; MgmtError(message, rc) for an error reply, NoAnswer for silence."""
        request_id = secrets.randbits(32)
        data = proto.encode(
            proto.Packet(proto.KIND_REQUEST, request_id, code, self.target, RC.OK, params), self.key
        )
        where = f"{self.host}:{self.port}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            # Connected: replies from anyone else are filtered out by the kernel, and
            # an ICMP port unreachable tells us at once that nothing listens there.
            try:
                sock.connect((self.host, self.port))
            except OSError as exc:
                raise NoAnswer(f"cannot reach {where}: {exc.strerror or exc}") from None
            for _attempt in range(1 + self.retries):
                try:
                    sock.send(data)
                except ConnectionRefusedError:
                    raise NoAnswer(f"nothing listens on udp {where}") from None
                except OSError as exc:
                    raise NoAnswer(f"cannot send to {where}: {exc.strerror or exc}") from None
                reply = self._wait(sock, request_id, where)
                if reply is not None:
                    return reply
        total = self.timeout * (1 + self.retries)
        raise NoAnswer(f"no answer from udp {where} within {total:g} s")

    def _wait(self, sock: socket.socket, request_id: int, where: str) -> Any | None:
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                datagram = sock.recv(65535)
            except TimeoutError:
                return None
            except ConnectionRefusedError:
                raise NoAnswer(f"nothing listens on udp {where}") from None
            try:
                header = proto.parse_header(datagram, kind=proto.KIND_REPLY, max_size=proto.MAX_DATAGRAM)
                body = proto.payload(datagram, header)
            except PacketError:
                continue  # not a reply we can read: keep waiting for ours
            if header.request_id != request_id:
                continue  # a late reply to an earlier request
            if header.rc == RC.OK:
                if self.key is not None and not proto.verify(datagram, header, self.key):
                    continue  # an unsigned or forged "success": not from the keyed daemon
                return {"data": body.get("data")}
            # Errors may come unsigned (an unauthenticated request gets no MAC); they can only refuse.
            raise MgmtError(str(body.get("error") or _rc_name(header.rc)), header.rc)
        return None


def _rc_name(rc: int) -> str:
    try:
        return RC(rc).name.lower().replace("_", " ")
    except ValueError:
        return f"error {rc}"


def read_key(path: str) -> bytes:
    """The shared key, as the daemon reads it: the file's text without surrounding whitespace."""
    return Path(path).read_text(encoding="utf-8-sig").strip().encode()


def help_text() -> str:
    """Every registered command, grouped by protocol; * marks those the network side may not run."""
    groups: dict[str, list[tuple[str, str, bool]]] = {}
    for cmd in COMMANDS.values():
        for protocol in cmd.protocols or ("",):
            groups.setdefault(protocol, []).append((cmd.code, cmd.help, cmd.writes))
    for code in CLIENT.commands:
        if code not in COMMANDS:
            groups.setdefault("", []).append((code, "(client command)", False))
    out = [f"wanpipemon (wand {__version__}) commands:"]
    for protocol in ("", *sorted(p for p in groups if p)):
        if protocol not in groups:
            continue
        out += ["", f"  {PROTOCOL_TITLES.get(protocol, protocol) if protocol else 'Every protocol'}:"]
        for code, text, writes in sorted(groups[protocol]):
            out.append(f"    {code:<5} {'*' if writes else ' '} {text}")
    out += [
        "",
        "  * changes state: refused when asked over a WAN interface (the network side).",
        "",
        "  wanpipemon -i IFNAME -c CMD                      this host (127.0.0.1)",
        "  wanpipemon -i ADDRESS -u PORT [-n NAME] -c CMD   a daemon at ADDRESS (NAME: interface or device)",
    ]
    return "\n".join(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wanpipemon",
        description=__doc__.split("\n\n")[0],
        epilog="Exit codes: 0 done, 1 refused/error, 2 usage, 3 no answer. `wanpipemon -c help` lists commands.",
    )
    parser.add_argument("--version", action="version", version=f"wanpipemon (wand) {__version__}")
    parser.add_argument(
        "-i", dest="interface", metavar="IFNAME|ADDRESS", help="local interface, or a daemon's IPv4 address"
    )
    parser.add_argument(
        "-u", dest="port", type=int, default=DEFAULT_PORT, help=f"UDP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "-n", dest="name", metavar="NAME", help="with -i ADDRESS: the interface or device (wanpipeN)"
    )
    parser.add_argument(
        "-c", dest="command", metavar="CMD", help="command code (xm, xl, sg, sd, fs...; help)"
    )
    parser.add_argument("-d", dest="dlci", type=int, metavar="DLCI", help="Frame Relay DLCI (sd, fi)")
    parser.add_argument(
        "-p", dest="params", action="append", default=[], metavar="KEY=VALUE", help="extra command parameter"
    )
    parser.add_argument("--json", action="store_true", help="print the raw data as JSON")
    parser.add_argument("-k", "--key-file", help="shared key file (the daemon's management.key_file)")
    parser.add_argument(
        "-t", "--timeout", type=float, default=1.0, help="seconds to wait for each attempt (default 1)"
    )
    parser.add_argument("--retries", type=int, default=2, help="attempts after the first (default 2)")
    for name in OPTIONAL_COMMAND_MODULES:  # e.g. the trace commands' own options
        module = sys.modules.get(name)
        add_arguments = getattr(module, "add_arguments", None)
        if callable(add_arguments):
            add_arguments(parser)
    # Line trace options (tr, ti), unless the trace module declared them itself.
    _option(parser, "--pcap", metavar="FILE", help="tr/ti: write a capture file (- for stdout; .pcapng)")
    _option(parser, "--count", type=int, metavar="N", help="tr/ti: stop after N frames")
    _option(parser, "--seconds", type=float, metavar="S", help="tr/ti: stop after S seconds")
    return parser


def _option(parser: argparse.ArgumentParser, flag: str, **kw: Any) -> None:
    if flag not in parser._option_string_actions:
        parser.add_argument(flag, **kw)


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for text in args.params:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ValueError(f"-p {text}: expected KEY=VALUE")
        params[key] = int(value) if value.isdigit() else value
    if args.dlci is not None:
        params["dlci"] = args.dlci
    return params


def _client(args: argparse.Namespace) -> Client:
    try:
        address = ipaddress.ip_address(args.interface)
    except ValueError:
        address = None
    if address is not None and address.version != 4:
        raise ValueError(f"{args.interface}: the management protocol runs over IPv4")
    if address is None:  # an interface of this host: ask our own daemon, from the host side
        host, target = LOCALHOST, args.name or args.interface
    else:
        host, target = str(address), args.name or ""
    if len(target) > proto.TARGET_SIZE - 1:
        raise ValueError(
            f"{target}: interface and device names have at most {proto.TARGET_SIZE - 1} characters"
        )
    key = read_key(args.key_file) if args.key_file else None
    return Client(host, args.port, target, key=key, timeout=args.timeout, retries=args.retries)


def main(argv: list[str] | None = None) -> int:
    load_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "help":
        print(help_text())
        return EXIT_OK
    if args.command is None:
        parser.error("-c CMD is required; `wanpipemon -c help` lists the commands")
    if args.interface is None:
        parser.error("-i IFNAME or -i ADDRESS is required")
    code = args.command
    if code not in COMMANDS and code not in CLIENT.commands:
        parser.error(f"unknown command {code!r}; `wanpipemon -c help` lists them")
    if not 1 <= args.port <= 65535:
        parser.error(f"-u {args.port}: a UDP port is 1..65535")
    try:
        params = _params(args)
        client = _client(args)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))

    def send(command_code: str, command_params: dict[str, Any]) -> Any:
        return client.request(command_code, {**params, **command_params})["data"]

    try:
        special = CLIENT.commands.get(code)
        if special is not None:
            return special(send, args)
        data = send(code, {})
    except NoAnswer as exc:
        print(f"wanpipemon: {exc}", file=sys.stderr)
        return EXIT_NO_ANSWER
    except MgmtError as exc:
        print(f"wanpipemon: {_rc_label(exc.code)}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    render = CLIENT.renderers.get(code)
    if args.json or render is None:
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        print(render(data, args))
    return EXIT_OK


def _rc_label(code: int) -> str:
    try:
        return RC(code).name.lower().replace("_", "-")
    except ValueError:
        return "error"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `wanpipemon ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
