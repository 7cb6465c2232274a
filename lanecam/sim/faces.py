"""The occupants' faces in a frame: each face texture lit on its 3-D head inside the cabin
(sun through the glazing, skylight, the NIR lamps; per-texel normals of the head ellipsoid;
cap brim, visor and sunglasses; a mask), prefiltered for the head's size in the image, and
its ground truth (visibility over surface samples by depth, occluders, glare, blur, eye
distance, seen pose).  Casting the heads is :mod:`~lanecam.sim.occupants`'s job.

Positions are world metres, pixel coordinates frame pixels, radiance W·m⁻²·sr⁻¹, radiant
exposure radiance × s, irradiance W/m².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np
from numpy.typing import NDArray

from .constants import (
    HAT_SHADE,
    SKIN_REFLECTANCE_MAX,
    SUNGLASS_LENS,
    SUNGLASS_NIR_TRANSMISSION,
)
from .heads import (
    ID,
    MASK_HALF_WIDTH,
    MASK_REFLECTANCE,
    MASK_ROWS,
    HeadFrame,
    brim_shades,
    eye_points,
    face_samples,
    seen_pose,
    texel_geometry,
)
from .image_sensor import face_stats
from .lighting import lamp_irradiance, sun_through_glazing
from .optics import coc_diameter
from .raster import F32, F64, Layer
from .sky import Sky
from .textures import EYE_COLS, EYE_ROW, FACE_BOX, TEXTURE_PX, face_names, load_face
from .truth import FaceTruth
from .vehicles import Placement, VehicleGeometry
from .world import CameraPose, Lamp

__all__ = ["FaceSeen", "FaceStats", "HeadView", "face_missing", "face_texture", "face_truth",
           "hidden_by_nearer", "shrink_texture"]

#: The face is lit every this many texels (normals, sun, brim shadow, lamps), interpolated
#: between (6.6 mm on an adult face: the shading is smooth, the photo carries the detail).
_LIGHT_STEP = 4
#: Lighting normals keep this share of the ellipsoid's up-down tilt: the ellipsoid is stretched
#: to the neck, so it tilts brow and chin more than a face's front does (ASSUMED, about the
#: 15–25° slope of a forehead).
_FACE_TILT = 0.5
#: A face sample is the nearest surface at its pixel if the depth buffer there is no more than
#: this much (m) plus two pixel footprints nearer; nearer occluders (hand, phone, brim, another
#: head) stand ≥ 2 cm off the face.
_DEPTH_TOL_M = 0.015


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
                 hf: HeadFrame, exposure_s: float, tau: float, t_in: float, ill_s: float,
                 e_cabin: float) -> tuple[F32, F32, bool, set[str], float]:
    """Radiant exposure of the face texture on the head ``hf`` (before the windshield), its
    ``hidden`` codes (:data:`~lanecam.sim.heads.HIDDEN_CODES`: lenses, mask), whether the sun
    lights the eyes, the accessory occluders and the mean radiant exposure (J/m²) over the
    lower face (what a hand or phone before it receives).  ``tau`` windshield NIR transmission,
    ``t_in`` its Fresnel transmittance for the lamps, ``ill_s`` s of full illuminator output,
    ``e_cabin`` diffuse cabin irradiance (W/m²), ``exposure_s`` (s).  Every texel is lit with
    its own surface normal on the head ellipsoid (up-down tilt scaled by ``_FACE_TILT``)."""
    occ = pl.occupant
    tex = load_face(occ.face)
    n, k = TEXTURE_PX, TEXTURE_PX // _LIGHT_STEP  # lit on a k × k grid, then interpolated
    rows = (np.arange(k) + 0.5) / k
    pts, normals, _ = texel_geometry(hf, k, nose=False)
    local = normals @ hf.axes.T  # the face is flatter top to bottom than the head ellipsoid
    local[..., 1] *= _FACE_TILT
    normals = (local / np.linalg.norm(local, axis=-1, keepdims=True)) @ hf.axes
    sun_rows, visor_rows = sun_through_glazing(sky, g, pts[:, k // 2], tau)  # W/m² ⊥ rays
    reasons: set[str] = set()
    if visor_rows.any():
        reasons.add("visor_shadow")
    sun_cos = np.clip(normals @ sky.sun_dir, 0.0, None)  # (k, k)
    if occ.hat and sky.sun_dir[1] > 0:  # the brim's shadow, cast per texel
        sun_cos = np.where(brim_shades(hf, pts, sky.sun_dir), 0.0, sun_cos)
    lamp = lamp_irradiance(lamps, pts.reshape(-1, 3), normals.reshape(-1, 3)).reshape(k, k)
    # less sky on the cheeks (ASSUMED, as the former half cylinder)
    diffuse = e_cabin * (0.75 + 0.25 * np.clip(normals @ pl.face_normal, 0.0, None))
    if occ.hat:  # brim shade: half the skylight
        diffuse = np.where((rows < HAT_SHADE)[:, None], 0.5 * diffuse, diffuse)
        reasons.add("hat")
    e_amb = sun_rows[:, None] * sun_cos + diffuse
    exposure = cv2.resize((e_amb * exposure_s + lamp * (t_in * ill_s)).astype(np.float32),
                          (n, n), interpolation=cv2.INTER_LINEAR)
    rad = tex.grey * np.float32(SKIN_REFLECTANCE_MAX / math.pi) * exposure
    hidden = np.zeros((n, n), np.float32)
    if occ.sunglasses:
        rad = _sunglasses(rad, hidden)
        reasons.add("sunglasses")
    if occ.mask:
        rad = _mask(rad, hidden, exposure, tex.mask)
        reasons.add("mask")
    er, (c0, c1) = int(EYE_ROW * k), (int(x * k) for x in EYE_COLS)
    lit = bool(sun_rows[er] * max(float(sun_cos[er, c0]), float(sun_cos[er, c1])) > 0)
    e_lower = float(exposure[int(0.6 * n):int(0.9 * n), int(0.3 * n):int(0.7 * n)].mean())
    return rad.astype(np.float32), hidden, lit, reasons, e_lower


def _sunglasses(rad: F32, hidden: F32) -> F32:
    """``rad`` seen through the sunglass lenses (NIR transmission, twice); marks the lenses in
    ``hidden`` (in place, code 1)."""
    n = TEXTURE_PX
    yy, xx = np.mgrid[0:n, 0:n]
    lens = np.zeros((n, n), bool)
    for ex in EYE_COLS:
        dx = ((xx + 0.5) / n - ex) / SUNGLASS_LENS[0]
        dy = ((yy + 0.5) / n - EYE_ROW) / SUNGLASS_LENS[1]
        lens |= dx ** 2 + dy ** 2 <= 1
    hidden[lens] = 1.0
    return np.where(lens, rad * np.float32(SUNGLASS_NIR_TRANSMISSION ** 2), rad)


def _mask(rad: F32, hidden: F32, exposure: F32, skin: F32) -> F32:
    """``rad`` with a face mask over nose and mouth (its radiant exposure from ``exposure``, lit
    like the skin under it); marks it in ``hidden`` (in place, code 2)."""
    n = TEXTURE_PX
    f = (np.arange(n) + 0.5) / n
    cover = ((f >= MASK_ROWS[0]) & (f <= MASK_ROWS[1]))[:, None] \
        & (np.abs(f - 0.5) <= MASK_HALF_WIDTH)[None, :] & (skin > 0.3)
    hidden[cover] = 2.0
    return np.where(cover, np.float32(MASK_REFLECTANCE / math.pi) * exposure, rad)


def shrink_texture(pose: CameraPose, hf: HeadFrame, rad: F32, hidden: F32, skin: F32
                   ) -> tuple[F32, int]:
    """The (3, 128, 128) texture slot (radiance, skin mask, hidden code) prefiltered to about one
    texel per image pixel at the head's depth (INTER_AREA; codes nearest), and its size."""
    n = TEXTURE_PX
    depth = float(pose.project(hf.centre[None])[1][0])
    m = int(np.clip(round(hf.tex_m * pose.focal_xy[0] / max(depth, 1e-3)), 8, n))
    out = np.zeros((3, n, n), np.float32)
    if m == n:
        out[0], out[1], out[2] = rad, skin, hidden
        return out, n
    for i, img in enumerate((rad, skin)):
        out[i, :m, :m] = cv2.resize(img, (m, m), interpolation=cv2.INTER_AREA)
    out[2, :m, :m] = cv2.resize(hidden, (m, m), interpolation=cv2.INTER_NEAREST)
    return out, m


