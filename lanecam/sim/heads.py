"""Heads in three dimensions: an ellipsoid head carrying the face texture, and what sits on,
in front of or behind it (cap crown and brim, hand, phone, headrest), as ray-cast primitives.

The head of a placed occupant (:class:`~lanecam.sim.vehicles.Placement`) is an ellipsoid in its
own frame (``right``, ``up``, ``normal`` = the way the face looks).  The face texture is mapped
onto its front half by orthographic projection along ``normal``: seen frontally the head shows
the photo unchanged; turned, the far cheek foreshortens and goes behind the head's silhouette.
Everything else is a primitive row for :func:`lanecam.sim.headcast.cast` (which keeps a depth
buffer, so occlusion is by depth, never by drawing order).

Positions are world metres; sizes of an adult head, scaled by ``Occupant.head_scale``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from .constants import (
    CABIN_REFLECTANCE,
    FACE_PLANE_M,
    HAT_HIDES,
    HAT_REFLECTANCE,
    SKIN_REFLECTANCE_MAX,
)
from .textures import EYE_COLS, EYE_ROW, TEXTURE_PX
from .vehicles import Placement

__all__ = ["HEAD_RADII_M", "ID", "NPRIM", "HeadFrame", "brim_shades", "face_samples", "head_frame",
           "head_primitives", "headrest_primitive", "seen_pose", "texel_geometry"]

F64 = NDArray[np.float64]

#: Adult head ellipsoid semi-axes (m): half breadth, half height (vertex to below the chin,
#: the neck included), half length (ASSUMED, adult anthropometry: breadth ≈ 15 cm, length
#: ≈ 20 cm; the height is stretched to the neck so the chin is not at a pole).
HEAD_RADII_M = (0.085, 0.135, 0.105)
#: The head ellipsoid's centre lies this far below the eyes (m, ASSUMED).
HEAD_CENTRE_BELOW_EYE_M = 0.02
#: Nose: ellipsoid semi-axes (m: across, up, out) and its centre below the eyes (m); its
#: centre sits on the head's front surface, so it stands out by its out semi-axis (ASSUMED:
#: a nose ≈ 3 cm wide, 7 cm long, 2.5 cm proud, enough to hide the far eye at ≈ 60° yaw).
NOSE_RADII_M, NOSE_BELOW_EYE_M = (0.014, 0.035, 0.025), 0.025
#: Headrest semi-axes (m, ASSUMED: a 26 × 20 × 10 cm cushion).
HEADREST_RADII_M = (0.13, 0.10, 0.05)
#: Cap crown: the head ellipsoid grown by this factor above the texture row ``HAT_HIDES``;
#: its brim a half ellipse (semi-axes m: across, forward) tilted down by ``BRIM_TILT_DEG``
#: (ASSUMED baseball cap).
CAP_GROW, BRIM_SEMI_M, BRIM_TILT_DEG = 1.04, (0.095, 0.075), 12.0
#: Hand over the chin and mouth: ellipsoid semi-axes (m) and centre in the head frame
#: (right, up from the eyes, ahead of the head centre) (ASSUMED).
HAND_RADII_M, HAND_AT_M = (0.045, 0.06, 0.018), (0.02, -0.085, 0.13)
#: Phone held before the lower face, landscape: half sizes (m) and centre as for the hand
#: (ASSUMED 14.5 × 7 cm phone); the hand holding it sits below it.
PHONE_HALF_M, PHONE_AT_M = (0.0725, 0.035), (0.0, -0.07, 0.175)
#: The hand holding the phone, below it (head frame as ``HAND_AT_M``, ASSUMED).
PHONE_HAND_AT_M = (0.0, -0.13, 0.15)
#: NIR reflectance of a phone's back and glass (ASSUMED dark).
PHONE_REFLECTANCE = 0.05
#: Face mask: texture rows it covers (fractions, nose bridge to chin), half width (fraction of
#: the texture) and NIR reflectance of a pale surgical mask (ASSUMED).
MASK_ROWS, MASK_HALF_WIDTH, MASK_REFLECTANCE = (0.50, 0.92), 0.31, 0.6

#: Primitive kinds (column 0 of a primitive row).
ELLIPSOID, HALF_DISC, RECT, CLIPPED = 0, 1, 2, 3
#: Id-map codes: ≥ 0 a face's pixels (its index), −(100 + i) occupant i's head outside its
#: face (hair, ears, neck), and the rest below.
ID = {"cabin": -1, "body": -2, "sunglasses": -3, "hand": -4, "phone": -5, "headrest": -6,
      "hat": -7, "mask": -8, "cap_brim": -9}
#: Texture ``hidden`` channel codes → id codes.
HIDDEN_CODES = {1: ID["sunglasses"], 2: ID["mask"]}
#: Columns of a primitive row: 0 kind, 1 id (a head's: its hair id), 2 texture slot (−1
#: none), 3 radiant exposure, 4–6 centre (m), 7–15 world → unit-local matrix (row-major); a
#: clipped ellipsoid: 16 the lowest unit-local height kept; a head: 16–17 radii across and up
#: (m), 18 texture width (m), 19 eye height above the head's centre (m), 20 face index,
#: 21–22 the primitive's centre in the head frame (m, across and up; the nose's is off 0),
#: 23 1 if textured on its back half too (the nose).
NPRIM = 24


@dataclass(frozen=True)
class HeadFrame:
    """An occupant's head: ellipsoid ``centre`` (m), ``axes`` rows right, up, normal (unit),
    ``radii`` (m), texture width ``tex_m`` (m) and the eyes' height above the centre (m)."""

    centre: F64
    axes: F64
    radii: F64
    tex_m: float
    eye_up_m: float
    scale: float

    def to_world(self, local: F64) -> F64:
        """Head-frame points (…, 3) (m) → world."""
        flat = np.asarray(local).reshape(-1, 3) @ self.axes
        return (flat + self.centre).reshape(np.shape(local))

    def surface(self, x: F64, y: F64, nose: bool = True) -> tuple[F64, F64]:
        """Front-surface depth z (m, NaN off the head) and head-frame unit normals of points
        (x right, y up from the centre, m): the head ellipsoid or the nose before it (unless
        ``nose`` is False: lighting uses the smooth head, the photo has its own nose shading)."""
        z, n = _front(x, y, self.radii)
        if not nose:
            return z, n
        nc = self.nose_centre
        zn, nn = _front(x - nc[0], y - nc[1], self.nose_radii)
        zn = zn + nc[2]
        on_nose = np.isfinite(zn) & (zn > np.nan_to_num(z, nan=-1.0))
        return np.where(on_nose, zn, z), np.where(on_nose[..., None], nn, n)

    @property
    def nose_radii(self) -> F64:
        return np.array(NOSE_RADII_M) * self.scale

    @property
    def nose_centre(self) -> F64:
        """The nose ellipsoid's centre in the head frame (m)."""
        return _nose_centre(self.scale)


