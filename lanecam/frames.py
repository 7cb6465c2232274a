"""Frames as borrowed buffers: :class:`Frame`, :class:`FrameMeta`, :class:`Burst`, :class:`BufferPool`.

A :class:`Frame` lends a read-only ``numpy`` view of a driver buffer for the length of a ``with``
block (or until :meth:`Frame.release`); on release the buffer goes back to its driver's queue.
Code that needs pixels longer copies them explicitly (:meth:`Frame.copy`) or moves them into a
fixed-size :class:`BufferPool` (:meth:`Frame.detach`).  Nothing here ever prints pixel values:
``repr`` shows geometry and state only.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from .errors import LanecamError

__all__ = [
    "FrameReleasedError",
    "IlluminationState",
    "FrameMeta",
    "Frame",
    "Burst",
    "BufferPool",
]

log = logging.getLogger(__name__)


class FrameReleasedError(LanecamError, RuntimeError):
    """A frame's pixels were used after its buffer went back to the driver."""


@dataclass(frozen=True, slots=True)
class IlluminationState:
    """What the illuminator did during the exposure.

    ``mode`` is ``"off"``, ``"strobe"``, ``"continuous"`` or ``"unknown"``; ``pulse_s`` in
    seconds, ``brightness`` as a fraction of the controller's rated current (0–1 continuous, up
    to its overdrive limit when pulsed), ``wavelength_m`` in metres.
    """

    mode: str = "unknown"
    pulse_s: float | None = None
    brightness: float | None = None
    wavelength_m: float | None = None


@dataclass(frozen=True, slots=True)
class FrameMeta:
    """Everything known about one frame except its pixels (SI units).

    ``host_ns`` is always the host's monotonic clock when the frame was handed to lanecam;
    ``device_ns`` is the camera's own timestamp when it gives one (``None`` otherwise — the pylon
    emulator and viky do not).  ``skipped_before`` counts frames the driver dropped right before
    this one.  An incomplete frame keeps its (possibly partial) pixels and says why in
    ``incomplete_reason``.
    """

    camera_id: str
    frame_number: int
    host_ns: int
    width: int
    height: int
    pixel_format: str
    device_ns: int | None = None
    exposure_s: float | None = None
    gain_db: float | None = None
    illumination: IlluminationState = field(default_factory=IlluminationState)
    polarizer_deg: float | None = None
    complete: bool = True
    incomplete_reason: str | None = None
    skipped_before: int = 0
    #: where ``exposure_s`` / ``gain_db`` come from: ``"chunk"`` (the camera's chunk data for
    #: this frame), ``"device"`` (a backend that knows each frame's settings: the simulator),
    #: ``"configured"`` (the last values set — not necessarily what the camera used), or
    #: None when there is no value
    exposure_source: str | None = None
    gain_source: str | None = None
    #: from chunk data when the camera sends it (else None): its timestamp in camera clock
    #: ticks (ns with PTP on), frame counter, input line status bits, active sequencer set
    chunk_timestamp: int | None = None
    frame_counter: int | None = None
    line_status: int | None = None
    sequencer_set: int | None = None


class Frame:
    """A borrowed image buffer plus its :class:`FrameMeta`; use it in a ``with`` block."""

    __slots__ = ("_array", "meta", "_release", "_lock")

    #: Frames the garbage collector reclaimed while still held (``"released_by_gc"``: a
    #: ``with`` block or :meth:`release` was missing) and releases that then raised
    #: (``"release_failed"``, logged at WARNING).  Class-wide: no owner is left to hold them.
    gc_counters: ClassVar[Counter[str]] = Counter()

    def __init__(
        self,
        array: np.ndarray,
        meta: FrameMeta,
        release: Callable[[], None] | None = None,
    ) -> None:
        view = array.view()
        view.flags.writeable = False
        self._array: np.ndarray | None = view
        self.meta = meta
        self._release = release
        self._lock = threading.Lock()

    @property
    def array(self) -> np.ndarray:
        """The read-only pixel view; raises :class:`FrameReleasedError` after release."""
        arr = self._array
        if arr is None:
            raise FrameReleasedError(
                f"frame {self.meta.frame_number} was released", device=self.meta.camera_id
            )
        return arr

    @property
    def released(self) -> bool:
        return self._array is None

    @property
    def complete(self) -> bool:
        return self.meta.complete

    def copy(self) -> np.ndarray:
        """An owned, writable copy of the pixels (the caller now owns privacy-sensitive data)."""
        return self.array.copy()

    def detach(self, pool: BufferPool) -> Frame | None:
        """Move the pixels into a slot of ``pool`` and give the driver buffer back now.

        Returns the new frame, or ``None`` when the pool is full (the pool counts the overflow;
        this frame is then released, not kept).
        """
        src = self.array
        slot = pool.acquire(src.shape, src.dtype)
        if slot is not None:
            np.copyto(slot, src)
        del src  # no view of the driver buffer may outlive the release below
        self.release()
        if slot is None:
            return None
        meta = self.meta
        return Frame(slot, meta, release=lambda: pool.release(slot))

    def with_meta(self, **changes: Any) -> None:
        """Amend the metadata (e.g. illumination state learnt after the grab)."""
        self.meta = replace(self.meta, **changes)

    def release(self) -> None:
        """Give the buffer back to its driver; idempotent."""
        with self._lock:
            if self._array is None:
                return
            self._array = None
            release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> Frame:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # a forgotten frame must not starve the driver's queue
        if getattr(self, "_array", None) is None:
            return
        Frame.gc_counters["released_by_gc"] += 1
        try:
            self.release()
        except Exception as exc:  # __del__ cannot raise: count it and say so
            Frame.gc_counters["release_failed"] += 1
            try:
                log.warning("frame %d of %s: release by the garbage collector failed: %r",
                            self.meta.frame_number, self.meta.camera_id, exc)
            except Exception:  # pragma: no cover - logging torn down at interpreter exit
                pass

    def __repr__(self) -> str:
        m = self.meta
        state = "complete" if m.complete else f"incomplete ({m.incomplete_reason})"
        held = "released" if self._array is None else "held"
        return (
            f"Frame(camera={m.camera_id!r}, n={m.frame_number}, {m.width}x{m.height} "
            f"{m.pixel_format}, {state}, {held})"
        )


