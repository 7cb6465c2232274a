"""The :class:`Camera` base: public policy methods over private ``_do_*`` backend hooks.

Policy lives here, once, for every backend (pylon, Harvesters/GenTL, the simulator): state
checks, SI-unit conversion through the firmware profile, validation against the device's *live*
limits (reject, never clamp), trigger set-up, frame metadata, counters, burst collection and
reconnection.  A backend only moves bytes: it opens a device, reads and writes GenICam nodes,
starts and stops streaming and hands over one buffer at a time.

Units: seconds, dB, Hz, pixels.  Times in frame metadata are integer nanoseconds.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

from ...clock import MONOTONIC, Clock
from ...errors import (
    ConfigError,
    DeviceError,
    DeviceLostError,
    DeviceTimeoutError,
    LimitError,
    UnsupportedFeatureError,
)
from ...frames import BufferPool, Burst, Frame, IlluminationState
from ..fault_counts import count
from .acquisition import apply_trigger, capture_burst, check_burst_size, frame_meta
from .camera_hooks import CameraHooks
from .profile import (
    CANONICAL_FEATURES,
    FeatureKind,
    FeatureMap,
    Profile,
    load_profiles,
    select_profile,
)
from .settings import (
    APPLY_FIRST,
    NOT_REPLAYED,
    SELECTED_BY,
    check_sequence,
    limits_of,
    node_value,
    require_type,
    with_implied,
)
from .types import (
    CameraCounters,
    CameraInfo,
    FeatureLimits,
    NodeInfo,
    RawGrab,
    Trigger,
    TriggerKind,
)

__all__ = ["Camera"]

log = logging.getLogger(__name__)


class Camera(CameraHooks):
    """A camera: open it, configure it in SI units, arm a trigger, grab borrowed frames.

    ``with camera:`` opens and closes.  Subclasses implement the ``_do_*`` hooks only.
    ``buffer_count`` is the number of driver buffers streamed into; a burst longer than the
    driver can hold is moved into a fixed :class:`~lanecam.frames.BufferPool` of
    ``burst_pool_frames`` slots.
    """

    backend: str = "abstract"

    def __init__(
        self,
        *,
        profile: str | Profile | None = None,
        profiles: Mapping[str, Profile] | None = None,
        clock: Clock = MONOTONIC,
        buffer_count: int = 16,
        burst_pool_frames: int = 64,
    ) -> None:
        if buffer_count < 2:
            raise LimitError("buffer_count must be ≥ 2", key="buffer_count", allowed="≥ 2")
        self._profile_override = profile
        self._profiles = profiles
        self.clock = clock
        self.buffer_count = int(buffer_count)
        self.burst_pool_frames = int(burst_pool_frames)
        self.counters = CameraCounters()
        #: tolerated events by name (e.g. ``"teardown_error"``), each also logged at WARNING
        #: (``faults`` is taken: the simulator's fault-injection settings)
        self.fault_counts: Counter[str] = Counter()
        self.illumination = IlluminationState()  # set by the lane; stamped into each frame
        self.polarizer_deg: float | None = None  # likewise, for a rotatable polarizer
        self._info: CameraInfo | None = None
        self._profile: Profile | None = None
        self._trigger: Trigger | None = None
        self._lost = False
        self._applied: dict[str, Any] = {}
        self._exposure_s: float | None = None
        self._gain_db: float | None = None
        self._pixel_format = "Mono8"
        self._burst_pool: BufferPool | None = None
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- identity and state
    @property
    def info(self) -> CameraInfo:
        if self._info is None:
            raise DeviceError("camera is not open", device=self._name_for_errors())
        return self._info

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            raise DeviceError("camera is not open", device=self._name_for_errors())
        return self._profile

    @property
    def is_open(self) -> bool:
        return self._info is not None

    @property
    def is_armed(self) -> bool:
        return self._trigger is not None

    @property
    def trigger_mode(self) -> Trigger | None:
        return self._trigger

    def _name_for_errors(self) -> str:
        return self._info.id if self._info else f"{self.backend}:<closed>"

    def _count(self, event: str, detail: str) -> None:
        """``fault_counts[event] += 1`` and a WARNING (the 1st, 10th, 100th, … time)."""
        count(self.fault_counts, log, self._name_for_errors(), event, detail)

    def __repr__(self) -> str:
        state = "armed" if self.is_armed else "open" if self.is_open else "closed"
        who = f"{self._info.vendor} {self._info.model} {self._info.serial}" if self._info else ""
        return f"{type(self).__name__}({who}, {state})".replace("(, ", "(")

    # ---------------------------------------------------------------- open / close
    def open(self) -> Self:
        """Connect to the device and pick its firmware profile; idempotent."""
        with self._lock:
            if self._info is not None:
                return self
            info = self._do_open()
            try:
                profiles = self._profiles if self._profiles is not None else load_profiles()
                if isinstance(self._profile_override, Profile):
                    prof = self._profile_override
                else:
                    prof = select_profile(info.vendor, info.model, profiles, self._profile_override)
            except Exception:
                self._do_close()
                raise
            self._info, self._profile, self._lost = info, prof, False
            self._refresh_meta_cache()
            log.info("opened %s (%s) with profile %s", info.id, info.model, prof.name)
            return self

    def close(self) -> None:
        """Stop streaming and disconnect; idempotent, also after the device was lost."""
        with self._lock:
            if self._info is None:
                return
            try:
                if self._trigger is not None:
                    self._trigger = None
                    self._do_stop()
            finally:
                self._info = None
                self._do_close()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> CameraInfo:
        if self._info is None:
            raise DeviceError("camera is not open", device=self._name_for_errors())
        if self._lost:
            raise DeviceLostError("device was lost; call reconnect()", device=self._info.id)
        return self._info

    # ---------------------------------------------------------------- features
    def _feature(self, name: str) -> tuple[FeatureMap, NodeInfo]:
        """Resolve a canonical feature to its node, or raise the precise reason it can't be."""
        info = self._require_open()
        if name not in CANONICAL_FEATURES:
            raise ConfigError("unknown feature", device=info.id, key=name,
                              allowed=sorted(CANONICAL_FEATURES))
        fmap = self.profile.feature(name)
        if fmap is None:
            raise UnsupportedFeatureError(
                f"{info.vendor} {info.model} has no {name!r} (profile {self.profile.name})",
                device=info.id, feature=name)
        node = self._do_node_info(fmap.node)
        if node is None:
            raise UnsupportedFeatureError(
                f"{info.vendor} {info.model} does not offer {fmap.node} for {name!r}",
                device=info.id, feature=name)
        return fmap, node

    def supports(self, name: str) -> bool:
        """True when the profile maps ``name`` and the live device offers the node."""
        try:
            self._feature(name)
        except UnsupportedFeatureError:
            return False
        return True

    def limits(self, name: str) -> FeatureLimits:
        """Live limits of a canonical feature in SI units."""
        fmap, node = self._feature(name)
        return limits_of(fmap, node)

    def get(self, name: str) -> Any:
        """Current value of a canonical feature, in SI units."""
        fmap, node = self._feature(name)
        if fmap.kind == FeatureKind.COMMAND or not node.readable:
            raise UnsupportedFeatureError(f"{fmap.node} is not readable", device=self.id,
                                          feature=name)
        return fmap.from_node(self._do_get(fmap.node))

    def execute(self, name: str) -> None:
        """Execute a command feature (e.g. ``trigger_software``, ``timestamp_latch``)."""
        fmap, node = self._feature(name)
        if fmap.kind != FeatureKind.COMMAND:
            raise ConfigError("not a command feature", device=self.id, key=name)
        if not node.writable:
            raise DeviceError(f"{fmap.node} cannot be executed now", device=self.id, feature=name)
        self._do_execute(fmap.node)

    def _check_kind(self, name: str, value: Any) -> None:
        """Name, type and profile checks (a mode written first may bring the node: LineSource)."""
        require_type(name, value, self._name_for_errors())
        if self.profile.feature(name) is None:
            self._feature(name)  # raises: unknown, or the profile lacks it (names the model)

    def _check_value(self, name: str, value: Any) -> tuple[FeatureMap, Any]:
        """Type- and range-check one setting against live limits; return the node value."""
        require_type(name, value, self._name_for_errors())
        fmap, node = self._feature(name)
        if not node.writable:
            raise DeviceError(f"{fmap.node} is not writable now (streaming or locked)",
                              device=self.id, feature=name)
        return fmap, node_value(fmap, node, value, self.id)

    def configure(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Apply settings given in SI units; return the values the device now reports.

        Each value is checked against the live limits before anything is written and again at
        its write (a new width changes the offset range; ``line_source`` after ``line_mode`` only
        there, so such a batch can stop part-way).  A gain implies ``gain_selector = "all"`` where
        the camera has one.  Nothing is clamped: LimitError, ConfigError, UnsupportedFeatureError.
        """
        if not isinstance(settings, Mapping):
            raise ConfigError("settings must be a mapping of feature name to value",
                              device=self._name_for_errors(), key="<settings>")
        with self._lock:
            self._require_open()
            settings = with_implied(settings, self.supports)
            selected = {dep for sel, deps in SELECTED_BY.items() if sel in settings for dep in deps}
            for name, value in settings.items():
                if name in selected:  # its limits depend on a selector set in this batch:
                    self._check_kind(name, value)  # checked fully just before its write
                else:
                    self._check_value(name, value)
            order = [k for k in APPLY_FIRST if k in settings] + [
                k for k in settings if k not in APPLY_FIRST]
            applied: dict[str, Any] = {}
            for name in order:
                fmap, raw = self._check_value(name, settings[name])
                self._do_set(fmap.node, raw)
                applied[name] = fmap.from_node(self._do_get(fmap.node))
                self._applied[name] = settings[name]
                log.debug("%s: %s = %r", self.id, name, applied[name])
            self._refresh_meta_cache()
            return applied

    def program_sequence(self, steps: Sequence[Mapping[str, Any]]) -> None:
        """Per-frame settings held by the camera (a sequencer): ``steps[k]`` applies to the
        k-th frame triggered after this call and the last step to every later frame, until
        :meth:`clear_sequence`.  Steps take :data:`SEQUENCE_FEATURES` only (SI units), each
        checked against the live limits before anything is sent; nothing is clamped.
        UnsupportedFeatureError when the camera has no sequencer — re-configure between frames
        instead (with no frame outstanding)."""
        if not steps:
            raise LimitError("a sequence needs at least one step", device=self._name_for_errors(),
                             feature="sequence", allowed="≥ 1 step")
        with self._lock:
            self._require_open()
            raw: list[dict[str, Any]] = []
            for step in check_sequence(steps, self._name_for_errors()):
                checked = [self._check_value(name, value) for name, value in step.items()]
                raw.append({fmap.node: value for fmap, value in checked})
            self._do_program_sequence(raw)

    @property
    def supports_sequence(self) -> bool:
        """Whether :meth:`program_sequence` is available (the backend has a sequencer)."""
        return type(self)._do_program_sequence is not Camera._do_program_sequence

    def clear_sequence(self) -> None:
        """Back to the configured settings for every frame (no-op without a sequence)."""
        with self._lock:
            if self.is_open and self.supports_sequence:  # no sequencer: nothing programmed
                self._do_program_sequence([])

    def _refresh_meta_cache(self) -> None:
        for name, attr in (("exposure_time", "_exposure_s"), ("gain", "_gain_db"),
                           ("pixel_format", "_pixel_format")):
            if self.supports(name):
                setattr(self, attr, self.get(name))

    # ---------------------------------------------------------------- triggering
    def arm(self, trigger: Trigger | None = None) -> None:
        """Set up the trigger and start streaming into the driver's buffers."""
        trigger = trigger or Trigger.free_run()
        with self._lock:
            self._require_open()
            if self._trigger is not None:
                self.disarm()
            apply_trigger(self, trigger)
            self._do_start(self.buffer_count)
            self._trigger = trigger
            log.info("%s armed: %s", self.id, trigger.kind.value)

    def disarm(self) -> None:
        """Stop streaming; held frames stay valid until released."""
        with self._lock:
            if self._trigger is None:
                return
            self._trigger = None
            self._do_stop()

    def trigger(self) -> None:
        """Issue one software trigger (the camera must be armed with ``Trigger.software``)."""
        self._require_open()
        if self._trigger is None or self._trigger.kind is not TriggerKind.SOFTWARE:
            raise DeviceError("software trigger needs arm(Trigger.software())", device=self.id)
        self._do_software_trigger()

    def _do_software_trigger(self) -> None:
        self.execute("trigger_software")

    # ---------------------------------------------------------------- grabbing
    def grab(self, timeout_s: float = 1.0) -> Frame:
        """Wait up to ``timeout_s`` seconds for the next frame and lend it out."""
        info = self._require_open()
        if self._trigger is None:
            raise DeviceError("camera is not armed", device=info.id)
        try:
            raw = self._do_retrieve(timeout_s)
        except DeviceTimeoutError:
            self.counters.timeouts += 1
            raise
        except DeviceLostError:
            self._mark_lost()
            raise
        return self._wrap(raw, info)

    def _wrap(self, raw: RawGrab, info: CameraInfo) -> Frame:
        c = self.counters
        c.frames += 1
        c.dropped += raw.skipped
        if not raw.complete:
            c.incomplete += 1  # and by cause: fault_counts["incomplete: <SDK's reason>"]
            self._count(f"incomplete: {raw.reason}", f"frame {raw.frame_number}")
        meta = frame_meta(raw, info, self.clock.now_ns(), exposure_s=self._exposure_s,
                          gain_db=self._gain_db, illumination=self.illumination,
                          polarizer_deg=self.polarizer_deg)
        return Frame(raw.array, meta, raw.release)

    def _mark_lost(self) -> None:
        if not self._lost:
            self._lost = True
            self.counters.lost += 1
            log.error("%s: device lost", self._name_for_errors())

    def frames(self, timeout_s: float = 1.0, count: int | None = None) -> Iterator[Frame]:
        """Yield frames as they come (``count`` of them, or until the caller stops)."""
        n = 0
        while count is None or n < count:
            yield self.grab(timeout_s)
            n += 1

    def capture_burst(self, n: int, timeout_s: float = 1.0) -> Burst:
        """Collect ``n`` frames (timeout ``timeout_s`` s each): one software trigger per frame
        when armed for software.  A timeout ends the burst early (``missing_count`` says how
        many never came); bursts longer than the driver's buffers move into the camera's fixed
        burst pool, and a full pool drops and counts frames."""
        check_burst_size(n)
        self._require_open()
        return capture_burst(self, n, timeout_s, self._pool_for)

    def _pool_for(self, frame: Frame) -> BufferPool:
        need = frame.array.nbytes
        if self._burst_pool is None or self._burst_pool.slot_nbytes < need:
            if self._burst_pool is not None and self._burst_pool.in_use:
                raise DeviceError("burst pool in use with a smaller frame size; release bursts "
                                  "before changing the image size", device=self.id)
            self._burst_pool = BufferPool(self.burst_pool_frames, need)
        return self._burst_pool

    # ---------------------------------------------------------------- recovery
    def reconnect(self, attempts: int = 5, interval_s: float = 0.5) -> None:
        """Reopen a lost (or healthy) device and restore its settings and trigger.

        Tries ``attempts`` times, ``interval_s`` seconds apart; raises the last error.
        """
        with self._lock:
            trigger = self._trigger
            settings = {k: v for k, v in self._applied.items() if k not in NOT_REPLAYED}
            self._trigger = None
            if self._info is not None:
                try:
                    self._do_teardown()
                finally:
                    self._info = None
            last: Exception | None = None
            for attempt in range(attempts):
                try:
                    self.open()
                    break
                except (DeviceError, ConfigError) as exc:
                    last = exc
                    log.warning("reconnect attempt %d failed: %s", attempt + 1, exc)
                    self.clock.sleep(interval_s)
            else:
                assert last is not None
                raise last
            if settings:
                self.configure(settings)
            if trigger is not None:
                self.arm(trigger)
            self.counters.reconnects += 1
            log.info("%s reconnected", self.id)

    # ------------------------------------------- backend hooks with a default (:mod:`.camera_hooks`)
    def _do_teardown(self) -> None:
        """Drop a possibly dead device without raising; default: stop then close."""
        for step in (self._do_stop, self._do_close):
            try:
                step()
            except Exception as exc:  # the device is gone: these are expected to fail
                self._count("teardown_error", f"{step.__name__}: {type(exc).__name__}: {exc}")

    def _do_program_sequence(self, steps: list[dict[str, Any]]) -> None:
        """Hold per-frame node values (``[]`` clears).  Default: the camera has no sequencer."""
        info = self._require_open()
        raise UnsupportedFeatureError(f"{info.vendor} {info.model} has no sequencer in lanecam",
                                      device=info.id, feature="sequence")
