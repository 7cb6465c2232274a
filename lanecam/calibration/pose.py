"""``lanecam calibrate pose``: a camera's intrinsics and its pose on the lane from a ChArUco
board stood at marked stations (the maths: :mod:`lanecam.calibration.pose_fit`).

The integrator stands the board at each station in turn (planned from the camera's configured
pose unless ``--stations`` gives surveyed ones) and the camera takes one frame of it; with
``--sim`` the simulator renders those frames through a camera whose real pose is off from the
configured one (:func:`lanecam.sim.calibration.true_camera`).
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..board_target import BoardSpec, Station
from ..errors import ConfigError
from .result import Calibration, CalibrationError, Draw

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..geometry import CameraModel
    from .pose_fit import PoseFit

HELP = "camera intrinsics and pose on the lane from a ChArUco board at marked stations"

#: the stated bounds of a good fit
MAX_RMS_PX = 0.5
MIN_VIEWS = 4
MAX_SIGMA = {"height_m": 0.01, "lateral_m": 0.01, "pitch_deg": 0.2, "yaw_deg": 0.2,
             "roll_deg": 0.2}
CAMERA_KEYS = ("height_m", "lateral_m", "pitch_deg", "yaw_deg", "roll_deg", "fx_px", "fy_px",
               "cx_px", "cy_px")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", help="the lane camera to calibrate (default: the first)")
    p.add_argument("--stations", type=Path,
                   help="TOML of surveyed stations, [[station]] x_m, y_m, z_m[, yaw_deg, "
                        "tilt_deg] (default: planned from the configured pose, printed)")
    p.add_argument("--board", default="7x5:0.1:0.075:DICT_5X5_100",
                   help="ChArUco board SQUARESxSQUARES:SQUARE_M:MARKER_M:DICTIONARY "
                        "(default %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                   help="camera setting for the board frames (e.g. exposure_s=0.002; "
                        "repeatable; numbers as numbers)")
    p.add_argument("--no-prompt", action="store_true",
                   help="grab at each station without waiting for Enter")
    p.add_argument("--scale", type=float, default=1.0,
                   help="--sim: render at this fraction of the resolution (quick runs)")
    p.add_argument("--save-frames", type=Path, metavar="DIR",
                   help="keep the board frames as DIR/station_NN.png (for the record, or to "
                        "serve them from a camera emulator)")


def parse_board(text: str) -> BoardSpec:
    """``7x5:0.1:0.075:DICT_5X5_100`` → :class:`BoardSpec`."""
    try:
        squares, square, marker, dictionary = text.split(":")
        sx, sy = (int(n) for n in squares.lower().split("x"))
        return BoardSpec(sx, sy, float(square), float(marker), dictionary)
    except ValueError as exc:
        raise ConfigError(f"bad board {text!r}", key="--board",
                          allowed="SXxSY:SQUARE_M:MARKER_M:DICT") from exc


def load_stations(path: Path) -> list[Station]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read stations: {exc}", key=str(path)) from exc
    raw = doc.get("station")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("give the stations as [[station]] tables", key="station")
    return [Station.from_mapping(r, f"station[{i}]") for i, r in enumerate(raw)]


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError("a setting is NAME=VALUE", key=item)
        try:
            out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            out[key] = value
    return out


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    from .pose_fit import View, detect_board, plan_stations

    spec = parse_board(args.board)
    if args.sim is not None:
        name, configured, frames_for, truth = _sim_source(args)
    else:
        name, configured, frames_for = _device_source(args)
        truth = None
    stations = load_stations(args.stations) if args.stations else plan_stations(configured, spec)
    images = frames_for(spec, stations)
    if args.save_frames is not None:
        _save(args.save_frames, images)
    views = []
    for st, img in zip(stations, images, strict=True):
        found = detect_board(img, spec)
        if found is not None:
            views.append(View(st, *found))
    if not views:
        raise CalibrationError("the board was found in no frame", kind="pose",
                               reason="target_not_found", device=name)
    return _result(name, configured, spec, stations, views, truth)


def _save(folder: Path, images: Sequence[np.ndarray]) -> None:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"station_{i:02d}.png"), img)


def _result(name: str, configured: CameraModel, spec: BoardSpec, stations: Sequence[Station],
            views: Sequence[Any], truth: CameraModel | None) -> tuple[Calibration, Draw]:
    from .pose_fit import fit_pose

    if len(views) < MIN_VIEWS:
        why = (f"too_few_views: the board was found at {len(views)} of {len(stations)} "
               f"stations, at least {MIN_VIEWS} are needed")
        return Calibration("pose", {"views": len(views)}, {}, {}, "poor", why), None  # type: ignore[return-value]
    fit = fit_pose(configured, views, spec)
    est = fit.estimate()
    problems = [f"reprojection RMS {fit.rms_px:.2f} px > {MAX_RMS_PX} px"] \
        if not fit.rms_px <= MAX_RMS_PX else []
    problems += [f"σ({k}) {fit.uncertainty.get(k, math.inf):.3g} > {b}"
                 for k, b in MAX_SIGMA.items() if not fit.uncertainty.get(k, math.inf) <= b]
    quality = "poor" if problems else "good"
    why = "; ".join(problems) if problems else (
        f"{len(views)} of {len(stations)} stations, {len(fit.view)} corners, "
        f"RMS {fit.rms_px:.3f} px")
    frag_cam: dict[str, Any] = {"name": name, **{k: _round(est[k]) for k in CAMERA_KEYS},
                                "distortion": [float(f"{x:.6g}") for x in est["distortion"]]}
    t_est = e_est = None
    if truth is not None:
        t_est = _camera_values(truth)
        e_est = {k: float(est[k]) - t_est[k] for k in t_est}
    cal = Calibration("pose", est, fit.uncertainty, {"cameras": [frag_cam]}, quality, why,
                      truth=t_est, error=e_est,
                      details={"camera": name, "views": len(views), "stations": len(stations),
                               "corners": len(fit.view),
                               "configured": _camera_values(configured)})
    return cal, _draw(fit, configured, views, spec, truth, cal)


def _round(v: Any) -> float:
    return float(f"{float(v):.7g}")


def _camera_values(c: CameraModel) -> dict[str, float]:
    (fx, fy), (cx, cy) = c.focal_xy, c.principal
    return {"height_m": c.height_m, "lateral_m": c.lateral_m, "pitch_deg": c.pitch_deg,
            "yaw_deg": c.yaw_deg, "roll_deg": c.roll_deg, "fx_px": fx, "fy_px": fy,
            "cx_px": cx, "cy_px": cy}


# ---------------------------------------------------------------------- where frames come from
def _sim_source(args: argparse.Namespace) -> tuple[str, CameraModel, Any, CameraModel]:
    """The scenario's camera as configured, and frames from the world's true camera."""
    from ..sim.calibration import render_board_views, true_camera
    from ..sim.scenario import load_scenario

    sc = load_scenario(args.sim)
    configured = sc.world.camera(args.camera)
    truth = true_camera(configured)

    def frames(spec: BoardSpec, stations: Sequence[Station]) -> list[np.ndarray]:
        return render_board_views(sc, truth, spec, stations, scale=args.scale, seed=args.seed)

    return configured.name, configured.scaled(args.scale), frames, truth.scaled(args.scale)


def _device_source(args: argparse.Namespace) -> tuple[str, CameraModel, Any]:
    """The lane config's camera: its configured model, and one frame per station from it."""
    from ..config import load_lane_config
    from ..lane.connect import HARDWARE

    cfg = load_lane_config(args.lane)
    cams = [c for c in cfg.cameras if args.camera in (None, c.name)]
    if not cams:
        raise ConfigError("no such camera in the lane config", key="--camera",
                          allowed=[c.name for c in cfg.cameras])
    ccfg = cams[0]
    settings = parse_settings(args.set)

    def frames(spec: BoardSpec, stations: Sequence[Station]) -> list[np.ndarray]:
        from ..devices.cameras.types import Trigger

        out = []
        cam = HARDWARE.camera(ccfg, buffer_count=4)
        with cam.open():
            if settings:
                cam.configure(settings)
            cam.arm(Trigger.software())
            try:
                for i, st in enumerate(stations):
                    _prompt(args, i, len(stations), st)
                    cam.trigger()
                    with cam.grab(timeout_s=5.0) as fr:
                        out.append(np.array(fr.array))
            finally:
                cam.disarm()
        return out

    return ccfg.name, HARDWARE.camera_model(ccfg, None), frames  # type: ignore[arg-type]


