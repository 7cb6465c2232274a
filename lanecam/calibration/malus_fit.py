"""The maths of the ``polarizer`` procedure (no devices): where the glare is, which mount
reading passes it most, and the mount offset that follows.

A sweep films a windshield (or a polarizing sheet) at N mount readings mᵢ.  Per pixel,
``I(m) = a + b·cos 2m + c·sin 2m`` (Malus, physics_quality.md §1.5) is a linear least-squares
problem whose solution is a fixed 3×N projection of the frames (:func:`modulation`); the glare
is where the modulation √(b²+c²) is strongest (:func:`glare_mask`).  The Malus fit of the glare
ROI's mean (the project's one fit, :func:`lanecam.quality.polarization.fit_malus_samples`)
gives the reading m_max that passes the glare most; the glare's polarization axis in the image
ψ is known — the s direction of the windshield (:func:`windshield_glare_axis`, the geometry of
:class:`lanecam.control.polarization.PolarizationController`), or the sheet's axis — so the
mount's offset (analyzer axis in the image = reading + offset) is ``ψ − m_max`` modulo 180°.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..geometry import CameraModel
from ..quality.polarization import MalusFit, fit_malus_samples

__all__ = ["OffsetFit", "fit_offset", "glare_mask", "modulation", "windshield_glare_axis",
           "wrap90"]

F64 = NDArray[np.float64]


def wrap90(deg: float) -> float:
    """An axis angle (180°-periodic) in [−90, 90)."""
    return (deg + 90.0) % 180.0 - 90.0


def modulation(angles_deg: Sequence[float], frames: Sequence[NDArray[np.generic]]
               ) -> tuple[F64, F64, F64]:
    """Per-pixel Malus coefficients (a, b, c) of frames taken at ``angles_deg``."""
    th = np.deg2rad(np.asarray(angles_deg, np.float64))
    design = np.stack([np.ones_like(th), np.cos(2 * th), np.sin(2 * th)], 1)
    proj = np.linalg.pinv(design)  # 3 × N
    stack = np.stack([np.asarray(f, np.float32) for f in frames])
    a, b, c = (np.tensordot(proj[i].astype(np.float32), stack, axes=1).astype(np.float64)
               for i in range(3))
    return a, b, c


def glare_mask(a: F64, b: F64, c: F64, *, share: float = 0.5, clip: float | None = None
               ) -> NDArray[np.bool_]:
    """Pixels whose modulation reaches ``share`` of the strongest (its 99.9th percentile),
    leaving out pixels whose fitted maximum reaches ``clip`` (saturated in some frame)."""
    amp = np.hypot(b, c)
    top = float(np.percentile(amp, 99.9))
    mask = amp >= share * top
    if clip is not None:
        mask &= a + amp < clip
    return mask


def windshield_glare_axis(camera: CameraModel, glass_centre_m: Sequence[float],
                          rake_deg: float) -> float:
    """The polarization axis (deg, [0, 180), image frame, counter-clockwise from +x) of glare
    mirrored by a windshield raked ``rake_deg`` from horizontal facing the camera, its centre
    at world ``(x lateral, y height, z lane range)``: the s direction n × d."""
    a = math.radians(rake_deg)
    n = np.array([0.0, math.cos(a), -math.sin(a)])
    d = np.asarray(glass_centre_m, np.float64) - camera.position
    d /= np.linalg.norm(d)
    s = np.cross(n, d)
    s /= np.linalg.norm(s)
    right, down, _ = camera.axes()
    return math.degrees(math.atan2(-float(s @ down), float(s @ right))) % 180.0


@dataclass(frozen=True)
class OffsetFit:
    """The mount offset (deg, [−90, 90)) and its 1σ from the fit's residuals; ``fit`` the Malus
    fit of the ROI means against the mount readings, ``glare_axis_deg`` the ψ used."""

    offset_deg: float
    offset_sd_deg: float
    fit: MalusFit
    glare_axis_deg: float
    readings_deg: tuple[float, ...]
    roi_means: tuple[float, ...]


def fit_offset(readings_deg: Sequence[float], roi_means: Sequence[float],
               glare_axis_deg: float) -> OffsetFit:
    """Offset = ψ − (the reading that passes the glare most), modulo 180°.

    1σ of the phase of ``a + A·cos 2(m − φ)`` sampled at N evenly spread readings with residual
    rms σ: σ_φ = σ / (A·√(2N)) rad (each of b, c has variance 2σ²/N)."""
    fit = fit_malus_samples(readings_deg, roi_means)
    amp = math.hypot(fit.b, fit.c)
    n = len(readings_deg)
    sd = math.degrees(fit.rms_residual * math.sqrt(n / max(n - 3, 1))
                      / (max(amp, 1e-12) * math.sqrt(2 * n)))
    return OffsetFit(wrap90(glare_axis_deg - fit.worst_angle_deg), sd, fit, glare_axis_deg,
                     tuple(float(x) for x in readings_deg), tuple(float(x) for x in roi_means))
