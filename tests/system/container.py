"""A real systemd as PID 1 of throwaway namespaces, for the system tests.

How the "container" is built (nothing here needs systemd running on the
host, and nothing it does reaches the host):

- `unshare --pid --fork --mount --net --uts --ipc --cgroup --propagation
  private --kill-child`: a PID namespace whose PID 1 will be systemd, private
  mounts, and a fresh network namespace, so the service's interfaces (and the
  far site's namespace, made inside) never touch the host's. --kill-child: if
  the test process dies, the kernel kills PID 1 and with it the namespace.
  (No --mount-proc: INIT_SCRIPT mounts /proc itself, see below.)
- The process first moves itself into a new child of the test's cgroup v2,
  and the cgroup namespace is rooted there: systemd manages its units below
  that directory only, which the fixture removes at the end.
- `setpriv --bounding-set` drops the capabilities a container must not have:
  systemd would otherwise load kernel modules, touch the clock, and so on.
- INIT_SCRIPT then, before exec'ing systemd, replaces /proc, /run, /dev and
  /sys, each after detaching the host's mounts there (left shadowed under a
  new mount, they stay in /proc/self/mountinfo, systemd fails to unmount them
  at poweroff and the shutdown transaction hangs): a fresh /proc; a tmpfs on
  /run with the test's units in /run/systemd/system; a private /dev (null,
  zero, full, random, urandom, tty, net/tun, a new devpts, and a pty of ours
  as /dev/console, like systemd-nspawn: journald's /dev/log symlink stays
  inside); a read-only sysfs of our network namespace with cgroup2 on
  /sys/fs/cgroup; /proc/sys read-only but for /proc/sys/net, which is per
  network namespace (the rest is host-wide, and PID 1 would bump e.g.
  fs.file-max); a tmpfs over /var/log/journal (journald is also told
  Storage=volatile).
- systemd runs with `container=other` (no hardware units), with
  $SYSTEMD_UNIT_PATH=/run/systemd/system and no generators: it sees only the
  units copied there -- the targets its default dependencies need, journald
  and its sockets, and the wand units -- so nothing else (udev, tmpfiles,
  sysctl, fstab mounts) ever starts. `--unit=wand-test.target` is the default
  target: journald and basic.target. PID 1 logs to the journal (so
  `journalctl -u` shows "Main process exited", "Watchdog timeout"), its status
  lines go to the console pty, kept for failure messages.

Tests drive it with `nsenter -t PID1 -a systemctl|journalctl|ip ...` and end it
with `systemctl poweroff`; the fixture then checks that PID 1 exited cleanly
and that no process, network namespace, interface, mount or cgroup is left.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SYSTEMD = Path("/lib/systemd/systemd")
UNIT_SOURCES = (Path("/lib/systemd/system"), Path("/usr/lib/systemd/system"))
# Copied from the distribution: the targets that services' default dependencies
# (sysinit.target, basic.target, shutdown.target) and the wand units' After=
# name, journald, and what poweroff needs. None of these targets' .wants/
# directories come along, which is the point.
SYSTEM_UNITS = (
    "sysinit.target",
    "basic.target",
    "sockets.target",
    "paths.target",
    "timers.target",
    "slices.target",
    "local-fs.target",
    "swap.target",
    "network-pre.target",
    "shutdown.target",
    "umount.target",
    "final.target",
    "poweroff.target",
    "systemd-poweroff.service",
    "exit.target",
    "systemd-exit.service",
    "systemd-journald.service",
    "systemd-journald.socket",
    "systemd-journald-dev-log.socket",
)
TEST_TARGET = """\
[Unit]
Description=wand system test
Requires=basic.target systemd-journald.service
After=basic.target systemd-journald.service
AllowIsolate=yes
"""
JOURNALD_CONF = """\
[Journal]
# Never the host's /var/log/journal, never the host's console, kmsg or terminals.
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
"""
# Capabilities PID 1 of the container must not have (the rest are systemd-nspawn's set).
DROPPED_CAPS = (
    "sys_module",
    "sys_time",
    "sys_rawio",
    "sys_boot",
    "syslog",
    "wake_alarm",
    "mac_admin",
    "mac_override",
    "audit_control",
)
INIT_SCRIPT = r"""#!/bin/sh
# PID 1 of the test container until it exec's systemd: see tests/system/container.py.
set -eu
stage=$1 console=$2