def _prompt(args: argparse.Namespace, i: int, n: int, st: Station) -> None:
    msg = (f"station {i + 1}/{n}: board centre at x={st.x_m:+.3f} m, y={st.y_m:.3f} m, "
           f"z={st.z_m:.3f} m, turned {st.yaw_deg:+.0f}° / tilted {st.tilt_deg:+.0f}°")
    print(msg, file=sys.stderr)
    if not args.no_prompt:
        input("  stand the board there, step out of view, press Enter ")


# ---------------------------------------------------------------------- the report
def _draw(fit: PoseFit, configured: CameraModel, views: Sequence[Any], spec: BoardSpec,
          truth: CameraModel | None, cal: Calibration) -> Draw:
    def draw(fig: Figure) -> None:
        ax = fig.subplot_mosaic([["img", "img", "plan"], ["img", "img", "side"],
                                 ["hist", "table", "table"]])
        _draw_residuals(ax["img"], fit)
        _draw_lane(ax["plan"], ax["side"], fit.camera, configured, views, spec, truth)
        _draw_rms(ax["hist"], fit)
        _draw_table(ax["table"], cal, configured, truth)
        fig.suptitle(f"pose of {cal.details['camera']}: {cal.quality.upper()} — {cal.why}",
                     fontsize=10)
    return draw


