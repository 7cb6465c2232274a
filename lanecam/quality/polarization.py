"""Polarization kernels: Stokes images of a 2×2 DoFP mosaic; Malus' law for a rotatable polarizer.

Division-of-focal-plane sensors (Sony Polarsens IMX250MZR/IMX253MZR) put a 0°/45°/90°/135°
wire-grid polarizer over each pixel of a 2×2 super-pixel.  Which angle sits where differs by
vendor, so the layout is always a parameter (from the camera's firmware profile, e.g.
``Profile.polarization_layout``): a row-major 2×2 of angles in degrees, e.g.
:data:`LAYOUT_SFNC` ``((135, 0), (90, 45))`` or :data:`LAYOUT_90_45_135_0`.

Formulas (least squares over the four analyzers; physics_quality.md §1.5)::

    S0 = (I0 + I45 + I90 + I135) / 2     S1 = I0 − I90     S2 = I45 − I135
    P = √(S1² + S2²)    DoLP = P / S0    AoLP = ½·atan2(S2, S1)
    I_max = (S0 + P) / 2                 I_min = (S0 − P) / 2

Stokes images live on the super-pixel grid (half resolution in each axis; an odd last row or
column is ignored).  Intensities are in the raw frame's native DN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import prange

from ..errors import ConfigError, LimitError
from ..jit import njit
from .kernels import Roi, as_roi_array

__all__ = [
    "DOLP_GATE",
    "LAYOUT_90_45_135_0",
    "LAYOUT_SFNC",
    "Layout",
    "MalusFit",
    "StokesImages",
    "choose_channel",
    "fit_malus",
    "fit_malus_samples",
    "stokes",
    "validate_layout",
]

Layout = tuple[tuple[int, int], tuple[int, int]]
"""Analyzer angles (degrees) of the 2×2 super-pixel, row-major: ``((top-left, top-right),
(bottom-left, bottom-right))``."""

LAYOUT_SFNC: Layout = ((135, 0), (90, 45))
"""SFNC ``PolarizedRaw`` text: 135° and 0° on even lines, 90° and 45° on odd lines."""
LAYOUT_90_45_135_0: Layout = ((90, 45), (135, 0))
"""FLIR raw order / CVB ``Square_90_45_135_0`` (rows of the SFNC layout swapped)."""

_ANGLES = (0, 45, 90, 135)


def validate_layout(layout: Sequence[Sequence[int]]) -> np.ndarray:
    """Check a 2×2 layout holds 0, 45, 90 and 135 once each → int64 ``(4, 2)`` (dy, dx) per angle.

    Rows of the result are in angle order 0°, 45°, 90°, 135°.  Raises :class:`ConfigError`.
    """
    try:
        cells = [[int(a) for a in row] for row in layout]
    except (TypeError, ValueError) as exc:
        raise ConfigError("polarization layout must be a 2×2 array of angles",
                          key="polarization.layout", allowed=list(_ANGLES)) from exc
    flat = sorted(a for row in cells for a in row)
    if len(cells) != 2 or any(len(r) != 2 for r in cells) or flat != list(_ANGLES):
        raise ConfigError("polarization layout must hold 0, 45, 90 and 135 once each in a 2×2",
                          key="polarization.layout", allowed=list(_ANGLES))
    pos = {cells[dy][dx]: (dy, dx) for dy in range(2) for dx in range(2)}
    return np.array([pos[a] for a in _ANGLES], np.int64)


@dataclass(frozen=True, slots=True)
class StokesImages:
    """Per-super-pixel polarization images, each float32 ``(height // 2, width // 2)``.

    ``s0``, ``s1``, ``s2``, ``i_min``, ``i_max`` in the raw frame's DN; ``dolp`` dimensionless,
    clipped to [0, 1] (0 where ``s0 ≤ 0``); ``aolp`` in radians, [−π/2, π/2], measured from the
    0° analyzer (polynomial arctangent, within 1e-6 rad of ``½·atan2``).  ``i_min`` (the
    glare-reduced image) is floored at 0: sensor noise can make the estimated polarized part
    exceed ``s0``.
    """

    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    dolp: np.ndarray
    aolp: np.ndarray
    i_min: np.ndarray
    i_max: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> StokesImages:
        """Preallocated outputs for :func:`stokes` (``out=``) on frames of raw ``shape``."""
        h, w = shape[0] // 2, shape[1] // 2
        return cls(*(np.empty((h, w), np.float32) for _ in range(7)))


_ATAN_C = (0.9999993329, -0.3332985605, 0.1994653599, -0.1390853351, 0.0964200441,
           -0.0559098861, 0.0218612288, -0.0040540580)
"""Abramowitz & Stegun 4.4.49: atan(a) on [0, 1] to |ε| ≤ 2e-8 rad (float32 rounding dominates)."""


@njit(nogil=True, cache=True, inline="always")
def _atan2(y, x):
    """Branch-free float32 atan2 (|error| < 1e-6 rad), vectorizable unlike libm's."""
    ax = abs(x)
    ay = abs(y)
    hi = max(ax, ay)
    lo = min(ax, ay)
    a = lo / hi if hi > 0 else np.float32(0.0)
    s = a * a
    r = np.float32(_ATAN_C[7])
    r = r * s + np.float32(_ATAN_C[6])
    r = r * s + np.float32(_ATAN_C[5])
    r = r * s + np.float32(_ATAN_C[4])
    r = r * s + np.float32(_ATAN_C[3])
    r = r * s + np.float32(_ATAN_C[2])
    r = r * s + np.float32(_ATAN_C[1])
    r = (r * s + np.float32(_ATAN_C[0])) * a
    r = np.float32(1.5707963267948966) - r if ay > ax else r
    r = np.float32(3.141592653589793) - r if x < 0 else r
    return -r if y < 0 else r


@njit(nogil=True, cache=True)
def _stokes_row(r0, r45, r90, r135, x0, x45, x90, x135, s0, s1, s2, dolp, aolp, imin, imax):
    """One super-pixel row: 4 reads, 7 writes per super-pixel."""
    for i in range(s0.shape[0]):
        a = np.float32(r0[2 * i + x0])
        b = np.float32(r45[2 * i + x45])
        c = np.float32(r90[2 * i + x90])
        d = np.float32(r135[2 * i + x135])
        t = np.float32(0.5) * (a + b + c + d)
        u = a - c
        v = b - d
        p = np.sqrt(u * u + v * v)
        s0[i] = t
        s1[i] = u
        s2[i] = v
        q = p / t if t > 0 else np.float32(0.0)
        dolp[i] = min(q, np.float32(1.0))
        aolp[i] = np.float32(0.5) * _atan2(v, u)
        imin[i] = max(np.float32(0.5) * (t - p), np.float32(0.0))
        imax[i] = np.float32(0.5) * (t + p)


@njit(nogil=True, cache=True, parallel=True)
def _stokes_kernel(raw, pos, s0, s1, s2, dolp, aolp, imin, imax):
    """All super-pixel rows in parallel."""
    for j in prange(s0.shape[0]):
        _stokes_row(raw[2 * j + pos[0, 0]], raw[2 * j + pos[1, 0]], raw[2 * j + pos[2, 0]],
                    raw[2 * j + pos[3, 0]], pos[0, 1], pos[1, 1], pos[2, 1], pos[3, 1],
                    s0[j], s1[j], s2[j], dolp[j], aolp[j], imin[j], imax[j])


def stokes(
    raw: np.ndarray, layout: Sequence[Sequence[int]], *, out: StokesImages | None = None
) -> StokesImages:
    """Stokes parameters, DoLP, AoLP, I_min and I_max of a raw DoFP mosaic frame in one pass.

    ``raw``: 2-D ``uint8``/``uint16`` mosaic (any strides), at least 2×2.  ``layout``: see
    :data:`Layout`.  ``out``: optional preallocated :meth:`StokesImages.empty` to reuse.
    """
    if not isinstance(raw, np.ndarray) or raw.ndim != 2 or raw.dtype not in (np.uint8, np.uint16):
        raise LimitError("a polarization mosaic must be a 2-D uint8 or uint16 array",
                         feature="mosaic", allowed=["uint8", "uint16"])
    if raw.shape[0] < 2 or raw.shape[1] < 2:
        raise LimitError("a polarization mosaic needs at least one 2×2 super-pixel",
                         feature="mosaic", allowed="≥ 2×2")
    pos = validate_layout(layout)
    res = StokesImages.empty(raw.shape) if out is None else out
    want = (raw.shape[0] // 2, raw.shape[1] // 2)
    planes = (res.s0, res.s1, res.s2, res.dolp, res.aolp, res.i_min, res.i_max)
    if any(p.shape != want or p.dtype != np.float32 for p in planes):
        raise LimitError("out= planes must be float32 of the super-pixel grid shape",
                         feature="out", allowed=want)
    view = raw.view()
    view.flags.writeable = False  # writable and borrowed frames share one specialization
    _stokes_kernel(view, pos, *planes)
    return res


@njit(nogil=True, cache=True)
def _roi_mean(img, y0, y1, x0, x1):
    s = 0.0
    for y in range(y0, y1):
        row = img[y, x0:x1]
        acc = np.int64(0)
        for x in range(row.shape[0]):
            acc += np.int64(row[x])
        s += acc
    return s / ((y1 - y0) * (x1 - x0))


@dataclass(frozen=True, slots=True)
class MalusFit:
    """Least-squares fit of ``I(θ) = a + b·cos 2θ + c·sin 2θ`` to an ROI's mean intensity.

    ``best_angle_deg`` in [0, 180) minimizes the fitted intensity (the reflection) and
    ``worst_angle_deg`` maximizes it; ``i_min``/``i_max`` are the fitted extremes and ``a, b,
    c`` the coefficients (native DN of the frames).  ``polarized_fraction`` = √(b² + c²)/a is
    the ROI's apparent degree of polarization through the polarizer; ``rms_residual`` (DN) says
    how well Malus' law held (0 for exactly 3 angles).
    """

    best_angle_deg: float
    worst_angle_deg: float
    i_min: float
    i_max: float
    a: float
    b: float
    c: float
    polarized_fraction: float
    rms_residual: float


def fit_malus(
    frames: Sequence[np.ndarray], angles_deg: Sequence[float], roi: Roi | Sequence[int]
) -> MalusFit:
    """Fit Malus' law to frames taken through a rotatable polarizer at ≥ 3 distinct angles.

    ``frames``: 2-D mono arrays of one shape; ``angles_deg``: polarizer angle of each frame in
    degrees (distinct modulo 180°); ``roi``: ``(x, y, width, height)`` (clipped to the frame,
    must keep ≥ 1 pixel).  Minimizing the ROI's mean intensity is exact under the model, since
    the mean of per-pixel Malus curves is itself a Malus curve.
    """
    if len(frames) != len(angles_deg):
        raise LimitError(f"{len(frames)} frames but {len(angles_deg)} angles",
                         feature="angles_deg")
    distinct = np.unique(np.round(np.mod(np.asarray(angles_deg, np.float64), 180.0), 6) % 180.0)
    if distinct.size < 3:
        raise LimitError("Malus fit needs frames at ≥ 3 polarizer angles distinct modulo 180°",
                         feature="angles_deg", allowed="≥ 3 distinct angles")
    shape = frames[0].shape
    for f in frames:
        if not isinstance(f, np.ndarray) or f.ndim != 2 or f.shape != shape:
            raise LimitError("Malus frames must be 2-D arrays of one shape", feature="frames",
                             allowed=shape)
    y0, y1, x0, x1 = (int(v) for v in as_roi_array([tuple(roi)], shape)[0])
    if y1 <= y0 or x1 <= x0:
        raise LimitError("the Malus ROI is empty inside the frame", feature="roi")
    means = np.array([_roi_mean(f, y0, y1, x0, x1) for f in frames])
    return fit_malus_samples(angles_deg, means)


def fit_malus_samples(angles_deg: Sequence[float], intensities: Sequence[float]) -> MalusFit:
    """Least-squares Malus fit of (analyzer angle deg, intensity) samples — the one Malus fit
    of lanecam (the rotator probe's glare samples, and :func:`fit_malus`'s ROI means).  Needs
    ≥ 3 finite samples at ≥ 3 angles distinct modulo 180° (LimitError otherwise)."""
    angles = np.asarray(angles_deg, np.float64)
    means = np.asarray(intensities, np.float64)
    if angles.shape != means.shape or angles.ndim != 1:
        raise LimitError(f"{means.size} intensities but {angles.size} angles",
                         feature="angles_deg")
    if not (np.all(np.isfinite(angles)) and np.all(np.isfinite(means))):
        raise LimitError("angles and intensities must be finite", feature="intensities")
    distinct = np.unique(np.round(np.mod(angles, 180.0), 6) % 180.0)
    if distinct.size < 3:
        raise LimitError("Malus fit needs samples at ≥ 3 polarizer angles distinct modulo 180°",
                         feature="angles_deg", allowed="≥ 3 distinct angles")
    theta = np.deg2rad(angles)
    design = np.stack([np.ones_like(theta), np.cos(2 * theta), np.sin(2 * theta)], 1)
    (a, b, c), *_ = np.linalg.lstsq(design, means, rcond=None)
    amp = math.hypot(b, c)
    phase = math.degrees(0.5 * math.atan2(c, b)) % 180.0  # maximum of b·cos2θ + c·sin2θ
    resid = means - design @ np.array([a, b, c])
    return MalusFit(
        best_angle_deg=(phase + 90.0) % 180.0,
        worst_angle_deg=phase,
        i_min=float(a - amp),
        i_max=float(a + amp),
        a=float(a),
        b=float(b),
        c=float(c),
        polarized_fraction=float(amp / a) if a > 0 else 0.0,
        rms_residual=float(np.sqrt(np.mean(resid**2))),
    )


DOLP_GATE = 0.3
"""Below this measured DoLP the Stokes ``I_min`` image adds noise without removing much glare
(physics_quality.md §1.5 practical notes: gate I_min by DoLP); use a single channel."""


def choose_channel(dolp: float) -> str:
    """For a polarization (mosaic) sensor, per ROI: ``"i_min"`` (the Stokes minimum image,
    glare removed) when the measured DoLP reaches :data:`DOLP_GATE`, else ``"single"`` (one
    analyzer channel: less noise where there is little polarized glare).  LimitError for a
    DoLP outside [0, 1]."""
    if not (math.isfinite(dolp) and 0.0 <= dolp <= 1.0 + 1e-9):
        raise LimitError("DoLP must be in [0, 1]", feature="dolp", allowed=(0.0, 1.0))
    return "i_min" if dolp >= DOLP_GATE else "single"
