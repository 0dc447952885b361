"""Live line traces over the management protocol: `wanpipemon -c tr` (raw) and `-c ti` (interpreted).

Daemon side, three management commands drive the card's trace (mailbox
StartTrace/ReadTrace/StopTrace, see firmware_emu/adapter/trace.py):

- ``trace_start`` (writes: host side only) opens a reader session on the
  line's port and returns its cursor, the firmware and the capture link type.
- ``trace_read`` returns the session's records from a cursor on, with wall-clock
  timestamps, and how many records it missed because the ring overflowed.
- ``trace_stop`` (writes) closes the session; the card stops recording when
  its last reader is gone (or when no reader has read for a while).

Client side, ``tr`` and ``ti`` start a trace, poll it until ``--count`` frames,
``--seconds`` or Ctrl-C, and stop it, printing each frame (hex or decoded) or
writing a capture file (``--pcap FILE``, ``-`` for stdout; pcapng when FILE
ends in .pcapng). The trace is of the whole port: every DLCI and the LMI,
whichever of the line's interfaces was named.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import time
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TextIO

from firmware_emu.adapter import ReadTrace, StartTrace, StopTrace
from firmware_emu.adapter.port import Port
from wand import pcap, trace_format
from wand.mgmt.protocol import RC
from wand.mgmt.registry import MgmtContext, MgmtError, SendRequest, client_command, mgmt_command

if TYPE_CHECKING:
    import argparse

POLL_INTERVAL: Final = 0.1  # s between reads when the last one emptied the ring
READ_MAX_BYTES: Final = 32 << 10  # frame octets asked of the card per read
# A reply is one UDP datagram (at most 65 507 octets, header and MAC included): the
# records' JSON is kept under this budget, and a frame longer than SNAP travels cut
# short, with its real length (a 64 KiB PPP frame would not fit in base64 at all).
REPLY_BUDGET: Final = 48 << 10
RECORD_OVERHEAD: Final = 40  # JSON around one record: time, direction, length, quotes, commas
SNAP: Final = 32 << 10
CAPACITY_RANGE: Final = (16, 65536)


# -- daemon side ------------------------------------------------------------------


def _port(ctx: MgmtContext) -> Port:
    port = ctx.line.port
    if port is None:
        raise MgmtError(f"{ctx.line.name} is not running")
    return port


def _mailbox(ctx: MgmtContext, command: object) -> dict[str, Any]:
    reply = ctx.line.adapter.execute(command, ctx.line.loop.time())
    if not reply.ok:
        raise MgmtError(reply.error)
    return reply.data


def _int(params: dict[str, Any], key: str, default: int | None = None) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MgmtError(f"parameter {key!r} must be an integer, not {value!r}")
    return value


@mgmt_command("trace_start", "start a line trace: opens a reader session (host side only)", writes=True)
def trace_start(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    port = _port(ctx)
    low, high = CAPACITY_RANGE
    capacity = _int(params, "capacity", StartTrace.capacity)
    if not low <= capacity <= high:
        raise MgmtError(f"capacity must be {low}..{high} records")
    data = _mailbox(ctx, StartTrace(ctx.line.cfg.port, capacity=capacity))
    return {
        "device": ctx.line.name,
        "session": data["session"],
        "cursor": data["cursor"],
        "firmware": port.firmware,
        # What the frames are read as: the firmware, or for X.25 LAPB/XOT, role and modulo too.
        "decode": trace_format.trace_name(port.firmware, port.engine.status),
        "linktype": pcap.linktype_for(port.firmware),
        "capacity": data["capacity"],
    }


@mgmt_command("trace_read", "read a line trace session's new frames from a cursor")
def trace_read(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    if not ctx.host_side:
        # The network side cannot start a trace, so it has none to read; and what crosses
        # the line (other DLCIs, a switch's other customers) is not the far end's to see.
        raise MgmtError("line traces are for the host side only", RC.READ_ONLY)
    port = _port(ctx)
    max_bytes = min(max(1, _int(params, "max_bytes", READ_MAX_BYTES)), READ_MAX_BYTES)
    data = _mailbox(
        ctx,
        ReadTrace(ctx.line.cfg.port, _int(params, "session"), _int(params, "cursor"), max_bytes=max_bytes),
    )
    # The card stamps frames with the loop's monotonic clock; the reader wants the time of day.
    offset = time.time() - ctx.line.loop.time()
    cursor = data["cursor"]
    records: list[list[Any]] = []
    size = 0
    for r in data["records"]:
        encoded = base64.b64encode(r.frame[:SNAP]).decode("ascii")
        cost = len(encoded) + RECORD_OVERHEAD
        if records and size + cost > REPLY_BUDGET:
            cursor = r.seq  # the rest comes with the next read
            break
        records.append([round(r.time + offset, 6), int(r.direction), encoded, len(r.frame)])
        size += cost
    trace = port.trace
    return {
        "records": records,
        "cursor": cursor,
        "dropped": data["dropped"],
        "pending": trace.next_seq - cursor if trace is not None else 0,
        "firmware": port.firmware,
        "linktype": pcap.linktype_for(port.firmware),
    }


@mgmt_command("trace_stop", "close a line trace session (host side only)", writes=True)
def trace_stop(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    _port(ctx)
    return _mailbox(ctx, StopTrace(ctx.line.cfg.port, _int(params, "session")))


# -- client side --------------------------------------------------------------------


class _Output:
    """Where frames go: text lines, JSON lines, or a capture file."""

    def __init__(self, args: argparse.Namespace, firmware: str, *, interpret: bool) -> None:
        self.firmware = firmware
        self.interpret = interpret
        self.json: bool = bool(getattr(args, "json", False))
        self.text: TextIO = sys.stdout
        self.writer: pcap.CaptureWriter | None = None
        self._file: BinaryIO | None = None
        target: str | None = getattr(args, "pcap", None)
        if target is not None:
            stream: BinaryIO
            if target == "-":
                stream = sys.stdout.buffer
            else:
                stream = self._file = open(target, "wb")  # noqa: SIM115 - closed in close()
            self.writer = pcap.open_writer(
                stream,
                firmware,
                pcapng=target.endswith(".pcapng"),
                ifname=getattr(args, "interface", "") or "",
            )
            self.writer.flush()  # a reader on a pipe (wireshark -k -i -) wants the header at once

    def frame(self, t: float, direction: int, frame: bytes, length: int) -> None:
        if self.writer is not None:
            self.writer.write(t, direction, frame, length)
        elif self.json:
            record = trace_format.record_json(
                self.firmware, t, direction, frame, interpret=self.interpret, length=length
            )
            print(json.dumps(record), file=self.text)
        elif self.interpret:
            print(trace_format.format_interpreted(self.firmware, t, direction, frame), file=self.text)
        else:
            print(trace_format.format_raw(t, direction, frame, length), file=self.text)

    def dropped(self, count: int) -> None:
        message = f"{count} frame(s) dropped: the trace ring overflowed before they were read"
        if self.writer is not None:
            print(f"wanpipemon: {message}", file=sys.stderr)  # stdout may be the capture itself
        elif self.json:
            print(json.dumps({"dropped": count}), file=self.text)
        else:
            print(f"*** {message}", file=self.text)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()
        else:
            self.text.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def run_trace(send: SendRequest, args: argparse.Namespace, *, interpret: bool) -> int:
    count_limit: int | None = getattr(args, "count", None)
    seconds: float | None = getattr(args, "seconds", None)
    started = send("trace_start", {})
    session, cursor = started["session"], started["cursor"]
    firmware = started.get("decode") or started["firmware"]
    deadline = time.monotonic() + seconds if seconds is not None else None
    frames = dropped = 0
    status = 0
    out: _Output | None = None
    print(
        f"wanpipemon: tracing {getattr(args, 'interface', '?')} ({started['device']}, {firmware}), "
        + ("Ctrl-C to stop" if deadline is None and count_limit is None else "until done or Ctrl-C"),
        file=sys.stderr,
    )
    try:
        out = _Output(args, firmware, interpret=interpret)
        while count_limit is None or frames < count_limit:
            if deadline is not None and time.monotonic() >= deadline:
                break
            data = send("trace_read", {"session": session, "cursor": cursor})
            cursor = data["cursor"]
            if data["dropped"]:
                dropped += data["dropped"]
                out.dropped(data["dropped"])
            for t, direction, encoded, length in data["records"]:
                out.frame(t, direction, base64.b64decode(encoded), length)
                frames += 1
                if count_limit is not None and frames >= count_limit:
                    break
            out.flush()
            if not data["pending"]:
                pause = POLL_INTERVAL
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - time.monotonic()))
                time.sleep(pause)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # The reader went away (wireshark closed, `| head`): not an error, but stdout is unusable.
        with contextlib.suppress(OSError):
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115 - keeps interpreter shutdown quiet
    except MgmtError as exc:
        # The line restarted (the session went with the port), or the daemon stopped answering.
        print(f"wanpipemon: trace ended: {exc}", file=sys.stderr)
        status = 1
    finally:
        if out is not None:
            with contextlib.suppress(BrokenPipeError):
                out.flush()
            out.close()
        with contextlib.suppress(MgmtError, OSError):
            send("trace_stop", {"session": session})
    print(f"wanpipemon: {frames} frame(s) traced, {dropped} dropped", file=sys.stderr)
    return status


@client_command("tr")
def trace_raw(send: SendRequest, args: argparse.Namespace) -> int:
    """Raw line trace: every frame in hex, with its time and direction (or --pcap)."""
    return run_trace(send, args, interpret=False)


@client_command("ti")
def trace_interpreted(send: SendRequest, args: argparse.Namespace) -> int:
    """Interpreted line trace: one decoded line per frame (LMI, SLARP, LCP, IP...)."""
    return run_trace(send, args, interpret=True)