def _draw_residuals(ax: Any, fit: PoseFit) -> None:
    c = fit.camera
    gain = 200.0
    ax.quiver(fit.image_px[:, 0], fit.image_px[:, 1], fit.residual_px[:, 0] * gain,
              -fit.residual_px[:, 1] * gain, fit.view, angles="xy", scale_units="xy", scale=1,
              cmap="tab20", width=0.003)
    ax.set_xlim(0, c.width_px)
    ax.set_ylim(c.height_px, 0)
    ax.set_aspect("equal")
    ax.plot(*c.principal, "r+", ms=12)
    ax.set_title(f"reprojection residuals ×{gain:.0f} (colour: station; + principal point)",
                 fontsize=9)


def _draw_lane(plan: Any, side: Any, cam: CameraModel, configured: CameraModel,
               views: Sequence[Any], spec: BoardSpec, truth: CameraModel | None) -> None:
    for v in views:
        w = v.station.to_world(spec, spec.corners())
        plan.plot(w[:, 2], w[:, 0], ".", ms=1, color="0.5")
        side.plot(w[:, 2], w[:, 1], ".", ms=1, color="0.5")
    cams = [(configured, "configured", "tab:orange"), (cam, "measured", "tab:blue")]
    if truth is not None:
        cams.append((truth, "truth (sim)", "tab:green"))
    for c, label, col in cams:
        fwd = c.axes()[2] * 20
        p = c.position
        plan.plot([p[2], p[2] + fwd[2]], [p[0], p[0] + fwd[0]], color=col, label=label)
        side.plot([p[2], p[2] + fwd[2]], [p[1], p[1] + fwd[1]], color=col)
    plan.set_title("plan (z → down the lane, x)", fontsize=9)
    side.set_title("side (z, height)", fontsize=9)
    plan.legend(fontsize=7)
    side.set_xlabel("m")


def _draw_rms(ax: Any, fit: PoseFit) -> None:
    rms = fit.view_rms()
    ax.bar(range(1, len(rms) + 1), rms, color="tab:blue")
    ax.axhline(MAX_RMS_PX, color="tab:red", ls="--", label=f"bound {MAX_RMS_PX} px")
    ax.set_xlabel("station")
    ax.set_ylabel("RMS px")
    ax.legend(fontsize=7)
    ax.set_title("reprojection RMS per station", fontsize=9)


def _draw_table(ax: Any, cal: Calibration, configured: CameraModel,
                truth: CameraModel | None) -> None:
    ax.axis("off")
    conf = _camera_values(configured)
    head = ["", "configured", "measured ± 1σ"] + (["truth (sim)", "error"] if truth else [])
    rows = []
    for k in CAMERA_KEYS:
        row = [k, f"{conf[k]:.4g}",
               f"{cal.estimate[k]:.5g} ± {cal.uncertainty.get(k, math.nan):.2g}"]
        if truth is not None and cal.error is not None:
            row += [f"{_camera_values(truth)[k]:.5g}", f"{cal.error[k]:+.2g}"]
        rows.append(row)
    t = ax.table(cellText=rows, colLabels=head, loc="center", cellLoc="right")
    t.auto_set_font_size(False)
    t.set_fontsize(7)
    t.scale(1, 1.1)
