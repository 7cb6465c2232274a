"""One lane, wired: sensors → tracker → scheduler → cameras → ranker → face finder → matcher
→ :class:`~lanecam.events.LaneEvent` → vault and sinks.

Threads, each with a bounded hand-over:

* one **sensor** thread per trigger sensor feeds the :class:`~lanecam.control.tracker.VehicleTracker`;
* the **planner** watches confirmed tracks and, shortly before a vehicle reaches the capture
  window, queues its capture (queue of ``queue_size``; a full queue fails that vehicle, counted);
* the **capture** thread triggers every camera at the planned frame times, collects the bursts,
  predicts each frame's occupant ROIs from the tracked range (:func:`~lanecam.geometry.occupant_rois`)
  and moves the frames into the lane's fixed :class:`~lanecam.frames.BufferPool` so the camera
  buffers are free for the next vehicle;
* the **analysis** thread ranks, finds faces in the top-K crops, matches them against the
  vehicle's travel documents, stores the chosen crop per occupant in the vault and emits the event.

Adaptive capture (:attr:`LaneCamera.exposure`, :attr:`LaneCamera.polarization`; both None keeps
the fixed settings).  The capture thread then grabs each frame right after its trigger, meters
the faces found in the predicted occupant ROIs (:class:`~lanecam.control.exposure.FaceMeter`)
and sets exposure, gain and the strobe pulse for the next frame before triggering it
(software re-configuration between frames: settings never change while a triggered frame is
outstanding), bounded by the motion blur of the tracked speed, the camera's live limits, the
gain noise budget and the illuminator's eye-safety interlock (the pulse goes to the strobe
controller through its driver, :attr:`LaneCamera.illuminator`); once settled, the rest of the
burst runs open loop (optionally bracketed brighter for dim or unfound faces).  A motorized
analyzer (:attr:`LaneCamera.rotator`) is turned once per burst to the angle that blocks the
predicted windshield glare — refined, when the controller asks for it, by a Malus fit of probe
frames filmed before the burst.  A polarization-mosaic camera's frames are developed at
capture into analysis images (per ROI I_min or the blocking channel).

Each frame's ROIs come from the tracker's live estimate at its exposure time, and from this
vehicle's cabin (face setback and height) as measured on the faces found; metered seats are
ranked on the face, not on their whole ROI.

One vehicle's failure (a lost camera, a full vault, a matcher error) becomes a ``failed`` or
``partial`` event and is counted; the lane keeps running, and a lost camera is reconnected
before the next vehicle.  A non-match is routed to an officer, never refused.  No pixels or
templates reach logs, exceptions, metrics or sinks.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .clock import MONOTONIC, Clock
from .control.exposure import (
    ExposureBounds,
    ExposureController,
    ExposureSettings,
    FaceMeasurement,
    FaceMeter,
)
from .control.polarization import PolarizationController
from .control.scheduler import BurstPlan, CaptureScheduler
from .control.tracker import Track, VehicleTracker
from .devices.cameras import Camera, Trigger
from .devices.illuminators import Illuminator
from .devices.rotators import PolarizerRotator
from .errors import (
    DeviceLostError,
    DeviceTimeoutError,
    LanecamError,
    LimitError,
    NotCapturableError,
    ProtocolError,
)
from .events import LaneEvent, OccupantResult, Sink
from .frames import BufferPool, Burst, Frame, IlluminationState
from .geometry import SEAT_ROWS, CabinModel, CameraModel, fit_cabin, occupant_rois
from .match.base import FaceHint, FaceNotFoundError, Matcher, Template
from .quality.pixels import bit_depth_of, to_dn8
from .quality.rank import BurstRanker, BurstRanking, Candidate

__all__ = ["LaneCamera", "TravelDocument", "DocumentSource", "Lane", "LaneStats", "face_crop"]

log = logging.getLogger(__name__)

SEATS = tuple(SEAT_ROWS)
#: Share of the blur budget the exposure controller uses: the transverse-motion bound ignores
#: the radial "looming" smear (≈ x_img·v·t/Z: 0.24 px for 200 px off-axis at 15 m, 40 mph,
#: 1 ms — physics_quality.md §3.1) and the track's prediction error.
BLUR_MARGIN = 0.85
#: Share of unpolarized light an analyzer passes (½(k1 + k2) ≈ ½, physics_quality.md §1.4).
ANALYZER_TRANSMISSION = 0.5


@dataclass
class LaneCamera:
    """A camera of the lane with its pose, its scheduler and its capture settings.

    ``exposure``: None keeps the fixed settings (the plan's exposure, ``gain_db``) for the
    whole burst; an :class:`~lanecam.control.exposure.ExposureController` re-sets exposure,
    gain and the strobe pulse (``camera.illumination``) between frames from the faces metered
    in the last frame (``meter_seats``: indices into :data:`SEATS`).
    """

    name: str
    camera: Camera
    model: CameraModel
    scheduler: CaptureScheduler
    gain_db: float | None = None
    lost: bool = False  # set when the camera was lost; reconnected before the next vehicle
    exposure: ExposureController | None = None
    meter_seats: tuple[int, ...] = (0, 1)
    #: a rotatable polarizer's controller: sets ``camera.polarizer_deg`` once per burst to
    #: block the windshield glare predicted for the mid-burst range
    polarization: PolarizationController | None = None
    #: the strobe controller this camera's ExposureActive output fires (camera-strobe mode,
    #: set up by :meth:`~lanecam.devices.illuminators.Illuminator.strobe_from_camera`).  With
    #: ``exposure`` control each frame's pulse width and brightness are sent to it — through
    #: its eye-safety interlock — before the frame is triggered; without a controller the
    #: pulse is written into ``camera.illumination`` (a camera that models its own lamp).
    illuminator: Illuminator | None = None
    #: the motorized analyzer in front of the lens (with ``polarization``); None: the camera
    #: sets its own ``polarizer_deg`` (the simulator's analyzer without a rotator device)
    rotator: PolarizerRotator | None = None
    #: per burst (recent 16): (predicted analyzer angle, the Malus-refined one or None), deg
    analyzer_log: deque[tuple[float, float | None]] = field(default_factory=lambda: deque(maxlen=16))
    #: a polarization-mosaic camera's per-ROI choices so far (``"i_min"`` / ``"single"``)
    dofp_choices: Counter[str] = field(default_factory=Counter)
    #: per burst (recent 16), per frame: the settings used and the metered face level (DN8,
    #: None when no face was found) — numbers only, for diagnostics and tests
    history: deque[list[tuple[ExposureSettings, float | None]]] = field(
        default_factory=lambda: deque(maxlen=16))


@dataclass(frozen=True)
class TravelDocument:
    """A traveler's reference: an id (never a name in logs) and the document photo's template."""

    traveler_id: str
    template: Template


class DocumentSource(Protocol):
    """Gives the travel documents presented for the ``seq``-th vehicle (the booth's scan)."""

    def documents(self, seq: int, track: Track) -> Sequence[TravelDocument]: ...


class SensorReader(Protocol):
    def read(self, timeout: float) -> Any: ...


@dataclass
class LaneStats:
    """Counters and recent stage latencies (seconds) — numbers only."""

    vehicles: int = 0
    events: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    latency: dict[str, deque[float]] = field(default_factory=dict)
    #: workers stopped for failing the same way repeatedly: thread name → error type
    faulted: dict[str, str] = field(default_factory=dict)

    def record(self, stage: str, seconds: float) -> None:
        self.latency.setdefault(stage, deque(maxlen=1000)).append(seconds)

    def summary(self) -> dict[str, Any]:
        lat = {k: {"median_s": float(np.median(v)), "max_s": float(max(v)), "n": len(v)}
               for k, v in self.latency.items() if v}
        return {"vehicles": self.vehicles, "events": dict(self.events),
                "faults": dict(self.faults), "faulted": dict(self.faulted), "latency": lat}


@dataclass
class _Job:
    seq: int
    track: Track
    plan: BurstPlan
    trigger_ns: int
    bursts: list[tuple[LaneCamera, Burst, list[list[tuple[int, int, int, int] | None]]]] = \
        field(default_factory=list)
    error: str | None = None
    captured_ns: int = 0


class Lane:
    """A running lane.  Construct with injected components; ``start()``/``stop()`` or ``with``.

    ``plan_lead_s``: how long before the burst starts its capture is queued; ``crop_margin``:
    the stored crop is the face box grown by this fraction on each side; a confirmed track
    within ``duplicate_gate_m`` of one already captured is the same vehicle (counted, skipped).
    """

    def __init__(self, lane_id: str, cameras: Sequence[LaneCamera], tracker: VehicleTracker,
                 sensors: Sequence[SensorReader], ranker: BurstRanker, matcher: Matcher,
                 documents: DocumentSource, *, vault: Any = None, sinks: Sequence[Sink] = (),
                 cabin: CabinModel = CabinModel(), clock: Clock = MONOTONIC,
                 queue_size: int = 2, plan_lead_s: float = 0.3, pool_frames: int = 64,
                 crop_margin: float = 0.25, sensor_timeout_s: float = 0.2,
                 duplicate_gate_m: float = 2.0, face_meter: FaceMeter | None = None) -> None:
        if not cameras:
            raise LimitError("a lane needs at least one camera", key="cameras", allowed="≥ 1")
        self.lane_id = lane_id
        self.cameras = list(cameras)
        self.tracker = tracker
        self.sensors = list(sensors)
        self.ranker = ranker
        self.matcher = matcher
        self.documents = documents
        self.vault = vault
        self.sinks = list(sinks)
        self.cabin = cabin
        self.clock = clock
        self.plan_lead_s = plan_lead_s
        self.crop_margin = crop_margin
        self.sensor_timeout_s = sensor_timeout_s
        self.stats = LaneStats()
        self._pool_frames = pool_frames
        self._pool: BufferPool | None = None
        self._capture_q: queue.Queue[_Job] = queue.Queue(maxsize=queue_size)
        self._analysis_q: queue.Queue[_Job] = queue.Queue(maxsize=queue_size)
        self._track_lock = threading.Lock()
        self._handled: set[int] = set()
        # recent captures (track, burst): de-duplication, and one burst at a time
        self._planned: deque[tuple[Track, BurstPlan]] = deque(maxlen=16)
        self.duplicate_gate_m = duplicate_gate_m
        self._seq = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()
        self.face_meter = face_meter
        if face_meter is None and any(lc.exposure is not None for lc in self.cameras):
            from .quality.faces import RANKER_MAX_SIDE, DlibFaceFinder

            self.face_meter = FaceMeter(DlibFaceFinder(upsample=0, max_side=RANKER_MAX_SIDE))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Lane:
        from .quality.kernels import warm_up

        warm_up()  # the kernels compile (or load from cache) now, not inside the first burst
        if self.face_meter is not None:  # models load now, not inside the first burst
            self.face_meter.warm_up()
        load = getattr(self.matcher, "load", None)
        if load is not None:  # the matcher's models too (dlib's 68-point model: ~0.9 s)
            load()
        for lc in self.cameras:
            lc.camera.open()
            layout, _ = self._view(lc)
            if layout is not None:  # the mosaic kernels too (seconds of JIT on a cold cache)
                from .quality.dofp import warm_up as warm_dofp

                warm_dofp(layout)
        for s in self.sensors:  # stale readings would carry the wrong time: drop them
            flush = getattr(s, "flush", None)
            if flush is not None:
                flush()
        workers: list[tuple[str, Callable[[], None]]] = [
            (f"sensor-{i}", lambda s=s: self._sense(s)) for i, s in enumerate(self.sensors)]
        workers += [("planner", self._plan_loop), ("capture", self._capture_loop),
                    ("analysis", self._analysis_loop)]
        for name, fn in workers:
            t = threading.Thread(target=self._guard(name, fn), name=f"lane-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("lane %s started with %d camera(s)", self.lane_id, len(self.cameras))
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish queued vehicles (up to ``timeout_s``), then stop every thread and camera."""
        self.wait_idle(timeout_s)
        self._stop.set()
        for t in self._threads:
            t.join(timeout=timeout_s)
        self._threads.clear()
        for lc in self.cameras:
            lc.camera.close()

    def __enter__(self) -> Lane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def idle(self) -> bool:
        with self._busy_lock:
            return self._busy == 0 and self._capture_q.empty() and self._analysis_q.empty()

    def wait_idle(self, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    #: A worker that fails with the same error type this many times in a row, each failure
    #: within ``GUARD_REPEAT_WINDOW_S`` of the one before, is stopped and reported faulted
    #: (``stats.faulted``): a fault that recurs at once will not clear by restarting.
    GUARD_MAX_REPEATS = 5
    GUARD_REPEAT_WINDOW_S = 30.0
    #: Restart back-off after the n-th repeat: ``GUARD_BACKOFF_S * 2**(n-1)``, at most 2 s.
    GUARD_BACKOFF_S = 0.05

    def _guard(self, name: str, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            last: str | None = None
            repeats, last_t = 0, 0.0
            while not self._stop.is_set():
                try:
                    fn()
                    return
                except Exception as exc:  # a thread must never die silently: count, restart
                    kind = type(exc).__name__
                    self.stats.faults[f"{name}:{kind}"] += 1
                    t = time.monotonic()
                    same = kind == last and t - last_t <= self.GUARD_REPEAT_WINDOW_S
                    repeats, last, last_t = (repeats + 1 if same else 1), kind, t
                    if repeats >= self.GUARD_MAX_REPEATS:
                        self.stats.faulted[name] = kind
                        log.error("lane thread %s failed %d times in a row with %s; stopped, "
                                  "its device is reported faulted", name, repeats, kind)
                        return
                    log.error("lane thread %s: %s; restarting", name, kind)
                    self._stop.wait(min(self.GUARD_BACKOFF_S * 2 ** (repeats - 1), 2.0))
        return run

    # ------------------------------------------------------------------ sensing
    def _sense(self, sensor: SensorReader) -> None:
        while not self._stop.is_set():
            try:
                reading = sensor.read(self.sensor_timeout_s)
            except DeviceTimeoutError:
                self.stats.faults["sensor_timeout"] += 1
                continue
            except ProtocolError:
                self.stats.faults["sensor_protocol"] += 1
                continue
            except DeviceLostError:
                self.stats.faults["sensor_lost"] += 1
                self._recover(sensor)
                continue
            if reading is None:
                continue
            with self._track_lock:
                self.tracker.feed(reading)

    def _recover(self, sensor: Any) -> None:
        recover = getattr(sensor, "recover", None)
        while not self._stop.is_set():
            try:
                if recover is not None:
                    recover()
                return
            except LanecamError:
                self.clock.sleep(0.5)

    # ------------------------------------------------------------------ planning
    def _plan_loop(self) -> None:
        while not self._stop.is_set():
            now = self.clock.now_ns()
            with self._track_lock:
                tracks = [t for t in self.tracker.tracks(now) if t.confirmed]
            for track in sorted(tracks, key=lambda t: t.range_m):
                if track.id in self._handled:
                    continue
                self._consider(track, now)
            self.clock.sleep(0.005)

    @property
    def lead_s(self) -> float:
        """How long before its burst a vehicle's capture is queued: ``plan_lead_s`` plus the
        cameras' analyzer probes (:meth:`probe_time_s`), which run before the burst."""
        return self.plan_lead_s + sum(self.probe_time_s(lc) for lc in self.cameras)

    def _consider(self, track: Track, now: int) -> None:
        sched = self.cameras[0].scheduler
        # the tracker may carry one vehicle twice for a while (e.g. readings delayed on a busy
        # host look like a range jump): a track within the gate of a captured vehicle's *live*
        # estimate is that vehicle — its plan-time snapshot, extrapolated for seconds, may be
        # metres off.  A real tailgater is a vehicle length or more behind (≥ ~3 m).
        for other, _ in self._planned:
            if abs(self._predict(other, now)[0] - track.predict(now)[0]) < self.duplicate_gate_m:
                self._handled.add(track.id)
                self.stats.faults["duplicate_track"] += 1
                return
        try:
            plan = sched.plan(track, now)
        except NotCapturableError as exc:  # final: one failed event with the reason code
            self._handled.add(track.id)
            self.stats.faults[f"not_captured:{exc.reason}"] += 1
            self._emit_failed(self._next_seq(), track, now, f"not captured: {exc.message}",
                              failure=exc.reason)
            return
        except LimitError as exc:  # another limit: the next planning tick tries again
            self.stats.faults[f"plan_limit:{exc.feature}"] += 1
            log.warning("track %d: planning refused (%s); retrying", track.id, exc)
            return
        if (plan.start_ns - now) / 1e9 > self.lead_s:
            return
        later = self._after_leader(track, plan, now)
        if later is not None:
            plan = later
            if (plan.start_ns - now) / 1e9 > self.lead_s:
                return
        self._handled.add(track.id)
        self._planned.append((track, plan))
        job = _Job(self._next_seq(), track, plan, now)
        log.info("vehicle %s-%d: track %d at %.1f m, %.1f m/s; %d frames from %+.3f s",
                 self.lane_id, job.seq, track.id, track.range_m, track.speed_mps,
                 plan.frame_count, (plan.start_ns - now) / 1e9)
        try:
            with self._busy_lock:
                self._busy += 1
            self._capture_q.put_nowait(job)
        except queue.Full:
            with self._busy_lock:
                self._busy -= 1
            self.stats.faults["capture_queue_full"] += 1
            self._emit_failed(job.seq, track, now, "capture queue full", failure="queue_full")

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
    _CLEAR_STEP_NS = 20_000_000

    def _after_leader(self, track: Track, plan: BurstPlan, now: int) -> BurstPlan | None:
        """``plan`` moved later (or None to keep it) for a vehicle behind another.

        The burst starts no earlier than (1) one frame interval after the last planned burst's
        last frame — the capture thread films one vehicle at a time, so an overlapping start
        would only fire overdue frames in a clump — and (2) the first instant (20 ms steps) at
        which the nearest tracked vehicle ahead, modelled as :data:`LEADER_BODY` /
        :data:`LEADER_CABIN` boxes from its tracked front, no longer hides the line of sight
        from the first camera to at least one front-row face of this one.  The burst still
        ends at the window's near edge; if the face stays hidden all the way, only (1)
        applies (a partly hidden face beats no frames).
        """
        lc = self.cameras[0]
        start = plan.start_ns
        for _, prev in self._planned:
            if prev.frame_times_ns:
                start = max(start, prev.frame_times_ns[-1] + round(prev.interval_s * 1e9))
        r_now = track.predict(now)[0]
        with self._track_lock:
            ahead = [t for t in self.tracker.tracks(now)
                     if t.id != track.id and t.range_m < r_now - self.duplicate_gate_m]
        if ahead:
            leader = max(ahead, key=lambda t: t.range_m)
            t = start
            while t <= plan.window_near_ns and self._hidden(lc.model, track, leader, t):
                t += self._CLEAR_STEP_NS
            if t <= plan.window_near_ns:
                start = t
        if start <= plan.start_ns:
            return None
        try:
            return lc.scheduler.plan(track, start)
        except LimitError:
            return None  # no time left in the window after the leader: capture as planned

    def _hidden(self, camera: CameraModel, track: Track, leader: Track, t_ns: int) -> bool:
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
        for seat, (row, x) in SEAT_ROWS.items():
            if row != 0:
                continue
            face = np.array([x0 + x, self.FOLLOWER_FACE_M, rf + self.cabin.face_setback_m])
            if not any(self._segment_hits_box(eye, face, lo, hi) for lo, hi in boxes):
                return False
        return True

    @staticmethod
    def _segment_hits_box(p0: np.ndarray, p1: np.ndarray, lo: Sequence[float],
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

    def _next_seq(self) -> int:
        self._seq += 1
        self.stats.vehicles += 1
        return self._seq

    # ------------------------------------------------------------------ capture
    def _capture_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._capture_q.get(timeout=0.05)
            except queue.Empty:
                continue
            t0 = self.clock.now_ns()
            try:
                self._capture(job)
            except LanecamError as exc:
                job.error = f"{type(exc).__name__}: {exc.message}"
                self.stats.faults[f"capture:{type(exc).__name__}"] += 1
                if isinstance(exc, DeviceLostError):
                    for lc in self.cameras:
                        if exc.device in (None, lc.camera._name_for_errors()):
                            lc.lost = True
                for _, burst, _ in job.bursts:
                    burst.release()
                job.bursts.clear()
            self.stats.record("capture", (self.clock.now_ns() - t0) / 1e9)
            job.captured_ns = self.clock.now_ns()
            self._analysis_q.put(job)  # blocks when analysis lags: back-pressure, bounded

    def _capture(self, job: _Job) -> None:
        if any(lc.exposure is not None or lc.polarization is not None for lc in self.cameras):
            self._capture_controlled(job)
            return
        plan = job.plan
        for lc in self.cameras:
            cam = lc.camera
            cam.configure(self._prepare(lc, plan))
            if not cam.is_armed or cam.trigger_mode != Trigger.software():
                cam.arm(Trigger.software())
        fired: list[int] = []  # when each trigger went out (host ns): the exposure times
        for t in plan.frame_times_ns:
            wait = (t - self.clock.now_ns()) / 1e9
            if wait > 0:
                self.clock.sleep(wait)
            fired.append(self.clock.now_ns())
            for lc in self.cameras:
                lc.camera.trigger()
        for lc in self.cameras:
            frames: list[Frame] = []
            rois: list[list[tuple[int, int, int, int] | None]] = []
            k = 0  # which trigger the next frame answers (a dropped frame skips one)
            try:
                for _ in range(plan.frame_count):
                    try:
                        f = lc.camera.grab(timeout_s=1.0)
                    except DeviceTimeoutError:
                        self.stats.faults["frame_timeout"] += 1
                        break
                    k += f.meta.skipped_before
                    when = fired[min(k, len(fired) - 1)]
                    k += 1
                    rng, _ = self._predict(job.track, when)
                    f = self._develop(lc, f, rng, self.cabin)
                    moved = f.detach(self._frame_pool(f))
                    if moved is None:
                        self.stats.faults["pool_full"] += 1
                        continue
                    rois.append(occupant_rois(self._view(lc)[1], rng, self.cabin))
                    frames.append(moved)
            except BaseException:
                for f in frames:
                    f.release()
                raise
            job.bursts.append((lc, Burst(lc.camera.id, frames, requested=plan.frame_count), rois))

    def _prepare(self, lc: LaneCamera, plan: BurstPlan) -> dict[str, Any]:
        """Open/reconnect and arm ``lc``; the fixed (baseline) settings it starts the burst with."""
        cam = lc.camera
        if lc.lost:  # lost during an earlier vehicle: bring it back first
            cam.reconnect(attempts=3, interval_s=0.2)
            lc.lost = False
            self.stats.faults["camera_reconnect"] += 1
        elif not cam.is_open:
            cam.open()
        settings: dict[str, Any] = {"exposure_time": lc.scheduler.timing.max_exposure_s
                                    if not math.isfinite(plan.exposure_s) else plan.exposure_s}
        if lc.gain_db is not None and cam.supports("gain"):
            settings["gain"] = lc.gain_db
        return settings

    def _predict(self, track: Track, when_ns: int) -> tuple[float, float]:
        """(range m, speed m/s) of ``track``'s vehicle at ``when_ns`` from the tracker's *live*
        estimate: the tracker keeps fusing readings during the burst, and a vehicle braking
        towards the booth is ~1.6 m short of a constant-speed extrapolation from the plan a
        second later (rear_seat scenario).  The plan's snapshot stands in once the track is
        gone."""
        with self._track_lock:
            live = self.tracker.track(track.id)
        return (live if live is not None else track).predict(when_ns)

    def _bounds(self, lc: LaneCamera, track: Track, plan: BurstPlan, when_ns: int,
                limits: tuple[tuple[float, float], tuple[float, float]]) -> ExposureBounds:
        """Frame limits at ``when_ns``: the camera's live limits ∩ the blur bound of the tracked
        speed at the predicted face range, and the gain noise budget."""
        assert lc.exposure is not None
        g = lc.scheduler.geometry
        # the seat farthest off the camera's axis moves fastest across the image: the lane
        # geometry's path is the vehicle's centre line, the seats sit up to max|x| beside it
        seat_x = max(abs(x) for _, x in SEAT_ROWS.values())
        g = replace(g, lateral_offset_m=abs(g.lateral_offset_m) + seat_x)
        rng, speed = self._predict(track, when_ns)
        speed = max(abs(speed), abs(plan.speed_mps))
        blur = g.max_exposure(speed, rng + g.face_setback_m,
                              lc.scheduler.blur_budget_px * BLUR_MARGIN)
        return ExposureBounds.of(limits[0], blur, limits[1], lc.exposure.max_gain_db)

    def _light_change(self, lc: LaneCamera, track: Track, now_ns: int, next_ns: int) -> float:
        """The lamp's irradiance on the face at ``next_ns`` over that at ``now_ns`` (1/Z², the
        lamp beside the camera)."""
        g = lc.scheduler.geometry
        z0 = g.distance(self._predict(track, now_ns)[0] + g.face_setback_m)
        z1 = g.distance(self._predict(track, next_ns)[0] + g.face_setback_m)
        return (z0 / z1) ** 2 if z1 > 0 else 1.0

    def _apply(self, lc: LaneCamera, s: ExposureSettings) -> None:
        settings: dict[str, Any] = {"exposure_time": s.exposure_s}
        if lc.camera.supports("gain"):
            settings["gain"] = s.gain_db
        lc.camera.configure(settings)
        if s.pulse_s is None:
            return
        if lc.illuminator is not None:
            self._set_strobe(lc, s.pulse_s, s.brightness)
        else:
            old = lc.camera.illumination
            lc.camera.illumination = IlluminationState("strobe", s.pulse_s, s.brightness,
                                                       old.wavelength_m)

    def _set_strobe(self, lc: LaneCamera, pulse_s: float, brightness: float) -> None:
        """Send the next frame's pulse to the controller (only when it changes: each command
        is a serial round trip).  The driver's interlock has the last word: a refused setting
        (LimitError) leaves the controller as it was; a failed controller switches itself off
        (the driver's fault policy) and the frame goes unlit — counted, the burst goes on."""
        lamp = lc.illuminator
        assert lamp is not None
        cur = lamp.setting
        if lamp.state == "pulse" and cur is not None and \
                abs(cur.width_s - pulse_s) < 0.5e-6 and abs(cur.brightness - brightness) < 1e-9:
            return
        ctrl = lc.exposure
        rate = ctrl.pulse.rate_hz if ctrl is not None and ctrl.pulse is not None else \
            lc.scheduler.timing.max_frame_rate_hz
        try:
            lamp.set_pulse(pulse_s, brightness, rate)
        except LimitError:
            self.stats.faults["strobe_refused"] += 1
        except LanecamError as exc:
            self.stats.faults[f"strobe:{type(exc).__name__}"] += 1

    def _capture_controlled(self, job: _Job) -> None:
        """Burst with closed-loop exposure control.

        Closed-loop phase: trigger frame k, grab it, meter its faces, set frame k+1 — until the
        controller has settled or ``closed_loop_frames`` frames have gone by.  Open-loop phase:
        one setting for the rest of the burst (the last frame's blur bound, the lamp's 1/Z²
        feed-forward to the middle of the rest), triggered on schedule and grabbed at the end.
        Settings only ever change with no triggered frame outstanding, so each frame is
        exposed with the settings current at its trigger.
        """
        plan, track = job.plan, job.track
        times = plan.frame_times_ns
        n_cam = len(self.cameras)
        state: dict[int, ExposureSettings] = {}
        limits: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {}
        logs: list[list[Any]] = [[] for _ in self.cameras]
        closed = [lc.exposure is not None for lc in self.cameras]
        mid = times[len(times) // 2]
        probe: list[tuple[int, float]] = []  # (camera, predicted angle) to probe first
        sequenced: dict[int, tuple[int, ExposureSettings]] = {}  # camera → (from frame, bracket)
        for i, lc in enumerate(self.cameras):
            cam = lc.camera
            settings = self._prepare(lc, plan)
            if lc.polarization is not None:
                g = lc.scheduler.geometry
                pol = lc.polarization
                pred = pol.predict(lc.model, self._predict(track, mid)[0] + g.face_setback_m,
                                   vehicle_lateral_m=self.cabin.vehicle_lateral_m)
                got = self._set_analyzer(lc, pred)
                if lc.rotator is not None and got is not None and pol.probe_offsets_deg:
                    probe.append((i, pred))
                else:
                    lc.analyzer_log.append((pred, None))
            if lc.exposure is not None:
                el = cam.limits("exposure_time")
                gl = cam.limits("gain") if cam.supports("gain") else None
                limits[i] = ((float(el.min), float(el.max)),
                             (float(gl.min), float(gl.max)) if gl is not None else (0.0, 0.0))
                ill = cam.illumination
                pulse_s, bright = ill.pulse_s, ill.brightness
                lamp = lc.illuminator
                if lamp is not None and lamp.setting is not None:  # what the controller holds
                    pulse_s, bright = lamp.setting.width_s, lamp.setting.brightness
                prior = ExposureSettings(settings["exposure_time"],
                                         float(settings.get("gain", 0.0)), pulse_s, bright)
                state[i] = lc.exposure.begin(
                    prior, self._bounds(lc, track, plan, times[0], limits[i]),
                    ANALYZER_TRANSMISSION if lc.polarization is not None else 1.0)
                self._apply(lc, state[i])
            else:
                cam.configure(settings)
            if not cam.is_armed or cam.trigger_mode != Trigger.software():
                cam.arm(Trigger.software())
        for i, pred in probe:
            self._probe_glare(self.cameras[i], pred, track, times[0])
        frames: list[list[Frame]] = [[] for _ in self.cameras]
        rois: list[list[list[tuple[int, int, int, int] | None]]] = [[] for _ in self.cameras]
        pending: list[list[int]] = [[] for _ in self.cameras]  # trigger host ns, not grabbed
        later: list[dict[int, ExposureSettings]] = [{} for _ in self.cameras]  # open-loop changes
        done = [False] * n_cam
        meter = self.face_meter
        if meter is not None:
            meter.reset()
        whens: list[list[int]] = [[] for _ in self.cameras]  # each kept frame's exposure time
        cabin = [self.cabin]  # this vehicle's cabin, re-measured from the faces found
        found_at: dict[object, int] = {}  # meter key → when its face's frame was exposed

        def remeasure() -> None:
            """Fit the cabin to every face found so far; keep the meter's faces in place."""
            assert meter is not None
            boxes = meter.found()
            items = [(self._view(self.cameras[k[0]])[1], self._predict(track, w)[0],  # type: ignore[index]
                      SEATS[k[1]], boxes[k])  # type: ignore[index]
                     for k, w in found_at.items()]  # type: ignore[index]
            cabin[0] = fit_cabin(self.cabin, items)
            for k, w in found_at.items():
                ci, seat = k  # type: ignore[misc]
                meter.rebase(k, occupant_rois(self._view(self.cameras[ci])[1],
                                              self._predict(track, w)[0],
                                              cabin[0])[seat])

        def grab(i: int, meter_it: bool) -> list[FaceMeasurement]:
            lc = self.cameras[i]
            faces: list[FaceMeasurement] = []
            while pending[i] and not done[i]:
                when = pending[i].pop(0)
                try:
                    f = lc.camera.grab(timeout_s=1.0)
                except DeviceTimeoutError:
                    self.stats.faults["frame_timeout"] += 1
                    done[i] = True
                    break
                for _ in range(f.meta.skipped_before):  # a dropped frame answered no trigger
                    if pending[i]:
                        when = pending[i].pop(0)
                rng, _ = self._predict(track, when)
                f = self._develop(lc, f, rng, cabin[0])
                roi = occupant_rois(self._view(lc)[1], rng, cabin[0])
                if meter_it and meter is not None and not pending[i]:
                    seat = [((i, s), roi[s]) for s in lc.meter_seats if s < len(roi)]
                    faces = meter.measure(f.array, seat, bit_depth=bit_depth_of(f))
                    new = [k for k in meter.found() if k not in found_at]
                    if new:
                        found_at.update((k, when) for k in new)
                        remeasure()
                moved = f.detach(self._frame_pool(f))
                if moved is None:
                    self.stats.faults["pool_full"] += 1
                    continue
                frames[i].append(moved)
                rois[i].append(roi)
                whens[i].append(when)
            return faces

        times = list(times)
        min_step = round(1e9 / max(lc.scheduler.timing.max_frame_rate_hz for lc in self.cameras))
        try:
            for k in range(len(times)):
                t = times[k]
                wait = (t - self.clock.now_ns()) / 1e9
                if wait > 0:
                    self.clock.sleep(wait)
                for i, lc in enumerate(self.cameras):
                    change = later[i].pop(k, None)
                    if change is not None and not done[i]:
                        grab(i, False)  # no frame may be outstanding when settings change
                        state[i] = change
                        self._apply(lc, change)
                when = self.clock.now_ns()
                self.stats.record("trigger_late", max(0.0, (when - t) / 1e9))
                for i, lc in enumerate(self.cameras):
                    if not done[i]:
                        lc.camera.trigger()
                        pending[i].append(when)
                        if lc.exposure is not None:
                            seq = sequenced.get(i)
                            logs[i].append([seq[1] if seq and k >= seq[0] else state[i], None])
                if k + 1 == len(times):
                    break
                for i, lc in enumerate(self.cameras):
                    if not closed[i] or done[i] or lc.exposure is None:
                        continue
                    faces = grab(i, True)
                    if faces and logs[i]:
                        logs[i][-1][1] = max(m.mean for m in faces)
                    ctrl = lc.exposure
                    nxt = max(times[k + 1], self.clock.now_ns())
                    settled = ctrl.settled(faces) or k + 1 >= ctrl.closed_loop_frames
                    if settled:  # open loop from here: one setting for the rest
                        closed[i] = False
                        mid = times[(k + 1 + len(times) - 1) // 2]
                        # the rest may be re-spaced later than planned (_respace): bound the
                        # exposure at the latest the last frame can come
                        last = max(times[-1], nxt + (len(times) - k - 2) * min_step)
                        bounds = self._bounds(lc, track, plan, last, limits[i])
                        light = self._light_change(lc, track, when, max(mid, nxt))
                    else:
                        bounds = self._bounds(lc, track, plan, nxt, limits[i])
                        light = self._light_change(lc, track, when, nxt)
                    state[i] = ctrl.update(state[i], faces, bounds, light)
                    self._apply(lc, state[i])
                    if settled:
                        at = (k + 1 + len(times)) // 2  # the second half of the rest, brighter
                        if lc.camera.supports_sequence:  # the camera switches, no host stall
                            brighter = ctrl.bracket(state[i], faces, len(lc.meter_seats),
                                                    self._sequence_bounds(lc, state[i], bounds))
                            if brighter is not None and self._program_rest(
                                    lc, state[i], brighter, at - k - 1, len(times) - at):
                                sequenced[i] = (at, brighter)
                                brighter = None
                        else:
                            brighter = ctrl.bracket(state[i], faces, len(lc.meter_seats), bounds)
                        if brighter is not None:  # re-configured between frames
                            later[i][at] = brighter
                if not any(closed) and k + 1 < len(times):
                    times[k + 1:] = _respace(times[k + 1:], self.clock.now_ns(), min_step)
            for i in range(n_cam):
                grab(i, False)
        except BaseException:
            for fs in frames:
                for f in fs:
                    f.release()
            raise
        finally:
            for i in sequenced:  # the next burst starts from the configured settings
                try:
                    self.cameras[i].camera.clear_sequence()
                except LanecamError:
                    self.stats.faults["sequence_clear"] += 1
        if found_at:  # every frame's ROIs from the cabin measured on the faces
            for i, lc in enumerate(self.cameras):
                rois[i] = [occupant_rois(self._view(lc)[1], self._predict(track, w)[0], cabin[0])
                           for w in whens[i]]
        if meter is not None:  # rank each metered seat on its face, not on its whole ROI
            for i in range(n_cam):
                for roi in rois[i]:
                    for s in range(len(roi)):
                        box = roi[s]
                        face = None if box is None else meter.face_region((i, s), box)
                        if face is not None:
                            roi[s] = face
        for i, lc in enumerate(self.cameras):
            if lc.exposure is not None:
                lc.history.append([(s, level) for s, level in logs[i]])
            job.bursts.append((lc, Burst(lc.camera.id, frames[i], requested=plan.frame_count),
                               rois[i]))

    @staticmethod
    def _sequence_bounds(lc: LaneCamera, s: ExposureSettings,
                         bounds: ExposureBounds) -> ExposureBounds:
        """Limits of a bracket the camera's sequencer runs: with a controlled strobe the
        exposure stays (the lamp's pulse, aligned with it, is set by the host and cannot follow
        mid-burst) and gain carries the bracket."""
        if s.pulse_s is None or lc.illuminator is None:
            return bounds
        return replace(bounds, exposure_min_s=s.exposure_s, exposure_max_s=s.exposure_s)

    def _program_rest(self, lc: LaneCamera, settled: ExposureSettings,
                      brighter: ExposureSettings, n_settled: int, n_brighter: int) -> bool:
        """The open-loop rest in the camera's sequencer: ``n_settled`` frames as settled, then
        ``n_brighter`` brighter.  False (re-configure between frames instead) when the camera
        refuses it."""
        def step(x: ExposureSettings) -> dict[str, float]:
            out = {"exposure_time": x.exposure_s}
            if lc.camera.supports("gain"):
                out["gain"] = x.gain_db
            return out

        try:
            lc.camera.program_sequence([step(settled)] * n_settled + [step(brighter)] * n_brighter)
        except LanecamError as exc:
            self.stats.faults[f"sequence:{type(exc).__name__}"] += 1
            return False
        return True

    def _set_analyzer(self, lc: LaneCamera, angle_deg: float) -> float | None:
        """Turn the analyzer to ``angle_deg`` (image frame): with the rotator (blocking until it
        stops; a failure is counted and the burst goes on at whatever angle it reached — None),
        else through the camera's own ``polarizer_deg`` (a simulated analyzer).  Returns the
        angle reached."""
        if lc.rotator is not None:
            try:
                return lc.rotator.move_to(angle_deg)
            except LanecamError as exc:
                self.stats.faults[f"rotator:{type(exc).__name__}"] += 1
                return None
        lc.camera.polarizer_deg = angle_deg % 180.0
        return angle_deg % 180.0

    def probe_time_s(self, lc: LaneCamera, predicted_deg: float = 90.0) -> float:
        """How long (s) the analyzer probe of ``lc`` takes: the rotator's first move to the
        predicted angle (from anywhere: 90° at most), its moves through the probe angles and
        back to the fit's, and one frame at each angle."""
        pol, rot = lc.polarization, lc.rotator
        if pol is None or rot is None or not pol.probe_offsets_deg:
            return 0.0
        angles = [predicted_deg] + [predicted_deg + o for o in pol.probe_offsets_deg]
        moves = rot.move_time_s(0.0, 90.0)
        moves += sum(rot.move_time_s(a, b) for a, b in zip(angles, angles[1:]))
        back = max(rot.move_time_s(angles[-1], a) for a in angles)  # the fit's angle: ≤ this
        frame = 1.0 / lc.scheduler.timing.max_frame_rate_hz + PROBE_GRAB_S
        return moves + back + len(angles) * frame

    def _probe_glare(self, lc: LaneCamera, predicted: float, track: Track,
                     deadline_ns: int) -> None:
        """Malus probe before the burst: a frame at the predicted analyzer angle and at each
        probe offset from it (the vehicle is already in view, farther out), the front-row
        ROIs' glare per unit t·g in each, a Malus fit, and the analyzer turned to the angle
        that blocks the measured glare — which absorbs a mis-calibrated mount offset or a
        rake the geometry got wrong.  The prediction stands when there is no time before the
        burst, a frame is lost, the glare clips or the fit is refused (counted)."""
        pol = lc.polarization
        assert pol is not None
        first = lc.rotator.move_time_s(0.0, 90.0) if lc.rotator is not None else 0.0
        if (deadline_ns - self.clock.now_ns()) / 1e9 < self.probe_time_s(lc, predicted) - first:
            self.stats.faults["malus_no_time"] += 1
            lc.analyzer_log.append((predicted, None))
            return
        samples: list[tuple[float, float, float]] = []
        angle: float | None = predicted
        for j, target in enumerate([predicted] + [predicted + o for o in pol.probe_offsets_deg]):
            if j:
                angle = self._set_analyzer(lc, target)
            if angle is None:
                break
            when = self.clock.now_ns()
            lc.camera.trigger()
            try:
                f = lc.camera.grab(timeout_s=1.0)
            except DeviceTimeoutError:
                self.stats.faults["frame_timeout"] += 1
                break
            try:
                rng, _ = self._predict(track, when)
                f = self._develop(lc, f, rng, self.cabin)
                got = _glare_sample(f.array, occupant_rois(self._view(lc)[1], rng, self.cabin),
                                    f.meta, bit_depth_of(f))
            finally:
                f.release()
            if got is not None:
                samples.append((angle, *got))
        refined: float | None = None
        if len(samples) >= 3:
            if max(c for _, _, c in samples) > MALUS_CLIP_LIMIT:
                self.stats.faults["malus_clipped"] += 1
            else:
                try:
                    refined = pol.refine(predicted, [a for a, _, _ in samples],
                                         [g for _, g, _ in samples])
                except LimitError:
                    self.stats.faults["malus_degenerate"] += 1
        lc.analyzer_log.append((predicted, refined))
        self._set_analyzer(lc, predicted if refined is None else refined)

    def _view(self, lc: LaneCamera) -> tuple[Any, CameraModel]:
        """(polarization-mosaic layout or None, the camera model of the frames the lane
        analyses).  A mosaic camera's frames are developed at capture (:meth:`_develop`) into
        half-resolution analysis images: the same lens seen through half the pixels."""
        layout = lc.camera.profile.polarization_layout if lc.camera.is_open else None
        if layout is None:
            return None, lc.model
        return layout, lc.model.scaled(0.5)

    def _develop(self, lc: LaneCamera, frame: Frame, range_m: float, cabin: CabinModel) -> Frame:
        """A polarization-mosaic frame → its analysis image (:func:`~lanecam.quality.dofp.analysis_image`):
        per occupant ROI the Stokes I_min image where the measured glare is strongly polarized,
        else the analyzer channel that blocks it, told from the glass's own p-polarization by
        the glare angle the geometry predicts.  The raw frame is released; other frames pass."""
        layout, _ = self._view(lc)
        if layout is None:
            return frame
        from .quality.dofp import analysis_image

        try:
            ctrl = lc.polarization or PolarizationController()
            try:
                glare: float | None = ctrl.glare_angle(
                    lc.model, range_m + lc.scheduler.geometry.face_setback_m,
                    vehicle_lateral_m=cabin.vehicle_lateral_m)
            except LimitError:  # normal incidence: no plane of incidence
                glare = None
            raw = frame.array
            depth = bit_depth_of(frame) or (8 if raw.dtype == np.uint8 else 16)
            ai = analysis_image(raw, layout, occupant_rois(lc.model, range_m, cabin),
                                bit_depth=depth, controller=ctrl, glare_deg=glare)
            del raw
        finally:
            frame.release()
        lc.dofp_choices.update(c for c in ai.choices if c is not None)
        h, w = ai.image.shape
        return Frame(ai.image, replace(frame.meta, width=w, height=h,
                                       pixel_format="Mono8" if depth == 8 else f"Mono{depth}"))

    def _frame_pool(self, frame: Frame) -> BufferPool:
        need = frame.array.nbytes
        if self._pool is None or self._pool.slot_nbytes < need:
            self._pool = BufferPool(self._pool_frames, need)
        return self._pool

    # ------------------------------------------------------------------ analysis
    def _analysis_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._analysis_q.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                self._analyze(job)
            except Exception as exc:  # the vehicle fails, the lane goes on
                self.stats.faults[f"analysis:{type(exc).__name__}"] += 1
                self._emit_failed(job.seq, job.track, job.trigger_ns,
                                  f"{type(exc).__name__}: {getattr(exc, 'message', '')}".strip())
            finally:
                for _, burst, _ in job.bursts:
                    burst.release()
                with self._busy_lock:
                    self._busy -= 1

    def _analyze(self, job: _Job) -> None:
        t0 = self.clock.now_ns()
        docs = list(self.documents.documents(job.seq, job.track))
        if job.error is not None:
            self._emit_failed(job.seq, job.track, job.trigger_ns, job.error, docs=len(docs))
            return
        rankings: list[tuple[LaneCamera, Burst, BurstRanking]] = []
        for lc, burst, rois in job.bursts:
            if len(burst):
                rankings.append((lc, burst, self.ranker.rank(burst, rois)))
        t_rank = self.clock.now_ns()
        self.stats.record("rank", (t_rank - t0) / 1e9)
        faces = self._best_faces(rankings)
        probes: list[tuple[int, Candidate, LaneCamera, Burst, np.ndarray, Template]] = []
        for seat, (cand, lc, burst) in faces.items():
            assert cand.face is not None
            crop, hint = face_crop(burst[cand.roi.frame_index], cand.face.box, self.crop_margin)
            try:
                tpl = self.matcher.template(crop, hint)
            except FaceNotFoundError:
                self.stats.faults["matcher_no_face"] += 1
                continue
            probes.append((seat, cand, lc, burst, crop, tpl))
        self.stats.record("match", (self.clock.now_ns() - t_rank) / 1e9)
        occupants = self._decide(job, docs, probes)
        frames = sum(len(b) for _, b, _ in job.bursts)
        incomplete = sum(b.incomplete_count for _, b, _ in job.bursts)
        verified = [o for o in occupants if o.outcome == "verified"]
        status = "complete" if occupants and len(verified) == len(occupants) else "partial"
        now = self.clock.now_ns()
        event = LaneEvent(self.lane_id, f"{self.lane_id}-{job.seq}", status, job.plan.start_ns,
                          now, float(job.plan.speed_mps), tuple(occupants), frames, incomplete,
                          latency_s={"decision": (now - job.captured_ns) / 1e9})
        self._emit(event)

    def _best_faces(self, rankings: list[tuple[LaneCamera, Burst, BurstRanking]]
                    ) -> dict[int, tuple[Candidate, LaneCamera, Burst]]:
        """The best candidate with a face per seat, across all cameras."""
        best: dict[int, tuple[Candidate, LaneCamera, Burst]] = {}
        for lc, burst, ranking in rankings:
            for seat, cands in ranking.top.items():
                for c in cands:
                    if c.face is None:
                        continue
                    if seat not in best or c.score > best[seat][0].score:
                        best[seat] = (c, lc, burst)
                    break
        # one person seen through two seat ROIs (a rear ROI overlaps the front row): keep one
        kept: dict[int, tuple[Candidate, LaneCamera, Burst]] = {}
        for seat, item in sorted(best.items(), key=lambda kv: -kv[1][0].score):
            c, lc, _ = item
            if any(lc is k[1] and c.roi.frame_index == k[0].roi.frame_index
                   and _iou(c.face.box, k[0].face.box) > 0.3 for k in kept.values()):
                continue
            kept[seat] = item
        return kept

    def _decide(self, job: _Job, docs: list[TravelDocument],
                probes: list[tuple[int, Candidate, LaneCamera, Burst, np.ndarray, Template]]
                ) -> list[OccupantResult]:
        """Assign faces to documents by similarity (greedy, best first); one result per traveler."""
        sims = [[self.matcher.compare(p[5], d.template) for d in docs] for p in probes]
        # best first; ties (one person's document presented twice) in presentation order
        pairs = sorted(((sims[i][j], i, j) for i in range(len(probes)) for j in range(len(docs))),
                       key=lambda p: (-p[0], p[2], p[1]))
        face_of: dict[int, int] = {}
        used: set[int] = set()
        for s, i, j in pairs:
            if i in used or j in face_of:
                continue
            decision = self.matcher.verify(probes[i][5], docs[j].template)
            if decision.match:
                face_of[j] = i
                used.add(i)
        results: list[OccupantResult] = []
        for j, doc in enumerate(docs):
            if j in face_of:
                i = face_of[j]
                results.append(self._result(job, j, probes[i], docs[j], "verified", None))
            else:
                # the unmatched face most like this traveler, for the officer to compare
                free = [i for i in range(len(probes)) if i not in used]
                if free:
                    i = max(free, key=lambda k: sims[k][j])
                    results.append(self._result(job, j, probes[i], docs[j], "refer_to_officer",
                                                "no face matched the document"))
                else:
                    results.append(OccupantResult(j, None, None, None, False, "refer_to_officer",
                                                  reason="no usable face captured"))
        return results

    def _result(self, job: _Job, index: int, probe: tuple, doc: TravelDocument, outcome: str,
                reason: str | None) -> OccupantResult:
        seat, cand, lc, burst, crop, tpl = probe
        d = self.matcher.verify(tpl, doc.template)
        record = None
        if self.vault is not None:
            try:
                record = self.vault.write(crop, {
                    "lane": self.lane_id, "vehicle": f"{self.lane_id}-{job.seq}",
                    "traveler": doc.traveler_id, "seat": SEATS[seat] if seat < len(SEATS) else "?",
                    "camera": lc.camera.id, "frame": int(cand.roi.frame_number),
                    "quality": round(float(cand.score), 2), "outcome": outcome})
            except LanecamError as exc:
                self.stats.faults[f"vault:{type(exc).__name__}"] += 1
        # the face box in sensor pixels (a mosaic camera's analysis image has half of them)
        k = 2 if self._view(lc)[0] is not None else 1
        return OccupantResult(index, lc.camera.id, int(cand.roi.frame_number),
                              round(float(cand.score), 2), True, outcome, round(d.score, 4),
                              d.threshold, d.fmr, record, reason,
                              box=tuple(int(v) * k for v in cand.face.box))

    # ------------------------------------------------------------------ output
    def _emit_failed(self, seq: int, track: Track, now: int, error: str, docs: int = 0,
                     failure: str | None = None) -> None:
        occ = tuple(OccupantResult(j, None, None, None, False, "refer_to_officer",
                                   reason="vehicle not captured") for j in range(docs))
        self._emit(LaneEvent(self.lane_id, f"{self.lane_id}-{seq}", "failed", now,
                             self.clock.now_ns(), float(track.speed_mps), occ, error=error,
                             failure=failure))

    def _emit(self, event: LaneEvent) -> None:
        self.stats.events[event.status] += 1
        if "decision" in event.latency_s:
            self.stats.record("decision", event.latency_s["decision"])
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception as exc:  # a broken sink must not stop the lane
                self.stats.faults[f"sink:{type(exc).__name__}"] += 1


#: A Malus probe whose front-row ROIs clip beyond this share is not fitted (a clipped mean
#: under-states the glare, flattening the cos 2θ it should show).
MALUS_CLIP_LIMIT = 0.05


#: Host-side time to grab and analyse one probe frame (s), on top of the frame period.
PROBE_GRAB_S = 0.06


def _glare_sample(image: np.ndarray, roi: Sequence[tuple[int, int, int, int] | None],
                  meta: Any, bit_depth: int | None) -> tuple[float, float] | None:
    """The glare of one probe frame: the front-row ROIs' mean (the windshield in front of the
    faces — mirrored sky over unpolarized skin and cabin) per unit exposure × gain, and the
    share of those pixels clipped; None without front-row ROIs or exposure metadata."""
    from .quality.kernels import region_stats

    boxes = [b for b in roi[:2] if b is not None]
    if not boxes or not meta.exposure_s:
        return None
    recs, _ = region_stats(image, boxes, bit_depth=bit_depth)
    n = float(sum(r["n_pixels"] for r in recs))
    if n <= 0:
        return None
    mean = float(sum(r["mean"] * r["n_pixels"] for r in recs)) / n
    clip = float(sum(r["over_exposed"] * r["n_pixels"] for r in recs)) / n
    linear = meta.exposure_s * 10.0 ** ((meta.gain_db or 0.0) / 20.0)
    return mean / linear, clip


def _respace(rest: list[int], now_ns: int, min_step_ns: int) -> list[int]:
    """The rest of a burst that fell behind (closed-loop frames took longer than planned):
    spread evenly from now to the planned last frame, no closer than ``min_step_ns``, instead
    of firing every overdue trigger at once (frames of the same instant add nothing)."""
    if not rest or rest[0] >= now_ns:
        return rest
    n = len(rest)
    end = max(rest[-1], now_ns + (n - 1) * min_step_ns)
    step = (end - now_ns) / (n - 1) if n > 1 else 0
    return [round(now_ns + j * step) for j in range(n)]


def face_crop(frame: Frame, box: Sequence[int], margin: float) -> tuple[np.ndarray, FaceHint]:
    """The crop stored and matched for a face ``box`` (x, y, w, h) of ``frame``: the box grown
    by ``margin`` of its size on each side (clipped to the frame), on the 8-bit scale of the
    frame's own bit depth (:func:`~lanecam.quality.pixels.to_dn8`, as the face finder sees
    it), and the face's box inside the crop."""
    x, y, w, h = (int(v) for v in box)
    image = frame.array
    x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    x1 = min(image.shape[1], int(x + w + margin * w))
    y1 = min(image.shape[0], int(y + h + margin * h))
    crop = to_dn8(image[y0:y1, x0:x1], bit_depth_of(frame))
    return crop, FaceHint((x - x0, y - y0, x - x0 + w, y - y0 + h))


def _iou(a: Sequence[int], b: Sequence[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0
