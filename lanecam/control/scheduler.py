"""Capture scheduling: from a vehicle track and the lane geometry to a burst plan and triggers.

Geometry (physics_quality.md §3.1): a face at camera distance Z moving at v along the lane has
a transverse velocity ``v⊥ = v·sin φ`` with ``sin φ = √(L² + h²)/Z`` (L, h: lateral and
vertical camera offsets from the occupant's path), and an exposure t smears it over
``blur_px = v⊥·t·f/(p·Z)`` pixels (f focal length, p pixel pitch).  The longest exposure within a
pixel budget is therefore ``t = budget·p·Z/(f·v⊥)``; it is shortest at the near end of the
capture window (blur ∝ 1/Z²) and at the highest predicted speed, which is where it is taken.

The capture window is the capture zone intersected with the depth of field (hyperfocal
formulas, physics_quality.md §3.3).  The burst starts when the occupant's face reaches the far
edge of the window and spreads at most ``max_frames`` frames, no faster than the camera's frame
rate, until it reaches the near edge.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import MONOTONIC, Clock
from ..errors import ConfigError, LimitError, NotCapturableError, UnsupportedFeatureError
from .tracker import Track

__all__ = [
    "dof_limits",
    "LaneGeometry",
    "CameraTiming",
    "BurstPlan",
    "TriggerCamera",
    "ActionCommandIssuer",
    "SoftwareTrigger",
    "HardwareLineTrigger",
    "ActionCommandTrigger",
    "IssueReport",
    "CaptureScheduler",
]

log = logging.getLogger(__name__)


def dof_limits(focal_length_m: float, f_number: float, coc_m: float,
               focus_distance_m: float) -> tuple[float, float]:
    """Near and far limits (m) of acceptable focus; far is ``inf`` beyond the hyperfocal.

    H = f²/(N·c) + f; near = H·s/(H + (s − f)); far = H·s/(H − (s − f))
    (http://www.dofmaster.com/equations.html, physics_quality.md §3.3).
    """
    f, n, c, s = focal_length_m, f_number, coc_m, focus_distance_m
    if not all(math.isfinite(x) and x > 0 for x in (f, n, c, s)) or s <= f:
        raise ConfigError("need f, N, c > 0 and focus distance > f", key="dof")
    h = f * f / (n * c) + f
    near = h * s / (h + (s - f))
    far = h * s / (h - (s - f)) if h > s - f else math.inf
    return near, far


@dataclass(frozen=True)
class LaneGeometry:
    """Camera pose and optics relative to the occupants' path (metres).

    Ranges are lane ranges (the tracker's axis).  ``face_setback_m`` is the distance from the
    vehicle front (what the sensors see) back to the occupants' faces: about 2 m for a
    passenger car (bonnet plus dashboard, an estimate: calibrate it at the lane).
    ``dof_near_m``/``dof_far_m`` are camera-to-face distances in acceptable focus (use
    :func:`dof_limits`); ``None`` means unlimited.
    """

    focal_length_m: float
    pixel_size_m: float
    lateral_offset_m: float
    height_offset_m: float
    zone_near_m: float
    zone_far_m: float
    dof_near_m: float | None = None
    dof_far_m: float | None = None
    camera_range_m: float = 0.0
    face_setback_m: float = 2.0

    def __post_init__(self) -> None:
        for k in ("focal_length_m", "pixel_size_m"):
            v = getattr(self, k)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError("must be > 0", key=k)
        if not self.camera_range_m <= self.zone_near_m < self.zone_far_m:
            raise ConfigError("need camera_range <= zone_near < zone_far", key="zone_near_m")
        near, far = self.window()
        if not near < far:
            raise ConfigError("capture zone and depth of field do not overlap",
                              key="dof_near_m", allowed=(self.zone_near_m, self.zone_far_m))

    @property
    def offset_m(self) -> float:
        """Distance of the camera from the occupants' path (m)."""
        return math.hypot(self.lateral_offset_m, self.height_offset_m)

    def distance(self, face_range_m: float) -> float:
        """Camera-to-face distance Z (m) for a face at lane range ``face_range_m``."""
        return math.hypot(face_range_m - self.camera_range_m, self.offset_m)

    def _range_at_distance(self, z: float) -> float:
        along = z * z - self.offset_m**2
        return self.camera_range_m + (math.sqrt(along) if along > 0 else 0.0)

    def window(self) -> tuple[float, float]:
        """(near, far) lane range of the faces' capture window: zone ∩ depth of field."""
        near, far = self.zone_near_m, self.zone_far_m
        if self.dof_near_m is not None:
            near = max(near, self._range_at_distance(self.dof_near_m))
        if self.dof_far_m is not None and math.isfinite(self.dof_far_m):
            far = min(far, self._range_at_distance(self.dof_far_m))
        return near, far

    def blur_px(self, speed_mps: float, face_range_m: float, exposure_s: float) -> float:
        """Motion blur (px) of a face at ``face_range_m`` moving at ``speed_mps``."""
        z = self.distance(face_range_m)
        v_perp = abs(speed_mps) * self.offset_m / z
        return v_perp * exposure_s * self.focal_length_m / (self.pixel_size_m * z)

    def max_exposure(self, speed_mps: float, face_range_m: float, budget_px: float) -> float:
        """Longest exposure (s) keeping blur ≤ ``budget_px`` (``inf`` for a head-on path)."""
        z = self.distance(face_range_m)
        v_perp = abs(speed_mps) * self.offset_m / z
        if v_perp == 0:
            return math.inf
        return budget_px * self.pixel_size_m * z / (self.focal_length_m * v_perp)


@dataclass(frozen=True)
class CameraTiming:
    """What the camera (and the illuminator pulse) allow."""

    max_frame_rate_hz: float
    min_exposure_s: float
    max_exposure_s: float
    max_frames: int

    def __post_init__(self) -> None:
        if not (self.max_frame_rate_hz > 0 and 0 < self.min_exposure_s <= self.max_exposure_s
                and self.max_frames >= 1):
            raise ConfigError("need rate > 0, 0 < min_exposure <= max_exposure, frames >= 1",
                              key="timing")


@dataclass(frozen=True)
class BurstPlan:
    """When and how to capture one vehicle (host monotonic ns, seconds, pixels)."""

    track_id: int
    start_ns: int
    frame_count: int
    interval_s: float
    exposure_s: float
    window_far_ns: int  # predicted arrival of the faces at the window's far edge
    window_near_ns: int  # ... at its near edge (or the predicted stop)
    speed_mps: float  # highest predicted speed inside the window
    max_blur_px: float  # blur at the window's near edge at that speed

    @property
    def frame_times_ns(self) -> tuple[int, ...]:
        step = round(self.interval_s * 1e9)
        return tuple(self.start_ns + k * step for k in range(self.frame_count))


class TriggerCamera(Protocol):
    """The camera methods the scheduler uses (lanecam.devices.cameras.Camera has them)."""

    @property
    def id(self) -> str: ...

    def supports(self, name: str) -> bool: ...

    def configure(self, settings: Any) -> Any: ...

    def arm(self, trigger: Any = None) -> None: ...

    def trigger(self) -> None: ...


class ActionCommandIssuer(Protocol):
    """Sends GigE Vision scheduled action commands; maps host monotonic ns to camera time."""

    def issue_scheduled(self, device_key: int, group_key: int, group_mask: int,
                        host_time_ns: int) -> None: ...


@dataclass(frozen=True)
class SoftwareTrigger:
    """One software trigger per frame, timed on the scheduler's clock."""


@dataclass(frozen=True)
class HardwareLineTrigger:
    """A hardware edge on ``line`` fired when the vehicle front reaches ``edge_range_m``
    (e.g. the loop detector's relay); the camera's trigger delay places the burst, whose
    later frames come at the camera's own burst rate.  The camera's trigger-delay range
    bounds how far up-lane the edge may be."""

    edge_range_m: float
    line: str = "Line1"
    activation: str = "RisingEdge"


@dataclass(frozen=True)
class ActionCommandTrigger:
    """Scheduled GigE Vision action commands, one per frame, at the planned times."""

    issuer: ActionCommandIssuer
    device_key: int
    group_key: int
    group_mask: int
    source: str = "Action1"


@dataclass(frozen=True)
class IssueReport:
    """What :meth:`CaptureScheduler.issue` did."""

    method: str
    triggers: int
    max_late_s: float  # worst lateness of a software trigger (0 for hardware/action)
    trigger_delay_s: float | None = None


class CaptureScheduler:
    """Plans bursts from tracks and issues the camera triggers.

    Args:
        geometry: camera pose, optics and capture zone.
        timing: camera frame rate, exposure range and burst size.
        blur_budget_px: tolerated motion blur (px).
        clock: time base of tracks and trigger timing.
    """

    def __init__(self, geometry: LaneGeometry, timing: CameraTiming, *,
                 blur_budget_px: float = 1.0, clock: Clock = MONOTONIC) -> None:
        if not (math.isfinite(blur_budget_px) and blur_budget_px > 0):
            raise ConfigError("blur budget must be > 0 px", key="blur_budget_px")
        self.geometry = geometry
        self.timing = timing
        self.blur_budget_px = blur_budget_px
        self.clock = clock

    def plan(self, track: Track, now_ns: int | None = None) -> BurstPlan:
        """The burst for ``track``.  :class:`NotCapturableError` (a LimitError, with its
        ``reason``) if the vehicle has passed the window, stops short of it, or is too fast
        for the camera's shortest exposure."""
        g, tm = self.geometry, self.timing
        now = self.clock.now_ns() if now_ns is None else now_ns
        win_near, win_far = g.window()
        if track.predict(now)[0] < win_near - g.face_setback_m:
            raise NotCapturableError("vehicle has already passed the capture window",
                                     reason="passed", device=f"track {track.id}",
                                     feature="window_near")
        t_far = track.time_at_range(win_far - g.face_setback_m)
        t_near = track.time_at_range(win_near - g.face_setback_m)
        if t_far is None:
            raise NotCapturableError("vehicle is predicted to stop before the capture window",
                                     reason="stops_short", device=f"track {track.id}",
                                     feature="window_far", allowed=(win_near, win_far))
        if t_near is None:
            # it stops inside the window: capture until it stops
            v, a = track.speed_mps, track.accel_mps2
            t_near = track.t_ns + round(-v / a * 1e9) if a < 0 < v else t_far
        start = max(t_far, now)
        v_start = track.predict(start)[1]
        v_end = track.predict(t_near)[1]
        speed = max(v_start, v_end, 0.0)
        exposure = min(g.max_exposure(speed, win_near, self.blur_budget_px), tm.max_exposure_s)
        if exposure < tm.min_exposure_s:
            raise NotCapturableError(
                f"{speed:.1f} m/s needs exposures <= {exposure:.3g} s for "
                f"{self.blur_budget_px:g} px blur; the camera's minimum is {tm.min_exposure_s:g} s",
                reason="too_fast", device=f"track {track.id}", feature="exposure_time",
                allowed=(tm.min_exposure_s, tm.max_exposure_s))
        duration = (t_near - start) / 1e9
        min_interval = max(1.0 / tm.max_frame_rate_hz, exposure)
        if tm.max_frames == 1 or duration < min_interval:
            count, interval = 1, min_interval
        else:
            interval = max(min_interval, duration / (tm.max_frames - 1))
            count = min(tm.max_frames, int(duration / interval + 1e-9) + 1)
        return BurstPlan(
            track_id=track.id, start_ns=start, frame_count=count, interval_s=interval,
            exposure_s=exposure, window_far_ns=t_far, window_near_ns=t_near, speed_mps=speed,
            max_blur_px=g.blur_px(speed, win_near, exposure),
        )

    def issue(self, plan: BurstPlan, camera: TriggerCamera,
              method: SoftwareTrigger | HardwareLineTrigger | ActionCommandTrigger,
              track: Track | None = None) -> IssueReport:
        """Set the plan's exposure and trigger the camera by ``method``.

        Software triggers block until the last frame time.  A hardware line needs ``track``
        to predict when its edge fires.  Action commands need a camera that supports them,
        else UnsupportedFeatureError (the pylon emulator has none).
        """
        from ..devices.cameras import Trigger  # the camera layer owns the Trigger type

        if isinstance(method, ActionCommandTrigger):
            # check before touching the camera: nothing half-configured on refusal
            if not camera.supports("action_device_key"):
                raise UnsupportedFeatureError(
                    f"camera {camera.id} does not support scheduled action commands",
                    device=camera.id, feature="action_command")
        camera.configure({"exposure_time": plan.exposure_s})
        if isinstance(method, SoftwareTrigger):
            camera.arm(Trigger.software())
            late = 0.0
            for t in plan.frame_times_ns:
                wait = (t - self.clock.now_ns()) / 1e9
                if wait > 0:
                    self.clock.sleep(wait)
                else:
                    late = max(late, -wait)
                camera.trigger()
            if late:
                log.warning("track %d: software triggers up to %.1f ms late", plan.track_id,
                            late * 1e3)
            return IssueReport("software", plan.frame_count, late)
        if isinstance(method, HardwareLineTrigger):
            if track is None:
                raise ConfigError("a hardware-line trigger needs the track", key="track")
            if track.predict(self.clock.now_ns())[0] <= method.edge_range_m:
                raise LimitError("the vehicle has already passed the trigger line",
                                 device=camera.id, feature="edge_range_m")
            edge = track.time_at_range(method.edge_range_m)
            if edge is None:
                raise LimitError("vehicle is predicted never to reach the trigger line",
                                 device=camera.id, feature="edge_range_m")
            delay = (plan.start_ns - edge) / 1e9
            if delay < 0:
                raise LimitError(
                    f"the hardware edge fires {-delay * 1e3:.1f} ms after the burst must start; "
                    "move the trigger up-lane", device=camera.id, feature="trigger_delay")
            camera.arm(Trigger.hardware(method.line, method.activation,
                                        burst_frames=plan.frame_count, delay_s=delay))
            return IssueReport("hardware", 1, 0.0, delay)
        if isinstance(method, ActionCommandTrigger):
            camera.configure({"action_device_key": method.device_key,
                              "action_group_key": method.group_key,
                              "action_group_mask": method.group_mask})
            camera.arm(Trigger.action(source=method.source))
            for t in plan.frame_times_ns:
                method.issuer.issue_scheduled(method.device_key, method.group_key,
                                              method.group_mask, t)
            return IssueReport("action", plan.frame_count, 0.0)
        raise TypeError(f"unknown trigger method {type(method).__name__}")
