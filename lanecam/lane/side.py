"""Side-window cameras: when each seat row passes a side camera's field of view, and the burst
that films it there.

A side camera (``view = "side"`` or ``"both"`` in the lane config) stands beside the lane and
looks obliquely across it at the side windows.  A windshield camera films a vehicle's rows
together as the vehicle approaches; a side camera sees one row at a time as the vehicle drives
past, so it gets one burst per row: the row's window opens when the row's face line (the
vehicle's centre line, mid face height, ``face_setback_m + row × row_pitch_m`` behind the
tracked front) enters the central :data:`VIEW_MARGIN` of the frame, and closes when it leaves
it or, for a vehicle predicted to stop with the row in view, :data:`MAX_ROW_S` after it opens.
The exposure keeps the row's image-plane motion (px/s at the predicted speed, from the camera
model — a side view moves the faces across the frame much faster than a head-on one) within
the scheduler's blur budget.

The planner plans only the windshield burst (its first windshield camera paces it); the
capture thread films the row bursts after it (:func:`film_rows`), one at a time, with fixed
settings — a side camera's exposure controller, if configured, is not used for them.
Everything here is predicted from the track and the lane's nominal cabin
(:class:`~lanecam.geometry.CabinModel`): the lane never sees the simulator's truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..control.scheduler import BurstPlan, CaptureScheduler
from ..control.tracker import Track
from ..errors import NotCapturableError
from ..geometry import SEAT_ROWS, CabinModel, CameraModel
from .camera import LaneCamera, analysis_model
from .context import CaptureContext
from .fixed_burst import FixedBurst
from .job import VehicleJob

__all__ = ["CREEP_MPS", "MAX_ROW_S", "MAX_WAIT_S", "MIN_ROW_FRAMES", "REPLAN_S", "ROWS",
           "ROW_FRAMES", "VIEW_MARGIN", "RowPlan", "film_rows", "plan_row", "plan_rows",
           "row_window"]

#: The seat rows of the nominal layout (:data:`~lanecam.geometry.SEAT_ROWS`).
ROWS: tuple[int, ...] = tuple(sorted({row for row, _ in SEAT_ROWS.values()}))
#: A row is in view while its face line projects inside the frame less this fraction of its
#: width on each side (a seat's face box is ~0.3 m wide about it).
VIEW_MARGIN = 0.12
#: Longest row burst (s) when the vehicle is predicted to stop with the row in view.
MAX_ROW_S = 1.2
#: A row's burst yields to the next row's from when that row comes into view, but keeps at
#: least this many frame intervals (rows 0.9 m apart share the view for most of its width).
MIN_ROW_FRAMES = 4
#: Frames per row burst at most (fewer than a windshield burst: a row crosses the view in a
#: few tenths of a second, and the next row follows at once).
ROW_FRAMES = 5
#: Lane ranges (m) searched for the row's window: behind the camera to beyond any capture
#: zone, at this step.
_SEARCH_M = (-15.0, 80.0, 0.02)


@dataclass(frozen=True)
class RowPlan:
    """One side camera's burst for one seat row (``plan`` as a windshield burst's)."""

    row: int
    plan: BurstPlan


def _row_point(cabin: CabinModel, row: int, front_range_m: np.ndarray) -> np.ndarray:
    """The row's face line (world m) for each front range."""
    z = front_range_m + cabin.face_setback_m + row * cabin.row_pitch_m
    y = np.full_like(z, (cabin.face_low_m + cabin.face_high_m) / 2)
    x = np.full_like(z, cabin.vehicle_lateral_m)
    return np.stack([x, y, z], axis=-1)


