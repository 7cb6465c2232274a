"""``lanecam calibrate response``: the sensor's EMVA 1288 photon transfer, per gain setting.

Bring a flat, stable light source that fills the view (an integrating sphere, or a diffuser
panel over the lens lit by the lane's lamp on continuous) and cover nothing else.  For each gain
the procedure ramps the exposure to find saturation, then takes a pair of frames at each of 20
exposures (the maths: :mod:`.response_fit`).  The fragment writes the camera's
``[cameras.response]`` (K at 0 dB, dark noise, saturation capacity), from which the exposure
controller computes its gain noise budget.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .camera_choice import add_camera_argument, chosen_camera, lane_config
from .result import Calibration, CalibrationError, Draw

HELP = "sensor response (EMVA 1288 photon transfer): system gain, dark noise, saturation"
KIND = "response"

#: a fit is poor when K's 1σ exceeds this fraction, σ_d's 1σ this fraction, or the linearity
#: error (%) this value
MAX_K_REL_SD, MAX_DARK_REL_SD, MAX_LINEARITY_PCT = 0.01, 0.05, 2.0
#: the gains of the three settings checked against K(g) = K₀·10^(g/20) within this fraction
MAX_GAIN_LAW_DEV = 0.03

Grab = Callable[[float, float], Any]  # (exposure s, gain dB) -> Mono12 frame


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_camera_argument(p)
    p.add_argument("--gains-db", type=float, nargs="+", default=[0.0, 6.0, 12.0],
                   help="analog gain settings to measure (dB, default 0 6 12)")
    p.add_argument("--exposures", type=int, default=20,
                   help="exposure steps per gain (pairs of frames; default 20)")


def find_saturation(grab: Grab, gain_db: float, t0_s: float = 1e-6, t_max_s: float = 1.0
                    ) -> float:
    """The exposure (s) that just saturates the output: double from ``t0_s`` until the mean
    stops growing (the clip plateau), then extrapolate the last point below half the clip."""
    ts, mus = [], []
    t = t0_s
    while t <= t_max_s:
        mus.append(float(np.mean(grab(t, gain_db))))
        ts.append(t)
        if len(mus) > 1 and mus[-1] < 1.02 * mus[-2] and mus[-1] > 0:
            clip = mus[-1]
            below = [(ti, m) for ti, m in zip(ts, mus) if m < 0.5 * clip and m > 0]
            if below:
                ti, m = below[-1]
                return ti * clip / m
            break
        t *= 2
    raise CalibrationError("the output never saturated, or saturated at the shortest "
                           "exposure: adjust the light source", kind=KIND,
                           reason="no_saturation", feature="exposure_time")


def measure_gain(grab: Grab, gain_db: float, steps: int) -> Any:
    from .response_fit import exposure_plan, fit_response, pair_stats

    t_sat = find_saturation(grab, gain_db)
    pts = [pair_stats(t, grab(t, gain_db), grab(t, gain_db)) for t in exposure_plan(t_sat, steps)]
    try:
        return fit_response(pts, gain_db)
    except ValueError as exc:
        raise CalibrationError(f"gain {gain_db:g} dB: {exc}", kind=KIND,
                               reason="too_few_points") from exc


def _source(args: argparse.Namespace, camera: str) -> tuple[Grab, Callable[[], None]]:
    if args.sim is not None:
        from ..sim.flatfield import FlatFieldCamera

        flat = FlatFieldCamera(seed=args.seed, shape=(256, 512))
        return flat.grab, lambda: None
    from .camera_grab import CameraGrabber

    cfg = next(c for c in lane_config(args).cameras if c.name == camera)
    g = CameraGrabber(cfg).__enter__()
    fmt = {"pixel_format": "Mono12"} if g.supports("pixel_format") else {}
    return (lambda t, db: g.grab({"exposure_time": t, "gain": db, **fmt})), g.close


def summarize(fits: list[Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(estimate, uncertainty, problems): per-gain figures and the 0 dB-referred K₀ (the
    weighted mean of K_g/10^(g/20)), the dark noise of the highest gain (least quantised)."""
    est: dict[str, Any] = {}
    unc: dict[str, Any] = {}
    probs: list[str] = []
    k0s = np.array([f.gain_dn_per_e / 10 ** (f.gain_db / 20) for f in fits])
    w = np.array([(10 ** (f.gain_db / 20) / f.gain_dn_per_e_sd) ** 2 for f in fits])
    k0 = float(np.sum(w * k0s) / np.sum(w))
    for f in fits:
        tag = f"{f.gain_db:g}dB"
        est[tag] = {"gain_dn_per_e": f.gain_dn_per_e, "dark_noise_e": f.dark_noise_e,
                    "saturation_e": f.saturation_e, "linearity_error_pct": f.linearity_error_pct}
        unc[tag] = {"gain_dn_per_e": f.gain_dn_per_e_sd, "dark_noise_e": f.dark_noise_e_sd}
        if f.gain_dn_per_e_sd > MAX_K_REL_SD * f.gain_dn_per_e:
            probs.append(f"{tag}: K uncertain ({100 * f.gain_dn_per_e_sd / f.gain_dn_per_e:.1f} %)")
        if f.dark_noise_e_sd > MAX_DARK_REL_SD * max(f.dark_noise_e, 1e-9):
            probs.append(f"{tag}: dark noise uncertain (±{f.dark_noise_e_sd:.2f} e⁻)")
        if not f.linearity_error_pct <= MAX_LINEARITY_PCT:
            probs.append(f"{tag}: linearity error {f.linearity_error_pct:.2f} %")
        dev = f.gain_dn_per_e / (k0 * 10 ** (f.gain_db / 20)) - 1
        if abs(dev) > MAX_GAIN_LAW_DEV:
            probs.append(f"{tag}: K off the dB law by {100 * dev:+.1f} %")
    hi = max(fits, key=lambda f: f.gain_db)
    zero = min(fits, key=lambda f: f.gain_db)
    est["gain_dn_per_e_0db"] = k0
    unc["gain_dn_per_e_0db"] = float(1 / math.sqrt(np.sum(w)))
    est["dark_noise_e"] = hi.dark_noise_e
    unc["dark_noise_e"] = hi.dark_noise_e_sd
    est["saturation_e_0db"] = zero.saturation_e * zero.gain_dn_per_e / 10 ** (zero.gain_db / 20) / k0
    return est, unc, probs


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    camera = chosen_camera(args, KIND)
    grab, close = _source(args, camera)
    try:
        fits = [measure_gain(grab, g, args.exposures) for g in sorted(set(args.gains_db))]
    finally:
        close()
    est, unc, probs = summarize(fits)
    truth = error = None
    if args.sim is not None:
        truth, error = _sim_truth(fits, est)
    frag = {"cameras": [{"name": camera, "response": {
        "gain_dn_per_e": round(est["gain_dn_per_e_0db"], 6),
        "dark_noise_e": round(est["dark_noise_e"], 4),
        "saturation_e": round(est["saturation_e_0db"], 1)}}]}
    why = ("; ".join(probs) if probs else
           f"K₀ {est['gain_dn_per_e_0db']:.4f} DN/e⁻, dark {est['dark_noise_e']:.2f} e⁻, "
           f"saturation {est['saturation_e_0db']:.0f} e⁻ over {len(fits)} gains")
    cal = Calibration(KIND, est, unc, frag, "poor" if probs else "good", why, truth, error,
                      details={"camera": camera})
    from .response_plot import draw_response

    return cal, lambda fig: draw_response(fig, fits, est, cal.why)


def _sim_truth(fits: list[Any], est: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The simulator's constants per gain and the relative errors (fractions)."""
    from ..sim.flatfield import sensor_truth

    truth: dict[str, Any] = {}
    error: dict[str, Any] = {}
    for f in fits:
        tag = f"{f.gain_db:g}dB"
        t = sensor_truth(f.gain_db)
        truth[tag] = t
        error[tag] = {k: (est[tag][k] - v) / v if v else est[tag][k] - v for k, v in t.items()}
    t0 = sensor_truth(0.0)
    truth["gain_dn_per_e_0db"] = t0["gain_dn_per_e"]
    truth["dark_noise_e"] = t0["dark_noise_e"]
    truth["saturation_e_0db"] = t0["saturation_e"]
    for k in ("gain_dn_per_e_0db", "dark_noise_e", "saturation_e_0db"):
        error[k] = est[k] / truth[k] - 1
    return truth, error
