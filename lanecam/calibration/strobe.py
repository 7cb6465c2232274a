"""``lanecam calibrate strobe``: the strobe's timing against the exposure, and the eye-safety
record.

Timing: with the camera's exposure output firing the controller, the pulse (half the exposure
long, rated brightness) is walked through the exposure by the controller's trigger delay; the
brightness of what the lamp lights against the delay is a trapezoid whose edges place the
pulse (:mod:`.strobe_fit`).  The latency written (``[illuminator] latency_s``) makes the lane
delay a pulse that would start before the exposure.

Eye safety: the installer measures the irradiance with a calibrated NIR meter at the nearest
position a person's eye can reach, at 100 % brightness, and enters it (``--irradiance-w-m2``,
``--eye-distance-m``); it is written into ``[illuminator]`` and the lane's interlock uses it.
Without it the lane holds the lamp at its rated current (no overdrive), and the report says so.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from .camera_choice import add_camera_argument, chosen_camera, lane_config
from .result import Calibration, CalibrationError, Draw

HELP = "strobe timing (delay scan) and the eye-safety irradiance record"
KIND = "strobe"

#: scan points, and the scan's reach past the exposure (fraction of it)
SCAN_STEPS, SCAN_REACH = 28, 1.15
#: poor above this 1σ (s), or when the lamp's step is below this many residual rms
MAX_LATENCY_SD_S, MIN_SIGNAL_RMS = 5e-6, 10.0
#: the controller's timing resolution (s; the Gardasoft RT's 1 µs steps), added in quadrature
#: to the fit's 1σ
TIMING_RESOLUTION_S = 1e-6
#: the lane's pulse train rate when the config does not say (Hz)
DEFAULT_RATE_HZ = 30.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_camera_argument(p)
    p.add_argument("--irradiance-w-m2", type=float,
                   help="irradiance measured at the nearest reachable eye position at 100 %% "
                        "brightness (W/m², calibrated NIR meter, IEC 62471 geometry)")
    p.add_argument("--eye-distance-m", type=float,
                   help="distance from the lamp of that eye position (m)")
    p.add_argument("--image-files", metavar="DIR",
                   help="serve the camera's frames from these image files (pylon emulator)")
    p.add_argument("--sim-latency-s", type=float, default=-150e-6,
                   help="with --sim: the simulated light's true latency (s, default -150e-6: "
                        "the camera's output fires 150 µs before the exposure)")


def _check_meter(args: argparse.Namespace) -> None:
    e, d = args.irradiance_w_m2, args.eye_distance_m
    if (e is None) != (d is None):
        raise CalibrationError("give the measured irradiance and the eye distance together",
                               kind=KIND, reason="bad_input", key="irradiance_w_m2")
    if e is not None and not (e > 0 and d > 0):
        raise CalibrationError("irradiance and eye distance must be > 0", kind=KIND,
                               reason="bad_input", key="irradiance_w_m2")


def scan(rig: Any) -> tuple[list[float], list[np.ndarray]]:
    t = rig.exposure_s
    delays, frames = [], []
    for d in np.linspace(0.0, SCAN_REACH * t, SCAN_STEPS):
        delays.append(rig.set_delay(float(d)))
        frames.append(rig.grab())
    return delays, frames


def lit_mean(frames: list[np.ndarray]) -> tuple[list[float], np.ndarray]:
    """Mean of the pixels the lamp changes most over the scan (never saturated)."""
    stack = np.stack([f.astype(np.float32) for f in frames])
    full = 255.0 if frames[0].dtype == np.uint8 else 4095.0
    span = stack.max(axis=0) - stack.min(axis=0)
    mask = (span >= 0.5 * float(np.percentile(span, 99.9))) & (stack.max(axis=0) < 0.98 * full)
    if not mask.any():
        raise CalibrationError("the lamp lights nothing the camera sees", kind=KIND,
                               reason="target_not_found")
    return [float(f[mask].mean()) for f in stack], mask


def _rig(args: argparse.Namespace, camera: str) -> tuple[Any, Any]:
    from . import strobe_rig

    if args.sim is not None:
        from .camera_choice import scenario

        sc = scenario(args)
        return strobe_rig.sim_rig(sc, camera, latency_s=args.sim_latency_s,
                                  seed=args.seed), None
    lane = lane_config(args)
    return strobe_rig.device_rig(lane, camera, args.image_files), lane


def _lane_pulse(lane: Any, rig: Any) -> tuple[float, float, float, str]:
    """(pulse s, brightness, rate Hz, profile name) the lane runs."""
    if lane is None or lane.illuminator is None:
        from ..sim.lane import ILLUMINATOR_PROFILE

        return rig.exposure_s, 1.0, DEFAULT_RATE_HZ, ILLUMINATOR_PROFILE
    ill = lane.illuminator
    return (ill.pulse_s or rig.exposure_s, ill.brightness, lane.capture.frame_rate_hz,
            ill.model)


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    from .strobe_fit import fit_latency

    _check_meter(args)
    camera = chosen_camera(args, KIND)
    rig, lane = _rig(args, camera)
    try:
        delays, frames = scan(rig)
        width, exposure = rig.width_s, rig.exposure_s
        pulse = _lane_pulse(lane, rig)
    finally:
        rig.close()
    means, mask = lit_mean(frames)
    fit = fit_latency(delays, means, width, exposure)
    fit = replace(fit, latency_sd_s=float(np.hypot(fit.latency_sd_s, TIMING_RESOLUTION_S)))
    probs = []
    if not fit.edges_seen or fit.lamp_per_s * width < MIN_SIGNAL_RMS * max(fit.rms, 1e-9):
        probs.append("the scan shows no clear pulse edge (lamp not seen, or out of reach)")
    elif fit.latency_sd_s > MAX_LATENCY_SD_S:
        probs.append(f"latency uncertain: ±{fit.latency_sd_s * 1e6:.1f} µs")
    view = (frames[int(np.argmax(means))], mask)
    return _result(args, camera, fit, delays, means, pulse, probs, exposure, width, view)


def _result(args: argparse.Namespace, camera: str, fit: Any, delays: list[float],
            means: list[float], pulse: tuple[float, float, float, str], probs: list[str],
            exposure: float, width: float, view: tuple[np.ndarray, np.ndarray]
            ) -> tuple[Calibration, Draw]:
    from ..devices.illuminators import load_illuminator_profile
    from .strobe_fit import iec_max_brightness, overdrive_max_brightness

    profile = load_illuminator_profile(pulse[3])
    lat = fit.latency_s
    est: dict[str, Any] = {"latency_s": lat, "delay_s": max(0.0, -lat),
                           "light_lost_at_pulse_eq_exposure": max(0.0, lat) / exposure}
    frag: dict[str, Any] = {"latency_s": round(lat, 7)}
    e = args.irradiance_w_m2
    if e is not None:
        frag.update(irradiance_w_m2=e, eye_distance_m=args.eye_distance_m)
        est.update(irradiance_w_m2=e, eye_distance_m=args.eye_distance_m,
                   iec_max_brightness=iec_max_brightness(pulse[0], pulse[2], e))
        eye = (f"eye irradiance {e:g} W/m² at {args.eye_distance_m:g} m: the interlock allows "
               f"{min(est['iec_max_brightness'], profile.max_brightness):.2f}× rated for "
               f"{pulse[0] * 1e3:g} ms pulses at {pulse[2]:g} Hz")
    else:
        eye = ("no eye irradiance entered (--irradiance-w-m2): the lane holds the lamp at its "
               "rated current, no overdrive")
    est["overdrive_max_brightness"] = overdrive_max_brightness(profile, pulse[0], pulse[2])
    truth = error = None
    if args.sim is not None:
        truth, error = {"latency_s": args.sim_latency_s}, {"latency_s": lat - args.sim_latency_s}
    why = "; ".join(probs) or (f"pulse starts {lat * 1e6:+.1f} ± {fit.latency_sd_s * 1e6:.1f} µs "
                               f"after the exposure at delay 0; {eye}")
    cal = Calibration(KIND, est, {"latency_s": fit.latency_sd_s}, {"illuminator": frag},
                      "poor" if probs else "good", why, truth, error,
                      details={"camera": camera, "delays_s": delays, "brightness": means,
                               "scan_pulse_s": width, "scan_exposure_s": exposure,
                               "lane_pulse": {"pulse_s": pulse[0], "brightness": pulse[1],
                                              "rate_hz": pulse[2], "profile": pulse[3]}})
    from .strobe_plot import draw_strobe

    return cal, lambda fig: draw_strobe(fig, fit, delays, means, width, exposure, profile,
                                        pulse, e, why, view)
