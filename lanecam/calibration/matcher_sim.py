"""The simulator's identities as labelled photos for ``calibrate matcher --sim``.

Each face texture of the simulator (:func:`lanecam.sim.textures.face_names`) sits alone in the
driver's seat of the scenario's first vehicle, parked at :data:`RANGES_M` with its head turned
by :data:`YAWS_DEG`, and is filmed by the scenario's camera with its settings and lamps (a
window around the face, full resolution); the identity's travel-document photo, when the
simulator ships one, is one more photo.  Photos are kept in memory only.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .matcher_fit import Photo

__all__ = ["render_identities"]

#: where the parked car's front bumper stands (m) and how the head turns (deg)
RANGES_M = (13.0,)
YAWS_DEG = (-15.0, 0.0, 15.0)
#: the window around the face (px, full resolution)
WINDOW_PX = 360


def _face_window(pose: Any, geometry: Any) -> tuple[int, int, int, int]:
    uv, _ = pose.project(geometry.placements[0].face_corners)
    cx, cy = uv.mean(axis=0)
    half = WINDOW_PX // 2
    x = int(min(max(cx - half, 0), pose.width_px - WINDOW_PX))
    y = int(min(max(cy - half, 0), pose.height_px - WINDOW_PX))
    return x, y, WINDOW_PX, WINDOW_PX


def _render(world: Any, camera: str, settings: Any, illumination: Any, seed: int
            ) -> np.ndarray:
    from ..sim.render import Renderer, Shot

    r = Renderer(world, camera)
    win = _face_window(r.pose, world.vehicles[0].geometry(0.0))
    pol = settings.polarizer_deg if r.pose.polarizer == "rotatable" else None
    img, _ = r.render(Shot(t_s=0.0, exposure_s=settings.exposure_s, gain_db=settings.gain_db,
                           polarizer_deg=pol, illumination=illumination, window=win,
                           seed=seed))
    return np.asarray(img)


def _document(name: str) -> Path | None:
    d = Path(str(resources.files("lanecam.sim") / "assets" / "documents"))
    hits = sorted(p for p in d.glob(f"{name}.*") if p.suffix.lower() in (".jpg", ".png"))
    return hits[0] if hits else None


def render_identities(scenario: str, out: Path, *, seed: int = 0) -> list[Photo]:
    """Photos of every simulated identity (rendered, plus its document photo)."""
    from ..sim.scenario import load_scenario
    from ..sim.textures import face_names
    from ..sim.vehicles import VEHICLE_CLASSES, Kinematics, Occupant, Vehicle

    sc = load_scenario(scenario)
    w = sc.world
    cam = w.cameras[0].name
    vclass = w.vehicles[0].vclass if w.vehicles else VEHICLE_CLASSES["sedan"]
    photos: list[Photo] = []
    for name in face_names():
        for i, (rng, yaw) in enumerate((r, y) for r in RANGES_M for y in YAWS_DEG):
            car = Vehicle(vclass, Kinematics(rng, 0.0), (Occupant("driver", name, yaw),),
                          name="calibration-car")
            img = _render(replace(w, vehicles=(car,)), cam, sc.settings[cam], sc.illumination,
                          seed + 7919 * i)
            photos.append(Photo(out / name / f"sim{i}.png", name, None, img,
                                ("sim", scenario, seed, name, i)))
        doc = _document(name)
        if doc is not None:
            photos.append(Photo(doc, name, None))
    return photos
