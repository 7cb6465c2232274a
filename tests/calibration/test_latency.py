"""``calibrate latency``: the regressions on exact data, the simulated lane end to end through
the production drivers on the firmware fakes' ptys (the recovery bounds of the issue), the
lane applying what was measured, and the real-device path on the pty fakes and the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lanecam.calibration.latency_fit import Pass, fit_loop, fit_passes, fit_sensor
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.lane.sensor_calibration import calibrated, correct_reading, radar_speed_factor
from lanecam.readings import LidarReading, LoopEdge, RadarReading

SPEEDS = (8.0, 11.0, 14.0, 17.0)


def _passes() -> list[Pass]:
    return [Pass(10.0 * i, 15.0, v, 10.0 * i - 0.9, 10.0 * i + 0.9, 0.0, 20)
            for i, v in enumerate(SPEEDS)]


def test_camera_samples_split_into_passes_with_their_speed() -> None:
    samples = [(10.0 * i + t, 15.0 - v * t) for i, v in enumerate(SPEEDS)
               for t in np.linspace(-0.5, 0.5, 9)]
    passes = fit_passes(samples)
    assert [round(p.v_mps, 6) for p in passes] == list(SPEEDS)
    assert all(abs(p.a_m - 15.0) < 1e-9 and p.rms_m < 1e-9 for p in passes)


def test_sensor_and_loop_regressions_recover_latency_offset_and_station() -> None:
    rng = np.random.default_rng(1)
    passes, lat, off = _passes(), 0.035, 0.12
    readings = []
    for p in passes:
        for t in np.linspace(p.t_first_s, p.t_last_s, 40):
            seen = t - lat - rng.uniform(-0.002, 0.002)
            readings.append((t, float(p.range_at(seen)) + off))
        readings.append((p.t0_s, 60.0))          # another vehicle: gated out
    fit = fit_sensor(passes, readings)
    assert fit.slope == pytest.approx(lat, abs=3e-4) and fit.intercept == pytest.approx(off,
                                                                                     abs=5e-3)
    entry, q_at, loop_lat = 9.65, 3.2, 0.020      # q_at: the front when the rear leaves
    entries = [p.t0_s + (p.a_m - entry) / p.v_mps + loop_lat for p in passes]
    exits = [p.t0_s + (p.a_m - q_at) / p.v_mps + loop_lat for p in passes]
    loop, q = fit_loop(passes, entries, exits)
    assert -loop.slope == pytest.approx(loop_lat, abs=1e-9)
    assert loop.intercept == pytest.approx(entry, abs=1e-9) and q == pytest.approx(q_at)
    with pytest.raises(ValueError):              # one speed cannot separate latency and offset
        fit_sensor(passes[:1], readings[:40])


def test_the_lane_moves_readings_back_by_the_latency_and_undoes_the_radar_cosine() -> None:
    f = radar_speed_factor(12.0, 1.0)
    r = correct_reading(RadarReading(1_000_000_000, None, 20.0, speeds=(9.78, 5.0)), 35_000_000, f)
    assert r.t_ns == 965_000_000 and r.speed_mps == pytest.approx(9.78 / np.cos(np.radians(12)))
    assert r.speeds[1] == pytest.approx(5.0 * f) and r.range_m == 20.0
    assert correct_reading(LidarReading(10, 3.0, 900, 40.0, True), 8, 2.0).t_ns == 2
    assert correct_reading(LoopEdge(100, True), 20).t_ns == 80
    sensor = object()
    assert calibrated(sensor) is sensor          # nothing to correct: the sensor itself


LANE = """\
[lane]
id = "lat"

[[cameras]]
name = "cam0"
device = "sim"

[sensors.radar]   # OPS243-C above the lane
url = "/dev/ttyUSB0"
model = "ops243-c"

[sensors.lidar]
url = "/dev/ttyUSB1"
model = "tf02-pro"

