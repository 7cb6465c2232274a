"""Analyzer angle against windshield glare: predicted from the geometry, refined by a Malus fit.

Physics (physics_quality.md §1.1–1.4).  Light mirrored by the windshield is mostly
s-polarized — perpendicular to the plane of incidence — fully so at Brewster's angle
(56.7° for n = 1.52) and still ≥ 0.7 DoLP between 40° and 70° of incidence, where raked
windshields seen by a lane camera lie (§1.2).  An analyzer passing p (its axis in the plane of
incidence) blocks the s part; the face's light, scattered by skin and transmitted by the
glass, is unpolarized or slightly p-enriched (T_p/T_s > 1, §1.1), so it loses about half.

Geometry.  World axes: x lateral, y up, z down-lane (the camera looks along +z, vehicles
approach from +z).  A windshield raked α from horizontal facing the camera has the outward
normal ``n = (0, cos α, −sin α)``; for the view ray ``d`` (camera → glass) the s direction is
``n × d``.  Its angle in the image, counter-clockwise from the image's +x axis with up positive,
is ``ψ = atan2(−s·down, s·right)`` (the simulator's and the camera's convention for
``polarizer_deg``); the analyzer blocks the glare at ``ψ + 90°``.

Refinement.  Behind an ideal analyzer at θ, partially polarized light gives
``I(θ) = a + b·cos 2θ + c·sin 2θ`` (Malus, §1.5); three or more (θ, I) samples of the glare
(e.g. the windshield ROI of frames at different analyzer angles) fix a, b, c by least squares,
the glare's angle ``φ = ½·atan2(c, b)`` and its measured DoLP ``√(b²+c²)/a``.

Polarization sensors (division of focal plane, §1.5): :meth:`PolarizationController.choose_channel`
picks per ROI between the Stokes ``I_min`` image and a single channel from the measured DoLP —
``I_min`` removes the polarized glare but is a difference of noisy samples, so it only pays
where the glare is strongly polarized.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, LimitError
from ..geometry import CameraModel
from ..quality.polarization import DOLP_GATE, choose_channel, fit_malus_samples

__all__ = [
    "DEFAULT_RAKE_DEG",
    "GLASS_HEIGHT_M",
    "DOLP_GATE",
    "PolarizationController",
]

DEFAULT_RAKE_DEG = 30.0
"""Windshield rake when the vehicle class is unknown: the middle of the 20–40° installation
range (physics_quality.md §1.2)."""

GLASS_HEIGHT_M = 1.2
"""Height of the windshield's centre above the road (the H_glass of physics_quality.md §1.2)."""

GLASS_AHEAD_M = 0.6
"""How far ahead of the front-row faces the windshield's centre lies (ASSUMED, passenger car:
dashboard depth); the predicted angle changes by < 1° per 0.5 m of this at 10–25 m."""



class PolarizationController:
    """Chooses the analyzer angle of a rotatable polarizer (or filter wheel) per burst.

    ``rake_deg``: the windshield rake assumed when the caller has none (vehicle class or a
    measurement); ``tolerance_deg``: a refined angle replaces the prediction only when it
    differs by more than this (a rotator step costs time); ``min_dolp``: a Malus fit of glare
    less polarized than this is ignored (nothing to block).
    """

    def __init__(self, *, rake_deg: float = DEFAULT_RAKE_DEG, tolerance_deg: float = 2.0,
                 min_dolp: float = 0.2,
                 probe_offsets_deg: Sequence[float] = ()) -> None:
        if not 0 < rake_deg < 90:
            raise ConfigError("rake must be between 0 and 90° from horizontal", key="rake_deg",
                              allowed=(0, 90))
        offsets = tuple(float(o) for o in probe_offsets_deg)
        if offsets and (len(offsets) < 2 or not all(math.isfinite(o) for o in offsets)
                        or len({round(o % 180.0, 6) for o in (0.0, *offsets)}) < 3):
            raise ConfigError("probe offsets: ≥ 2 finite angles, distinct from 0 and each "
                              "other mod 180° (a Malus fit needs 3 angles)",
                              key="probe_offsets_deg")
        self.rake_deg = rake_deg
        self.tolerance_deg = tolerance_deg
        self.min_dolp = min_dolp
        #: with a rotator: the burst's first frames are filmed at the predicted angle, then at
        #: these offsets from it, and a Malus fit of their glare sets the angle for the rest
        #: (``()``: no probing — the prediction stands for the whole burst)
        self.probe_offsets_deg = offsets

    def glare_angle(self, camera: CameraModel, face_range_m: float, *,
                    rake_deg: float | None = None, vehicle_lateral_m: float = 0.0) -> float:
        """Predicted polarization angle (deg, 0–180, image frame) of the glare on the
        windshield of a vehicle whose front-row faces are at lane range ``face_range_m``."""
        a = math.radians(self.rake_deg if rake_deg is None else rake_deg)
        n = np.array([0.0, math.cos(a), -math.sin(a)])
        glass = np.array([vehicle_lateral_m, GLASS_HEIGHT_M, face_range_m - GLASS_AHEAD_M])
        d = glass - camera.position
        dist = float(np.linalg.norm(d))
        if not dist > 0:
            raise LimitError("the windshield is at the camera", feature="face_range_m")
        d /= dist
        s = np.cross(n, d)
        norm = float(np.linalg.norm(s))
        if norm < 1e-9:  # normal incidence: no plane of incidence, nothing polarized
            raise LimitError("normal incidence: the glare is unpolarized", feature="geometry")
        s /= norm
        right, down, _ = camera.axes()
        return math.degrees(math.atan2(-float(s @ down), float(s @ right))) % 180.0

    def incidence_deg(self, camera: CameraModel, face_range_m: float, *,
                      rake_deg: float | None = None, vehicle_lateral_m: float = 0.0) -> float:
        """Angle of incidence (deg) of the view ray on the windshield (§1.2: θi = 90° − (α+β)
        head-on)."""
        a = math.radians(self.rake_deg if rake_deg is None else rake_deg)
        n = np.array([0.0, math.cos(a), -math.sin(a)])
        d = np.array([vehicle_lateral_m, GLASS_HEIGHT_M, face_range_m - GLASS_AHEAD_M]) \
            - camera.position
        d /= np.linalg.norm(d)
        return math.degrees(math.acos(min(1.0, abs(float(d @ n)))))

    def predict(self, camera: CameraModel, face_range_m: float, **kw: float) -> float:
        """Analyzer angle (deg, 0–180) that blocks the predicted glare: s + 90°."""
        return (self.glare_angle(camera, face_range_m, **kw) + 90.0) % 180.0

    def refine(self, predicted_deg: float, angles_deg: Sequence[float],
               glare: Sequence[float]) -> float:
        """The analyzer angle after a Malus fit of glare samples; the prediction stands when
        the fit finds too little polarization or agrees within ``tolerance_deg``."""
        fit = fit_malus_samples(angles_deg, glare)
        if fit.polarized_fraction < self.min_dolp:
            return predicted_deg
        diff = (fit.best_angle_deg - predicted_deg + 90.0) % 180.0 - 90.0
        return predicted_deg if abs(diff) <= self.tolerance_deg else fit.best_angle_deg

    @staticmethod
    def choose_channel(dolp: float) -> str:
        """For a polarization (mosaic) sensor, per ROI: ``"i_min"`` (the Stokes minimum image,
        glare removed) when the measured DoLP reaches :data:`DOLP_GATE`, else ``"single"``
        (one analyzer channel: less noise where there is little polarized glare)."""
        return choose_channel(dolp)
