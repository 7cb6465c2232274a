"""Side windows as a side camera sees them: the near side's front and rear door glass between
the A-, B- and C-pillars, each pane compositing the cabin and its occupants through tempered
(optionally tinted or privacy-tinted) glass with its own Fresnel transmission and reflected sky
at the pane's incidence angles (the windshield's :func:`~lanecam.sim.glass.glass_optics`,
given the pane instead of the windshield).

Only cameras whose pose says ``view = "side"`` or ``"both"`` draw the side glass; a
``"windshield"`` camera keeps the flat dark greenhouse panel (its frames are unchanged: the
side glass is at grazing incidence from a gantry camera and shows no face).

Geometry (vehicle-local, as in :mod:`~lanecam.sim.vehicles`: ``x`` lateral, ``y`` up, ``zl``
metres behind the front bumper).  The side glass lies on the greenhouse plane (sloping
inwards from the belt line to the roof rail).  The front door glass runs from the A-pillar
(its front edge ``PILLAR_A_M`` behind the windshield frame line) to the B-pillar, centred
``B_PILLAR_BEHIND_ROW0_M`` behind the front row's head and ``B_PILLAR_M`` wide; the rear door
glass from the B-pillar to the C-pillar, which starts ``C_PILLAR_BEFORE_ROOF_END_M`` before
the roof ends.  Pillars and frame keep the greenhouse panel's dark trim.  All these
dimensions are ASSUMED (typical of the body classes; no source in PQ).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .constants import SIDE_GLASS_NIR
from .faces import FaceSeen, face_truth
from .raster import Layer
from .truth import FaceTruth
from .vehicles import VehicleGeometry

if TYPE_CHECKING:
    from .glass import Polarizer
    from .render import Renderer, Shot

__all__ = ["B_PILLAR_BEHIND_ROW0_M", "B_PILLAR_M", "C_PILLAR_BEFORE_ROOF_END_M", "PILLAR_A_M",
           "SIDE_VIEWS", "draw_side_windows", "side_panes"]

#: Camera views that draw the side glass.
SIDE_VIEWS = ("side", "both")
PILLAR_A_M = 0.06
B_PILLAR_M = 0.12
B_PILLAR_BEHIND_ROW0_M = 0.42
C_PILLAR_BEFORE_ROOF_END_M = 0.12
_FRAME_M = (0.04, 0.06)  # glass inset above the belt line and below the roof rail (m)

V3 = NDArray[np.float64]


def side_panes(g: VehicleGeometry, side: int) -> list[tuple[str, V3, V3]]:
    """The door glass on the vehicle's ``side`` (+1: world +x, −1: −x): ``(name, corners,
    outward normal)`` for the front and rear pane; corners (4, 3) world m in cyclic order
    (top-front, top-rear, bottom-rear, bottom-front)."""
    v = g.vehicle
    c = v.vclass
    zb, zt, _, wt, _, ht = v._windshield_local()
    belt = c.windshield_base_m
    w_belt, w_roof = c.width_m / 2 - 0.05, wt / 2
    roof_end = zt + 1.35 * (c.length_m / 4.8)  # as Vehicle._rear_window
    lo, hi = belt + _FRAME_M[0], ht - _FRAME_M[1]

    def at(zl: float, y: float) -> V3:
        x = w_belt + (y - belt) / (ht - belt) * (w_roof - w_belt)
        return g.origin + np.array([side * x, y, zl])

    def a_line(y: float) -> float:
        return zb + (y - belt) / (ht - belt) * (zt - zb) + PILLAR_A_M

    z_b = zt + 0.22 + B_PILLAR_BEHIND_ROW0_M  # row 0 heads sit 0.22 m behind the screen top
    z_c = roof_end - C_PILLAR_BEFORE_ROOF_END_M
    panes = [("front_door", a_line(hi), a_line(lo), z_b - B_PILLAR_M / 2),
             ("rear_door", z_b + B_PILLAR_M / 2, z_b + B_PILLAR_M / 2, z_c)]
    out = []
    # the pane's plane holds the lane axis and the belt-to-roof slope; outward is ±x, upward
    sx, sy = side * (w_roof - w_belt), ht - belt
    normal = side * np.array([sy, -sx, 0.0]) / np.hypot(sx, sy)
    for name, z_top, z_bot, z_end in panes:
        quad = np.stack([at(z_top, hi), at(z_end, hi), at(z_end, lo), at(z_bot, lo)])
        out.append((name, quad, normal))
    return out


def draw_side_windows(renderer: Renderer, g: VehicleGeometry, layer: Layer, shot: Shot,
                      pol: Polarizer, ill_s: float,
                      faces: list[tuple[FaceTruth, FaceSeen | None]]
                      ) -> list[tuple[FaceTruth, FaceSeen | None]]:
    """Draw the near side's door glass (cabin and occupants behind it) into ``layer`` for a
    side camera; returns ``faces`` (each occupant's windshield truth) with a face seen better
    through a side pane given that pane's truth instead (the higher visibility wins)."""
    r = renderer
    p = r.pose
    side = 1 if p.lateral_m >= g.origin[0] else -1
    tints = SIDE_GLASS_NIR[g.vehicle.side_glass]
    out = list(faces)
    for name, quad, normal in side_panes(g, side):
        tau = tints["front" if name == "front_door" else "rear"][r._band]
        uv = p.project(quad)[0]
        x0 = max(int(np.floor(uv[:, 0].min())), layer.x)
        y0 = max(int(np.floor(uv[:, 1].min())), layer.y)
        x1 = min(int(np.ceil(uv[:, 0].max())) + 1, layer.x + layer.shape[1])
        y1 = min(int(np.ceil(uv[:, 1].max())) + 1, layer.y + layer.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        pane = replace(g, glass=quad, windshield_normal=normal)
        sub = Layer(x0, y0, np.empty((y1 - y0, x1 - x0), np.float32))
        # the renderer's own cabin, occupant and glass steps, given the pane as the glass
        e_cabin, t_in = r._cabin(pane, sub, shot, ill_s, tau)
        ids = np.full(sub.shape, -1, np.int16)
        seen = r._occupants(pane, sub, ids, shot, ill_s, tau, t_in, e_cabin)
        stats = r._through_glass(pane, layer, sub, ids, uv, shot, pol, tau)
        for pl in g.placements:
            ft, fs = face_truth(p, g, pl, stats, *seen[pl.index], sub,
                                shot.exposure_s, shot.window)
            if ft.in_view and ft.visibility > out[pl.index][0].visibility:
                out[pl.index] = (ft, fs)
    return out
