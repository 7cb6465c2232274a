"""The radar's mounting angle and speed scale against the camera's track of the board.

A Doppler radar whose beam makes an angle θ with the lane sees the line-of-sight component of
a vehicle's speed: its range along the beam changes at ``v·cos θ`` and its Doppler speed reads
``s·v·cos θ``, ``s`` the speed scale of its own electronics.  Per pass at true speed ``v`` (the
camera's track, cross-checked by the lidar's range rate along the lane): the radar's range rate
gives ``cos θ`` (a straight line through the origin over the passes), its Doppler speed
``s·cos θ``, and their ratio ``s`` — the two are separable because the range is not scaled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .latency_fit import Pass, speed_regression

__all__ = ["AimFit", "PassRates", "fit_aim", "pass_rates"]


@dataclass(frozen=True)
class PassRates:
    """One pass: the camera's speed, the radar's range rate (approach +) and median Doppler
    speed (m/s), the lidar's range rate (NaN without one)."""

    v_mps: float
    radar_rate_mps: float
    doppler_mps: float
    lidar_rate_mps: float
    readings: int


@dataclass(frozen=True)
class AimFit:
    """θ (deg) and ``s`` with 1σ; ``corrected_error`` per pass: the Doppler speed divided by
    ``s·cos θ``, relative to the camera's speed."""

    mount_deg: float
    sigma_mount_deg: float
    speed_scale: float
    sigma_speed_scale: float
    passes: tuple[PassRates, ...]
    corrected_error: tuple[float, ...]
    raw_error: tuple[float, ...]


def _rate(rows: Sequence[tuple[float, float]]) -> float:
    """Robust approach rate (m/s, +) of ``(t, range)`` rows (another vehicle's rows dropped)."""
    fit = speed_regression([t for t, _ in rows], [r for _, r in rows])
    return -fit.slope


def pass_rates(passes: Sequence[Pass], radar: Sequence[tuple[float, float, float]],
               lidar: Sequence[tuple[float, float, float]] = ()) -> list[PassRates]:
    """Per pass, the radar's (and lidar's) readings ``(t s, range m, speed m/s)`` inside its
    time span reduced to rates; passes with fewer than 5 radar readings are left out."""
    out = []
    for p in passes:
        rows = [(t, r, v) for t, r, v in radar if p.covers(t)]
        # this pass's vehicle only: a radar range is the track's ×cos θ (θ < 45°), a lidar
        # range the track's; the vehicle ahead or behind is far off either
        ranged = [(t, r) for t, r, _ in rows if math.isfinite(r)
                  and 0.7 * float(p.range_at(t)) - 0.5 <= r <= float(p.range_at(t)) + 0.5]
        if len(ranged) < 5:
            continue
        lrows = [(t, r) for t, r, _ in lidar if p.covers(t) and math.isfinite(r)
                 and abs(r - float(p.range_at(t))) <= 1.0]
        speeds = [v for _, _, v in rows if math.isfinite(v) and v > 0]
        out.append(PassRates(p.v_mps, _rate(ranged),
                             float(np.median(speeds)) if speeds else math.nan,
                             _rate(lrows) if len(lrows) >= 5 else math.nan, len(rows)))
    return out


def _through_origin(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    k = float(x @ y / (x @ x))
    res = y - k * x
    sd = math.sqrt(float(res @ res) / max(len(x) - 1, 1) / float(x @ x))
    return k, sd


def fit_aim(rates: Sequence[PassRates]) -> AimFit:
    """θ and ``s`` from the passes' rates (see the module); needs two passes with Doppler."""
    good = [r for r in rates if math.isfinite(r.doppler_mps)]
    if len(good) < 2:
        raise ValueError("needs two passes with radar range and Doppler readings")
    v = np.array([r.v_mps for r in good])
    cos, sd_cos = _through_origin(v, np.array([r.radar_rate_mps for r in good]))
    k, sd_k = _through_origin(v, np.array([r.doppler_mps for r in good]))
    cos = min(cos, 1.0)
    theta = math.degrees(math.acos(cos))
    sd_theta = math.degrees(sd_cos / max(math.sin(math.radians(theta)), 1e-3))
    s = k / cos
    sd_s = s * math.hypot(sd_k / k, sd_cos / cos)
    corrected = tuple(float(r.doppler_mps / (s * cos) / r.v_mps - 1) for r in good)
    raw = tuple(float(r.doppler_mps / r.v_mps - 1) for r in good)
    return AimFit(theta, sd_theta, s, sd_s, tuple(good), corrected, raw)
