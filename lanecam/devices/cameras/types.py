"""Camera value types: identity, live node info, raw grabs, limits, triggers, counters.

Units: seconds, dB, Hz, pixels; times in nanoseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import numpy as np

from ...errors import LimitError

__all__ = [
    "CameraInfo",
    "NodeInfo",
    "RawGrab",
    "FeatureLimits",
    "TriggerKind",
    "Trigger",
    "CameraCounters",
]


@dataclass(frozen=True)
class CameraInfo:
    """Identity of a camera as its backend enumerates it."""

    backend: str
    vendor: str
    model: str
    serial: str
    name: str = ""

    @property
    def id(self) -> str:
        """Stable lane-wide id: ``backend:serial``."""
        return f"{self.backend}:{self.serial}"


@dataclass(frozen=True)
class NodeInfo:
    """What a backend reports about one live GenICam node (in node units)."""

    kind: str  # FeatureKind value
    readable: bool
    writable: bool
    min: float | None = None
    max: float | None = None
    inc: float | None = None
    entries: tuple[str, ...] = ()
    unit: str = ""


@dataclass
class RawGrab:
    """One buffer from a backend: pixels (a view into driver memory) and what the device said."""

    array: np.ndarray
    release: Callable[[], None] | None
    frame_number: int
    complete: bool = True
    reason: str | None = None
    device_ns: int | None = None
    skipped: int = 0
    pixel_format: str = "Mono8"
    #: what the device says this frame was exposed with (chunk data, a sequencer step), if it
    #: says; otherwise the frame's metadata carries the last configured values
    exposure_s: float | None = None
    gain_db: float | None = None
    #: this frame's chunk data by :data:`~.chunks.CHUNK_KEYS` key, in SI units (empty
    #: without chunks); a chunk's exposure/gain wins over ``exposure_s``/``gain_db``
    chunks: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureLimits:
    """Live limits of a canonical feature, in SI units (or the allowed words of an enum)."""

    feature: str
    unit: str
    min: float | None = None
    max: float | None = None
    inc: float | None = None
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.values:
            return "{" + ", ".join(self.values) + "}"
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        step = "" if not self.inc else f" step {self.inc:g}"
        return f"[{lo}, {hi}] {self.unit}{step}".rstrip()


class TriggerKind(str, Enum):
    FREE_RUN = "free_run"
    SOFTWARE = "software"
    HARDWARE = "hardware"
    ACTION = "action"


@dataclass(frozen=True)
class Trigger:
    """How frames are started.

    ``burst_frames > 1`` asks the camera to take that many frames per trigger
    (SFNC ``FrameBurstStart`` + ``AcquisitionBurstFrameCount``); cameras without it raise
    :class:`UnsupportedFeatureError` at :meth:`Camera.arm` — :meth:`Camera.capture_burst` then
    issues one software trigger per frame instead, which every camera supports.
    ``delay_s`` is the camera's trigger delay in seconds.
    """

    kind: TriggerKind = TriggerKind.FREE_RUN
    source: str | None = None
    activation: str = "RisingEdge"
    burst_frames: int = 1
    delay_s: float = 0.0

    @classmethod
    def free_run(cls) -> Trigger:
        return cls(TriggerKind.FREE_RUN)

    @classmethod
    def software(cls, burst_frames: int = 1) -> Trigger:
        return cls(TriggerKind.SOFTWARE, "Software", burst_frames=burst_frames)

    @classmethod
    def hardware(
        cls, line: str = "Line1", activation: str = "RisingEdge", burst_frames: int = 1,
        delay_s: float = 0.0,
    ) -> Trigger:
        return cls(TriggerKind.HARDWARE, line, activation, burst_frames, delay_s)

    @classmethod
    def action(cls, burst_frames: int = 1, source: str | None = None) -> Trigger:
        """GigE action commands; ``source=None``: the camera's own action signal, chosen at
        :meth:`Camera.arm` from what it offers (``Action1`` where there is one, else the
        lowest-numbered, e.g. FLIR's only ``Action0``)."""
        return cls(TriggerKind.ACTION, source, burst_frames=burst_frames)

    def __post_init__(self) -> None:
        if isinstance(self.burst_frames, bool) or not isinstance(self.burst_frames, int) \
                or self.burst_frames < 1:
            raise LimitError("burst_frames must be an integer ≥ 1", key="burst_frames",
                             allowed="≥ 1")
        if not (isinstance(self.delay_s, (int, float)) and math.isfinite(self.delay_s)
                and self.delay_s >= 0):
            raise LimitError("trigger delay must be a finite number of seconds ≥ 0",
                             key="delay_s", allowed="≥ 0 s")


@dataclass
class CameraCounters:
    """Running totals since the camera object was made (they survive reconnects)."""

    frames: int = 0  # frames handed out, complete or not
    incomplete: int = 0  # frames marked incomplete (or discarded as such by the driver)
    dropped: int = 0  # frames the device or driver skipped, or a full burst pool refused
    timeouts: int = 0  # grabs that waited in vain
    lost: int = 0  # device-lost events
    reconnects: int = 0  # successful reconnects
    pinned: int = 0  # buffers kept from the driver because a view outlived its frame

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
