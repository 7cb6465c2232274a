"""The simulated world: lane, cameras, sun and sky, NIR lamps, and the vehicles in it (their
bodies, motion and occupants: :mod:`lanecam.sim.vehicles`).

Coordinates (metres, seconds).  The origin is on the lane centre line at the ground, at the
camera's station.  ``x`` points to the right as seen from a camera looking down the lane, ``y``
up, ``z`` along the lane away from the camera (into the oncoming traffic).  Vehicles drive
towards the camera, along −z; a vehicle's *range* is the ``z`` of its front bumper (the same
convention as :mod:`lanecam.control.tracker`).  A left-hand-drive driver therefore sits at
``+x`` (on the image's right, as when facing a person).  Sun azimuth is measured from ``+z``
towards ``+x``: 0° means the sun is down the lane behind the oncoming traffic (facing the
camera), 180° behind the camera.

Everything is a frozen dataclass and every state is a pure function of time, so a render at
time ``t`` never depends on what was rendered before (determinism).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..geometry import CameraModel
from .constants import (
    EXTINCTION_RATIO,
    PIXEL_PITCH_M,
    SENSOR_HEIGHT_PX,
    SENSOR_WIDTH_PX,
    SOLAR_BANDS,
)
from .vehicles import Vehicle, VehicleGeometry

if TYPE_CHECKING:
    from .board import Board

__all__ = ["CameraPose", "Lamp", "Sun", "World"]

V3 = NDArray[np.float64]

POLARIZER_MODES = ("none", "rotatable", "mosaic")


def _deg(a: float) -> float:
    return math.radians(a)


@dataclass(frozen=True)
class CameraPose(CameraModel):
    """A simulated camera: the lane's :class:`~lanecam.geometry.CameraModel` (mount, lens,
    sensor, projection) plus what only the simulator needs — its spectral band, polarizer and
    extinction ratio.

    ``polarizer``: ``"none"``, ``"rotatable"`` (a linear polarizer in front of the lens, angle
    set per frame) or ``"mosaic"`` (a division-of-focal-plane sensor whose 2×2 layout comes
    from the camera's firmware profile).
    """

    name: str = "cam0"
    pixel_m: float = PIXEL_PITCH_M
    width_px: int = SENSOR_WIDTH_PX
    height_px: int = SENSOR_HEIGHT_PX
    band: str = "850nm_50"
    polarizer: str = "none"
    extinction_ratio: float = EXTINCTION_RATIO
    #: ``"windshield"``, ``"side"`` or ``"both"``: a side or both camera also draws the side
    #: windows (:mod:`lanecam.sim.side_glass`); the lane config's camera ``view``
    view: str = "windshield"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.view not in ("windshield", "side", "both"):
            raise ValueError(f"unknown view {self.view!r}")
        if self.band not in SOLAR_BANDS:
            raise ValueError(f"unknown band {self.band!r}")
        if self.polarizer not in POLARIZER_MODES:
            raise ValueError(f"unknown polarizer mode {self.polarizer!r}")

    @property
    def wavelength_m(self) -> float:
        return SOLAR_BANDS[self.band][0]


@dataclass(frozen=True)
class Sun:
    """Sun position and sky.  ``sky``: ``"clear"`` or ``"overcast"``; the sun below the
    horizon (elevation ≤ 0) is night.  ``cloud_cover`` (0–1) adds sunlit broken clouds to a
    clear sky (they never cover the sun itself)."""

    elevation_deg: float = 45.0
    azimuth_deg: float = 180.0
    sky: str = "clear"
    cloud_cover: float = 0.0

    @property
    def up(self) -> bool:
        return self.elevation_deg > 0

    @property
    def night(self) -> bool:
        return not self.up

    @property
    def direct(self) -> bool:
        """Direct sunlight reaches the ground."""
        return self.up and self.sky == "clear"

    @property
    def direction(self) -> V3:
        """Unit vector towards the sun."""
        e, a = _deg(self.elevation_deg), _deg(self.azimuth_deg)
        return np.array([math.sin(a) * math.cos(e), math.sin(e), math.cos(a) * math.cos(e)])


@dataclass(frozen=True)
class Lamp:
    """A NIR flood/strobe lamp in the world (the light of the lane's illuminator): peak radiant
    intensity at brightness 1 (W/sr, in band), a Gaussian beam of half-width
    ``half_angle_deg`` at half maximum, aimed at ``aim_m``."""

    name: str = "ir0"
    position_m: tuple[float, float, float] = (1.5, 2.2, 0.0)
    aim_m: tuple[float, float, float] = (0.0, 1.2, 15.0)
    intensity_w_sr: float = 200.0
    half_angle_deg: float = 15.0

    def intensity_towards(self, pts: NDArray[np.float64]) -> NDArray[np.float64]:
        """Radiant intensity (W/sr) towards world points ``(N, 3)`` at brightness 1."""
        pos = np.asarray(self.position_m)
        axis = np.asarray(self.aim_m) - pos
        axis /= np.linalg.norm(axis)
        d = np.asarray(pts, dtype=np.float64) - pos
        cos = (d @ axis) / np.maximum(np.linalg.norm(d, axis=-1), 1e-9)
        ang = np.arccos(np.clip(cos, -1, 1))
        sigma = _deg(self.half_angle_deg) / math.sqrt(2 * math.log(2))
        return self.intensity_w_sr * np.exp(-0.5 * (ang / sigma) ** 2)


@dataclass(frozen=True)
class World:
    """Lane, cameras, sun/sky, lamps and vehicles; ``seed`` drives every random choice
    (clouds, sensor noise, faults)."""

    cameras: tuple[CameraPose, ...] = (CameraPose(),)
    sun: Sun = Sun()
    vehicles: tuple[Vehicle, ...] = ()
    lamps: tuple[Lamp, ...] = ()
    lane_width_m: float = 3.7
    seed: int = 0
    #: calibration boards standing in the lane (:class:`lanecam.sim.board.Board`)
    boards: tuple[Board, ...] = ()

    def camera(self, name: str | None = None) -> CameraPose:
        """The camera pose called ``name`` (default: the first)."""
        if name is None:
            return self.cameras[0]
        for c in self.cameras:
            if c.name == name:
                return c
        raise KeyError(f"no camera {name!r}; have {[c.name for c in self.cameras]}")

    def geometries(self, t: float) -> list[VehicleGeometry]:
        """Every vehicle's geometry at ``t``, farthest first (drawing order)."""
        return sorted((v.geometry(t) for v in self.vehicles), key=lambda g: -g.range_m)

    def vehicle_ahead(self, t: float, station_m: float) -> tuple[Vehicle, float, float] | None:
        """The nearest vehicle whose front is beyond ``station_m`` at ``t``:
        ``(vehicle, distance from the station (m), approach speed (m/s))``."""
        ahead = self.vehicles_ahead(t, station_m)
        return ahead[0] if ahead else None

    def vehicles_ahead(self, t: float, station_m: float) -> list[tuple[Vehicle, float, float]]:
        """Every vehicle whose front is beyond ``station_m`` at ``t``, nearest first:
        ``(vehicle, distance from the station (m), approach speed (m/s))`` each."""
        out = []
        for v in self.vehicles:
            d = v.kinematics.range_at(t) - station_m
            if d > 0:
                out.append((v, d, v.kinematics.speed_at(t)))
        return sorted(out, key=lambda hit: hit[1])
