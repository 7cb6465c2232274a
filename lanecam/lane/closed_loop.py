"""The closed-loop burst engine: exposure, gain and the strobe pulse re-set between frames
from the faces metered in the last one, then one open-loop setting for the rest of the burst
(optionally bracketed brighter, in the camera's sequencer where it has one).

Closed-loop phase: trigger frame k, grab it, meter its faces, set frame k+1 — until the
controller has settled or ``closed_loop_frames`` frames have gone by.  Open-loop phase: one
setting for the rest (the last frame's blur bound, the lamp's 1/Z² feed-forward to the middle
of the rest), triggered on schedule and grabbed at the end.  Settings only ever change with no
triggered frame outstanding, so each frame is exposed with the settings current at its trigger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..control.exposure import ExposureBounds, ExposureSettings, FaceMeasurement
from ..control.tracker import Track
from ..control.triggering import paced
from ..devices.cameras import Trigger
from ..errors import DeviceTimeoutError, LanecamError
from ..frames import Burst, Frame, FrameMeta
from ..geometry import CabinModel, fit_cabin, occupant_rois
from ..quality.faces import Face
from ..quality.pixels import bit_depth_of
from .analyzer import probe_glare, set_analyzer
from .camera import LaneCamera, analysis_model, develop, prepare
from .context import CaptureContext
from .exposure_io import (
    Limits,
    apply_settings,
    frame_bounds,
    light_change,
    metered_settings,
    program_rest,
    sequence_bounds,
)
from .job import CameraBurst, VehicleJob
from .types import SEATS, Box

__all__ = ["ANALYZER_TRANSMISSION", "ClosedLoopBurst", "respace"]

#: Share of unpolarized light an analyzer passes (½(k1 + k2) ≈ ½, physics_quality.md §1.4).
ANALYZER_TRANSMISSION = 0.5
#: A meter key: (camera index in the lane, seat index).
MeterKey = tuple[int, int]


@dataclass
class CameraRun:
    """One camera's part of one closed-loop burst."""

    index: int
    lane_cam: LaneCamera
    limits: Limits = ((0.0, 0.0), (0.0, 0.0))
    settings: ExposureSettings | None = None  # what the next frame is exposed with
    closed: bool = False  # still in the closed-loop phase
    done: bool = False  # a frame timed out: no more triggers or grabs for this camera
    #: per triggered frame: [the settings it was exposed with, its metered face level DN8]
    log: list[list[object]] = field(default_factory=list)
    #: the bracket runs in the camera's sequencer: (from frame index, its settings)
    sequenced: tuple[int, ExposureSettings] | None = None
    later: dict[int, ExposureSettings] = field(default_factory=dict)  # open-loop changes
    pending: list[int] = field(default_factory=list)  # exposure times (trigger + delay, ns) not grabbed yet
    frames: list[Frame] = field(default_factory=list)
    rois: list[list[Box | None]] = field(default_factory=list)
    whens: list[int] = field(default_factory=list)  # each kept frame's exposure time (ns)
    #: faces found while metering: (frame index, seat) → face, reused by ranking
    known_faces: dict[tuple[int, int], Face] = field(default_factory=dict)
    metered: FrameMeta | None = None  # the last metered frame's metadata (what it was given)


