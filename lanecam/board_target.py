"""The calibration target: a printed ChArUco board, and the marked stations it stands at.

Lane coordinates (metres) as in :mod:`lanecam.geometry`: ``x`` right as seen from the camera,
``y`` up, ``z`` down the lane.  A :class:`Station` is where the integrator stands the board: its
centre, and how it is turned — ``yaw_deg`` about the vertical (+: its face turns towards +x)
and ``tilt_deg`` about its horizontal edge (+: its top leans away from the camera).  At yaw and
tilt 0 the board stands upright facing the camera (its printed side towards −z), the pattern's
``+x`` along world ``+x`` and its ``+y`` (OpenCV's, down the printed rows) along world ``−y``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .errors import ConfigError

if TYPE_CHECKING:
    import cv2

__all__ = ["BoardSpec", "Station"]

V3 = NDArray[np.float64]


@dataclass(frozen=True)
class BoardSpec:
    """A ChArUco board: ``squares_x`` × ``squares_y`` squares of ``square_m`` with ArUco markers
    of ``marker_m`` from OpenCV's predefined ``dictionary``; ``margin_m`` white border."""

    squares_x: int = 7
    squares_y: int = 5
    square_m: float = 0.1
    marker_m: float = 0.075
    dictionary: str = "DICT_5X5_100"
    margin_m: float = 0.05

    def __post_init__(self) -> None:
        if not (3 <= self.squares_x <= 40 and 3 <= self.squares_y <= 40):
            raise ConfigError("a ChArUco board needs 3–40 squares a side", key="squares_x")
        if not 0 < self.marker_m < self.square_m:
            raise ConfigError("the marker must be smaller than the square", key="marker_m")

    @property
    def size_m(self) -> tuple[float, float]:
        """Pattern width and height (m), without the margin."""
        return self.squares_x * self.square_m, self.squares_y * self.square_m

    def board(self) -> cv2.aruco.CharucoBoard:
        import cv2

        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.squares_x, self.squares_y), self.square_m,
                                      self.marker_m, d)

    def corners(self) -> NDArray[np.float64]:
        """The chessboard corners in the pattern's frame ``(N, 3)`` (m), by ChArUco id."""
        return np.asarray(self.board().getChessboardCorners(), np.float64).reshape(-1, 3)

    def texture(self, px_per_square: int) -> tuple[NDArray[np.uint8], float, int]:
        """The printed board (8-bit, white margin included), its pixels per metre and the
        margin's width (px).  (OpenCV's generateImage fails at a few sizes for some marker to
        square ratios: the next size up is taken then.)"""
        import cv2

        try:
            return self._texture(px_per_square)
        except cv2.error:
            return self._texture(px_per_square + 1)

    def _texture(self, px_per_square: int) -> tuple[NDArray[np.uint8], float, int]:
        ppm = px_per_square / self.square_m
        margin = round(self.margin_m * ppm)
        w, h = self.squares_x * px_per_square, self.squares_y * px_per_square
        import cv2

        img = self.board().generateImage((w, h), marginSize=0, borderBits=1)
        img = cv2.copyMakeBorder(img, margin, margin, margin, margin, cv2.BORDER_CONSTANT,
                                 value=255)
        return np.asarray(img, np.uint8), ppm, margin


@dataclass(frozen=True)
class Station:
    """Where the board stands: its centre ``(x_m, y_m, z_m)`` and its turn (see the module)."""

    x_m: float
    y_m: float
    z_m: float
    yaw_deg: float = 0.0
    tilt_deg: float = 0.0

    @property
    def centre(self) -> V3:
        return np.array([self.x_m, self.y_m, self.z_m])

    def axes(self) -> tuple[V3, V3, V3]:
        """World directions of the pattern's ``+x``, ``+y`` and of its normal (towards the
        camera at yaw and tilt 0)."""
        w, t = math.radians(self.yaw_deg), math.radians(self.tilt_deg)
        e1 = np.array([math.cos(w), 0.0, math.sin(w)])
        up = np.array([-math.sin(w) * math.sin(t), math.cos(t), math.cos(w) * math.sin(t)])
        e2 = -up
        return e1, e2, np.cross(e1, e2)

    def origin(self, spec: BoardSpec) -> V3:
        """World position of the pattern's (0, 0) corner."""
        e1, e2, _ = self.axes()
        w, h = spec.size_m
        return self.centre - w / 2 * e1 - h / 2 * e2

    def to_world(self, spec: BoardSpec, pts: NDArray[np.float64]) -> NDArray[np.float64]:
        """Pattern-frame points ``(N, 3)`` (z = 0) → world ``(N, 3)``."""
        e1, e2, _ = self.axes()
        p = np.asarray(pts, np.float64)
        return self.origin(spec) + p[:, :1] * e1 + p[:, 1:2] * e2

    @classmethod
    def from_mapping(cls, raw: Any, key: str) -> Station:
        """A station from a TOML table ``{x_m, y_m, z_m[, yaw_deg, tilt_deg]}``."""
        if not isinstance(raw, dict):
            raise ConfigError("a station is a table", key=key)
        known = {"x_m", "y_m", "z_m", "yaw_deg", "tilt_deg"}
        if set(raw) - known or not {"x_m", "y_m", "z_m"} <= set(raw):
            raise ConfigError("a station takes x_m, y_m, z_m[, yaw_deg, tilt_deg]", key=key,
                              allowed=sorted(known))
        vals = {}
        for k, v in raw.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError("must be a finite number", key=f"{key}.{k}")
            vals[k] = float(v)
        if not 0.5 < vals["z_m"] < 200:
            raise ConfigError("the board must stand 0.5–200 m down the lane", key=f"{key}.z_m")
        return cls(**vals)
