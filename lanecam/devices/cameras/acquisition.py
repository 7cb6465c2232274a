"""Acquisition policy shared by every camera backend: trigger set-up, burst collection and
frame metadata.

Functions over the camera's public surface (:class:`AcquiringCamera`, which
:class:`~lanecam.devices.cameras.camera.Camera` satisfies); the camera's public methods call
them.  Times are seconds at the API and nanoseconds in metadata.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ...errors import DeviceError, DeviceTimeoutError, LimitError, UnsupportedFeatureError
from ...frames import BufferPool, Burst, Frame, FrameMeta, IlluminationState
from .types import CameraCounters, CameraInfo, FeatureLimits, RawGrab, Trigger, TriggerKind

__all__ = ["AcquiringCamera", "action_source", "apply_trigger", "capture_burst", "check_burst_size", "frame_meta"]

log = logging.getLogger("lanecam.devices.cameras.camera")


class AcquiringCamera(Protocol):
    """What trigger set-up and burst collection use of a camera."""

    counters: CameraCounters
    buffer_count: int

    @property
    def info(self) -> CameraInfo: ...

    @property
    def id(self) -> str: ...

    @property
    def trigger_mode(self) -> Trigger | None: ...

    def supports(self, name: str) -> bool: ...

    def limits(self, name: str) -> FeatureLimits: ...

    def configure(self, settings: Mapping[str, Any]) -> dict[str, Any]: ...

    def trigger(self) -> None: ...

    def grab(self, timeout_s: float = 1.0) -> Frame: ...


def apply_trigger(cam: AcquiringCamera, t: Trigger) -> None:
    """Write the trigger set-up of ``t`` (every trigger selector the camera has is first
    switched off); UnsupportedFeatureError naming the model when it cannot."""
    has_triggers = cam.supports("trigger_mode")
    if t.kind is TriggerKind.FREE_RUN and not has_triggers:
        return  # a camera without trigger features free-runs by construction (viky)
    cam.limits("trigger_mode")  # raises UnsupportedFeatureError naming the model
    if t.kind is TriggerKind.ACTION:
        for f in ("action_device_key", "action_group_key", "action_group_mask"):
            cam.limits(f)
    selector = "burst" if t.burst_frames > 1 else "frame"
    if t.burst_frames > 1:
        cam.limits("burst_frame_count")
    sel_values = cam.limits("trigger_selector").values
    for sel in ("frame", "burst"):
        if sel in sel_values:
            cam.configure({"trigger_selector": sel, "trigger_mode": "Off"})
    if t.kind is TriggerKind.FREE_RUN:
        return
    if selector not in sel_values:
        raise UnsupportedFeatureError(f"{cam.info.model} has no {selector} trigger",
                                      device=cam.id, feature="trigger_selector")
    source = t.source if t.source is not None else action_source(cam, selector)
    settings: dict[str, Any] = {"trigger_selector": selector, "trigger_mode": "On",
                                "trigger_source": source}
    if t.kind is TriggerKind.HARDWARE:
        settings["trigger_activation"] = t.activation
    if t.burst_frames > 1:
        settings["burst_frame_count"] = t.burst_frames
    if t.delay_s or cam.supports("trigger_delay"):
        settings["trigger_delay"] = t.delay_s
    cam.configure(settings)


def action_source(cam: AcquiringCamera, selector: str) -> str:
    """The action signal a camera offers under ``selector``: ``Action1`` where it has one
    (Basler, Hikrobot), else the lowest-numbered ``ActionN`` (FLIR offers only ``Action0``);
    UnsupportedFeatureError naming the model when it offers none."""
    cam.configure({"trigger_selector": selector})
    offered = sorted((int(m.group(1)), v) for v in cam.limits("trigger_source").values
                     if (m := re.fullmatch(r"Action(\d+)", v)))
    if not offered:
        raise UnsupportedFeatureError(f"{cam.info.model} offers no action trigger source",
                                      device=cam.id, feature="trigger_source")
    return "Action1" if (1, "Action1") in offered else offered[0][1]


def check_burst_size(n: int) -> None:
    """LimitError unless ``n`` is a whole number of frames ≥ 1."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise LimitError("a burst needs n ≥ 1 frames", key="n", allowed="≥ 1")


def capture_burst(cam: AcquiringCamera, n: int, timeout_s: float,
                  pool_for: Callable[[Frame], BufferPool]) -> Burst:
    """Collect ``n`` frames from an open camera (``timeout_s`` s each): one software trigger
    per frame when armed for software.

    A timeout ends the burst early (the frames so far are returned; ``missing_count`` says
    how many never came).  Bursts longer than the driver's buffers are moved into the pool
    ``pool_for`` gives as they arrive; a full pool drops and counts frames.
    """
    check_burst_size(n)
    armed = cam.trigger_mode
    if armed is None:
        raise DeviceError("camera is not armed", device=cam.id)
    software = armed.kind is TriggerKind.SOFTWARE
    detach = n > cam.buffer_count - 2
    got: list[Frame] = []
    try:
        for i in range(n):
            if software and i % armed.burst_frames == 0:
                cam.trigger()
            try:
                frame = cam.grab(timeout_s)
            except DeviceTimeoutError:
                log.warning("%s: burst ended after %d/%d frames (timeout)", cam.id, i, n)
                break
            if detach:
                moved = frame.detach(pool_for(frame))
                if moved is None:
                    cam.counters.dropped += 1
                    continue
                frame = moved
            got.append(frame)
    except BaseException:
        for f in got:
            f.release()
        raise
    return Burst(cam.id, got, requested=n)


def frame_meta(raw: RawGrab, info: CameraInfo, host_ns: int, *, exposure_s: float | None,
               gain_db: float | None, illumination: IlluminationState,
               polarizer_deg: float | None) -> FrameMeta:
    """Metadata of one grab: what the device reported (its chunks, else what the backend
    knows), else the configured exposure (s) and gain (dB), each with its source;
    ``host_ns`` is the host clock when the grab was handed out."""
    a, ch = raw.array, raw.chunks
    exposure = _truth(ch.get("exposure_time"), raw.exposure_s, exposure_s)
    gain = _truth(ch.get("gain"), raw.gain_db, gain_db)
    return FrameMeta(
        camera_id=info.id, frame_number=raw.frame_number, host_ns=host_ns,
        width=a.shape[1] if a.ndim >= 2 else 0, height=a.shape[0] if a.ndim >= 2 else 0,
        pixel_format=raw.pixel_format, device_ns=raw.device_ns,
        exposure_s=exposure[0], gain_db=gain[0], illumination=illumination,
        polarizer_deg=polarizer_deg, complete=raw.complete,
        incomplete_reason=raw.reason if not raw.complete else None,
        skipped_before=raw.skipped, exposure_source=exposure[1], gain_source=gain[1],
        chunk_timestamp=ch.get("timestamp"), frame_counter=ch.get("frame_counter"),
        line_status=ch.get("line_status"), sequencer_set=ch.get("sequencer_set"))


def _truth(chunk: float | None, device: float | None,
           configured: float | None) -> tuple[float | None, str | None]:
    for value, source in ((chunk, "chunk"), (device, "device"), (configured, "configured")):
        if value is not None:
            return value, source
    return None, None
