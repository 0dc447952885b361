"""`tc` works on a wand interface as on a kernel driver: htb below line rate keeps ICMP fast."""

from __future__ import annotations

import subprocess

from tests.integration.sites import ping_rtt, sleep
from wand import netns as nsutil

HTB = [
    "qdisc add dev wp1_fr16 root handle 1: htb default 20",
    "class add dev wp1_fr16 parent 1: classid 1:1 htb rate 1400kbit",
    "class add dev wp1_fr16 parent 1:1 classid 1:10 htb rate 200kbit ceil 1400kbit prio 0",
    "class add dev wp1_fr16 parent 1:1 classid 1:20 htb rate 1200kbit ceil 1400kbit prio 1",
    "filter add dev wp1_fr16 parent 1: protocol ip prio 1 u32 match ip protocol 1 0xff flowid 1:10",
]


def _rtt_under_load(a, b) -> float:  # noqa: ANN001
    server = nsutil.popen(b.ns, ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sleep(0.5)
    client = nsutil.popen(a.ns, ["iperf3", "-c", "10.0.0.2", "-t", "6"], stdout=subprocess.DEVNULL)
    try:
        sleep(2.5)  # let TCP fill whatever queue there is
        return ping_rtt(a, "10.0.0.2", count=10)
    finally:
        client.wait(30)
        server.kill()
        server.wait()


def test_htb_with_icmp_priority_keeps_ping_rtt_low(site_pair):
    # A 100-frame line queue (WANPIPE's default txqueuelen): without shaping TCP keeps
    # it full and ping waits behind it; with htb below line rate it stays empty.
    a, b = site_pair(line={"type": "t1", "tx_queue_len": 100})
    plain = _rtt_under_load(a, b)
    for rule in HTB:
        result = a.run(["tc", *rule.split()])
        assert result.returncode == 0, result.stderr
    assert "htb" in a.run(["tc", "qdisc", "show", "dev", "wp1_fr16"]).stdout
    shaped = _rtt_under_load(a, b)
    stats = a.run(["tc", "-s", "class", "show", "dev", "wp1_fr16"]).stdout
    assert "class htb 1:10" in stats
    # without shaping, ICMP waits behind a full line queue; with it, ICMP skips ahead
    print(f"ping RTT under load: {plain:.1f} ms unshaped, {shaped:.1f} ms with htb")
    assert shaped * 3 < plain, (shaped, plain)
