"""Lane geometry shared by the lane and the simulator: the pinhole camera and where faces are.

Coordinates (metres): origin on the lane centre line, on the ground, at the camera's station;
``x`` to the right as seen from a camera looking down the lane, ``y`` up, ``z`` along the lane
into the oncoming traffic.  Vehicles approach along −z; a vehicle's *range* is the ``z`` of its
front bumper (the tracker's axis).  A left-hand-drive driver sits at ``+x``.

The lane uses :func:`occupant_rois` to predict where to look in each frame from the tracked
range alone — it never sees the simulator's ground truth.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from .errors import ConfigError

__all__ = [
    "SEAT_ROWS",
    "CabinModel",
    "CameraModel",
    "distort",
    "face_points",
    "fit_cabin",
    "occupant_rois",
]

V3 = NDArray[np.float64]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraModel:
    """A camera's mount and optics.

    ``pitch_deg`` > 0 looks down, ``yaw_deg`` > 0 towards +x, ``roll_deg`` > 0 turns the
    camera clockwise about its optical axis as seen from behind it (the image content turns
    counter-clockwise); ``focal_m``, ``pixel_m`` in metres; ``focus_m`` the focus distance along
    the optical axis.  The measured intrinsics of a calibrated camera (``lanecam calibrate
    pose``), when given, replace the nominal pinhole: ``fx_px``/``fy_px`` (default
    ``focal_m / pixel_m``), the principal point ``cx_px``/``cy_px`` (default the sensor centre,
    pixel centres at integers) and ``distortion``, OpenCV's ``(k1, k2, p1, p2[, k3])`` on
    normalised image coordinates (default none).
    """

    lateral_m: float = 1.5
    height_m: float = 2.0
    station_m: float = 0.0
    pitch_deg: float = 4.0
    yaw_deg: float = -3.0
    focal_m: float = 0.05
    f_number: float = 4.0
    focus_m: float = 15.0
    pixel_m: float = 3.45e-6  # IMX250 pitch (physics_quality.md §3.2)
    width_px: int = 2448
    height_px: int = 2048
    roll_deg: float = 0.0
    fx_px: float | None = None
    fy_px: float | None = None
    cx_px: float | None = None
    cy_px: float | None = None
    distortion: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for k in ("focal_m", "pixel_m", "f_number", "focus_m"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError("must be a positive number", key=k)
        if self.width_px < 2 or self.height_px < 2:
            raise ConfigError("sensor must be at least 2×2 px", key="width_px")
        if len(self.distortion) not in (0, 4, 5):
            raise ConfigError("distortion is (k1, k2, p1, p2[, k3])", key="distortion")

    @property
    def position(self) -> V3:
        return np.array([self.lateral_m, self.height_m, self.station_m])

    @property
    def focal_px(self) -> float:
        return self.focal_m / self.pixel_m

    @property
    def focal_xy(self) -> tuple[float, float]:
        """``(fx, fy)`` in pixels: the measured ones, else ``focal_m / pixel_m``."""
        f = self.focal_px
        return (f if self.fx_px is None else self.fx_px, f if self.fy_px is None else self.fy_px)

    @property
    def principal(self) -> tuple[float, float]:
        """``(cx, cy)`` in pixels: the measured principal point, else the sensor centre."""
        return ((self.width_px - 1) / 2 if self.cx_px is None else self.cx_px,
                (self.height_px - 1) / 2 if self.cy_px is None else self.cy_px)

    def axes(self) -> tuple[V3, V3, V3]:
        """Unit vectors ``(right, down, forward)`` of the camera frame in world coordinates."""
        p, w = math.radians(self.pitch_deg), math.radians(self.yaw_deg)
        right = np.array([math.cos(w), 0.0, -math.sin(w)])
        down = np.array([-math.sin(p) * math.sin(w), -math.cos(p), -math.sin(p) * math.cos(w)])
        fwd = np.array([math.sin(w) * math.cos(p), -math.sin(p), math.cos(w) * math.cos(p)])
        if self.roll_deg:
            r = math.radians(self.roll_deg)
            right, down = (math.cos(r) * right + math.sin(r) * down,
                           -math.sin(r) * right + math.cos(r) * down)
        return right, down, fwd

    def project(self, pts: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """World points ``(N, 3)`` → pixel coordinates ``(N, 2)`` (pixel centres at integers)
        and depth along the optical axis ``(N,)`` in metres."""
        right, down, fwd = self.axes()
        d = np.asarray(pts, dtype=np.float64) - self.position
        z = d @ fwd
        zc = np.where(np.abs(z) < 1e-9, 1e-9, z)
        (fx, fy), (cx, cy) = self.focal_xy, self.principal
        if not self.distortion:
            u = cx + fx * (d @ right) / zc
            v = cy + fy * (d @ down) / zc
            return np.stack([u, v], axis=-1), z
        x, y = distort((d @ right) / zc, (d @ down) / zc, self.distortion)
        return np.stack([cx + fx * x, cy + fy * y], axis=-1), z

    def scaled(self, scale: float) -> CameraModel:
        """The same field of view at ``scale`` × the resolution (pixel pitch grows by 1/scale)."""
        if not 0 < scale <= 1:
            raise ConfigError("scale must be in (0, 1]", key="scale", allowed="(0, 1]")
        if scale == 1:
            return self
        w = max(16, round(self.width_px * scale) // 2 * 2)
        h = max(16, round(self.height_px * scale) // 2 * 2)
        k = w / self.width_px

        def px(v: float | None) -> float | None:
            return None if v is None else v * k

        def centre(c: float | None) -> float | None:  # pixel centres at integers at both scales
            return None if c is None else (c + 0.5) * k - 0.5

        return replace(self, width_px=w, height_px=h, pixel_m=self.pixel_m * self.width_px / w,
                       fx_px=px(self.fx_px), fy_px=px(self.fy_px), cx_px=centre(self.cx_px),
                       cy_px=centre(self.cy_px))


def distort(x: NDArray[np.float64], y: NDArray[np.float64], coeffs: Sequence[float]
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """OpenCV's lens distortion ``(k1, k2, p1, p2[, k3])`` of normalised image coordinates."""
    k1, k2, p1, p2 = coeffs[:4]
    k3 = coeffs[4] if len(coeffs) > 4 else 0.0
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    return (x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
            y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y)


