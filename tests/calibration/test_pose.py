"""``calibrate pose``: the fit on exact geometry, the simulated lane end to end (the recovery
bounds of the issue), the pylon emulator through the real-device path, the poor-fit exits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lanecam.calibration.pose_fit import View, fit_pose, plan_stations, pose_angles
from lanecam.board_target import BoardSpec, Station
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.geometry import CameraModel, distort
from lanecam.lane.connect import HARDWARE
from lanecam.sim.board import undistort
from lanecam.sim.calibration import true_camera
from lanecam.sim.scenario import load_scenario

BOUNDS = {"height_m": 0.02, "lateral_m": 0.02, "pitch_deg": 0.2, "yaw_deg": 0.2,
          "roll_deg": 0.2}
TRUE = CameraModel(lateral_m=1.4, height_m=2.1, pitch_deg=5.0, yaw_deg=-6.5, roll_deg=2.0,
                   focal_m=0.0506, cx_px=1240.0, cy_px=1011.0,
                   distortion=(-0.35, 2.0, 0.0, 0.0, 0.0))
CONFIGURED = CameraModel(lateral_m=1.5, height_m=2.0, pitch_deg=3.0, yaw_deg=-4.5)


def test_roll_turns_the_camera_clockwise_and_angles_round_trip() -> None:
    cam = replace(TRUE, distortion=())
    right, down, fwd = cam.axes()
    assert np.cross(right, down) @ fwd == pytest.approx(-1.0)    # lane axes are left-handed
    assert right[1] < 0                                         # clockwise: right side dips
    assert pose_angles(np.stack(cam.axes())) == pytest.approx((5.0, -6.5, 2.0))


def test_undistort_inverts_distort() -> None:
    x, y = np.meshgrid(np.linspace(-0.1, 0.1, 9), np.linspace(-0.08, 0.08, 7))
    dx, dy = distort(x, y, (-0.35, 2.0, 4e-4, -3e-4, 0.1))
    ux, uy = undistort(dx, dy, (-0.35, 2.0, 4e-4, -3e-4, 0.1))
    assert np.abs(ux - x).max() < 1e-12 and np.abs(uy - y).max() < 1e-12


def _exact_views(spec: BoardSpec, stations: list[Station], noise_px: float) -> list[View]:
    rng = np.random.default_rng(3)
    views = []
    for st in stations:
        ids = np.arange(len(spec.corners()), dtype=np.int32)
        uv, _ = TRUE.project(st.to_world(spec, spec.corners()))
        ok = (uv[:, 0] > 0) & (uv[:, 0] < 2447) & (uv[:, 1] > 0) & (uv[:, 1] < 2047)
        if ok.sum() >= 6:
            views.append(View(st, ids[ok], uv[ok] + rng.normal(0, noise_px, uv[ok].shape)))
    return views


def test_fit_recovers_an_exact_camera_from_its_projections() -> None:
    spec = BoardSpec()
    views = _exact_views(spec, plan_stations(CONFIGURED, spec), 0.05)
    fit = fit_pose(CONFIGURED, views, spec)
    est = fit.estimate()
    for k, bound in BOUNDS.items():
        assert abs(est[k] - getattr(TRUE, k)) < bound / 4, k
        assert fit.uncertainty[k] < bound / 2, k
    assert abs(est["fx_px"] - TRUE.focal_px) < 3 and fit.rms_px < 0.1
    assert abs(est["cx_px"] - 1240.0) < 3 * fit.uncertainty["cx_px"]


def test_planned_stations_put_the_board_in_front_of_the_camera() -> None:
    stations = plan_stations(CONFIGURED, BoardSpec())
    assert len(stations) == 20
    for st in stations:
        uv, depth = CONFIGURED.project(st.centre[None])
        assert depth[0] > 5 and 0 < uv[0, 0] < 2448 and 0 < uv[0, 1] < 2048


LANE = """\
[lane]
id = "cal"

[[cameras]]
name = "cam0"     # the camera under test
device = "{device}"
height_m = 2.0
lateral_m = 1.6
pitch_deg = 3.0
yaw_deg = -4.5
focal_length_m = 0.05
pixel_size_m = {pixel}
width_px = {w}
height_px = {h}
focus_m = 17.0
"""


def _check_bounds(doc: dict) -> None:
    assert doc["quality"] == "good", doc["why"]
    for k, bound in BOUNDS.items():
        assert abs(doc["error"][k]) <= bound, (k, doc["error"][k])
    assert doc["estimate"]["rms_px"] <= 0.5


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulated pose calibration (its frames kept for the emulator test)."""
    d = tmp_path_factory.mktemp("pose")
    assert main(["calibrate", "pose", "--sim", "clear_noon", "--out", str(d / "cal"),
                 "--save-frames", str(d / "frames")]) == 0
    return d


