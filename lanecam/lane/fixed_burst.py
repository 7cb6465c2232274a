"""The fixed-settings burst engine: every camera at its baseline settings, triggered by the
host at the planned frame times, the frames grabbed at the end."""

from __future__ import annotations

from collections.abc import Sequence

from ..control.scheduler import BurstPlan
from ..control.triggering import paced
from ..devices.cameras import Trigger
from ..errors import DeviceTimeoutError
from ..frames import Burst, Frame
from ..geometry import occupant_rois
from .camera import LaneCamera, analysis_model, develop, prepare
from .context import CaptureContext
from .job import CameraBurst, VehicleJob
from .types import Box

__all__ = ["FixedBurst"]


class FixedBurst:
    """One setting per camera for the whole burst (the plan's exposure, the configured gain)."""

    def __init__(self, ctx: CaptureContext, cameras: Sequence[LaneCamera]) -> None:
        self.ctx = ctx
        self.cameras = list(cameras)

    def run(self, job: VehicleJob, plan: BurstPlan | None = None, row: int | None = None) -> None:
        """Configure, trigger and collect every camera's burst into ``job.bursts``: the
        job's windshield burst, or ``plan`` — a side camera's burst of seat ``row``."""
        plan = job.plan if plan is None else plan
        for lane_cam in self.cameras:
            cam = lane_cam.camera
            cam.configure(prepare(lane_cam, plan, self.ctx.stats))
            if not cam.is_armed or cam.trigger_mode != Trigger.software():
                cam.arm(Trigger.software())
        # the cameras' measured trigger-to-exposure delay: trigger that much earlier
        early = round(max((c.trigger_delay_s for c in self.cameras), default=0.0) * 1e9)
        fired = [t + early for t in self._trigger_all([t - early
                                                       for t in plan.frame_times_ns])]
        for lane_cam in self.cameras:
            burst = self._collect(lane_cam, job, plan, fired)
            burst.row = row
            job.bursts.append(burst)

    def _trigger_all(self, times_ns: Sequence[int]) -> list[int]:
        """Trigger every camera at each planned time; when each trigger went out (host ns)."""
        clock = self.ctx.clock
        fired: list[int] = []
        for _ in paced(clock, times_ns):
            fired.append(clock.now_ns())
            for lane_cam in self.cameras:
                lane_cam.camera.trigger()
        return fired

    def _collect(self, lane_cam: LaneCamera, job: VehicleJob, plan: BurstPlan,
                 fired: list[int]) -> CameraBurst:
        """Grab one camera's frames, predict their ROIs and move them into the lane's pool."""
        ctx = self.ctx
        frames: list[Frame] = []
        rois: list[list[Box | None]] = []
        ranges: list[float] = []
        k = 0  # which trigger the next frame answers (a dropped frame skips one)
        try:
            for _ in range(plan.frame_count):
                try:
                    f = lane_cam.camera.grab(timeout_s=1.0)
                except DeviceTimeoutError:
                    ctx.stats.faults["frame_timeout"] += 1
                    break
                k += f.meta.skipped_before
                when = fired[min(k, len(fired) - 1)]
                k += 1
                rng, _ = ctx.predict(job.track, when)
                f = develop(lane_cam, f, rng, ctx.cabin, ctx.stats)
                moved = f.detach(ctx.pool.for_frame(f))
                if moved is None:
                    ctx.stats.faults["pool_full"] += 1
                    continue
                rois.append(occupant_rois(analysis_model(lane_cam), rng, ctx.cabin))
                ranges.append(rng)
                frames.append(moved)
        except BaseException:
            for f in frames:
                f.release()
            raise
        return CameraBurst(lane_cam, Burst(lane_cam.camera.id, frames,
                                           requested=plan.frame_count), rois, ranges_m=ranges)
