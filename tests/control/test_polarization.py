"""PolarizationController: Malus fit on synthetic samples, geometry against the reference tables,
and the predicted analyzer angle against the simulator's Fresnel/Stokes rendering."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lanecam.control.polarization import (
    DOLP_GATE,
    GLASS_AHEAD_M,
    GLASS_HEIGHT_M,
    PolarizationController,
)
from lanecam.errors import ConfigError, LimitError
from lanecam.quality.polarization import fit_malus_samples
from lanecam.frames import IlluminationState
from lanecam.geometry import CabinModel, CameraModel
from lanecam.sim.render import Renderer, Shot
from lanecam.sim.scenario import load_scenario


@pytest.mark.parametrize("phi, dolp", [(12.0, 0.9), (97.0, 0.5), (170.0, 0.3)])
def test_malus_fit_recovers_angle_and_dolp(phi: float, dolp: float) -> None:
    rng = np.random.default_rng(7)
    angles = np.arange(0.0, 180.0, 22.5)
    mean = 80.0
    clean = mean * (1 + dolp * np.cos(2 * np.radians(angles - phi)))
    fit = fit_malus_samples(angles, clean + rng.normal(0, 0.5, angles.size))
    assert fit.worst_angle_deg == pytest.approx(phi, abs=1.0)
    assert fit.polarized_fraction == pytest.approx(dolp, abs=0.02)
    assert fit.best_angle_deg == pytest.approx((phi + 90) % 180, abs=1.0)
    assert fit.rms_residual < 1.0


def test_malus_fit_needs_three_distinct_angles() -> None:
    with pytest.raises(LimitError):
        fit_malus_samples([0.0, 45.0], [1.0, 2.0])
    with pytest.raises(LimitError):
        fit_malus_samples([0.0, 180.0, 360.0], [1.0, 1.0, 1.0])  # one angle mod 180°
    with pytest.raises(LimitError):
        fit_malus_samples([0.0, 45.0, float("nan")], [1.0, 2.0, 3.0])


def test_refine_keeps_the_prediction_unless_the_fit_disagrees() -> None:
    pc = PolarizationController(tolerance_deg=2.0, min_dolp=0.2)
    angles = [0.0, 60.0, 120.0]

    def glare(phi: float, dolp: float) -> list[float]:
        return [50 * (1 + dolp * math.cos(2 * math.radians(a - phi))) for a in angles]

    assert pc.refine(95.0, angles, glare(4.0, 0.9)) == 95.0  # block at 94°: within 2°
    assert pc.refine(95.0, angles, glare(20.0, 0.9)) == pytest.approx(110.0)
    assert pc.refine(95.0, angles, glare(20.0, 0.05)) == 95.0  # too little to block


def test_incidence_matches_the_reference_geometry_table() -> None:
    # physics_quality.md §1.2: α = 30°, H_cam = 3.0 m, D = 20 m → β = 5.1°, θi = 54.9°;
    # α = 35°, H_cam = 6.5 m, D = 10 m → θi = 27.1°
    pc = PolarizationController()
    for rake, h, d, theta in ((30.0, 3.0, 20.0, 54.9), (35.0, 6.5, 10.0, 27.1)):
        cam = CameraModel(lateral_m=0.0, height_m=h, station_m=0.0, pitch_deg=0.0, yaw_deg=0.0)
        face_range = d + GLASS_AHEAD_M  # the glass centre is D ahead of the camera
        assert GLASS_HEIGHT_M == 1.2  # the table's H_glass
        assert pc.incidence_deg(cam, face_range, rake_deg=rake) == pytest.approx(theta, abs=0.1)


def test_head_on_camera_blocks_at_vertical_analyzer() -> None:
    # camera on the lane's centre line above the glass: the plane of incidence is vertical, the
    # glare's s direction horizontal (0°), the analyzer blocks it at 90°
    cam = CameraModel(lateral_m=0.0, height_m=3.0, station_m=0.0, pitch_deg=5.0, yaw_deg=0.0)
    pc = PolarizationController()
    assert pc.glare_angle(cam, 18.0) == pytest.approx(0.0, abs=1e-6) or \
        pc.glare_angle(cam, 18.0) == pytest.approx(180.0, abs=1e-6)
    assert pc.predict(cam, 18.0) == pytest.approx(90.0, abs=1e-6)


@pytest.mark.parametrize("name", ["overcast", "low_sun_behind"])
def test_predicted_angle_minimises_the_rendered_glare(name: str) -> None:
    sc = load_scenario(name)
    pose = replace(sc.world.cameras[0], polarizer="rotatable")
    world = replace(sc.world, cameras=(pose,))
    r = Renderer(world, pose.name, 0.25)
    v = world.vehicles[0]
    t = (v.kinematics.range_at(0.0) - 12.0) / v.kinematics.speed_mps
    face_range = v.kinematics.range_at(t) + CabinModel().face_setback_m
    pc = PolarizationController()  # the default rake, not the vehicle class's own

    def glare(angle: float) -> float:
        _, truth = r.render(Shot(t_s=t, exposure_s=5e-4, gain_db=10.0, polarizer_deg=angle,
                                 illumination=IlluminationState("off")))
        faces = [f for f in truth.faces if f.in_view]
        assert faces
        return float(np.mean([f.glare_radiance for f in faces]))

    best = pc.predict(pose, face_range)
    sweep = {a: glare(a) for a in np.arange(0.0, 180.0, 15.0)}
    g_best = glare(best)
    assert g_best <= min(sweep.values()) * 1.05 + 1e-6
    assert g_best * 10 <= max(sweep.values())  # ≥ 10× suppression near Brewster (§1.4)


def test_choose_channel_gates_i_min_by_dolp() -> None:
    assert PolarizationController.choose_channel(0.9) == "i_min"
    assert PolarizationController.choose_channel(DOLP_GATE) == "i_min"
    assert PolarizationController.choose_channel(0.1) == "single"
    with pytest.raises(LimitError):
        PolarizationController.choose_channel(1.5)


def test_probe_offsets_must_determine_a_malus_fit() -> None:
    assert PolarizationController(probe_offsets_deg=(60, -60)).probe_offsets_deg == (60.0, -60.0)
    assert PolarizationController().probe_offsets_deg == ()
    for bad in ((60,), (60, 240), (0, 90), (float("nan"), 30)):
        with pytest.raises(ConfigError):
            PolarizationController(probe_offsets_deg=bad)
