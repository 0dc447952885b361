"""The daemon's log destinations: syslog via /dev/log, stderr unless it is the journal."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from wand.logsetup import JournalStreamFormatter, daemon_handlers, stream_is_journal, syslog_handler


@pytest.fixture
def syslog(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A stand-in /dev/log: a bound unix datagram socket."""
    path = str(tmp_path / "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()


def journal_env(stream: io.IOBase) -> dict[str, str]:
    st = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def record(msg: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("wand.line", level, __file__, 1, msg, (), None)


def emit(handlers: list[logging.Handler], rec: logging.LogRecord) -> None:
    for handler in handlers:
        handler.handle(rec)


def test_syslog_gets_the_ident_facility_and_priority(
    syslog: tuple[str, socket.socket], tmp_path: Path
) -> None:
    path, sock = syslog
    with open(tmp_path / "stderr", "w+") as stream:
        handlers = daemon_handlers(environ={}, stream=stream, syslog_address=path)
        emit(handlers, record("wanpipe1: link up"))
        emit(handlers, record("wanpipe1: link down: no status enquiry", logging.WARNING))
        # daemon (3) * 8 + info (6) = 30, + warning (4) = 28; no NUL terminator
        assert sock.recv(4096) == f"<30>wand[{os.getpid()}]: wanpipe1: link up".encode()
        assert sock.recv(4096) == f"<28>wand[{os.getpid()}]: wanpipe1: link down: no status enquiry".encode()
        # stderr is a file here (a test's log, a terminal), not the journal: it gets them too
        stream.seek(0)
        text = stream.read()
    assert "INFO wand.line: wanpipe1: link up" in text
    assert "WARNING wand.line: wanpipe1: link down" in text
    for handler in handlers:
        handler.close()


def test_stderr_that_is_the_journal_stays_quiet_when_syslog_is_there(
    syslog: tuple[str, socket.socket], tmp_path: Path
) -> None:
    path, sock = syslog
    with open(tmp_path / "stderr", "w+") as stream:
        handlers = daemon_handlers(environ=journal_env(stream), stream=stream, syslog_address=path)
        assert [type(h) for h in handlers] == [logging.handlers.SysLogHandler]
        emit(handlers, record("wanpipe1: wp1_fr16: carrier up"))
        assert sock.recv(4096).endswith(b"wanpipe1: wp1_fr16: carrier up")
        stream.seek(0)
        assert stream.read() == ""
    handlers[0].close()


def test_journal_stream_without_syslog_gets_priority_prefixes(tmp_path: Path) -> None:
    with open(tmp_path / "stderr", "w+") as stream:
        handlers = daemon_handlers(
            environ=journal_env(stream), stream=stream, syslog_address=str(tmp_path / "none")
        )
        assert len(handlers) == 1 and isinstance(handlers[0].formatter, JournalStreamFormatter)
        emit(handlers, record("wanpipe1: link up"))
        emit(handlers, record("first\nsecond", logging.ERROR))
        stream.seek(0)
        assert stream.read() == "<6>wanpipe1: link up\n<3>first\n<3>second\n"


def test_no_syslog_and_no_journal_is_plain_stderr(tmp_path: Path) -> None:
    stream = io.StringIO()  # no fileno(): never taken for the journal
    handlers = daemon_handlers(
        environ={"JOURNAL_STREAM": "1:2"}, stream=stream, syslog_address=str(tmp_path / "none")
    )
    emit(handlers, record("wanpipe1: stopped"))
    assert stream.getvalue().endswith("INFO wand.line: wanpipe1: stopped\n")


def test_inherited_journal_stream_of_another_file_does_not_count(tmp_path: Path) -> None:
    """A child whose stderr was redirected still has $JOURNAL_STREAM: the inode tells."""
    with open(tmp_path / "a", "w") as journal, open(tmp_path / "b", "w") as stream:
        assert stream_is_journal(journal, journal_env(journal))
        assert not stream_is_journal(stream, journal_env(journal))
    assert not stream_is_journal(io.StringIO(), {"JOURNAL_STREAM": "garbage"})


def test_a_stale_or_foreign_dev_log_is_not_used(tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(stale))
    sock.close()  # the file stays, nobody listens
    assert syslog_handler(str(stale)) is None
    regular = tmp_path / "regular"
    regular.write_text("")
    assert syslog_handler(str(regular)) is None
    assert syslog_handler(str(tmp_path / "missing")) is None
