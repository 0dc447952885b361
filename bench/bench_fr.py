"""Frame Relay over wand, measured against theory and against kernel/C paths, in one run.

Run as root from the repository: .venv/bin/python bench/bench_fr.py [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_emu.phy.theory import serialization_rtt, tcp_goodput  # noqa: E402
from wand import lab, netns  # noqa: E402

T1_RATE = 1_536_000
PING_IP_BYTES = 84  # 56 data + 8 ICMP + 20 IP


def iperf(client_ns: str, server_ns: str, server_ip: str, seconds: int) -> float:
    return lab.iperf3(client_ns, server_ns, server_ip, seconds)["end"]["sum_received"]["bits_per_second"]


def ping_avg(ns: str, dst: str, count: int = 50) -> float:
    out = netns.run(ns, ["ping", "-c", str(count), "-i", "0.02", "-W", "2", dst]).stdout
    for line in out.splitlines():
        if line.startswith("rtt"):
            return float(line.split("=")[1].split("/")[1])
    raise RuntimeError(f"ping {dst} from {ns} failed:\n{out}")


@contextmanager
def wand_lab(line: str) -> Iterator[None]:
    lab.up(lab.default_config_dir(), line, switch=False)
    try:
        time.sleep(1)
        yield
    finally:
        lab.down()


@contextmanager
def veth_pair(prefix: str) -> Iterator[tuple[str, str]]:
    a, b = f"{prefix}1", f"{prefix}2"
    for ns in (a, b):
        netns.add(ns)
    try:
        netns.veth_pair(a, b, "v0", "10.9.0.1/30", "10.9.0.2/30")
        yield a, b
    finally:
        for ns in (a, b):
            netns.delete(ns)


@contextmanager
def socat_tunnel() -> Iterator[tuple[str, str]]:
    """socat TUN<->UDP between two namespaces joined by a veth underlay."""
    with veth_pair("wbench-s") as (a, b):
        procs = []
        for ns, tun_addr, peer in ((a, "10.8.0.1/30", "10.9.0.2"), (b, "10.8.0.2/30", "10.9.0.1")):
            argv = [
                "socat",
                f"UDP:{peer}:7000,bind=:7000",
                f"TUN:{tun_addr},tun-type=tun,tun-name=st0,iff-up,iff-no-pi",
            ]
            procs.append(netns.popen(ns, argv, stderr=subprocess.DEVNULL))
        try:
            if not netns.wait_for(lambda: all(netns.link_flags(ns, "st0") for ns in (a, b)), 10):
                raise RuntimeError("socat tunnel did not come up")
            yield a, b
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    s = args.seconds
    results: dict[str, float] = {}

    with wand_lab("t1"):
        results["t1_goodput_bps"] = iperf("siteA", "siteB", "10.0.0.2", s)
        results["t1_theory_bps"] = tcp_goodput(T1_RATE)
        results["t1_rtt_ms"] = ping_avg("siteA", "10.0.0.2")
        results["t1_rtt_model_ms"] = serialization_rtt(T1_RATE, PING_IP_BYTES) * 1e3
    with wand_lab("serial:unlimited"):
        results["unpaced_bps"] = iperf("siteA", "siteB", "10.0.0.2", s)
        results["unpaced_rtt_ms"] = ping_avg("siteA", "10.0.0.2")
    with veth_pair("wbench-v") as (a, b):
        results["veth_bps"] = iperf(a, b, "10.9.0.2", s)
        results["veth_rtt_ms"] = ping_avg(a, "10.9.0.2")
    with socat_tunnel() as (a, b):
        results["socat_bps"] = iperf(a, b, "10.8.0.2", s)
        results["socat_rtt_ms"] = ping_avg(a, "10.8.0.2")

    ratios = {
        "T1 goodput / theory (target >= 0.99)": results["t1_goodput_bps"] / results["t1_theory_bps"],
        "T1 idle RTT - serialization model, ms (target <= 0.3)": results["t1_rtt_ms"]
        - results["t1_rtt_model_ms"],
        "unpaced throughput / veth": results["unpaced_bps"] / results["veth_bps"],
        "unpaced RTT / veth RTT": results["unpaced_rtt_ms"] / results["veth_rtt_ms"],
        "unpaced throughput / socat (target >= 2)": results["unpaced_bps"] / results["socat_bps"],
        "unpaced RTT / socat RTT": results["unpaced_rtt_ms"] / results["socat_rtt_ms"],
    }
    print(f"{'figure':58} {'value':>10}")
    for name, value in ratios.items():
        print(f"{name:58} {value:10.3f}")
    print()
    for name, value in results.items():
        print(
            f"  {name:22} {value / 1e6:10.3f} Mb/s"
            if name.endswith("bps")
            else f"  {name:22} {value:10.3f} ms"
        )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"raw": results, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