def row_window(model: CameraModel, cabin: CabinModel, row: int) -> tuple[float, float] | None:
    """(near, far) front range (m) between which ``row``'s face line is in ``model``'s view,
    or None if it never is."""
    lo, hi, step = _SEARCH_M
    ranges = np.arange(lo, hi, step)
    uv, depth = model.project(_row_point(cabin, row, ranges))
    m = VIEW_MARGIN * model.width_px
    inside = (depth > 0.5) & (uv[:, 0] >= m) & (uv[:, 0] <= model.width_px - 1 - m) \
        & (uv[:, 1] >= 0) & (uv[:, 1] <= model.height_px - 1)
    if not inside.any():
        return None
    idx = np.flatnonzero(inside)
    return float(ranges[idx[0]]), float(ranges[idx[-1]])


def _px_per_m(model: CameraModel, cabin: CabinModel, row: int, front_range_m: float) -> float:
    """Image-plane motion (px) of the row's face line per metre the vehicle travels."""
    uv, _ = model.project(_row_point(cabin, row, np.array([front_range_m, front_range_m - 0.01])))
    return float(np.hypot(*(uv[1] - uv[0]))) / 0.01


def plan_rows(model: CameraModel, scheduler: CaptureScheduler, track: Track, cabin: CabinModel,
              now_ns: int) -> list[RowPlan]:
    """One burst per row of ``track``'s vehicle through the side camera ``model`` (timing and
    blur budget from its ``scheduler``), earliest first.  A row that never comes into view,
    has passed, or moves too fast for the camera's shortest exposure raises
    :class:`NotCapturableError` only when *no* row can be planned; otherwise it is left out."""
    plans: list[RowPlan] = []
    reasons: list[str] = []
    for row in ROWS:
        try:
            plans.append(RowPlan(row, plan_row(model, scheduler, track, cabin, row, now_ns)))
        except NotCapturableError as exc:
            reasons.append(f"row {row}: {exc.reason}")
    if not plans:
        raise NotCapturableError("no seat row passes the side camera's view in time: "
                                 + "; ".join(reasons), reason="side_rows",
                                 device=f"track {track.id}", feature="view")
    return sorted(plans, key=lambda p: p.plan.start_ns)


def plan_row(model: CameraModel, scheduler: CaptureScheduler, track: Track,
             cabin: CabinModel, row: int, now_ns: int, until_ns: int | None = None) -> BurstPlan:
    """The side camera's burst for seat ``row`` (module docstring), ending by ``until_ns``
    when given (the next row's turn) but lasting at least :data:`MIN_ROW_FRAMES` frame
    intervals when the row stays in view that long; NotCapturableError with its reason
    (``out_of_view``, ``passed``, ``stops_short``, ``too_fast``) when there is none."""
    tm = scheduler.timing
    win = row_window(model, cabin, row)
    if win is None:
        raise NotCapturableError("row never in view", reason="out_of_view",
                                 device=f"track {track.id}", feature="view")
    near, far = win
    if track.predict(now_ns)[0] < near:
        raise NotCapturableError("row has passed the view", reason="passed",
                                 device=f"track {track.id}", feature="view")
    t_in = track.time_at_range(far)
    if t_in is None:
        raise NotCapturableError("vehicle stops before the row is in view", reason="stops_short",
                                 device=f"track {track.id}", feature="view")
    start = max(t_in, now_ns)
    t_out = track.time_at_range(near)
    if t_out is None or (t_out - start) / 1e9 > MAX_ROW_S:
        t_out = start + round(MAX_ROW_S * 1e9)
    if until_ns is not None:
        least = start + round((MIN_ROW_FRAMES - 1) / tm.max_frame_rate_hz * 1e9)
        t_out = max(min(t_out, until_ns), min(t_out, least))
    # fastest predicted motion inside the window, at the row's most oblique point
    speed = max(track.predict(start)[1], track.predict(t_out)[1], 0.0)
    rate = speed * max(_px_per_m(model, cabin, row, r) for r in (near, far,
                                                                 track.predict(start)[0]))
    exposure = tm.max_exposure_s if rate <= 0 else \
        min(tm.max_exposure_s, scheduler.blur_budget_px / rate)
    if exposure < tm.min_exposure_s:
        raise NotCapturableError(f"{rate:.0f} px/s needs exposures under {exposure:.3g} s",
                                 reason="too_fast", device=f"track {track.id}",
                                 feature="exposure_time")
    duration = (t_out - start) / 1e9
    min_interval = max(1.0 / tm.max_frame_rate_hz, exposure)
    frames = min(tm.max_frames, ROW_FRAMES)
    if frames == 1 or duration < min_interval:
        count, interval = 1, min_interval
    else:
        interval = max(min_interval, duration / (frames - 1))
        count = min(frames, int(duration / interval + 1e-9) + 1)
    return BurstPlan(track_id=track.id, start_ns=start, frame_count=count, interval_s=interval,
                     exposure_s=exposure, window_far_ns=t_in, window_near_ns=t_out,
                     speed_mps=speed, max_blur_px=rate * exposure if math.isfinite(rate) else 0.0)


