"""wand.service and wand@.service under a real systemd (see conftest.py for the container).

Two sites back to back over a unix-socket T1: the near site is wand.service in
the container's own network namespace (the Frame Relay DTE), the far site is
wand@far.service in the namespace /run/netns/far made inside the container
(the DCE). Both run the shipped units, only the binary and /etc/wand swapped
for the code under test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.integration.sites import fr_device, interface, write
from tests.system.container import Container, wait_for

NEAR = "wand.service"
FAR = "wand@far.service"
CABLE = "/run/wand/cable"  # under the units' RuntimeDirectory, the only writable place


def write_sites(etc: Path, dlcis: tuple[int, ...] = (16,)) -> None:
    """Near (etc/wanpipe1.yaml, for wand.service) and far (etc/far/, for wand@far)."""
    ends = (
        (etc, "cpe", 1, 2, f"{CABLE}/near.sock", f"{CABLE}/far.sock"),
        (etc / "far", "node", 2, 1, f"{CABLE}/far.sock", f"{CABLE}/near.sock"),
    )
    for directory, station, me, peer, local, remote in ends:
        doc = fr_device(
            station=station,
            dlcis=list(dlcis),
            interfaces=[interface(f"wp1_fr{d}", d, f"10.0.{d}.{me}", f"10.0.{d}.{peer}") for d in dlcis],
            local=local,
            remote=remote,
        )
        write(directory / "wanpipe1.yaml", doc)


def start_sites(box: Container) -> None:
    box.add_netns("far")
    write_sites(box.etc)
    box.systemctl("start", FAR)
    box.systemctl("start", NEAR)


def diagnostics(box: Container, *units: str) -> str:
    parts = [box.systemctl("status", *units, check=False).stdout]
    parts += [box.journal(unit) for unit in units]
    return "\n".join(parts)


def carriers_up(box: Container, ifname: str = "wp1_fr16", timeout: float = 20.0) -> bool:
    return wait_for(lambda: box.carrier(ifname) and box.carrier(ifname, "far"), timeout)


def journal_entries(box: Container, unit: str) -> list[dict]:
    return [json.loads(line) for line in box.journal(unit, "json").splitlines() if line]


def test_start_ready_links_up_and_logs_to_the_journal(container: Container) -> None:
    box = container
    start_sites(box)
    for unit, netns in ((NEAR, None), (FAR, "far")):
        assert box.systemctl("is-active", unit).stdout.strip() == "active"
        # READY=1 only once the lines are initialized: the interface exists when start returns.
        assert "wp1_fr16" in box.links(netns), diagnostics(box, unit)
        assert box.show(unit, "StatusText") == "1 line(s) up"
        assert box.show(unit, "NRestarts") == "0"
    # Same name, two namespaces: each site's interface is where its unit put it.
    assert "inet 10.0.16.1 " in box.run(["ip", "-o", "addr", "show", "wp1_fr16"], check=True).stdout
    assert (
        "inet 10.0.16.2 " in box.run(["ip", "-n", "far", "-o", "addr", "show", "wp1_fr16"], check=True).stdout
    )
    assert carriers_up(box), diagnostics(box, NEAR, FAR)
    ping = box.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.0.16.2"])
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # State changes reach the journal through syslog, with device and interface.
    expected = (
        "wanpipe1: link up",
        "wanpipe1: wp1_fr16: carrier up",
        "wanpipe1: DLCI 16 (wp1_fr16): PVC active",
    )
    assert wait_for(lambda: all(m in box.journal(NEAR) for m in expected), 10), box.journal(NEAR)
    # Everything the daemon logged came through syslog; its stderr is the journal too, and
    # stays quiet, or every line would be there twice. (ExecStartPre's `wand validate`
    # prints its report to stdout: that one is expected, from another PID.)
    daemon = box.show(NEAR, "MainPID")
    entries = [e for e in journal_entries(box, NEAR) if e.get("_PID") == daemon]
    assert {e["_TRANSPORT"] for e in entries} == {"syslog"}
    assert {e["SYSLOG_IDENTIFIER"] for e in entries} == {"wand"}
    messages = [e["MESSAGE"] for e in entries]
    link_up = entries[messages.index("wanpipe1: link up")]
    assert link_up["SYSLOG_FACILITY"] == "3"  # daemon
    assert link_up["PRIORITY"] == "6"  # info
    assert "wanpipe1: link up" in box.journal(FAR)


def test_reload_adds_a_dlci_without_a_restart(container: Container) -> None:
    box = container
    start_sites(box)
    assert carriers_up(box), diagnostics(box, NEAR, FAR)
    pids = {unit: box.show(unit, "MainPID") for unit in (NEAR, FAR)}
    write_sites(box.etc, dlcis=(16, 17))
    box.systemctl("reload", FAR, NEAR)
    assert carriers_up(box, "wp1_fr17"), diagnostics(box, NEAR, FAR)
    for unit in (NEAR, FAR):
        assert box.show(unit, "MainPID") == pids[unit]
        assert wait_for(lambda u=unit: box.show(u, "ActiveState") == "active", 10)
    assert box.carrier("wp1_fr16") and box.carrier("wp1_fr16", "far")
    assert "wanpipe1: DLCI 17 added" in box.journal(NEAR)


def test_kill_9_is_restarted_and_the_interfaces_come_back(container: Container) -> None:
    box = container
    start_sites(box)
    assert carriers_up(box), diagnostics(box, NEAR, FAR)
    old = box.show(NEAR, "MainPID")
    box.run(["kill", "-9", old], check=True)

    def restarted() -> bool:
        return (
            box.show(NEAR, "NRestarts") == "1"
            and box.show(NEAR, "ActiveState") == "active"
            and box.show(NEAR, "MainPID") not in ("0", old)
        )

    assert wait_for(restarted, 20), diagnostics(box, NEAR)
    assert carriers_up(box), diagnostics(box, NEAR, FAR)
    journal = box.journal(NEAR)
    assert "status=9/KILL" in journal
    assert journal.count("wanpipe1: link up") >= 2, journal  # before the kill, and after the restart


def test_stop_leaves_no_interface_behind(container: Container) -> None:
    box = container
    start_sites(box)
    assert carriers_up(box), diagnostics(box, NEAR, FAR)
    box.systemctl("stop", NEAR, FAR)
    for unit, netns in ((NEAR, None), (FAR, "far")):
        assert box.show(unit, "ActiveState") == "inactive"
        assert box.show(unit, "Result") == "success"
        assert not [name for name in box.links(netns) if name.startswith("wp")], box.links(netns)
    assert "wanpipe1: stopped" in box.journal(NEAR)
    cable = Path(f"/proc/{box.pid}/root{CABLE}")
    assert list(cable.iterdir()) == [], "cable sockets left behind"


def test_watchdog_pings_and_a_stuck_daemon_is_restarted(container: Container) -> None:
    box = container
    box.install_dropin(NEAR, "watchdog", "[Service]\nWatchdogSec=2s\n")
    start_sites(box)
    pid = box.show(NEAR, "MainPID")
    time.sleep(5)  # over two watchdog periods: the pings from the event loop keep it alive
    assert box.show(NEAR, "NRestarts") == "0", diagnostics(box, NEAR)
    assert box.show(NEAR, "MainPID") == pid
    # A stopped process sends no pings: systemd must notice and restart it.
    box.run(["kill", "-STOP", pid], check=True)
    assert wait_for(lambda: box.show(NEAR, "NRestarts") == "1", 20), diagnostics(box, NEAR)
    assert wait_for(lambda: box.show(NEAR, "ActiveState") == "active", 10), diagnostics(box, NEAR)
    assert "Watchdog timeout" in box.journal(NEAR)
    assert carriers_up(box), diagnostics(box, NEAR, FAR)


def test_cap_net_admin_is_needed(container: Container) -> None:
    """The other half of the proof that CapabilityBoundingSet=CAP_NET_ADMIN is right:
    the tests above run with it alone, and without it the daemon cannot start."""
    box = container
    box.install_dropin(NEAR, "nocaps", "[Service]\nCapabilityBoundingSet=\nRestart=no\n")
    write_sites(box.etc)
    assert box.systemctl("start", NEAR, check=False).returncode != 0
    assert box.show(NEAR, "ActiveState") == "failed"
    assert "Operation not permitted" in box.journal(NEAR), box.journal(NEAR)
    assert not [name for name in box.links() if name.startswith("wp")]


def test_an_invalid_config_stops_at_exec_start_pre(container: Container) -> None:
    box = container
    write_sites(box.etc)
    path = box.etc / "wanpipe1.yaml"
    path.write_text(path.read_text().replace("dlci: 16", "dlci: 5", 1))
    assert box.systemctl("start", NEAR, check=False).returncode != 0
    # Restart=on-failure retries it too, until the start limit (5 in 10 s) gives up.
    assert wait_for(lambda: box.show(NEAR, "ActiveState") == "failed", 20), diagnostics(box, NEAR)
    journal = box.journal(NEAR)
    assert "wanpipe1.yaml:" in journal and "configuration is NOT valid" in journal, journal
    assert box.show(NEAR, "ExecMainPID") == "0", "wand run must not have been started"
    assert not [name for name in box.links() if name.startswith("wp")]


def test_poweroff_shuts_everything_down(container: Container) -> None:
    box = container
    start_sites(box)
    assert carriers_up(box), diagnostics(box, NEAR, FAR)
    assert box.poweroff() == 0, box.console()
    assert "Stopped wand.service" in box.console() or "Stopped wand" in box.console(), box.console()
    assert box.leftovers() == []
