"""The server's request handling, without sockets: refusals, read-only enforcement, HMAC, counters."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from tests.unit.mgmt_fakes import FakeDaemon, daemon_with, device_config
from wand.mgmt import protocol as p
from wand.mgmt.protocol import RC, Packet
from wand.mgmt.registry import COMMANDS, MgmtCommand
from wand.mgmt.server import MgmtServer

WAN_IFINDEX = 42  # what IP_PKTINFO says for a request that came in over wp1_fr16
LO_IFINDEX = 1
KEY = b"k" * 32


def make_server(daemon: FakeDaemon) -> MgmtServer:
    server = MgmtServer(daemon)  # type: ignore[arg-type]
    server.wan_ifindexes = lambda: {WAN_IFINDEX}  # type: ignore[method-assign]
    daemon.mgmt = server
    return server


@pytest.fixture
def fr(tmp_path: Path) -> tuple[FakeDaemon, MgmtServer]:
    daemon = daemon_with([device_config(tmp_path, management="management: {ttl: 7}")])
    return daemon, make_server(daemon)


def ask(
    server: MgmtServer,
    command: str,
    target: str = "wp1_fr16",
    params: dict[str, Any] | None = None,
    *,
    ifindex: int | None = LO_IFINDEX,
    key: bytes | None = None,
    port: int = 9000,
) -> tuple[Packet, int]:
    data = p.encode(Packet(p.KIND_REQUEST, 77, command, target, RC.OK, params or {}), key)
    answer = server.handle(data, port, ifindex, ("127.0.0.1", 5555))
    assert answer is not None
    reply, ttl = answer
    return p.decode(reply, None, kind=p.KIND_REPLY, max_size=p.MAX_DATAGRAM), ttl


def test_read_from_the_host_side(fr) -> None:
    daemon, server = fr
    reply, ttl = ask(server, "xl")
    assert reply.rc == RC.OK and reply.request_id == 77 and ttl == 7
    assert reply.payload["data"]["operative"] is True
    assert server.stats.requests == 1


def test_reads_are_allowed_from_the_network_side(fr) -> None:
    _, server = fr
    for command in ("xm", "xl", "sg", "se", "sd", "cl", "dg"):
        reply, _ = ask(server, command, ifindex=WAN_IFINDEX)
        assert reply.rc == RC.OK, (command, reply.payload)


def test_writes_are_refused_from_the_network_side_and_logged(fr, caplog) -> None:
    _, server = fr
    caplog.set_level(logging.WARNING, "wand.mgmt")
    for command in ("fs", "fc", "fe", "fg", "fi", "fd"):
        reply, _ = ask(server, command, ifindex=WAN_IFINDEX)
        assert reply.rc == RC.READ_ONLY, command
    assert server.stats.refused_read_only == 6
    assert "refused fs on wp1_fr16" in caplog.text


def test_unknown_ingress_is_treated_as_the_network_side(fr) -> None:
    _, server = fr
    reply, _ = ask(server, "fs", ifindex=None)
    assert reply.rc == RC.READ_ONLY


def test_every_write_command_is_refused_from_the_network_side(fr) -> None:
    """Including commands other modules register (traces): the rule is the registry's flag."""
    daemon, server = fr
    writes = [c for c in COMMANDS.values() if c.writes and (not c.protocols or "frame_relay" in c.protocols)]
    assert writes
    for cmd in writes:
        reply, _ = ask(server, cmd.code, ifindex=WAN_IFINDEX)
        assert reply.rc == RC.READ_ONLY, cmd.code


def test_writes_from_the_host_side_run(fr) -> None:
    _, server = fr
    reply, _ = ask(server, "fs")
    assert reply.rc == RC.OK and reply.payload["data"]["counters"] > 0


def test_network_side_detection_uses_our_interfaces(tmp_path: Path) -> None:
    daemon = daemon_with([device_config(tmp_path, ifname="lo")])  # pretend our TUN is "lo"
    server = MgmtServer(daemon)  # type: ignore[arg-type]
    lo = {name: index for index, name in __import__("socket").if_nameindex()}["lo"]
    assert server.network_side(lo)
    assert not server.network_side(lo + 1000)


def test_unknown_command_target_protocol_and_stopped(tmp_path: Path) -> None:
    daemon = daemon_with(
        [device_config(tmp_path), device_config(tmp_path, device="wanpipe2", port=2, protocol="chdlc")]
    )
    server = make_server(daemon)
    assert ask(server, "zz")[0].rc == RC.UNKNOWN_COMMAND
    assert ask(server, "xl", "wp7_fr16")[0].rc == RC.NO_TARGET
    assert ask(server, "xl", "")[0].rc == RC.NO_TARGET  # two devices on the port: name one
    assert ask(server, "ss", "wp1_fr16")[0].rc == RC.WRONG_PROTOCOL
    assert ask(server, "ss", "wp2_chdlc")[0].rc == RC.OK
    assert ask(server, "xl", "wanpipe2")[0].rc == RC.OK  # a device name works too
    del daemon.lines["wanpipe2"]
    assert ask(server, "xl", "wanpipe2")[0].rc == RC.NOT_RUNNING
    s = server.stats
    assert (s.unknown_command, s.unknown_target, s.wrong_protocol, s.not_running) == (1, 2, 1, 1)


