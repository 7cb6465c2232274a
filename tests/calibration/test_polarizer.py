"""``calibrate polarizer``: a 25° mis-mounted analyzer found in the simulated lane and through
the real-device path (pylon camera emulator serving image files, the Elliptec firmware fake on a
pseudo-terminal driven by the production driver)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.calibration.fragment import apply_fragments
from lanecam.calibration.malus_fit import fit_offset, glare_mask, modulation, wrap90
from lanecam.calibration.polarizer_rig import sim_world
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.devices.fakes import ElliptecFake
from lanecam.devices.rotators import ElliptecRotator, load_rotator_profile
from lanecam.devices.serial_link import SerialLink
from lanecam.sim.render import Renderer, Shot
from lanecam.sim.scenario import load_scenario

MISMOUNT = 25.0


def test_sim_sweep_finds_a_25_degree_mismount_within_1_degree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["calibrate", "polarizer", "--sim", "overcast", "--out", str(out)]) == 0
    doc = json.loads((out / "polarizer.json").read_text())
    assert doc["quality"] == "good" and doc["truth"]["offset_deg"] == MISMOUNT
    assert abs(doc["error"]["offset_deg"]) < 1.0
    assert doc["uncertainty"]["offset_deg"] < 1.0
    assert (out / "polarizer.png").stat().st_size > 20_000


def test_malus_maths_recovers_an_offset_from_synthetic_frames() -> None:
    rng = np.random.default_rng(1)
    readings = [15.0 * i for i in range(12)]
    psi = 12.0  # the glare's axis in the image
    frames = []
    for m in readings:
        axis = math.radians(m + MISMOUNT)  # what the mis-mounted analyzer really passes
        img = np.full((40, 60), 30.0)
        img[10:30, 20:50] += 50 + 40 * math.cos(2 * (axis - math.radians(psi)))
        frames.append(img + rng.normal(0, 1.0, img.shape))
    a, b, c = modulation(readings, frames)
    mask = glare_mask(a, b, c)
    assert mask[10:30, 20:50].mean() > 0.95 and mask.sum() < 700
    fit = fit_offset(readings, [float(f[mask].mean()) for f in frames], psi)
    assert fit.offset_deg == pytest.approx(MISMOUNT, abs=0.2)
    assert fit.fit.polarized_fraction == pytest.approx(40 / 80, abs=0.02)
    assert wrap90(170.0) == -10.0 and wrap90(-95.0) == 85.0


def _render_sweep(folder: Path, scale: float) -> tuple[tuple[float, float, float], float, object]:
    """The frames the emulator will serve: the parked car of the overcast scenario at the
    readings the procedure takes (0, 15, …, 165°) through an analyzer mounted 25° off."""
    world, target = sim_world(load_scenario("overcast"), "cam0")
    r = Renderer(world, "cam0", scale)
    folder.mkdir()
    for i in range(12):
        img, _ = r.render(Shot(t_s=0.0, exposure_s=0.0004, gain_db=14.0,
                               polarizer_deg=15.0 * i + MISMOUNT, seed=i))
        cv2.imwrite(str(folder / f"sweep{i:02d}.png"), img)
    return target.glass_centre_m, target.rake_deg, r.pose


LANE = """\
[lane]
id = "cal-polarizer"

[[cameras]]
name = "driver"
device = "pylon:0815-0000"
height_m = {h}
lateral_m = {x}
pitch_deg = {pitch}
yaw_deg = {yaw}
width_px = {w}
height_px = {hpx}

[cameras.rotator]
url = "{url}"
"""


@pytest.mark.emulator
def test_real_device_path_pylon_emulator_and_elliptec_fake(tmp_path: Path) -> None:
    centre, rake, pose = _render_sweep(tmp_path / "frames", 0.25)
    with ElliptecFake(name="rotator-driver") as fake:
        lane = tmp_path / "lane.toml"
        lane.write_text(LANE.format(h=pose.height_m, x=pose.lateral_m, pitch=pose.pitch_deg,
                                    yaw=pose.yaw_deg, w=pose.width_px, hpx=pose.height_px,
                                    url=fake.port))
        out = tmp_path / "out"
        rc = main(["calibrate", "polarizer", str(lane), "--out", str(out), "--image-files",
                   str(tmp_path / "frames"), "--rake-deg", str(rake), "--glass-m",
                   *map(str, centre)])
        assert rc == 0
        # the production driver really turned the fake through the sweep
        assert fake.angle_deg == pytest.approx(165.0, abs=0.1)
        doc = json.loads((out / "polarizer.json").read_text())
        assert "truth" not in doc
        assert doc["estimate"]["offset_deg"] == pytest.approx(MISMOUNT, abs=1.0)
        apply_fragments(out, lane)
        cfg = load_lane_config(lane)
        assert cfg.cameras[0].rotator is not None
        offset = cfg.cameras[0].rotator.offset_deg
        assert offset == pytest.approx(MISMOUNT, abs=1.0)
        # the lane's driver now turns the mount so the analyzer axis lands where asked
        prof = load_rotator_profile("thorlabs-ell14")
        rot = ElliptecRotator(SerialLink(fake.port, baudrate=prof.baudrate), profile=prof,
                              offset_deg=offset)
        rot.open()
        try:
            rot.move_to(90.0)
            # (an analyzer axis is 180°-periodic)
            assert abs(wrap90(fake.angle_deg + MISMOUNT - 90.0)) < 1.0
        finally:
            rot.close()


@pytest.mark.emulator
def test_no_glare_modulation_is_a_poor_fit_without_fragment(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        cv2.imwrite(str(frames / f"f{i:02d}.png"),
                    (100 + rng.normal(0, 2, (128, 160))).astype(np.uint8))
    with ElliptecFake(name="rotator-driver") as fake:
        lane = tmp_path / "lane.toml"
        lane.write_text(LANE.format(h=2.0, x=1.6, pitch=3.0, yaw=-4.5, w=160, hpx=128,
                                    url=fake.port))
        out = tmp_path / "out"
        rc = main(["calibrate", "polarizer", str(lane), "--out", str(out), "--image-files",
                   str(frames), "--glare-axis-deg", "0"])
    assert rc == 3 and not (out / "polarizer.toml").exists()
    assert json.loads((out / "polarizer.json").read_text())["quality"] == "poor"
