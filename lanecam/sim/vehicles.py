"""Vehicles of the simulated world: body classes, kinematics, occupants, and each vehicle's
surfaces and placed occupants at an instant (:meth:`Vehicle.geometry`).

Coordinates as in :mod:`lanecam.sim.world` (metres, seconds; ``x`` right as seen from the
camera, ``y`` up, ``z`` down the lane; a vehicle drives along −z and its *range* is the ``z``
of its front bumper).  Vehicle-local coordinates: ``x`` lateral (+ = the vehicle's left =
world +x), ``y`` up, ``zl`` metres behind the front bumper.  Angles in degrees unless a name
says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from ..geometry import SEAT_ROWS
from .constants import (
    BODY_PAINT_REFLECTANCE,
    FACE_PLANE_M,
    HEADLIGHT_REFLECTANCE,
    PLATE_REFLECTANCE,
    TYRE_REFLECTANCE,
)

__all__ = [
    "CHILD_EYE_DROP_M",
    "HANDS",
    "HEAD_SCALE_RANGE",
    "SEATS",
    "VEHICLE_CLASSES",
    "Kinematics",
    "Occupant",
    "Placement",
    "Vehicle",
    "VehicleClass",
    "VehicleGeometry",
]

V3 = NDArray[np.float64]
#: What an occupant may hold in front of the face.
HANDS = ("none", "hand", "phone")
#: Head size relative to an adult's: a toddler (≈ 0.7) to a large adult.
HEAD_SCALE_RANGE = (0.6, 1.2)
#: How much lower a child's eyes sit per unit of head scale below an adult's (m): a head
#: scale of 0.8 sits 0.2 m lower, about a 6-year-old's seated eye height without a booster
#: (ASSUMED, order of magnitude of seated-height anthropometry).
CHILD_EYE_DROP_M = 1.0
#: Headrest centre behind the head point (m) and below an adult's eye height (ASSUMED).
HEADREST_BEHIND_M, HEADREST_BELOW_EYE_M = 0.17, 0.01
_Local = Callable[[float, float, float], V3]  # vehicle-local (x, y, zl) m → world point


@dataclass(frozen=True)
class VehicleClass:
    """Body dimensions (m) and windshield rake (degrees from horizontal, PQ §1.2: 20–40°).

    Per-class numbers are ASSUMED typical values; only the rake range is sourced.  ``eye_m`` is
    the eye height of a seated adult; ``hood_m`` the height of the hood's front edge.
    """

    name: str
    width_m: float
    length_m: float
    hood_m: float
    windshield_base_m: float
    roof_m: float
    hood_length_m: float
    rake_deg: float
    eye_m: float
    bumper_m: float = 0.3


VEHICLE_CLASSES: dict[str, VehicleClass] = {
    c.name: c
    for c in (
        VehicleClass("hatchback", 1.75, 4.1, 0.80, 0.95, 1.48, 1.05, 28.0, 1.12),
        VehicleClass("sedan", 1.82, 4.8, 0.82, 0.98, 1.45, 1.25, 27.0, 1.13),
        VehicleClass("suv", 1.92, 4.9, 1.02, 1.15, 1.75, 1.10, 33.0, 1.38),
        VehicleClass("pickup", 2.00, 5.8, 1.12, 1.25, 1.90, 1.40, 36.0, 1.50, 0.4),
        VehicleClass("van", 2.00, 5.2, 1.00, 1.12, 2.00, 0.80, 38.0, 1.45, 0.35),
    )
}

#: Seat → (row, lateral position in vehicle-left metres: + is the vehicle's left): the
#: lane's nominal layout (:data:`lanecam.geometry.SEAT_ROWS`), shared so both speak of one car.
SEATS: dict[str, tuple[int, float]] = SEAT_ROWS


@dataclass(frozen=True)
class Occupant:
    """A person in a seat: face texture name, head pose (deg; yaw > 0 turns the face towards
    +x, pitch > 0 nods down), accessories, and a sitting-height offset (m).

    ``mask`` covers nose and mouth; ``hand`` is ``"none"``, ``"hand"`` (a hand over the chin
    and mouth) or ``"phone"`` (a phone held before the lower face), both in front of the face;
    ``head_scale`` is the head's size relative to an adult's (a child ≈ 0.8: its eyes sit
    lower by :data:`CHILD_EYE_DROP_M` × (1 − head_scale); a booster seat is a positive
    ``height_offset_m``).  A wrong ``hand`` or ``head_scale`` raises
    :class:`~lanecam.errors.ConfigError` (``key`` the field, ``allowed`` the choices)."""

    seat: str = "driver"
    face: str = "obama"
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    sunglasses: bool = False
    hat: bool = False
    height_offset_m: float = 0.0
    mask: bool = False
    hand: str = "none"          # "none" | "hand" | "phone": in front of the face
    head_scale: float = 1.0     # head size relative to an adult (child ≈ 0.8)

    def __post_init__(self) -> None:
        if self.hand not in HANDS:
            raise ConfigError(f"hand {self.hand!r}", key="hand", allowed=list(HANDS))
        if not HEAD_SCALE_RANGE[0] <= self.head_scale <= HEAD_SCALE_RANGE[1]:
            raise ConfigError(f"head_scale {self.head_scale!r} is out of range", key="head_scale",
                              allowed=f"[{HEAD_SCALE_RANGE[0]:g}, {HEAD_SCALE_RANGE[1]:g}]")


@dataclass(frozen=True)
class Kinematics:
    """Straight approach: range ``start_range_m`` at ``start_s``, speed ``speed_mps`` towards the
    camera, braking at ``decel_mps2`` (≥ 0) until standstill; before ``start_s`` the vehicle
    moves at its initial speed."""

    start_range_m: float
    speed_mps: float
    decel_mps2: float = 0.0
    start_s: float = 0.0

    def _elapsed(self, t: float) -> tuple[float, float]:
        tt = t - self.start_s
        if tt <= 0 or self.decel_mps2 == 0:
            return tt, tt
        return tt, min(tt, self.speed_mps / self.decel_mps2)

    def range_at(self, t: float) -> float:
        """Range (m) of the front bumper at time ``t`` (s)."""
        tt, tc = self._elapsed(t)
        if tt <= 0 or self.decel_mps2 == 0:
            return self.start_range_m - self.speed_mps * tt
        return self.start_range_m - self.speed_mps * tc + 0.5 * self.decel_mps2 * tc * tc

    def speed_at(self, t: float) -> float:
        """Approach speed (m/s, ≥ 0) at time ``t``."""
        tt, tc = self._elapsed(t)
        if tt <= 0 or self.decel_mps2 == 0:
            return self.speed_mps
        return max(0.0, self.speed_mps - self.decel_mps2 * tc)

    def accel_at(self, t: float) -> float:
        """Rate of change of the approach speed (m/s², negative while braking)."""
        tt = t - self.start_s
        if tt <= 0 or self.decel_mps2 == 0 or tt >= self.speed_mps / self.decel_mps2:
            return 0.0
        return -self.decel_mps2


@dataclass(frozen=True)
class Placement:
    """One occupant placed in world coordinates at some instant."""

    occupant: Occupant
    index: int
    face_corners: V3  # (4, 3): texture TL, TR, BR, BL
    face_normal: V3
    torso_corners: V3  # (4, 3)
    row: int
    head_outline: V3  # (32, 3): ellipse around the face (hair, ears), as seen frontally


@dataclass(frozen=True)
class VehicleGeometry:
    """A vehicle's surfaces in world coordinates at one instant."""

    vehicle: Vehicle
    range_m: float
    origin: V3  # front-bumper centre on the ground
    windshield: V3  # (4, 3): TL, TR, BR, BL (left/right as seen from the camera)
    glass: V3  # windshield area inside the A-pillars, same order
    windshield_normal: V3  # outward
    rear_window: V3  # (4, 3)
    panels: list[tuple[str, V3, V3, float]]  # (name, corners, outward normal, reflectance)
    placements: list[Placement] = field(default_factory=list)
    visors: list[V3] = field(default_factory=list)  # (4, 3) per lowered visor
    velocity: V3 = field(default_factory=lambda: np.zeros(3))
    headrests: list[V3] = field(default_factory=list)  # centres (m)

    def local(self, x: float, y: float, zl: float) -> V3:
        return self.origin + np.array([x, y, zl])


