"""Ray casting of head primitives into the cabin patch with a depth buffer (one Numba pass).

Each primitive (:mod:`lanecam.sim.heads`: ellipsoid, clipped ellipsoid, half disc, rectangle)
is cast over its own pixel box: the camera ray through each pixel centre meets it (or not); the
nearest hit along the optical axis wins the pixel (depth buffer ``zbuf``, metres along the
camera's forward axis), whatever order the primitives come in.  A head writes its face
texture (bilinear radiance and skin mask, nearest ``hidden`` code) on its front half and hair
elsewhere (the nose, a textured ellipsoid of its own, likewise); the other primitives write their flat radiant exposure.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..jit import njit
from .board import undistort
from .heads import CLIPPED, ELLIPSOID, HALF_DISC, HIDDEN_CODES, RECT
from .raster import F32, F64, Layer
from .textures import EYE_ROW
from .world import CameraPose

__all__ = ["cast_heads"]


@njit(cache=True, nogil=True)
def _hit(kind: int, o: NDArray[np.float64], d: NDArray[np.float64], clip: float
         ) -> tuple[float, float, float, float]:  # pragma: no cover - compiled
    """Ray parameter and unit-local hit point of ray o + t·d (unit-local frame); t < 0: miss."""
    if kind == ELLIPSOID or kind == CLIPPED:
        a = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
        b = 2.0 * (o[0] * d[0] + o[1] * d[1] + o[2] * d[2])
        q = o[0] * o[0] + o[1] * o[1] + o[2] * o[2] - 1.0
        disc = b * b - 4.0 * a * q
        if disc < 0.0:
            return -1.0, 0.0, 0.0, 0.0
        sq = math.sqrt(disc)
        for t in ((-b - sq) / (2.0 * a), (-b + sq) / (2.0 * a)):
            ly = o[1] + t * d[1]
            if kind == ELLIPSOID or ly >= clip:
                return t, o[0] + t * d[0], ly, o[2] + t * d[2]
        return -1.0, 0.0, 0.0, 0.0
    if abs(d[2]) < 1e-12:
        return -1.0, 0.0, 0.0, 0.0
    t = -o[2] / d[2]
    lx, ly = o[0] + t * d[0], o[1] + t * d[1]
    if kind == HALF_DISC and lx * lx + ly * ly <= 1.0 and ly >= 0.0:
        return t, lx, ly, 0.0
    if kind == RECT and abs(lx) <= 1.0 and abs(ly) <= 1.0:
        return t, lx, ly, 0.0
    return -1.0, 0.0, 0.0, 0.0


@njit(cache=True, nogil=True)
def _texel(tex: NDArray[np.float32], m: int, u: float, v: float
           ) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Bilinear radiance and mask, nearest hidden code of an m×m texture at (u, v) texels."""
    if u < -0.5 or v < -0.5 or u > m - 0.5 or v > m - 0.5:
        return 0.0, 0.0, 0.0
    u = min(max(u, 0.0), m - 1.0)
    v = min(max(v, 0.0), m - 1.0)
    x0, y0 = min(int(u), m - 2), min(int(v), m - 2)
    fx, fy = u - x0, v - y0
    w00, w01, w10, w11 = (1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy
    rad = (w00 * tex[0, y0, x0] + w01 * tex[0, y0, x0 + 1] + w10 * tex[0, y0 + 1, x0]
           + w11 * tex[0, y0 + 1, x0 + 1])
    skin = (w00 * tex[1, y0, x0] + w01 * tex[1, y0, x0 + 1] + w10 * tex[1, y0 + 1, x0]
            + w11 * tex[1, y0 + 1, x0 + 1])
    return rad, skin, tex[2, int(v + 0.5), int(u + 0.5)]


@njit(cache=True, nogil=True)
def _span(m: NDArray[np.float64], o: NDArray[np.float64], axes: NDArray[np.float64], yn: float,
          x0n: float, dxn: float, xa: int, xb: int) -> tuple[int, int]:  # pragma: no cover
    """Columns [xa, xb) of one pixel row whose rays can meet the unit sphere (local frame,
    camera at ``o``): the ray d = P + x·Q is linear in the column x, so the discriminant of
    the ray–sphere quadratic is a quadratic in x; its non-negative interval, widened by one
    pixel.  ``yn`` the row's and ``x0n`` column 0's normalised coordinates, ``dxn`` per column."""
    c0 = o[0] * o[0] + o[1] * o[1] + o[2] * o[2] - 1.0
    oa = ob = aa = ab = bb = 0.0
    for i in range(3):
        a = 0.0
        b = 0.0
        for j in range(3):
            p = axes[2, j] + x0n * axes[0, j] + yn * axes[1, j]
            a += m[i, j] * p
            b += m[i, j] * dxn * axes[0, j]
        oa += o[i] * a
        ob += o[i] * b
        aa += a * a
        ab += a * b
        bb += b * b
    a2 = ob * ob - c0 * bb
    a1 = 2.0 * (oa * ob - c0 * ab)
    a0 = oa * oa - c0 * aa
    if a2 >= 0.0:  # not a bounded interval (degenerate view): keep the box
        return xa, xb
    disc = a1 * a1 - 4.0 * a2 * a0
    if disc < 0.0:
        return 0, 0
    sq = math.sqrt(disc)
    r0, r1 = (-a1 + sq) / (2.0 * a2), (-a1 - sq) / (2.0 * a2)
    lo, hi = min(r0, r1), max(r0, r1)
    return max(xa, math.floor(lo) - 1), min(xb, math.ceil(hi) + 2)


@njit(cache=True, nogil=True)
def _cast(prims: NDArray[np.float64], mats: NDArray[np.float64], boxes: NDArray[np.int64], tex: NDArray[np.float32],
          tex_n: NDArray[np.int64], hidden_ids: NDArray[np.int64], cam: NDArray[np.float64],
          axes: NDArray[np.float64], intr: NDArray[np.float64], grid: NDArray[np.float64],
          eye_row: float, data: NDArray[np.float32], ids: NDArray[np.int16],
          zbuf: NDArray[np.float32]) -> None:  # pragma: no cover - compiled
    fx, fy, cx, cy, ox, oy = intr[0], intr[1], intr[2], intr[3], intr[4], intr[5]
    d = np.empty(3)
    o = np.empty(3)
    dl = np.empty(3)
    for p in range(prims.shape[0]):
        pr = prims[p]
        kind, slot = int(pr[0]), int(pr[2])
        m = mats[p]
        for i in range(3):
            o[i] = (m[i, 0] * (cam[0] - pr[4]) + m[i, 1] * (cam[1] - pr[5])
                    + m[i, 2] * (cam[2] - pr[6]))
        for y in range(boxes[p, 1], boxes[p, 3]):
            xa, xb = boxes[p, 0], boxes[p, 2]
            if grid.shape[0] == 0 and (kind == ELLIPSOID or kind == CLIPPED):
                xa, xb = _span(m, o, axes, (oy + y - cy) / fy, (ox - cx) / fx, 1.0 / fx, xa, xb)
            for x in range(xa, xb):
                if grid.shape[0] > 0:
                    xn, yn = grid[y, x, 0], grid[y, x, 1]
                else:
                    xn, yn = (ox + x - cx) / fx, (oy + y - cy) / fy
                for i in range(3):
                    d[i] = axes[2, i] + xn * axes[0, i] + yn * axes[1, i]
                for i in range(3):
                    dl[i] = m[i, 0] * d[0] + m[i, 1] * d[1] + m[i, 2] * d[2]
                t, lx, ly, lz = _hit(kind, o, dl, pr[16])
                if t <= 0.0 or t >= zbuf[y, x]:
                    continue
                zbuf[y, x] = t
                if slot < 0:
                    data[y, x] = pr[3]
                    ids[y, x] = int(pr[1])
                    continue
                val, mask, code = 0.0, 0.0, 0.0
                if lz > 0.0 or pr[23] > 0.5:
                    n = tex_n[slot]
                    u = ((lx * pr[16] + pr[21]) / pr[18] + 0.5) * n - 0.5
                    v = (eye_row - (ly * pr[17] + pr[22] - pr[19]) / pr[18]) * n - 0.5
                    val, mask, code = _texel(tex[slot], n, u, v)
                data[y, x] = mask * val + (1.0 - mask) * pr[3]
                if mask < 0.5:
                    ids[y, x] = int(pr[1])
                elif code > 0.5:
                    ids[y, x] = hidden_ids[int(code + 0.5)]
                else:
                    ids[y, x] = int(pr[20])


def _boxes(pose: CameraPose, sub: Layer, prims: F64) -> NDArray[np.int64]:
    """Pixel box (x0, y0, x1, y1) in ``sub`` of each primitive's bounding box (empty when
    any of it is behind the camera)."""
    cube = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    out = np.zeros((len(prims), 4), np.int64)
    h, w = sub.shape
    for i, pr in enumerate(prims):
        inv = np.linalg.inv(pr[7:16].reshape(3, 3))
        uv, z = pose.project(pr[4:7] + cube @ inv.T)
        if z.min() <= 0.05:
            continue
        uv -= [sub.x, sub.y]
        out[i] = (max(math.floor(uv[:, 0].min()), 0), max(math.floor(uv[:, 1].min()), 0),
                  min(math.ceil(uv[:, 0].max()) + 1, w), min(math.ceil(uv[:, 1].max()) + 1, h))
    return out


def cast_heads(pose: CameraPose, sub: Layer, ids: NDArray[np.int16], zbuf: F32, prims: F64,
               tex: F32, tex_n: NDArray[np.int64]) -> None:
    """Cast ``prims`` (rows of :data:`~lanecam.sim.heads.NPRIM`) into the cabin patch ``sub``
    (radiant exposure), its id map and depth buffer (m along the optical axis), in place;
    ``tex`` (slots, 3, 128, 128) radiance, skin mask and hidden code, ``tex_n`` each slot's
    texture size (texels, its top-left corner used)."""
    if len(prims) == 0:
        return
    right, down, fwd = pose.axes()
    (fx, fy), (cx, cy) = pose.focal_xy, pose.principal
    grid = np.zeros((0, 0, 2))
    if pose.distortion:  # normalised pinhole coordinates of every patch pixel
        h, w = sub.shape
        gx, gy = np.meshgrid((sub.x + np.arange(w) - cx) / fx, (sub.y + np.arange(h) - cy) / fy)
        ux, uy = undistort(gx, gy, pose.distortion)
        grid = np.ascontiguousarray(np.dstack([ux, uy]), np.float64)
    hidden = np.zeros(max(HIDDEN_CODES) + 1, np.int64)
    for code, ident in HIDDEN_CODES.items():
        hidden[code] = ident
    prims = np.ascontiguousarray(prims)
    _cast(prims, np.ascontiguousarray(prims[:, 7:16].reshape(-1, 3, 3)), _boxes(pose, sub, prims), tex, tex_n, hidden,
          np.asarray(pose.position, np.float64), np.stack([right, down, fwd]),
          np.array([fx, fy, cx, cy, sub.x, sub.y], np.float64), grid, EYE_ROW,
          sub.data, ids, zbuf)
