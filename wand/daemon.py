"""The wand daemon: hosts the adapters and drives every line from one event loop.

Signal handlers only set flags and wake the main coroutine; the work (stop,
reload) happens there, between I/O callbacks, never inside a handler.
One timerfd carries the earliest deadline of every port (engine timers and
serializer completions), so an idle daemon with many channels wakes only
when something is actually due.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path

from firmware_emu.adapter import Adapter
from wand import commands  # noqa: F401 - registers the control commands
from wand.config import ConfigErrors, format_errors, load_site
from wand.config.model import DeviceConfig
from wand.control import ControlServer
from wand.line import LineDriver
from wand.line_api import ApiChannels
from wand.mgmt.server import MgmtServer
from wand.netlink_worker import NetlinkWorker
from wand.paths import default_state_dir
from wand.sdnotify import notify, start_watchdog
from wand.statusfiles import StatusFiles
from wand.timerfd import TimerFd
from wand.tun import InterfaceExistsError, interface_exists

log = logging.getLogger("wand.daemon")
STATUS_INTERVAL = 1.0  # seconds between refreshes of the /proc-style status files


class StartupError(RuntimeError):
    pass


class Daemon:
    SIGNALS = (
        (signal.SIGTERM, "stop"),
        (signal.SIGINT, "stop"),
        (signal.SIGHUP, "reload"),
        (signal.SIGUSR1, "status"),
    )

    def __init__(self, configs: list[DeviceConfig], config_paths: list[str], state_dir: Path) -> None:
        self.configs = configs
        self.config_paths = config_paths
        self.state_dir = state_dir
        self.adapters: dict[str, Adapter] = {}
        self.lines: dict[str, LineDriver] = {}
        self.admin_stopped: set[str] = set()  # devices stopped by the operator, kept stopped across reloads
        self.control: ControlServer | None = None
        self.mgmt: MgmtServer | None = None  # the wanpipemon UDP protocol
        self.status_files: StatusFiles | None = None
        self._status_timer: asyncio.TimerHandle | None = None
        self.started_at = 0.0
        self._flags: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: TimerFd | None = None
        self._armed: float | None = None
        self.netlink: NetlinkWorker | None = None

    # -- signals: flags only ---------------------------------------------------
    def _flag(self, name: str) -> None:
        self._flags.add(name)
        if self._wake is not None:
            self._wake.set()

    async def run(self, ready: asyncio.Event | None = None) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for sig, flag in self.SIGNALS:
            loop.add_signal_handler(sig, self._flag, flag)
        self.netlink = NetlinkWorker()
        self._timer = TimerFd()
        loop.add_reader(self._timer.fileno(), self._on_timer)
        # WatchdogSec= pings, sent from this loop: if it gets stuck they stop and systemd restarts us.
        watchdog = start_watchdog(loop)
        try:
            self._check_names_free(self.configs)
            for cfg in self.configs:
                self._start_line(cfg)
            self.control = ControlServer(self, self.state_dir)
            await self.control.start()
            self.mgmt = MgmtServer(self)
            self.mgmt.start()
            self.status_files = StatusFiles(self, self.state_dir)
            self._refresh_status_files()
            self.started_at = loop.time()
            log.info("wand: %d line(s) up", len(self.lines))
            notify(f"READY=1\nSTATUS={len(self.lines)} line(s) up")
            if ready is not None:
                ready.set()
            while "stop" not in self._flags:
                await self._wake.wait()
                self._wake.clear()
                if "reload" in self._flags:
                    self._flags.discard("reload")
                    notify("RELOADING=1")
                    try:
                        self.reload()
                    except Exception:  # a failed reload must never take the running lines down
                        log.exception("reload failed; lines keep their current state")
                    notify(f"READY=1\nSTATUS={len(self.lines)} line(s) up")
                if "status" in self._flags:
                    self._flags.discard("status")
                    self.write_status()
            log.info("wand: stopping")
            notify("STOPPING=1")
        finally:
            if self.control is not None:
                self.control.close()
            if self.mgmt is not None:
                self.mgmt.close()
            if self._status_timer is not None:
                self._status_timer.cancel()
            if self.status_files is not None:
                self.status_files.remove()
            for line in list(self.lines.values()):
                self._stop_line(line)
            loop.remove_reader(self._timer.fileno())
            self._timer.close()
            self.netlink.close()
            for sig, _ in self.SIGNALS:
                loop.remove_signal_handler(sig)
            if watchdog is not None:
                watchdog.cancel()

    # -- lines -------------------------------------------------------------------
    def _check_names_free(self, configs: list[DeviceConfig]) -> None:
        taken = [
            i.name
            for c in configs
            for i in c.interfaces
            if not ApiChannels.is_api(i) and interface_exists(i.name)  # API channels have no netdev
        ]
        if taken:
            raise InterfaceExistsError(f"interface(s) already exist: {', '.join(taken)}; nothing was created")

    def _start_line(self, cfg: DeviceConfig) -> None:
        assert self._loop is not None and self.netlink is not None
        adapter = self.adapters.setdefault(cfg.adapter, Adapter(cfg.adapter))
        line = LineDriver(
            cfg,
            adapter,
            self._loop,
            self.netlink,
            self._on_link_change,
            self.lines.get,
            self.rearm,
            self.state_dir,
        )
        line.start(self._loop.time())
        self.lines[cfg.name] = line
        self._on_link_change(line)
        self.rearm()

    def _stop_line(self, line: LineDriver) -> None:
        assert self._loop is not None
        self.lines.pop(line.name, None)
        line.stop(self._loop.time())
        adapter = self.adapters.get(line.cfg.adapter)
        if adapter is not None and not adapter.ports:
            del self.adapters[line.cfg.adapter]

    def _on_link_change(self, line: LineDriver) -> None:
        """A Frame Relay switch reports a PVC active only while its far leg's link is up."""
        assert self._loop is not None
        now = self._loop.time()
        for entry in line.cfg.switch:
            far = self.lines.get(entry.to_device)
            if far is not None:
                far.set_switched_active(entry.to_dlci, line.link_up, now)
                line.set_switched_active(entry.dlci, far.link_up, now)

    # -- timer -------------------------------------------------------------------
    def _on_timer(self) -> None:
        assert self._loop is not None and self._timer is not None
        self._timer.ack()
        self._armed = None
        now = self._loop.time()
        for line in list(self.lines.values()):
            deadline = line.deadline()
            if deadline is not None and deadline <= now:
                line.on_timer(now)
        self.rearm()

    def rearm(self) -> None:
        assert self._timer is not None
        deadlines = [d for d in (line.deadline() for line in self.lines.values()) if d is not None]
        deadline = min(deadlines, default=None)
        if deadline != self._armed:
            self._timer.arm_at(deadline)
            self._armed = deadline

    # -- reload (SIGHUP) ---------------------------------------------------------
    def reload(self) -> None:
        assert self._loop is not None
        try:
            new_configs = load_site(self.config_paths)
        except ConfigErrors as exc:
            log.error("reload refused, keeping the running config:\n%s", format_errors(exc.errors))
            return
        new = {c.name: c for c in new_configs}
        now = self._loop.time()
        for name, line in list(self.lines.items()):
            if name not in new:
                log.info("reload: %s removed", name)
                self._stop_line(line)
            elif line.needs_restart(new[name]):
                log.info("reload: %s changed, restarting the line", name)
                self._stop_line(line)
        self.admin_stopped &= new.keys()
        added = [c for name, c in new.items() if name not in self.lines and name not in self.admin_stopped]
        try:
            self._check_names_free(added)
        except InterfaceExistsError as exc:
            log.error("reload: %s", exc)
            added = []
        for name, cfg in new.items():
            line = self.lines.get(name)
            if line is not None and line.cfg != cfg:
                log.info("reload: %s channels changed", name)
                line.update_channels(cfg, now)
        for cfg in added:
            try:
                self._start_line(cfg)
            except Exception as exc:  # one bad line must not take the others down
                log.error("reload: %s failed to start: %s", cfg.name, exc)
        self.configs = new_configs
        for line in list(self.lines.values()):  # switched PVCs, once both legs are in place
            self._on_link_change(line)
        self.rearm()
        log.info("reload: done, %d line(s)", len(self.lines))

    # -- operator control (wanrouter start|stop|restart wanpipeN) ---------------
    def device_config(self, name: str) -> DeviceConfig:
        for cfg in self.configs:
            if cfg.name == name:
                return cfg
        raise KeyError(name)

    def stop_device(self, name: str) -> None:
        self.device_config(name)
        self.admin_stopped.add(name)
        line = self.lines.get(name)
        if line is not None:
            self._stop_line(line)
            self.rearm()

    def start_device(self, name: str) -> None:
        cfg = self.device_config(name)
        self.admin_stopped.discard(name)
        if name not in self.lines:
            self._check_names_free([cfg])
            self._start_line(cfg)

    def _refresh_status_files(self) -> None:
        """Rewrite the /proc-style status files (only those that changed), then again in a second."""
        assert self._loop is not None
        if self.status_files is not None:
            try:
                self.status_files.write()
            except OSError as exc:
                log.warning("status files: %s", exc)
        self._status_timer = self._loop.call_later(STATUS_INTERVAL, self._refresh_status_files)

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def uptime(self) -> float:
        return self._loop.time() - self.started_at if self._loop is not None else 0.0

    def status(self) -> dict:
        status = {name: line.status() for name, line in sorted(self.lines.items())}
        if self.mgmt is not None:
            status["mgmt"] = self.mgmt.counters()  # requests served and refused (wanpipemon)
        return status

    def write_status(self) -> None:
        """Dump every line's status and counters as JSON (SIGUSR1), atomically."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_dir / "status.json.tmp"
        tmp.write_text(json.dumps(self.status(), indent=2, default=str))
        tmp.replace(self.state_dir / "status.json")


def run(config_paths: list[str], state_dir: Path | None = None) -> int:
    try:
        configs = load_site(config_paths)
    except ConfigErrors as exc:
        log.error("invalid configuration, nothing was started:\n%s", format_errors(exc.errors))
        return 1
    daemon = Daemon(configs, config_paths, state_dir or default_state_dir())
    try:
        asyncio.run(daemon.run())
    except (InterfaceExistsError, StartupError, PermissionError, OSError) as exc:
        log.error("wand: %s", exc)
        return 1
    return 0