# Lazily unmount $1 and everything below it, in our private mount namespace only.
# A file system mounted over them would leave the host's mounts shadowed but still
# in /proc/self/mountinfo, where systemd finds them and fails to unmount them at
# shutdown.
detach() {
    for m in $(awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}

detach /proc
mount -t proc -o nosuid,nodev,noexec proc /proc
detach /run
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/systemd/system /run/systemd/journald.conf.d /run/wand-test/dev
cp -a "$stage"/units/. /run/systemd/system/
cp "$stage"/journald.conf /run/systemd/journald.conf.d/zz-wand-test.conf

d=/run/wand-test/dev
mount -t tmpfs -o mode=0755,nosuid tmpfs "$d"
for n in null zero full random urandom tty; do
    touch "$d/$n"
    mount --bind "/dev/$n" "$d/$n"
done
mkdir "$d/net" "$d/pts" "$d/shm"
touch "$d/net/tun" "$d/console"
mount --bind /dev/net/tun "$d/net/tun"
mount --bind "$console" "$d/console"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$d/pts"
ln -s pts/ptmx "$d/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d/shm"
ln -s /proc/self/fd "$d/fd"
ln -s /proc/self/fd/0 "$d/stdin"
ln -s /proc/self/fd/1 "$d/stdout"
ln -s /proc/self/fd/2 "$d/stderr"
detach /dev
mount --move "$d" /dev

detach /sys
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
mount --bind /proc/sys/net /proc/sys/net
mount --rbind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 tmpfs /var/log/journal; fi

exec env -i container=other SYSTEMD_UNIT_PATH=/run/systemd/system \
    SYSTEMD_GENERATOR_PATH=/run/wand-test/none SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/wand-test/none \
    /lib/systemd/systemd --unit=wand-test.target --log-target=journal --log-color=no --show-status=yes
"""
_counter = itertools.count(1)


# -- skip when the machine cannot do it ---------------------------------------------
def _cgroup2_mount() -> Path | None:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return Path(fields[4])
    return None


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "system tests need root (namespaces, mounts, TUN)"
    if not SYSTEMD.exists():
        return f"system tests need systemd installed ({SYSTEMD})"
    for tool in ("unshare", "nsenter", "setpriv", "ip"):
        if shutil.which(tool) is None:
            return f"system tests need `{tool}`"
    if not os.path.exists("/dev/net/tun"):
        return "system tests need /dev/net/tun"
    if _cgroup2_mount() is None:
        return "system tests need a cgroup2 hierarchy mounted on the host"
    return None


# -- the wand units, pointed at the code under test ----------------------------------
def wand_command() -> str:
    """What replaces /usr/local/bin/wand in the units: the installed console script
    next to this interpreter (a venv from scripts/install.sh), else `python -m wand`."""
    script = Path(sys.executable).with_name("wand")
    return str(script) if script.exists() else f"{sys.executable} -m wand"


def _under_home(path: Path) -> bool:
    return any(path == home or home in path.parents for home in (Path("/root"), Path("/home")))


def dropin_for_tests() -> str:
    """Settings only the test needs; the hardening of the shipped unit stays as it is,
    except where the interpreter itself lives in a home directory (pyenv in /root):
    ProtectHome=yes would hide it, so those paths alone are bound into a tmpfs home."""
    lines = [
        "[Service]",
        f"Environment=PYTHONPATH={REPO} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1",
        "LimitCORE=0",  # the watchdog test aborts the daemon: no core dump to the host's core_pattern
    ]
    exposed = sorted(
        {str(p) for p in map(Path, (sys.prefix, sys.base_prefix, REPO)) if _under_home(p.resolve())}
    )
    if exposed:
        lines += ["ProtectHome=tmpfs", *(f"BindReadOnlyPaths={p}" for p in exposed)]
    return "\n".join(lines) + "\n"


def render_unit(name: str, etc_dir: Path) -> str:
    """The shipped unit with the test's wand and config directory substituted."""
    text = (REPO / "systemd" / name).read_text()
    for old, new in (("/usr/local/bin/wand", wand_command()), ("/etc/wand/", f"{etc_dir}/")):
        assert old in text, f"systemd/{name} no longer mentions {old}"
        text = text.replace(old, new)
    return text


# -- the container -----------------------------------------------------------------
def _ns_inode(pid: int, kind: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except OSError:
        return None


def host_snapshot() -> dict[str, set[str]]:
    """The host state the container must not change. Other tests (and the lab) may add and
    remove network namespaces meanwhile, so only what appears is compared, and /run/netns
    mounts are theirs: the container's /run is its own tmpfs."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    mounts = (line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    return {
        "interfaces": set(re.findall(r"^\d+: ([^:@]+)", links, re.MULTILINE)),
        "mounts": {m for m in mounts if not m.startswith("/run/netns/")},
        "/dev/log": {"/dev/log"} if os.path.lexists("/dev/log") else set(),
    }


@dataclass
class Container:
    """A running systemd in its own namespaces; `pid` is its PID 1 as the host sees it."""

    stage: Path
    etc: Path  # the config directory the wand units read (/etc/wand in production)
    proc: subprocess.Popen[bytes] | None = None
    pid: int = 0
    pidns: int | None = None
    netns: set[int] = field(default_factory=set)  # inodes of the network namespaces made inside
    cgroup: Path | None = None
    exit_code: int | None = None
    _console: bytearray = field(default_factory=bytearray)
    _console_fd: int = -1
    _reader: threading.Thread | None = None

    # -- boot and shutdown ---------------------------------------------------------
    def boot(self, timeout: float = 30.0) -> None:
        mount = _cgroup2_mount()
        assert mount is not None
        own = Path("/proc/self/cgroup").read_text().split("0::", 1)[1].splitlines()[0].lstrip("/")
        self.cgroup = mount / own / f"wand-systest-{os.getpid()}-{next(_counter)}"
        self.cgroup.mkdir()
        master, slave = os.openpty()
        self._console_fd = master
        self._reader = threading.Thread(target=self._drain_console, daemon=True)
        self._reader.start()
        argv = [
            "sh",
            "-c",
            'echo $$ > "$0/cgroup.procs" && exec "$@"',
            str(self.cgroup),
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount",  # /proc is mounted by INIT_SCRIPT, once the host's is out of the way
            "--propagation",
            "private",
            "--net",
            "--uts",
            "--ipc",
            "--cgroup",
            "setpriv",
            "--bounding-set",
            ",".join(f"-{cap}" for cap in DROPPED_CAPS),
            str(self.stage / "init.sh"),
            str(self.stage),
            os.ttyname(slave),
        ]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        finally:
            os.close(slave)
        assert wait_for(self._find_pid1, 10), f"the container's PID 1 did not appear\n{self.console()}"
        self.pidns = _ns_inode(self.pid, "pid")
        self.netns.add(_ns_inode(self.pid, "net") or 0)
        state = ""

        def booted() -> bool:
            nonlocal state
            state = self.run(["systemctl", "is-system-running"]).stdout.strip()
            return state in ("running", "degraded")

        assert wait_for(booted, timeout), f"systemd did not boot: {state!r}\n{self.console()}"

    def _find_pid1(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"unshare exited with {self.proc.returncode}\n{self.console()}")
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            if children:
                pid = int(children[0])
                # PID 1 is up once it runs systemd, not the init script any more.
                if Path(f"/proc/{pid}/exe").resolve() == SYSTEMD.resolve():
                    self.pid = pid
                    return True
        return False

    def _drain_console(self) -> None:
        """PID 1 writes its status to /dev/console, our pty: keep reading so it never blocks."""
        while True:
            try:
                data = os.read(self._console_fd, 65536)
            except OSError:  # EIO: every slave end is closed, the container is gone
                return
            if not data:
                return
            self._console.extend(data)

    def console(self) -> str:
        return self._console.decode(errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def poweroff(self, timeout: float = 30.0) -> int:
        """`systemctl poweroff` and wait for PID 1 to exit; returns unshare's exit status."""
        assert self.proc is not None
        if self.alive and self.pid:
            # --no-wall: the wall message would go to the terminals in utmp -- the host's.
            self.run(["systemctl", "--no-wall", "poweroff"], timeout=timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        return self.kill()

    def kill(self) -> int:
        """Last resort (and idempotent): SIGKILL unshare, whose --kill-child takes PID 1 along."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        return self.exit_code

    def leftovers(self) -> list[str]:
        """Processes still in the container's PID namespace, and its cgroup (removed here)."""
        found: list[str] = []
        if self.pidns is not None:

            def stragglers() -> list[int]:
                return [
                    int(p)
                    for p in os.listdir("/proc")
                    if p.isdigit() and _ns_inode(int(p), "pid") == self.pidns
                ]

            wait_for(lambda: not stragglers(), 10)
            if stragglers():
                found.append(f"processes left in the container's PID namespace: {stragglers()}")
        in_netns = [p for p in os.listdir("/proc") if p.isdigit() and _ns_inode(int(p), "net") in self.netns]
        if in_netns:
            found.append(f"processes left in the container's network namespaces: {in_netns}")
        if self.cgroup is not None and self.cgroup.exists():
            for _ in range(50):  # cgroups empty out a moment after their last process is reaped
                for path in sorted(self.cgroup.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                    if path.is_dir():
                        with contextlib.suppress(OSError):
                            path.rmdir()
                with contextlib.suppress(OSError):
                    self.cgroup.rmdir()
                if not self.cgroup.exists():
                    break
                time.sleep(0.1)
            else:
                found.append(f"cgroup {self.cgroup} could not be removed")
        return found

    def close(self) -> None:
        if self._console_fd >= 0:
            os.close(self._console_fd)
            self._console_fd = -1

    # -- driving it --------------------------------------------------------------------
    def run(
        self, argv: list[str], timeout: float = 60.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside every namespace of the container (its mounts, network, PIDs)."""
        result = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-a", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "SYSTEMD_PAGER": ""},
        )
        if check:
            assert result.returncode == 0, f"{argv}: {result.returncode}\n{result.stdout}{result.stderr}"
        return result

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(["systemctl", "--no-pager", *args], check=check)

    def show(self, unit: str, prop: str) -> str:
        return self.systemctl("show", "--value", "-p", prop, unit).stdout.strip()

    def journal(self, unit: str, output: str = "cat") -> str:
        return self.run(["journalctl", "--no-pager", "-u", unit, "-o", output], check=True).stdout

    def install_dropin(self, unit: str, name: str, text: str) -> None:
        """A drop-in in the container's /run/systemd/system, then daemon-reload."""
        directory = Path(f"/proc/{self.pid}/root/run/systemd/system/{unit}.d")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.conf").write_text(text)
        self.systemctl("daemon-reload")

    def add_netns(self, name: str) -> None:
        """`ip netns add` inside: the name lives in the container's /run, not the host's."""
        self.run(["ip", "netns", "add", name], check=True)
        self.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        self.netns.add(os.stat(f"/proc/{self.pid}/root/run/netns/{name}").st_ino)

    def links(self, netns: str | None = None) -> dict[str, str]:
        """Interface name -> its flags, in the container's namespace or in `netns` inside it."""
        argv = ["ip", *(["-n", netns] if netns else []), "-o", "link", "show"]
        out = self.run(argv, check=True).stdout
        return dict(re.findall(r"^\d+: ([^:@]+)[^<]*<([^>]*)>", out, re.MULTILINE))

    def carrier(self, ifname: str, netns: str | None = None) -> bool:
        return "LOWER_UP" in self.links(netns).get(ifname, "").split(",")


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def prepare(tmp_path: Path) -> Container:
    """Stage a container's units and init script under tmp_path (not booted yet)."""
    stage = tmp_path / "stage"
    units = stage / "units"
    units.mkdir(parents=True)
    for name in SYSTEM_UNITS:
        source = next((d / name for d in UNIT_SOURCES if (d / name).exists()), None)
        if source is None:
            raise FileNotFoundError(f"systemd unit {name} not found in {UNIT_SOURCES}")
        shutil.copy(source, units / name)
    (units / "wand-test.target").write_text(TEST_TARGET)
    etc = tmp_path / "etc-wand"
    etc.mkdir()
    for name in ("wand.service", "wand@.service"):
        (units / name).write_text(render_unit(name, etc))
        (units / f"{name}.d").mkdir()
        (units / f"{name}.d" / "test.conf").write_text(dropin_for_tests())
    (stage / "journald.conf").write_text(JOURNALD_CONF)
    init = stage / "init.sh"
    init.write_text(INIT_SCRIPT)
    init.chmod(0o755)
    return Container(stage=stage, etc=etc)
