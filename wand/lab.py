"""`wand lab`: two sites (and optionally a carrier switch) in network namespaces.

    siteA [lan0 192.168.1.1/24, wp1_fr16 10.0.0.1/30] ══ T1 ══ [wp1_fr16 10.0.0.2/30, lan0 192.168.2.1/24] siteB

Without --switch the sites are back to back and siteB is the DCE. With
--switch a third namespace, `carrier`, runs wand as the Frame Relay switch
(DLCI 16 at A <-> DLCI 17 at B). Each site runs its own daemon, as it would on
its own router. Everything lives in namespaces this module creates; the host's
own namespace is never given an address or a route.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from firmware_emu.phy.theory import IPV4_TCP_HEADERS, async_tcp_goodput, frame_bits, tcp_goodput
from firmware_emu.x25.config import X25Config
from wand import netns

STATE_DIR = Path("/run/wand/lab")
SITES = ("siteA", "siteB")
CARRIER = "carrier"
LAN = {"siteA": "192.168.1.1/24", "siteB": "192.168.2.1/24"}
WAN = {"siteA": "10.0.0.1", "siteB": "10.0.0.2"}
UP_TIMEOUT = 40.0
# bytes in front of each IP packet: FR address + control + NLPID; Cisco HDLC address,
# control, ethertype; PPP FF 03 + protocol (no ACFC/PFC by default). X.25: in front of
# each packet, 3 octets of packet header and LAPB's address and control (modulo 8 at
# both layers; each modulo 128 adds one); a datagram takes ceil(size / packet_size) packets.
HEADER_BYTES = {"frame_relay": 4, "chdlc": 4, "ppp": 4, "x25": 3 + 2}


def default_config_dir() -> Path:
    env = os.environ.get("WAND_LAB_CONFIG")
    if env:
        return Path(env)
    for candidate in (Path(__file__).resolve().parents[1] / "etc" / "lab", Path("/etc/wand/lab")):
        if candidate.is_dir():
            return candidate
    return Path("/etc/wand/lab")


def parse_line(spec: str) -> dict:
    """`t1`, `e1`, `serial:RATE` (bits/s, k/M suffixes) or `serial:unlimited` -> a `line:` section."""
    kind, _, rate = spec.partition(":")
    if kind in ("t1", "e1") and not rate:
        return {"type": kind}
    if kind == "serial" and rate:
        if rate == "unlimited":
            return {"type": "serial", "clock_rate": "unlimited"}
        scale = {"k": 1_000, "m": 1_000_000}.get(rate[-1].lower(), 1)
        number = rate[:-1] if scale != 1 else rate
        return {"type": "serial", "clock_rate": int(float(number) * scale)}
    raise ValueError(f"bad --line {spec!r}: use t1, e1, serial:RATE or serial:unlimited")


PROTOCOL_DIRS = {"fr": "", "chdlc": "chdlc", "ppp": "ppp", "ppp-async": "ppp-async", "x25": "x25"}
TTY_DIR = Path("/dev/wand-lab")  # the async lab's serial cable: a socat pty pair linked here


def _site_configs(config_dir: Path, switch: bool, protocol: str = "fr") -> dict[str, list[Path]]:
    if switch and protocol != "fr":
        raise ValueError("--switch is a Frame Relay switch: use it with --protocol fr")
    root = config_dir / "switched" if switch else config_dir / PROTOCOL_DIRS[protocol]
    names = [*SITES, CARRIER] if switch else list(SITES)
    found = {ns: sorted((root / ns).glob("wanpipe*.yaml")) for ns in names}
    missing = [ns for ns, files in found.items() if not files]
    if missing:
        raise FileNotFoundError(f"no wanpipe*.yaml for {', '.join(missing)} under {root}")
    return found


def _write_configs(sources: list[Path], dest: Path, line: dict | None) -> list[str]:
    """Copy a site's configs to the state dir, applying a --line override."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        target = dest / src.name
        if line is None:
            shutil.copyfile(src, target)
        else:
            doc = yaml.safe_load(src.read_text())
            keep = {k: v for k, v in doc.get("line", {}).items() if k == "tx_queue_len"}
            doc["line"] = {**line, **keep}
            target.write_text(yaml.safe_dump(doc, sort_keys=False))
        written.append(str(target))
    return written


def _namespaces() -> list[str]:
    return [*SITES, CARRIER]