class Burst(Sequence[Frame]):
    """The frames of one capture burst, in arrival order; release them all with ``with``."""

    def __init__(self, camera_id: str, frames: Sequence[Frame], *, requested: int) -> None:
        self.camera_id = camera_id
        self._frames = list(frames)
        self.requested = requested

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i: Any) -> Any:
        return self._frames[i]

    def __iter__(self) -> Iterator[Frame]:
        return iter(self._frames)

    @property
    def complete_frames(self) -> list[Frame]:
        return [f for f in self._frames if f.meta.complete]

    @property
    def incomplete_count(self) -> int:
        return sum(1 for f in self._frames if not f.meta.complete)

    @property
    def missing_count(self) -> int:
        """Frames requested but never delivered (timeouts, drops)."""
        return max(0, self.requested - len(self._frames))

    def release(self) -> None:
        for f in self._frames:
            f.release()

    def __enter__(self) -> Burst:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return (
            f"Burst(camera={self.camera_id!r}, frames={len(self)}/{self.requested}, "
            f"incomplete={self.incomplete_count})"
        )


class BufferPool:
    """A fixed number of preallocated frame buffers; never grows.

    ``acquire`` hands out a free slot reshaped to the request (it must fit the slot's byte
    size) or returns ``None`` and counts an overflow.  Thread-safe.
    """

    def __init__(self, capacity: int, nbytes: int) -> None:
        if capacity < 1 or nbytes < 1:
            raise ValueError("a buffer pool needs capacity ≥ 1 and nbytes ≥ 1")
        self.capacity = int(capacity)
        self.slot_nbytes = int(nbytes)
        self._slots = [np.empty(self.slot_nbytes, np.uint8) for _ in range(self.capacity)]
        self._free = list(range(self.capacity))
        self._by_address = {slot.ctypes.data: i for i, slot in enumerate(self._slots)}
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self.overflow = 0
        self.high_water = 0

    @classmethod
    def for_shape(cls, capacity: int, shape: tuple[int, ...], dtype: Any) -> BufferPool:
        return cls(capacity, int(np.prod(shape)) * np.dtype(dtype).itemsize)

    @property
    def in_use(self) -> int:
        with self._lock:
            return self.capacity - len(self._free)

    def acquire(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
        need = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if need > self.slot_nbytes:
            raise ValueError(f"{need} B does not fit a {self.slot_nbytes} B pool slot")
        with self._lock:
            if not self._free:
                self.overflow += 1
                return None
            idx = self._free.pop()
            self._busy.add(idx)
            self.high_water = max(self.high_water, len(self._busy))
        return self._slots[idx][:need].view(dtype).reshape(shape)

    def release(self, arr: np.ndarray) -> None:
        idx = self._by_address.get(arr.ctypes.data)
        with self._lock:
            if idx is None or idx not in self._busy:
                raise ValueError("buffer does not belong to this pool (or was released twice)")
            self._busy.discard(idx)
            self._free.append(idx)

    def __repr__(self) -> str:
        return f"BufferPool(capacity={self.capacity}, in_use={self.in_use}, overflow={self.overflow})"