@cache
def _nose_centre(scale: float) -> F64:
    y = (HEAD_CENTRE_BELOW_EYE_M - NOSE_BELOW_EYE_M) * scale
    radii = np.array(HEAD_RADII_M) * scale
    out = np.array([0.0, y, float(_front(np.zeros(1), np.array([y]), radii)[0][0])])
    out.flags.writeable = False
    return out


def _front(x: F64, y: F64, radii: F64) -> tuple[F64, F64]:
    """Front z (NaN outside) and unit normals of an origin-centred ellipsoid at (x, y) (m)."""
    a, b, c = radii
    s = 1.0 - (x / a) ** 2 - (y / b) ** 2
    z = np.where(s >= 0, c * np.sqrt(np.clip(s, 0, None)), np.nan)
    n = np.stack([x / a ** 2, y / b ** 2, z / c ** 2], axis=-1)
    return z, n / np.linalg.norm(n, axis=-1, keepdims=True)


def head_frame(pl: Placement) -> HeadFrame:
    """The head of placement ``pl`` (recovered from its face quad, see ``Vehicle._place``)."""
    tl, tr, _, bl = pl.face_corners
    k = pl.occupant.head_scale
    right = (tr - tl) / np.linalg.norm(tr - tl)
    up = (tl - bl) / np.linalg.norm(tl - bl)
    normal = pl.face_normal
    eye_pt = pl.face_corners.mean(axis=0) + up * (0.1 * k * FACE_PLANE_M) - normal * (0.09 * k)
    centre = eye_pt - up * (HEAD_CENTRE_BELOW_EYE_M * k)
    return HeadFrame(centre, np.stack([right, up, normal]), np.array(HEAD_RADII_M) * k,
                     k * FACE_PLANE_M, HEAD_CENTRE_BELOW_EYE_M * k, k)


