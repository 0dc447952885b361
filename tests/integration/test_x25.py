"""X.25 between two real daemons: IP over SVCs (RFC 1356), the X.25 API, raw frames, XOT."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.integration.sites import Site, ping, sleep, wait_until, write
from wand import netns as nsutil
from wand.api.client import RawChannel, X25Listener, X25Socket

A_ADDR, B_ADDR = "31370001", "31370002"


def _x25(station: str, address: str, **extra: object) -> dict:
    return {
        "type": "x25",
        "station": station,
        "address": address,
        "packet_size": 128,
        "max_packet_size": 1024,
        "window": 7,
        "timers": {"t20": 2, "t21": 5, "t22": 2, "t23": 2},
        "lapb": {"t1": 0.3, "n2": 20},
        **extra,
    }


def _ip_iface(name: str, remote: str, address: str, peer: str, idle: float = 300) -> dict:
    return {"name": name, "remote": remote, "idle_timeout": idle, "address": address, "peer": peer}


@pytest.fixture
def x25_pair(netns, tmp_path):
    """Factory: start(protocol_a, ifaces_a, protocol_b, ifaces_b, line=..., transport=...) -> (a, b)."""
    sites: list[Site] = []

    def start(
        proto_a: dict,
        ifaces_a: list[dict],
        proto_b: dict,
        ifaces_b: list[dict],
        *,
        line: dict | None = None,
        transports: tuple[dict, dict] | None = None,
        namespaces: tuple[str, str] | None = None,
    ) -> tuple[Site, Site]:
        sa, sb = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
        unix = ({"type": "unix", "local": sa, "remote": sb}, {"type": "unix", "local": sb, "remote": sa})
        tr_a, tr_b = transports or unix
        ns_a, ns_b = namespaces or (netns(), netns())
        for name, ns, proto, ifaces, transport in (
            ("b", ns_b, proto_b, ifaces_b, tr_b),
            ("a", ns_a, proto_a, ifaces_a, tr_a),
        ):
            doc = {
                "device": "wanpipe1",
                "line": line or {"type": "t1"},
                "protocol": proto,
                "interfaces": ifaces,
                "transport": transport,
            }
            site = Site(ns, [write(tmp_path / name / "wanpipe1.yaml", doc)], tmp_path / f"{name}.log")
            site.start()
            sites.append(site)
        b, a = sites
        for site, ifaces in ((a, ifaces_a), (b, ifaces_b)):
            for iface in ifaces:
                if iface.get("mode") == "api":
                    path = site.state_dir / "api" / iface["name"]
                    assert wait_until(path.exists, 20), site.log_text()
                else:
                    assert site.wait_carrier(iface["name"]), site.log_text()
        return a, b

    yield start
    for site in sites:
        if site.proc and site.proc.poll() is None:
            site.stop()


def _line(site: Site) -> dict:
    return site.status()["wanpipe1"]


def test_ip_over_an_svc_ping_and_iperf3(x25_pair):
    a, b = x25_pair(
        _x25("dte", A_ADDR),
        [_ip_iface("wp1_x25", B_ADDR, "10.0.0.1/30", "10.0.0.2")],
        _x25("dce", B_ADDR),
        [_ip_iface("wp1_x25", A_ADDR, "10.0.0.2/30", "10.0.0.1")],
    )
    assert ping(a, "10.0.0.2", count=5) == (5, 5)  # the first packet placed the call and waited for it
    assert ping(b, "10.0.0.1", count=5) == (5, 5)
    counters_a = _line(a)["protocol"]["counters"]
    counters_b = _line(b)["protocol"]["counters"]
    assert counters_a["ip_calls_placed"] == 1 and counters_b["ip_calls_accepted"] == 1
    assert counters_b["ip_calls_placed"] == 0  # B's replies rode A's call
    server = nsutil.popen(b.ns, ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sleep(0.5)
        out = a.run(["iperf3", "-c", "10.0.0.2", "-t", "3", "-J"], timeout=60)
        goodput = json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]
    finally:
        server.kill()
        server.wait()
    assert 0 < goodput < 1_536_000  # carried, and never faster than the T1


def test_idle_call_is_cleared_and_traffic_calls_again(x25_pair):
    a, b = x25_pair(
        _x25("dte", A_ADDR),
        [_ip_iface("wp1_x25", B_ADDR, "10.0.0.1/30", "10.0.0.2", idle=1)],
        _x25("dce", B_ADDR),
        [_ip_iface("wp1_x25", A_ADDR, "10.0.0.2/30", "10.0.0.1", idle=0)],
    )
    assert ping(a, "10.0.0.2", count=1) == (1, 1)
    assert wait_until(lambda: _line(a)["protocol"]["counters"]["ip_idle_clears"] == 1, 10), a.log_text()
    assert ping(a, "10.0.0.2", count=1) == (1, 1)
    assert _line(a)["protocol"]["counters"]["ip_calls_placed"] == 2


def _echo_server(listener: X25Listener, stop: threading.Event, errors: list[BaseException]) -> None:
    try:
        with listener:
            circuit, _call = listener.accept()
            with circuit:
                while not stop.is_set():
                    message = circuit.recv()
                    circuit.send(message.data, q=message.q, d=message.d)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        if not stop.is_set():
            errors.append(exc)


def test_api_echo_10000_messages_lossy_line_slow_reader(x25_pair):
    """WANPIPE's promise: nothing the link layer acknowledged is lost, whatever the application does."""
    lossy = {"type": "t1", "impair": {"loss": 1}}
    api = {"name": "wp1_api", "mode": "api"}
    a, b = x25_pair(
        _x25("dte", A_ADDR),
        [api, _ip_iface("wp1_x25", B_ADDR, "10.0.0.1/30", "10.0.0.2")],
        _x25("dce", B_ADDR),
        [api, _ip_iface("wp1_x25", A_ADDR, "10.0.0.2/30", "10.0.0.1")],
        line=lossy,
    )
    stop, errors = threading.Event(), []
    listener = X25Listener(str(b.state_dir / "api" / "wp1_api"))  # listening before the call comes
    server = threading.Thread(target=_echo_server, args=(listener, stop, errors), daemon=True)
    server.start()
    total = 10_000
    circuit = X25Socket.connect(
        str(a.state_dir / "api" / "wp1_api"), B_ADDR, user_data=b"\x01echo", timeout=30
    )
    sender_errors: list[BaseException] = []

    def send_all() -> None:
        try:
            for n in range(total):  # blocks whenever the line (or the slow reader) holds it back
                circuit.send(n.to_bytes(4, "big") + b"x" * 28, q=n % 97 == 0, d=False)
        except BaseException as exc:  # noqa: BLE001
            sender_errors.append(exc)

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    received = []
    try:
        # IP on the same line at the same time: routed LCNs and API LCNs side by side
        assert ping(a, "10.0.0.2", count=3) == (3, 3)
        while len(received) < total:
            message = circuit.recv()
            received.append((int.from_bytes(message.data[:4], "big"), message.q))
            if len(received) % 500 == 0:
                time.sleep(0.3)  # a deliberately slow reader: the far end must be held back, not dropped
    finally:
        stop.set()
        circuit.clear()
    sender.join(30)
    assert not sender_errors and not errors, (sender_errors, errors)
    assert [n for n, _q in received] == list(range(total))  # exactly once, in order
    assert all(q == (n % 97 == 0) for n, q in received)  # the Q bit travelled both ways
    for site in (a, b):
        line = _line(site)
        port = line["counters"]
        assert port["rx_line_loss"] > 0, "the line lost nothing: the test proves nothing"
        assert port["rx_overruns"] == 0
        drops = {k: v for k, v in _walk(line.get("api", {})) if "drop" in k or "lost" in k}
        assert not any(drops.values()), drops
        # nor in the firmware: no message thrown away by a reset, no link reset, nothing unowned
        losses = {
            k: v
            for k, v in _walk(line["protocol"])
            if k.rsplit(".", 1)[-1]
            in ("lost_messages", "link_resets", "data_no_owner", "resets_tx", "resets_rx")
        }
        assert losses and not any(losses.values()), losses
    assert _line(a)["protocol"]["link"]["counters"]["retransmissions"] > 0


