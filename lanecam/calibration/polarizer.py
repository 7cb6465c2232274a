"""``lanecam calibrate polarizer``: the analyzer rotation mount's offset from a Malus sweep.

Park a car (any windshield) nose-on in the lane, windshield centre at a taped station, on a
day with no direct sun on the glass (or hold a polarizing sheet of known axis in view): the
procedure turns the mount through 180° in ``--steps`` readings, films each, finds the glare by
its modulation, fits Malus' law and compares the reading that passes the glare most with the
glare's known axis (:mod:`.malus_fit`).  It writes ``offset_deg`` of the camera's
``[cameras.rotator]``, which the lane's rotator driver adds to every mechanical reading.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from .camera_choice import add_camera_argument, chosen_camera, lane_config
from .result import Calibration, CalibrationError, Draw

HELP = "analyzer rotation mount offset from a Malus sweep of windshield glare"
KIND = "polarizer"

#: a fit is poor above this 1σ (deg), below this glare DoLP, or with fewer glare pixels
MAX_SD_DEG, MIN_DOLP, MIN_PIXELS = 0.5, 0.2, 50
#: mean of the brightest glare pixels at most this share of full scale (no clipping)
MAX_LEVEL = 0.85
#: 1σ of the installer's measurements: windshield rake (deg), centre position (m)
RAKE_SD_DEG, POSITION_SD_M = 2.0, 0.1


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_camera_argument(p)
    p.add_argument("--steps", type=int, default=12, help="mount readings over 180° (default 12)")
    g = p.add_argument_group("the target (real lane)")
    g.add_argument("--rake-deg", type=float, default=30.0,
                   help="the parked car's windshield rake from horizontal (deg, default 30)")
    g.add_argument("--glass-m", type=float, nargs=3, metavar=("X", "Y", "Z"),
                   help="windshield centre: lateral, height, lane range (m)")
    g.add_argument("--glare-axis-deg", type=float,
                   help="instead of a windshield: a polarizing sheet whose axis in the image is "
                        "this (deg, counter-clockwise from +x)")
    g.add_argument("--image-files", metavar="DIR",
                   help="serve the camera's frames from these image files (pylon emulator)")
    p.add_argument("--sim-mismount-deg", type=float, default=25.0,
                   help="with --sim: the simulated mount's true offset (default 25)")


def sweep(rig: Any, steps: int) -> tuple[list[float], list[np.ndarray]]:
    """Readings (deg) and frames of one sweep; the exposure halved first until the brightest
    pixels sit below :data:`MAX_LEVEL` of full scale at every reading."""
    targets = [180.0 * i / steps for i in range(steps)]
    readings, frames = [], []
    for t in targets:
        readings.append(rig.move(t))
        frames.append(rig.grab())
    return readings, frames


def _full_scale(frame: np.ndarray) -> float:
    return 255.0 if frame.dtype == np.uint8 else 4095.0


def _expose(rig: Any, steps: int) -> tuple[list[float], list[np.ndarray]]:
    for _ in range(8):
        readings, frames = sweep(rig, steps)
        top = max(float(np.percentile(f, 99.95)) for f in frames)
        if top < MAX_LEVEL * _full_scale(frames[0]) or "exposure_time" not in rig.settings:
            return readings, frames
        rig.grab({"exposure_time": rig.settings["exposure_time"] / 2})
    return readings, frames


def _glare_axis(args: argparse.Namespace, rig: Any) -> tuple[float, float]:
    """ψ (deg) and its 1σ from the installer's measurement errors."""
    from .malus_fit import windshield_glare_axis, wrap90

    if args.glare_axis_deg is not None:
        return float(args.glare_axis_deg) % 180.0, 0.0
    if rig.target is not None:
        centre, rake = rig.target.glass_centre_m, rig.target.rake_deg
    elif args.glass_m is not None:
        centre, rake = tuple(args.glass_m), args.rake_deg
    else:
        raise CalibrationError("give the windshield centre (--glass-m X Y Z) or a sheet's axis "
                               "(--glare-axis-deg)", kind=KIND, reason="target_unknown")
    psi = windshield_glare_axis(rig.camera_model, centre, rake)
    var = (wrap90(windshield_glare_axis(rig.camera_model, centre, rake + RAKE_SD_DEG) - psi)
           ) ** 2
    for i in range(3):
        c = list(centre)
        c[i] += POSITION_SD_M
        var += wrap90(windshield_glare_axis(rig.camera_model, c, rake) - psi) ** 2
    return psi, float(np.sqrt(var))


