"""``lanecam calibrate radar``: the radar's mounting angle (cosine error) and speed scale from
vehicles driven through the lane with a ChArUco board on the bumper (the maths:
:mod:`lanecam.calibration.radar_fit`; the recording: :func:`lanecam.calibration.latency.record`).

The lane then divides every radar speed by ``cos(mount_deg)`` and multiplies it by
``speed_scale`` (:mod:`lanecam.lane.sensor_calibration`).
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

import numpy as np

from .latency import Session
from .latency import add_arguments as _latency_arguments
from .result import Calibration, CalibrationError, Draw

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..board_target import BoardSpec
    from ..config import LaneConfig
    from .radar_fit import AimFit

HELP = "radar mounting angle and speed scale against the camera's track of the board"

#: the stated bounds of a good fit
MAX_SIGMA_MOUNT_DEG = 0.15
MAX_CORRECTED_ERROR = 0.01       # ±1 % after correction (France allows ±3 % at verification)
MIN_PASSES = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    _latency_arguments(p)


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    from .latency import _device_session
    from .pose import parse_board

    spec = parse_board(args.board)
    if args.sim is not None:
        from ..sim.calibration import radar_session
        from . import latency

        session, cfg, truth = radar_session(args, spec, latency)
    else:
        session, cfg = _device_session(args, spec)
        truth = None
    if cfg.radar is None:
        raise CalibrationError("the lane config has no radar", kind="radar",
                               reason="device_missing", key="sensors.radar")
    return result(session, cfg, spec, truth)


def result(session: Session, cfg: LaneConfig, spec: BoardSpec, truth: dict[str, float] | None
           ) -> tuple[Calibration, Draw | None]:
    from .latency_fit import fit_passes
    from .latency_report import board_range
    from .radar_fit import fit_aim, pass_rates

    t0 = min(f[0] for f in session.frames) if session.frames else 0
    samples = []
    for _, start, exposure_s, img in session.frames:
        r = None if start is None else board_range(img, spec, session.model)
        if r is not None:
            samples.append(((start - t0) / 1e9 + exposure_s / 2, r))
    if not samples:
        raise CalibrationError("the board was found in no timestamped frame", kind="radar",
                               reason="target_not_found", device=session.camera)
    lat = cfg.radar.latency_s if cfg.radar is not None else 0.0
    radar = [((t - t0) / 1e9 - lat, r, v) for t, r, v in session.readings.get("radar", [])]
    lidar = [((t - t0) / 1e9, r, v) for t, r, v in session.readings.get("lidar", [])]
    passes = fit_passes(samples)
    rates = pass_rates(passes, radar, lidar)
    if len(rates) < MIN_PASSES:
        why = (f"too_few_passes: {len(rates)} pass(es) with radar readings, at least "
               f"{MIN_PASSES} are needed")
        return Calibration("radar", {"passes": len(rates)}, {}, {}, "poor", why), None
    return _calibration(fit_aim(rates), truth)


def _calibration(fit: AimFit, truth: dict[str, float] | None) -> tuple[Calibration, Draw]:
    worst = max(abs(e) for e in fit.corrected_error)
    est = {"mount_deg": fit.mount_deg, "speed_scale": 1.0 / fit.speed_scale,
           "doppler_scale": fit.speed_scale, "worst_corrected_error": worst}
    unc = {"mount_deg": fit.sigma_mount_deg,
           "speed_scale": fit.sigma_speed_scale / fit.speed_scale ** 2,
           "doppler_scale": fit.sigma_speed_scale}
    problems = []
    if not fit.sigma_mount_deg <= MAX_SIGMA_MOUNT_DEG:
        problems.append(f"σ(mount) {fit.sigma_mount_deg:.2f}° > {MAX_SIGMA_MOUNT_DEG}°")
    if not worst <= MAX_CORRECTED_ERROR:
        problems.append(f"a pass is still {worst:.1%} off after correction "
                        f"(> {MAX_CORRECTED_ERROR:.0%})")
    quality = "poor" if problems else "good"
    why = "; ".join(problems) if problems else (
        f"{len(fit.passes)} passes, mount {fit.mount_deg:.2f}°, worst corrected speed "
        f"error {worst:.2%}")
    err = None
    if truth is not None:
        c_true, c_est = (math.cos(math.radians(a)) for a in (truth["mount_deg"], fit.mount_deg))
        after = truth["speed_scale"] * c_true / (fit.speed_scale * c_est) - 1
        err = {"mount_deg": fit.mount_deg - truth["mount_deg"],
               "doppler_scale": fit.speed_scale - truth["speed_scale"],
               "speed_error_after_correction": after}
    frag = {"sensors": {"radar": {"mount_deg": round(fit.mount_deg, 3),
                                  "speed_scale": round(1.0 / fit.speed_scale, 5)}}}
    cal = Calibration("radar", est, unc, frag, quality, why, truth=truth, error=err,
                      details={"passes": [vars(p) for p in fit.passes],
                               "corrected_error": list(fit.corrected_error),
                               "raw_error": list(fit.raw_error)})
    return cal, _draw(fit, cal)


def _draw(fit: AimFit, cal: Calibration) -> Draw:
    def draw(fig: Figure) -> None:
        a, b, c = fig.subplots(1, 3)
        v = np.array([p.v_mps for p in fit.passes])
        xs = np.linspace(0, float(v.max()) * 1.1, 10)
        cos = math.cos(math.radians(fit.mount_deg))
        a.plot(v, [p.radar_rate_mps for p in fit.passes], "o", label="radar range rate")
        a.plot(v, [p.lidar_rate_mps for p in fit.passes], "s", mfc="none",
               label="lidar range rate")
        a.plot(xs, xs * cos, "r-", label=f"cos {fit.mount_deg:.2f}° = {cos:.4f}")
        a.plot(xs, xs, "k:", lw=0.8)
        a.set(xlabel="camera speed m/s", ylabel="m/s", title="range rates vs the track")
        a.legend(fontsize=7)
        b.plot(v, [p.doppler_mps for p in fit.passes], "o", label="Doppler as read")
        b.plot(xs, xs * cos * fit.speed_scale, "r-",
               label=f"s·cos θ (s = {fit.speed_scale:.4f})")
        b.plot(xs, xs, "k:", lw=0.8)
        b.set(xlabel="camera speed m/s", title="Doppler speed vs the track")
        b.legend(fontsize=7)
        c.axhspan(-100 * MAX_CORRECTED_ERROR, 100 * MAX_CORRECTED_ERROR, color="tab:green",
                  alpha=0.15, label="±1 %")
        c.axhspan(-3, 3, color="tab:orange", alpha=0.08, label="±3 % (verification)")
        c.plot(v, np.array(fit.raw_error) * 100, "x", label="before")
        c.plot(v, np.array(fit.corrected_error) * 100, "o", label="after")
        c.set(xlabel="camera speed m/s", ylabel="speed error %", title="before / after")
        c.legend(fontsize=7)
        fig.suptitle(f"radar: {cal.quality.upper()} — {cal.why}", fontsize=10)
    return draw