def _walk(tree: object, prefix: str = ""):  # noqa: ANN202
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _walk(value, f"{prefix}.{key}")
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        yield prefix, tree


def test_raw_frame_api_on_a_frame_relay_dlci(netns, tmp_path):
    from tests.integration.sites import fr_device

    sa, sb = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    sites = []
    for name, station, local, remote in (("b", "node", sb, sa), ("a", "cpe", sa, sb)):
        doc = fr_device(
            station=station,
            dlcis=[16, 17],
            interfaces=[
                {"name": "wp1_fr16", "dlci": 16, "address": "10.0.0.1/30" if name == "a" else "10.0.0.2/30"},
                {"name": "wp1_fr17", "dlci": 17, "mode": "api"},
            ],
            local=local,
            remote=remote,
        )
        site = Site(netns(), [write(tmp_path / name / "wanpipe1.yaml", doc)], tmp_path / f"{name}.log")
        site.start()
        sites.append(site)
        assert wait_until(lambda p=local: Path(p).exists(), 10), site.log_text()
    b, a = sites
    try:
        for site in sites:
            assert wait_until((site.state_dir / "api" / "wp1_fr17").exists, 10), site.log_text()
            assert site.wait_carrier("wp1_fr16"), site.log_text()
        with (
            RawChannel.open(str(a.state_dir / "api" / "wp1_fr17"), timeout=10) as ra,
            RawChannel.open(str(b.state_dir / "api" / "wp1_fr17"), timeout=10) as rb,
        ):
            for channel in (ra, rb):  # the PVC was active before we opened: told so on connect
                assert channel.status.usable
            frames = [bytes([n % 256]) * (1 + n % 300) for n in range(200)]
            for frame in frames:
                ra.send(frame)
            assert [rb.recv() for _ in frames] == frames
            rb.send(b"back")
            assert ra.recv() == b"back"
        assert ping(a, "10.0.0.2") == (3, 3)  # the IP DLCI next to it carries on
    finally:
        for site in sites:
            site.stop()


def test_ip_over_xot_between_namespaces(x25_pair, netns):
    """XOT (RFC 1613): the X.25 packets ride TCP port 1998 across an underlay between the namespaces."""
    ns_a, ns_b = netns(), netns()
    nsutil.veth_pair(ns_a, ns_b, "under0", "192.0.2.1/24", "192.0.2.2/24")
    serial = {"type": "serial", "clock_rate": "unlimited"}
    a, b = x25_pair(
        _x25("dte", A_ADDR),
        [_ip_iface("wp1_x25", B_ADDR, "10.0.0.1/30", "10.0.0.2")],
        _x25("dce", B_ADDR),
        [_ip_iface("wp1_x25", A_ADDR, "10.0.0.2/30", "10.0.0.1")],
        line=serial,
        transports=(
            {"type": "xot", "local": "192.0.2.1:1998", "remote": "192.0.2.2:1998"},
            {"type": "xot", "local": "192.0.2.2:1998", "remote": "192.0.2.1:1998"},
        ),
        namespaces=(ns_a, ns_b),
    )
    assert ping(a, "10.0.0.2", count=5) == (5, 5)
    assert ping(b, "10.0.0.1", count=5) == (5, 5)
    assert "xot" in _line(a)["transport"]
