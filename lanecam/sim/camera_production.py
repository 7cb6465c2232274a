"""How the SimCamera produces its frames: each claimed frame is rendered into its buffer (no
lock held), then finished — fault knobs applied, ground truth kept — and handed out.

On a real-time clock a background worker thread does this on the camera's own timeline, as
each frame's readout ends (:meth:`SimCameraProduction._work`), and a grab waits for the next
completed frame in order; on any other clock (a :class:`~lanecam.clock.ManualClock`) the grab
produces the frame itself once it has been read out, napping with ``clock.sleep``
(:meth:`SimCameraProduction._do_retrieve`).  Both share every step.  Times are clock ns.
"""

from __future__ import annotations

import collections
import logging
import math
import threading

import numpy as np

from ..devices.cameras import RawGrab
from ..errors import ConfigError, DeviceError, DeviceLostError, DeviceTimeoutError, LanecamError
from .camera_timeline import Job, Latch, SimCameraTimeline
from .image_sensor import splitmix64
from .render import DEFAULT_LAYOUT, Renderer, Shot
from .truth import FrameTruth
from .world import CameraPose

__all__ = ["SimCameraProduction"]

log = logging.getLogger("lanecam.sim.camera")

_NAP_NS = 5_000_000  # longest single wait inside a lazy grab (ns)
_IDLE_WAIT_S = 1.0  # longest single wait of the worker or a background grab (s): every state
# change notifies them; the bound only makes a missed notification cost a second, not a hang
_JOIN_S = 10.0  # how long stopping waits for the worker to finish the frame it is rendering


