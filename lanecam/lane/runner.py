"""The running lane: threads, bounded queues, stopping, fault counting and events.

Threads, each with a bounded hand-over:

* one **sensor** thread per trigger sensor feeds the
  :class:`~lanecam.control.tracker.VehicleTracker` (which owns its lock);
* the **planner** thread asks the :class:`~lanecam.lane.planning.Planner` about every
  confirmed track and queues a vehicle's capture shortly before it reaches the capture window
  (queue of ``queue_size``; a full queue fails that vehicle, counted);
* the **capture** thread runs a burst engine per vehicle —
  :class:`~lanecam.lane.fixed_burst.FixedBurst` or, when a camera has exposure or
  polarization control,
  :class:`~lanecam.lane.closed_loop.ClosedLoopBurst` — which moves the frames into the lane's
  fixed frame pool so the camera buffers are free for the next vehicle;
* the **analysis** thread ranks, finds faces in the top-K crops, matches them against the
  vehicle's travel documents (:class:`~lanecam.lane.decide.Decider`), stores the chosen crop
  per occupant in the vault and emits the event.

One vehicle's failure (a lost camera, a full vault, a matcher error) becomes a ``failed`` or
``partial`` event and is counted; the lane keeps running, and a lost camera is reconnected
before the next vehicle.  A worker that fails the same way again and again is stopped and
reported faulted.  A non-match is routed to an officer, never refused.  No pixels or
templates reach logs, exceptions, metrics or sinks.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..clock import MONOTONIC, Clock, is_cooperative
from ..control.exposure import FaceMeter
from ..control.tracker import Track, VehicleTracker
from ..errors import (
    DeviceLostError,
    DeviceTimeoutError,
    LanecamError,
    LimitError,
    NotCapturableError,
    ProtocolError,
)
from ..events import LaneEvent, OccupantResult, Sink
from ..geometry import CabinModel
from ..match.base import Matcher
from ..quality.rank import BurstRanker
from .analysis import make_probes, rank_bursts
from .analyzer import probe_time_s
from .camera import FramePool, LaneCamera, analysis_view
from .closed_loop import ClosedLoopBurst
from .context import CaptureContext
from .decide import Decider
from .fixed_burst import FixedBurst
from .job import VehicleJob
from .planning import Planner
from .seats import place_faces
from .side import film_rows
from .types import DocumentSource, LaneStats, SensorReader

__all__ = ["Lane"]

log = logging.getLogger(__name__)


class Lane:
    """A running lane.  Construct with injected components; ``start()``/``stop()`` or ``with``.

    ``plan_lead_s``: how long (s) before the burst starts its capture is queued;
    ``crop_margin``: the stored crop is the face box grown by this fraction on each side; a
    confirmed track within ``duplicate_gate_m`` (m) of one already captured is the same
    vehicle (counted, skipped).
    """

    #: A worker that fails with the same error type this many times in a row, each failure
    #: within ``GUARD_REPEAT_WINDOW_S`` of the one before, is stopped and reported faulted
    #: (``stats.faulted``): a fault that recurs at once will not clear by restarting.
    GUARD_MAX_REPEATS = 5
    GUARD_REPEAT_WINDOW_S = 30.0
    #: Restart back-off after the n-th repeat: ``GUARD_BACKOFF_S * 2**(n-1)``, at most 2 s.
    GUARD_BACKOFF_S = 0.05

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
        self.sinks = list(sinks)
        self.clock = clock
        self.plan_lead_s = plan_lead_s
        self.crop_margin = crop_margin
        self.sensor_timeout_s = sensor_timeout_s
        self.stats = LaneStats()
        if not any(lane_cam.films_windshield for lane_cam in self.cameras):
            raise LimitError("a lane needs a camera that films the windshield", key="cameras",
                             allowed=["windshield", "both"])
        self.planner = Planner([c for c in self.cameras if c.films_windshield], tracker, cabin,
                               self.stats, lambda: self.lead_s,
                               duplicate_gate_m=duplicate_gate_m)
        self.decider = Decider(lane_id, matcher, vault, self.stats)
        if face_meter is None and any(lane_cam.exposure is not None for lane_cam in self.cameras):
            from ..quality.faces import RANKER_MAX_SIDE, DlibFaceFinder

            face_meter = FaceMeter(DlibFaceFinder(upsample=0, max_side=RANKER_MAX_SIDE))
        self.capture_context = CaptureContext(clock, self.stats, cabin, FramePool(pool_frames),
                                              tracker.live_predict, face_meter,
                                              lambda t: tracker.track(t.id) or t)
        self._capture_q: queue.Queue[VehicleJob] = queue.Queue(maxsize=queue_size)
        self._analysis_q: queue.Queue[VehicleJob] = queue.Queue(maxsize=queue_size)
        self._seq = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()

    @property
    def face_meter(self) -> FaceMeter | None:
        return self.capture_context.face_meter

    @property
    def vault(self) -> Any:
        return self.decider.vault

    @property
    def lead_s(self) -> float:
        """How long (s) before its burst a vehicle's capture is queued: ``plan_lead_s`` plus
        the cameras' analyzer probes, which run before the burst."""
        return self.plan_lead_s + sum(probe_time_s(lane_cam) for lane_cam in self.cameras)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Lane:
        """Warm every kernel and model, open the cameras, flush the sensors, start the
        threads."""
        from ..quality.kernels import warm_up

        warm_up()  # the kernels compile (or load from cache) now, not inside the first burst
        if self.face_meter is not None:  # models load now, not inside the first burst
            self.face_meter.warm_up()
        load = getattr(self.matcher, "load", None)
        if load is not None:  # the matcher's models too (dlib's 68-point model: ~0.9 s)
            load()
        for lane_cam in self.cameras:
            lane_cam.camera.open()
            layout, _ = analysis_view(lane_cam)
            if layout is not None:  # the mosaic kernels too (seconds of JIT on a cold cache)
                from ..quality.dofp import warm_up as warm_dofp

                warm_dofp(layout)
        for s in self.sensors:  # stale readings would carry the wrong time: drop them
            flush = getattr(s, "flush", None)
            if flush is not None:
                flush()
        workers: list[tuple[str, Callable[[], None]]] = [
            (f"sensor-{i}", lambda s=s: self._sense(s)) for i, s in enumerate(self.sensors)]
        workers += [("planner", self._plan_loop), ("capture", self._capture_loop),
                    ("analysis", self._analysis_loop)]
        if is_cooperative(self.clock):  # simulated time: the clock runs the threads in turn
            self._threads = self.clock.start_threads(  # type: ignore[attr-defined]
                [(f"lane-{name}", self._guard(name, fn)) for name, fn in workers])
        else:
            for name, fn in workers:
                t = threading.Thread(target=self._guard(name, fn), name=f"lane-{name}",
                                     daemon=True)
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
        for lane_cam in self.cameras:
            lane_cam.camera.close()

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

    def _guard(self, name: str, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` run until it returns or the lane stops; each failure counted and restarted
        after a back-off, and the worker stopped (``stats.faulted``) after
        ``GUARD_MAX_REPEATS`` failures of one type in a row."""
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
                    t = self.clock.now_ns() / 1e9
                    same = kind == last and t - last_t <= self.GUARD_REPEAT_WINDOW_S
                    repeats, last, last_t = (repeats + 1 if same else 1), kind, t
                    if repeats >= self.GUARD_MAX_REPEATS:
                        self.stats.faulted[name] = kind
                        log.error("lane thread %s failed %d times in a row with %s; stopped, "
                                  "its device is reported faulted", name, repeats, kind)
                        return
                    log.error("lane thread %s: %s; restarting", name, kind)
                    self._pause(min(self.GUARD_BACKOFF_S * 2 ** (repeats - 1), 2.0))
        return run

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` (s) or until the lane stops; on simulated time, on its clock."""
        if is_cooperative(self.clock):
            self.clock.sleep(seconds)
        else:
            self._stop.wait(seconds)

    def _take(self, q: queue.Queue[VehicleJob]) -> VehicleJob | None:
        """The next job of ``q``, or None after a short wait (0.05 s; on simulated time, a
        5 ms poll on its clock: a member must not block outside the clock)."""
        if is_cooperative(self.clock):
            try:
                return q.get_nowait()
            except queue.Empty:
                self.clock.sleep(0.005)
                return None
        try:
            return q.get(timeout=0.05)
        except queue.Empty:
            return None

    def _hand_over(self, q: queue.Queue[VehicleJob], job: VehicleJob) -> None:
        """Put ``job`` on ``q``, waiting while it is full (back-pressure, bounded queue)."""
        if not is_cooperative(self.clock):
            q.put(job)
            return
        while True:
            try:
                q.put_nowait(job)
                return
            except queue.Full:
                self.clock.sleep(0.005)

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
            if reading is not None:
                self.tracker.feed(reading)

    def _recover(self, sensor: Any) -> None:
        recover = getattr(sensor, "recover", None)
        while not self._stop.is_set():
            try:
                if recover is not None:
                    recover()
                return
            except LanecamError:
                self.stats.faults["sensor_recover_failed"] += 1
                self.clock.sleep(0.5)

    # ------------------------------------------------------------------ planning
    def _plan_loop(self) -> None:
        while not self._stop.is_set():
            self._plan_tick(self.clock.now_ns())
            self.clock.sleep(0.005)

    def _plan_tick(self, now: int) -> None:
        """One planning pass: each confirmed track not yet handled, nearest first, is
        considered; the planner forgets the tracks the tracker has dropped."""
        live = self.tracker.tracks(now)
        self.planner.forget_ended({t.id for t in live})
        for track in sorted((t for t in live if t.confirmed), key=lambda t: t.range_m):
            if track.id not in self.planner.handled:
                self._consider(track, now)

    def _consider(self, track: Track, now: int) -> None:
        """Queue ``track``'s capture when the planner says it is time; report a vehicle that
        can never be filmed with one ``failed`` event coded with the reason."""
        try:
            plan = self.planner.consider(track, now)
        except NotCapturableError as exc:
            self.stats.faults[f"not_captured:{exc.reason}"] += 1
            self._emit_failed(self._next_seq(), track, now, f"not captured: {exc.message}",
                              failure=exc.reason)
            return
        if plan is None:
            return
        job = VehicleJob(self._next_seq(), track, plan, now)
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

    def _next_seq(self) -> int:
        self._seq += 1
        self.stats.vehicles += 1
        return self._seq

    # ------------------------------------------------------------------ capture
    def _capture_loop(self) -> None:
        while not self._stop.is_set():
            job = self._take(self._capture_q)
            if job is None:
                continue
            t0 = self.clock.now_ns()
            try:
                self._capture(job)
            except LanecamError as exc:
                job.error = f"{type(exc).__name__}: {exc.message}"
                self.stats.faults[f"capture:{type(exc).__name__}"] += 1
                if isinstance(exc, DeviceLostError):
                    for lane_cam in self.cameras:
                        if exc.device in (None, lane_cam.camera._name_for_errors()):
                            lane_cam.lost = True
                job.release()
            self.stats.record("capture", (self.clock.now_ns() - t0) / 1e9)
            job.captured_ns = self.clock.now_ns()
            self._hand_over(self._analysis_q, job)  # waits while analysis lags: bounded

    def _capture(self, job: VehicleJob) -> None:
        """Film ``job``'s vehicle with the engine its windshield cameras need, then each side
        camera's row bursts (:func:`~lanecam.lane.side.film_rows`)."""
        ctx = self.capture_context
        front = [c for c in self.cameras if c.films_windshield]
        if any(c.exposure is not None or c.polarization is not None for c in front):
            ClosedLoopBurst(ctx, front, job).run()
        else:
            FixedBurst(ctx, front).run(job)
        side = [c for c in self.cameras if c.films_side]
        if side:
            film_rows(ctx, side, job)

    # ------------------------------------------------------------------ analysis
    def _analysis_loop(self) -> None:
        while not self._stop.is_set():
            job = self._take(self._analysis_q)
            if job is None:
                continue
            try:
                self._analyze(job)
            except Exception as exc:  # the vehicle fails, the lane goes on
                self.stats.faults[f"analysis:{type(exc).__name__}"] += 1
                self._emit_failed(job.seq, job.track, job.trigger_ns,
                                  f"{type(exc).__name__}: {getattr(exc, 'message', '')}".strip())
            finally:
                job.release()
                with self._busy_lock:
                    self._busy -= 1

    def _analyze(self, job: VehicleJob) -> None:
        t0 = self.clock.now_ns()
        docs = list(self.documents.documents(job.seq, job.track))
        if job.error is not None:
            self._emit_failed(job.seq, job.track, job.trigger_ns, job.error, docs=len(docs))
            return
        rankings = rank_bursts(self.ranker, job.bursts)
        # faces the meter found and handed over, and how many ranking used instead of a search
        self.stats.counts["faces_known"] += sum(len(b.known_faces) for b in job.bursts)
        self.stats.counts["faces_reused"] += sum(r.ranking.faces_reused for r in rankings)
        t_rank = self.clock.now_ns()
        self.stats.record("rank", (t_rank - t0) / 1e9)
        # faces placed in the vehicle's seats by geometry, the best per seat across cameras;
        # a face in no seat is no occupant (counted, never matched nor stored)
        faces = place_faces(rankings, job.cabin or self.capture_context.cabin, self.stats)
        probes = make_probes(faces, self.matcher, self.crop_margin, self.stats)
        self.stats.record("match", (self.clock.now_ns() - t_rank) / 1e9)
        occupants = self.decider.decide(job, docs, probes)
        frames = sum(len(b.burst) for b in job.bursts)
        incomplete = sum(b.burst.incomplete_count for b in job.bursts)
        verified = [o for o in occupants if o.outcome == "verified"]
        status = "complete" if occupants and len(verified) == len(occupants) else "partial"
        seq, mac = self.decider.vault_head()
        now = self.clock.now_ns()
        self._emit(LaneEvent(self.lane_id, f"{self.lane_id}-{job.seq}", status,
                             job.plan.start_ns, now, float(job.plan.speed_mps), tuple(occupants),
                             frames, incomplete,
                             latency_s={"decision": (now - job.captured_ns) / 1e9},
                             vault_head_seq=seq, vault_head_mac=mac))

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
