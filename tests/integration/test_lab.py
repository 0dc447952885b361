"""`wand lab`: the one-command demo builds the sites, measures, and leaves nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wand import netns as nsutil

LAB_NAMESPACES = ("siteA", "siteB", "carrier")


@pytest.fixture
def lab_free():
    if any(nsutil.exists(ns) for ns in LAB_NAMESPACES):
        pytest.skip("a wand lab is already up on this machine")
    yield
    subprocess.run([sys.executable, "-m", "wand", "lab", "down"], check=False)


def _links_in_host() -> str:
    return nsutil.ip("-o", "link").stdout


@pytest.mark.parametrize(
    ("protocol", "switch"),
    [("fr", False), ("fr", True), ("chdlc", False), ("ppp", False), ("ppp-async", False), ("x25", False)],
    ids=["fr-back-to-back", "fr-switched", "chdlc", "ppp", "ppp-async-pty", "x25-svc"],
)
def test_lab_demo(lab_free, protocol, switch):
    before = _links_in_host()
    argv = [sys.executable, "-m", "wand", "lab", "demo", "--protocol", protocol, "--seconds", "3"]
    argv += ["--switch"] if switch else []
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5/5 received" in result.stdout
    assert "theoretical TCP goodput" in result.stdout
    for ns in LAB_NAMESPACES:
        assert not nsutil.exists(ns)
    assert _links_in_host() == before


def test_lab_up_then_down(lab_free):
    up = subprocess.run(
        [sys.executable, "-m", "wand", "lab", "up", "--line", "serial:256k"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    assert "LOWER_UP" in nsutil.link_flags("siteA", "wp1_fr16")
    again = subprocess.run(
        [sys.executable, "-m", "wand", "lab", "up"], capture_output=True, text=True, timeout=60
    )
    assert again.returncode != 0 and "already up" in again.stderr
    down = subprocess.run(
        [sys.executable, "-m", "wand", "lab", "down"], capture_output=True, text=True, timeout=60
    )
    assert down.returncode == 0
    assert not nsutil.exists("siteA") and not nsutil.exists("siteB")
