"""Acquisition policy shared by every camera backend: trigger set-up and burst collection.

Functions over a :class:`~lanecam.devices.cameras.camera.Camera` (composition: the camera's
public methods call them); times in seconds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ...errors import DeviceError, DeviceTimeoutError, LimitError, UnsupportedFeatureError
from ...frames import BufferPool, Burst, Frame, FrameMeta
from .types import CameraInfo, RawGrab, Trigger, TriggerKind

if TYPE_CHECKING:
    from .camera import Camera

__all__ = ["apply_trigger", "capture_burst", "frame_from_grab", "pool_for"]

log = logging.getLogger("lanecam.devices.cameras.camera")


def apply_trigger(cam: Camera, t: Trigger) -> None:
    """Write the trigger set-up of ``t`` (every trigger selector the camera has is first
    switched off); UnsupportedFeatureError naming the model when it cannot."""
    has_triggers = cam.supports("trigger_mode")
    if t.kind is TriggerKind.FREE_RUN and not has_triggers:
        return  # a camera without trigger features free-runs by construction (viky)
    cam._feature("trigger_mode")  # raises UnsupportedFeatureError naming the model
    if t.kind is TriggerKind.ACTION:
        for f in ("action_device_key", "action_group_key", "action_group_mask"):
            cam._feature(f)
    selector = "burst" if t.burst_frames > 1 else "frame"
    if t.burst_frames > 1:
        cam._feature("burst_frame_count")
    sel_values = cam.limits("trigger_selector").values
    for sel in ("frame", "burst"):
        if sel in sel_values:
            cam.configure({"trigger_selector": sel, "trigger_mode": "Off"})
    if t.kind is TriggerKind.FREE_RUN:
        return
    if selector not in sel_values:
        raise UnsupportedFeatureError(f"{cam.info.model} has no {selector} trigger",
                                      device=cam.id, feature="trigger_selector")
    settings: dict[str, Any] = {"trigger_selector": selector, "trigger_mode": "On",
                                "trigger_source": t.source}
    if t.kind is TriggerKind.HARDWARE:
        settings["trigger_activation"] = t.activation
    if t.burst_frames > 1:
        settings["burst_frame_count"] = t.burst_frames
    if t.delay_s or cam.supports("trigger_delay"):
        settings["trigger_delay"] = t.delay_s
    cam.configure(settings)


def capture_burst(cam: Camera, n: int, timeout_s: float = 1.0) -> Burst:
    """Collect ``n`` frames: one software trigger per frame when armed for software.

    A timeout ends the burst early (the frames so far are returned; ``missing_count`` says
    how many never came).  Bursts longer than the driver's buffers are moved into the
    camera's fixed burst pool as they arrive; a full pool drops and counts frames.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise LimitError("a burst needs n ≥ 1 frames", key="n", allowed="≥ 1")
    info = cam._require_open()
    if cam._trigger is None:
        raise DeviceError("camera is not armed", device=info.id)
    per_trigger = cam._trigger.burst_frames
    software = cam._trigger.kind is TriggerKind.SOFTWARE
    detach = n > cam.buffer_count - 2
    got: list[Frame] = []
    try:
        for i in range(n):
            if software and i % per_trigger == 0:
                cam.trigger()
            try:
                frame = cam.grab(timeout_s)
            except DeviceTimeoutError:
                log.warning("%s: burst ended after %d/%d frames (timeout)", info.id, i, n)
                break
            if detach:
                moved = frame.detach(pool_for(cam, frame))
                if moved is None:
                    cam.counters.dropped += 1
                    continue
                frame = moved
            got.append(frame)
    except BaseException:
        for f in got:
            f.release()
        raise
    return Burst(info.id, got, requested=n)


def pool_for(cam: Camera, frame: Frame) -> BufferPool:
    """The camera's fixed burst pool, (re)made for frames of this size when it is free."""
    need = frame.array.nbytes
    if cam._burst_pool is None or cam._burst_pool.slot_nbytes < need:
        if cam._burst_pool is not None and cam._burst_pool.in_use:
            raise DeviceError("burst pool in use with a smaller frame size; release bursts "
                              "before changing the image size", device=cam.id)
        cam._burst_pool = BufferPool(cam.burst_pool_frames, need)
    return cam._burst_pool


def frame_from_grab(cam: Camera, raw: RawGrab, info: CameraInfo) -> Frame:
    """Count a backend's grab and lend it out as a :class:`Frame` with its metadata (times in
    ns, exposure in s, gain in dB: what the device reported, else the configured values)."""
    c = cam.counters
    c.frames += 1
    c.dropped += raw.skipped
    if not raw.complete:
        c.incomplete += 1
        log.warning("%s: frame %d incomplete: %s", info.id, raw.frame_number, raw.reason)
    a = raw.array
    meta = FrameMeta(
        camera_id=info.id, frame_number=raw.frame_number, host_ns=cam.clock.now_ns(),
        width=a.shape[1] if a.ndim >= 2 else 0, height=a.shape[0] if a.ndim >= 2 else 0,
        pixel_format=raw.pixel_format, device_ns=raw.device_ns,
        exposure_s=cam._exposure_s if raw.exposure_s is None else raw.exposure_s,
        gain_db=cam._gain_db if raw.gain_db is None else raw.gain_db,
        illumination=cam.illumination,
        polarizer_deg=cam.polarizer_deg, complete=raw.complete,
        incomplete_reason=raw.reason if not raw.complete else None,
        skipped_before=raw.skipped)
    return Frame(a, meta, raw.release)
