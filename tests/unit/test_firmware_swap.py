"""Live firmware swap through the mailbox: built-in builds and builds installed while running."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from firmware_emu.adapter import Adapter, ConfigurePort, LoadFirmware, ReadStatus, StartPort
from firmware_emu.fr.config import DlciConfig, FrameRelayConfig
from firmware_emu.phy.config import LineConfig
from tests.unit.test_adapter import Wire


def test_swap_keeps_other_ports_and_renegotiates():
    w = Wire()
    assert w.a.execute(ConfigurePort(2, LineConfig(), FrameRelayConfig(dlcis=(DlciConfig(20),))), w.now).ok
    assert w.a.execute(StartPort(2), w.now).ok
    w.run_until(3)
    other = w.a.port(2).engine
    reply = w.a.execute(LoadFirmware(1, "frame_relay"), w.now)
    assert reply.ok, reply.error
    assert reply.data["previous"] == "frame_relay:1.0" and reply.data["firmware"] == "frame_relay:1.0"
    assert w.a.port(2).engine is other  # port 2 untouched
    w.events(w.a)
    w.run_until(6)
    assert w.a.port(1).engine.link_up  # the new engine came up with the far end
    assert w.a.port(1).engine.channel_usable(16)


def test_wrong_protocol_and_unknown_builds_are_refused():
    w = Wire()
    reply = w.a.execute(LoadFirmware(1, "chdlc"), w.now)
    assert not reply.ok and "cannot run" in reply.error
    reply = w.a.execute(LoadFirmware(1, "frame_relay", "9.9"), w.now)
    assert not reply.ok and "available" in reply.error


PLUGIN = """
from firmware_emu.adapter.firmware import FirmwareBuild
from firmware_emu.fr.engine import FrameRelayEngine


class PatchedEngine(FrameRelayEngine):
    def status(self):
        return {**super().status(), "patched": True}


BUILD = FirmwareBuild("frame_relay", "1.1", PatchedEngine)
"""


def test_a_build_installed_while_running_is_loaded_without_restart(tmp_path, monkeypatch):
    adapter = Adapter("x")
    assert adapter.execute(ConfigurePort(1, LineConfig(), FrameRelayConfig(dlcis=(DlciConfig(16),))), 0.0).ok
    assert adapter.execute(StartPort(1), 0.0).ok
    # "pip install" a firmware package: a module plus its entry point, after the adapter started
    (tmp_path / "wand_fw_demo.py").write_text(textwrap.dedent(PLUGIN))
    dist = tmp_path / "wand_fw_demo-1.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wand-fw-demo\nVersion: 1.1\n")
    (dist / "entry_points.txt").write_text("[wand.firmware]\nframe_relay_1_1 = wand_fw_demo:BUILD\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    reply = adapter.execute(LoadFirmware(1, "frame_relay"), 1.0)  # newest build wins
    assert reply.ok, reply.error
    assert reply.data["firmware"] == "frame_relay:1.1" and "wand_fw_demo" in reply.data["origin"]
    status = adapter.execute(ReadStatus(1), 1.0).data
    assert status["firmware_version"] == "1.1" and status["protocol"]["patched"] is True
    sys.modules.pop("wand_fw_demo", None)


@pytest.mark.parametrize("spec", ["frame_relay:1.0"])
def test_explicit_version(spec):
    w = Wire()
    name, _, version = spec.partition(":")
    assert w.a.execute(LoadFirmware(1, name, version), w.now).ok
