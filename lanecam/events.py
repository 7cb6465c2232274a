"""What the lane reports about each vehicle, and where those reports go.

A :class:`LaneEvent` carries metadata only: ids, times, scores, decisions, counts and the
vault record id of each stored crop.  Its fields are checked at construction to be plain
scalars (or tuples of :class:`OccupantResult`), so pixels or templates cannot ride along by
accident.  Sinks receive events; a non-match is routed for an officer's review
(``needs_review``), never an automatic refusal.
"""

from __future__ import annotations

import json
import os
import logging
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigError, StorageError

__all__ = ["OccupantResult", "LaneEvent", "Sink", "MemorySink", "JsonlSink", "LogSink"]

log = logging.getLogger(__name__)

_SCALARS = (str, int, float, bool, type(None))


def _check_scalars(obj: Any) -> None:
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, tuple):
            if not all(isinstance(x, (OccupantResult, *_SCALARS)) for x in v):
                raise ConfigError("event tuples hold occupant results or scalars only", key=f.name)
        elif isinstance(v, dict):
            if not all(isinstance(k, str) and isinstance(x, _SCALARS) for k, x in v.items()):
                raise ConfigError("event maps hold scalar values only", key=f.name)
        elif not isinstance(v, _SCALARS):
            raise ConfigError(f"event field must be a scalar, got {type(v).__name__}", key=f.name)


@dataclass(frozen=True)
class OccupantResult:
    """One occupant of one vehicle.

    ``outcome``: ``"verified"``, ``"refer_to_officer"`` (no match, or no usable face) or
    ``"no_reference"`` (no document photo to compare with).  Scores are similarities.
    """

    index: int
    camera_id: str | None
    frame_number: int | None
    quality: float | None  # BurstRanker score, 0–100
    face_found: bool
    outcome: str
    score: float | None = None
    threshold: float | None = None
    fmr: float | None = None
    record_id: str | None = None  # CaptureVault id of the stored crop
    reason: str | None = None  # why not verified, in words (never data)
    box: tuple[int, int, int, int] | None = None  # face box (x, y, w, h) in that frame, px

    def __post_init__(self) -> None:
        _check_scalars(self)


@dataclass(frozen=True)
class LaneEvent:
    """Everything the lane says about one vehicle pass."""

    lane_id: str
    vehicle_id: str
    status: str  # "complete", "partial" (some occupants unresolved) or "failed"
    trigger_ns: int  # host monotonic time the vehicle was scheduled for capture
    decided_ns: int  # host monotonic time of the last decision
    speed_mps: float | None
    occupants: tuple[OccupantResult, ...] = ()
    frames: int = 0
    incomplete_frames: int = 0
    error: str | None = None  # the failure, in words (type and message), when status="failed"
    #: the failure as a code, for machines: a NotCapturableError reason ("passed",
    #: "stops_short", "too_fast") or "queue_full"; None when not failed or not coded
    failure: str | None = None
    latency_s: dict[str, float] = field(default_factory=dict)  # per stage, seconds
    #: the vault's audit-chain head after this vehicle's crops were stored (row number and
    #: chain MAC; no secret): kept by whoever receives the event, it lets ``lanecam vault
    #: verify --events`` see a vault cut back or rolled back since.  None without a vault.
    vault_head_seq: int | None = None
    vault_head_mac: str | None = None

    def __post_init__(self) -> None:
        if self.status not in ("complete", "partial", "failed"):
            raise ConfigError("unknown event status", key="status",
                              allowed=["complete", "partial", "failed"])
        _check_scalars(self)

    @property
    def needs_review(self) -> bool:
        """True when an officer must look: a failure or any occupant not verified."""
        return self.status != "complete" or any(o.outcome != "verified" for o in self.occupants)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["needs_review"] = self.needs_review
        return d


@runtime_checkable
class Sink(Protocol):
    """Receives lane events (officer display, message bus, file)."""

    def emit(self, event: LaneEvent) -> None: ...


class MemorySink:
    """Keeps the last ``maxlen`` events in memory (bounded)."""

    def __init__(self, maxlen: int = 1000) -> None:
        self.events: deque[LaneEvent] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def emit(self, event: LaneEvent) -> None:
        with self._lock:
            self.events.append(event)

    def __iter__(self) -> Iterator[LaneEvent]:
        with self._lock:
            return iter(list(self.events))

    def __len__(self) -> int:
        return len(self.events)


class JsonlSink:
    """Appends one JSON object per event to a file (line-buffered, fsync'd per event)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def emit(self, event: LaneEvent) -> None:
        line = json.dumps(event.to_dict(), sort_keys=True) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(line)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                raise StorageError(f"cannot append event: {exc.strerror}", key=str(self.path)) from exc


class LogSink:
    """Logs a one-line summary per event at INFO (metadata only)."""

    def emit(self, event: LaneEvent) -> None:
        verified = sum(o.outcome == "verified" for o in event.occupants)
        log.info("lane %s vehicle %s: %s, %d/%d verified%s", event.lane_id, event.vehicle_id,
                 event.status, verified, len(event.occupants),
                 ", officer review" if event.needs_review else "")