class ClosedLoopBurst:
    """One vehicle's burst with closed-loop exposure control (module docstring)."""

    def __init__(self, ctx: CaptureContext, cameras: Sequence[LaneCamera],
                 job: VehicleJob) -> None:
        self.ctx = ctx
        self.job = job
        self.track: Track = job.track
        #: the cameras' measured trigger-to-exposure delay: each trigger goes out this early
        #: and its frame is exposed this much after it
        self.early_ns = round(max((c.trigger_delay_s for c in cameras), default=0.0) * 1e9)
        self.times = [t - self.early_ns for t in job.plan.frame_times_ns]
        self.runs = [CameraRun(i, lane_cam) for i, lane_cam in enumerate(cameras)]
        self.cabin: CabinModel = ctx.cabin  # this vehicle's, re-measured from its faces
        self.found_at: dict[MeterKey, int] = {}  # meter key → when its face's frame was exposed
        self.min_step_ns = round(1e9 / max(lane_cam.scheduler.timing.max_frame_rate_hz
                                           for lane_cam in cameras))

    def run(self) -> None:
        """Set up, probe, film and collect every camera's burst into ``job.bursts``."""
        mid = self.times[len(self.times) // 2]
        probes = [(run, pred) for run in self.runs
                  if (pred := self._begin(run, mid)) is not None]
        for run, pred in probes:
            probe_glare(self.ctx, run.lane_cam, pred, self.track, self.times[0])
        if self.ctx.face_meter is not None:
            self.ctx.face_meter.reset()
        try:
            self._film()
        except BaseException:
            for run in self.runs:
                for f in run.frames:
                    f.release()
            raise
        finally:
            for run in self.runs:  # the next burst starts from the configured settings
                if run.sequenced is not None:
                    try:
                        run.lane_cam.camera.clear_sequence()
                    except LanecamError:
                        self.ctx.stats.faults["sequence_clear"] += 1
        self._finish()

    # ------------------------------------------------------------------ set-up
    def _begin(self, run: CameraRun, mid_ns: int) -> float | None:
        """Prepare and arm one camera; the predicted analyzer angle (deg) when it is to be
        probed before the burst, else None."""
        lane_cam, ctx = run.lane_cam, self.ctx
        cam = lane_cam.camera
        settings = prepare(lane_cam, self.job.plan, ctx.stats)
        probe = None
        if lane_cam.polarization is not None:
            g, pol = lane_cam.scheduler.geometry, lane_cam.polarization
            face_range_m = ctx.predict(self.track, mid_ns)[0] + g.face_setback_m
            pred = pol.predict(lane_cam.model, face_range_m,
                               vehicle_lateral_m=ctx.cabin.vehicle_lateral_m)
            got = set_analyzer(lane_cam, pred, ctx.stats)
            if lane_cam.rotator is not None and got is not None and pol.probe_offsets_deg:
                probe = pred
            else:
                lane_cam.analyzer_log.append((pred, None))
        if lane_cam.exposure is not None:
            run.limits = _live_limits(lane_cam)
            run.settings = lane_cam.exposure.begin(
                _prior(lane_cam, settings),
                frame_bounds(ctx, lane_cam, self.track, self.job.plan, self.times[0], run.limits),
                ANALYZER_TRANSMISSION if lane_cam.polarization is not None else 1.0)
            run.closed = True
            apply_settings(lane_cam, run.settings, ctx.stats)
        else:
            cam.configure(settings)
        if not cam.is_armed or cam.trigger_mode != Trigger.software():
            cam.arm(Trigger.software())
        return probe

    # ------------------------------------------------------------------ filming
    def _film(self) -> None:
        """Trigger frame after frame; step the closed-loop cameras between frames."""
        ctx, times = self.ctx, self.times
        for k in paced(ctx.clock, times):  # times: re-spaced below when the loop falls behind
            for run in self.runs:
                change = run.later.pop(k, None)
                if change is not None and not run.done:
                    self._grab(run, False)  # no frame may be outstanding when settings change
                    run.settings = change
                    apply_settings(run.lane_cam, change, ctx.stats)
            when = ctx.clock.now_ns()
            ctx.stats.record("trigger_late", max(0.0, (when - times[k]) / 1e9))
            self._trigger(k, when)
            if k + 1 == len(times):
                break
            for run in self.runs:
                if run.closed and not run.done:
                    self._step(run, k, when)
            if not any(run.closed for run in self.runs):
                times[k + 1:] = respace(times[k + 1:], ctx.clock.now_ns(), self.min_step_ns)
        for run in self.runs:
            self._grab(run, False)

    def _trigger(self, k: int, when_ns: int) -> None:
        """Trigger frame ``k`` on every camera still filming; log the settings it gets."""
        for run in self.runs:
            if run.done:
                continue
            run.lane_cam.camera.trigger()
            run.pending.append(when_ns + self.early_ns)
            if run.lane_cam.exposure is not None:
                seq = run.sequenced
                run.log.append([seq[1] if seq and k >= seq[0] else run.settings, None])

    def _step(self, run: CameraRun, k: int, when_ns: int) -> None:
        """Meter frame ``k`` (triggered at ``when_ns``) and set frame k+1; once settled, set the
        open-loop rest and plan its bracket."""
        lane_cam, ctx, times = run.lane_cam, self.ctx, self.times
        ctrl = lane_cam.exposure
        assert ctrl is not None and run.settings is not None
        run.metered = None
        faces = self._grab(run, True)
        if faces and run.log:
            run.log[-1][1] = max(m.mean for m in faces)
        nxt = max(times[k + 1], ctx.clock.now_ns())
        settled = ctrl.settled(faces) or k + 1 >= ctrl.closed_loop_frames
        if settled:  # open loop from here: one setting for the rest
            run.closed = False
            mid = times[(k + 1 + len(times) - 1) // 2]
            # the rest may be re-spaced later than planned (respace): bound the exposure at
            # the latest the last frame can come
            last = max(times[-1], nxt + (len(times) - k - 2) * self.min_step_ns)
            bounds = frame_bounds(ctx, lane_cam, self.track, self.job.plan, last, run.limits)
            light = light_change(ctx, lane_cam, self.track, when_ns, max(mid, nxt))
        else:
            bounds = frame_bounds(ctx, lane_cam, self.track, self.job.plan, nxt, run.limits)
            light = light_change(ctx, lane_cam, self.track, when_ns, nxt)
        # step from what the metered frame was exposed with (chunk data), not what was asked
        current = metered_settings(run.settings, run.metered)
        run.settings = ctrl.update(current, faces, bounds, light)
        apply_settings(lane_cam, run.settings, ctx.stats)
        if settled:
            self._plan_bracket(run, k, faces, bounds)

    def _plan_bracket(self, run: CameraRun, k: int, faces: list[FaceMeasurement],
                      bounds: ExposureBounds) -> None:
        """The second half of the open-loop rest, brighter when the faces ask for it: in the
        camera's sequencer (no host stall) or re-configured between frames."""
        lane_cam, n = run.lane_cam, len(self.times)
        ctrl = lane_cam.exposure
        assert ctrl is not None and run.settings is not None
        at = (k + 1 + n) // 2
        if lane_cam.camera.supports_sequence:
            brighter = ctrl.bracket(run.settings, faces, len(lane_cam.meter_seats),
                                    sequence_bounds(lane_cam, run.settings, bounds))
            if brighter is not None and program_rest(lane_cam, run.settings, brighter, at - k - 1,
                                                     n - at, self.ctx.stats):
                run.sequenced = (at, brighter)
                brighter = None
        else:
            brighter = ctrl.bracket(run.settings, faces, len(lane_cam.meter_seats), bounds)
        if brighter is not None:
            run.later[at] = brighter

    def _grab(self, run: CameraRun, meter_it: bool) -> list[FaceMeasurement]:
        """Grab every outstanding frame of ``run``'s camera into the pool; with ``meter_it``,
        meter the faces of the last one (returned)."""
        ctx, lane_cam, meter = self.ctx, run.lane_cam, self.ctx.face_meter
        faces: list[FaceMeasurement] = []
        while run.pending and not run.done:
            when = run.pending.pop(0)
            try:
                f = lane_cam.camera.grab(timeout_s=1.0)
            except DeviceTimeoutError:
                ctx.stats.faults["frame_timeout"] += 1
                run.done = True
                break
            for _ in range(f.meta.skipped_before):  # a dropped frame answered no trigger
                if run.pending:
                    when = run.pending.pop(0)
            rng, _ = ctx.predict(self.track, when)
            f = develop(lane_cam, f, rng, self.cabin, ctx.stats)
            roi = occupant_rois(analysis_model(lane_cam), rng, self.cabin)
            new: list[MeterKey] = []
            if meter_it and meter is not None and not run.pending:
                seats = [((run.index, s), roi[s]) for s in lane_cam.meter_seats if s < len(roi)]
                faces = meter.measure(f.array, seats, bit_depth=bit_depth_of(f))
                run.metered = f.meta
                new = [key for key in meter.found() if key not in self.found_at]
                if new:
                    self.found_at.update((key, when) for key in new)
                    self._remeasure()
            moved = f.detach(ctx.pool.for_frame(f))
            if moved is None:
                ctx.stats.faults["pool_full"] += 1
                continue
            self._keep_faces(run, new, len(run.frames))
            run.frames.append(moved)
            run.rois.append(roi)
            run.whens.append(when)
        return faces

    def _keep_faces(self, run: CameraRun, keys: list[MeterKey], frame_index: int) -> None:
        """The faces just found in ``run``'s frame ``frame_index``, for ranking to reuse."""
        meter = self.ctx.face_meter
        for key in keys:
            face = meter.face(key) if meter is not None else None
            if face is not None and key[0] == run.index:
                run.known_faces[(frame_index, key[1])] = face

    def _remeasure(self) -> None:
        """Fit this vehicle's cabin to every face found so far; keep the meter's faces in
        place."""
        meter, ctx = self.ctx.face_meter, self.ctx
        assert meter is not None
        boxes = meter.found()
        items = [(self._view(ci), ctx.predict(self.track, w)[0], SEATS[seat], boxes[(ci, seat)])
                 for (ci, seat), w in self.found_at.items()]
        self.cabin = fit_cabin(ctx.cabin, items, counters=ctx.stats.faults)
        for (ci, seat), w in self.found_at.items():
            meter.rebase((ci, seat), occupant_rois(self._view(ci), ctx.predict(self.track, w)[0],
                                                   self.cabin)[seat])

    def _view(self, camera_index: int) -> object:
        return analysis_model(self.runs[camera_index].lane_cam)

    # ------------------------------------------------------------------ results
    def _finish(self) -> None:
        """Every frame's ROIs from the cabin measured on the faces; metered seats ranked on
        their face, not their whole ROI; the bursts into the job."""
        ctx, meter = self.ctx, self.ctx.face_meter
        for run in self.runs:
            if self.found_at:
                run.rois = [occupant_rois(analysis_model(run.lane_cam),
                                          ctx.predict(self.track, w)[0], self.cabin)
                            for w in run.whens]
            if meter is not None:
                for roi in run.rois:
                    for s, box in enumerate(roi):
                        face = None if box is None else meter.face_region((run.index, s), box)
                        if face is not None:
                            roi[s] = face
        self.job.cabin = self.cabin
        for run in self.runs:
            lane_cam = run.lane_cam
            if lane_cam.exposure is not None:
                lane_cam.history.append([(s, level) for s, level in run.log])  # type: ignore[misc]
            self.job.bursts.append(CameraBurst(
                lane_cam,
                Burst(lane_cam.camera.id, run.frames, requested=self.job.plan.frame_count),
                run.rois, run.known_faces,
                [ctx.predict(self.track, w)[0] for w in run.whens]))


def _live_limits(lane_cam: LaneCamera) -> Limits:
    """The camera's live exposure (s) and gain (dB) limits; gain (0, 0) without gain."""
    cam = lane_cam.camera
    el = cam.limits("exposure_time")
    gl = cam.limits("gain") if cam.supports("gain") else None
    return ((float(el.min), float(el.max)),
            (float(gl.min), float(gl.max)) if gl is not None else (0.0, 0.0))


def _prior(lane_cam: LaneCamera, settings: dict[str, float]) -> ExposureSettings:
    """The settings the burst starts from: the baseline exposure and gain, and the pulse the
    strobe controller holds (or the camera's own lamp model)."""
    ill = lane_cam.camera.illumination
    pulse_s, bright = ill.pulse_s, ill.brightness
    lamp = lane_cam.illuminator
    if lamp is not None and lamp.setting is not None:  # what the controller holds
        pulse_s, bright = lamp.setting.width_s, lamp.setting.brightness
    return ExposureSettings(settings["exposure_time"], float(settings.get("gain", 0.0)),
                            pulse_s, bright)


def respace(rest: list[int], now_ns: int, min_step_ns: int) -> list[int]:
    """The rest of a burst that fell behind (closed-loop frames took longer than planned):
    spread evenly from now to the planned last frame, no closer than ``min_step_ns``, instead
    of firing every overdue trigger at once (frames of the same instant add nothing)."""
    if not rest or rest[0] >= now_ns:
        return rest
    n = len(rest)
    end = max(rest[-1], now_ns + (n - 1) * min_step_ns)
    step = (end - now_ns) / (n - 1) if n > 1 else 0
    return [round(now_ns + j * step) for j in range(n)]
