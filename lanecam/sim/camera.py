""":class:`SimCamera`: a :class:`~lanecam.devices.cameras.Camera` whose sensor looks at the world.

It exposes a GenICam-like node map with SFNC 2.x names and *live* limits (Width/Height/Offset
ranges follow each other; ROI and pixel format lock while streaming; the frame-rate ceiling
follows exposure and height), so the :class:`Camera` policy layer, the firmware profile
(``lanecam-sim`` / ``lanecam-sim-polarized``) and the contract suite work on it unchanged.

Time.  World time ``t`` (s) = (clock ns − ``epoch_ns``)/1e9 on the injected clock.  A frame's
exposure starts at its trigger time (+ TriggerDelay): the software trigger's "now", a scheduled
hardware edge (:meth:`SimCamera.fire_line`), or the free-run grid from the moment of arming;
``device_ns`` is that start on the same clock.  A frame is ready once exposure and readout
(1/75 s at full height, IMX250 class, PQ §1.5) are over.

Production.  On a real-time clock (the default for :class:`~lanecam.clock.MonotonicClock`;
``background=``) the camera works on its own like a real one: a worker thread, started when
acquisition starts and stopped when it stops (or on close / :meth:`~SimCamera.unplug`), renders
each frame into the camera's buffers as soon as its readout has ended on the camera's clock —
whether or not the host is grabbing — and :meth:`grab` waits for the next completed frame in
order.  A host busy elsewhere (e.g. triggering a tailgating follower's burst) is not held up by
the rendering of frames it has not asked for yet.  A frame that cannot be produced (a source or
render error) is delivered in its place as that error, raised by the grab that would have
received it — a :class:`~lanecam.errors.LanecamError` as is, anything else as a
:class:`~lanecam.errors.DeviceError` — and counted in :attr:`SimCamera.production_errors`.

On any other clock, in particular a :class:`~lanecam.clock.ManualClock` (simulated time only
moves when someone sleeps or advances it, so a thread waiting for a frame's readout would have
to poll), frames are produced lazily inside :meth:`grab`, which waits for each with
``clock.sleep`` — so waiting *is* advancing simulated time.  Both paths share every step, so the
same world, seed, trigger times and settings give the same frames, ids, drops and faults.

Each exposure latches at its start (the trigger: software, hardware edge or burst; for free
run, the grid slot): ExposureTime, Gain, PixelFormat, the ROI window, ``illumination`` /
``illumination_source`` and ``polarizer_deg`` / ``polarizer_source`` — later changes apply to
later triggers.  The sources are called when the frame is produced, with the exposure's start.

Rendering uses the latched exposure, gain, pixel format and ROI, ``camera.polarizer_deg`` (a
rotatable polarizer, set by the lane like a real rotator) — or, when a ``polarizer_source`` is
given, the angle a simulated rotator really had at exposure start (see
:meth:`lanecam.sim.devices.SimDevices.polarizer_source`) — or the profile's mosaic layout, and
``camera.illumination`` (what the lane says the illuminator did) — or, when an
``illumination_source`` is given, what the simulated illuminator actually did during the
exposure (see :mod:`lanecam.sim.devices`: the camera's ExposureActive output line triggers the
Gardasoft firmware fake).  Ground truth of each
delivered frame is kept (bounded) for :meth:`ground_truth` — evaluation only.

Fault knobs (:class:`SimFaults`, deterministic per seed and frame): dropped frames, incomplete
buffers, ``ForceFailedBuffer``, and device removal (``SimDeviceRemoval`` / :meth:`unplug`).

The camera is built in layers, one module each: :mod:`~lanecam.sim.camera_nodes` (the node
map), :mod:`~lanecam.sim.camera_timeline` (triggers, sequencer, latches, claims and
:class:`~lanecam.sim.camera_timeline.SimFaults`), :mod:`~lanecam.sim.camera_production`
(rendering, lazy grabs, the background worker); this module is the device itself: its
construction, the simulator API and the Camera hooks.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..clock import ManualClock, MonotonicClock
from ..devices.cameras import CameraInfo, NodeInfo
from ..devices.cameras.profile import FeatureKind
from ..errors import ConfigError, DeviceError, DeviceLostError
from ..frames import IlluminationState
from .camera_nodes import SimNode, SimNodeMap
from .camera_production import SimCameraProduction
from .camera_timeline import SimFaults
from .render import Renderer
from .truth import FrameTruth
from .world import World

__all__ = ["SimCamera"]

_NO_FAULTS = SimFaults()


class SimCamera(SimCameraProduction):
    """A simulated camera looking at ``world`` from pose ``camera`` (default: the first).

    ``scale`` (0–1] renders a smaller sensor with the same field of view (quick CI);
    ``epoch_ns`` is the clock time of world t = 0 (default: the clock's time at construction);
    ``seed`` overrides the world's seed for noise and faults; ``illumination_source(start_ns,
    exposure_ns)`` returns the illumination actually present during an exposure (default: the
    ``illumination`` attribute); ``polarizer_source(start_ns)`` returns the rotatable analyzer's
    axis in the image frame (deg) at an exposure's start, e.g. a simulated rotator's physical
    angle (default: the ``polarizer_deg`` attribute).  ``background`` produces frames on a
    worker thread as they are read out (default: when the clock is a
    :class:`~lanecam.clock.MonotonicClock`; it needs a clock that runs in real time, so not a
    :class:`~lanecam.clock.ManualClock`), else lazily inside :meth:`grab`.  Other keyword
    arguments go to :class:`~lanecam.devices.cameras.Camera` (``clock``, ``buffer_count``, …).
    """

    backend = "sim"

    def __init__(self, world: World, camera: str | None = None, *, serial: str | None = None,
                 scale: float = 1.0, epoch_ns: int | None = None, seed: int | None = None,
                 faults: SimFaults = _NO_FAULTS, truth_frames: int = 4096,
                 illumination_source: Callable[[int, int], IlluminationState] | None = None,
                 polarizer_source: Callable[[int], float] | None = None,
                 background: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if background is None:
            background = isinstance(self.clock, MonotonicClock)
        elif background and isinstance(self.clock, ManualClock):
            raise ConfigError("background production needs a real-time clock, not a ManualClock",
                              key="background", allowed=[False, None])
        #: frames are produced by a worker thread as they are read out (else inside grab)
        self.background = bool(background)
        self.world = world
        self.renderer = Renderer(world, camera, scale)
        self.pose = self.renderer.pose
        self.serial = serial or f"sim-{self.pose.name}"
        self.epoch_ns = self.clock.now_ns() if epoch_ns is None else int(epoch_ns)
        self.seed = world.seed if seed is None else int(seed)
        self.faults = faults
        self.illumination = IlluminationState("off")
        #: the camera's own trigger-to-exposure delay (ns) on top of TriggerDelay: opto-coupler
        #: and sensor start-up, invisible in the node map (``lanecam calibrate latency`` finds it)
        self.trigger_latency_ns = 0
        self.illumination_source = illumination_source
        self.polarizer_source = polarizer_source
        self._model = "SimCameraPolarized" if self.pose.polarizer == "mosaic" else "SimCamera"
        self._removed = False
        self._map = SimNodeMap(self.pose.width_px, self.pose.height_px)  # empty until opened
        self._stream_lock = threading.RLock()
        # notified on every change a waiting worker or grab cares about (same lock)
        self._cv = threading.Condition(self._stream_lock)
        self._streaming = False
        self._gen = 0  # acquisition generation: frames of a stopped acquisition are discarded
        self._buffers = []
        self._free = collections.deque()
        self._pending = []  # (exposure start ns, latch), by start
        self._sequence = []  # sequencer steps (node → value), [] = off
        self._seq_pos = 0  # the step the next exposure takes
        self._next_free_run_ns = 0
        self._free_run_latch = None  # the free-run slot's, once it started
        self._claimed = collections.deque()  # due, not yet rendered
        self._in_flight = None  # being rendered by the worker
        self._ready = collections.deque()
        self._fault = None  # the worker died of this
        self._worker = None
        #: frames that could not be produced (source or render errors, a failed worker)
        self.production_errors = 0
        self._frame_id = 0
        self._skipped = 0
        self._force_failed = 0
        self._busy_until_ns = 0
        self._truth = collections.OrderedDict()
        self._truth_frames = int(truth_frames)

    # ------------------------------------------------------------------ simulator API
    def world_time(self, ns: int | None = None) -> float:
        """World seconds at clock time ``ns`` (default: now)."""
        return ((self.clock.now_ns() if ns is None else ns) - self.epoch_ns) / 1e9

    def ground_truth(self, frame_number: int) -> FrameTruth:
        """Ground truth of a produced frame (in the background: from the moment it is rendered,
        before it is grabbed) — evaluation only (see :mod:`lanecam.sim.truth`)."""
        try:
            with self._stream_lock:
                return self._truth[frame_number]
        except KeyError:
            raise LookupError(f"no ground truth kept for frame {frame_number}") from None

    @property
    def last_frame_number(self) -> int:
        """Number of the last frame the sensor has read out and taken up — delivered, waiting,
        being rendered or dropped (0 before the first)."""
        with self._stream_lock:
            return self._frame_id

    @property
    def frames_waiting(self) -> int:
        """Frames (or their production errors) completed in the background and not yet
        grabbed; always 0 when lazy."""
        with self._stream_lock:
            return len(self._ready)

    def fire_line(self, line: str = "Line1", at_ns: int | None = None) -> bool:
        """An electrical rising edge on ``line`` at clock time ``at_ns`` (default now).

        Starts a frame (or burst) when armed for a hardware trigger on that line; returns
        whether it did.
        """
        with self._stream_lock:
            sel = self._active_selector()
            if not self._streaming or sel is None:
                return False
            st = self._map.sel[sel]
            if st["TriggerSource"] != line or st["TriggerActivation"] != "RisingEdge":
                return False
            self._schedule(self.clock.now_ns() if at_ns is None else int(at_ns), sel)
            return True

    def line_output(self, line: str) -> str | None:
        """What output ``line`` drives (e.g. ``"ExposureActive"``), or None for an input."""
        st = self._map.lines.get(line) if self._map.nodes else None
        if st is None or st["LineMode"] != "Output":
            return None
        return str(st["LineSource"])

    def unplug(self) -> None:
        """The camera drops off the network: grabs and node access raise
        :class:`DeviceLostError` until :meth:`reconnect` (the device is then found again)."""
        with self._cv:
            self._removed = True
            self._cv.notify_all()  # the worker stops; waiting grabs raise DeviceLostError

    # ------------------------------------------------------------------ Camera hooks
    def _do_open(self) -> CameraInfo:
        self._removed = False  # a removed camera is back on the network when reopened
        self._map.power_on(self._model, self.serial)
        return CameraInfo("sim", "lanecam", self._model, self.serial,
                          f"lanecam {self._model} ({self.pose.name})")

    def _do_close(self) -> None:
        self._do_stop()
        with self._stream_lock:
            self._buffers = []
            self._free.clear()

    def _check_node(self, node: str) -> SimNode:
        if self._removed:
            raise DeviceLostError("camera was removed", device=self._where(), feature=node)
        nd = self._map.nodes.get(node)
        if nd is None:
            raise DeviceError(f"no node {node}", device=self._where(), feature=node)
        return nd

    def _do_node_info(self, node: str) -> NodeInfo | None:
        if not self._map.nodes or node not in self._map.nodes:
            return None
        self._check_node(node)
        return self._map.info(node, self._streaming)

    def _do_get(self, node: str) -> Any:
        nd = self._check_node(node)
        if nd.kind == FeatureKind.COMMAND:
            raise DeviceError(f"{node} is a command", device=self._where(), feature=node)
        return self._map.value(node)

    def _do_set(self, node: str, value: Any) -> None:
        self._check_node(node)
        self._map.set(node, value, self._streaming, self._where())

    def _do_execute(self, node: str) -> None:
        nd = self._check_node(node)
        if nd.kind != FeatureKind.COMMAND:
            raise DeviceError(f"{node} is not a command", device=self._where(), feature=node)
        now = self.clock.now_ns()
        if node == "TriggerSoftware":
            with self._stream_lock:
                sel = self._active_selector()
                if not self._streaming or sel is None or \
                        self._map.sel[sel]["TriggerSource"] != "Software":
                    raise DeviceError("TriggerSoftware needs a started software trigger",
                                      device=self._where(), feature=node)
                self._schedule(now, sel)
        elif node == "TimestampLatch":
            self._map.nodes["TimestampLatchValue"].value = now
        elif node == "ForceFailedBuffer":
            with self._stream_lock:
                self._force_failed += int(self._map.nodes["ForceFailedBufferCount"].value)
        elif node == "SimDeviceRemoval":
            self.unplug()

    def _do_start(self, buffer_count: int) -> None:
        with self._stream_lock:
            if self._removed:
                raise DeviceLostError("camera was removed", device=self._where())
            h, w = self._map.nodes["Height"].value, self._map.nodes["Width"].value
            dtype = np.uint8 if self._map.nodes["PixelFormat"].value == "Mono8" else np.uint16
            self._buffers = [np.empty((h, w), dtype) for _ in range(buffer_count)]
            self._free = collections.deque(range(buffer_count))
            self._discard()
            self._next_free_run_ns = self.clock.now_ns()
            self._busy_until_ns = 0
            self._fault = None
            self._streaming = True
            if self.background:
                self._start_worker()

    def _do_stop(self) -> None:
        with self._stream_lock:
            self._streaming = False
            self._discard()
            worker, self._worker = self._worker, None
        if worker is not None:
            self._join_worker(worker)

    def _discard(self) -> None:
        """Forget pending triggers and frames not yet grabbed; frames in production are dropped
        when done (a new generation).  The stream lock is held."""
        self._gen += 1
        self._pending = []
        self._free_run_latch = None
        self._claimed.clear()
        self._ready.clear()
        self._cv.notify_all()

    def _do_software_trigger(self) -> None:
        self._do_execute("TriggerSoftware")

