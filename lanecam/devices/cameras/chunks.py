"""Per-frame truth from chunk data: what the camera says each frame was exposed with.

A camera with chunk mode appends data to each frame: the exposure time and gain it used, its
timestamp, frame counter, input line status and active sequencer set.  :meth:`enable_chunks`
(on every GenICam backend: :class:`ChunkMixin`) turns on those of :data:`CHUNK_KEYS` the live
camera offers — ``ChunkModeActive``, then per key ``ChunkSelector`` = the family's word and
``ChunkEnable`` — with the node names and words from the profile (``chunk_*`` features,
``firmware_profiles/cameras/*.toml``): Basler classic says ``Framecounter`` and
``SequenceSetIndex``, SFNC 2 ``FrameID`` and ``SequencerSetActive``.  Each frame's values are
then read from its chunk nodes (pylon: the grab result's chunk node map; Harvesters: the
remote node map, which Harvesters updates from each fetched buffer) into
:attr:`RawGrab.chunks`, and :class:`~lanecam.frames.FrameMeta` reports them with
``exposure_source``/``gain_source = "chunk"``; without a chunk the configured value is
reported as ``"configured"``.

Chunks are enabled only where the camera offers ``ChunkSelector`` (Hikrobot: only once chunk
mode is on): the pylon emulator has a writable ``ChunkModeActive`` but no selector even then,
and grabbing with it on fails ("No chunk node map description available"), so
:meth:`enable_chunks` refuses there and leaves chunk mode off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import DeviceError, UnsupportedFeatureError
from .profile import FeatureMap
from .types import CameraInfo, FeatureLimits

__all__ = ["CHUNK_KEYS", "ChunkMixin", "ChunkReport", "chunk_plan", "read_chunks"]

#: What lanecam reads from chunks, by the words of the ``chunk_selector`` feature; the value
#: of key ``k`` is the ``chunk_<k>`` feature (s, dB, ticks, frames, bit field, set index).
CHUNK_KEYS = ("exposure_time", "gain", "timestamp", "frame_counter", "line_status",
              "sequencer_set")


class ChunkingCamera(Protocol):
    """What enabling chunks uses of a camera (:class:`Camera` satisfies it)."""

    @property
    def info(self) -> CameraInfo: ...

    @property
    def id(self) -> str: ...

    @property
    def is_armed(self) -> bool: ...

    @property
    def profile(self) -> Any: ...

    def supports(self, name: str) -> bool: ...

    def limits(self, name: str) -> FeatureLimits: ...

    def configure(self, settings: Mapping[str, Any]) -> dict[str, Any]: ...

    def get(self, name: str) -> Any: ...


@dataclass(frozen=True)
class ChunkReport:
    """Which chunk keys are on (their value nodes) and which asked-for keys the camera lacks,
    with the reason."""

    enabled: dict[str, FeatureMap]
    missing: dict[str, str]


def chunk_plan(cam: ChunkingCamera, keys: tuple[str, ...] = CHUNK_KEYS) -> ChunkReport:
    """What :meth:`ChunkMixin.enable_chunks` would enable, from the live camera; nothing is
    written.  UnsupportedFeatureError when the camera offers no chunk of ``keys``."""
    unknown = [k for k in keys if k not in CHUNK_KEYS]
    if unknown:
        raise UnsupportedFeatureError(f"no chunk key {unknown[0]!r}", device=cam.id,
                                      feature="chunk_selector", allowed=list(CHUNK_KEYS))
    for f in ("chunk_mode_active", "chunk_selector", "chunk_enable"):
        if not cam.supports(f):
            raise UnsupportedFeatureError(
                f"{cam.info.vendor} {cam.info.model} offers no chunk selection ({f})",
                device=cam.id, feature=f)
    offered = cam.limits("chunk_selector").values
    enabled: dict[str, FeatureMap] = {}
    missing: dict[str, str] = {}
    for k in keys:
        fmap = cam.profile.feature(f"chunk_{k}")
        if k not in offered:
            missing[k] = "ChunkSelector offers no such entry"
        elif fmap is None:
            missing[k] = f"profile {cam.profile.name} maps no chunk_{k} value node"
        else:
            enabled[k] = fmap
    if not enabled:
        raise UnsupportedFeatureError(
            f"{cam.info.model} offers none of the chunks {list(keys)} (it offers "
            f"{list(offered)})", device=cam.id, feature="chunk_selector", allowed=list(offered))
    return ChunkReport(enabled, missing)


def read_chunks(enabled: Mapping[str, FeatureMap], get: Callable[[str], Any],
                count: Callable[[str, str], None]) -> dict[str, Any]:
    """Each enabled chunk's value in SI units (``get(node)`` reads one node of this frame's
    chunk data); a chunk missing from a frame is left out and counted as
    ``chunk_unreadable`` (``count(event, detail)``), never replaced by another value."""
    out: dict[str, Any] = {}
    for key, fmap in enabled.items():
        try:
            out[key] = fmap.from_node(get(fmap.node))
        except Exception as exc:  # noqa: BLE001 - vendor types differ; no such chunk here
            count("chunk_unreadable", f"{fmap.node}: {type(exc).__name__}: {exc}")
    return out


class ChunkMixin:
    """:meth:`enable_chunks` / :meth:`disable_chunks` for GenICam backends; a backend calls
    :meth:`_frame_chunks` with a reader of its frame's chunk nodes."""

    _chunks_on: dict[str, FeatureMap] | None = None
    _count: Callable[[str, str], None]

    def _chunk_cam(self) -> ChunkingCamera:
        return self  # type: ignore[return-value]  # mixed into a Camera

    def enable_chunks(self, keys: tuple[str, ...] = CHUNK_KEYS) -> ChunkReport:
        """Turn on the chunks of ``keys`` the camera offers (not while armed); returns what is
        on and what is missing.  UnsupportedFeatureError when it has none: nothing is left
        changed (a camera whose ``ChunkSelector`` is available only in chunk mode, Hikrobot,
        is looked at in chunk mode, which is then switched back)."""
        cam = self._chunk_cam()
        if cam.is_armed:
            raise DeviceError("chunks are switched with the camera disarmed", device=cam.id,
                              feature="chunk_mode_active")
        if cam.supports("chunk_mode_active") and not cam.supports("chunk_selector"):
            was = cam.get("chunk_mode_active")
            cam.configure({"chunk_mode_active": True})
            try:
                report = chunk_plan(cam, keys)
            except UnsupportedFeatureError:
                cam.configure({"chunk_mode_active": was})
                raise
        else:
            report = chunk_plan(cam, keys)
        cam.configure({"chunk_mode_active": True})
        for key in report.enabled:
            cam.configure({"chunk_selector": key})
            cam.configure({"chunk_enable": True})
        self._chunks_on = dict(report.enabled)
        return report

    def disable_chunks(self) -> None:
        """Chunk mode off (frames report configured values again); not while armed."""
        cam = self._chunk_cam()
        if cam.is_armed:
            raise DeviceError("chunks are switched with the camera disarmed", device=cam.id,
                              feature="chunk_mode_active")
        self._chunks_on = None
        if cam.supports("chunk_mode_active"):
            cam.configure({"chunk_mode_active": False})

    def reconnect(self, attempts: int = 5, interval_s: float = 0.5) -> None:
        """:meth:`Camera.reconnect`, then the chunks that were on are enabled again (the
        camera disarmed for it and re-armed with its trigger)."""
        keys = self.chunks_enabled
        self._chunks_on = None
        super().reconnect(attempts, interval_s)  # type: ignore[misc]  # mixed into a Camera
        if keys:
            cam: Any = self
            trigger = cam.trigger_mode
            cam.disarm()
            self.enable_chunks(keys)
            if trigger is not None:
                cam.arm(trigger)

    @property
    def chunks_enabled(self) -> tuple[str, ...]:
        """The chunk keys each frame carries (empty when chunk mode is off)."""
        return tuple(self._chunks_on or ())

    def _frame_chunks(self, get: Callable[[str], Any]) -> dict[str, Any]:
        if not self._chunks_on:
            return {}
        return read_chunks(self._chunks_on, get, self._count)
