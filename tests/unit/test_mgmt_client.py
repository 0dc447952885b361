"""wanpipemon against the server's request handling over a real loopback UDP socket."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.mgmt_fakes import daemon_with, device_config
from wand import wanpipemon
from wand.mgmt.server import MgmtServer

KEY = "a-shared-key-of-enough-octets"


class LoopbackServer:
    """MgmtServer.handle behind a 127.0.0.1 socket on an ephemeral port, in a thread."""

    def __init__(self, tmp_path: Path, management: str = "", answer: bool = True) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        cfg = device_config(tmp_path, management=f"management: {{udp_port: {self.port}{management}}}")
        self.daemon = daemon_with([cfg])
        self.server = MgmtServer(self.daemon)  # type: ignore[arg-type]
        self.server.wan_ifindexes = lambda: set()  # type: ignore[method-assign]
        self.daemon.mgmt = self.server
        self.answer = answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            result = self.server.handle(data, self.port, 1, source)
            if result is not None and self.answer:
                self.sock.sendto(result[0], source)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LoopbackServer]:
    server = LoopbackServer(tmp_path)
    yield server
    server.close()


def mon(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = wanpipemon.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_local_read(served: LoopbackServer, capsys) -> None:
    code, out, _ = mon(capsys, "-i", "wp1_fr16", "-u", str(served.port), "-c", "xl")
    assert code == 0 and "Channel status: OPERATIVE" in out


def test_json(served: LoopbackServer, capsys) -> None:
    code, out, _ = mon(capsys, "-i", "wp1_fr16", "-u", str(served.port), "-c", "sd", "-d", "16", "--json")
    assert code == 0
    assert json.loads(out)["dlcis"][0]["dlci"] == 16


def test_remote_form_names_the_target(served: LoopbackServer, capsys) -> None:
    code, out, _ = mon(capsys, "-i", "127.0.0.1", "-u", str(served.port), "-n", "wanpipe1", "-c", "cl")
    assert code == 0 and "wp1_fr16" in out


def test_error_reply_exits_1(served: LoopbackServer, capsys) -> None:
    code, _, err = mon(capsys, "-i", "wp1_fr16", "-u", str(served.port), "-c", "ss")
    assert code == 1 and "wrong-protocol" in err and "chdlc" in err
    code, _, err = mon(capsys, "-i", "wp9_fr16", "-u", str(served.port), "-c", "xl")
    assert code == 1 and "no-target" in err


def test_flush_from_the_host_side(served: LoopbackServer, capsys) -> None:
    code, out, _ = mon(capsys, "-i", "wp1_fr16", "-u", str(served.port), "-c", "fs")
    assert code == 0 and "flushed" in out
    code, out, _ = mon(capsys, "-i", "wp1_fr16", "-u", str(served.port), "-c", "sg", "--json")
    assert json.loads(out)["enquiries_sent"] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["-i", "wp1_fr16"],  # no command
        ["-c", "xl"],  # no interface
        ["-i", "wp1_fr16", "-c", "nosuch"],
        ["-i", "wp1_fr16", "-c", "xl", "-u", "0"],
        ["-i", "::1", "-c", "xl"],
        ["-i", "wp1_fr16", "-c", "xl", "-p", "novalue"],
        ["-i", "an_interface_name_too_long", "-c", "xl"],
    ],
)
def test_usage_exits_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        wanpipemon.main(argv)
    assert info.value.code == 2


def test_help(capsys) -> None:
    code, out, _ = mon(capsys, "-c", "help")
    assert code == 0
    for needle in ("xm", "xl", "sg", "sd", "fs", "ss", "xs", "Frame Relay", "Cisco HDLC", "PPP"):
        assert needle in out


def test_no_answer_exits_3(tmp_path: Path, capsys) -> None:
    silent = LoopbackServer(tmp_path, answer=False)
    try:
        code, _, err = mon(
            capsys, "-i", "wp1_fr16", "-u", str(silent.port), "-c", "xl", "-t", "0.2", "--retries", "1"
        )
    finally:
        silent.close()
    assert code == 3 and "no answer" in err


def test_nothing_listening_exits_3(capsys) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody on that port now: ICMP port unreachable
    code, _, err = mon(capsys, "-i", "wp1_fr16", "-u", str(port), "-c", "xl", "-t", "0.5")
    assert code == 3


def test_key(tmp_path: Path, capsys) -> None:
    keyfile = tmp_path / "mgmt.key"
    keyfile.write_text(KEY + "\n")
    keyfile.chmod(0o600)
    server = LoopbackServer(tmp_path, management=f", key_file: {keyfile}")
    try:
        port = str(server.port)
        assert mon(capsys, "-i", "wp1_fr16", "-u", port, "-c", "xl", "-k", str(keyfile))[0] == 0
        code, _, err = mon(capsys, "-i", "wp1_fr16", "-u", port, "-c", "xl")
        assert code == 1 and "auth" in err
        wrong = tmp_path / "wrong.key"
        wrong.write_text("x" * 20)
        assert mon(capsys, "-i", "wp1_fr16", "-u", port, "-c", "xl", "-k", str(wrong))[0] == 1
        assert server.server.stats.auth_failures == 2
    finally:
        server.close()
