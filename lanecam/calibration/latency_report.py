"""``calibrate latency``: from a recorded drive-through to the result, fragment and report."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..board_target import BoardSpec
from ..config import LaneConfig
from ..geometry import CameraModel
from .latency_fit import LineFit, Pass, camera_delay, fit_loop, fit_passes, fit_sensor
from .result import Calibration, CalibrationError, Draw

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .latency import Session

#: the stated bounds of a good fit
MAX_SIGMA_LATENCY_S = 0.0005
MAX_SIGMA_LOOP_M = 0.025
MAX_PASS_RMS_M = 0.05
MIN_PASSES = 3


def board_range(img: np.ndarray, spec: BoardSpec, model: CameraModel) -> float | None:
    """The lane range (m) of the board's centre in ``img``, by PnP with the camera ``model``."""
    import cv2

    from .pose_fit import detect_board

    found = detect_board(img, spec)
    if found is None or len(found[0]) < 8:
        return None
    ids, px = found
    (fx, fy), (cx, cy) = model.focal_xy, model.principal
    k = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float64)
    dist = np.asarray(model.distortion or (0.0,) * 5, np.float64)
    ok, rvec, tvec = cv2.solvePnP(spec.corners()[ids], px, k, dist)
    if not ok:
        return None
    w, h = spec.size_m
    xc = cv2.Rodrigues(rvec)[0] @ np.array([w / 2, h / 2, 0.0]) + tvec.ravel()
    right, down, fwd = model.axes()
    return float((model.position + xc[0] * right + xc[1] * down + xc[2] * fwd)[2])


def result(session: Session, cfg: LaneConfig, spec: BoardSpec,
           truth: dict[str, float] | None) -> tuple[Calibration, Draw | None]:
    t0 = min(f[0] for f in session.frames) if session.frames else 0
    samples = []
    for _, start, exposure_s, img in session.frames:
        if start is None:
            continue
        r = board_range(img, spec, session.model)
        if r is not None:  # the board's image is an average over the exposure: its middle
            samples.append(((start - t0) / 1e9 + exposure_s / 2, r))
    if not samples:
        raise CalibrationError("the board was found in no frame (or no frame carried an "
                               "exposure timestamp)", kind="latency", reason="target_not_found",
                               device=session.camera)
    passes = fit_passes(samples)
    delay, delay_sd, _ = camera_delay([(t, e) for t, e, _, _ in session.frames
                                       if e is not None])
    if len(passes) < MIN_PASSES or len({round(p.v_mps) for p in passes}) < 2:
        why = (f"too_few_passes: {len(passes)} pass(es) seen by the camera, at least "
               f"{MIN_PASSES} at two or more speeds are needed")
        return Calibration("latency", {"passes": len(passes)}, {}, {}, "poor", why), None
    fits: dict[str, LineFit] = {}
    for name, rows in session.readings.items():
        try:
            fits[name] = fit_sensor(passes, [((t - t0) / 1e9, r) for t, r, _ in rows
                                             if math.isfinite(r)])
        except ValueError:
            pass
    loop = None
    if session.loop_entries:
        try:
            loop, _ = fit_loop(passes, [(t - t0) / 1e9 for t in session.loop_entries],
                               [(t - t0) / 1e9 for t in session.loop_exits])
        except ValueError:
            loop = None
    return _calibration(session, cfg, passes, fits, loop, (delay, delay_sd), truth, samples)


