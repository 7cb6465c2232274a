"""Optics formulas: Fresnel reflection of a laminated windshield, Stokes algebra, polarizers,
sky polarization, illuminator irradiance, the camera equation, motion blur and depth of field.

Angles are radians unless a name ends in ``_deg``; lengths metres; radiance W·m⁻²·sr⁻¹ in the
camera's band.  Functions accept numpy arrays and broadcast.  ``PQ §x`` cites
``physics_quality.md``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import GLASS_INDEX, LIGHT_SPEED_M_S, PLANCK_J_S, SKY_DOP_MAX

__all__ = [
    "analyzer",
    "blur_px",
    "brewster",
    "coc_diameter",
    "depth_of_field",
    "electrons_per_radiance_second",
    "fresnel",
    "normal_reflectance",
    "point_irradiance",
    "reflect_stokes",
    "rotate_stokes",
    "sky_dop",
    "slab",
    "transmit_stokes",
    "windshield_rt",
]

F = NDArray[np.float64]


def fresnel(theta_i: ArrayLike, n1: float = 1.0, n2: float = GLASS_INDEX) -> tuple[F, F]:
    """Power reflectances ``(R_s, R_p)`` of one dielectric interface at incidence ``theta_i``.

    PQ §1.1: r_s = (n1 cos θi − n2 cos θt)/(n1 cos θi + n2 cos θt),
    r_p = (n2 cos θi − n1 cos θt)/(n2 cos θi + n1 cos θt), R = r².
    """
    ci = np.cos(np.asarray(theta_i, dtype=np.float64))
    si = np.sqrt(np.clip(1.0 - ci * ci, 0.0, 1.0))
    st = n1 / n2 * si
    ct = np.sqrt(np.clip(1.0 - st * st, 0.0, 1.0))
    rs = (n1 * ci - n2 * ct) / (n1 * ci + n2 * ct)
    rp = (n2 * ci - n1 * ct) / (n2 * ci + n1 * ct)
    return rs * rs, rp * rp


def slab(r: ArrayLike) -> F:
    """Reflectance of a non-absorbing slab of two identical interfaces, incoherent multiple
    reflections: R_slab = 2R/(1+R), per polarization (PQ §1.1)."""
    r = np.asarray(r, dtype=np.float64)
    return 2.0 * r / (1.0 + r)


def windshield_rt(theta_i: ArrayLike, n: float = GLASS_INDEX) -> tuple[F, F, F, F]:
    """``(R_s, R_p, T_s, T_p)`` of a laminated windshield (two index-matched interfaces, PQ §1.1).

    T = 1 − R_slab: absorption is applied separately as the windshield's NIR transmission.
    """
    rs, rp = fresnel(theta_i, 1.0, n)
    s, p = slab(rs), slab(rp)
    return s, p, 1.0 - s, 1.0 - p


def brewster(n1: float = 1.0, n2: float = GLASS_INDEX) -> float:
    """Brewster's angle, tan θB = n2/n1 (PQ §1.1: 56.66° for n = 1.52)."""
    return math.atan2(n2, n1)


def normal_reflectance(n1: float = 1.0, n2: float = GLASS_INDEX) -> float:
    """R0 = ((n1 − n2)/(n1 + n2))² (PQ §1.1: 0.0426 for n = 1.52)."""
    return ((n1 - n2) / (n1 + n2)) ** 2


def reflect_stokes(i: ArrayLike, q: ArrayLike, u: ArrayLike, rs: ArrayLike,
                   rp: ArrayLike) -> tuple[F, F, F]:
    """Stokes ``(I, Q, U)`` after reflection, in the s/p frame (Q = I_s − I_p).

    Mueller matrix ½[[Rs+Rp, Rs−Rp, 0], [Rs−Rp, Rs+Rp, 0], [0, 0, 2√(Rs Rp)]] (PQ §1.3);
    intensity-only model: the phase of r_p (its sign flip at Brewster) is not tracked.
    """
    i, q, u, rs, rp = (np.asarray(a, dtype=np.float64) for a in (i, q, u, rs, rp))
    return (0.5 * ((rs + rp) * i + (rs - rp) * q), 0.5 * ((rs - rp) * i + (rs + rp) * q),
            np.sqrt(rs * rp) * u)


def transmit_stokes(i: ArrayLike, ts: ArrayLike, tp: ArrayLike) -> tuple[F, F]:
    """``(I, Q)`` in the s/p frame of unpolarized light of intensity ``i`` after transmission
    with power transmittances ``ts``, ``tp`` (U = 0)."""
    i, ts, tp = (np.asarray(a, dtype=np.float64) for a in (i, ts, tp))
    return 0.5 * (ts + tp) * i, 0.5 * (ts - tp) * i


