"""The three fallbacks outside devices/lane that used to be silent now log a WARNING and count
(named counters on their owner), checked on counts and log levels, never on message text."""

from __future__ import annotations

import gc
import logging
from collections import Counter

import numpy as np
import pytest

from lanecam.errors import DeviceLostError
from lanecam.frames import Frame, FrameMeta
from lanecam.geometry import SEAT_ROWS, CabinModel, CameraModel, fit_cabin

CAM = CameraModel(lateral_m=1.6, height_m=2.0, pitch_deg=3.0, yaw_deg=-4.5, focus_m=17.0)


def _warnings(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


# -- lanecam/frames.py: Frame.__del__ ----------------------------------------------------------
def _frame(release: object) -> Frame:
    meta = FrameMeta(camera_id="t:0", frame_number=7, host_ns=1, width=2, height=2,
                     pixel_format="Mono8")
    return Frame(np.zeros((2, 2), np.uint8), meta, release=release)  # type: ignore[arg-type]


def test_a_release_failing_when_a_forgotten_frame_is_collected_is_counted_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    def requeue() -> None:
        raise DeviceLostError("requeue after the camera went away", device="t:0")

    gc.collect()  # frames other tests forgot are not this test's
    before = Frame.gc_counters.copy()
    f = _frame(requeue)
    with caplog.at_level(logging.WARNING, logger="lanecam.frames"):
        del f
        gc.collect()
    assert Frame.gc_counters["release_failed"] == before["release_failed"] + 1
    assert Frame.gc_counters["released_by_gc"] == before["released_by_gc"] + 1
    assert len(_warnings(caplog, "lanecam.frames")) == 1


def test_a_forgotten_frame_is_counted_and_a_released_one_is_not(
        caplog: pytest.LogCaptureFixture) -> None:
    gc.collect()
    before = Frame.gc_counters.copy()
    calls: list[int] = []
    with _frame(lambda: calls.append(1)):
        pass
    gc.collect()
    assert Frame.gc_counters == before
    f = _frame(lambda: calls.append(2))
    with caplog.at_level(logging.WARNING, logger="lanecam.frames"):
        del f
        gc.collect()
    assert calls == [1, 2]
    assert Frame.gc_counters["released_by_gc"] == before["released_by_gc"] + 1
    assert Frame.gc_counters["release_failed"] == before["release_failed"]
    assert not _warnings(caplog, "lanecam.frames")


# -- lanecam/geometry.py: fit_cabin ------------------------------------------------------------
def _face_box(cabin: CabinModel, rng: float, seat: str,
              height: float) -> tuple[float, float, float, float]:
    row, x = SEAT_ROWS[seat]
    z = rng + cabin.face_setback_m + row * cabin.row_pitch_m
    (u, v), = CAM.project(np.array([[cabin.vehicle_lateral_m + x, height, z]]))[0]
    return (u - 55.0, v - 55.0, 110.0, 110.0)


def test_fit_cabin_counts_and_logs_the_faces_it_does_not_trust(
        caplog: pytest.LogCaptureFixture) -> None:
    generic = CabinModel()
    good = (CAM, 18.0, "driver", _face_box(generic, 18.0, "driver", 1.40))
    sky = (CAM, 15.0, "driver", _face_box(generic, 15.0, "driver", 4.5))
    counters: Counter[str] = Counter()
    with caplog.at_level(logging.WARNING, logger="lanecam.geometry"):
        fit = fit_cabin(generic, [good, sky, sky], counters=counters)
    assert fit is not generic  # the good face still fits the cabin
    assert counters == Counter({"cabin_fit_implausible": 2})
    assert len(_warnings(caplog, "lanecam.geometry")) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lanecam.geometry"):
        assert fit_cabin(generic, [good], counters=counters) is not generic
    assert counters == Counter({"cabin_fit_implausible": 2})  # nothing rejected: no count
    assert not _warnings(caplog, "lanecam.geometry")


def test_fit_cabin_counts_a_singular_fit() -> None:
    # a camera that projects every point to one pixel: the fit's Jacobian is singular
    class Flat(CameraModel):
        def project(self, pts):  # type: ignore[no-untyped-def]
            n = len(pts)
            return np.full((n, 2), 100.0), np.full(n, 10.0)

    counters: Counter[str] = Counter()
    generic = CabinModel()
    assert fit_cabin(generic, [(Flat(), 15.0, "driver", (50, 50, 100, 100))],
                     counters=counters) is generic
    assert counters == Counter({"cabin_fit_singular": 1})