def _calibration(session: Session, cfg: LaneConfig, passes: list[Pass],
                 fits: dict[str, LineFit], loop: LineFit | None, delay: tuple[float, float],
                 truth: dict[str, float] | None, samples: list[tuple[float, float]]
                 ) -> tuple[Calibration, Draw]:
    est: dict[str, float] = {"camera_trigger_delay_s": delay[0]}
    unc: dict[str, float] = {"camera_trigger_delay_s": delay[1]}
    for name, f in fits.items():
        est[f"{name}_latency_s"], unc[f"{name}_latency_s"] = f.slope, f.sigma_slope
        est[f"{name}_offset_m"], unc[f"{name}_offset_m"] = f.intercept, f.sigma_intercept
    if loop is not None:
        est["loop_latency_s"], unc["loop_latency_s"] = -loop.slope, loop.sigma_slope
        est["loop_position_m"], unc["loop_position_m"] = loop.intercept, loop.sigma_intercept
    problems = [f"σ({k}) {unc[k] * 1e3:.2f} ms > {MAX_SIGMA_LATENCY_S * 1e3} ms"
                for k in unc if k.endswith("latency_s") and not unc[k] <= MAX_SIGMA_LATENCY_S]
    if loop is not None and not unc["loop_position_m"] <= MAX_SIGMA_LOOP_M:
        problems.append(f"σ(loop_position_m) {unc['loop_position_m']:.3f} m > {MAX_SIGMA_LOOP_M}")
    problems += [f"pass at {p.v_mps:.1f} m/s scatters {p.rms_m:.3f} m about a straight line"
                 for p in passes if not p.rms_m <= MAX_PASS_RMS_M]
    expected = {"radar": cfg.radar, "lidar": cfg.lidar}
    problems += [f"no {n} reading during the passes" for n, c in expected.items()
                 if c is not None and n not in fits]
    if cfg.loop is not None and loop is None:
        problems.append("no loop entry during the passes")
    quality = "poor" if problems else "good"
    why = "; ".join(problems) if problems else (
        f"{len(passes)} passes at {', '.join(f'{p.v_mps:.1f}' for p in passes)} m/s, "
        f"{len(samples)} board frames")
    frag: dict[str, Any] = {"cameras": [{"name": session.camera,
                                         "trigger_delay_s": _r(delay[0])}], "sensors": {}}
    for name in fits:
        frag["sensors"][name] = {"latency_s": _r(est[f"{name}_latency_s"])}
    if loop is not None:
        frag["sensors"]["loop"] = {"latency_s": _r(est["loop_latency_s"]),
                                   "position_m": round(est["loop_position_m"], 3)}
    err = None if truth is None else {k: est[k] - v for k, v in truth.items() if k in est}
    cal = Calibration("latency", est, unc, frag, quality, why, truth=truth, error=err,
                      details={"passes": [vars(p) for p in passes], "camera": session.camera,
                               "readings": {k: len(v) for k, v in session.readings.items()},
                               "loop_entries": len(session.loop_entries)})
    return cal, _draw(cal, passes, fits, loop, samples)


def _r(v: float) -> float:
    return round(max(0.0, float(v)), 5)


def _draw(cal: Calibration, passes: list[Pass], fits: dict[str, LineFit], loop: LineFit | None,
          samples: list[tuple[float, float]]) -> Draw:
    def draw(fig: Figure) -> None:
        ax = fig.subplot_mosaic([["track", "track", "loop"], ["radar", "lidar", "table"]])
        t = np.array([s[0] for s in samples])
        ax["track"].plot(t, [s[1] for s in samples], "k.", ms=3, label="board (camera)")
        for p in passes:
            tt = np.array([p.t_first_s, p.t_last_s])
            ax["track"].plot(tt, p.range_at(tt), "-", lw=1)
        ax["track"].set(xlabel="s", ylabel="front range m",
                        title="passes: the camera's track of the board")
        ax["track"].legend(fontsize=7)
        for name in ("radar", "lidar"):
            _draw_fit(ax[name], fits.get(name), f"{name}: reading − track vs speed",
                      "m", 1e3, "ms")
        _draw_fit(ax["loop"], loop, "loop: track at its edges vs speed", "m", -1e3, "ms")
        _draw_table(ax["table"], cal)
        fig.suptitle(f"latency: {cal.quality.upper()} — {cal.why}", fontsize=10)
    return draw


def _draw_fit(ax: Any, f: LineFit | None, title: str, unit: str, k: float, kunit: str) -> None:
    ax.set_title(title, fontsize=9)
    if f is None:
        ax.text(0.5, 0.5, "no data", ha="center", transform=ax.transAxes)
        return
    ax.plot(f.x, f.y, ".", ms=3, alpha=0.5)
    xs = np.linspace(0, float(f.x.max()) * 1.05, 10)
    ax.plot(xs, f.intercept + f.slope * xs, "r-",
            label=f"slope {f.slope * k:.2f} ± {abs(f.sigma_slope * k):.2f} {kunit}")
    ax.set(xlabel="speed m/s", ylabel=unit)
    ax.legend(fontsize=7)


def _draw_table(ax: Any, cal: Calibration) -> None:
    ax.axis("off")
    rows = []
    for k, v in cal.estimate.items():
        s = "ms" if k.endswith("_s") else "m"
        mult = 1e3 if s == "ms" else 1.0
        unc = cal.uncertainty.get(k, math.nan) * mult
        row = [k.replace("_s", "").replace("_m", ""), f"{v * mult:.3f} ± {unc:.2g} {s}"]
        if cal.error is not None:  # a simulated run: its error against the injected value
            row.append(f"{cal.error[k] * mult:+.2f}" if k in cal.error else "")
        rows.append(row)
    cols = ["", "measured"] + (["error (sim)"] if cal.error is not None else [])
    t = ax.table(cellText=rows, colLabels=cols, loc="center", cellLoc="right")
    t.auto_set_font_size(False)
    t.set_fontsize(7)