@dataclass(frozen=True)
class Vehicle:
    """A vehicle in the lane: class, approach, occupants, windshield and occluders.

    ``windshield`` is ``"clear"`` or ``"solar_control"``; ``nir_transmission`` overrides the
    class default NIR transmission of the glass (internal transmittance, 0–1).  ``visors``
    lists the front seats whose sun visor is down; ``a_pillar_m`` is how far the A-pillars
    reach into the glass outline (m).
    """

    vclass: VehicleClass
    kinematics: Kinematics
    occupants: tuple[Occupant, ...] = (Occupant(),)
    lateral_m: float = 0.0
    windshield: str = "clear"
    nir_transmission: float | None = None
    visors: tuple[str, ...] = ()
    a_pillar_m: float = 0.08
    body_reflectance: float = BODY_PAINT_REFLECTANCE
    name: str = "vehicle"
    headrests: bool = True
    #: side-window tint (:data:`~lanecam.sim.constants.SIDE_GLASS_NIR`): ``"clear"``,
    #: ``"tinted"`` or ``"privacy"`` (dark rear doors); drawn for side cameras
    #: (:mod:`~lanecam.sim.side_glass`)
    side_glass: str = "clear"

    # geometry in vehicle-local coordinates: x lateral (+ = vehicle's left = world +x),
    # y up, zl metres behind the front bumper.
    def _windshield_local(self) -> tuple[float, float, float, float, float, float]:
        c = self.vclass
        zb = c.hood_length_m
        zt = zb + (c.roof_m - c.windshield_base_m) / math.tan(math.radians(c.rake_deg))
        return zb, zt, c.width_m - 0.20, c.width_m - 0.45, c.windshield_base_m, c.roof_m

    def geometry(self, t: float) -> VehicleGeometry:
        """Surfaces, occupants and velocity at time ``t`` (s)."""
        r = self.kinematics.range_at(t)
        o = np.array([self.lateral_m, 0.0, r])
        P = _at(o)
        ws, glass, normal = self._windshield_quads(P)
        rear, roof_end, rear_z = self._rear_window(P)
        panels = self._body_panels(P, roof_end, rear_z) + self._front_details(P)
        zt = self._windshield_local()[1]
        placements = [self._place(occ, i, o, zt) for i, occ in enumerate(self.occupants)]
        visors = self._visor_quads(P)
        vel = np.array([0.0, 0.0, -self.kinematics.speed_at(t)])
        return VehicleGeometry(self, r, o, ws, glass, normal, rear, panels, placements, visors, vel,
                               self._headrests(o, zt))

    def _windshield_quads(self, P: _Local) -> tuple[V3, V3, V3]:
        """The windshield (with its frame), the glass inside the A-pillars (m, TL TR BR BL) and
        the windshield's outward normal."""
        c = self.vclass
        zb, zt, wb, wt, hb, ht = self._windshield_local()
        ws = np.stack([P(-wt / 2, ht, zt), P(wt / 2, ht, zt), P(wb / 2, hb, zb),
                       P(-wb / 2, hb, zb)])
        a = math.radians(c.rake_deg)
        normal = np.array([0.0, math.cos(a), -math.sin(a)])
        pil = self.a_pillar_m
        glass = np.stack([P(-wt / 2 + pil, ht - 0.03, zt - 0.03 / math.tan(a)),
                          P(wt / 2 - pil, ht - 0.03, zt - 0.03 / math.tan(a)),
                          P(wb / 2 - pil, hb + 0.02, zb + 0.02 / math.tan(a)),
                          P(-wb / 2 + pil, hb + 0.02, zb + 0.02 / math.tan(a))])
        return ws, glass, normal

    def _rear_window(self, P: _Local) -> tuple[V3, float, float]:
        """The rear window quad (m), and where (m behind the bumper) the roof and the rear
        glass's lower edge end."""
        c = self.vclass
        _, zt, _, wt, _, ht = self._windshield_local()
        length = c.length_m
        roof_end = zt + 1.35 * (c.length_m / 4.8)
        rear_z = min(length - 0.9, roof_end + 0.5)
        belt = c.windshield_base_m
        rear_low = belt + 0.45 * (ht - belt)  # rear glass: upper part of the back, seat backs below
        rear = np.stack([P(-wt / 2 + 0.05, ht - 0.05, roof_end + 0.05),
                         P(wt / 2 - 0.05, ht - 0.05, roof_end + 0.05),
                         P(wt / 2, rear_low, rear_z), P(-wt / 2, rear_low, rear_z)])
        return rear, roof_end, rear_z

    def _body_panels(self, P: _Local, roof_end: float, rear_z: float
                     ) -> list[tuple[str, V3, V3, float]]:
        """Roof, sides, side glass, hood and front: (name, corners m, outward normal,
        reflectance)."""
        c = self.vclass
        zb, zt, wb, wt, hb, ht = self._windshield_local()
        w2, length = c.width_m / 2, c.length_m
        belt = c.windshield_base_m
        refl = self.body_reflectance
        return [
            ("roof", np.stack([P(-wt / 2, ht, zt), P(wt / 2, ht, zt), P(wt / 2, ht, roof_end),
                               P(-wt / 2, ht, roof_end)]), np.array([0.0, 1.0, 0.0]), refl),
            ("side_left", np.stack([P(w2, c.bumper_m, 0.15), P(w2, c.bumper_m, length),
                                    P(w2, belt, length), P(w2, c.hood_m, 0.15)]),
             np.array([1.0, 0.0, 0.0]), refl),
            ("side_right", np.stack([P(-w2, c.bumper_m, 0.15), P(-w2, c.bumper_m, length),
                                     P(-w2, belt, length), P(-w2, c.hood_m, 0.15)]),
             np.array([-1.0, 0.0, 0.0]), refl),
            ("greenhouse_left", np.stack([P(w2 - 0.05, belt, zb), P(wt / 2, ht, zt),
                                          P(wt / 2, ht, roof_end), P(w2 - 0.05, belt, rear_z)]),
             np.array([1.0, 0.3, 0.0]) / math.hypot(1, 0.3), 0.04),
            ("greenhouse_right", np.stack([P(-w2 + 0.05, belt, zb), P(-wt / 2, ht, zt),
                                           P(-wt / 2, ht, roof_end), P(-w2 + 0.05, belt, rear_z)]),
             np.array([-1.0, 0.3, 0.0]) / math.hypot(1, 0.3), 0.04),
            ("hood", np.stack([P(-w2 + 0.05, c.hood_m, 0.12), P(w2 - 0.05, c.hood_m, 0.12),
                               P(wb / 2 + 0.05, hb, zb), P(-wb / 2 - 0.05, hb, zb)]),
             _unit(np.array([0.0, zb - 0.12, -(hb - c.hood_m)])), refl),
            ("front", np.stack([P(-w2, c.hood_m, 0.12), P(w2, c.hood_m, 0.12),
                                P(w2, c.bumper_m, 0.0), P(-w2, c.bumper_m, 0.0)]),
             _unit(np.array([0.0, 0.12, -(c.hood_m - c.bumper_m)])), refl * 0.8),
        ]

    def _front_details(self, P: _Local) -> list[tuple[str, V3, V3, float]]:
        """Grille, headlights, number plate and front tyres: (name, corners m, outward normal,
        reflectance)."""
        c = self.vclass
        w2 = c.width_m / 2
        return [
            ("grille", np.stack([P(-w2 * 0.4, c.hood_m - 0.1, 0.1),
                                 P(w2 * 0.4, c.hood_m - 0.1, 0.1),
                                 P(w2 * 0.38, c.bumper_m + 0.2, 0.03),
                                 P(-w2 * 0.38, c.bumper_m + 0.2, 0.03)]),
             np.array([0.0, 0.0, -1.0]), 0.12),
            ("headlight_left", np.stack([P(w2 - 0.38, c.hood_m - 0.04, 0.115),
                                         P(w2 - 0.06, c.hood_m - 0.04, 0.115),
                                         P(w2 - 0.06, c.hood_m - 0.15, 0.09),
                                         P(w2 - 0.38, c.hood_m - 0.15, 0.09)]),
             np.array([0.0, 0.0, -1.0]), HEADLIGHT_REFLECTANCE),
            ("headlight_right", np.stack([P(-w2 + 0.06, c.hood_m - 0.04, 0.115),
                                          P(-w2 + 0.38, c.hood_m - 0.04, 0.115),
                                          P(-w2 + 0.38, c.hood_m - 0.15, 0.09),
                                          P(-w2 + 0.06, c.hood_m - 0.15, 0.09)]),
             np.array([0.0, 0.0, -1.0]), HEADLIGHT_REFLECTANCE),
            ("plate", np.stack([P(-0.1525, c.bumper_m + 0.19, 0.01),
                                P(0.1525, c.bumper_m + 0.19, 0.01),
                                P(0.1525, c.bumper_m + 0.038, 0.005),
                                P(-0.1525, c.bumper_m + 0.038, 0.005)]),
             np.array([0.0, 0.0, -1.0]), PLATE_REFLECTANCE),
            ("tyre_left", np.stack([P(w2 - 0.25, c.bumper_m, 0.6), P(w2 - 0.02, c.bumper_m, 0.6),
                                    P(w2 - 0.02, 0.0, 0.6), P(w2 - 0.25, 0.0, 0.6)]),
             np.array([0.0, 0.0, -1.0]), TYRE_REFLECTANCE),
            ("tyre_right", np.stack([P(-w2 + 0.02, c.bumper_m, 0.6), P(-w2 + 0.25, c.bumper_m, 0.6),
                                     P(-w2 + 0.25, 0.0, 0.6), P(-w2 + 0.02, 0.0, 0.6)]),
             np.array([0.0, 0.0, -1.0]), TYRE_REFLECTANCE),
        ]

    def _visor_quads(self, P: _Local) -> list[V3]:
        """The lowered sun visors' quads (m)."""
        _, zt, _, _, _, ht = self._windshield_local()
        visors = []
        for seat in self.visors:
            x = SEATS[seat][1]
            zv = zt + 0.06
            visors.append(np.stack([P(x - 0.18, ht - 0.03, zv), P(x + 0.18, ht - 0.03, zv),
                                    P(x + 0.18, ht - 0.21, zv - 0.04),
                                    P(x - 0.18, ht - 0.21, zv - 0.04)]))
        return visors

    def _place(self, occ: Occupant, index: int, o: V3, zt: float) -> Placement:
        row, x = SEATS[occ.seat]
        c = self.vclass
        k = occ.head_scale
        eye = c.eye_m + occ.height_offset_m - 0.03 * row - CHILD_EYE_DROP_M * max(0.0, 1.0 - k)
        zl = zt + 0.22 + 0.85 * row
        head = o + np.array([x, eye, zl])
        yaw, pitch, roll = math.radians(occ.yaw_deg), math.radians(occ.pitch_deg), math.radians(occ.roll_deg)
        r0, u0, n0 = np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, -1.0])
        r1 = math.cos(roll) * r0 + math.sin(roll) * u0
        u1 = -math.sin(roll) * r0 + math.cos(roll) * u0
        u2 = math.cos(pitch) * u1 + math.sin(pitch) * n0
        n2 = -math.sin(pitch) * u1 + math.cos(pitch) * n0

        def yawed(v: V3) -> V3:
            return np.array([v[0] * math.cos(yaw) - v[2] * math.sin(yaw), v[1],
                             v[0] * math.sin(yaw) + v[2] * math.cos(yaw)])

        right, up, normal = yawed(r1), yawed(u2), yawed(n2)
        h = k * FACE_PLANE_M / 2
        # texture: eyes at 40 % of the height, so the plane centre is 0.1 × height below them
        centre = head + normal * (0.09 * k) - up * (0.1 * k * FACE_PLANE_M)
        face = np.stack([centre - right * h + up * h, centre + right * h + up * h,
                         centre + right * h - up * h, centre - right * h - up * h])
        tc = o + np.array([x, eye - 0.45, zl + 0.06])
        torso = np.stack([tc + [-0.22, 0.24, 0], tc + [0.22, 0.24, 0], tc + [0.26, -0.30, 0],
                          tc + [-0.26, -0.30, 0]])
        ang = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        hc = head + (normal * 0.07 + up * 0.01) * k
        outline = hc + np.outer(np.cos(ang) * 0.085 * k, right) \
            + np.outer(np.sin(ang) * 0.125 * k, up)
        return Placement(occ, index, face, normal, torso, row, outline)

    def _headrests(self, o: V3, zt: float) -> list[V3]:
        """Headrest centres (m): both front seats always, rear seats when occupied; at an
        adult's head height whoever sits there (none when ``headrests`` is False)."""
        if not self.headrests:
            return []
        taken = {occ.seat for occ in self.occupants}
        c = self.vclass
        out = []
        for seat, (row, x) in SEATS.items():
            if row == 0 or seat in taken:
                zl = zt + 0.22 + 0.85 * row + HEADREST_BEHIND_M
                out.append(o + np.array([x, c.eye_m - 0.03 * row - HEADREST_BELOW_EYE_M, zl]))
        return out


def _at(o: V3) -> _Local:
    """Vehicle-local (x, y, zl) metres to world, for a vehicle whose origin is ``o``."""

    def P(x: float, y: float, zl: float) -> V3:
        return o + np.array([x, y, zl])

    return P


def _unit(v: V3) -> V3:
    return v / np.linalg.norm(v)