@dataclass
class HeadView:
    """A head as cast into one cabin patch: its frame and the patch's depth buffer (m)."""

    head: HeadFrame
    zbuf: F32


def face_truth(pose: CameraPose, g: VehicleGeometry, pl: Placement, st: FaceStats,
               view: HeadView, reasons: set[str], lit: bool, sub: Layer,
               exposure_s: float, window: tuple[int, int, int, int] | None
               ) -> tuple[FaceTruth, FaceSeen | None]:
    """Truth of a cast face: ``view`` its head and the cabin's depth buffer, ``st`` the cabin's
    face statistics, ``window`` the frame's (x, y, w, h) or None, ``exposure_s`` (s); with where
    it was seen (None when it has no pixels).

    Visibility is the share of the face's surface samples (texels of ``FACE_BOX`` inside the
    skin mask, as seen frontally) that face the camera and are the nearest surface at their
    pixel, drawn as this face, inside the glass; what hides the rest names the occluders."""
    k = pl.index
    hf = view.head
    if int(st.own[k]) == 0:
        return face_missing(pose, g, pl), None
    pts, nrm = _samples(hf)
    uv, z = pose.project(pts)
    uv -= [sub.x, sub.y]
    h, w = st.ids.shape
    ix, iy = np.floor(uv[:, 0] + 0.5).astype(int), np.floor(uv[:, 1] + 0.5).astype(int)
    in_sub = (ix >= 0) & (iy >= 0) & (ix < w) & (iy < h)
    ix, iy = np.where(in_sub, ix, 0), np.where(in_sub, iy, 0)
    facing = np.einsum("ij,ij->i", nrm, pose.position - pts) > 0
    idp = np.where(in_sub, st.ids[iy, ix], -1)
    # a pixel's footprint (m) widens the tolerance: on a steep cheek neighbouring pixels'
    # depths differ by more than the surface's own relief
    tol = _DEPTH_TOL_M + 2.0 * z / pose.focal_xy[0]
    zpix = view.zbuf[iy, ix]
    front = in_sub & (zpix >= z - tol)
    # the own head at the sample's depth: its face, or hair where the skin mask's edge fell
    # on the pixel centre (texture discretisation, not an occluder)
    own = (idp == k) | (idp == -(100 + k))
    inside = st.inside[iy, ix] & in_sub
    visible = facing & own & front & inside
    behind = in_sub & (zpix > z + tol)  # off its own silhouette: the pixel shows what's behind
    reasons = set(reasons) | _hidden_by(visible, facing & ~behind, in_sub, own, front, inside,
                                        idp, k)
    dist = float(np.linalg.norm(hf.centre - pose.position))
    n_seen = int(st.seen[k])
    glare_frac = glare_rad = 0.0
    if n_seen:
        g_sum = float(st.glare[k])
        glare_frac = g_sum / max(float(st.signal[k]), 1e-30)
        glare_rad = g_sum / n_seen / exposure_s
    wx, wy = (window or (0, 0, 0, 0))[:2]
    sel = uv[facing] if facing.any() else uv
    box = (float(sel[:, 0].min() + sub.x - wx), float(sel[:, 1].min() + sub.y - wy),
           float(sel[:, 0].max() + sub.x - wx), float(sel[:, 1].max() + sub.y - wy))
    eyes = eye_points(hf)
    euv, ez = pose.project(eyes)
    up_uv = pose.project(np.stack([hf.centre, hf.centre + hf.axes[1] * 0.1]))[0]
    yaw, pitch, roll = seen_pose(hf, pose.position, up_uv[1] - up_uv[0])
    mb, coc = _face_blur(pose, g, pl, exposure_s)
    return FaceTruth(g.vehicle.name, pl.occupant.seat, pl.occupant.face, True, box,
                     float(visible.mean()), tuple(sorted(reasons)), glare_frac, glare_rad,
                     mb, coc, dist, float(np.linalg.norm(euv[1] - euv[0])), lit,
                     yaw, pitch, roll, _eyes_seen(pose, hf, eyes, euv - [sub.x, sub.y], ez,
                                                  view.zbuf)), \
        FaceSeen(sub.x, sub.y, st.ids, st.inside, k)


