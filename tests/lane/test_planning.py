"""The lane's planner on tracked pairs: a tailgater is planned after its leader, not while the
leader hides it, and the duplicate gate tells a second vehicle from a second track of one.

The lane runs without devices here: readings go straight into the tracker and the planner's
loop body runs on a simulated timeline (no cameras are touched; jobs are read off the queue).
"""

from __future__ import annotations

import pytest

from lanecam.control.scheduler import CameraTiming, CaptureScheduler, LaneGeometry, dof_limits
from lanecam.control.tracker import TrackerConfig, VehicleTracker
from lanecam.devices.sensors import LidarReading, RadarReading
from lanecam.events import MemorySink
from lanecam.geometry import CameraModel
from lanecam.lane import Lane, LaneCamera
from lanecam.lane.planning import Planner

NS = 1_000_000_000
# the tailgating_pair scenario's camera and the simulated lane's scheduler (9-22 m zone ∩ DOF)
CAM = CameraModel(lateral_m=1.6, height_m=2.0, pitch_deg=3.0, yaw_deg=-4.5, focal_m=0.05,
                  f_number=4.0, focus_m=17.0)
_NEAR, _FAR = dof_limits(CAM.focal_m, CAM.f_number, 2 * CAM.pixel_m, CAM.focus_m)
GEOM = LaneGeometry(focal_length_m=CAM.focal_m, pixel_size_m=CAM.pixel_m,
                    lateral_offset_m=CAM.lateral_m, height_offset_m=CAM.height_m - 1.2,
                    zone_near_m=9.0, zone_far_m=22.0, dof_near_m=_NEAR, dof_far_m=_FAR)
TIMING = CameraTiming(max_frame_rate_hz=30.0, min_exposure_s=1e-5, max_exposure_s=3e-4,
                      max_frames=10)


def _lane() -> Lane:
    sched = CaptureScheduler(GEOM, TIMING)
    cam = LaneCamera("cam0", camera=None, model=CAM, scheduler=sched)  # type: ignore[arg-type]
    nothing: object = None  # ranker, matcher, documents: the planner never uses them
    return Lane("t", [cam], VehicleTracker(TrackerConfig()), [], nothing,  # type: ignore[arg-type]
                nothing, nothing, queue_size=8)  # type: ignore[arg-type]


def _drive(lane: Lane, fronts: list[float], speed: float, until_s: float,
           extra: list[float] | None = None) -> list:  # type: ignore[type-arg]
    """Vehicles with these fronts (m) at t = 0 approach at ``speed``; a two-object radar
    (20 Hz, ranges of the two nearest) and a lidar (100 Hz, nearest) feed the tracker, and the
    planner runs every 5 ms.  ``extra``: fronts of ghost copies the radar also reports.
    Returns the queued jobs."""
    jobs = []
    for k in range(int(until_s * 200)):
        t = k / 200
        t_ns = round(t * NS)
        now = [f - speed * t for f in fronts if f - speed * t > 0]
        if k % 2 == 0 and now:
            lane.tracker.feed(LidarReading(t_ns, round(min(now), 2), 1500, 25.0, True))
        if k % 10 == 0 and now:
            seen = sorted(now)[:2] + [f - speed * t for f in (extra or [])]
            lane.tracker.feed(RadarReading(t_ns + 1, speed, None, speeds=(speed,),
                                           ranges=tuple(round(r, 2) for r in seen)))
        lane._plan_tick(t_ns)
        while not lane._capture_q.empty():
            jobs.append(lane._capture_q.get_nowait())
    return jobs


def _natural_start(front_m: float, speed: float) -> int:
    """When the faces of a vehicle with that front at t = 0 reach the window's far edge (the
    burst's start without a leader), ns."""
    return round((front_m - (GEOM.window()[1] - GEOM.face_setback_m)) / speed * NS)


def test_tailgater_half_a_second_behind_is_planned_after_its_leader() -> None:
    # tailgating_pair: SUV, then a sedan 5.6 m behind its rear (fronts 10.5 m apart), 25 mph
    lane = _lane()
    jobs = _drive(lane, [45.0, 55.5], 11.176, 5.0)
    assert [j.seq for j in jobs] == [1, 2]
    lead, foll = jobs
    assert lane.stats.faults["duplicate_track"] == 0  # 10.5 m apart: two vehicles
    t = foll.trigger_ns
    assert foll.track.predict(t)[0] - lead.track.predict(t)[0] == pytest.approx(10.5, abs=0.5)
    # after the leader's burst; here the leader's window is long over when the follower's
    # faces arrive, and its driver is already in view: its own window, not delayed
    step = round(lead.plan.interval_s * NS)
    assert foll.plan.start_ns >= lead.plan.frame_times_ns[-1] + step
    assert abs(foll.plan.start_ns - _natural_start(55.5, 11.176)) < 0.03 * NS
    assert not lane.planner.hidden(CAM, foll.track, lead.track, foll.plan.start_ns)
    assert foll.plan.frame_count == TIMING.max_frames


def test_a_tailgater_hidden_by_its_leader_waits_until_its_driver_is_in_view() -> None:
    # queueing at walking pace: 3 m of air behind a 4.9 m SUV (fronts 7.9 m apart), 3 m/s
    lane = _lane()
    jobs = _drive(lane, [30.0, 37.9], 3.0, 9.0)
    assert len(jobs) == 2
    lead, foll = jobs
    start = foll.plan.start_ns
    assert start > _natural_start(37.9, 3.0) + 0.5 * NS  # hidden as it entered the window
    assert not lane.planner.hidden(CAM, foll.track, lead.track, start)
    assert lane.planner.hidden(CAM, foll.track, lead.track, start - Planner.CLEAR_STEP_NS)
    # the burst still spans the rest of the window, to its near edge
    assert foll.plan.window_near_ns == pytest.approx(
        foll.track.time_at_range(GEOM.window()[0] - GEOM.face_setback_m), abs=1)
    assert foll.plan.frame_times_ns[-1] <= foll.plan.window_near_ns + 1
    assert foll.plan.frame_count > 1


