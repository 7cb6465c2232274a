"""The maths of the ``strobe`` procedure (no devices): the pulse's timing from a delay scan,
and the pulse budget of the eye-safety record.

Delay scan.  With exposure T and a shorter pulse w, a pulse starting at s = d + L after the
exposure's start (d the controller's trigger delay, L the latency to find) lights the frame for
``overlap(s) = min(s + w, T) − max(s, 0)`` (clipped at 0): a trapezoid in d — rising while the
pulse enters the exposure, flat while inside, falling as it leaves at s = T − w … T.  The
metered brightness is ``B(d) = A + k·overlap(d + L)`` (A ambient, k the lamp's share per second
of overlap, k ≥ 0: else a falling edge would fit as a mirrored rising one); for each trial L, A
and k are linear least squares, and L minimises the residual sum, on a 1 µs grid then a 0.1 µs
one (:func:`fit_latency`).

Pulse budget.  For a pulse train of width w at the lane's rate f (duty d = w·f) and brightness
b, the IEC 62471 limits the interlock enforces (:mod:`lanecam.devices.illuminators.interlock`)
bound b at the measured irradiance E (W/m² at 100 %): ``b·E·w·(1+d) ≤ 18000·w^0.25`` and
``b·E·(1000·d + w) ≤ 100·1000``; the controller's overdrive table bounds it by row
(:func:`iec_max_brightness`, :func:`overdrive_max_brightness`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..devices.illuminators.interlock import IEC_IR_LONG, IEC_IR_SHORT_COEFF, IEC_IR_SHORT_MAX_T
from ..devices.illuminators.profile import IlluminatorProfile

__all__ = ["LatencyFit", "fit_latency", "iec_max_brightness", "overdrive_max_brightness",
           "overlap"]


def overlap(start_s: NDArray[np.float64] | float, width_s: float, exposure_s: float
            ) -> NDArray[np.float64]:
    """Seconds of a pulse starting at ``start_s`` (after the exposure's start) inside it."""
    s = np.asarray(start_s, np.float64)
    return np.clip(np.minimum(s + width_s, exposure_s) - np.maximum(s, 0.0), 0.0, None)


@dataclass(frozen=True)
class LatencyFit:
    """The latency (s) with its 1σ, the fitted ambient and lamp terms, the residual rms, and
    whether the scan saw an edge (a flat scan cannot place the pulse)."""

    latency_s: float
    latency_sd_s: float
    ambient: float
    lamp_per_s: float
    rms: float
    edges_seen: bool


def _solve(d: NDArray[np.float64], b: NDArray[np.float64], lat: float, w: float, t: float
           ) -> tuple[float, float, float]:
    x = overlap(d + lat, w, t)
    m = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(m, b, rcond=None)
    res = b - m @ coef
    if coef[1] < 0:  # the lamp adds light: a falling edge is never a mirrored rising one
        return float(coef[0]), float(coef[1]), math.inf
    return float(coef[0]), float(coef[1]), float(res @ res)


def fit_latency(delays_s: Sequence[float], brightness: Sequence[float], width_s: float,
                exposure_s: float) -> LatencyFit:
    """Fit L to a delay scan taken with pulse ``width_s`` inside exposure ``exposure_s``."""
    d = np.asarray(delays_s, np.float64)
    b = np.asarray(brightness, np.float64)
    if d.size < 5 or d.size != b.size:
        raise ValueError("a delay scan needs at least 5 (delay, brightness) points")
    coarse = np.arange(-exposure_s - width_s, exposure_s + width_s, 1e-6) - d.min()
    sse = np.array([_solve(d, b, lat, width_s, exposure_s)[2] for lat in coarse])
    best = float(coarse[int(np.argmin(sse))])
    fine = np.arange(best - 2e-6, best + 2e-6, 1e-7)
    sse_f = np.array([_solve(d, b, lat, width_s, exposure_s)[2] for lat in fine])
    i = int(np.argmin(sse_f))
    lat = float(fine[i])
    amb, k, s_min = _solve(d, b, lat, width_s, exposure_s)
    dof = max(d.size - 3, 1)
    sigma2 = s_min / dof
    # 1σ from the curvature of the residual sum: Δ(SSE) = σ² at ±1σ, slopes of the edges
    x = overlap(d + lat, width_s, exposure_s)
    on_edge = (x > 1e-9) & (x < min(width_s, exposure_s) - 1e-9)
    sd = math.sqrt(sigma2 / (k * k * max(int(on_edge.sum()), 1))) if k > 0 else math.inf
    return LatencyFit(lat, sd, amb, k, math.sqrt(sigma2), bool(on_edge.any()) and k > 0)


def iec_max_brightness(width_s: float, rate_hz: float, irradiance_w_m2: float) -> float:
    """Highest brightness (1.0 = 100 %) the IEC 62471 IR limit allows for pulses of
    ``width_s`` at ``rate_hz`` with irradiance ``irradiance_w_m2`` at 100 %."""
    d = min(width_s * rate_hz, 1.0)
    short = IEC_IR_SHORT_COEFF * width_s ** 0.25 / (irradiance_w_m2 * width_s * (1 + d))
    long = IEC_IR_LONG * IEC_IR_SHORT_MAX_T / (irradiance_w_m2 * (IEC_IR_SHORT_MAX_T * d
                                                                  + width_s))
    return min(short, long)


def overdrive_max_brightness(profile: IlluminatorProfile, width_s: float, rate_hz: float
                             ) -> float:
    """Highest brightness the controller's overdrive table allows for that pulse train (0 when
    no row does)."""
    duty = width_s * rate_hz
    best = 0.0
    for row in profile.overdrive:
        if width_s <= row.max_pulse_width_s and duty <= row.max_duty:
            best = row.max_brightness
    return best
