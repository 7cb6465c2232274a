"""``calibrate response``: photon transfer on the simulated sensor, the fit's maths, and the
exposure controller's noise budget from the measured values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lanecam.calibration.fragment import apply_fragments
from lanecam.calibration.response_fit import PairStats, fit_response
from lanecam.cli import main
from lanecam.config import SensorResponseConfig, load_lane_config
from lanecam.control.noise_budget import noise_budget_db
from lanecam.lane.builder import gain_budget_db
from lanecam.sim.constants import FULL_WELL_E, READ_NOISE_E

LANE = """\
[lane]
id = "cal-test"

[[cameras]]
name = "cam0"
device = "sim"

[control]
exposure = true
"""


def test_sim_run_recovers_the_sensor_constants_within_5_percent(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["calibrate", "response", "--sim", "clear_noon", "--out", str(out)]) == 0
    doc = json.loads((out / "response.json").read_text())
    assert doc["quality"] == "good"
    for tag in ("0dB", "6dB", "12dB"):
        err = doc["error"][tag]
        assert abs(err["gain_dn_per_e"]) < 0.05 and abs(err["dark_noise_e"]) < 0.05
        assert abs(err["saturation_e"]) < 0.05
        assert abs(err["linearity_error_pct"]) < 0.5  # percentage points: the model is linear
    assert doc["estimate"]["gain_dn_per_e_0db"] == pytest.approx(4095 / FULL_WELL_E, rel=0.05)
    assert doc["estimate"]["dark_noise_e"] == pytest.approx(READ_NOISE_E, rel=0.05)
    # the fragment merges into a lane config the loader accepts, and the budget uses it
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    apply_fragments(out, lane)
    cfg = load_lane_config(lane)
    resp = cfg.cameras[0].response
    assert resp is not None and resp.dark_noise_e == pytest.approx(READ_NOISE_E, rel=0.05)
    assert gain_budget_db(cfg, cfg.cameras[0]) == pytest.approx(24.0, abs=1.0)


def _synthetic(k: float, dark_e: float, clip: float, offset: float) -> list[PairStats]:
    """Exact photon-transfer points of an ideal sensor (no noise in the statistics)."""
    pts = []
    for t in np.geomspace(1e-6, 1.2e-3, 24):
        e = 1e7 * t
        mu = min(offset + k * e, clip)
        var = k * k * e + (k * dark_e) ** 2 + 1 / 12 if mu < clip else 0.0
        pts.append(PairStats(float(t), mu, var, 100_000))
    return pts


@pytest.mark.parametrize(("k", "dark", "offset"), [(0.38, 2.9, 0.0), (2.0, 7.0, 64.0)])
def test_fit_recovers_an_ideal_sensor_with_or_without_offset(k: float, dark: float,
                                                             offset: float) -> None:
    f = fit_response(_synthetic(k, dark, 4095.0, offset), 0.0)
    assert f.gain_dn_per_e == pytest.approx(k, rel=1e-3)
    assert f.dark_noise_e == pytest.approx(dark, rel=1e-2)
    assert f.dark_offset_dn == pytest.approx(offset, abs=0.5)
    assert f.saturation_e == pytest.approx((4095 - offset) / k, rel=1e-3)
    assert f.linearity_error_pct < 0.01


def test_fit_measures_a_nonlinear_response() -> None:
    pts = [PairStats(p.exposure_s, p.mean_dn * (1 + 0.05 * p.mean_dn / 4095), p.var_dn2,
                     p.pixels) for p in _synthetic(0.38, 2.9, 4095.0, 0.0)]
    assert fit_response(pts, 0.0).linearity_error_pct > 0.5


def test_too_few_points_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        fit_response(_synthetic(0.38, 2.9, 4095.0, 0.0)[-3:], 0.0)


def test_noise_budget_follows_the_measured_response(tmp_path: Path) -> None:
    datasheet = SensorResponseConfig(4095 / FULL_WELL_E, READ_NOISE_E, FULL_WELL_E)
    noisy = SensorResponseConfig(4095 / FULL_WELL_E, 25.0, FULL_WELL_E)
    assert noise_budget_db(datasheet, 110.0) == pytest.approx(24.0, abs=0.5)
    assert noise_budget_db(noisy, 110.0) < noise_budget_db(datasheet, 110.0) - 3
    # a brighter target allows more gain for the same SNR
    assert noise_budget_db(datasheet, 200.0) > noise_budget_db(datasheet, 110.0)
    lane = tmp_path / "lane.toml"
    text = LANE.replace('device = "sim"\n', 'device = "sim"\n\n[cameras.response]\n'
                        'gain_dn_per_e = 0.3827\ndark_noise_e = 25.0\nsaturation_e = 10700.0\n')
    lane.write_text(text)
    cfg = load_lane_config(lane)
    assert gain_budget_db(cfg, cfg.cameras[0]) == pytest.approx(noise_budget_db(noisy, 110.0))
    plain = tmp_path / "plain.toml"
    plain.write_text(LANE)
    cfg = load_lane_config(plain)
    assert gain_budget_db(cfg, cfg.cameras[0]) == cfg.control.max_gain_db
