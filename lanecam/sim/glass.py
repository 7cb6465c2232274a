"""The windshield glass as the camera sees it through its analyzer: per-pixel transmission of
the cabin's light (Fresnel T_s/T_p × NIR transmission) and the reflected sky glare (Fresnel
R_s/R_p per polarization, PQ §1), computed on a coarse grid over the glass and warped onto it.

Angles are radians; radiance W·m⁻²·sr⁻¹; radiant exposure radiance × s.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .optics import analyzer, rotate_stokes, windshield_rt
from .raster import F32, F64, warp_quarter
from .sky import Sky
from .vehicles import VehicleGeometry
from .world import CameraPose

__all__ = ["Polarizer", "glass_optics"]

_GRID = (24, 48)  # rows, columns of the windshield optics grid


@dataclass
class Polarizer:
    """Analyzer set-up: ``angles`` (rad) is () for no polarizer, (θ,) for a rotatable one, or
    the four mosaic angles with each one's (row, column) parity on the sensor; ``er`` the
    extinction ratio."""

    er: float
    angles: tuple[float, ...]
    phases: tuple[tuple[int, int], ...] = ()

    @property
    def unpolarized_gain(self) -> float:
        """Fraction of unpolarized light the analyzer passes (1 without one)."""
        return 1.0 if not self.angles else 0.5 * (1.0 + 1.0 / self.er)


def glass_optics(pose: CameraPose, sky: Sky, g: VehicleGeometry, glass_uv: F64,
                 origin: tuple[int, int], shape: tuple[int, int], exposure_s: float,
                 pol: Polarizer, tau: float) -> tuple[F32, F32]:
    """Per-pixel cabin transmission factor and reflected radiant exposure over a patch of
    ``shape`` (rows, columns) at frame pixel ``origin`` (x, y), ``glass_uv`` the glass corners
    in patch pixels; ``tau`` the windshield's NIR transmission, ``exposure_s`` (s)."""
    planes = _grid_planes(pose, sky, g, exposure_s, pol, tau)
    gh, gw = _GRID
    grid = np.stack([pl.reshape(gh, gw) for pl in planes], -1).astype(np.float32)
    src = np.array([[-0.5, -0.5], [gw - 0.5, -0.5], [gw - 0.5, gh - 0.5], [-0.5, gh - 0.5]],
                   np.float32)
    # the fields are smooth: warp at ¼ resolution, then upsample
    q = 4  # warp_quarter's factor
    small = (max(1, -(-shape[0] // q)), max(1, -(-shape[1] // q)))
    dst = (glass_uv + 0.5) / q - 0.5
    hmat = np.asarray(cv2.getPerspectiveTransform(src, dst.astype(np.float32)), np.float64)
    k = len(planes)
    warped = np.concatenate([
        warp_quarter(grid[..., i:i + 4], hmat, small, shape) for i in range(0, k, 4)], axis=-1)
    half = k // 2
    if half == 1:
        return warped[..., 0], warped[..., 1]
    trans = np.empty(shape, np.float32)
    glare = np.empty(shape, np.float32)
    for i, (pr, pc) in enumerate(pol.phases):
        r0, c0 = (pr - origin[1]) % 2, (pc - origin[0]) % 2
        trans[r0::2, c0::2] = warped[r0::2, c0::2, i]
        glare[r0::2, c0::2] = warped[r0::2, c0::2, half + i]
    return trans, glare


def _grid_planes(pose: CameraPose, sky: Sky, g: VehicleGeometry, exposure_s: float,
                 pol: Polarizer, tau: float) -> list[F64]:
    """On the _GRID points of the glass (row-major, flat): the transmission factor per analyzer
    angle, then the reflected radiant exposure per angle (one of each without an analyzer)."""
    p = pose
    gh, gw = _GRID
    s = (np.arange(gw) + 0.5) / gw
    t = (np.arange(gh) + 0.5) / gh
    ss, tt = np.meshgrid(s, t)
    tl, tr, br, bl = g.glass
    top = tl[None, None] + ss[..., None] * (tr - tl)
    bot = bl[None, None] + ss[..., None] * (br - bl)
    pts = (top + tt[..., None] * (bot - top)).reshape(-1, 3)
    d = pts - p.position
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    nrm = g.windshield_normal
    dn = d @ nrm
    theta = np.arccos(np.clip(np.abs(dn), 0, 1))
    rs, rp, ts, tp = windshield_rt(theta)
    refl = d - 2 * dn[:, None] * nrm
    lsky, dop, evec = sky.sample(refl)
    s_hat = np.cross(nrm, d)
    s_hat /= np.maximum(np.linalg.norm(s_hat, axis=1, keepdims=True), 1e-12)
    p_in = np.cross(refl, s_hat)
    chi = np.arctan2(np.einsum("ij,ij->i", evec, p_in), np.einsum("ij,ij->i", evec, s_hat))
    gi = 0.5 * ((rs + rp) * lsky + (rs - rp) * lsky * dop * np.cos(2 * chi))
    gq = 0.5 * ((rs - rp) * lsky + (rs + rp) * lsky * dop * np.cos(2 * chi))
    gu = np.sqrt(rs * rp) * lsky * dop * np.sin(2 * chi)
    right, down, _ = p.axes()
    psi = np.arctan2(-(s_hat @ down), s_hat @ right)
    gqc, guc = rotate_stokes(gq, gu, psi)
    ti, tq = 0.5 * (ts + tp) * tau, 0.5 * (ts - tp) * tau
    tqc, tuc = rotate_stokes(tq, 0.0, psi)
    exp = exposure_s
    if not pol.angles:
        return [ti, gi * exp]
    return [analyzer(ti, tqc, tuc, a, pol.er) for a in pol.angles] + \
        [analyzer(gi, gqc, guc, a, pol.er) * exp for a in pol.angles]
