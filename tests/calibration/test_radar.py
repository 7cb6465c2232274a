"""``calibrate radar``: the angle and scale on exact rates, and the simulated lane end to end
(a 12° mount within 0.3°, the speed within ±1 % after the lane's correction)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lanecam.calibration.radar_fit import PassRates, fit_aim
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.lane.sensor_calibration import radar_speed_factor
from lanecam.sim.calibration import RADAR_TRUTH


def test_angle_and_scale_separate_on_exact_rates() -> None:
    cos, s = math.cos(math.radians(12.0)), 1.03
    rates = [PassRates(v, v * cos, s * v * cos, v, 40) for v in (8.0, 12.0, 16.0, 20.0)]
    fit = fit_aim(rates)
    assert fit.mount_deg == pytest.approx(12.0, abs=1e-9)
    assert fit.speed_scale == pytest.approx(s, abs=1e-12)
    assert max(abs(e) for e in fit.corrected_error) < 1e-12
    assert fit.raw_error[0] == pytest.approx(s * cos - 1)  # before: cosine and scale
    with pytest.raises(ValueError):
        fit_aim(rates[:1])


LANE = """\
[lane]
id = "radar"

[[cameras]]
name = "cam0"
device = "sim"

[sensors.radar]
url = "/dev/ttyUSB0"
model = "ops243-c"
"""


def test_sim_recovers_the_mount_and_the_lane_reads_speed_within_one_percent(
        tmp_path: Path) -> None:
    out = tmp_path / "cal"
    assert main(["calibrate", "radar", "--sim", "clear_noon", "--out", str(out)]) == 0
    doc = json.loads((out / "radar.json").read_text())
    assert doc["quality"] == "good", doc["why"]
    assert abs(doc["error"]["mount_deg"]) <= 0.3
    assert abs(doc["error"]["speed_error_after_correction"]) <= 0.01
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    assert main(["calibrate", "apply", str(out), str(lane)]) == 0
    radar = load_lane_config(lane).radar
    assert radar is not None
    for v in (8.0, 15.0, 25.0):    # what the radar reads, corrected as the lane does
        read = v * math.cos(math.radians(RADAR_TRUTH.angle_deg)) * RADAR_TRUTH.speed_scale
        assert read * radar_speed_factor(radar.mount_deg, radar.speed_scale) == \
            pytest.approx(v, rel=0.01)