def _rig(args: argparse.Namespace, camera: str) -> tuple[Any, float]:
    """The rig and the offset the lane config has now."""
    from . import polarizer_rig

    if args.sim is not None:
        from .camera_choice import scenario

        return polarizer_rig.sim_rig(scenario(args), camera, mismount_deg=args.sim_mismount_deg,
                                     seed=args.seed), 0.0
    cfg = next(c for c in lane_config(args).cameras if c.name == camera)
    if cfg.rotator is None:
        raise CalibrationError("the camera has no [cameras.rotator]", kind=KIND,
                               reason="device_missing", key=f"cameras[{camera}].rotator")
    return polarizer_rig.device_rig(cfg, args.image_files), cfg.rotator.offset_deg


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    from .malus_fit import fit_offset, glare_mask, modulation, wrap90

    camera = chosen_camera(args, KIND)
    rig, old_offset = _rig(args, camera)
    try:
        readings, frames = _expose(rig, max(args.steps, 6))
        psi, psi_sd = _glare_axis(args, rig)
    finally:
        rig.close()
    a, b, c = modulation(readings, frames)
    mask = glare_mask(a, b, c, clip=0.98 * _full_scale(frames[0]))
    means = [float(f[mask].mean()) if mask.any() else 0.0 for f in frames]
    fit = fit_offset(readings, means, psi)
    sd = float(np.hypot(fit.offset_sd_deg, psi_sd))
    probs = []
    if mask.sum() < MIN_PIXELS:
        probs.append(f"glare found on {int(mask.sum())} pixels (< {MIN_PIXELS})")
    if fit.fit.polarized_fraction < MIN_DOLP:
        probs.append(f"glare DoLP {fit.fit.polarized_fraction:.2f} < {MIN_DOLP}")
    if not sd <= MAX_SD_DEG:
        probs.append(f"offset uncertain: ±{sd:.2f}° > {MAX_SD_DEG}°")
    est = {"offset_deg": fit.offset_deg, "glare_axis_deg": psi,
           "max_glare_reading_deg": fit.fit.worst_angle_deg,
           "glare_dolp": fit.fit.polarized_fraction}
    unc = {"offset_deg": sd, "fit_deg": fit.offset_sd_deg, "glare_axis_deg": psi_sd}
    truth = error = None
    if args.sim is not None:
        truth = {"offset_deg": wrap90(args.sim_mismount_deg)}
        error = {"offset_deg": wrap90(fit.offset_deg - truth["offset_deg"])}
    why = "; ".join(probs) or (f"mount offset {fit.offset_deg:+.2f}° ± {sd:.2f}° (was "
                               f"{old_offset:+.2f}°), glare DoLP {fit.fit.polarized_fraction:.2f}"
                               f" on {int(mask.sum())} px")
    frag = {"cameras": [{"name": camera, "rotator": {"offset_deg": round(fit.offset_deg, 2)}}]}
    cal = Calibration(KIND, est, unc, frag, "poor" if probs else "good", why, truth, error,
                      details={"camera": camera, "previous_offset_deg": old_offset,
                               "readings_deg": readings, "roi_means": means,
                               "glare_pixels": int(mask.sum())})
    from .polarizer_plot import draw_polarizer

    best = frames[int(np.argmax(means))]
    return cal, lambda fig: draw_polarizer(fig, fit, best, mask, np.hypot(b, c), old_offset,
                                           cal.why)