#: Seat → (row, lateral offset from the vehicle centre line, m) for a left-hand-drive car.
SEAT_ROWS: dict[str, tuple[int, float]] = {
    "driver": (0, 0.37),
    "front_passenger": (0, -0.37),
    "rear_left": (1, 0.42),
    "rear_middle": (1, 0.0),
    "rear_right": (1, -0.42),
}


@dataclass(frozen=True)
class CabinModel:
    """What the lane assumes about a vehicle it has not seen, before any face is found.

    ``face_setback_m``: front bumper to front-row faces (bonnet + dashboard, ≈ 2 m for cars);
    ``row_pitch_m``: front to rear row; faces between ``face_low_m`` and ``face_high_m`` above
    the road (a low sedan to a pickup); ``margin_m`` widens each box for pose and seating.
    Calibrate these at the lane for its traffic.
    """

    face_setback_m: float = 2.0
    row_pitch_m: float = 0.9
    face_low_m: float = 0.95
    face_high_m: float = 1.75
    margin_m: float = 0.28
    vehicle_lateral_m: float = 0.0


def face_points(cabin: CabinModel, front_range_m: float, seat: str) -> V3:
    """The 8 corners (world, m) of the box a face in ``seat`` can occupy."""
    row, x = SEAT_ROWS[seat]
    z = front_range_m + cabin.face_setback_m + row * cabin.row_pitch_m
    xc = cabin.vehicle_lateral_m + x
    m = cabin.margin_m
    return np.array([[xc + dx, y, z + dz] for dx in (-m, m)
                     for y in (cabin.face_low_m, cabin.face_high_m) for dz in (-m, m)])


def occupant_rois(camera: CameraModel, front_range_m: float, cabin: CabinModel = CabinModel(),
                  seats: tuple[str, ...] = tuple(SEAT_ROWS)) -> list[tuple[int, int, int, int] | None]:
    """Predicted image boxes ``(x, y, w, h)`` (px) per seat, clipped to the sensor, or ``None``
    for a seat that falls outside the frame or behind the camera."""
    out: list[tuple[int, int, int, int] | None] = []
    for seat in seats:
        uv, depth = camera.project(face_points(cabin, front_range_m, seat))
        if np.any(depth <= 0.1):
            out.append(None)
            continue
        x0 = max(0, math.floor(uv[:, 0].min()))
        y0 = max(0, math.floor(uv[:, 1].min()))
        x1 = min(camera.width_px, math.ceil(uv[:, 0].max()) + 1)
        y1 = min(camera.height_px, math.ceil(uv[:, 1].max()) + 1)
        out.append((x0, y0, x1 - x0, y1 - y0) if x1 - x0 >= 8 and y1 - y0 >= 8 else None)
    return out


