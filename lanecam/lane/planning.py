"""When to film which vehicle: the planner turns confirmed tracks into burst plans shortly
before they reach the capture window, one vehicle at a time, skips a second track of a vehicle
already planned (the duplicate gate), and waits until a vehicle ahead no longer hides a
tailgater's faces.  It decides; the runner queues and reports."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from ..control.scheduler import BurstPlan
from ..control.tracker import Track, VehicleTracker
from ..errors import LimitError, NotCapturableError
from ..geometry import SEAT_ROWS, CabinModel, CameraModel
from .camera import LaneCamera
from .types import LaneStats

__all__ = ["Planner", "segment_hits_box"]

log = logging.getLogger(__name__)


class Planner:
    """Plans bursts for confirmed tracks on the first camera's scheduler.

    ``lead_s()``: how long before its burst a vehicle's capture is queued (s);
    ``duplicate_gate_m``: a confirmed track within this of a planned vehicle's *live* estimate
    is that vehicle (counted ``duplicate_track``, skipped)."""

    #: The planner's picture of a vehicle ahead it cannot measure beyond its front (ASSUMED,
    #: a large passenger car — SUV-like, cf. the simulator's classes): a body up to the belt
    #: line, a narrower cabin above it from ``LEADER_CABIN[2]`` behind the front to the rear,
    #: and a length capped by the measured front-to-front gap less half a metre of air.
    LEADER_BODY = (1.9, 1.1)  # width, belt-line height (m)
    LEADER_CABIN = (1.45, 1.75, 1.0)  # width, roof height, start behind the front (m)
    LEADER_LENGTH_M = 4.8
    #: Face centre height of the vehicle behind (ASSUMED: a sedan's front row, the lowest
    #: common case, so the longest occlusion).
    FOLLOWER_FACE_M = 1.2
    CLEAR_STEP_NS = 20_000_000

    def __init__(self, cameras: Sequence[LaneCamera], tracker: VehicleTracker, cabin: CabinModel,
                 stats: LaneStats, lead_s: Callable[[], float], *,
                 duplicate_gate_m: float = 2.0) -> None:
        self.cameras = list(cameras)
        self.tracker = tracker
        self.cabin = cabin
        self.stats = stats
        self.lead_s = lead_s
        self.duplicate_gate_m = duplicate_gate_m
        self.handled: set[int] = set()  # track ids planned, failed or skipped
        # recent captures (track, burst): de-duplication, and one burst at a time
        self.planned: deque[tuple[Track, BurstPlan]] = deque(maxlen=16)
        self._warned: set[int] = set()

    def forget_ended(self, live_ids: set[int]) -> None:
        """Forget every track id not in ``live_ids`` (the tracker's live tracks; it never
        reuses an id): what the planner keeps per track stays as small as the traffic in
        view, however many vehicles have passed (before, one id per track was kept for ever)."""
        self.handled &= live_ids
        self._warned &= live_ids

    def consider(self, track: Track, now: int) -> BurstPlan | None:
        """The burst to queue now for ``track``, or None (not yet, or a duplicate).  Raises
        :class:`NotCapturableError` (the track is then handled) when it can never be filmed;
        another LimitError is counted and the next tick tries again."""
        for other, _ in self.planned:
            if abs(self.tracker.live_predict(other, now)[0] - track.predict(now)[0]) \
                    < self.duplicate_gate_m:
                self.handled.add(track.id)
                self.stats.faults["duplicate_track"] += 1
                return None
        sched = self.cameras[0].scheduler
        try:
            plan = sched.plan(track, now)
        except NotCapturableError:
            self.handled.add(track.id)
            raise
        except LimitError as exc:  # another limit: the next planning tick tries again
            self.stats.faults[f"plan_limit:{exc.feature}"] += 1
            if track.id not in self._warned:  # once per vehicle: the planner ticks every 5 ms
                self._warned.add(track.id)
                log.warning("track %d: planning refused (%s); retrying", track.id, exc)
            return None
        if (plan.start_ns - now) / 1e9 > self.lead_s():
            return None
        later = self.after_leader(track, plan, now)
        if later is not None:
            plan = later
            if (plan.start_ns - now) / 1e9 > self.lead_s():
                return None
        self.handled.add(track.id)
        self.planned.append((track, plan))
        return plan

    def after_leader(self, track: Track, plan: BurstPlan, now: int) -> BurstPlan | None:
        """``plan`` moved later (or None to keep it) for a vehicle behind another.

        The burst starts no earlier than (1) one frame interval after the last planned burst's
        last frame — the lane films one vehicle at a time, so an overlapping start would only
        fire overdue frames in a clump — and (2) the first instant (20 ms steps) at which the
        nearest tracked vehicle ahead, modelled as :data:`LEADER_BODY` / :data:`LEADER_CABIN`
        boxes from its tracked front, no longer hides the line of sight from the first camera
        to at least one front-row face of this one.  The burst still ends at the window's near
        edge; if the face stays hidden all the way, only (1) applies (a partly hidden face
        beats no frames)."""
        lane_cam = self.cameras[0]
        start = plan.start_ns
        for _, prev in self.planned:
            if prev.frame_times_ns:
                start = max(start, prev.frame_times_ns[-1] + round(prev.interval_s * 1e9))
        r_now = track.predict(now)[0]
        ahead = [t for t in self.tracker.tracks(now)
                 if t.id != track.id and t.range_m < r_now - self.duplicate_gate_m]
        if ahead:
            leader = max(ahead, key=lambda t: t.range_m)
            t = start
            while t <= plan.window_near_ns and self.hidden(lane_cam.model, track, leader, t):
                t += self.CLEAR_STEP_NS
            if t <= plan.window_near_ns:
                start = t
        if start <= plan.start_ns:
            return None
        try:
            return lane_cam.scheduler.plan(track, start)
        except LimitError:  # no time left in the window after the leader: capture as planned
            self.stats.faults["leader_no_time"] += 1
            log.warning("track %d: no time left after the vehicle ahead; filming as planned",
                        track.id)
            return None

    def hidden(self, camera: CameraModel, track: Track, leader: Track, t_ns: int) -> bool:
        """Whether ``leader`` (assumed shape) blocks the camera's view of every front-row face
        of ``track`` at ``t_ns``."""
        rf, rl = track.predict(t_ns)[0], leader.predict(t_ns)[0]
        length = min(self.LEADER_LENGTH_M, rf - rl - 0.5)
        if length <= 0:
            return False
        x0 = self.cabin.vehicle_lateral_m
        (bw, belt), (cw, roof, c0) = self.LEADER_BODY, self.LEADER_CABIN
        boxes = [((x0 - bw / 2, 0.0, rl), (x0 + bw / 2, belt, rl + length))]
        if c0 < length:
            boxes.append(((x0 - cw / 2, belt, rl + c0), (x0 + cw / 2, roof, rl + length)))
        eye = camera.position
        for row, x in SEAT_ROWS.values():
            if row != 0:
                continue
            face = np.array([x0 + x, self.FOLLOWER_FACE_M, rf + self.cabin.face_setback_m])
            if not any(segment_hits_box(eye, face, lo, hi) for lo, hi in boxes):
                return False
        return True


def segment_hits_box(p0: np.ndarray, p1: np.ndarray, lo: Sequence[float],
                     hi: Sequence[float]) -> bool:
    """Whether the segment p0→p1 passes through the axis-aligned box [lo, hi] (slabs)."""
    t0, t1 = 0.0, 1.0
    for k in range(3):
        d = float(p1[k] - p0[k])
        if abs(d) < 1e-12:
            if not lo[k] <= p0[k] <= hi[k]:
                return False
            continue
        a, b = (lo[k] - p0[k]) / d, (hi[k] - p0[k]) / d
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        if t0 > t1:
            return False
    return True
