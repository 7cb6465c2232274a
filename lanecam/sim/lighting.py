"""How light reaches points of a vehicle and its cabin: the NIR lamps (1/r², through the
windshield) and direct sun through the glazing (windshield, side and rear windows, visors).

Positions are world metres, irradiance W/m², transmittances fractions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .constants import SIDE_GLASS_NIR_TRANSMISSION, WINDOW_FRESNEL_T
from .optics import windshield_rt
from .raster import F64
from .sky import Sky
from .vehicles import VehicleGeometry
from .world import Lamp

__all__ = ["in_quad", "lamp_irradiance", "lamp_transmittance", "sun_through_glazing"]


def lamp_irradiance(lamps: Sequence[Lamp], pts: F64, normals: F64) -> F64:
    """Irradiance (W/m²) of every lamp at brightness 1 on points (m) with unit normals."""
    total = np.zeros(len(pts))
    for lamp in lamps:
        d = np.asarray(lamp.position_m) - pts
        r = np.linalg.norm(d, axis=1)
        cos = np.clip(np.einsum("ij,ij->i", normals, d) / r, 0, None)
        total += lamp.intensity_towards(pts) * cos / (r * r)
    return total


def lamp_transmittance(normal: F64, lamps: Sequence[Lamp], at: F64) -> float:
    """Unpolarized windshield transmittance (no absorption) for light from the lamps to ``at``
    (m), averaged over the lamps; 0 without lamps."""
    if not lamps:
        return 0.0
    ts = []
    for lamp in lamps:
        d = np.asarray(lamp.position_m) - at
        cos = abs(float(d @ normal)) / float(np.linalg.norm(d))
        _, _, a, b = windshield_rt(math.acos(min(1.0, cos)))
        ts.append(0.5 * float(a + b))
    return float(np.mean(ts))


def in_quad(pts: F64, quad: F64) -> NDArray[np.bool_]:
    """Whether points lying in a planar convex quad's plane are inside it."""
    inside = np.ones(len(pts), bool)
    nrm = np.cross(quad[1] - quad[0], quad[3] - quad[0])
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        inside &= (np.cross(b - a, pts - a) @ nrm) >= 0
    return inside


def sun_through_glazing(sky: Sky, g: VehicleGeometry, pts: F64, tau: float
                        ) -> tuple[F64, NDArray[np.bool_]]:
    """Direct-sun irradiance (W/m², on a surface facing the sun) reaching points (m) inside the
    cabin through the glazing (windshield NIR transmission ``tau``), and which points a lowered
    visor shades."""
    n = len(pts)
    s = sky.sun_dir
    if sky.e_direct <= 0:
        return np.zeros(n), np.zeros(n, bool)
    cand = _sun_exits(g, pts, s)
    ts = np.stack([np.where(t > 0, t, np.inf) for t, _ in cand])
    which = np.argmin(ts, axis=0)
    tmin = ts[which, np.arange(n)]
    hit = pts + tmin[:, None] * s
    trans = np.zeros(n)
    visor = np.zeros(n, bool)
    nw = g.windshield_normal
    theta = math.acos(min(1.0, abs(float(s @ nw))))
    _, _, ts_, tp_ = windshield_rt(theta)
    c = g.vehicle.vclass
    o = g.origin
    for k, (_, kind) in enumerate(cand):
        sel = which == k
        if not sel.any():
            continue
        h = hit[sel]
        if kind == "windshield":
            ok = in_quad(h, g.glass)
            trans[sel] = np.where(ok, tau * 0.5 * float(ts_ + tp_), 0.0)
            _visor_shade(g, pts, s, sel, trans, visor)
        elif kind == "side":
            y = h[:, 1] - o[1]
            ok = (y > c.windshield_base_m + 0.02) & (y < c.roof_m - 0.05)
            trans[sel] = np.where(ok, SIDE_GLASS_NIR_TRANSMISSION * WINDOW_FRESNEL_T, 0.0)
        elif kind == "rear":
            y = h[:, 1] - o[1]
            trans[sel] = np.where(y > c.windshield_base_m + 0.05,
                                  SIDE_GLASS_NIR_TRANSMISSION * WINDOW_FRESNEL_T, 0.0)
    return sky.e_direct * trans, visor


def _sun_exits(g: VehicleGeometry, pts: F64, s: F64) -> list[tuple[F64, str]]:
    """Distances (m) along the sun direction ``s`` from each point to each cabin surface the
    ray may leave through (windshield, roof, side, rear), with that surface's kind."""
    c = g.vehicle.vclass
    o = g.origin
    cand: list[tuple[F64, str]] = []
    nw = g.windshield_normal
    if s @ nw > 1e-9:
        cand.append((((g.windshield[0] - pts) @ nw) / (s @ nw), "windshield"))
    if s[1] > 1e-9:
        cand.append(((o[1] + c.roof_m - pts[:, 1]) / s[1], "roof"))
    if abs(s[0]) > 1e-9:
        side = o[0] + math.copysign(c.width_m / 2, s[0])
        cand.append(((side - pts[:, 0]) / s[0], "side"))
    if s[2] > 1e-9:
        cand.append(((o[2] + c.length_m - 0.9 - pts[:, 2]) / s[2], "rear"))
    return cand


def _visor_shade(g: VehicleGeometry, pts: F64, s: F64, sel: NDArray[np.bool_], trans: F64,
                 visor: NDArray[np.bool_]) -> None:
    """Of the points ``sel`` the sun reaches through the windshield, mark those a visor blocks
    (``visor`` True, ``trans`` 0), in place."""
    for vq in g.visors:
        # ray from the face towards the sun crossing the visor plane
        vn = np.cross(vq[1] - vq[0], vq[3] - vq[0])
        vn /= np.linalg.norm(vn)
        den = s @ vn
        if abs(den) < 1e-9:
            continue
        tv = ((vq[0] - pts[sel]) @ vn) / den
        hv = pts[sel] + tv[:, None] * s
        blocked = (tv > 0) & in_quad(hv, vq)
        visor[np.flatnonzero(sel)[blocked]] = True
        trans[np.flatnonzero(sel)[blocked]] = 0.0