def test_empty_target_means_the_only_device(fr) -> None:
    _, server = fr
    reply, _ = ask(server, "xl", "")
    assert reply.rc == RC.OK and reply.payload["data"]["device"] == "wanpipe1"


def test_a_device_on_another_port_is_not_reachable(tmp_path: Path) -> None:
    daemon = daemon_with([device_config(tmp_path, management="management: {udp_port: 9001}")])
    server = make_server(daemon)
    assert ask(server, "xl", port=9000)[0].rc == RC.NO_TARGET
    assert ask(server, "xl", port=9001)[0].rc == RC.OK


def test_garbage_is_counted_and_not_answered(fr) -> None:
    _, server = fr
    for junk in (b"", b"hello", os.urandom(300), b"WANPIPEM" + bytes(10)):
        assert server.handle(junk, 9000, LO_IFINDEX, None) is None
    s = server.stats
    assert s.bad_signature + s.truncated == 4
    assert ask(server, "xl")[0].rc == RC.OK  # still serving


def test_replies_sent_to_us_are_never_answered(fr) -> None:
    _, server = fr
    reply = p.encode(Packet(p.KIND_REPLY, 1, "xl", "wp1_fr16", RC.OK, {}))
    assert server.handle(reply, 9000, LO_IFINDEX, None) is None
    assert server.stats.bad_kind == 1


def test_malformed_requests_get_an_error_reply(fr) -> None:
    _, server = fr
    good = p.encode(Packet(p.KIND_REQUEST, 5, "xl", "wp1_fr16", RC.OK, {}))
    answer = server.handle(good + b"junk", 9000, LO_IFINDEX, None)
    assert answer is not None
    reply = p.decode(answer[0], kind=p.KIND_REPLY, max_size=p.MAX_DATAGRAM)
    assert reply.rc == RC.BAD_REQUEST and reply.request_id == 5
    assert server.stats.bad_request == 1


def test_bad_params_are_a_refusal(fr) -> None:
    _, server = fr
    reply, _ = ask(server, "sd", params={"dlci": "sixteen"})
    assert reply.rc == RC.BAD_REQUEST
    reply, _ = ask(server, "sd", params={"dlci": 99})
    assert reply.rc == RC.ERROR and "no DLCI 99" in reply.payload["error"]
    assert server.stats.command_errors == 2


def test_a_handler_bug_is_an_internal_error_not_a_crash(fr, monkeypatch, caplog) -> None:
    _, server = fr

    def boom(ctx, params):  # noqa: ANN001, ANN202
        raise ZeroDivisionError("oops")

    monkeypatch.setitem(COMMANDS, "boom", MgmtCommand("boom", "", boom))
    reply, _ = ask(server, "boom")
    assert reply.rc == RC.INTERNAL and server.stats.internal_errors == 1
    assert ask(server, "xl")[0].rc == RC.OK


def test_an_unserialisable_reply_never_escapes(fr, monkeypatch) -> None:
    _, server = fr
    monkeypatch.setitem(COMMANDS, "huge", MgmtCommand("huge", "", lambda ctx, params: "x" * 70000))
    reply, _ = ask(server, "huge")
    assert reply.rc == RC.TOO_LARGE


# -- with a key ---------------------------------------------------------------------------


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[FakeDaemon, MgmtServer]:
    keyfile = tmp_path / "mgmt.key"
    keyfile.write_text(KEY.decode() + "\n")
    keyfile.chmod(0o600)
    daemon = daemon_with([device_config(tmp_path, management=f"management: {{key_file: {keyfile}}}")])
    return daemon, make_server(daemon)


def test_key_good_hmac_is_served_and_the_reply_signed(keyed) -> None:
    _, server = keyed
    data = p.encode(Packet(p.KIND_REQUEST, 9, "xl", "wp1_fr16", RC.OK, {}), KEY)
    answer = server.handle(data, 9000, LO_IFINDEX, None)
    assert answer is not None
    reply = p.decode(answer[0], KEY, kind=p.KIND_REPLY, max_size=p.MAX_DATAGRAM)
    assert reply.rc == RC.OK and reply.signed


@pytest.mark.parametrize("key", [None, b"not the right key at all"])
def test_key_missing_or_bad_hmac_is_refused_and_counted(keyed, key: bytes | None) -> None:
    _, server = keyed
    reply, _ = ask(server, "xl", key=key)
    assert reply.rc == RC.AUTH and "data" not in reply.payload
    assert server.stats.auth_failures == 1 and server.stats.requests == 0


def test_sockets_wanted(tmp_path: Path, keyed) -> None:
    daemon = daemon_with(
        [
            device_config(tmp_path),
            device_config(tmp_path, device="wanpipe2", port=2, management="management: {udp_port: 0}"),
        ]
    )
    assert MgmtServer(daemon).wanted() == {("127.0.0.1", 9000), ("10.0.1.1", 9000), ("10.0.2.1", 9000)}  # type: ignore[arg-type]
    daemon.lines["wanpipe1"].channels[16].assigned = ("10.9.9.9", 30)  # learned (SLARP, IPCP)
    assert ("10.9.9.9", 9000) in MgmtServer(daemon).wanted()  # type: ignore[arg-type]
    keyed_daemon, keyed_server = keyed
    assert keyed_server.wanted() == {("0.0.0.0", 9000)}