[sensors.loop]
url = "/dev/ttyS0"
position_m = 10.0
"""

BOUNDS_S = {"radar_latency_s": 0.001, "lidar_latency_s": 0.001, "loop_latency_s": 0.001}


def test_sim_recovers_latencies_and_loop_station_and_apply_gives_a_lane_config(
        tmp_path: Path) -> None:
    out = tmp_path / "cal"
    assert main(["calibrate", "latency", "--sim", "clear_noon", "--out", str(out)]) == 0
    doc = json.loads((out / "latency.json").read_text())
    assert doc["quality"] == "good", doc["why"]
    for k, bound in BOUNDS_S.items():
        assert abs(doc["error"][k]) <= bound, (k, doc["error"][k])
    assert abs(doc["error"]["loop_position_m"]) <= 0.05
    assert abs(doc["error"]["camera_trigger_delay_s"]) <= 0.0005
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    assert main(["calibrate", "apply", str(out), str(lane)]) == 0
    cfg = load_lane_config(lane)
    assert cfg.radar is not None and abs(cfg.radar.latency_s - 0.035) <= 0.001
    assert cfg.loop is not None and abs(cfg.loop.position_m - 9.65) <= 0.05
    assert cfg.cameras[0].trigger_delay_s > 0 and "# OPS243-C above the lane" in lane.read_text()


def test_device_path_opens_the_configured_sensors_and_camera(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    """Through the real-device path: the radar and lidar of the lane config are the firmware
    fakes on ptys, read by the production drivers; the camera is the pylon emulator, which
    gives no exposure timestamps — so the procedure measures nothing and says why (exit 2),
    never guessing the camera's timing."""
    pytest.importorskip("pypylon")
    from lanecam.board_target import BoardSpec
    from lanecam.sim.calibration import drive_through
    from lanecam.sim.devices import SimDevices
    from lanecam.sim.scenario import load_scenario

    world, _ = drive_through(load_scenario("clear_noon"), BoardSpec())
    with SimDevices(world) as dev:
        lane = tmp_path / "lane.toml"
        lane.write_text(LANE.replace("/dev/ttyUSB0", dev.ports["radar"])
                        .replace("/dev/ttyUSB1", dev.ports["lidar"])
                        .replace('device = "sim"', 'device = "pylon:0815-0001"')
                        .split("[sensors.loop]")[0])
        code = main(["calibrate", "latency", str(lane), "--out", str(tmp_path / "cal"),
                     "--duration-s", "0.6", "--rate-hz", "5"])
        assert dev.radar.received and dev.lidar.received   # the drivers configured them
    assert code == 2 and "exposure timestamp" in capsys.readouterr().err
    assert not (tmp_path / "cal" / "latency.toml").exists()


def test_the_built_lane_reads_its_sensors_through_the_calibration(tmp_path: Path) -> None:
    """``build_lane``'s sensors (production drivers on the fakes' ptys) are wrapped with the
    configured latency and radar correction: a reading is dated before it arrived."""
    import contextlib
    import time

    from lanecam.clock import MONOTONIC
    from lanecam.config import parse_lane_config
    from lanecam.lane.builder import _open_sensors
    from lanecam.lane.connect import HARDWARE
    from lanecam.lane.sensor_calibration import CalibratedSensor
    from lanecam.sim.devices import SimDevices
    from lanecam.sim.world import World

    with SimDevices(World()) as dev, contextlib.ExitStack() as stack:
        cfg = parse_lane_config({
            "lane": {"id": "x"}, "cameras": [{"name": "c", "device": "sim"}],
            "sensors": {"radar": {"url": dev.ports["radar"], "model": "ops243-c",
                                  "latency_s": 0.035, "mount_deg": 12.0},
                        "lidar": {"url": dev.ports["lidar"], "model": "tf02-pro",
                                  "latency_s": 0.008}}})
        radar, lidar = _open_sensors(cfg, stack, MONOTONIC, HARDWARE)
        assert isinstance(radar, CalibratedSensor) and radar.latency_ns == 35_000_000
        assert radar.speed_factor == pytest.approx(radar_speed_factor(12.0, 1.0))
        assert isinstance(lidar, CalibratedSensor) and lidar.latency_ns == 8_000_000
        reading = lidar.read(timeout=2.0)
        assert reading.t_ns <= time.monotonic_ns() - 8_000_000
