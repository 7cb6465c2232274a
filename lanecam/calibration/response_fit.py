"""EMVA 1288-style photon transfer: the maths of the ``response`` procedure (no devices).

From pairs of flat frames at several exposures (one gain setting)::

    μ = mean of the pair,  σ² = var(A − B) / 2          (the pair difference cancels fixed
                                                          pattern: temporal noise only)
    μ − μ_dark = s · t                                    (linearity: mean vs exposure time)
    σ² = K · (μ − μ_dark) + K² σ_d² + σ_q²                (photon transfer, σ_q² = 1/12 DN²)

K is the system gain (DN/e⁻), σ_d the dark (read) noise referred to the input (e⁻).  The dark
offset μ_dark is the intercept of the linearity line, so a camera whose black level clips the
dark frames at 0 DN (the simulator has no offset) is still measured: only points whose mean
stands ``CLEAR_SIGMAS`` standard deviations clear of the offset enter the fits.  The
saturation capacity is the output's clip level (the plateau of saturated frames) referred to
the input, (μ_clip − μ_dark)/K; EMVA 1288 takes the mean at the variance peak instead, lower by
about the shot-noise spread (≈ 1 % at 10 ke⁻).  The linearity error is EMVA's: half the span of
the relative deviations from the straight line between 5 % and 95 % of the saturation range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CLEAR_SIGMAS", "PTC_MAX_FRACTION", "PairStats", "ResponseFit", "exposure_plan",
           "fit_response",
           "pair_stats"]

#: quantisation noise of a 1-DN step (DN²)
QUANT_VAR_DN2 = 1.0 / 12.0
#: points whose mean is closer than this many σ to the offset may clip at 0 DN: left out
CLEAR_SIGMAS = 4.0
#: photon-transfer fit up to this fraction of the saturation range (EMVA: ≤ 70 %)
PTC_MAX_FRACTION = 0.7
#: linearity range (fractions of the saturation range), EMVA 1288 §6.7
LINEARITY_RANGE = (0.05, 0.95)


@dataclass(frozen=True)
class PairStats:
    """One exposure: its time (s), the pair's mean (DN) and temporal variance (DN²), and the
    pixel count behind them."""

    exposure_s: float
    mean_dn: float
    var_dn2: float
    pixels: int


def pair_stats(exposure_s: float, a: NDArray[np.generic], b: NDArray[np.generic]) -> PairStats:
    """Mean and temporal variance of two frames taken at the same setting."""
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    return PairStats(exposure_s, float((fa.mean() + fb.mean()) / 2),
                     float(np.var(fa - fb) / 2), int(fa.size))


@dataclass(frozen=True)
class ResponseFit:
    """One gain setting's response (1σ uncertainties ``*_sd``); ``points`` the pairs used,
    ``ptc_used``/``lin_used`` which of them entered each fit."""

    gain_db: float
    gain_dn_per_e: float
    gain_dn_per_e_sd: float
    dark_noise_e: float
    dark_noise_e_sd: float
    saturation_e: float
    linearity_error_pct: float
    dark_offset_dn: float
    clip_dn: float
    points: tuple[PairStats, ...]
    ptc_used: tuple[bool, ...]
    lin_used: tuple[bool, ...]


def _wls(x: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64]
         ) -> tuple[float, float, NDArray[np.float64]]:
    """Weighted straight line y = a + b·x: (a, b, covariance of (a, b)), scaled by the fit's
    reduced χ² (never below 1)."""
    m = np.column_stack([np.ones_like(x), x])
    mw = m * w[:, None]
    cov = np.linalg.inv(m.T @ mw)
    a, b = cov @ (mw.T @ y)
    res = y - (a + b * x)
    dof = max(len(x) - 2, 1)
    chi2 = float(np.sum(w * res ** 2)) / dof
    return float(a), float(b), cov * max(chi2, 1.0)


def _linearity(t: NDArray[np.float64], mu: NDArray[np.float64], span: float, used: NDArray[np.bool_]
               ) -> tuple[float, float, float]:
    """(offset DN, slope DN/s, linearity error %) over the ``used`` points."""
    a, b, _ = _wls(t[used], mu[used], np.ones(int(used.sum())))
    dev = (mu[used] - (a + b * t[used])) / (b * t[used])
    le = 50.0 * float(dev.max() - dev.min()) if used.sum() > 2 else math.nan
    return a, b, le


def fit_response(points: Sequence[PairStats], gain_db: float) -> ResponseFit:
    """Fit one gain setting's photon-transfer points (at least 3 below saturation, clear of the
    offset; ValueError otherwise)."""
    pts = tuple(sorted(points, key=lambda p: p.exposure_s))
    t = np.array([p.exposure_s for p in pts])
    mu = np.array([p.mean_dn for p in pts])
    var = np.array([p.var_dn2 for p in pts])
    n = np.array([p.pixels for p in pts], np.float64)
    clip = float(mu.max())
    # first pass: offset from the lowest unsaturated points, refined once the span is known
    offset = 0.0
    for _ in range(2):
        span = clip - offset
        lin = ((mu - offset >= LINEARITY_RANGE[0] * span) & (mu - offset <= LINEARITY_RANGE[1] * span)
               & (mu - offset >= CLEAR_SIGMAS * np.sqrt(var)))
        if lin.sum() < 3:
            raise ValueError("fewer than 3 exposures inside the linear range")
        offset, _, le = _linearity(t, mu, span, lin)
    ptc = (mu - offset >= CLEAR_SIGMAS * np.sqrt(var)) & (mu - offset <= PTC_MAX_FRACTION * span)
    if ptc.sum() < 3:
        raise ValueError("fewer than 3 exposures inside the photon-transfer range")
    # var(σ²) of a variance from N pixel differences ≈ 2σ⁴/N
    a, k, cov = _wls(mu[ptc] - offset, var[ptc], n[ptc] / (2 * var[ptc] ** 2))
    dark2 = max(a - QUANT_VAR_DN2, 0.0) / k ** 2
    dark = math.sqrt(dark2)
    # propagate (a, K) to σ_d = sqrt(a − σq²)/K
    grad = np.array([0.5 / (k * max(dark, 1e-12)) / k, -dark / k])
    dark_sd = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
    return ResponseFit(gain_db, k, float(math.sqrt(cov[1, 1])), dark, dark_sd,
                       (clip - offset) / k, le, offset, clip, pts, tuple(bool(x) for x in ptc),
                       tuple(bool(x) for x in lin))


def exposure_plan(t_sat_s: float, n: int = 20) -> list[float]:
    """Exposure times for one gain: geometric from t_sat/300 (the low points fix the dark
    noise) to 0.6·t_sat, then linear to 1.15·t_sat (the linearity and the clip plateau)."""
    n_low = (3 * n) // 5
    low = np.geomspace(t_sat_s / 300, 0.6 * t_sat_s, n_low)
    high = np.linspace(0.65 * t_sat_s, 1.15 * t_sat_s, n - n_low)
    return [float(x) for x in np.concatenate([low, high])]
