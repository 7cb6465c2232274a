"""Camera intrinsics and pose in lane coordinates from a ChArUco board at surveyed stations.

The board stands at several marked stations (:class:`~lanecam.board_target.Station`), so
every detected chessboard corner has a known lane position.  Together the stations form one
non-planar 3-D target spread over depth and the image, which fixes focal length, principal
point, distortion and the camera's pose in one bundle adjustment (OpenCV's ``calibrateCamera``
on that single 3-D view, started from the configured camera).  The pose comes out directly in
lane coordinates: height, lateral offset, station, pitch, yaw and roll as
:class:`~lanecam.geometry.CameraModel` defines them.  Uncertainties (1σ) are from the
Gauss–Newton covariance ``σ²(JᵀJ)⁻¹`` of the fit, propagated to the pose angles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..board_target import BoardSpec, Station
from ..geometry import CameraModel

__all__ = ["PoseFit", "View", "detect_board", "fit_pose", "plan_stations", "pose_angles"]

F64 = NDArray[np.float64]
POSE_KEYS = ("height_m", "lateral_m", "station_m", "pitch_deg", "yaw_deg", "roll_deg")
DIST_KEYS = ("k1", "k2", "p1", "p2", "k3")


@dataclass(frozen=True)
class View:
    """The board seen at one station: ChArUco corner ids and their pixel positions."""

    station: Station
    ids: NDArray[np.int32]
    image_px: F64

    def world(self, spec: BoardSpec) -> F64:
        return self.station.to_world(spec, spec.corners()[self.ids])


@dataclass(frozen=True)
class PoseFit:
    """The fitted camera: ``camera`` (a :class:`CameraModel` carrying the measured pose and
    intrinsics), the reprojection ``rms_px``, per-point ``residual_px`` (N, 2) at
    ``image_px`` (N, 2) with each point's ``view`` index, and 1σ ``uncertainty``."""

    camera: CameraModel
    rms_px: float
    image_px: F64
    residual_px: F64
    view: NDArray[np.int32]
    uncertainty: dict[str, float] = field(default_factory=dict)

    def estimate(self) -> dict[str, float | list[float]]:
        c = self.camera
        (fx, fy), (cx, cy) = c.focal_xy, c.principal
        return {"height_m": c.height_m, "lateral_m": c.lateral_m, "station_m": c.station_m,
                "pitch_deg": c.pitch_deg, "yaw_deg": c.yaw_deg, "roll_deg": c.roll_deg,
                "fx_px": fx, "fy_px": fy, "cx_px": cx, "cy_px": cy,
                "distortion": list(c.distortion), "rms_px": self.rms_px}

    def view_rms(self) -> F64:
        n = int(self.view.max()) + 1 if len(self.view) else 0
        r2 = (self.residual_px ** 2).sum(axis=1)
        return np.array([math.sqrt(r2[self.view == i].mean()) if np.any(self.view == i)
                         else math.nan for i in range(n)])


def detect_board(image: NDArray[np.generic], spec: BoardSpec
                 ) -> tuple[NDArray[np.int32], F64] | None:
    """ChArUco corners in ``image`` (8- or 16-bit mono): ``(ids, pixel positions (N, 2))``
    refined to sub-pixel, or None when fewer than 6 corners are found."""
    import cv2

    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    det = cv2.aruco.CharucoDetector(spec.board())
    corners, ids, _, _ = det.detectBoard(img)
    if ids is None or len(ids) < 6:
        return None
    return np.asarray(ids, np.int32).ravel(), np.asarray(corners, np.float64).reshape(-1, 2)


def plan_stations(camera: CameraModel, spec: BoardSpec, depths_m: Sequence[float] = (7.0, 10.0,
                  14.0, 19.0), spread: float = 0.5) -> list[Station]:
    """Stations that put the board over the image of ``camera`` (as configured): at each depth
    the centre and four points ``spread`` of the way to the image corners, the outer boards
    turned ±20° so the views differ in angle too."""
    right, down, fwd = camera.axes()
    (fx, fy), (cx, cy) = camera.focal_xy, camera.principal
    out = []
    for d in depths_m:
        for i, (sx, sy) in enumerate([(0, 0), (-1, -1), (1, -1), (-1, 1), (1, 1)]):
            u = cx + sx * spread * camera.width_px / 2
            v = cy + sy * spread * camera.height_px / 2
            ray = (u - cx) / fx * right + (v - cy) / fy * down + fwd
            p = camera.position + ray * (d - camera.station_m) / ray[2]
            yaw = 0.0 if i == 0 else 20.0 * (1 if sx > 0 else -1) * (1 if sy > 0 else -1)
            out.append(Station(round(float(p[0]), 3), round(float(p[1]), 3), round(float(p[2]),
                                                                                   3), yaw))
    return out


