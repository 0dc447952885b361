"""Three daemons: two CPE sites through a carrier Frame Relay switch (DCE on both legs)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import yaml

from tests.integration.sites import Site, fr_device, ping, wait_until, write


@pytest.fixture
def switched(netns, tmp_path):
    a_ns, c_ns, b_ns = netns(), netns(), netns()
    s = {k: str(tmp_path / f"{k}.sock") for k in ("a", "b", "c1", "c2")}
    a_cfg = write(
        tmp_path / "a" / "wanpipe1.yaml",
        fr_device(
            station="cpe",
            dlcis=[16],
            interfaces=[
                {
                    "dlci": 16,
                    "address": "10.0.0.1/30",
                    "peer": "10.0.0.2",
                    "routes": [{"dst": "192.168.2.0/24", "gateway": "10.0.0.2"}],
                }
            ],
            local=s["a"],
            remote=s["c1"],
        ),
    )
    b_cfg = write(
        tmp_path / "b" / "wanpipe1.yaml",
        fr_device(
            station="cpe",
            dlcis=[17],
            interfaces=[{"dlci": 17, "address": "10.0.0.2/30", "peer": "10.0.0.1"}],
            local=s["b"],
            remote=s["c2"],
        ),
    )
    c1 = write(
        tmp_path / "c" / "wanpipe1.yaml",
        fr_device(
            station="node",
            dlcis=[16],
            interfaces=[],
            local=s["c1"],
            remote=s["a"],
            switch=[{"dlci": 16, "to": "wanpipe2:17"}],
        ),
    )
    c2 = write(
        tmp_path / "c" / "wanpipe2.yaml",
        fr_device(
            station="node",
            dlcis=[17],
            interfaces=[],
            local=s["c2"],
            remote=s["b"],
            port=2,
            device="wanpipe2",
            switch=[{"dlci": 17, "to": "wanpipe1:16"}],
        ),
    )
    sites = (
        Site(a_ns, [a_cfg], tmp_path / "a.log"),
        Site(c_ns, [c1, c2], tmp_path / "c.log"),
        Site(b_ns, [b_cfg], tmp_path / "b.log"),
    )
    sites[0].add_lan("192.168.1.1/24")
    for site in sites:
        site.start()
    try:
        assert sites[0].wait_carrier("wp1_fr16"), sites[1].log_text()
        assert sites[2].wait_carrier("wp1_fr17"), sites[1].log_text()
        yield sites
    finally:
        for site in sites:
            if site.proc and site.proc.poll() is None:
                site.stop()


def test_ping_through_the_switch(switched):
    a, _, b = switched
    assert ping(a, "10.0.0.2") == (3, 3)
    assert ping(b, "10.0.0.1") == (3, 3)


def test_pvc_down_at_switch_gives_no_carrier_and_withdraws_route(switched):
    a, carrier, b = switched
    assert "192.168.2.0/24" in a.routes()
    originals = {}
    for path in carrier.configs:
        originals[path] = Path(path).read_text()
        doc = yaml.safe_load(originals[path])
        doc["protocol"]["dlcis"] = []
        doc.pop("switch")
        Path(path).write_text(yaml.safe_dump(doc))
    carrier.signal(signal.SIGHUP)
    assert a.wait_carrier("wp1_fr16", up=False), a.log_text()
    assert b.wait_carrier("wp1_fr17", up=False), b.log_text()
    assert "NO-CARRIER" in a.flags("wp1_fr16")
    assert "192.168.2.0/24" not in a.routes()
    assert ping(a, "10.0.0.2", count=1) == (1, 0)

    for path, text in originals.items():
        Path(path).write_text(text)
    carrier.signal(signal.SIGHUP)
    assert a.wait_carrier("wp1_fr16"), a.log_text()
    assert b.wait_carrier("wp1_fr17"), b.log_text()
    assert wait_until(lambda: "192.168.2.0/24" in a.routes())
    assert ping(a, "10.0.0.2") == (3, 3)


def test_far_leg_down_makes_pvc_inactive_at_near_end(switched):
    a, _, b = switched
    b.stop()
    assert a.wait_carrier("wp1_fr16", up=False, timeout=30), a.log_text()
    assert "inactive" in a.log_text() or "deleted" in a.log_text()
