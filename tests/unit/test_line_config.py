"""Line rates: what each line type carries, which the pacer and the theory both rely on."""

import pytest

from firmware_emu.phy.config import LineConfig


@pytest.mark.parametrize(
    ("line", "rate"),
    [
        (LineConfig(kind="t1"), 1_536_000),
        (LineConfig(kind="t1", coding="ami"), 24 * 56_000),  # AMI: 56k per DS0
        (LineConfig(kind="t1", timeslots=tuple(range(1, 7))), 6 * 64_000),  # fractional T1
        (LineConfig(kind="e1", framing="crc4", coding="hdb3"), 31 * 64_000),
        (LineConfig(kind="e1", coding="hdb3", timeslots=(1, 2)), 128_000),
        (LineConfig(kind="serial", clock_rate=256_000), 256_000),
        (LineConfig(kind="serial", clock_rate=None), None),  # unpaced
    ],
)
def test_bit_rate(line, rate):
    assert line.bit_rate == rate