def texel_geometry(hf: HeadFrame, n: int = TEXTURE_PX, nose: bool = True
                   ) -> tuple[F64, F64, NDArray[np.bool_]]:
    """World points (n, n, 3), world unit normals (n, n, 3) and on-head flags (n, n) of the
    texture's texel centres on the head's front surface (with the nose or without)."""
    local, nrm, on = _local_texels(hf.scale, n, nose)
    return hf.to_world(local), nrm @ hf.axes, on


@cache
def _local_texels(scale: float, n: int, nose: bool) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Head-frame texel points, unit normals and on-head flags of a head of ``scale`` (cached:
    they depend on nothing else)."""
    hf = HeadFrame(np.zeros(3), np.eye(3), np.array(HEAD_RADII_M) * scale,
                   scale * FACE_PLANE_M, HEAD_CENTRE_BELOW_EYE_M * scale, scale)
    f = (np.arange(n) + 0.5) / n
    x = (f - 0.5) * hf.tex_m
    y = hf.eye_up_m + (EYE_ROW - f) * hf.tex_m
    xx, yy = np.meshgrid(x, y)
    z, nrm = hf.surface(xx, yy, nose)
    on = np.isfinite(z)
    local = np.stack([xx, yy, np.nan_to_num(z)], axis=-1)
    nrm = np.nan_to_num(nrm, nan=0.0)
    nrm[~on] = (0.0, 0.0, 1.0)
    for arr in (local, nrm, on):
        arr.flags.writeable = False
    return local, nrm, on


def face_samples(hf: HeadFrame, select: NDArray[np.bool_]) -> tuple[F64, F64]:
    """World points and unit normals of the texels ``select`` (n × n) on the head (with nose)."""
    local, nrm = _selected(hf.scale, select.tobytes(), select.shape[0])
    return hf.to_world(local), nrm @ hf.axes


@cache
def _selected(scale: float, key: bytes, n: int) -> tuple[F64, F64]:
    local, nrm, on = _local_texels(scale, n, True)
    sel = np.frombuffer(key, bool).reshape(n, n) & on
    return local[sel], nrm[sel]


def eye_points(hf: HeadFrame) -> F64:
    """The eye centres (2, 3) (m) on the head's surface (image left, image right texels)."""
    return hf.to_world(_local_eyes(hf.scale))


@cache
def _local_eyes(scale: float) -> F64:
    hf = HeadFrame(np.zeros(3), np.eye(3), np.array(HEAD_RADII_M) * scale,
                   scale * FACE_PLANE_M, HEAD_CENTRE_BELOW_EYE_M * scale, scale)
    x = (np.array(EYE_COLS) - 0.5) * hf.tex_m
    y = np.full(2, hf.eye_up_m)
    z, _ = hf.surface(x, y)
    out = np.stack([x, y, z], axis=-1)
    out.flags.writeable = False
    return out


def seen_pose(hf: HeadFrame, camera: F64, up_px: F64) -> tuple[float, float, float]:
    """Head yaw, pitch and roll (deg) as seen from ``camera`` (m): 0, 0, 0 looks straight into
    the lens; signs as ``Occupant`` (yaw > 0 towards +x, pitch > 0 nods down) for a camera ahead.
    ``up_px`` is the image vector (px) of the head's up axis (for roll)."""
    v = camera - hf.centre
    vx, vy, vz = hf.axes @ (v / np.linalg.norm(v))
    yaw = math.degrees(math.atan2(-vx, vz))
    pitch = math.degrees(math.atan2(vy, math.hypot(vx, vz)))
    roll = math.degrees(math.atan2(-float(up_px[0]), -float(up_px[1])))
    return yaw, pitch, roll


def _row(kind: int, ident: int, centre: F64, m: F64, value: float = 0.0) -> F64:
    r = np.zeros(NPRIM)
    r[0], r[1], r[2], r[3] = kind, ident, -1, value
    r[4:7] = centre
    r[7:16] = m.ravel()
    return r


def _unit_matrix(axes: F64, radii: F64) -> F64:
    """World → unit-local matrix of a primitive with frame ``axes`` (rows) and semi-axes."""
    return axes / np.asarray(radii)[:, None]


