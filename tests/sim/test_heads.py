"""3-D heads: pose changes what the camera sees, accessories and headrests occlude by depth,
and the ground truth (visibility, seen pose, inter-eye distance, eyes seen) says so."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from sim_helpers import SCALE, simple_world

from lanecam.errors import ConfigError
from lanecam.frames import IlluminationState
from lanecam.sim import Occupant, Renderer, Shot, Sun
from lanecam.sim.faces import face_texture
from lanecam.sim.headcast import cast_heads
from lanecam.sim.heads import NPRIM, brim_shades, eye_points, head_frame, head_primitives
from lanecam.sim.raster import Layer
from lanecam.sim.textures import EYE_ROW, TEXTURE_PX
from lanecam.sim.truth import FaceTruth

STROBE = IlluminationState("strobe", brightness=1.0, pulse_s=300e-6)


def driver(occ: Occupant | None = None, *, seat: str = "driver", **world_kw: object
           ) -> FaceTruth:
    """Truth of one occupant of the tests' sedan (a single-occupant car) at 14 m."""
    occ = occ or Occupant(seat, "obama")
    w = simple_world(occupants=(occ,), **world_kw)  # type: ignore[arg-type]
    _, truth = Renderer(w, scale=SCALE).render(Shot(0.2, 300e-6, 6.0, illumination=STROBE,
                                                    noise=False))
    return truth.faces[0]


def test_turning_the_head_hides_the_far_side_and_shrinks_the_eye_distance() -> None:
    faces = {yaw: driver(Occupant("driver", "obama", yaw_deg=float(yaw)))
             for yaw in (0, 30, 60, -60)}
    f0, f30, f60 = faces[0], faces[30], faces[60]
    assert f0.visibility > 0.99 and f0.occluders == () and f0.eyes_visible == 2
    assert f0.visibility > f30.visibility > f60.visibility
    assert f60.visibility < 0.8 and "pose" in f60.occluders
    assert faces[-60].visibility < 0.8 and faces[-60].eyes_visible == 1  # the far eye hidden
    assert f60.eyes_visible == 1 and f30.eyes_visible == 2
    for f in (f30, f60, faces[-60]):
        # seen yaw follows the set yaw (offset by the camera's own bearing) ...
        assert f.yaw_deg - f0.yaw_deg == pytest.approx(
            {f30: 30, f60: 60, faces[-60]: -60}[f], abs=1.5)
        # ... and the eyes' image distance shrinks with cos(seen yaw)
        ratio = math.cos(math.radians(f.yaw_deg)) / math.cos(math.radians(f0.yaw_deg))
        assert f.ied_px / f0.ied_px == pytest.approx(ratio, rel=0.03)
    assert f0.pitch_deg > 0  # the camera is above: the face is seen from above (nodding)
    tilted = driver(Occupant("driver", "obama", roll_deg=20.0))
    assert tilted.roll_deg - f0.roll_deg == pytest.approx(20.0, abs=2.0)


def test_things_in_front_of_the_face_hide_it_and_are_named() -> None:
    plain = driver()
    for kw, name, most in (({"hand": "hand"}, "hand", 0.9), ({"hand": "phone"}, "phone", 0.8),
                           ({"mask": True}, "mask", 0.7)):
        f = driver(Occupant("driver", "obama", **kw))  # type: ignore[arg-type]
        assert name in f.occluders and f.visibility < most, (name, f)
        assert f.visibility < plain.visibility - 0.1
    cap = driver(Occupant("driver", "obama", hat=True))
    assert {"hat", "cap_brim"} <= set(cap.occluders) and cap.visibility < 0.8


def test_a_front_headrest_hides_a_rear_face_and_the_own_headrest_does_not() -> None:
    rear = Occupant("rear_left", "biden")  # behind the (empty) driver's seat
    with_rests, without = driver(rear), driver(rear, headrests=False)
    assert "headrest" in with_rests.occluders and "headrest" not in without.occluders
    assert with_rests.visibility < without.visibility - 0.2
    own, none = driver(), driver(headrests=False)  # the driver's own headrest is behind
    assert "headrest" not in own.occluders and own.visibility == pytest.approx(
        none.visibility, abs=1e-9)


def test_a_child_has_a_smaller_lower_face() -> None:
    adult = driver(Occupant("front_passenger", "obama"))
    booster = driver(Occupant("front_passenger", "obama", head_scale=0.8, height_offset_m=0.1))
    assert booster.ied_px / adult.ied_px == pytest.approx(0.8, rel=0.05)
    assert booster.box[1] > adult.box[1] + 3 and booster.visibility > 0.99  # lower, seen
    # without a booster seat the dashboard hides most of a child's face from a camera 2 m up
    child = driver(Occupant("front_passenger", "obama", head_scale=0.8))
    assert child.box[1] > booster.box[1] and "frame" in child.occluders
    assert child.visibility < 0.6


def test_a_cap_brim_shades_the_eyes_from_a_high_sun() -> None:
    sun = Sun(35.0, 180.0, "clear", 0.0)  # ahead of the car, through the windshield
    w = simple_world(sun=sun, occupants=(Occupant("driver", "obama", hat=True),))
    r = Renderer(w, scale=SCALE)
    g = w.vehicles[0].geometry(0.2)
    pl = g.placements[0]
    hf = head_frame(pl)
    assert brim_shades(hf, eye_points(hf), r.sky.sun_dir).all()
    eye_rows = slice(int((EYE_ROW - 0.05) * TEXTURE_PX), int((EYE_ROW + 0.05) * TEXTURE_PX))
    means, lit = [], []
    for hat in (True, False):
        p = replace(pl, occupant=replace(pl.occupant, hat=hat))
        rad, _, sunlit, *_ = face_texture(r.sky, (), g, p, hf, 300e-6, 0.6, 0.9, 0.0, 0.1)
        means.append(float(rad[eye_rows].mean()))
        lit.append(sunlit)
    assert lit == [False, True] and means[0] < 0.5 * means[1]


def test_occlusion_is_by_depth_not_drawing_order() -> None:
    occ = (Occupant("driver", "obama", hand="phone", hat=True),
           Occupant("rear_left", "biden"))
    w = simple_world(occupants=occ)
    pose = Renderer(w, scale=SCALE).pose
    g = w.vehicles[0].geometry(0.2)
    prims = [row for i, pl in enumerate(g.placements)
             for row in head_primitives(pl, head_frame(pl), i, 0.3, 1.0)]
    tex = np.full((2, 3, TEXTURE_PX, TEXTURE_PX), 0.5, np.float32)
    tex[:, 2] = 0.0
    outs = []
    for order in (prims, prims[::-1]):
        sub = Layer(0, 0, np.zeros((pose.height_px, pose.width_px), np.float32))
        ids = np.full(sub.shape, -1, np.int16)
        zbuf = np.full(sub.shape, np.inf, np.float32)
        cast_heads(pose, sub, ids, zbuf, np.array(order).reshape(-1, NPRIM), tex,
                   np.full(2, TEXTURE_PX, np.int64))
        outs.append((sub.data, ids, zbuf))
    assert (outs[0][1] >= 0).sum() > 100 and (outs[0][1] == -5).sum() > 10  # faces, phone
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw, key", [({"hand": "glove"}, "hand"), ({"hand": 1}, "hand"),
                                     ({"head_scale": 2.0}, "head_scale")])
def test_occupant_fields_are_validated(kw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        Occupant("driver", "obama", **kw)  # type: ignore[arg-type]
    assert e.value.key == key and e.value.allowed is not None
