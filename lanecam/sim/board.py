"""A calibration board standing in the lane, rendered by ray casting through the camera's optics.

Every pixel of the board's bounding box (2×2 samples each) is traced back through the camera:
undistorted with the camera's own intrinsics and distortion (the inverse of
:meth:`~lanecam.geometry.CameraModel.project`), turned into a ray from the camera centre along
its axes (roll included), and intersected with the board's plane; the printed pattern is
sampled there.  The board is a matte print (white 0.85, black 0.05) lit by the sky and the
lamps, defocused by the thin-lens blur circle at its distance, and exposed by the same sensor
pass as everything else (:mod:`lanecam.sim.render`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..board_target import BoardSpec, Station
from ..geometry import CameraModel, distort
from .lighting import lamp_irradiance
from .optics import coc_diameter
from .raster import Layer, blur
from .vehicles import Kinematics

__all__ = ["Board", "board_layer", "board_layers", "board_radiance"]

WHITE, BLACK, BACK = 0.85, 0.05, 0.3
_SS = 2  # samples per pixel along each axis


@dataclass(frozen=True)
class Board:
    """A printed ChArUco board ``spec`` standing at ``station`` (world object); when it
    ``follows`` a vehicle's kinematics, ``station.z_m`` is measured from the vehicle's front
    (the board rides on its bumper)."""

    spec: BoardSpec
    station: Station
    name: str = "board"
    follows: Kinematics | None = None
    #: a following board is mounted only while its vehicle's front is within this lane range
    #: (m): one test car drives the passes one after the other
    mounted_m: tuple[float, float] = (5.0, 25.0)

    def at(self, t: float) -> Board | None:
        """The board where it is at world time ``t`` (None: not mounted then)."""
        if self.follows is None:
            return self
        r = self.follows.range_at(t)
        if not self.mounted_m[0] <= r <= self.mounted_m[1]:
            return None
        st = replace(self.station, z_m=self.station.z_m + r)
        return replace(self, station=st, follows=None)


def _pinhole_px(pose: CameraModel, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where the pinhole (no distortion) images what ``pose`` images at the sample grid
    ``u`` (columns) × ``v`` (rows): ``(rows, columns, 2)`` float32.  The correction is smooth:
    solved on a 4-px grid and interpolated bilinearly (well under 0.001 px for a lane lens)."""
    rows, cols = len(v), len(u)
    out = np.empty((rows, cols, 2), np.float32)
    out[..., 0] = u[None, :]
    out[..., 1] = v[:, None]
    if not pose.distortion:
        return out
    (fx, fy), (cx, cy) = pose.focal_xy, pose.principal
    step = 4.0
    u0, v0 = float(u[0]) - 1, float(v[0]) - 1
    gx, gy = np.meshgrid((np.arange(u0, float(u[-1]) + step + 1, step) - cx) / fx,
                         (np.arange(v0, float(v[-1]) + step + 1, step) - cy) / fy)
    ux, uy = undistort(gx, gy, pose.distortion)
    corr = np.dstack([(ux - gx) * fx, (uy - gy) * fy]).astype(np.float32)
    mu = np.tile(((u - u0) / step).astype(np.float32), (rows, 1))
    mv = np.tile(((v - v0) / step).astype(np.float32)[:, None], (1, cols))
    out += cv2.remap(corr, mu, mv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def undistort(xd: np.ndarray, yd: np.ndarray, coeffs: tuple[float, ...], iterations: int = 30
              ) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`~lanecam.geometry.distort` by fixed-point iteration (converges for the
    mild distortion of a lane lens) until the forward model agrees to 1e-13."""
    x, y = xd.copy(), yd.copy()
    for _ in range(iterations):
        dx, dy = distort(x, y, coeffs)
        ex, ey = xd - dx, yd - dy
        x += ex
        y += ey
        if max(float(np.abs(ex).max()), float(np.abs(ey).max())) < 1e-13:
            break
    return x, y


def _box(pose: CameraModel, board: Board, win: tuple[int, int, int, int], pad: int
         ) -> tuple[int, int, int, int] | None:
    spec, st = board.spec, board.station
    w, h = spec.size_m
    m = spec.margin_m
    t = np.linspace(0.0, 1.0, 16)
    edge = [(-m + (w + 2 * m) * a, -m) for a in t] + [(-m + (w + 2 * m) * a, h + m) for a in t]
    edge += [(-m, -m + (h + 2 * m) * a) for a in t] + [(w + m, -m + (h + 2 * m) * a) for a in t]
    pts = st.to_world(spec, np.array([(a, b, 0.0) for a, b in edge]))
    uv, depth = pose.project(pts)
    if depth.min() < 0.5:
        return None
    x0 = max(math.floor(uv[:, 0].min()) - pad, win[0])
    y0 = max(math.floor(uv[:, 1].min()) - pad, win[1])
    x1 = min(math.ceil(uv[:, 0].max()) + pad + 1, win[0] + win[2])
    y1 = min(math.ceil(uv[:, 1].max()) + pad + 1, win[1] + win[3])
    return None if x1 - x0 < 2 or y1 - y0 < 2 else (x0, y0, x1, y1)


def board_layer(pose: CameraModel, board: Board, radiance_per_reflectance: float,
                win: tuple[int, int, int, int]) -> Layer | None:
    """The board's premultiplied radiant-exposure layer in window ``win`` (x, y, w, h px), or
    None out of view.  ``radiance_per_reflectance``: radiant exposure of a white (1.0) surface
    facing the camera, the light on the board folded in (J·m⁻²·sr⁻¹)."""
    spec, st = board.spec, board.station
    n = st.axes()[2]
    depth = float((st.centre - pose.position) @ pose.axes()[2])
    coc_px = float(coc_diameter(pose.focal_m, pose.f_number, pose.focus_m, depth)) / pose.pixel_m
    box = _box(pose, board, win, math.ceil(coc_px) + 2)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    f = pose.focal_xy[0]
    sq_px = int(np.clip(round(_SS * f * spec.square_m / max(depth, 0.5)), 16, 400))
    tex, ppm, mpx = spec.texture(sq_px)
    facing = float((pose.position - st.centre) @ n) > 0
    # reflectance and coverage in one two-channel texture (one remap for both)
    rc = np.ones(tex.shape + (2,), np.float32)
    rc[..., 0] = (BLACK + (WHITE - BLACK) * tex.astype(np.float32) / 255.0) if facing else BACK
    # sample positions (SS × SS per pixel) → pinhole pixels → texture pixels (a homography)
    u = ((np.arange(_SS * (x1 - x0)) + 0.5) / _SS - 0.5 + x0).astype(np.float32)
    v = ((np.arange(_SS * (y1 - y0)) + 0.5) / _SS - 0.5 + y0).astype(np.float32)
    w, h = spec.size_m
    m = mpx / ppm
    corners_m = np.array([[-m, -m, 0], [w + m, -m, 0], [w + m, h + m, 0], [-m, h + m, 0]])
    pin = replace(pose, distortion=()).project(st.to_world(spec, corners_m))[0]
    tex_px = (corners_m[:, :2] + m) * ppm - 0.5
    hmat = cv2.getPerspectiveTransform(pin.astype(np.float32), tex_px.astype(np.float32))
    maps = cv2.perspectiveTransform(_pinhole_px(pose, u, v), hmat)
    both = cv2.remap(rc, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    sample, cover = both[..., 0] * both[..., 1], both[..., 1]
    size = (x1 - x0, y1 - y0)
    data = np.empty((y1 - y0, x1 - x0, 2), np.float32)
    data[..., 0] = cv2.resize(np.ascontiguousarray(sample), size,
                              interpolation=cv2.INTER_AREA) * radiance_per_reflectance
    data[..., 1] = cv2.resize(np.ascontiguousarray(cover), size, interpolation=cv2.INTER_AREA)
    layer = Layer(x0, y0, data)
    blur(layer.data, np.zeros(2), coc_px)
    return layer


def board_radiance(sky: object, lamps: tuple, board: Board, exposure_s: float, ill_s: float,
                   gain: float) -> float:
    """Radiant exposure (per unit reflectance) of the board's face: sky and lamps, the
    analyzer's unpolarized transmission ``gain``."""
    _, _, n = board.station.axes()
    e_amb = float(sky.irradiance(n)) * exposure_s  # type: ignore[attr-defined]
    e_ill = float(lamp_irradiance(lamps, board.station.centre[None], n[None])[0]) * ill_s
    return (e_amb + e_ill) / math.pi * gain


def board_layers(pose: CameraModel, sky: object, lamps: tuple, boards: Sequence[Board], t: float,
                 exposure_s: float, ill_s: float, gain: float, win: tuple[int, int, int, int]
                 ) -> list[Layer]:
    """The layers of ``boards`` in view at world time ``t`` (ASSUMED: nothing stands in front
    of a board); ``ill_s`` seconds of full illuminator output, ``gain`` the analyzer's
    unpolarized transmission."""
    out = []
    for b in (b.at(t) for b in boards):
        if b is None:
            continue
        layer = board_layer(pose, b, board_radiance(sky, lamps, b, exposure_s, ill_s, gain), win)
        if layer is not None:
            out.append(layer)
    return out
