"""What a burst engine may use of the lane: its clock, counters, cabin model, frame pool,
face meter and the live track prediction — and nothing else (no threads, no queues)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..clock import Clock
from ..control.exposure import FaceMeter
from ..control.tracker import Track
from ..geometry import CabinModel
from .camera import FramePool
from .types import LaneStats

__all__ = ["CaptureContext"]


@dataclass
class CaptureContext:
    """Services a burst engine gets from the lane.

    ``predict(track, when_ns)`` is (range m, speed m/s) of the track's vehicle at ``when_ns``
    from the tracker's *live* estimate; ``cabin`` the lane's default cabin model (a vehicle's
    own is re-measured from its faces during its burst)."""

    clock: Clock
    stats: LaneStats
    cabin: CabinModel
    pool: FramePool
    predict: Callable[[Track, int], tuple[float, float]]
    face_meter: FaceMeter | None = None
    #: the tracker's live snapshot of a track's vehicle (the track itself once it is gone)
    live_track: Callable[[Track], Track] = lambda track: track
