"""Build and run wand sites in throwaway namespaces for the integration tests.

Configs are generated with short LMI timers so that link-up and failure
detection take seconds, not the standard's tens of seconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from wand import netns

SHORT_TIMERS = {"t391": 1, "t392": 2, "n391": 2, "n392": 2, "n393": 3}


def interface(
    name: str, dlci: int, address: str, peer: str, routes: list[dict] | None = None, **extra: object
) -> dict:
    return {
        "dlci": dlci,
        "name": name,
        "address": address,
        "peer": peer,
        "prefix": 30,
        "routes": routes or [],
        **extra,
    }


def fr_device(
    *,
    station: str,
    dlcis: list[int],
    interfaces: list[dict],
    local: str,
    remote: str,
    line: dict | None = None,
    switch: list[dict] | None = None,
    port: int = 1,
    device: str = "wanpipe1",
    signalling: str = "ansi",
) -> dict:
    doc: dict = {
        "device": device,
        "adapter": {"name": "a1", "port": port},
        "line": line or {"type": "t1"},
        "protocol": {
            "type": "frame_relay",
            "station": station,
            "signalling": signalling,
            **SHORT_TIMERS,
            "dlcis": [{"dlci": d} for d in dlcis],
        },
        "interfaces": interfaces,
        "transport": {"type": "unix", "local": local, "remote": remote},
    }
    if switch:
        doc["switch"] = switch
    return doc


def write(path: Path, doc: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


@dataclass
class Site:
    ns: str
    configs: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    lan: str | None = None
    extra: dict = field(default_factory=dict)

    def start(self) -> None:
        logf = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.proc = netns.popen(
            self.ns,
            [sys.executable, "-m", "wand", "-v", "run", "--state-dir", str(self.state_dir), *self.configs],
            stdout=logf,
            stderr=logf,
        )

    @property
    def state_dir(self) -> Path:
        return self.log.with_suffix(".state")

    def status(self) -> dict:
        """Ask the daemon for its status (SIGUSR1) and read the JSON it writes."""
        path = self.state_dir / "status.json"
        path.unlink(missing_ok=True)
        self.signal(signal.SIGUSR1)
        assert netns.wait_for(path.exists, 10), self.log_text()
        return json.loads(path.read_text())

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
        return netns.run(self.ns, argv, **kw)

    def flags(self, ifname: str) -> str | None:
        return netns.link_flags(self.ns, ifname)

    def carrier(self, ifname: str) -> bool:
        flags = self.flags(ifname)
        return flags is not None and "LOWER_UP" in flags.split(",")

    def wait_carrier(self, ifname: str, up: bool = True, timeout: float = 20.0) -> bool:
        return netns.wait_for(lambda: self.carrier(ifname) == up, timeout)

    def routes(self) -> str:
        return self.run(["ip", "route"]).stdout

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def add_lan(self, cidr: str) -> None:
        netns.add_lan(self.ns, cidr)
        self.lan = cidr.split("/")[0]


def ping(
    site: Site, dst: str, count: int = 3, interval: float = 0.2, src: str | None = None
) -> tuple[int, int]:
    argv = ["ping", "-c", str(count), "-i", str(interval), "-W", "2"]
    if src:
        argv += ["-I", src]
    out = site.run([*argv, dst]).stdout
    for text in out.splitlines():
        if "transmitted" in text:
            parts = text.split(",")
            return int(parts[0].split()[0]), int(parts[1].split()[0])
    return count, 0


def wait_until(predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
    return netns.wait_for(predicate, timeout)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def ping_rtt(site: Site, dst: str, count: int = 5) -> float:
    """Average RTT in ms (fails the test if nothing came back)."""
    out = site.run(["ping", "-c", str(count), "-i", "0.2", "-W", "3", dst]).stdout
    for text in out.splitlines():
        if text.startswith("rtt"):
            return float(text.split("=")[1].split("/")[1])
    raise AssertionError(f"no ping reply from {dst}:\n{out}")