def up(
    config_dir: Path, line_spec: str | None, switch: bool, verbose: bool = False, protocol: str = "fr"
) -> dict[str, list[str]]:
    present = [ns for ns in _namespaces() if netns.exists(ns)]
    if present:
        raise RuntimeError(f"lab already up (namespaces {', '.join(present)}); run `wand lab down` first")
    line = parse_line(line_spec) if line_spec else None
    configs = _site_configs(config_dir, switch, protocol)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    started: dict[str, list[str]] = {}
    try:
        if protocol == "ppp-async":
            _start_serial_cable()
        for ns, sources in configs.items():
            netns.add(ns)
            started[ns] = _write_configs(sources, STATE_DIR / ns, line)
            if ns in LAN:
                netns.add_lan(ns, LAN[ns])
        # The network side first: a DTE's first LMI poll is lost if the DCE's end of
        # the cable is not there yet, and the next one comes only T391 later.
        for ns in (n for n in (CARRIER, "siteB", "siteA") if n in started):
            _start_daemon(ns, started[ns], verbose)
        for ns in SITES:
            wan_if = _wan_interface(started[ns])
            if not netns.wait_for(lambda ns=ns, i=wan_if: _carrier_up(ns, i), UP_TIMEOUT):
                raise RuntimeError(
                    f"{ns}: {wan_if} did not come up within {UP_TIMEOUT:.0f}s; see {STATE_DIR}/{ns}.log"
                )
    except BaseException:
        down()
        raise
    return started


def _start_daemon(ns: str, files: list[str], verbose: bool) -> None:
    from wand.config import load_device

    log = open(STATE_DIR / f"{ns}.log", "ab")  # noqa: SIM115 - handed to the daemon
    argv = [sys.executable, "-m", "wand", *(["-v"] if verbose else []), "run", *files]
    proc = netns.popen(ns, argv, stdout=log, stderr=log, start_new_session=True)
    (STATE_DIR / f"{ns}.pid").write_text(str(proc.pid))
    sockets = [Path(c.transport.local) for c in map(load_device, files) if c.transport.kind == "unix"]
    if not netns.wait_for(lambda: all(p.exists() for p in sockets) or proc.poll() is not None, 15):
        raise RuntimeError(f"{ns}: wand did not open its line within 15s; see {STATE_DIR}/{ns}.log")
    if proc.poll() is not None:
        raise RuntimeError(f"{ns}: wand exited with {proc.returncode}; see {STATE_DIR}/{ns}.log")


def _start_serial_cable() -> None:
    """A null-modem cable for the async lab: two ptys joined by socat, in the host's
    filesystem (a tty is not a network object, so no namespace is involved)."""
    TTY_DIR.mkdir(parents=True, exist_ok=True)
    ends = [f"pty,raw,echo=0,link={TTY_DIR / name}" for name in ("ttyA", "ttyB")]
    proc = subprocess.Popen(["socat", *ends], stderr=subprocess.DEVNULL, start_new_session=True)
    (STATE_DIR / "cable.pid").write_text(str(proc.pid))
    if not netns.wait_for(lambda: all((TTY_DIR / n).exists() for n in ("ttyA", "ttyB")), 10):
        raise RuntimeError("socat did not create the pty pair under /dev/wand-lab")


def _wan_interface(files: list[str]) -> str:
    from wand.config import load_device

    return load_device(files[0]).interfaces[0].name


def _carrier_up(ns: str, ifname: str) -> bool:
    flags = netns.link_flags(ns, ifname)
    return flags is not None and "LOWER_UP" in flags.split(",")


def down() -> None:
    for ns in _namespaces():
        pidfile = STATE_DIR / f"{ns}.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
    for ns in _namespaces():
        netns.delete(ns)
    cable = STATE_DIR / "cable.pid"
    if cable.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(cable.read_text()), signal.SIGTERM)
        shutil.rmtree(TTY_DIR, ignore_errors=True)
    shutil.rmtree(STATE_DIR, ignore_errors=True)


def ping(src_ns: str, src: str, dst: str, count: int = 5) -> tuple[int, float | None]:
    """(packets received, average RTT in ms) for `count` pings from `src` to `dst`."""
    out = netns.run(src_ns, ["ping", "-c", str(count), "-i", "0.2", "-W", "2", "-I", src, dst]).stdout
    received = 0
    avg = None
    for text in out.splitlines():
        if "received" in text:
            received = int(text.split(",")[1].split()[0])
        if text.startswith("rtt"):
            avg = float(text.split("=")[1].split("/")[1])
    return received, avg