def fit_cabin(cabin: CabinModel,
              found: Sequence[tuple[CameraModel, float, str, Sequence[float]]],
              *, band_m: float = 0.22, counters: Counter[str] | None = None) -> CabinModel:
    """The cabin of *this* vehicle, measured from faces found in its frames.

    ``found``: ``(camera, front range m, seat, face box (x, y, w, h) px)`` — the camera that
    saw the face, the tracked range when its frame was exposed and the finder's face box.  The predicted ROIs
    assume a generic cabin (``face_setback_m``, the ``face_low_m``–``face_high_m`` band); a van's
    faces sit ~0.2 m and a sedan's ~0.4 m from that setback, and the tracked range lags or leads
    by ``speed × latency``, so the faces drift within their predicted ROIs as the vehicle nears
    (the image offset of a range error δ grows as δ/Z²).  Each face centre fixes two unknowns —
    the range offset (setback + tracking bias) and the face height — by Gauss–Newton on the
    pinhole projection; the cabin returned has the median setback and a height band
    ``± band_m`` around the median face height (still covering the seats' pose margin).  With
    nothing found, ``cabin`` is returned unchanged.

    A face whose fit is singular or leaves the plausible cabin (a mis-detection, a face in the
    wrong seat's ROI) is left out, counted in ``counters`` (the caller's, e.g. the lane's
    fault counter) as ``"cabin_fit_singular"`` / ``"cabin_fit_implausible"`` and logged at
    WARNING (one line per call); with every face left out, ``cabin`` is returned unchanged.
    """
    offsets, heights = [], []
    rejected: Counter[str] = Counter()
    for camera, rng, seat, box in found:
        fit = _fit_face(cabin, camera, rng, seat, box)
        if isinstance(fit, str):
            rejected[fit] += 1
        else:
            offsets.append(fit[0])
            heights.append(fit[1])
    if rejected:
        if counters is not None:
            counters.update(rejected)
        log.warning("cabin fit: %d of %d faces left out (%s)", rejected.total(), len(found),
                    ", ".join(f"{k}={n}" for k, n in sorted(rejected.items())))
    if not offsets:
        return cabin
    y = float(np.median(heights))
    return replace(cabin, face_setback_m=cabin.face_setback_m + float(np.median(offsets)),
                   face_low_m=y - band_m, face_high_m=y + band_m)


def _fit_face(cabin: CabinModel, camera: CameraModel, rng: float, seat: str,
              box: Sequence[float]) -> tuple[float, float] | str:
    """(range offset m, face height m) of one face by Gauss–Newton, or why it is not trusted:
    ``"cabin_fit_singular"`` or ``"cabin_fit_implausible"`` (outside the plausible cabin)."""
    bx, by, bw, bh = box
    row, x = SEAT_ROWS[seat]
    target = np.array([bx + bw / 2, by + bh / 2])
    z0 = rng + cabin.face_setback_m + row * cabin.row_pitch_m
    xc = cabin.vehicle_lateral_m + x
    p = np.array([0.0, (cabin.face_low_m + cabin.face_high_m) / 2])  # (δ, y)

    def uv(q: NDArray[np.float64]) -> NDArray[np.float64]:
        pts = np.array([[xc, q[1], z0 + q[0]]])
        return camera.project(pts)[0][0]

    for _ in range(8):
        r = uv(p) - target
        jac = np.empty((2, 2))
        for k, h in enumerate((1e-3, 1e-3)):
            dq = np.zeros(2)
            dq[k] = h
            jac[:, k] = (uv(p + dq) - uv(p)) / h
        try:
            step = np.linalg.solve(jac, -r)
        except np.linalg.LinAlgError:
            return "cabin_fit_singular"
        p = p + step
        if float(np.abs(step).max()) < 1e-4:
            break
    if np.all(np.isfinite(p)) and abs(p[0]) < 2.0 and 0.5 < p[1] < 2.6 \
            and float(np.abs(uv(p) - target).max()) < 2.0:
        return float(p[0]), float(p[1])
    return "cabin_fit_implausible"
