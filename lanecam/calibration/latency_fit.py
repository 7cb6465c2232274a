"""Sensor latencies and the loop's station from vehicles driven through the lane.

The reference is the camera: a board rides on each vehicle's front bumper, and every frame's
board position (PnP with the calibrated camera) at the frame's exposure time — the camera's
timestamp of its exposure start, on the host clock (PTP or the simulator) — gives the front's
range at that instant.  A straight line per pass (constant speed) is the vehicle's trajectory
``r(t) = a − v·(t − t0)``.

A sensor whose reading arrives at ``T`` describes the world at ``T − L``, and may read a
constant ``b`` long: ``ρ = r(T − L) + b = r(T) + v·L + b``.  Over passes at *different speeds*
the residuals ``ρ − r(T)`` against ``v`` are a straight line: slope ``L``, intercept ``b``.  The
loop switches when the front reaches its entry edge ``P``, ``L`` late: ``r(T) = P − v·L`` —
intercept ``P``, slope ``−L``.  The camera's own delay is its exposure start minus the moment
it was triggered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["LineFit", "Pass", "camera_delay", "fit_loop", "fit_passes", "fit_sensor",
           "speed_regression"]

F64 = NDArray[np.float64]
#: outlier rejection (robust σ): a reading taken late because its thread was descheduled
REJECT_SIGMA = 3.5


@dataclass(frozen=True)
class Pass:
    """One vehicle's pass seen by the camera: ``r(t) = a_m − v_mps·(t − t0_s)`` over
    ``[t_first_s, t_last_s]``; ``rms_m`` the frames' scatter about the line."""

    t0_s: float
    a_m: float
    v_mps: float
    t_first_s: float
    t_last_s: float
    rms_m: float
    frames: int

    def range_at(self, t: F64 | float) -> F64 | float:
        return self.a_m - self.v_mps * (np.asarray(t) - self.t0_s)

    def covers(self, t: float) -> bool:
        return self.t_first_s <= t <= self.t_last_s


@dataclass(frozen=True)
class LineFit:
    """``y = intercept + slope·x`` by least squares, with 1σ and the points used."""

    slope: float
    intercept: float
    sigma_slope: float
    sigma_intercept: float
    x: F64
    y: F64
    residual: F64

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(self.residual ** 2))) if len(self.residual) else math.nan


def _line(x: F64, y: F64) -> tuple[float, float, float, float, F64]:
    a = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    res = y - a @ coef
    dof = max(len(x) - 2, 1)
    cov = float(res @ res) / dof * np.linalg.inv(a.T @ a)
    return float(coef[1]), float(coef[0]), math.sqrt(cov[1, 1]), math.sqrt(cov[0, 0]), res


def speed_regression(x: Sequence[float], y: Sequence[float]) -> LineFit:
    """Robust straight line through ``(x, y)`` (needs two distinct x; see :class:`LineFit`):
    points beyond :data:`REJECT_SIGMA` robust σ of a first fit are dropped once."""
    xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(xa) < 3 or float(np.ptp(xa)) <= 0:
        raise ValueError("needs three points at two or more distinct speeds")
    slope, icpt, ss, si, res = _line(xa, ya)
    mad = float(np.median(np.abs(res - np.median(res)))) * 1.4826
    keep = np.abs(res) <= max(REJECT_SIGMA * mad, 1e-12)
    if 3 <= keep.sum() < len(xa) and float(np.ptp(xa[keep])) > 0:
        xa, ya = xa[keep], ya[keep]
        slope, icpt, ss, si, res = _line(xa, ya)
    return LineFit(slope, icpt, ss, si, xa, ya, res)


