"""A camera of the lane: its pose, scheduler and capture settings (:class:`LaneCamera`), and
what the lane does with it on its own: open or reconnect it with its baseline settings, say
which image the lane analyses, and develop a polarization-mosaic frame into that image."""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..control.exposure import ExposureController, ExposureSettings
from ..control.polarization import PolarizationController
from ..control.scheduler import BurstPlan, CaptureScheduler
from ..devices.cameras import Camera
from ..devices.illuminators import Illuminator
from ..devices.rotators import PolarizerRotator
from ..errors import LimitError
from ..frames import BufferPool, Frame
from ..geometry import CabinModel, CameraModel, occupant_rois
from ..quality.pixels import bit_depth_of
from .types import LaneStats

__all__ = ["FramePool", "LaneCamera", "analysis_model", "analysis_view", "develop", "prepare"]


@dataclass
class LaneCamera:
    """A camera of the lane with its pose, its scheduler and its capture settings.

    ``exposure``: None keeps the fixed settings (the plan's exposure, ``gain_db``) for the
    whole burst; an :class:`~lanecam.control.exposure.ExposureController` re-sets exposure,
    gain and the strobe pulse (``camera.illumination``) between frames from the faces metered
    in the last frame (``meter_seats``: indices into :data:`~lanecam.lane.types.SEATS`).
    """

    name: str
    camera: Camera
    model: CameraModel
    scheduler: CaptureScheduler
    gain_db: float | None = None
    lost: bool = False  # set when the camera was lost; reconnected before the next vehicle
    exposure: ExposureController | None = None
    meter_seats: tuple[int, ...] = (0, 1)
    #: a rotatable polarizer's controller: sets ``camera.polarizer_deg`` once per burst to
    #: block the windshield glare predicted for the mid-burst range
    polarization: PolarizationController | None = None
    #: the strobe controller this camera's ExposureActive output fires (camera-strobe mode,
    #: set up by :meth:`~lanecam.devices.illuminators.Illuminator.strobe_from_camera`).  With
    #: ``exposure`` control each frame's pulse width and brightness are sent to it — through
    #: its eye-safety interlock — before the frame is triggered; without a controller the
    #: pulse is written into ``camera.illumination`` (a camera that models its own lamp).
    illuminator: Illuminator | None = None
    #: the motorized analyzer in front of the lens (with ``polarization``); None: the camera
    #: sets its own ``polarizer_deg`` (the simulator's analyzer without a rotator device)
    rotator: PolarizerRotator | None = None
    #: the camera's measured trigger-to-exposure delay (s, ``lanecam calibrate latency``): a
    #: fixed burst triggers this much before each planned exposure
    trigger_delay_s: float = 0.0
    #: per burst (recent 16): (predicted analyzer angle, the Malus-refined one or None), deg
    analyzer_log: deque[tuple[float, float | None]] = field(
        default_factory=lambda: deque(maxlen=16))
    #: a polarization-mosaic camera's per-ROI choices so far (``"i_min"`` / ``"single"``)
    dofp_choices: Counter[str] = field(default_factory=Counter)
    #: per burst (recent 16), per frame: the settings used and the metered face level (DN8,
    #: None when no face was found) — numbers only, for diagnostics and tests
    history: deque[list[tuple[ExposureSettings, float | None]]] = field(
        default_factory=lambda: deque(maxlen=16))
    #: ``"windshield"``, ``"side"`` or ``"both"`` (the config's ``view``,
    #: :mod:`lanecam.lane.side`): which bursts the camera films
    view: str = "windshield"

    @property
    def films_windshield(self) -> bool:
        return self.view in ("windshield", "both")

    @property
    def films_side(self) -> bool:
        return self.view in ("side", "both")


def analysis_view(lane_cam: LaneCamera) -> tuple[Any, CameraModel]:
    """(polarization-mosaic layout or None, the camera model of the frames the lane analyses).
    A mosaic camera's frames are developed at capture (:func:`develop`) into half-resolution
    analysis images: the same lens seen through half the pixels."""
    layout = lane_cam.camera.profile.polarization_layout if lane_cam.camera.is_open else None
    if layout is None:
        return None, lane_cam.model
    return layout, lane_cam.model.scaled(0.5)


def analysis_model(lane_cam: LaneCamera) -> CameraModel:
    """The camera model of the frames the lane analyses (:func:`analysis_view`)."""
    return analysis_view(lane_cam)[1]


def prepare(lane_cam: LaneCamera, plan: BurstPlan, stats: LaneStats) -> dict[str, Any]:
    """Open (or reconnect, if it was lost) the camera; the fixed (baseline) settings it starts
    the burst with: the plan's exposure (s) and the configured gain (dB)."""
    cam = lane_cam.camera
    if lane_cam.lost:  # lost during an earlier vehicle: bring it back first
        cam.reconnect(attempts=3, interval_s=0.2)
        lane_cam.lost = False
        stats.faults["camera_reconnect"] += 1
    elif not cam.is_open:
        cam.open()
    settings: dict[str, Any] = {"exposure_time": lane_cam.scheduler.timing.max_exposure_s
                                if not math.isfinite(plan.exposure_s) else plan.exposure_s}
    if lane_cam.gain_db is not None and cam.supports("gain"):
        settings["gain"] = lane_cam.gain_db
    return settings


def develop(lane_cam: LaneCamera, frame: Frame, range_m: float, cabin: CabinModel,
            stats: LaneStats) -> Frame:
    """A polarization-mosaic frame → its analysis image
    (:func:`~lanecam.quality.dofp.analysis_image`):
    per occupant ROI the Stokes I_min image where the measured glare is strongly polarized,
    else the analyzer channel that blocks it, told from the glass's own p-polarization by the
    glare angle the geometry predicts (``range_m``: the vehicle front's lane range, m; at
    normal incidence there is no such angle: the measured polarization is blocked, counted
    ``dofp_no_glare_angle``).  The raw frame is released; other frames pass unchanged."""
    layout, _ = analysis_view(lane_cam)
    if layout is None:
        return frame
    from ..quality.dofp import analysis_image

    try:
        ctrl = lane_cam.polarization or PolarizationController()
        try:
            glare: float | None = ctrl.glare_angle(
                lane_cam.model, range_m + lane_cam.scheduler.geometry.face_setback_m,
                vehicle_lateral_m=cabin.vehicle_lateral_m)
        except LimitError:  # normal incidence: no plane of incidence
            stats.faults["dofp_no_glare_angle"] += 1
            glare = None
        raw = frame.array
        depth = bit_depth_of(frame) or (8 if raw.dtype == np.uint8 else 16)
        ai = analysis_image(raw, layout, occupant_rois(lane_cam.model, range_m, cabin),
                            bit_depth=depth, controller=ctrl, glare_deg=glare)
        del raw
    finally:
        frame.release()
    lane_cam.dofp_choices.update(c for c in ai.choices if c is not None)
    h, w = ai.image.shape
    return Frame(ai.image, replace(frame.meta, width=w, height=h,
                                   pixel_format="Mono8" if depth == 8 else f"Mono{depth}"))


class FramePool:
    """The lane's fixed frame pool, grown (re-allocated) only when a frame outgrows its slots:
    bursts are moved into it so the camera's buffers are free for the next vehicle."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self._pool: BufferPool | None = None

    def for_frame(self, frame: Frame) -> BufferPool:
        need = frame.array.nbytes
        if self._pool is None or self._pool.slot_nbytes < need:
            self._pool = BufferPool(self.frames, need)
        return self._pool