def _brim(hf: HeadFrame) -> tuple[F64, F64]:
    """The cap brim's centre (m) and frame rows (across, forward, plane normal)."""
    r, u, nrm = hf.axes
    y = hf.eye_up_m + (EYE_ROW - HAT_HIDES) * hf.tex_m
    z0 = float(hf.surface(np.zeros(1), np.array([y]))[0][0]) * CAP_GROW
    t = math.radians(BRIM_TILT_DEG)
    fwd = math.cos(t) * nrm - math.sin(t) * u
    centre = hf.to_world(np.array([0.0, y, z0 - 0.015]))
    return centre, np.stack([r, fwd, np.cross(r, fwd)])


def brim_shades(hf: HeadFrame, pts: F64, sun_dir: F64) -> NDArray[np.bool_]:
    """Which points (…, 3) (m) the cap brim hides from the sun (direction ``sun_dir``)."""
    c, ax = _brim(hf)
    semi = np.array(BRIM_SEMI_M) * hf.scale
    dn = float(ax[2] @ sun_dir)
    if abs(dn) < 1e-9:
        return np.zeros(pts.shape[:-1], bool)
    t = ((c - pts) @ ax[2]) / dn
    hit = pts + t[..., None] * sun_dir
    lx = ((hit - c) @ ax[0]) / semi[0]
    ly = ((hit - c) @ ax[1]) / semi[1]
    return (t > 0) & (lx ** 2 + ly ** 2 <= 1) & (ly >= 0)


def head_primitives(pl: Placement, hf: HeadFrame, slot: int, hair: float, flat: float,
                    before: float | None = None) -> list[F64]:
    """Primitive rows of one occupant's head (texture ``slot``; ``hair`` radiance × s of its
    hair, ``flat`` radiant exposure (J/m²) on the head, lighting the cap, ``before`` that in
    front of the lower face (default ``flat``), lighting a hand or phone), its cap, hand or
    phone."""
    before = flat if before is None else before
    occ = pl.occupant
    k = hf.scale
    rows = []
    for centre, radii in ((np.zeros(3), hf.radii), (hf.nose_centre, hf.nose_radii)):
        r = _row(ELLIPSOID, -(100 + pl.index), hf.to_world(centre),
                 _unit_matrix(hf.axes, radii), hair)
        r[2], r[16:18], r[18], r[19], r[20], r[21:23] = (slot, radii[:2], hf.tex_m,
                                                         hf.eye_up_m, pl.index, centre[:2])
        r[23] = centre[2] != 0  # the nose: textured all round (its back is inside the head)
        rows.append(r)
    cap_v = flat * HAT_REFLECTANCE / math.pi
    if occ.hat:
        clip_y = (hf.eye_up_m + (EYE_ROW - HAT_HIDES) * hf.tex_m) / (hf.radii[1] * CAP_GROW)
        crown = _row(CLIPPED, ID["hat"], hf.centre,
                     _unit_matrix(hf.axes, hf.radii * CAP_GROW), cap_v)
        crown[16] = clip_y
        c, ax = _brim(hf)
        rows += [crown, _row(HALF_DISC, ID["cap_brim"], c,
                             _unit_matrix(ax, (*np.array(BRIM_SEMI_M) * k, 1.0)), 0.5 * cap_v)]
    skin = before * SKIN_REFLECTANCE_MAX * 0.7 / math.pi  # back of a hand (ASSUMED 70 % of max)
    if occ.hand in ("hand", "phone"):
        at = np.array(HAND_AT_M if occ.hand == "hand" else PHONE_HAND_AT_M)
        c = hf.to_world(at * k + [0, hf.eye_up_m, 0])
        rows.append(_row(ELLIPSOID, ID["hand"], c,
                         _unit_matrix(hf.axes, np.array(HAND_RADII_M) * k), skin))
    if occ.hand == "phone":
        c = hf.to_world(np.array(PHONE_AT_M) * k + [0, hf.eye_up_m, 0])
        rows.append(_row(RECT, ID["phone"], c, _unit_matrix(
            hf.axes, (*np.array(PHONE_HALF_M) * k, 1.0)), before * PHONE_REFLECTANCE / math.pi))
    return rows


def headrest_primitive(centre: F64, flat: float) -> F64:
    """The primitive row of a headrest at ``centre`` (m; seat fabric, ``flat`` as in
    :func:`head_primitives`)."""
    return _row(ELLIPSOID, ID["headrest"], centre, _unit_matrix(np.eye(3), HEADREST_RADII_M),
                flat * CABIN_REFLECTANCE / math.pi)
