"""World geometry and kinematics."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from sim_helpers import SCALE, simple_world

from lanecam.frames import IlluminationState
from lanecam.sim import CameraPose, Kinematics, Renderer, Shot, Sun
from lanecam.sim.vehicles import SEATS


def test_constant_speed_and_braking_to_a_stop() -> None:
    k = Kinematics(30.0, 10.0)
    assert k.range_at(1.5) == pytest.approx(15.0) and k.speed_at(9.0) == 10.0
    assert k.range_at(-1.0) == pytest.approx(40.0) and k.accel_at(1.0) == 0.0
    b = Kinematics(30.0, 10.0, decel_mps2=4.0, start_s=1.0)
    assert b.range_at(1.0) == 30.0 and b.accel_at(2.0) == -4.0
    stop = 1.0 + 10.0 / 4.0
    assert b.speed_at(stop) == 0.0 and b.range_at(stop) == pytest.approx(30.0 - 100 / 8)
    assert b.range_at(stop + 5) == b.range_at(stop) and b.accel_at(stop + 1) == 0.0


def test_projection_principal_point_and_axes() -> None:
    p = CameraPose(lateral_m=1.0, height_m=2.0, pitch_deg=10.0, yaw_deg=-20.0)
    right, down, fwd = p.axes()
    assert np.allclose([right @ down, right @ fwd, down @ fwd], 0.0)
    assert np.allclose([np.linalg.norm(v) for v in (right, down, fwd)], 1.0)
    assert fwd[1] < 0 and fwd[0] < 0  # pitched down, yawed towards −x
    uv, z = p.project((p.position + 7.0 * fwd)[None])
    assert uv[0] == pytest.approx([(p.width_px - 1) / 2, (p.height_px - 1) / 2])
    assert z[0] == pytest.approx(7.0)
    # a point 1 m right of the axis at 10 m lands f/p/10 pixels right of centre
    uv, _ = p.project((p.position + 10.0 * fwd + right)[None])
    assert uv[0, 0] - (p.width_px - 1) / 2 == pytest.approx(p.focal_px / 10.0)


def test_scaling_keeps_the_field_of_view() -> None:
    p = CameraPose()
    s = p.scaled(0.25)
    assert (s.width_px, s.height_px) == (612, 512)
    assert s.width_px * s.pixel_m == pytest.approx(p.width_px * p.pixel_m)
    with pytest.raises(ValueError):
        p.scaled(1.5)


def test_driver_sits_on_the_image_right_and_vehicle_ahead_is_nearest() -> None:
    w = simple_world()
    g = w.vehicles[0].geometry(0.0)
    drv, pas = g.placements
    assert SEATS["driver"][1] > 0 and drv.face_corners[:, 0].mean() > pas.face_corners[:, 0].mean()
    uv_d = w.cameras[0].project(drv.face_corners)[0][:, 0].mean()
    uv_p = w.cameras[0].project(pas.face_corners)[0][:, 0].mean()
    assert uv_d > uv_p
    v, dist, speed = w.vehicle_ahead(0.0, 2.0)  # type: ignore[misc]
    assert dist == pytest.approx(14.0) and speed == pytest.approx(11.0)
    assert w.vehicle_ahead(0.0, 20.0) is None


def test_several_cameras_render_the_same_world() -> None:
    w = simple_world()
    side = CameraPose(name="side", lateral_m=-2.0, height_m=2.5, pitch_deg=5.0, yaw_deg=6.0)
    w2 = replace(w, cameras=(*w.cameras, side))
    a, ta = Renderer(w2, "cam0", scale=SCALE).render(_shot())
    b, tb = Renderer(w2, "side", scale=SCALE).render(_shot())
    assert ta.faces[0].box != tb.faces[0].box and a.tobytes() != b.tobytes()
    with pytest.raises(KeyError):
        w2.camera("nope")


def test_night_has_no_sun_and_overcast_no_direct_light() -> None:
    from lanecam.sim.sky import Sky

    assert Sky(Sun(-5.0, 0.0), "850nm_50", 0).ground_irradiance == 0
    over = Sky(Sun(40.0, 0.0, "overcast"), "850nm_50", 0)
    assert over.e_direct == 0 and over.ground_irradiance == pytest.approx(0.3 * 49.1)
    clear = Sky(Sun(30.0, 0.0), "850nm_50", 0)
    assert clear.ground_irradiance == pytest.approx(45.6 * math.sin(math.radians(30)) + 3.5)


def _shot() -> Shot:
    return Shot(0.1, 300e-6, 6.0, illumination=IlluminationState("strobe", 300e-6, 1.0))