def fit_passes(samples: Sequence[tuple[float, float]], *, gap_s: float = 0.6,
               min_frames: int = 5) -> list[Pass]:
    """Split camera samples ``(exposure time s, front range m)`` into passes at time gaps over
    ``gap_s`` (or a range jump back up), and fit each pass's straight line."""
    pts = sorted(samples)
    groups: list[list[tuple[float, float]]] = []
    for t, r in pts:
        if groups and t - groups[-1][-1][0] <= gap_s and r <= groups[-1][-1][1] + 0.5:
            groups[-1].append((t, r))
        else:
            groups.append([(t, r)])
    out = []
    for g in groups:
        if len(g) < min_frames:
            continue
        t = np.array([p[0] for p in g])
        r = np.array([p[1] for p in g])
        t0 = float(t.mean())
        slope, icpt, _, _, res = _line(t - t0, r)
        if -slope <= 0.5:  # not a vehicle driving at the camera
            continue
        out.append(Pass(t0, icpt, -slope, float(t[0]), float(t[-1]),
                        float(np.sqrt(np.mean(res ** 2))), len(g)))
    return out


def fit_sensor(passes: Sequence[Pass], readings: Sequence[tuple[float, float]], *,
               gate_m: float = 3.0) -> LineFit:
    """Latency (slope, s) and range offset (intercept, m) of a ranging sensor from its
    readings ``(arrival time s, range m)``.  Readings outside every pass, or more than
    ``gate_m`` from its track (another vehicle, nothing in the beam) are left out."""
    x, y = [], []
    for t, rho in readings:
        for p in passes:
            e = rho - float(p.range_at(t))
            if p.covers(t) and abs(e) <= gate_m:
                x.append(p.v_mps)
                y.append(e)
                break
    return speed_regression(x, y)


def fit_loop(passes: Sequence[Pass], entries: Sequence[float], exits: Sequence[float] = ()
             ) -> tuple[LineFit, float]:
    """The loop from its edges' arrival times (s).  The front reaches the entry edge ``P``:
    ``r(T) = P − v·L``; the same vehicle's rear leaves the exit edge when its front is at a
    fixed ``Q`` (the loop and the vehicle are the same every pass): ``r(T) = Q − v·L``.  One
    least-squares fit with a common slope ``−L`` (s); returns it (intercept ``P``, m) and
    ``Q`` (m; NaN without exits).  Edges are matched to the pass whose time span (stretched by
    half) holds them."""
    rows, y = [], []
    for kind, times in ((0, entries), (1, exits)):
        for t in times:
            for p in passes:
                span = p.t_last_s - p.t_first_s
                if p.t_first_s - 0.5 * span <= t <= p.t_last_s + 0.5 * span:
                    rows.append((1.0 - kind, float(kind), -p.v_mps))
                    y.append(float(p.range_at(t)))
                    break
    a, ya = np.array(rows, np.float64).reshape(-1, 3), np.array(y, np.float64)
    if not exits or not np.any(a[:, 1]):
        a = a[:, [0, 2]]
    if len(ya) < a.shape[1] + 1 or float(np.ptp(a[:, -1])) <= 0:
        raise ValueError("needs loop edges at two or more distinct speeds")
    coef, *_ = np.linalg.lstsq(a, ya, rcond=None)
    res = ya - a @ coef
    mad = float(np.median(np.abs(res - np.median(res)))) * 1.4826
    keep = np.abs(res) <= max(REJECT_SIGMA * mad, 1e-12)
    if keep.sum() >= a.shape[1] + 2 and not keep.all():
        a, ya = a[keep], ya[keep]
        coef, *_ = np.linalg.lstsq(a, ya, rcond=None)
        res = ya - a @ coef
    cov = float(res @ res) / max(len(ya) - a.shape[1], 1) * np.linalg.inv(a.T @ a)
    q = float(coef[1]) if a.shape[1] == 3 else math.nan
    fit = LineFit(-float(coef[-1]), float(coef[0]), math.sqrt(cov[-1, -1]),
                  math.sqrt(cov[0, 0]), -a[:, -1], ya, res)
    return fit, q


def camera_delay(pairs: Sequence[tuple[int, int]]) -> tuple[float, float, F64]:
    """Trigger → exposure start (s) from ``(trigger host ns, exposure start ns)`` pairs: the
    median, its 1σ (from the spread) and every delay."""
    d = np.array([(e - t) / 1e9 for t, e in pairs], np.float64)
    if len(d) == 0:
        raise ValueError("no frame carried an exposure timestamp")
    sigma = float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    return float(np.median(d)), sigma, d