def test_a_tailgater_hidden_all_through_the_window_is_still_filmed_in_it() -> None:
    # 2 m of air: by the assumed shapes its driver clears only past the window's near edge;
    # a partly hidden face beats none, so the burst keeps its own window
    lane = _lane()
    jobs = _drive(lane, [30.0, 36.9], 3.0, 9.0)
    assert len(jobs) == 2
    lead, foll = jobs
    after_leader = lead.plan.frame_times_ns[-1] + round(lead.plan.interval_s * NS)
    assert after_leader > _natural_start(36.9, 3.0)  # the leader's burst is still running
    assert abs(foll.plan.start_ns - after_leader) < 0.01 * NS
    assert lane.planner.hidden(CAM, foll.track, lead.track, foll.plan.window_near_ns)


def test_one_vehicle_tracked_twice_makes_one_event() -> None:
    # the radar also reports a second return 1.6 m behind the vehicle's front (its roof):
    # whatever the tracker makes of it, the lane films the vehicle once
    lane = _lane()
    jobs = _drive(lane, [45.0], 11.176, 5.0, extra=[46.6])
    assert len(jobs) == 1


def test_duplicate_gate_skips_a_second_track_of_a_captured_vehicle() -> None:
    lane = _lane()
    jobs = _drive(lane, [45.0], 11.176, 3.0)
    (job,) = jobs
    twin = type(job.track)(99, job.trigger_ns, job.track.range_m + 1.2, job.track.speed_mps,
                           0.0, 0.1, 0.1, 0.9, 5, True)
    lane._consider(twin, job.trigger_ns)
    assert lane.stats.faults["duplicate_track"] == 1 and lane._capture_q.empty()


def test_overlapping_windows_do_not_overlap_bursts() -> None:
    # a leader whose burst is still running when the next vehicle's faces arrive: that
    # burst starts one frame after the leader's last frame instead of firing overdue frames
    lane = _lane()
    jobs = _drive(lane, [45.0, 51.5], 20.0, 3.0)  # 6.5 m apart at 72 km/h
    assert len(jobs) == 2
    lead, foll = jobs
    step = round(lead.plan.interval_s * NS)
    assert foll.plan.start_ns >= lead.plan.frame_times_ns[-1] + step
    assert foll.plan.start_ns > _natural_start(51.5, 20.0)


def test_duplicate_gate_uses_the_live_track_not_the_plan_snapshot() -> None:
    # the plan-time snapshot carries a wrong deceleration: two seconds on it is metres off;
    # a second track of the vehicle next to the *live* estimate is still the same vehicle
    lane = _lane()
    (job,) = _drive(lane, [45.0], 11.176, 4.0)
    bad = type(job.track)(job.track.id, job.trigger_ns, job.track.range_m, job.track.speed_mps,
                          -2.0, 0.1, 0.1, 0.9, 5, True)
    lane.planner.planned[0] = (bad, job.plan)
    now = round(4.0 * NS)
    live = lane.tracker.track(job.track.id, now)
    assert live is not None and abs(bad.predict(now)[0] - live.range_m) > 3.0
    twin = type(job.track)(99, now, live.range_m - 1.5, live.speed_mps, 0.0, 0.1, 0.1, 0.9, 5,
                           True)
    lane._consider(twin, now)
    assert lane.stats.faults["duplicate_track"] == 1 and lane._capture_q.empty()


def test_a_vehicle_too_fast_for_the_shortest_exposure_gets_one_failed_event() -> None:
    """The scheduler's too-fast refusal is final: one ``failed`` event coded ``too_fast``, no
    job, and no retry at every planning tick (decided on the error's type and reason)."""
    slow_shutter = CameraTiming(max_frame_rate_hz=30.0, min_exposure_s=2e-3,
                                max_exposure_s=3e-3, max_frames=10)
    sink = MemorySink()
    cam = LaneCamera("cam0", camera=None, model=CAM,  # type: ignore[arg-type]
                     scheduler=CaptureScheduler(GEOM, slow_shutter))
    nothing: object = None
    lane = Lane("t", [cam], VehicleTracker(TrackerConfig()), [], nothing,  # type: ignore[arg-type]
                nothing, nothing, sinks=[sink], queue_size=8)  # type: ignore[arg-type]
    jobs = _drive(lane, [40.0], 15.0, 2.0)
    assert jobs == []
    events = list(sink)
    assert [e.status for e in events] == ["failed"]
    assert events[0].failure == "too_fast"
    assert lane.stats.faults["not_captured:too_fast"] == 1
    assert lane.stats.events["failed"] == 1


def test_a_vehicle_past_the_window_is_reported_once_as_passed() -> None:
    lane = _lane()
    sink = MemorySink()
    lane.sinks.append(sink)
    jobs = _drive(lane, [4.0], 10.0, 1.0)  # first seen already inside the near edge
    assert jobs == []
    assert [(e.status, e.failure) for e in sink] == [("failed", "passed")]


def test_the_planner_forgets_tracks_that_ended() -> None:
    # 12 vehicles 30 m apart: each is planned (handled) while tracked, and forgotten once
    # passed, so a lane that has seen any number of vehicles keeps ids of those in view only
    lane = _lane()
    jobs = _drive(lane, [45.0 + 30.0 * i for i in range(12)], 11.176, 40.0)
    assert [j.seq for j in jobs] == list(range(1, 13))
    live = {t.id for t in lane.tracker.tracks()}
    assert not live and not lane.planner.handled