def iperf3(client_ns: str, server_ns: str, server_ip: str, seconds: int) -> dict:
    server = netns.popen(
        server_ns, ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(0.5)
        result = netns.run(
            client_ns, ["iperf3", "-c", server_ip, "-t", str(seconds), "-J"], timeout=seconds + 30
        )
        return json.loads(result.stdout)
    finally:
        server.kill()
        server.wait()


def demo(config_dir: Path, line_spec: str | None, switch: bool, seconds: int, protocol: str = "fr") -> int:
    started = up(config_dir, line_spec, switch, protocol=protocol)
    try:
        from wand.config import load_device

        line = load_device(started["siteA"][0]).line
        cfg = load_device(started["siteA"][0])
        print(
            f"lab up: {cfg.protocol_name} on a {line.kind} line, {'via carrier switch' if switch else 'back to back'}"
        )
        ok = True
        for src_ns, dst_ns in (("siteA", "siteB"), ("siteB", "siteA")):
            src, dst = LAN[src_ns].split("/")[0], LAN[dst_ns].split("/")[0]
            received, avg = ping(src_ns, src, dst)
            ok &= received > 0
            print(f"ping {src_ns} {src} -> {dst_ns} {dst}: {received}/5 received, avg rtt {avg} ms")
        result = iperf3("siteA", "siteB", WAN["siteB"], seconds)
        received_bps = result["end"]["sum_received"]["bits_per_second"]
        print(f"iperf3 siteA -> siteB, {seconds}s: {received_bps / 1e6:.3f} Mb/s goodput")
        if line.bit_rate is not None:
            if getattr(cfg.protocol, "framing", "sync") == "async":
                theory = async_tcp_goodput(line.bit_rate)
            elif isinstance(cfg.protocol, X25Config):
                theory = x25_tcp_goodput(line.bit_rate, cfg.protocol)
            else:
                theory = tcp_goodput(line.bit_rate, header=HEADER_BYTES[cfg.protocol_name])
            print(
                f"  line {line.bit_rate / 1e6:.3f} Mb/s, theoretical TCP goodput {theory / 1e6:.3f} Mb/s, "
                f"ratio {received_bps / theory:.3f}"
            )
        return 0 if ok else 1
    finally:
        down()
        print("lab down")


def x25_tcp_goodput(bit_rate: float, config: X25Config, mtu: int = 1500) -> float:
    """Best TCP goodput over X.25 on LAPB: each datagram is cut into packets of the default
    packet size (IP calls negotiate nothing on LAPB), each in its own I frame; the
    acknowledgements (RR) travel the other way."""
    packet = config.packet
    header = HEADER_BYTES["x25"] + (packet.modulo == 128) + (config.lapb.modulo == 128)
    full, rest = divmod(mtu, packet.packet_size)
    bits = full * frame_bits(packet.packet_size, header) + (frame_bits(rest, header) if rest else 0)
    return bit_rate * (mtu - IPV4_TCP_HEADERS) * 8 / bits


def add_lab_parser(sub: argparse._SubParsersAction) -> None:
    lab = sub.add_parser("lab", help="two sites in network namespaces")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)
    for name, help_text in (("up", "build the lab"), ("demo", "up, ping, iperf3, down")):
        p = lab_sub.add_parser(name, help=help_text)
        p.add_argument("--protocol", choices=sorted(PROTOCOL_DIRS), default="fr")
        p.add_argument("--line", help="t1 (default), e1, serial:RATE or serial:unlimited")
        p.add_argument("--switch", action="store_true", help="route the PVC through a carrier FR switch")
        p.add_argument("--config-dir", type=Path, default=None)
        if name == "demo":
            p.add_argument("--seconds", type=int, default=10)
    lab_sub.add_parser("down", help="remove the lab")


def main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("wand lab: must run as root (it creates network namespaces)", file=sys.stderr)
        return 1
    if args.lab_command == "down":
        down()
        return 0
    config_dir = args.config_dir or default_config_dir()
    try:
        if args.lab_command == "up":
            started = up(config_dir, args.line, args.switch, args.verbose, args.protocol)
            for ns, files in started.items():
                print(f"{ns}: wand running with {' '.join(files)}")
            print("lab up; try: ip netns exec siteA ping -I 192.168.1.1 192.168.2.1")
            return 0
        return demo(config_dir, args.line, args.switch, args.seconds, args.protocol)
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        print(f"wand lab: {exc}", file=sys.stderr)
        return 1
