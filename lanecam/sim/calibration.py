"""The simulated lane for the calibration procedures: the errors it injects, and the frames.

The lane config a procedure starts from says what the installer *believes* (the scenario's
camera); the world holds the truth, offset from it by :data:`POSE_ERROR` and with a real lens
(:func:`true_camera`).  A procedure never reads the truth: it gets frames and device readings
only, and the truth is attached to its result afterwards for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from ..calibration.target import BoardSpec, Station
from .board import Board
from .render import Renderer, Shot
from .scenario import Scenario
from .world import CameraPose

__all__ = ["POSE_ERROR", "render_board_views", "true_camera"]

#: how far the real camera is from its configured pose (m, deg): 10 cm and 2°
POSE_ERROR = {"height_m": 0.10, "lateral_m": -0.10, "pitch_deg": 2.0, "yaw_deg": -2.0,
              "roll_deg": 2.0}
#: the real lens against the nominal one: focal length (relative), principal point offset
#: (fraction of the sensor), distortion (k1, k2, p1, p2, k3)
LENS_ERROR = {"focal": 0.012, "cx": 0.0075, "cy": -0.006,
              "distortion": (-0.35, 2.0, 0.0, 0.0, 0.0)}


def true_camera(configured: CameraPose) -> CameraPose:
    """The camera as it really is: ``configured`` moved by :data:`POSE_ERROR`, with the lens of
    :data:`LENS_ERROR` (full-resolution pixels)."""
    e, w, h = POSE_ERROR, configured.width_px, configured.height_px
    return replace(configured, height_m=configured.height_m + e["height_m"],
                   lateral_m=configured.lateral_m + e["lateral_m"],
                   pitch_deg=configured.pitch_deg + e["pitch_deg"],
                   yaw_deg=configured.yaw_deg + e["yaw_deg"],
                   roll_deg=configured.roll_deg + e["roll_deg"],
                   focal_m=configured.focal_m * (1 + LENS_ERROR["focal"]),
                   cx_px=(w - 1) / 2 + LENS_ERROR["cx"] * w,
                   cy_px=(h - 1) / 2 + LENS_ERROR["cy"] * h,
                   distortion=tuple(LENS_ERROR["distortion"]))


def render_board_views(sc: Scenario, camera: CameraPose, spec: BoardSpec,
                       stations: Sequence[Station], *, scale: float = 1.0, seed: int = 0,
                       exposure_s: float = 0.0, gain_db: float = 0.0, noise: bool = True
                       ) -> list[NDArray[np.uint8]]:
    """One 8-bit frame of the board at each station, seen by ``camera`` in the scenario's
    light (no traffic: the lane is closed for calibration); ``exposure_s`` 0: exposed so the
    board's white is near 200 DN."""
    world = replace(sc.world, cameras=(camera,), vehicles=(), boards=())
    renderer = Renderer(world, camera.name, scale)
    out = []
    for i, st in enumerate(stations):
        renderer.world = replace(world, boards=(Board(spec, st),))
        shot = Shot(0.0, exposure_s, gain_db, illumination=sc.illumination, seed=seed * 1000 + i,
                    noise=noise)
        if shot.exposure_s <= 0:  # auto, once: the board's white near 200 of 255
            probe, _ = renderer.render(replace(shot, exposure_s=1e-4, noise=False))
            top = float(np.percentile(probe, 99.5))
            exposure_s = min(0.02, 1e-4 * 200 / max(top, 1.0))
            shot = replace(shot, exposure_s=exposure_s)
        img, _ = renderer.render(shot)
        out.append(img)
    return out
