"""Exposure settings between the controller and the devices: the limits of the next frame
(live camera limits ∩ the motion-blur bound of the tracked speed, the gain budget), the lamp's
1/Z² change, and writing a setting to the camera and the strobe controller (through its
eye-safety interlock) or into the camera's sequencer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..control.exposure import ExposureBounds, ExposureSettings
from ..control.scheduler import BurstPlan
from ..control.tracker import Track
from ..errors import LanecamError, LimitError
from ..frames import FrameMeta, IlluminationState
from ..geometry import SEAT_ROWS
from .camera import LaneCamera
from .context import CaptureContext
from .types import LaneStats

__all__ = ["BLUR_MARGIN", "Limits", "apply_settings", "frame_bounds", "light_change",
           "metered_settings", "program_rest", "sequence_bounds"]

#: Frame metadata sources that say what the camera used for that frame (chunk data, or a
#: backend that knows each frame's settings), not only what was last configured.
TRUTH_SOURCES = frozenset({"chunk", "device"})

#: Share of the blur budget the exposure controller uses: the transverse-motion bound ignores
#: the radial "looming" smear (≈ x_img·v·t/Z: 0.24 px for 200 px off-axis at 15 m, 40 mph,
#: 1 ms — physics_quality.md §3.1) and the track's prediction error.
BLUR_MARGIN = 0.85
#: A camera's live limits: ((exposure min s, max s), (gain min dB, max dB)).
Limits = tuple[tuple[float, float], tuple[float, float]]


def frame_bounds(ctx: CaptureContext, lane_cam: LaneCamera, track: Track, plan: BurstPlan,
                 when_ns: int, limits: Limits) -> ExposureBounds:
    """Frame limits at ``when_ns``: the camera's live limits ∩ the blur bound of the tracked
    speed at the predicted face range, and the gain noise budget."""
    assert lane_cam.exposure is not None
    g = lane_cam.scheduler.geometry
    # the seat farthest off the camera's axis moves fastest across the image: the lane
    # geometry's path is the vehicle's centre line, the seats sit up to max|x| beside it
    seat_x = max(abs(x) for _, x in SEAT_ROWS.values())
    g = replace(g, lateral_offset_m=abs(g.lateral_offset_m) + seat_x)
    rng, speed = ctx.predict(track, when_ns)
    speed = max(abs(speed), abs(plan.speed_mps))
    blur = g.max_exposure(speed, rng + g.face_setback_m,
                          lane_cam.scheduler.blur_budget_px * BLUR_MARGIN)
    return ExposureBounds.of(limits[0], blur, limits[1], lane_cam.exposure.max_gain_db)


def light_change(ctx: CaptureContext, lane_cam: LaneCamera, track: Track, now_ns: int,
                 next_ns: int) -> float:
    """The lamp's irradiance on the face at ``next_ns`` over that at ``now_ns`` (1/Z², the lamp
    beside the camera)."""
    g = lane_cam.scheduler.geometry
    z0 = g.distance(ctx.predict(track, now_ns)[0] + g.face_setback_m)
    z1 = g.distance(ctx.predict(track, next_ns)[0] + g.face_setback_m)
    return (z0 / z1) ** 2 if z1 > 0 else 1.0


def apply_settings(lane_cam: LaneCamera, s: ExposureSettings, stats: LaneStats) -> None:
    """Write exposure (s) and gain (dB) to the camera, and the strobe pulse to the controller
    (or into ``camera.illumination`` for a camera that models its own lamp)."""
    settings: dict[str, Any] = {"exposure_time": s.exposure_s}
    if lane_cam.camera.supports("gain"):
        settings["gain"] = s.gain_db
    lane_cam.camera.configure(settings)
    if s.pulse_s is None:
        return
    if lane_cam.illuminator is not None:
        _set_strobe(lane_cam, s.pulse_s, s.brightness, stats)
    else:
        old = lane_cam.camera.illumination
        lane_cam.camera.illumination = IlluminationState("strobe", s.pulse_s, s.brightness,
                                                         old.wavelength_m)


def _set_strobe(lane_cam: LaneCamera, pulse_s: float, brightness: float,
                stats: LaneStats) -> None:
    """Send the next frame's pulse to the controller (only when it changes: each command is a
    serial round trip).  The driver's interlock has the last word: a refused setting
    (LimitError) leaves the controller as it was; a failed controller switches itself off (the
    driver's fault policy) and the frame goes unlit — counted, the burst goes on."""
    lamp = lane_cam.illuminator
    assert lamp is not None
    cur = lamp.setting
    if lamp.state == "pulse" and cur is not None and \
            abs(cur.width_s - pulse_s) < 0.5e-6 and abs(cur.brightness - brightness) < 1e-9:
        return
    ctrl = lane_cam.exposure
    rate = ctrl.pulse.rate_hz if ctrl is not None and ctrl.pulse is not None else \
        lane_cam.scheduler.timing.max_frame_rate_hz
    try:
        # the trigger delay strobe_from_camera set (the measured timing) stays
        lamp.set_pulse(pulse_s, brightness, rate, None if cur is None else cur.delay_s)
    except LimitError:
        stats.faults["strobe_refused"] += 1
    except LanecamError as exc:
        stats.faults[f"strobe:{type(exc).__name__}"] += 1


def sequence_bounds(lane_cam: LaneCamera, s: ExposureSettings,
                    bounds: ExposureBounds) -> ExposureBounds:
    """Limits of a bracket the camera's sequencer runs: with a controlled strobe the exposure
    stays (the lamp's pulse, aligned with it, is set by the host and cannot follow mid-burst)
    and gain carries the bracket."""
    if s.pulse_s is None or lane_cam.illuminator is None:
        return bounds
    return replace(bounds, exposure_min_s=s.exposure_s, exposure_max_s=s.exposure_s)


def program_rest(lane_cam: LaneCamera, settled: ExposureSettings, brighter: ExposureSettings,
                 n_settled: int, n_brighter: int, stats: LaneStats) -> bool:
    """The open-loop rest in the camera's sequencer: ``n_settled`` frames as settled, then
    ``n_brighter`` brighter.  False (re-configure between frames instead; counted) when the
    camera refuses it."""
    def step(x: ExposureSettings) -> dict[str, float]:
        out = {"exposure_time": x.exposure_s}
        if lane_cam.camera.supports("gain"):
            out["gain"] = x.gain_db
        return out

    try:
        lane_cam.camera.program_sequence([step(settled)] * n_settled +
                                         [step(brighter)] * n_brighter)
    except LanecamError as exc:
        stats.faults[f"sequence:{type(exc).__name__}"] += 1
        return False
    return True


def metered_settings(planned: ExposureSettings, meta: FrameMeta | None) -> ExposureSettings:
    """The settings the metered frame was exposed with: its exposure and gain where its
    metadata carries the camera's own values (:data:`TRUTH_SOURCES`), else ``planned``."""
    if meta is None:
        return planned
    out = planned
    if meta.exposure_source in TRUTH_SOURCES and meta.exposure_s is not None:
        out = replace(out, exposure_s=meta.exposure_s)
    if meta.gain_source in TRUTH_SOURCES and meta.gain_db is not None:
        out = replace(out, gain_db=meta.gain_db)
    return out