class SimCameraProduction(SimCameraTimeline):
    """Frame production of the SimCamera (see the module); the state below is set up by
    :class:`~lanecam.sim.camera.SimCamera` and guarded by the stream lock."""

    background: bool
    renderer: Renderer
    pose: CameraPose
    epoch_ns: int
    production_errors: int
    _removed: bool
    _force_failed: int
    _truth: collections.OrderedDict[int, FrameTruth]
    _truth_frames: int
    _claimed: collections.deque[Job]  # due, not yet rendered
    _in_flight: Job | None  # being rendered by the worker
    _ready: collections.deque[RawGrab | BaseException]
    _fault: BaseException | None  # the worker died of this
    _worker: threading.Thread | None

    # ------------------------------------------------------------------ every frame
    def _render(self, job: Job) -> FrameTruth:
        """Expose ``job``'s frame into its buffer (no lock held: sources and renderer may take
        their time).  Raises the error the frame's grab should raise."""
        lt, start = job.latch, job.start
        try:
            illumination = lt.illumination if lt.illumination_source is None else \
                lt.illumination_source(start, lt.exp_ns)
            shot = Shot(
                t_s=(start - self.epoch_ns) / 1e9, exposure_s=lt.exp_ns / 1e9,
                gain_db=lt.gain_db, polarizer_deg=self._polarizer(start, lt),
                illumination=illumination, window=lt.window,
                bit_depth=8 if lt.pixel_format == "Mono8" else 12,
                seed=int(splitmix64(np.uint64((self.seed ^ (job.fid << 20))
                                              & 0xFFFFFFFFFFFFFFFF))),
                layout=self._layout())
            try:
                _, truth = self.renderer.render(shot, out=job.buf)
            except ValueError as exc:
                raise ConfigError(f"cannot render frame: {exc}", device=self._where(),
                                  key="illumination/polarizer") from exc
        except LanecamError:
            raise
        except Exception as exc:
            raise DeviceError(f"frame {job.fid} could not be produced: {exc!r}",
                              device=self._where()) from exc
        return truth

    def _finish(self, job: Job, truth: FrameTruth) -> RawGrab | None:
        """The rendered frame as the driver hands it out; None if its acquisition was stopped
        meanwhile.  The stream lock is held."""
        if job.gen != self._gen:
            return None
        buf, idx, gen = job.buf, job.idx, job.gen
        complete, reason = True, None
        if self._force_failed > 0:
            self._force_failed -= 1
            complete, reason = False, "forced failed buffer"
        elif job.u_inc < self.faults.incomplete:
            complete, reason = False, "simulated packet loss"
        if not complete:
            buf[buf.shape[0] // 2:] = 0  # the lost packets' rows
        self._truth[job.fid] = truth
        while len(self._truth) > self._truth_frames:
            self._truth.popitem(last=False)
        return RawGrab(array=buf, release=lambda: self._give_back(idx, gen), frame_number=job.fid,
                       complete=complete, reason=reason, device_ns=job.start,
                       skipped=job.skipped, pixel_format=job.latch.pixel_format,
                       exposure_s=job.latch.exposure_us * 1e-6, gain_db=job.latch.gain_db)

    def _failed(self, job: Job, exc: BaseException) -> None:
        """``job`` was not produced: its buffer goes back, and the drops before it are told by
        the next frame delivered (the stream lock is held)."""
        if job.gen == self._gen:
            if job.idx not in self._free:
                self._free.appendleft(job.idx)
            if self._claimed:
                self._claimed[0].skipped += job.skipped
            else:
                self._skipped += job.skipped
        if isinstance(exc, Exception):
            self.production_errors += 1
            log.warning("%s: frame %d not produced: %s", self._where(), job.fid, exc)

    def _give_back(self, idx: int, gen: int) -> None:
        """A grabbed frame's buffer ``idx`` is free again (if still of acquisition ``gen``)."""
        with self._stream_lock:
            if gen == self._gen and len(self._buffers) > idx and idx not in self._free:
                self._free.append(idx)

    def _polarizer(self, start_ns: int, latch: Latch) -> float | None:
        """The rotatable analyzer's axis (deg) at exposure ``start_ns``; None without one."""
        if self.pose.polarizer != "rotatable":
            return None
        if latch.polarizer_source is not None:
            deg = float(latch.polarizer_source(start_ns))
            if not math.isfinite(deg):
                raise ConfigError("polarizer_source returned a non-finite angle",
                                  device=self._where(), key="polarizer_source")
            return deg
        if latch.polarizer_deg is None or not math.isfinite(latch.polarizer_deg):
            raise ConfigError("a rotatable polarizer needs camera.polarizer_deg",
                              device=self._where(), key="polarizer_deg")
        return float(latch.polarizer_deg)

    def _layout(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The polarization mosaic's layout (deg per 2×2 cell) from the profile."""
        if self.pose.polarizer != "mosaic":
            return DEFAULT_LAYOUT
        layout = self.profile.polarization_layout
        if layout is None:
            raise ConfigError("a mosaic sensor needs a profile with a [polarization] layout",
                              device=self._where(), key="profile")
        return layout

    # ------------------------------------------------------------------ lazy production
    def _do_retrieve(self, timeout_s: float) -> RawGrab:
        """The next frame: in the background, the worker's; else produced here once read out,
        napping (≤ 5 ms of clock time) in between; DeviceTimeoutError after ``timeout_s`` s."""
        deadline = self.clock.now_ns() + round(max(0.0, timeout_s) * 1e9)
        if self.background:
            return self._wait_for_frame(deadline, timeout_s)
        while True:  # lazy: produce the next frame here once it has been read out
            job = None
            with self._stream_lock:
                self._check_streaming()
                nxt = self._next_frame()
                ready = None if nxt is None else self._ready_ns(*nxt)
                now = self.clock.now_ns()
                if nxt is not None and ready is not None and ready <= now:
                    start, latch = nxt
                    job = self._claim(start, latch if latch is not None else
                                      self._latch(advance=True))
                    if job is None:
                        continue  # dropped
            if job is not None:
                try:
                    truth = self._render(job)
                except BaseException as exc:
                    with self._stream_lock:
                        self._failed(job, exc)
                    raise
                with self._stream_lock:
                    grab = self._finish(job, truth)
                if grab is not None:
                    return grab
                continue  # stopped meanwhile
            wait_until = deadline if ready is None else min(ready, deadline)
            if now >= deadline and (ready is None or ready > deadline):
                raise DeviceTimeoutError(f"no frame within {timeout_s:g} s", device=self._where())
            # short naps: a trigger from another thread (fire_line) is picked up promptly
            self.clock.sleep(min(max(wait_until - now, 1), _NAP_NS) / 1e9)

    def _check_streaming(self) -> None:
        """Raise unless the camera is present and streaming."""
        if self._removed:
            raise DeviceLostError("camera was removed", device=self._where())
        if not self._streaming:
            raise DeviceError("camera is not streaming", device=self._where())

    # ------------------------------------------------------------------ background production
    def _start_worker(self) -> None:
        """Start the worker thread of the current acquisition generation (lock held)."""
        self._worker = threading.Thread(target=self._work, args=(self._gen,),
                                        name=f"SimCamera-{self.serial}", daemon=True)
        self._worker.start()

    def _join_worker(self, worker: threading.Thread) -> None:
        """Wait (up to _JOIN_S s) for a stopped acquisition's worker, unless this is it."""
        if worker is not threading.current_thread():
            worker.join(_JOIN_S)  # it stops after the frame it is rendering, if any
            if worker.is_alive():
                log.warning("%s: frame worker still busy after %g s; left to finish",
                            self._where(), _JOIN_S)

    def _wait_for_frame(self, deadline: int, timeout_s: float) -> RawGrab:
        """The next frame the worker completed, in order; a frame read out by ``deadline`` is
        waited for even when its rendering ends later (the grab timeout is the camera's)."""
        with self._cv:
            while True:
                self._check_streaming()
                if self._ready:
                    item = self._ready.popleft()
                    if isinstance(item, BaseException):
                        raise item
                    return item
                if self._fault is not None:
                    raise DeviceError(f"frame worker failed: {self._fault!r}",
                                      device=self._where()) from self._fault
                if self._worker is None or not self._worker.is_alive():
                    raise DeviceError("frame worker is not running", device=self._where())
                now = self.clock.now_ns()
                if now >= deadline and not self._coming(deadline):
                    raise DeviceTimeoutError(f"no frame within {timeout_s:g} s",
                                             device=self._where())
                wait_s = (deadline - now) / 1e9 if now < deadline else _IDLE_WAIT_S
                self._cv.wait(min(wait_s, _IDLE_WAIT_S))

    def _coming(self, deadline: int) -> bool:
        """Is a frame read out by ``deadline`` still being produced?  (Lock held.)"""
        jobs = [*self._claimed, *([self._in_flight] if self._in_flight is not None else [])]
        if any(j.ready <= deadline for j in jobs if j.gen == self._gen):
            return True
        nxt = self._next_frame()
        return nxt is not None and self._ready_ns(*nxt) <= deadline

    def _work(self, gen: int) -> None:
        """The camera's own timeline: claim each frame once read out, render it, queue it."""
        try:
            while True:
                with self._cv:
                    self._in_flight = None
                    job = self._next_job(gen)
                    if job is None:
                        return
                    self._in_flight = job
                try:
                    truth = self._render(job)
                except BaseException as exc:
                    with self._cv:
                        self._failed(job, exc)
                        if job.gen == self._gen:
                            self._ready.append(exc)  # raised by the grab this frame was for
                        self._in_flight = None
                        self._cv.notify_all()
                    if not isinstance(exc, Exception):
                        raise
                    continue
                with self._cv:
                    grab = self._finish(job, truth)
                    if grab is not None:
                        self._ready.append(grab)
                    self._in_flight = None
                    self._cv.notify_all()
        except BaseException as exc:
            with self._cv:
                self._in_flight = None
                if gen == self._gen:
                    self._fault = exc
                self.production_errors += 1
                self._cv.notify_all()
            log.exception("%s: frame worker failed", self._where())

    def _next_job(self, gen: int) -> Job | None:
        """Wait for the next frame to render; None when acquisition stopped.  (Lock held.)"""
        while True:
            if gen != self._gen or self._removed or not self._streaming:
                return None
            now = self.clock.now_ns()
            wake = self._claim_due(now)
            if self._claimed:
                return self._claimed.popleft()
            wait_s = _IDLE_WAIT_S if wake is None else (wake - now) / 1e9
            self._cv.wait(min(max(wait_s, 0.0), _IDLE_WAIT_S))

    def _claim_due(self, now: int) -> int | None:
        """Claim every frame read out by ``now`` (a dropped one is counted at once, as a real
        camera does when no buffer is free); returns when the next one needs attention — its
        exposure start (to latch a free-run slot) or its readout end — or None.  (Lock held.)"""
        while True:
            nxt = self._next_frame()
            if nxt is None:
                return None
            start, latch = nxt
            if latch is None:  # free run: the slot's exposure starts at ``start``
                if now < start:
                    return start
                latch = self._free_run_latch = self._latch(advance=True)
            ready = start + latch.exp_ns + latch.readout_ns
            if ready > now:
                return ready
            job = self._claim(start, latch)
            if job is not None:
                self._claimed.append(job)
