"""CaptureScheduler: geometry, exposure for a blur budget, burst timing, trigger issuing."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lanecam.clock import ManualClock
from lanecam.control.scheduler import CameraTiming, CaptureScheduler, LaneGeometry, dof_limits
from lanecam.control.triggering import (
    ActionCommandTrigger,
    HardwareLineTrigger,
    SoftwareTrigger,
    issue,
)
from lanecam.control.tracker import Track
from lanecam.errors import ConfigError, LimitError, NotCapturableError, UnsupportedFeatureError

NS = 1_000_000_000
GEOM = LaneGeometry(focal_length_m=0.075, pixel_size_m=3.45e-6, lateral_offset_m=3.0,
                    height_offset_m=0.0, zone_near_m=15.0, zone_far_m=25.0, face_setback_m=2.0)
TIMING = CameraTiming(max_frame_rate_hz=75.0, min_exposure_s=20e-6, max_exposure_s=2e-3,
                      max_frames=30)


def _track(range_m: float = 50.0, speed: float = 17.88, accel: float = 0.0,
           t_ns: int = 0) -> Track:
    return Track(7, t_ns, range_m, speed, accel, 0.05, 0.1, 0.95, 20, True)


def test_dof_matches_the_reference_table() -> None:
    # physics_quality.md §3.3: 50 mm, f/4, c = 6.9 µm, focus 15 m -> 12.9-18.0 m
    near, far = dof_limits(0.050, 4.0, 6.9e-6, 15.0)
    assert (near, far) == (pytest.approx(12.9, abs=0.05), pytest.approx(18.0, abs=0.05))
    assert dof_limits(0.050, 8.0, 6.9e-6, 100.0)[1] == math.inf
    with pytest.raises(ConfigError):
        dof_limits(0.05, 4.0, 6.9e-6, 0.01)


def test_window_is_zone_intersected_with_depth_of_field() -> None:
    near, far = dof_limits(0.075, 4.0, 6.9e-6, 20.0)  # 18.2-22.2 m from the camera
    g = LaneGeometry(0.075, 3.45e-6, 3.0, 0.0, 15.0, 25.0, dof_near_m=near, dof_far_m=far)
    w_near, w_far = g.window()
    assert g.distance(w_near) == pytest.approx(near) and g.distance(w_far) == pytest.approx(far)
    with pytest.raises(ConfigError, match="overlap"):
        LaneGeometry(0.075, 3.45e-6, 3.0, 0.0, 15.0, 25.0, dof_near_m=30.0, dof_far_m=40.0)
    with pytest.raises(ConfigError):
        LaneGeometry(0.075, 3.45e-6, 3.0, 0.0, 25.0, 15.0)


def test_exposure_for_one_pixel_of_blur_matches_the_formula() -> None:
    # blur_px = v⊥·t·f/(p·Z): 40 mph, 75 mm, 3.45 µm, 3 m lateral, face 20 m down-lane
    z = math.hypot(20.0, 3.0)
    v_perp = 17.88 * 3.0 / z
    expected = 3.45e-6 * z / (0.075 * v_perp)
    assert GEOM.max_exposure(17.88, 20.0, 1.0) == pytest.approx(expected)
    assert expected == pytest.approx(350e-6, rel=0.03)  # "≈ 350 µs", physics_quality §3.1
    assert GEOM.blur_px(17.88, 20.0, expected) == pytest.approx(1.0)
    head_on = LaneGeometry(0.075, 3.45e-6, 0.0, 0.0, 15.0, 25.0)
    assert head_on.max_exposure(20.0, 20.0, 1.0) == math.inf


def test_plan_keeps_every_frame_inside_the_window_and_within_the_blur_budget() -> None:
    sched = CaptureScheduler(GEOM, TIMING, blur_budget_px=1.0)
    track = _track(accel=1.0)  # accelerating: the worst blur is at the end
    plan = sched.plan(track, now_ns=0)
    assert 1 < plan.frame_count <= TIMING.max_frames
    assert plan.interval_s >= 1 / TIMING.max_frame_rate_hz
    near, far = GEOM.window()
    for t in plan.frame_times_ns:
        front, speed = track.predict(t)
        face = front + GEOM.face_setback_m
        assert near - 1e-6 <= face <= far + 1e-6
        assert GEOM.blur_px(speed, face, plan.exposure_s) <= 1.0 + 1e-9
    assert plan.max_blur_px == pytest.approx(1.0)
    assert plan.start_ns == track.time_at_range(far - GEOM.face_setback_m)


def test_slow_vehicle_gets_the_cameras_longest_exposure_and_a_full_burst() -> None:
    plan = CaptureScheduler(GEOM, TIMING).plan(_track(speed=1.0), now_ns=0)
    assert plan.exposure_s == TIMING.max_exposure_s and plan.max_blur_px < 1.0
    assert plan.frame_count == TIMING.max_frames  # 10 s in the window: spread 30 frames


def test_refusals() -> None:
    sched = CaptureScheduler(GEOM, TIMING)
    fast = CameraTiming(75.0, min_exposure_s=1e-3, max_exposure_s=2e-3, max_frames=10)
    for planner, track, reason in [
            (CaptureScheduler(GEOM, fast), _track(speed=40.0), "too_fast"),
            (sched, _track(range_m=5.0), "passed"),
            (sched, _track(range_m=60.0, speed=10.0, accel=-5.0), "stops_short")]:
        with pytest.raises(NotCapturableError) as err:
            planner.plan(track, now_ns=0)
        assert err.value.reason == reason and isinstance(err.value, LimitError)
    with pytest.raises(ConfigError):
        CaptureScheduler(GEOM, TIMING, blur_budget_px=0.0)


def test_vehicle_already_inside_the_window_starts_now() -> None:
    plan = CaptureScheduler(GEOM, TIMING).plan(_track(range_m=20.0), now_ns=5)
    assert plan.start_ns == 5


class RecordingCamera:
    """Records every call of the camera API the scheduler uses (lanecam.devices.cameras)."""

    def __init__(self, clock: ManualClock, actions: bool = False) -> None:
        self.clock = clock
        self.actions = actions
        self.calls: list[tuple[str, Any]] = []

    @property
    def id(self) -> str:
        return "recording"

    def supports(self, name: str) -> bool:
        return self.actions or not name.startswith("action")

    def configure(self, settings: Any) -> Any:
        self.calls.append(("configure", dict(settings)))
        return dict(settings)

    def arm(self, trigger: Any = None) -> None:
        self.calls.append(("arm", trigger))

    def trigger(self) -> None:
        self.calls.append(("trigger", self.clock.now_ns()))


def test_software_triggers_fire_at_the_planned_times() -> None:
    from lanecam.devices.cameras import TriggerKind

    clock = ManualClock()
    sched = CaptureScheduler(GEOM, TIMING, clock=clock)
    plan = sched.plan(_track(), now_ns=0)
    cam = RecordingCamera(clock)
    report = issue(plan, cam, SoftwareTrigger(), clock=sched.clock)
    assert cam.calls[0] == ("configure", {"exposure_time": plan.exposure_s})
    assert cam.calls[1][0] == "arm" and cam.calls[1][1].kind is TriggerKind.SOFTWARE
    assert [t for kind, t in cam.calls[2:]] == list(plan.frame_times_ns)
    assert report.triggers == plan.frame_count and report.max_late_s == 0.0


def test_late_software_triggers_are_reported() -> None:
    clock = ManualClock()
    sched = CaptureScheduler(GEOM, TIMING, clock=clock)
    plan = sched.plan(_track(), now_ns=0)
    clock.advance(plan.start_ns / NS + 0.010)
    report = issue(plan, RecordingCamera(clock), SoftwareTrigger(), clock=sched.clock)
    assert report.max_late_s == pytest.approx(0.010, abs=1e-6)


def test_hardware_line_trigger_sets_the_delay_from_the_loop_edge() -> None:
    from lanecam.devices.cameras import TriggerKind

    clock = ManualClock()
    sched = CaptureScheduler(GEOM, TIMING, clock=clock)
    track = _track()
    plan = sched.plan(track, now_ns=0)
    cam = RecordingCamera(clock)
    report = issue(plan, cam, HardwareLineTrigger(edge_range_m=45.0), track=track, clock=sched.clock)
    edge = track.time_at_range(45.0)
    assert edge is not None
    assert report.trigger_delay_s == pytest.approx((plan.start_ns - edge) / NS)
    trig = cam.calls[1][1]
    assert trig.kind is TriggerKind.HARDWARE and trig.source == "Line1"
    assert trig.delay_s == report.trigger_delay_s and trig.burst_frames == plan.frame_count
    with pytest.raises(LimitError, match="up-lane"):
        issue(plan, cam, HardwareLineTrigger(edge_range_m=10.0), track=track, clock=sched.clock)
    with pytest.raises(ConfigError):
        issue(plan, cam, HardwareLineTrigger(edge_range_m=45.0), clock=sched.clock)


class Issuer:
    def __init__(self) -> None:
        self.sent: list[tuple[int, int, int, int]] = []

    def issue_scheduled(self, device_key: int, group_key: int, group_mask: int,
                        host_time_ns: int) -> None:
        self.sent.append((device_key, group_key, group_mask, host_time_ns))


def test_scheduled_action_commands() -> None:
    clock = ManualClock()
    sched = CaptureScheduler(GEOM, TIMING, clock=clock)
    plan = sched.plan(_track(), now_ns=0)
    issuer = Issuer()
    cam = RecordingCamera(clock, actions=True)
    issue(plan, cam, ActionCommandTrigger(issuer, 0x1234, 1, 0xFFFFFFFF), clock=sched.clock)
    assert [t for *_, t in issuer.sent] == list(plan.frame_times_ns)
    assert cam.calls[1] == ("configure", {"action_device_key": 0x1234, "action_group_key": 1,
                                          "action_group_mask": 0xFFFFFFFF})


def test_action_commands_unsupported_are_refused_before_touching_the_camera() -> None:
    clock = ManualClock()
    sched = CaptureScheduler(GEOM, TIMING, clock=clock)
    cam = RecordingCamera(clock, actions=False)
    issuer = Issuer()
    with pytest.raises(UnsupportedFeatureError, match="scheduled action commands"):
        issue(sched.plan(_track(), now_ns=0), cam, ActionCommandTrigger(issuer, 1, 1, 1), clock=sched.clock)
    assert cam.calls == [] and issuer.sent == []


@pytest.mark.emulator
def test_triggers_on_the_pylon_emulator_camera() -> None:
    from lanecam.clock import MONOTONIC
    from lanecam.devices.cameras.pylon import PylonCamera

    with PylonCamera(device_class="BaslerCamEmu") as cam:
        shortest = cam.limits("exposure_time").min  # 100 µs on the emulator
        timing = CameraTiming(max_frame_rate_hz=20.0, min_exposure_s=shortest,
                              max_exposure_s=1e-3, max_frames=3)
        sched = CaptureScheduler(GEOM, timing, clock=MONOTONIC)
        now = MONOTONIC.now_ns()
        # faces enter the window now and cross its 10 m in 0.5 s (20 m/s)
        track = Track(1, now, 23.0, 20.0, 0.0, 0.05, 0.1, 0.9, 10, True)
        plan = sched.plan(track, now_ns=now)
        assert plan.frame_count == 3
        with pytest.raises(UnsupportedFeatureError, match="scheduled action commands"):
            issue(plan, cam, ActionCommandTrigger(Issuer(), 1, 1, 1), clock=sched.clock)
        report = issue(plan, cam, SoftwareTrigger(), clock=sched.clock)
        assert report.triggers == 3
        assert cam.get("exposure_time") == pytest.approx(plan.exposure_s, rel=0.01)
        for _ in range(3):
            with cam.grab(timeout_s=2.0) as frame:
                assert frame.complete
        cam.disarm()
        with pytest.raises(LimitError, match="already passed the trigger line"):
            issue(plan, cam, HardwareLineTrigger(edge_range_m=40.0), track=track, clock=sched.clock)
        # a vehicle 45 m out: the loop at 40 m fires first, the camera delays to the window
        now = MONOTONIC.now_ns()
        track = Track(2, now, 45.0, 20.0, 0.0, 0.05, 0.1, 0.9, 10, True)
        plan = sched.plan(track, now_ns=now)
        # a burst on a hardware line needs FrameBurstStart, which the emulator lacks
        with pytest.raises(UnsupportedFeatureError):
            issue(plan, cam, HardwareLineTrigger(edge_range_m=40.0), track=track, clock=sched.clock)
        single = CaptureScheduler(GEOM, CameraTiming(20.0, shortest, 1e-3, 1), clock=MONOTONIC)
        p1 = single.plan(track, now_ns=now)
        # the emulator's trigger delay tops out at 10 ms: a loop 17 m up-lane (0.85 s) is too far
        with pytest.raises(LimitError, match="trigger_delay"):
            issue(p1, cam, HardwareLineTrigger(edge_range_m=40.0), track=track, clock=single.clock)
        report = issue(p1, cam, HardwareLineTrigger(edge_range_m=23.1), track=track, clock=single.clock)
        assert report.trigger_delay_s == pytest.approx(0.1 / 20.0, abs=1e-6)
        assert cam.get("trigger_delay") == pytest.approx(report.trigger_delay_s, abs=1e-6)
        cam.disarm()
