"""The lane's plain data: travel documents and their source, the sensor-reader protocol and
the lane's counters."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..control.tracker import Track
from ..geometry import SEAT_ROWS
from ..match.base import Template

__all__ = ["SEATS", "Box", "DocumentSource", "LaneStats", "SensorReader", "TravelDocument"]

#: Seat names in the order of :func:`~lanecam.geometry.occupant_rois` (index = seat index).
SEATS = tuple(SEAT_ROWS)
#: An occupant ROI or face box in frame pixels: (x, y, width, height).
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class TravelDocument:
    """A traveler's reference: an id (never a name in logs) and the document photo's template."""

    traveler_id: str
    template: Template


class DocumentSource(Protocol):
    """Gives the travel documents presented for the ``seq``-th vehicle (the booth's scan)."""

    def documents(self, seq: int, track: Track) -> Sequence[TravelDocument]: ...


class SensorReader(Protocol):
    """A trigger sensor as the lane reads it: one reading (or None) within ``timeout`` s."""

    def read(self, timeout: float) -> Any: ...


@dataclass
class LaneStats:
    """Counters and recent stage latencies (seconds) — numbers only."""

    vehicles: int = 0
    events: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    #: work done that is not a fault: ``faces_known`` (faces the exposure meter found and handed
    #: to ranking), ``faces_reused`` (ranking candidates that used one instead of a search)
    counts: Counter[str] = field(default_factory=Counter)
    latency: dict[str, deque[float]] = field(default_factory=dict)
    #: workers stopped for failing the same way repeatedly: thread name → error type
    faulted: dict[str, str] = field(default_factory=dict)
    #: called with (stage, seconds) on every latency recorded (e.g. metrics histograms)
    observers: list[Callable[[str, float], None]] = field(default_factory=list)

    def record(self, stage: str, seconds: float) -> None:
        self.latency.setdefault(stage, deque(maxlen=1000)).append(seconds)
        for observe in self.observers:
            observe(stage, seconds)

    def summary(self) -> dict[str, Any]:
        lat = {k: {"median_s": float(np.median(v)), "max_s": float(max(v)), "n": len(v)}
               for k, v in self.latency.items() if v}
        return {"vehicles": self.vehicles, "events": dict(self.events),
                "faults": dict(self.faults), "counts": dict(self.counts),
                "faulted": dict(self.faulted), "latency": lat}
