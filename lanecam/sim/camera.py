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
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..clock import ManualClock, MonotonicClock
from ..devices.cameras import Camera, CameraInfo, NodeInfo, RawGrab
from ..devices.cameras.profile import FeatureKind
from ..errors import (ConfigError, DeviceError, DeviceLostError, DeviceTimeoutError,
                      LanecamError, LimitError, UnsupportedFeatureError)
from ..frames import IlluminationState
from .image_sensor import splitmix64
from .render import DEFAULT_LAYOUT, Renderer, Shot
from .truth import FrameTruth
from .world import World

__all__ = ["FULL_HEIGHT_READOUT_S", "SimCamera", "SimFaults"]

log = logging.getLogger(__name__)

#: Readout of a full 2048-row frame: 75 fps class (PQ §1.5: BFS-U3-51S5P 75 fps, VCXU-50MP 77).
FULL_HEIGHT_READOUT_S = 1.0 / 75.0
# Node limits of a Pregius-class GigE camera (ASSUMED typical values; a real camera's come
# from its own node map): exposure 10 µs–1 s, gain 0–48 dB, ROI steps 8 × 2 px (2 keeps the
# polarization mosaic's phase).
_MIN_EXPOSURE_US = 10.0
_MAX_EXPOSURE_US = 1_000_000.0
_MAX_GAIN_DB = 48.0
_WIDTH_INC = 8
_HEIGHT_INC = 2
_NAP_NS = 5_000_000  # longest single wait inside a lazy grab (ns)
_IDLE_WAIT_S = 1.0  # longest single wait of the worker or a background grab (s): every state
# change notifies them; the bound only makes a missed notification cost a second, not a hang
_JOIN_S = 10.0  # how long stopping waits for the worker to finish the frame it is rendering


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
class _Latch:
    """What an exposure was started with (latched at its trigger, or its free-run slot)."""

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
class _Job:
    """A frame claimed for production: its id, buffer and exposure."""

    fid: int
    idx: int
    buf: np.ndarray
    start: int
    ready: int
    latch: _Latch
    u_inc: float
    gen: int
    skipped: int  # frames dropped since the previous one taken up


@dataclass
class _Node:
    kind: str
    value: Any = None
    entries: tuple[str, ...] = ()
    locked_when_streaming: bool = False
    readonly: bool = False