def film_rows(ctx: CaptureContext, cameras: Sequence[LaneCamera], job: VehicleJob) -> None:
    """After the windshield burst: every side camera's row bursts for ``job``'s vehicle, in
    the order the rows come into view, each re-planned from the live track just before it is
    filmed (fixed settings: the row plan's exposure and the camera's gain).  The capture
    thread films one burst at a time, so a row whose window has closed by then — or that can
    never be filmed — is counted (``side_row:<reason>``) and skipped; the others stand.  A
    vehicle braking towards the booth is often predicted to stop short of a row and then
    creeps on into view: while it still moves (≥ :data:`CREEP_MPS`) that row is re-planned
    every :data:`REPLAN_S` for up to :data:`MAX_WAIT_S` (the capture thread waits)."""
    cabin = job.cabin or ctx.cabin
    track = ctx.live_track(job.track)
    now = ctx.clock.now_ns()
    todo: list[tuple[int, int, LaneCamera]] = []
    for lane_cam in cameras:
        for row in ROWS:
            try:
                plan = plan_row(analysis_model(lane_cam), lane_cam.scheduler, track, cabin, row,
                                now)
            except NotCapturableError as exc:
                if exc.reason != "stops_short":
                    ctx.stats.faults[f"side_row:{exc.reason}"] += 1
                    continue
                todo.append((now + round(MAX_WAIT_S * 1e9), row, lane_cam))  # wait for it
                continue
            todo.append((plan.start_ns, row, lane_cam))
    todo.sort(key=lambda item: item[:2])
    deadline = now + round(MAX_WAIT_S * 1e9)
    for k, (_, row, lane_cam) in enumerate(todo):
        nxt = todo[k + 1][0] if k + 1 < len(todo) else None
        now_plan = _replanned(ctx, lane_cam, job, cabin, row, nxt, deadline)
        if now_plan is not None:
            FixedBurst(ctx, [lane_cam]).run(job, now_plan, row)
            ctx.stats.counts["side_bursts"] += 1


#: A vehicle still moving this fast (m/s) may yet reach a row predicted out of reach.
CREEP_MPS = 0.2
#: How often (s) and how long at most (s, from the end of the windshield burst) a row the
#: vehicle is predicted to stop short of is re-planned.
REPLAN_S = 0.1
MAX_WAIT_S = 2.0


def _replanned(ctx: CaptureContext, lane_cam: LaneCamera, job: VehicleJob, cabin: CabinModel,
               row: int, until_ns: int | None, deadline_ns: int) -> BurstPlan | None:
    """``row``'s burst planned now from the live track (waiting while the vehicle creeps
    towards a row it is predicted to stop short of), or None — counted — if there is none."""
    while True:
        now = ctx.clock.now_ns()
        try:
            return plan_row(analysis_model(lane_cam), lane_cam.scheduler,
                            ctx.live_track(job.track), cabin, row, now,
                            until_ns if until_ns is None or until_ns > now else None)
        except NotCapturableError as exc:
            moving = ctx.predict(job.track, now)[1] >= CREEP_MPS
            if exc.reason != "stops_short" or not moving or now >= deadline_ns:
                ctx.stats.faults[f"side_row:{exc.reason}"] += 1
                return None
        ctx.clock.sleep(REPLAN_S)