def rotate_stokes(q: ArrayLike, u: ArrayLike, psi: ArrayLike) -> tuple[F, F]:
    """Express ``(Q, U)`` given in a frame whose 0° axis lies at angle ``psi`` (rad) of the
    target frame's 0° axis: a linear polarization at χ becomes one at χ + ψ."""
    q, u, psi = (np.asarray(a, dtype=np.float64) for a in (q, u, psi))
    c, s = np.cos(2 * psi), np.sin(2 * psi)
    return q * c - u * s, q * s + u * c


def analyzer(i: ArrayLike, q: ArrayLike, u: ArrayLike, theta: ArrayLike,
             extinction_ratio: float) -> F:
    """Intensity behind a linear polarizer at ``theta`` (rad) with principal transmittances
    k1 = 1, k2 = 1/ER: I(θ) = ½(k1+k2)S0 + ½(k1−k2)(S1 cos 2θ + S2 sin 2θ) (PQ §1.5)."""
    if not extinction_ratio >= 1.0:
        raise ValueError("extinction ratio must be ≥ 1")
    k1, k2 = 1.0, 1.0 / extinction_ratio
    i, q, u, theta = (np.asarray(a, dtype=np.float64) for a in (i, q, u, theta))
    return 0.5 * (k1 + k2) * i + 0.5 * (k1 - k2) * (q * np.cos(2 * theta) + u * np.sin(2 * theta))


def sky_dop(gamma: ArrayLike, p_max: float = SKY_DOP_MAX) -> F:
    """Rayleigh degree of polarization at scattering angle ``gamma`` from the sun:
    P_max sin²γ/(1 + cos²γ) (PQ §1.3: most strongly polarized 90° from the sun, ≈ 80 %)."""
    c = np.cos(np.asarray(gamma, dtype=np.float64))
    return p_max * (1.0 - c * c) / (1.0 + c * c)


def point_irradiance(intensity_w_sr: ArrayLike, distance_m: ArrayLike,
                     cos_incidence: ArrayLike = 1.0) -> F:
    """Irradiance (W/m²) of a point source: E = I cos θ / r² (PQ §2.3, §2.4 'E = I/d²')."""
    r = np.asarray(distance_m, dtype=np.float64)
    return np.asarray(intensity_w_sr, dtype=np.float64) * np.clip(cos_incidence, 0, 1) / (r * r)


def electrons_per_radiance_second(f_number: float, pixel_m: float, wavelength_m: float,
                                  quantum_efficiency: float, optics_transmission: float) -> float:
    """Photo-electrons per (W·m⁻²·sr⁻¹ · s) of scene radiance on one pixel.

    Camera equation for a distant object on axis, E_pixel = π L T / (4 N²) (cos⁴ fall-off
    ignored), times pixel area, times photons per joule λ/(h c), times QE.
    """
    e_pix = math.pi * optics_transmission / (4.0 * f_number ** 2)
    return e_pix * pixel_m ** 2 * wavelength_m / (PLANCK_J_S * LIGHT_SPEED_M_S) * quantum_efficiency


def coc_diameter(focal_m: float, f_number: float, focus_m: float, distance_m: ArrayLike) -> F:
    """Blur-circle diameter on the sensor (m) of a point at ``distance_m`` for a thin lens
    focused at ``focus_m``: c = f² |Z − s| / (N Z (s − f)) (from PQ §3.3's DOF relations)."""
    z = np.asarray(distance_m, dtype=np.float64)
    return focal_m ** 2 * np.abs(z - focus_m) / (f_number * z * (focus_m - focal_m))


def depth_of_field(focal_m: float, f_number: float, coc_m: float,
                   focus_m: float) -> tuple[float, float]:
    """Near and far limits (m): H = f²/(N c) + f; near = H s/(H + (s − f));
    far = H s/(H − (s − f)), ∞ beyond the hyperfocal distance (PQ §3.3)."""
    h = focal_m ** 2 / (f_number * coc_m) + focal_m
    near = h * focus_m / (h + (focus_m - focal_m))
    far = math.inf if focus_m - focal_m >= h else h * focus_m / (h - (focus_m - focal_m))
    return near, far


def blur_px(v_perp_mps: ArrayLike, exposure_s: ArrayLike, focal_m: float, pixel_m: float,
            distance_m: ArrayLike) -> F:
    """Motion blur length (px) = v⊥ · t · f / (p · Z) (PQ §3.1)."""
    return (np.asarray(v_perp_mps, dtype=np.float64) * np.asarray(exposure_s, dtype=np.float64)
            * focal_m / (pixel_m * np.asarray(distance_m, dtype=np.float64)))
