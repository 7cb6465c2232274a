"""The occupants drawn into the cabin patch: torsos (flat fills, far to near, with their depth),
then every head, cap, hand, phone and headrest ray-cast against one depth buffer
(:mod:`lanecam.sim.heads`, :mod:`lanecam.sim.headcast`), so what hides what is decided by depth.

Radiant exposure in W·m⁻²·sr⁻¹ × s, irradiance W/m², times s, positions world metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from .constants import CLOTHING_REFLECTANCE, HAIR_REFLECTANCE
from .faces import HeadView, face_texture, shrink_texture
from .headcast import cast_heads
from .heads import NPRIM, head_frame, head_primitives, headrest_primitive
from .lighting import lamp_irradiance
from .raster import Layer, convex, fill, fill_ids, fixed_point
from .sky import Sky
from .textures import TEXTURE_PX, load_face
from .vehicles import VehicleGeometry
from .world import CameraPose, Lamp

__all__ = ["draw_occupants"]


def draw_occupants(pose: CameraPose, sky: Sky, lamps: Sequence[Lamp], g: VehicleGeometry,
                   sub: Layer, ids: NDArray[np.int16], exposure_s: float, ill_s: float,
                   tau: float, t_in: float, e_cabin: float
                   ) -> dict[int, tuple[HeadView, set[str], bool]]:
    """Draw ``g``'s occupants into ``sub`` and ``ids`` (−2 body, the codes of
    :data:`~lanecam.sim.heads.ID`, −(100 + i) head i's hair, else the face index); per face
    index: its :class:`~lanecam.sim.faces.HeadView`, its accessory occluders and whether the
    sun lights its eyes.  ``ill_s`` s of full illuminator output, ``tau`` windshield NIR
    transmission, ``t_in`` its transmittance for the lamps, ``e_cabin`` cabin irradiance."""
    order = sorted(g.placements, key=lambda pl: -float(
        np.linalg.norm(pl.face_corners.mean(axis=0) - pose.position)))
    zbuf = np.full(sub.shape, np.inf, np.float32)
    n = TEXTURE_PX
    tex = np.zeros((len(order), 3, n, n), np.float32)
    tex_n = np.zeros(len(order), np.int64)
    prims: list[NDArray[np.float64]] = []
    seen: dict[int, tuple[HeadView, set[str], bool]] = {}
    for slot, pl in enumerate(order):
        e_lamp = float(lamp_irradiance(lamps, pl.torso_corners.mean(axis=0)[None],
                                       np.array([[0.0, 0.0, -1.0]]))[0])
        e_torso = e_cabin * exposure_s + e_lamp * t_in * ill_s
        tor, tz = pose.project(pl.torso_corners)
        fill(sub, tor, CLOTHING_REFLECTANCE * e_torso / math.pi)
        fill_ids(ids, sub, tor, -2)
        cv2.fillConvexPoly(zbuf, fixed_point(convex(tor - [sub.x, sub.y])), float(tz.mean()),
                           cv2.LINE_8, 4)
        hf = head_frame(pl)
        rad, hidden, lit, reasons, e_face = face_texture(sky, lamps, g, pl, hf, exposure_s,
                                                         tau, t_in, ill_s, e_cabin)
        tex[slot], tex_n[slot] = shrink_texture(pose, hf, rad, hidden,
                                                load_face(pl.occupant.face).mask)
        prims += head_primitives(pl, hf, slot, HAIR_REFLECTANCE * e_torso / math.pi, e_torso,
                                 e_face)
        seen[pl.index] = (HeadView(hf, zbuf), reasons, lit)
    for c in g.headrests:  # skylight in the cabin and the lamps, facing the camera
        e_lamp = float(lamp_irradiance(lamps, c[None], np.array([[0.0, 0.0, -1.0]]))[0])
        prims.append(headrest_primitive(c, e_cabin * exposure_s + e_lamp * t_in * ill_s))
    cast_heads(pose, sub, ids, zbuf, np.array(prims).reshape(-1, NPRIM), tex, tex_n)
    return seen
