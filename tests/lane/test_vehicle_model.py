"""The lane's per-vehicle model during a burst: the live track (a braking vehicle) and the cabin
measured from the faces found (setback and face height), so predicted ROIs stay on the faces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lanecam.control.exposure import FACE_CORE, FaceMeter
from lanecam.control.tracker import TrackerConfig, VehicleTracker
from lanecam.geometry import SEAT_ROWS, CabinModel, CameraModel, fit_cabin, occupant_rois

CAM = CameraModel(lateral_m=1.6, height_m=2.0, pitch_deg=3.0, yaw_deg=-4.5, focus_m=17.0)


def _face_box(cam: CameraModel, cabin: CabinModel, rng: float, seat: str, height: float,
              size_px: float = 110.0) -> tuple[float, float, float, float]:
    row, x = SEAT_ROWS[seat]
    z = rng + cabin.face_setback_m + row * cabin.row_pitch_m
    (u, v), = cam.project(np.array([[cabin.vehicle_lateral_m + x, height, z]]))[0]
    return (u - size_px / 2, v - size_px / 2, size_px, size_px)


def test_fit_cabin_recovers_the_setback_and_face_height_of_this_vehicle() -> None:
    generic = CabinModel()
    van = replace(generic, face_setback_m=1.55)  # a van's faces sit 0.45 m nearer its front
    found = [(CAM, 18.0, "driver", _face_box(CAM, van, 18.0, "driver", 1.42)),
             (CAM, 17.2, "front_passenger", _face_box(CAM, van, 17.2, "front_passenger", 1.38))]
    fit = fit_cabin(generic, found)
    assert fit.face_setback_m == pytest.approx(1.55, abs=0.02)
    assert (fit.face_low_m + fit.face_high_m) / 2 == pytest.approx(1.40, abs=0.03)
    # nearer, the ROI predicted with the fitted cabin still holds the van's face and is far
    # tighter than the generic one (a face-height band instead of low sedan to pickup)
    x, y, w, h = occupant_rois(CAM, 9.0, fit)[0]
    gx, gy, gw, gh = occupant_rois(CAM, 9.0, generic)[0]
    bx, by, bw, bh = _face_box(CAM, van, 9.0, "driver", 1.42, size_px=200.0)
    assert x <= bx and bx + bw <= x + w and y <= by and by + bh <= y + h
    assert w * h < 0.65 * gw * gh


def test_fit_cabin_ignores_what_no_cabin_explains() -> None:
    generic = CabinModel()
    assert fit_cabin(generic, []) is generic
    # a "face" far above any roof (a mis-detection in the sky's reflection) is not trusted
    sky = (CAM, 15.0, "driver", _face_box(CAM, generic, 15.0, "driver", 4.5))
    assert fit_cabin(generic, [sky]) is generic


def test_meter_keeps_the_face_in_place_when_the_roi_is_re_predicted() -> None:
    class Finder:
        def find(self, image, roi, bit_depth=None):  # type: ignore[no-untyped-def]
            from types import SimpleNamespace
            return [SimpleNamespace(box=(130, 220, 60, 80))]

    meter = FaceMeter(Finder())  # type: ignore[arg-type]
    img = np.full((400, 400), 100, np.uint8)
    meter.measure(img, [("k", (100, 200, 150, 150))])
    assert meter.found() == {"k": (130, 220, 60, 80)}
    meter.rebase("k", (90, 180, 200, 200))  # the same frame's ROI, re-predicted
    # the face region in that ROI is still around the detected box
    x, y, w, h = meter.face_region("k", (90, 180, 200, 200), grow=1.0)
    assert (x, y) == pytest.approx((130, 220), abs=1) and (w, h) == pytest.approx((60, 80), abs=1)
    assert meter.face_region("other", (0, 0, 50, 50)) is None
    # the metered core is FACE_CORE of the box, in the new ROI too
    (m,) = meter.measure(img, [("k", (90, 180, 200, 200))])
    assert m.mean == pytest.approx(100.0)
    assert FACE_CORE < 1.0


def test_the_lane_predicts_from_the_live_track_not_the_plan_snapshot() -> None:
    """A vehicle braking at 2 m/s² after the plan: the snapshot extrapolates its old speed."""
    tracker = VehicleTracker(TrackerConfig())

    def truth(t: float) -> tuple[float, float]:
        v0, a, t_brake = 10.0, -2.0, 1.0  # constant speed, then braking from t = 1 s
        if t < t_brake:
            return 40.0 - v0 * t, v0
        dt = t - t_brake
        return 40.0 - v0 * t_brake - (v0 * dt + 0.5 * a * dt * dt), v0 + a * dt

    def feed(t0: float, t1: float) -> None:
        for k in range(int(t0 * 100), int(t1 * 100)):
            t = k / 100
            r, v = truth(t)
            tracker.update_range(round(t * 1e9), r, 0.05)
            tracker.update_speed(round(t * 1e9), v, 0.1)

    feed(0.0, 1.0)
    (plan,) = [t for t in tracker.tracks() if t.confirmed]
    feed(1.0, 2.0)  # the tracker keeps fusing while the burst runs
    t = round(2.0 * 1e9)
    true_range = truth(2.0)[0]
    assert abs(plan.predict(t)[0] - true_range) > 0.5  # the plan's snapshot is a metre off
    assert tracker.live_predict(plan, t)[0] == pytest.approx(true_range, abs=0.15)
