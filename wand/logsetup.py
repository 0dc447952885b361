"""Logging for the daemon and the tools.

The tools (validate, lab, ...) log to stderr only. The daemon (`wand run`)
logs through syslog when there is one (/dev/log), with identifier "wand" and
facility daemon, so its line, PVC, LMI and negotiation state changes and its
errors land in the system log (journald under systemd) even when nobody
reads its stderr. Each message reaches the journal once:

- stderr is the journal (systemd's $JOURNAL_STREAM matches it): syslog only,
  since stderr would put a second copy of every message in the same journal.
  Without /dev/log, stderr alone, with the "<N>" priority prefixes journald
  parses on a stream.
- stderr is a terminal, a file or a pipe: syslog (when /dev/log exists) and
  stderr with timestamps, for the person or the test watching it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
import sys
from collections.abc import Mapping
from typing import TextIO

SYSLOG_ADDRESS = "/dev/log"
IDENT = "wand"
STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Syslog and the journal stamp the time, the priority and the identifier themselves.
SYSLOG_FORMAT = "%(message)s"

# logging level -> syslog priority, for the "<N>" prefixes journald parses on a stream.
_PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalStreamFormatter(logging.Formatter):
    """Prefix every line with <priority> (sd-daemon(3)): journald then files each
    line of a multi-line message (a traceback) at the message's priority."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITIES.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


def stream_is_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is the journal stream systemd connected us to.

    systemd sets $JOURNAL_STREAM to "device:inode" of that stream; a child that
    inherited the variable but had its stderr redirected has another inode.
    """
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not device.isdigit() or not inode.isdigit():
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError):  # closed, or not a real file (captured by a test harness)
        return False
    return st.st_dev == int(device) and st.st_ino == int(inode)


def syslog_handler(address: str = SYSLOG_ADDRESS) -> logging.Handler | None:
    """A handler for the local syslog socket, or None if there is none (a container
    without a syslog daemon): then stderr is all we have."""
    try:
        if not stat.S_ISSOCK(os.stat(address).st_mode):
            return None
    except OSError:
        return None
    handler = logging.handlers.SysLogHandler(
        address=address, facility=logging.handlers.SysLogHandler.LOG_DAEMON
    )
    try:
        # SysLogHandler swallows a failed connect and then retries, and reports a
        # "Logging error" on stderr, for every message: find out now.
        handler.socket.getpeername()
    except OSError:  # the socket file is left over but nobody listens
        handler.close()
        return None
    # "wand[pid]: " is the classic tag: journald takes SYSLOG_IDENTIFIER=wand and
    # SYSLOG_PID from it, traditional syslog daemons print it as is.
    handler.ident = f"{IDENT}[{os.getpid()}]: "
    handler.append_nul = False  # journald and rsyslog need no terminator; it would end up in the text
    handler.setFormatter(logging.Formatter(SYSLOG_FORMAT))
    return handler


def daemon_handlers(
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    syslog_address: str = SYSLOG_ADDRESS,
) -> list[logging.Handler]:
    """The daemon's handlers, per the table in the module docstring."""
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    handlers: list[logging.Handler] = []
    syslog = syslog_handler(syslog_address)
    if syslog is not None:
        handlers.append(syslog)
    if stream_is_journal(stream, environ):
        if syslog is None:
            journal = logging.StreamHandler(stream)
            journal.setFormatter(JournalStreamFormatter(SYSLOG_FORMAT))
            handlers.append(journal)
    else:
        handlers.append(_stderr_handler(stream))
    return handlers


def _stderr_handler(stream: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(STDERR_FORMAT))
    return handler


def setup_logging(verbose: bool = False, daemon: bool = False) -> None:
    """Configure the root logger: stderr for the tools, syslog (and stderr) for the daemon."""
    handlers = daemon_handlers() if daemon else [_stderr_handler(sys.stderr)]
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug output is per netlink message
