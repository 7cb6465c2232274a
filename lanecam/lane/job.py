"""One vehicle's job as it passes from planning to capture to analysis, and what each camera
filmed of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..control.scheduler import BurstPlan
from ..control.tracker import Track
from ..frames import Burst
from ..geometry import CabinModel
from ..quality.faces import Face
from .camera import LaneCamera
from .types import Box

__all__ = ["CameraBurst", "VehicleJob"]


@dataclass
class CameraBurst:
    """What one camera filmed of one vehicle: the burst, each frame's occupant ROIs (per seat,
    None where a seat is out of the frame) and the faces already found in it."""

    camera: LaneCamera
    burst: Burst
    rois: list[list[Box | None]]
    #: faces found while metering: (frame index in ``burst``, seat) → the face, so ranking
    #: need not detect them again
    known_faces: dict[tuple[int, int], Face] = field(default_factory=dict)
    #: the tracked front range (m) predicted at each kept frame's exposure (seat geometry)
    ranges_m: list[float] = field(default_factory=list)
    #: a side camera's burst: the seat row it was planned for (None: a windshield burst)
    row: int | None = None


@dataclass
class VehicleJob:
    """One vehicle from planning to its event: ``seq`` numbers the vehicles of the lane,
    ``trigger_ns`` is when it was queued (host monotonic ns); ``error`` says why its capture
    failed (type and message), ``captured_ns`` when capture ended."""

    seq: int
    track: Track
    plan: BurstPlan
    trigger_ns: int
    bursts: list[CameraBurst] = field(default_factory=list)
    error: str | None = None
    captured_ns: int = 0
    #: this vehicle's cabin as measured from its faces during capture (None: the lane's)
    cabin: CabinModel | None = None

    def release(self) -> None:
        """Give every burst's frames back to their pool."""
        for b in self.bursts:
            b.burst.release()
        self.bursts.clear()
