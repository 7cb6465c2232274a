"""``calibrate strobe``: the pulse's latency from a delay scan in the simulated lane, and the
eye-safety record the lane's interlock uses (measured: overdrive as the measurement allows;
missing: rated current only, and said so)."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.calibration.fragment import apply_fragments
from lanecam.calibration.strobe_fit import fit_latency, iec_max_brightness, overlap
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.devices.fakes import BenewakeFake, GardasoftRTFake, LidarTarget
from lanecam.devices.illuminators import EyeSafetyInterlock, PulseSetting
from lanecam.errors import LimitError
from lanecam.lane.builder import build_lane
from lanecam.lane.exposure_io import _set_strobe

LATENCY = -150e-6  # the camera's exposure output fires 150 µs before the exposure


@pytest.mark.parametrize("latency", [-153.4e-6, 0.0, 42.0e-6])
def test_delay_scan_fit_places_the_pulse(latency: float) -> None:
    t, w = 500e-6, 250e-6
    d = np.linspace(0, 1.15 * t, 28)
    rng = np.random.default_rng(3)
    b = 4.0 + 7e5 * overlap(d + latency, w, t) + rng.normal(0, 0.5, d.size)
    fit = fit_latency(d, b, w, t)
    assert fit.edges_seen and fit.latency_s == pytest.approx(latency, abs=0.5e-6)
    assert fit.lamp_per_s == pytest.approx(7e5, rel=0.02)


def test_flat_scan_sees_no_edge() -> None:
    d = np.linspace(0, 6e-4, 20)
    fit = fit_latency(d, 10 + np.random.default_rng(0).normal(0, 1, d.size), 2.5e-4, 5e-4)
    assert not fit.edges_seen or fit.lamp_per_s * 2.5e-4 < 10 * fit.rms


def _lane(tmp_path: Path, port: str, lidar: str) -> Path:
    lane = tmp_path / "lane.toml"
    lane.write_text(f'[lane]\nid = "cal-strobe"\n\n[[cameras]]\nname = "cam0"\n'
                    f'device = "pylon:0815-0001"\nexposure_s = 0.0005\n\n'
                    f'[sensors]\nlidar = {{ url = "{lidar}", model = "tf02-pro" }}\n\n'
                    f'[illuminator]\nurl = "{port}"\nmodel = "gardasoft-rt"\n')
    return lane





@pytest.mark.emulator
def test_sim_scan_and_the_measured_eye_irradiance_reach_the_interlock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["calibrate", "strobe", "--sim", "night", "--out", str(out),
                 "--irradiance-w-m2", "40", "--eye-distance-m", "1.5"]) == 0
    doc = json.loads((out / "strobe.json").read_text())
    assert doc["quality"] == "good" and doc["truth"]["latency_s"] == LATENCY
    assert abs(doc["error"]["latency_s"]) < 5e-6
    assert doc["estimate"]["delay_s"] == pytest.approx(150e-6, abs=5e-6)
    with GardasoftRTFake(2) as lamp, BenewakeFake(
            "TF02-Pro", target=lambda: LidarTarget(30.0)) as lidar, \
            contextlib.ExitStack() as stack:
        lane = _lane(tmp_path, lamp.port, lidar.port)
        assert main(["calibrate", "apply", str(out), str(lane)]) == 0  # the installer's door
        cfg = load_lane_config(lane)
        assert cfg.illuminator is not None and cfg.illuminator.irradiance_w_m2 == 40.0
        built = build_lane(cfg, None, None, stack)  # type: ignore[arg-type]
        rt = built.cameras[0].illuminator
        assert rt is not None and rt.interlock.profile.irradiance_w_m2 == 40.0
        # the pulse waits for the exposure: the measured lead becomes the controller's delay
        assert lamp.state[1].delay_ms == pytest.approx(0.150, abs=0.005)
        # the measured (low) irradiance allows 4× overdrive, set the way the exposure loop
        # sets a frame's pulse, which keeps the measured delay
        _set_strobe(built.cameras[0], 0.002, 4.0, built.stats)
        assert not built.stats.faults
        assert lamp.state[1].brightness == pytest.approx(400.0)
        assert lamp.state[1].delay_ms == pytest.approx(0.150, abs=0.005)
        # the same pulse at ten times the irradiance is refused: the measurement decides
        louder = EyeSafetyInterlock(replace(rt.profile, irradiance_w_m2=2000.0))
        with pytest.raises(LimitError):
            louder.check_pulse(PulseSetting(0.002, 4.0, 1 / 30.0))
        assert iec_max_brightness(0.002, 30.0, 2000.0) < 4.0 < iec_max_brightness(0.002, 30.0,
                                                                                   40.0)


@pytest.mark.emulator
def test_without_a_measurement_the_lamp_stays_at_rated_current_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["calibrate", "strobe", "--sim", "night", "--out", str(out)]) == 0
    doc = json.loads((out / "strobe.json").read_text())
    assert "rated current" in doc["why"] and "irradiance_w_m2" not in doc["estimate"]
    with GardasoftRTFake(2) as lamp, BenewakeFake(
            "TF02-Pro", target=lambda: LidarTarget(30.0)) as lidar, \
            contextlib.ExitStack() as stack:
        lane = _lane(tmp_path, lamp.port, lidar.port)
        apply_fragments(out, lane)
        cfg = load_lane_config(lane)
        assert cfg.illuminator is not None and cfg.illuminator.irradiance_w_m2 is None
        with caplog.at_level(logging.WARNING, logger="lanecam.lane.builder"):
            built = build_lane(cfg, None, None, stack)  # type: ignore[arg-type]
        assert any("rated current" in r.getMessage() for r in caplog.records)
        rt = built.cameras[0].illuminator
        assert rt is not None and rt.profile.max_brightness == 1.0
        rt.set_pulse(0.0005, 1.0, 30.0)  # rated: allowed
        with pytest.raises(LimitError) as err:
            rt.set_pulse(0.0005, 1.5, 30.0)  # any overdrive: refused
        assert err.value.feature == "brightness"


def _render_scan(folder: Path, latency: float) -> tuple[object, float]:
    """The frames the emulator serves: the night scenario's parked car lit by the pulse the
    procedure will set at each scan delay, arriving ``latency`` late (the scene's truth)."""
    from lanecam.calibration.strobe import SCAN_REACH, SCAN_STEPS
    from lanecam.calibration.strobe_rig import sim_world
    from lanecam.frames import IlluminationState
    from lanecam.sim.render import Renderer, Shot
    from lanecam.sim.scenario import load_scenario

    sc = load_scenario("night")
    r = Renderer(sim_world(sc, "cam0"), "cam0", 0.2)
    t = sc.settings["cam0"].exposure_s
    folder.mkdir()
    for i, d in enumerate(np.linspace(0.0, SCAN_REACH * t, SCAN_STEPS)):
        lit = float(overlap(round(d * 1e6) / 1e6 + latency, t / 2, t))
        ill = (IlluminationState("strobe", lit, 1.0, r.pose.wavelength_m) if lit > 0
               else IlluminationState("off"))
        img, _ = r.render(Shot(t_s=0.0, exposure_s=t, gain_db=sc.settings["cam0"].gain_db,
                               illumination=ill, seed=i))
        cv2.imwrite(str(folder / f"scan{i:02d}.png"), img)
    return r.pose, t


@pytest.mark.emulator
def test_real_device_path_pylon_emulator_and_the_controller_fake(tmp_path: Path) -> None:
    pose, exposure = _render_scan(tmp_path / "frames", LATENCY)
    with GardasoftRTFake(2) as lamp:
        lane = tmp_path / "lane.toml"
        lane.write_text(f'[lane]\nid = "cal-strobe"\n\n[[cameras]]\nname = "cam0"\n'
                        f'device = "pylon:0815-0001"\nexposure_s = {exposure}\n'
                        f'width_px = {pose.width_px}\nheight_px = {pose.height_px}\n\n'
                        f'[illuminator]\nurl = "{lamp.port}"\nmodel = "gardasoft-rt"\n')
        out = tmp_path / "out"
        assert main(["calibrate", "strobe", str(lane), "--out", str(out), "--image-files",
                     str(tmp_path / "frames")]) == 0
        # the production driver walked the controller's delay through the scan
        delays = [float(x.split(",")[2]) for x in lamp.lines if x.startswith("RT1,")]
        assert len(set(delays)) >= 20 and max(delays) == pytest.approx(1.15 * exposure * 1e3,
                                                                       abs=0.002)
    doc = json.loads((out / "strobe.json").read_text())
    assert "truth" not in doc and doc["quality"] == "good"
    assert doc["estimate"]["latency_s"] == pytest.approx(LATENCY, abs=5e-6)


def test_an_irradiance_needs_its_eye_distance(tmp_path: Path) -> None:
    import argparse

    from lanecam.calibration import CalibrationError
    from lanecam.calibration.strobe import _check_meter

    with pytest.raises(CalibrationError) as err:
        _check_meter(argparse.Namespace(irradiance_w_m2=40.0, eye_distance_m=None))
    assert err.value.reason == "bad_input" and err.value.key == "irradiance_w_m2"
    with pytest.raises(CalibrationError):
        _check_meter(argparse.Namespace(irradiance_w_m2=-1.0, eye_distance_m=1.0))
    _check_meter(argparse.Namespace(irradiance_w_m2=None, eye_distance_m=None))
    assert main(["calibrate", "strobe", "--sim", "night", "--out", str(tmp_path),
                 "--irradiance-w-m2", "40"]) == 2