def pose_angles(rot: F64) -> tuple[float, float, float]:
    """``(pitch, yaw, roll)`` (deg) of a world→camera rotation (rows: right, down, forward)."""
    right, fwd = rot[0], rot[2]
    pitch = math.asin(float(np.clip(-fwd[1], -1, 1)))
    yaw = math.atan2(float(fwd[0]), float(fwd[2]))
    r0 = np.array([math.cos(yaw), 0.0, -math.sin(yaw)])
    d0 = np.array([-math.sin(pitch) * math.sin(yaw), -math.cos(pitch),
                   -math.sin(pitch) * math.cos(yaw)])
    roll = math.atan2(float(right @ d0), float(right @ r0))
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


#: lane coordinates are left-handed (x right, y up, z ahead); OpenCV's are right-handed, so
#: the lane's x is mirrored on the way in and out of OpenCV
MIRROR = np.diag([-1.0, 1.0, 1.0])


def _pose_vector(rvec: F64, tvec: F64) -> F64:
    """(height, lateral, station, pitch, yaw, roll) of an OpenCV pose of mirrored lane points."""
    import cv2

    r_cv = cv2.Rodrigues(np.asarray(rvec, np.float64))[0]
    c = -MIRROR @ r_cv.T @ np.asarray(tvec, np.float64).ravel()
    return np.array([c[1], c[0], c[2], *pose_angles(r_cv @ MIRROR)])


def fit_pose(guess: CameraModel, views: Sequence[View], spec: BoardSpec) -> PoseFit:
    """Bundle-adjust intrinsics and pose to the corners of every view (see the module);
    ``guess`` is the configured camera (start point and sensor size)."""
    import cv2

    obj = np.concatenate([v.world(spec) for v in views]) @ MIRROR
    img = np.concatenate([v.image_px for v in views]).astype(np.float64)
    which = np.concatenate([np.full(len(v.ids), i, np.int32) for i, v in enumerate(views)])
    (fx, fy), (cx, cy) = guess.focal_xy, guess.principal
    k0 = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float64)
    flags = cv2.CALIB_USE_INTRINSIC_GUESS | cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-12)
    _, k, dist, rvecs, tvecs = cv2.calibrateCamera(
        [obj.astype(np.float32)], [img.astype(np.float32)], (guess.width_px, guess.height_px),
        k0, np.zeros(5), flags=flags, criteria=crit)
    rvec, tvec, dist = rvecs[0].ravel(), tvecs[0].ravel(), dist.ravel()[:5]
    proj, jac = cv2.projectPoints(obj, rvec, tvec, k, dist)
    res = proj.reshape(-1, 2) - img
    pose = _pose_vector(rvec, tvec)
    cam = CameraModel(lateral_m=float(pose[1]), height_m=float(pose[0]),
                      station_m=float(pose[2]), pitch_deg=float(pose[3]),
                      yaw_deg=float(pose[4]), roll_deg=float(pose[5]), focal_m=guess.focal_m,
                      f_number=guess.f_number, focus_m=guess.focus_m, pixel_m=guess.pixel_m,
                      width_px=guess.width_px, height_px=guess.height_px,
                      fx_px=float(k[0, 0]), fy_px=float(k[1, 1]), cx_px=float(k[0, 2]),
                      cy_px=float(k[1, 2]), distortion=tuple(float(x) for x in dist))
    unc = _uncertainty(jac, res, rvec, tvec)
    return PoseFit(cam, float(math.sqrt((res ** 2).sum(axis=1).mean())), img, res, which, unc)


def _uncertainty(jac: F64, res: F64, rvec: F64, tvec: F64) -> dict[str, float]:
    """1σ of every fitted quantity from σ²(JᵀJ)⁻¹ (projectPoints' Jacobian: rvec, tvec,
    fx, fy, cx, cy, k1, k2 — p1, p2, k3 are held at 0 and left out)."""
    j = np.asarray(jac, np.float64)[:, :12]
    n, p = j.shape
    dof = max(n - p, 1)
    s2 = float((res ** 2).sum()) / dof
    try:
        cov = s2 * np.linalg.inv(j.T @ j)
    except np.linalg.LinAlgError:
        return {}
    base = _pose_vector(rvec, tvec)
    dpose = np.zeros((6, 6))
    x0 = np.concatenate([rvec, tvec])
    for i in range(6):
        dx = np.zeros(6)
        dx[i] = 1e-6
        dpose[:, i] = (_pose_vector((x0 + dx)[:3], (x0 + dx)[3:]) - base) / 1e-6
    pose_cov = dpose @ cov[:6, :6] @ dpose.T
    out = {k: float(math.sqrt(max(pose_cov[i, i], 0.0))) for i, k in enumerate(POSE_KEYS)}
    for i, k in enumerate(("fx_px", "fy_px", "cx_px", "cy_px", *DIST_KEYS[:2])):
        out[k] = float(math.sqrt(max(cov[6 + i, 6 + i], 0.0)))
    return out
