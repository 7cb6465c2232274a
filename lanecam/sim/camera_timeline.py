"""The SimCamera's frame timeline: triggers become exposures, each latching its settings.

World time and clock times are ns on the camera's clock.  An exposure starts at its trigger
time + TriggerDelay (software trigger, hardware edge, each frame of a burst) or on the
free-run grid; it latches ExposureTime, Gain, PixelFormat, the ROI, the illumination and the
polarizer (sources or values) at that start — or, with a programmed sequence, the sequencer's
step for that exposure.  A frame is *claimed* once its readout has ended: it gets its frame
number, its fault draws (from the seed) and a free buffer, or is dropped.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..devices.cameras import Camera
from ..errors import LimitError, UnsupportedFeatureError
from ..frames import IlluminationState
from .camera_nodes import SimNodeMap
from .image_sensor import splitmix64

__all__ = ["Job", "Latch", "SimCameraTimeline", "SimFaults"]

log = logging.getLogger("lanecam.sim.camera")


@dataclass(frozen=True)
class SimFaults:
    """Fault injection, each a probability per frame (0–1), drawn from the seed."""

    drop: float = 0.0
    incomplete: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop", "incomplete"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise LimitError(f"{name} must be a probability", key=f"faults.{name}",
                                 allowed="[0, 1]")


@dataclass(frozen=True)
class Latch:
    """What an exposure was started with (latched at its trigger, or its free-run slot):
    exposure (µs and ns), readout (ns), gain (dB), ROI window (x, y, w, h px), pixel format,
    illumination and polarizer (values or sources)."""

    exposure_us: float
    exp_ns: int
    readout_ns: int
    gain_db: float
    window: tuple[int, int, int, int]
    pixel_format: str
    illumination: IlluminationState
    illumination_source: Callable[[int, int], IlluminationState] | None
    polarizer_deg: float | None
    polarizer_source: Callable[[int], float] | None

    @property
    def busy_ns(self) -> int:
        """How long the sensor is busy with this frame: the next exposure waits for it."""
        return max(self.exp_ns, self.readout_ns)


@dataclass
class Job:
    """A frame claimed for production: its id, buffer, exposure start and readout end (ns),
    latch, incomplete-buffer draw (0–1), acquisition generation and drops before it."""

    fid: int
    idx: int
    buf: np.ndarray
    start: int
    ready: int
    latch: Latch
    u_inc: float
    gen: int
    skipped: int  # frames dropped since the previous one taken up


class SimCameraTimeline(Camera):
    """The SimCamera's trigger and sequencer logic over its node map (see the module).

    The state below is set up by :class:`~lanecam.sim.camera.SimCamera` and guarded by
    ``_stream_lock`` (``_cv`` is its condition).
    """

    serial: str
    seed: int
    faults: SimFaults
    illumination: IlluminationState
    illumination_source: Callable[[int, int], IlluminationState] | None
    polarizer_source: Callable[[int], float] | None
    _map: SimNodeMap
    _stream_lock: threading.RLock
    _cv: threading.Condition
    _streaming: bool
    _gen: int  # acquisition generation: frames of a stopped acquisition are discarded
    _buffers: list[np.ndarray]
    _free: collections.deque[int]
    _pending: list[tuple[int, Latch]]  # (exposure start ns, latch), by start
    _sequence: list[dict[str, Any]]  # sequencer steps (node → value), [] = off
    _seq_pos: int  # the step the next exposure takes
    _next_free_run_ns: int
    _free_run_latch: Latch | None  # the free-run slot's, once it started
    _frame_id: int
    _skipped: int
    _busy_until_ns: int

    def _where(self) -> str:
        """Names this camera in errors and logs."""
        return f"sim:{self.serial}"

    def _active_selector(self) -> str | None:
        """The trigger selector that is on (a burst trigger first), or None: free run."""
        for sel in ("FrameBurstStart", "FrameStart"):
            if self._map.sel[sel]["TriggerMode"] == "On":
                return sel
        return None

    def _latch(self, advance: bool = False) -> Latch:
        """The settings an exposure starting now is made with; ``advance``: it does start now
        (a programmed sequence moves on to its next step — peeks leave it)."""
        nd = self._map.nodes
        exposure_us, gain_db = nd["ExposureTime"].value, nd["Gain"].value
        if self._sequence:  # the sequencer's step for this exposure overrides the nodes
            step = self._sequence[min(self._seq_pos, len(self._sequence) - 1)]
            if advance:
                self._seq_pos += 1
            exposure_us = step.get("ExposureTime", exposure_us)
            gain_db = step.get("Gain", gain_db)
        return Latch(
            exposure_us=exposure_us, exp_ns=round(exposure_us * 1000),
            readout_ns=round(self._map.readout_s() * 1e9), gain_db=gain_db,
            window=(nd["OffsetX"].value, nd["OffsetY"].value, nd["Width"].value,
                    nd["Height"].value),
            pixel_format=nd["PixelFormat"].value, illumination=self.illumination,
            illumination_source=self.illumination_source, polarizer_deg=self.polarizer_deg,
            polarizer_source=self.polarizer_source)

    def _schedule(self, trigger_ns: int, sel: str) -> None:
        """Queue the frame(s) of a trigger, latched now (the stream lock is held)."""
        start = trigger_ns + getattr(self, "trigger_latency_ns", 0) \
            + round(self._map.sel[sel]["TriggerDelay"] * 1000)
        n = int(self._map.nodes["AcquisitionBurstFrameCount"].value) \
            if sel == "FrameBurstStart" else 1
        period = round(1e9 / self._frame_rate())
        self._pending.extend((start + k * period, self._latch(advance=True)) for k in range(n))
        self._pending.sort(key=lambda p: p[0])
        self._cv.notify_all()

    def _frame_rate(self, exposure_us: float | None = None) -> float:
        """Frame rate (Hz) for ``exposure_us`` (default: ExposureTime): the ceiling, or the
        AcquisitionFrameRate below it when enabled."""
        fps = self._map.max_fps(exposure_us)
        if self._map.nodes["AcquisitionFrameRateEnable"].value:
            return min(self._map.nodes["AcquisitionFrameRate"].value, fps)
        return fps

    def _do_program_sequence(self, steps: list[dict[str, Any]]) -> None:
        """A sequencer over ExposureTime and Gain, advancing at each exposure's start (every
        frame of a burst trigger too); ``[]`` turns it off."""
        for step in steps:
            extra = set(step) - {"ExposureTime", "Gain"}
            if extra:
                raise UnsupportedFeatureError("the simulated sequencer holds ExposureTime and "
                                              "Gain only", device=self._where(),
                                              feature=sorted(extra)[0])
        with self._stream_lock:
            self._sequence = [dict(step) for step in steps]
            self._seq_pos = 0

    def _next_frame(self) -> tuple[int, Latch | None] | None:
        """(exposure start, latch or None if not started yet) of the next frame, or None."""
        if self._active_selector() is None:
            start, latch = self._next_free_run_ns, self._free_run_latch
        elif self._pending:
            start, latch = self._pending[0]
        else:
            return None
        return max(start, self._busy_until_ns), latch

    def _ready_ns(self, start: int, latch: Latch | None) -> int:
        """When (clock ns) the frame exposed from ``start`` has been read out."""
        if latch is None:  # a free-run slot not yet started: as it would be now
            latch = self._latch()
        return start + latch.exp_ns + latch.readout_ns

    def _claim(self, start: int, latch: Latch) -> Job | None:
        """Take the next frame (exposure ``start``) off the schedule: its id, its fault draws and
        a free buffer; None when it was dropped (counted).  The stream lock is held."""
        if self._active_selector() is None:
            self._next_free_run_ns = start + round(1e9 / self._frame_rate(latch.exposure_us))
            self._free_run_latch = None
        else:
            self._pending.pop(0)
        self._busy_until_ns = start + latch.busy_ns
        self._frame_id += 1
        fid = self._frame_id
        rnd = int(splitmix64(np.uint64((self.seed * 0x9E3779B1 + fid) & 0xFFFFFFFFFFFFFFFF)))
        u_drop = (rnd & 0xFFFFFFFF) / 2**32
        u_inc = (rnd >> 32) / 2**32
        if not self._free or u_drop < self.faults.drop:
            self._skipped += 1
            log.debug("%s: frame %d dropped (%s)", self._where(), fid,
                      "no free buffer" if not self._free else "simulated drop")
            return None
        idx = self._free.popleft()
        skipped, self._skipped = self._skipped, 0
        return Job(fid, idx, self._buffers[idx], start, start + latch.exp_ns + latch.readout_ns,
                    latch, u_inc, self._gen, skipped)