def test_sim_recovers_pose_and_apply_gives_a_config_the_lane_projects_with(
        sim_run: Path, tmp_path: Path) -> None:
    out = sim_run / "cal"
    doc = json.loads((out / "pose.json").read_text())
    _check_bounds(doc)
    assert (out / "pose.png").stat().st_size > 20_000
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE.format(device="sim", pixel=3.45e-6, w=2448, h=2048))
    assert main(["calibrate", "apply", str(out), str(lane)]) == 0
    cfg = load_lane_config(lane)
    assert "# the camera under test" in lane.read_text()
    model = HARDWARE.camera_model(cfg.cameras[0], None)  # type: ignore[arg-type]
    truth = true_camera(load_scenario("clear_noon").world.cameras[0])
    pts = np.array([[x, y, z] for x in np.linspace(-1.5, 2.0, 8) for y in (0.5, 1.5, 2.0)
                    for z in (8, 15, 22)])
    uv = truth.project(pts)[0]
    seen = (uv[:, 0] >= 0) & (uv[:, 0] < 2448) & (uv[:, 1] >= 0) & (uv[:, 1] < 2048)
    assert seen.sum() > 10
    err = model.project(pts[seen])[0] - uv[seen]
    assert np.abs(err).max() < 1.0     # the lane now projects like the real camera
    before = HARDWARE.camera_model(load_lane_config(lane.with_name("lane.toml.bak")).cameras[0],
                                   None).project(pts[seen])[0] - uv[seen]  # type: ignore[arg-type]
    assert np.abs(before).max() > 100


def test_pylon_emulator_serves_the_board_through_the_device_path(sim_run: Path,
                                                                 tmp_path: Path) -> None:
    """The frames the simulator rendered at the planned stations, served by the pylon camera
    emulator (``ImageFileMode``), measured through the lane config's camera."""
    pytest.importorskip("pypylon")
    conf = load_scenario("clear_noon").world.cameras[0]
    frames = sim_run / "frames"
    assert len(list(frames.glob("station_*.png"))) == len(plan_stations(conf, BoardSpec()))
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE.format(device="pylon:0815-0000", pixel=3.45e-6, w=2448, h=2048))
    out = tmp_path / "cal"
    args = ["calibrate", "pose", str(lane), "--out", str(out), "--no-prompt"]
    for s in ("width=2448", "height=2048", "pixel_format=Mono8", "test_image_selector=Off",
              "image_file_mode=On", f"image_filename={frames}"):
        args += ["--set", s]
    assert main(args) == 0
    doc = json.loads((out / "pose.json").read_text())
    assert doc["quality"] == "good" and "error" not in doc      # a device run knows no truth
    truth = true_camera(conf)
    for k, bound in BOUNDS.items():
        assert abs(doc["estimate"][k] - getattr(truth, k)) <= bound, k


def test_no_board_in_view_is_target_not_found_and_few_views_are_poor(tmp_path: Path) -> None:
    far = tmp_path / "far.toml"
    far.write_text("[[station]]\nx_m = 40.0\ny_m = 1.5\nz_m = 10.0\n" * 1)
    out = tmp_path / "cal"
    assert main(["calibrate", "pose", "--sim", "clear_noon", "--out", str(out), "--scale", "0.25",
                 "--stations", str(far)]) == 2
    assert not (out / "pose.toml").exists()
    two = tmp_path / "two.toml"
    two.write_text("[[station]]\nx_m = 0.9\ny_m = 1.5\nz_m = 9.0\n"
                   "[[station]]\nx_m = 0.5\ny_m = 1.3\nz_m = 14.0\n")
    assert main(["calibrate", "pose", "--sim", "clear_noon", "--out", str(out), "--scale", "0.5",
                 "--stations", str(two)]) == 3
    doc = json.loads((out / "pose.json").read_text())
    assert doc["quality"] == "poor" and doc["why"].startswith("too_few_views")
    assert not (out / "pose.toml").exists()


def test_a_misplaced_station_makes_the_fit_poor_and_writes_no_fragment(tmp_path: Path) -> None:
    """One board stood 30 cm from its mark: the residuals exceed the bound — poor, with why."""
    from lanecam.calibration import write_outputs
    from lanecam.calibration.pose import MAX_RMS_PX, _result

    spec = BoardSpec()
    stations = plan_stations(CONFIGURED, spec)
    views = _exact_views(spec, stations, 0.05)
    bad = views[0]
    views[0] = View(replace(bad.station, x_m=bad.station.x_m + 0.3), bad.ids, bad.image_px)
    cal, draw = _result("cam0", CONFIGURED, spec, stations, views, None)
    assert cal.quality == "poor" and cal.estimate["rms_px"] > MAX_RMS_PX
    paths = write_outputs(cal, tmp_path, draw)
    assert "toml" not in paths and paths["png"].exists()