class SimCamera(Camera):
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
                 faults: SimFaults = SimFaults(), truth_frames: int = 4096,
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
        self.illumination_source = illumination_source
        self.polarizer_source = polarizer_source
        self._model = "SimCameraPolarized" if self.pose.polarizer == "mosaic" else "SimCamera"
        self._removed = False
        self._nodes: dict[str, _Node] = {}
        self._sel: dict[str, dict[str, Any]] = {}
        self._lines: dict[str, dict[str, Any]] = {}
        self._stream_lock = threading.RLock()
        # notified on every change a waiting worker or grab cares about (same lock)
        self._cv = threading.Condition(self._stream_lock)
        self._streaming = False
        self._gen = 0  # acquisition generation: frames of a stopped acquisition are discarded
        self._buffers: list[np.ndarray] = []
        self._free: collections.deque[int] = collections.deque()
        self._pending: list[tuple[int, _Latch]] = []  # (exposure start ns, latch), by start
        self._sequence: list[dict[str, Any]] = []  # sequencer steps (node → value), [] = off
        self._seq_pos = 0  # the step the next exposure takes
        self._next_free_run_ns = 0
        self._free_run_latch: _Latch | None = None  # the free-run slot's, once it started
        self._claimed: collections.deque[_Job] = collections.deque()  # due, not yet rendered
        self._in_flight: _Job | None = None  # being rendered by the worker
        self._ready: collections.deque[RawGrab | BaseException] = collections.deque()
        self._fault: BaseException | None = None  # the worker died of this
        self._worker: threading.Thread | None = None
        #: frames that could not be produced (source or render errors, a failed worker)
        self.production_errors = 0
        self._frame_id = 0
        self._skipped = 0
        self._force_failed = 0
        self._busy_until_ns = 0
        self._truth: collections.OrderedDict[int, FrameTruth] = collections.OrderedDict()
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
            st = self._sel[sel]
            if st["TriggerSource"] != line or st["TriggerActivation"] != "RisingEdge":
                return False
            self._schedule(self.clock.now_ns() if at_ns is None else int(at_ns), sel)
            return True

    def line_output(self, line: str) -> str | None:
        """What output ``line`` drives (e.g. ``"ExposureActive"``), or None for an input."""
        st = self._lines.get(line) if self._nodes else None
        if st is None or st["LineMode"] != "Output":
            return None
        return str(st["LineSource"])

    def unplug(self) -> None:
        """The camera drops off the network: grabs and node access raise
        :class:`DeviceLostError` until :meth:`reconnect` (the device is then found again)."""
        with self._cv:
            self._removed = True
            self._cv.notify_all()  # the worker stops; waiting grabs raise DeviceLostError

    # ------------------------------------------------------------------ node map
    def _power_on(self) -> None:
        w, h = self.pose.width_px, self.pose.height_px
        n = _Node
        self._nodes = {
            "DeviceVendorName": n("string", "lanecam", readonly=True),
            "DeviceModelName": n("string", self._model, readonly=True),
            "DeviceSerialNumber": n("string", self.serial, readonly=True),
            "ExposureTime": n(FeatureKind.FLOAT, 1000.0),
            "Gain": n(FeatureKind.FLOAT, 0.0),
            "AcquisitionFrameRateEnable": n(FeatureKind.BOOL, False),
            "AcquisitionFrameRate": n(FeatureKind.FLOAT, 30.0),
            "Width": n(FeatureKind.INT, w, locked_when_streaming=True),
            "Height": n(FeatureKind.INT, h, locked_when_streaming=True),
            "OffsetX": n(FeatureKind.INT, 0, locked_when_streaming=True),
            "OffsetY": n(FeatureKind.INT, 0, locked_when_streaming=True),
            "PixelFormat": n(FeatureKind.ENUM, "Mono8", ("Mono8", "Mono12"),
                             locked_when_streaming=True),
            "AcquisitionMode": n(FeatureKind.ENUM, "Continuous", ("Continuous",)),
            "ExposureAuto": n(FeatureKind.ENUM, "Off", ("Off",)),
            "GainAuto": n(FeatureKind.ENUM, "Off", ("Off",)),
            "TriggerSelector": n(FeatureKind.ENUM, "FrameStart", ("FrameStart", "FrameBurstStart")),
            "TriggerMode": n(FeatureKind.ENUM, None, ("Off", "On")),
            "TriggerSource": n(FeatureKind.ENUM, None, ("Software", "Line1", "Line2")),
            "TriggerActivation": n(FeatureKind.ENUM, None, ("RisingEdge", "FallingEdge")),
            "TriggerDelay": n(FeatureKind.FLOAT, None),
            "TriggerSoftware": n(FeatureKind.COMMAND),
            "AcquisitionBurstFrameCount": n(FeatureKind.INT, 1),
            "LineSelector": n(FeatureKind.ENUM, "Line1", ("Line1", "Line2")),
            "LineMode": n(FeatureKind.ENUM, None, ("Input", "Output")),
            "LineSource": n(FeatureKind.ENUM, None, ("Off", "ExposureActive")),
            "LineDebouncerTime": n(FeatureKind.FLOAT, 0.0),
            "TimestampLatch": n(FeatureKind.COMMAND),
            "TimestampLatchValue": n(FeatureKind.INT, 0, readonly=True),
            "ForceFailedBufferCount": n(FeatureKind.INT, 1),
            "ForceFailedBuffer": n(FeatureKind.COMMAND),
            "SimDeviceRemoval": n(FeatureKind.COMMAND),
        }
        self._sel = {s: {"TriggerMode": "Off", "TriggerSource": "Software",
                         "TriggerActivation": "RisingEdge", "TriggerDelay": 0.0}
                     for s in ("FrameStart", "FrameBurstStart")}
        self._lines = {"Line1": {"LineMode": "Input", "LineSource": "Off"},
                       "Line2": {"LineMode": "Input", "LineSource": "Off"}}

    _SELECTED = ("TriggerMode", "TriggerSource", "TriggerActivation", "TriggerDelay")
    _LINE = ("LineMode", "LineSource")

    def _value(self, node: str) -> Any:
        if node in self._SELECTED:
            return self._sel[self._nodes["TriggerSelector"].value][node]
        if node in self._LINE:
            return self._lines[self._nodes["LineSelector"].value][node]
        return self._nodes[node].value

    def _limits(self, node: str) -> tuple[float | None, float | None, float | None]:
        v = self._value
        sw, sh = self.pose.width_px, self.pose.height_px
        if node == "ExposureTime":
            return _MIN_EXPOSURE_US, _MAX_EXPOSURE_US, None
        if node == "Gain":
            return 0.0, _MAX_GAIN_DB, None
        if node == "AcquisitionFrameRate":
            return 0.1, self._max_fps(), None
        if node == "Width":
            return 16, sw - v("OffsetX"), _WIDTH_INC
        if node == "Height":
            return 16, sh - v("OffsetY"), _HEIGHT_INC
        if node == "OffsetX":
            return 0, sw - v("Width"), _WIDTH_INC
        if node == "OffsetY":
            return 0, sh - v("Height"), _HEIGHT_INC
        if node == "TriggerDelay":
            return 0.0, 1_000_000.0, None
        if node == "AcquisitionBurstFrameCount":
            return 1, 255, 1
        if node == "LineDebouncerTime":
            return 0.0, 10_000.0, None
        if node == "ForceFailedBufferCount":
            return 1, 255, 1
        if node == "TimestampLatchValue":
            return 0, 2**63 - 1, 1
        return None, None, None

    def _max_fps(self, exposure_us: float | None = None) -> float:
        exp = (self._nodes["ExposureTime"].value if exposure_us is None else exposure_us) * 1e-6
        return 1.0 / max(self._readout_s(), exp)

    def _readout_s(self) -> float:
        return FULL_HEIGHT_READOUT_S * self._nodes["Height"].value / self.pose.height_px

    def _entries(self, node: str) -> tuple[str, ...]:
        if node == "LineMode" and self._nodes["LineSelector"].value == "Line1":
            return ("Input",)
        return self._nodes[node].entries

    def _writable(self, node: str) -> bool:
        nd = self._nodes[node]
        if nd.readonly:
            return False
        if nd.locked_when_streaming and self._streaming:
            return False
        return node != "LineSource" or self._value("LineMode") == "Output"

    # ------------------------------------------------------------------ Camera hooks
    def _where(self) -> str:
        return f"sim:{self.serial}"

    def _do_open(self) -> CameraInfo:
        self._removed = False  # a removed camera is back on the network when reopened
        self._power_on()
        return CameraInfo("sim", "lanecam", self._model, self.serial,
                          f"lanecam {self._model} ({self.pose.name})")

    def _do_close(self) -> None:
        self._do_stop()
        with self._stream_lock:
            self._buffers = []
            self._free.clear()

    def _check_node(self, node: str) -> _Node:
        if self._removed:
            raise DeviceLostError("camera was removed", device=self._where(), feature=node)
        nd = self._nodes.get(node)
        if nd is None:
            raise DeviceError(f"no node {node}", device=self._where(), feature=node)
        return nd

    def _do_node_info(self, node: str) -> NodeInfo | None:
        if not self._nodes or node not in self._nodes:
            return None
        nd = self._check_node(node)
        lo, hi, inc = self._limits(node)
        unit = {"ExposureTime": "us", "Gain": "dB", "AcquisitionFrameRate": "Hz",
                "TriggerDelay": "us", "LineDebouncerTime": "us"}.get(node, "")
        readable = nd.kind != FeatureKind.COMMAND
        return NodeInfo(nd.kind, readable, self._writable(node), lo, hi, inc,
                        self._entries(node) if nd.kind == FeatureKind.ENUM else (), unit)

    def _do_get(self, node: str) -> Any:
        nd = self._check_node(node)
        if nd.kind == FeatureKind.COMMAND:
            raise DeviceError(f"{node} is a command", device=self._where(), feature=node)
        return self._value(node)

    def _do_set(self, node: str, value: Any) -> None:
        nd = self._check_node(node)
        if not self._writable(node):
            raise DeviceError(f"{node} is not writable now", device=self._where(), feature=node)
        if nd.kind == FeatureKind.ENUM:
            if value not in self._entries(node):
                raise LimitError(f"{value!r} is not an entry of {node}", device=self._where(),
                                 key=node, allowed=list(self._entries(node)))
        elif nd.kind in (FeatureKind.INT, FeatureKind.FLOAT):
            lo, hi, inc = self._limits(node)
            if (lo is not None and value < lo) or (hi is not None and value > hi) or (
                    nd.kind == FeatureKind.INT and inc and lo is not None and (value - lo) % inc):
                raise LimitError(f"{value!r} outside {node} limits", device=self._where(),
                                 key=node, allowed=f"[{lo}, {hi}] step {inc}")
            value = int(value) if nd.kind == FeatureKind.INT else float(value)
        elif nd.kind == FeatureKind.BOOL:
            value = bool(value)
        if node in self._SELECTED:
            self._sel[self._nodes["TriggerSelector"].value][node] = value
        elif node in self._LINE:
            self._lines[self._nodes["LineSelector"].value][node] = value
        else:
            nd.value = value
        if node in ("ExposureTime", "Height") and \
                self._nodes["AcquisitionFrameRate"].value > self._max_fps():
            self._nodes["AcquisitionFrameRate"].value = self._max_fps()

    def _do_execute(self, node: str) -> None:
        nd = self._check_node(node)
        if nd.kind != FeatureKind.COMMAND:
            raise DeviceError(f"{node} is not a command", device=self._where(), feature=node)
        now = self.clock.now_ns()
        if node == "TriggerSoftware":
            with self._stream_lock:
                sel = self._active_selector()
                if not self._streaming or sel is None or \
                        self._sel[sel]["TriggerSource"] != "Software":
                    raise DeviceError("TriggerSoftware needs a started software trigger",
                                      device=self._where(), feature=node)
                self._schedule(now, sel)
        elif node == "TimestampLatch":
            self._nodes["TimestampLatchValue"].value = now
        elif node == "ForceFailedBuffer":
            with self._stream_lock:
                self._force_failed += int(self._nodes["ForceFailedBufferCount"].value)
        elif node == "SimDeviceRemoval":
            self.unplug()

    def _active_selector(self) -> str | None:
        for sel in ("FrameBurstStart", "FrameStart"):
            if self._sel[sel]["TriggerMode"] == "On":
                return sel
        return None

    def _latch(self, advance: bool = False) -> _Latch:
        """The settings an exposure starting now is made with; ``advance``: it does start now
        (a programmed sequence moves on to its next step — peeks leave it)."""
        nd = self._nodes
        exposure_us, gain_db = nd["ExposureTime"].value, nd["Gain"].value
        if self._sequence:  # the sequencer's step for this exposure overrides the nodes
            step = self._sequence[min(self._seq_pos, len(self._sequence) - 1)]
            if advance:
                self._seq_pos += 1
            exposure_us = step.get("ExposureTime", exposure_us)
            gain_db = step.get("Gain", gain_db)
        return _Latch(
            exposure_us=exposure_us, exp_ns=round(exposure_us * 1000),
            readout_ns=round(self._readout_s() * 1e9), gain_db=gain_db,
            window=(nd["OffsetX"].value, nd["OffsetY"].value, nd["Width"].value,
                    nd["Height"].value),
            pixel_format=nd["PixelFormat"].value, illumination=self.illumination,
            illumination_source=self.illumination_source, polarizer_deg=self.polarizer_deg,
            polarizer_source=self.polarizer_source)

    def _schedule(self, trigger_ns: int, sel: str) -> None:
        """Queue the frame(s) of a trigger, latched now (the stream lock is held)."""
        start = trigger_ns + round(self._sel[sel]["TriggerDelay"] * 1000)
        n = int(self._nodes["AcquisitionBurstFrameCount"].value) if sel == "FrameBurstStart" else 1
        period = round(1e9 / self._frame_rate())
        self._pending.extend((start + k * period, self._latch(advance=True)) for k in range(n))
        self._pending.sort(key=lambda p: p[0])
        self._cv.notify_all()

    def _frame_rate(self, exposure_us: float | None = None) -> float:
        fps = self._max_fps(exposure_us)
        if self._nodes["AcquisitionFrameRateEnable"].value:
            return min(self._nodes["AcquisitionFrameRate"].value, fps)
        return fps

    def _do_start(self, buffer_count: int) -> None:
        with self._stream_lock:
            if self._removed:
                raise DeviceLostError("camera was removed", device=self._where())
            h, w = self._nodes["Height"].value, self._nodes["Width"].value
            dtype = np.uint8 if self._nodes["PixelFormat"].value == "Mono8" else np.uint16
            self._buffers = [np.empty((h, w), dtype) for _ in range(buffer_count)]
            self._free = collections.deque(range(buffer_count))
            self._discard()
            self._next_free_run_ns = self.clock.now_ns()
            self._busy_until_ns = 0
            self._fault = None
            self._streaming = True
            if self.background:
                self._worker = threading.Thread(target=self._work, args=(self._gen,),
                                                name=f"SimCamera-{self.serial}", daemon=True)
                self._worker.start()

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

    def _do_stop(self) -> None:
        with self._stream_lock:
            self._streaming = False
            self._discard()
            worker, self._worker = self._worker, None
        if worker is not None and worker is not threading.current_thread():
            worker.join(_JOIN_S)  # it stops after the frame it is rendering, if any
            if worker.is_alive():
                log.warning("%s: frame worker still busy after %g s; left to finish",
                            self._where(), _JOIN_S)

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

    # ------------------------------------------------------------------ frames
    def _next_frame(self) -> tuple[int, _Latch | None] | None:
        """(exposure start, latch or None if not started yet) of the next frame, or None."""
        if self._active_selector() is None:
            start, latch = self._next_free_run_ns, self._free_run_latch
        elif self._pending:
            start, latch = self._pending[0]
        else:
            return None
        return max(start, self._busy_until_ns), latch

    def _ready_ns(self, start: int, latch: _Latch | None) -> int:
        if latch is None:  # a free-run slot not yet started: as it would be now
            latch = self._latch()
        return start + latch.exp_ns + latch.readout_ns

    def _claim(self, start: int, latch: _Latch) -> _Job | None:
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
        return _Job(fid, idx, self._buffers[idx], start, start + latch.exp_ns + latch.readout_ns,
                    latch, u_inc, self._gen, skipped)

    def _render(self, job: _Job) -> FrameTruth:
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

    def _finish(self, job: _Job, truth: FrameTruth) -> RawGrab | None:
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

    def _failed(self, job: _Job, exc: BaseException) -> None:
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
        with self._stream_lock:
            if gen == self._gen and len(self._buffers) > idx and idx not in self._free:
                self._free.append(idx)

    def _do_retrieve(self, timeout_s: float) -> RawGrab:
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
        if self._removed:
            raise DeviceLostError("camera was removed", device=self._where())
        if not self._streaming:
            raise DeviceError("camera is not streaming", device=self._where())

    # ------------------------------------------------------------------ background production
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

    def _next_job(self, gen: int) -> _Job | None:
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

    def _polarizer(self, start_ns: int, latch: _Latch) -> float | None:
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
        if self.pose.polarizer != "mosaic":
            return DEFAULT_LAYOUT
        layout = self.profile.polarization_layout
        if layout is None:
            raise ConfigError("a mosaic sensor needs a profile with a [polarization] layout",
                              device=self._where(), key="profile")
        return layout
