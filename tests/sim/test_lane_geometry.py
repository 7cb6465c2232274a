"""The lane's predicted occupant ROIs (lanecam.geometry, from range alone) contain the faces
the simulator actually rendered — checked against ground truth, which only tests may read."""

from __future__ import annotations

import numpy as np
import pytest

from lanecam.geometry import SEAT_ROWS, CabinModel, CameraModel, occupant_rois
from lanecam.sim.render import Renderer, Shot
from lanecam.sim.scenario import load_scenario, scenario_names

SEATS = list(SEAT_ROWS)


@pytest.mark.parametrize("name", scenario_names())
def test_predicted_rois_contain_every_visible_face(name: str) -> None:
    sc = load_scenario(name)
    r = Renderer(sc.world, scale=0.25)
    times = sc.frame_times()
    checked = 0
    for t in (times[0], times[len(times) // 2], times[-1]):
        _, truth = r.render(Shot(t, 1e-3, 0.0))
        for veh in truth.vehicles:
            if not veh.in_view:
                continue
            rois = occupant_rois(r.pose, veh.range_m, CabinModel())
            for f in truth.faces:
                x0, y0, x1, y1 = f.box
                inside_frame = x0 >= 0 and y0 >= 0 and x1 <= r.pose.width_px and y1 <= r.pose.height_px
                if f.vehicle != veh.name or not f.in_view or f.visibility < 0.3 or not inside_frame:
                    continue
                roi = rois[SEATS.index(f.seat)]
                assert roi is not None, (f.seat, t)
                rx, ry, rw, rh = roi
                assert rx - 2 <= x0 and ry - 2 <= y0 and x1 <= rx + rw + 2 and y1 <= ry + rh + 2, (
                    name, f.seat, t, f.box, roi)
                checked += 1
    assert checked > 0


def test_sim_camera_is_the_lane_camera_model() -> None:
    pose = load_scenario("clear_noon").world.cameras[0]
    assert isinstance(pose, CameraModel)
    pts = np.array([[0.3, 1.2, 15.0], [-0.4, 1.0, 20.0]])
    base = CameraModel(**{k: getattr(pose, k) for k in CameraModel.__dataclass_fields__})
    np.testing.assert_allclose(pose.project(pts)[0], base.project(pts)[0])


def test_seats_outside_the_frame_are_none() -> None:
    cam = CameraModel(lateral_m=1.6, height_m=2.0, pitch_deg=3.0, yaw_deg=-4.5)
    assert all(r is not None for r in occupant_rois(cam, 15.0)[:2])
    assert occupant_rois(cam, -5.0) == [None] * 5  # the vehicle is past the camera
