"""The occupants' faces in a frame: each face texture lit inside the cabin (sun through the
glazing, skylight, the NIR lamps; hat, visor and sunglasses), warped into the cabin layer, and
its ground truth (visibility, occluders, glare, blur, eye distance).

Positions are world metres, pixel coordinates frame pixels, radiance W·m⁻²·sr⁻¹, radiant
exposure radiance × s, irradiance W/m².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from .constants import (
    HAT_CROWN,
    HAT_HIDES,
    HAT_REFLECTANCE,
    HAT_SHADE,
    SKIN_REFLECTANCE_MAX,
    SUNGLASS_LENS,
    SUNGLASS_NIR_TRANSMISSION,
)
from .image_sensor import face_stats
from .lighting import lamp_irradiance, sun_through_glazing
from .optics import coc_diameter
from .raster import F32, F64, Layer, minifies
from .sky import Sky
from .textures import EYE_COLS, EYE_ROW, FACE_BOX, TEXTURE_PX, load_face
from .truth import FaceTruth
from .vehicles import Placement, VehicleGeometry
from .world import CameraPose, Lamp

__all__ = ["FaceSeen", "FaceStats", "face_missing", "face_texture", "face_truth",
           "hidden_by_nearer", "warp_face"]


@dataclass
class FaceSeen:
    """Where face ``index`` was seen (cabin id map at x, y in frame pixels) — to find nearer
    vehicles over it."""

    x: int
    y: int
    ids: NDArray[np.int16]
    inside: NDArray[np.bool_]
    index: int

    @property
    def mask(self) -> NDArray[np.bool_]:
        return (self.ids == self.index) & self.inside


class FaceStats:
    """Per-face pixel counts and sums over one cabin id map, in one pass each (bincount)."""

    def __init__(self, ids: NDArray[np.int16], inside: NDArray[np.bool_], glare: F32,
                 signal: F32, n: int) -> None:
        self.ids, self.inside = ids, inside
        self.own, self.seen, self.glare, self.signal = face_stats(
            ids, inside.view(np.uint8), glare, signal, n)


def face_missing(pose: CameraPose, g: VehicleGeometry, pl: Placement) -> FaceTruth:
    """Truth of a face not in view: only its distance (m) from the camera."""
    dist = float(np.linalg.norm(pl.face_corners.mean(axis=0) - pose.position))
    return FaceTruth(g.vehicle.name, pl.occupant.seat, pl.occupant.face, False,
                     (0.0, 0.0, 0.0, 0.0), 0.0, (), 0.0, 0.0, 0.0, 0.0, dist, 0.0, False)


def face_texture(sky: Sky, lamps: Sequence[Lamp], g: VehicleGeometry, pl: Placement,
                 exposure_s: float, tau: float, t_in: float, ill_s: float, e_cabin: float
                 ) -> tuple[F32, F32, bool, set[str]]:
    """Radiant exposure of the face texture (before the windshield), its occluded mask, whether
    the sun lights the eyes, and the accessory occluders.  ``tau`` windshield NIR transmission,
    ``t_in`` its Fresnel transmittance for the lamps, ``ill_s`` s of full illuminator output,
    ``e_cabin`` diffuse cabin irradiance (W/m²), ``exposure_s`` (s)."""
    occ = pl.occupant
    tex = load_face(occ.face)
    n = TEXTURE_PX
    rows = (np.arange(n) + 0.5) / n
    tl, tr, br, bl = pl.face_corners
    pts = (tl + tr) / 2 + np.outer(rows, (bl + br) / 2 - (tl + tr) / 2)
    sun_rows, visor_rows = sun_through_glazing(sky, g, pts, tau)  # W/m² normal to the rays
    reasons: set[str] = set()
    if visor_rows.any():
        reasons.add("visor_shadow")
    # the face is a half cylinder across its width: column c's surface normal turns by
    # φ = asin(0.85·(2c − 1)) about the face's up axis (ASSUMED head shape)
    side = (tr - tl) / np.linalg.norm(tr - tl)
    phi = np.arcsin(0.85 * (2 * (np.arange(n) + 0.5) / n - 1))
    normals = np.cos(phi)[:, None] * pl.face_normal + np.sin(phi)[:, None] * side  # (n, 3)
    sun_cos = np.clip(normals @ sky.sun_dir, 0.0, None)  # (n,) per column
    centre = pl.face_corners.mean(axis=0)
    lamp_cols = lamp_irradiance(lamps, np.broadcast_to(centre, (n, 3)), normals) * t_in
    diffuse_cols = e_cabin * (0.75 + 0.25 * np.cos(phi))  # less sky on the cheeks
    hidden = np.zeros((n, n), np.float32)
    diffuse = np.broadcast_to(diffuse_cols, (n, n))
    if occ.hat:  # brim shade: no sun, half the skylight
        sun_rows = np.where(rows < HAT_SHADE, 0.0, sun_rows)
        diffuse = np.where((rows < HAT_SHADE)[:, None], 0.5 * diffuse, diffuse)
        reasons.add("hat")
    e_amb = sun_rows[:, None] * sun_cos[None, :] + diffuse
    exposure = (e_amb * exposure_s + lamp_cols[None, :] * ill_s).astype(np.float32)
    rad = tex.grey * np.float32(SKIN_REFLECTANCE_MAX / math.pi) * exposure
    if occ.hat:
        crown = (rows < HAT_CROWN)[:, None] & (tex.mask > 0)
        rad = np.where(crown, np.float32(HAT_REFLECTANCE / math.pi) * exposure, rad)
        hidden[: int(HAT_HIDES * n)] = 1.0
    if occ.sunglasses:
        rad = _sunglasses(rad, hidden)
        reasons.add("sunglasses")
    lit = bool(sun_rows[int(EYE_ROW * n)] * float(sun_cos[n // 2]) > 0)
    return rad.astype(np.float32), hidden, lit, reasons


def _sunglasses(rad: F32, hidden: F32) -> F32:
    """``rad`` seen through the sunglass lenses (NIR transmission, twice); marks the lenses in
    ``hidden`` (in place)."""
    n = TEXTURE_PX
    yy, xx = np.mgrid[0:n, 0:n]
    lens = np.zeros((n, n), bool)
    for ex in EYE_COLS:
        dx = ((xx + 0.5) / n - ex) / SUNGLASS_LENS[0]
        dy = ((yy + 0.5) / n - EYE_ROW) / SUNGLASS_LENS[1]
        lens |= dx ** 2 + dy ** 2 <= 1
    hidden[lens] = 1.0
    return np.where(lens, rad * np.float32(SUNGLASS_NIR_TRANSMISSION ** 2), rad)


def warp_face(pose: CameraPose, sub: Layer, ids: NDArray[np.int16], pl: Placement, rad: F32,
              hidden: F32) -> tuple[int, int]:
    """Warp one face into the cabin layer; mark its pixels in ``ids``; return its pixel
    count and how many of those an accessory hides."""
    uv = pose.project(pl.face_corners)[0] - [sub.x, sub.y]
    h, w = sub.shape
    x0 = max(math.floor(uv[:, 0].min()), 0)
    y0 = max(math.floor(uv[:, 1].min()), 0)
    x1 = min(math.ceil(uv[:, 0].max()) + 1, w)
    y1 = min(math.ceil(uv[:, 1].max()) + 1, h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return 0, 0
    n = TEXTURE_PX
    src = np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float32) - 0.5
    hmat = np.asarray(cv2.getPerspectiveTransform(src, (uv - [x0, y0]).astype(np.float32)),
                      np.float64)
    stack = np.dstack([rad, load_face(pl.occupant.face).mask, hidden])
    warped = cv2.warpPerspective(stack, hmat, (x1 - x0, y1 - y0), flags=cv2.INTER_AREA
                                 if minifies(hmat, n) else cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if warped.ndim == 2:
        warped = warped[:, :, None]
    r, m, hid = warped[..., 0], warped[..., 1], warped[..., 2]
    region = sub.data[y0:y1, x0:x1]
    region *= 1.0 - m
    region += r * m
    face_px = m > 0.5
    idr = ids[y0:y1, x0:x1]
    idr[face_px] = pl.index
    covered = face_px & (hid > 0.5)
    idr[covered] = -3
    return int(face_px.sum()), int(covered.sum())


def face_truth(pose: CameraPose, g: VehicleGeometry, pl: Placement, st: FaceStats,
               counts: tuple[int, int], reasons: set[str], lit: bool, sub: Layer,
               exposure_s: float, window: tuple[int, int, int, int] | None
               ) -> tuple[FaceTruth, FaceSeen | None]:
    """Truth of a warped face: ``counts`` its (pixels, accessory-hidden pixels), ``st`` the
    cabin's face statistics, ``window`` the frame's (x, y, w, h) or None, ``exposure_s`` (s);
    with where it was seen (None when it has no pixels)."""
    p = pose
    dist = float(np.linalg.norm(pl.face_corners.mean(axis=0) - p.position))
    total, hidden = counts
    if total == 0:
        return face_missing(pose, g, pl), None
    k = pl.index
    n_seen, n_own = int(st.seen[k]), int(st.own[k])
    vis = n_seen / total
    reasons = set(reasons)
    if n_own > n_seen:
        reasons.add("frame")
    if total - hidden - n_own > 0.002 * total:
        reasons.add("occupant")
    glare_frac = glare_rad = 0.0
    if n_seen:
        g_sum = float(st.glare[k])
        glare_frac = g_sum / max(float(st.signal[k]), 1e-30)
        glare_rad = g_sum / n_seen / exposure_s
    box = _face_box(pose, pl, window)
    eyes = p.project(np.stack([_bilerp(pl.face_corners, EYE_COLS[0], EYE_ROW),
                               _bilerp(pl.face_corners, EYE_COLS[1], EYE_ROW)]))[0]
    mb, coc = _face_blur(pose, g, pl, exposure_s)
    return FaceTruth(g.vehicle.name, pl.occupant.seat, pl.occupant.face, True, box,
                     min(1.0, vis), tuple(sorted(reasons)), glare_frac, glare_rad, mb, coc,
                     dist, float(np.linalg.norm(eyes[1] - eyes[0])), lit), \
        FaceSeen(sub.x, sub.y, st.ids, st.inside, k)


def _face_box(pose: CameraPose, pl: Placement, window: tuple[int, int, int, int] | None
              ) -> tuple[float, float, float, float]:
    """The face box (texture FACE_BOX) in window pixels: x0, y0, x1, y1."""
    x0f, y0f, x1f, y1f = FACE_BOX
    box3 = np.stack([_bilerp(pl.face_corners, x, y) for x, y in
                     ((x0f, y0f), (x1f, y0f), (x1f, y1f), (x0f, y1f))])
    buv = pose.project(box3)[0]
    wx, wy = (window or (0, 0, 0, 0))[:2]
    return (float(buv[:, 0].min() - wx), float(buv[:, 1].min() - wy),
            float(buv[:, 0].max() - wx), float(buv[:, 1].max() - wy))


def _face_blur(pose: CameraPose, g: VehicleGeometry, pl: Placement, exposure_s: float
               ) -> tuple[float, float]:
    """Motion blur (px, over ``exposure_s`` s) and defocus blur circle (px) of this face: its
    own image velocity (looming differs across the car)."""
    p = pose
    c = pl.face_corners.mean(axis=0)
    dt = 1e-3
    (a0, a1), _ = p.project(np.stack([c, c + g.velocity * dt]))
    mb = float(np.linalg.norm(a1 - a0) / dt * exposure_s)
    dz = float(p.project(c[None])[1][0])
    coc = float(coc_diameter(p.focal_m, p.f_number, p.focus_m, dz)) / p.pixel_m
    return mb, coc


def hidden_by_nearer(ft: FaceTruth, seen: FaceSeen | None, nearer: list[Layer]) -> FaceTruth:
    """Reduce a face's visibility by the part nearer vehicles cover (coverage > ½)."""
    if seen is None or not nearer:
        return ft
    n = int(seen.mask.sum())
    if n == 0:
        return ft
    covered = np.zeros(seen.mask.shape, bool)
    h, w = seen.mask.shape
    for lay in nearer:
        x0, y0 = max(seen.x, lay.x), max(seen.y, lay.y)
        x1 = min(seen.x + w, lay.x + lay.shape[1])
        y1 = min(seen.y + h, lay.y + lay.shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        a = lay.data[y0 - lay.y:y1 - lay.y, x0 - lay.x:x1 - lay.x, 1] > 0.5
        covered[y0 - seen.y:y1 - seen.y, x0 - seen.x:x1 - seen.x] |= a
    frac = float((covered & seen.mask).sum()) / n
    if frac <= 0.002:
        return ft
    return replace(ft, visibility=ft.visibility * (1.0 - frac),
                   occluders=tuple(sorted({*ft.occluders, "vehicle"})))


def _bilerp(q: F64, x: float, y: float) -> F64:
    """Bilinear point (m) of quad ``q`` (tl, tr, br, bl) at fractions ``x`` across, ``y`` down."""
    tl, tr, br, bl = q
    top = tl + x * (tr - tl)
    bot = bl + x * (br - bl)
    return top + y * (bot - top)