def _samples(hf: HeadFrame) -> tuple[F64, F64]:
    """World points and unit normals of the face's visibility samples (every other texel of
    ``FACE_BOX`` where the skin mask is ≥ 0.99)."""
    return face_samples(hf, _sample_texels())


@cache
def _sample_texels() -> NDArray[np.bool_]:
    n = TEXTURE_PX
    f = (np.arange(n) + 0.5) / n
    x0, y0, x1, y1 = FACE_BOX
    sel = (load_face(face_names()[0]).mask >= 0.99) & ((f >= y0) & (f <= y1))[:, None] \
        & ((f >= x0) & (f <= x1))
    sel[1::2] = False
    sel[:, 1::2] = False
    return sel


def _hidden_by(visible: NDArray[np.bool_], facing: NDArray[np.bool_],
               in_sub: NDArray[np.bool_], own: NDArray[np.bool_], front: NDArray[np.bool_],
               inside: NDArray[np.bool_], idp: NDArray[np.int16], k: int) -> set[str]:
    """Names of what hides the samples that are not ``visible`` (each ≥ 0.2 % of them; the
    head itself ≥ 1 %):
    ``pose`` the head itself (turned away, grazing its silhouette, or behind its own nearer
    part: the nose), ``frame`` outside the glass,
    ``occupant`` another person, else the accessory or headrest whose id covers them."""
    hidden = ~visible
    limit = max(1, int(0.002 * len(visible)))
    names: dict[str, NDArray[np.bool_]] = {
        "pose": hidden & (~facing | (in_sub & own & ~front)),
        "frame": hidden & facing & (~in_sub | (own & front & ~inside)),
        "occupant": hidden & facing & in_sub & ~own & (
            ((idp >= 0) | (idp <= -100) | (idp == ID["body"])) & (idp != -(100 + k))),
    }
    for name, code in ID.items():
        if code not in (ID["cabin"], ID["body"]):
            names[name] = hidden & facing & in_sub & (idp == code)
    # the nose hides a sliver beside it at any angle off frontal: named from 1 % of the face
    return {n for n, m in names.items()
            if int(m.sum()) >= (max(limit, int(0.01 * len(visible))) if n == "pose" else limit)}


def _eyes_seen(pose: CameraPose, hf: HeadFrame, eyes: F64, uv: F64, z: F64, zbuf: F32) -> int:
    """How many eye centres face the camera and are the nearest surface at their pixel (a lens
    over them counts as seen)."""
    h, w = zbuf.shape
    n = 0
    for e, (u, v), d in zip(eyes, uv, z, strict=True):
        nrm = (e - hf.centre) @ hf.axes.T / hf.radii ** 2
        facing = float((nrm @ hf.axes) @ (pose.position - e)) > 0
        iu, iv = math.floor(u + 0.5), math.floor(v + 0.5)
        if facing and 0 <= iu < w and 0 <= iv < h and zbuf[iv, iu] >= d - _DEPTH_TOL_M - 2.0 * d / pose.focal_xy[0]:
            n += 1
    return n


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
