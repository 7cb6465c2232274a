"""A drawn vehicle in the world model: a one-vehicle :class:`~lanecam.sim.scenario.Scenario`.

The lane (camera, lamp, capture settings) is a named scenario's: ``clear_noon``'s by day,
``night``'s by night; the sun, sky, vehicle, glass and occupants are the draw's.  A tailgating
vehicle gets the vehicle it follows in front of it (a *leader*, its occupants without documents:
it only hides the follower).  Masks, hands, head scale and headrests go to the 3-D heads;
drawn conditions the world does not model yet (rain, dirt, side tint, sunglasses' own NIR
transmission) stay in the draw as data.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from ..constants import MPH_TO_MPS
from ..scenario import Scenario, load_scenario
from ..vehicles import VEHICLE_CLASSES, Kinematics, Occupant, Vehicle, VehicleClass
from ..world import Sun
from .draw import DrawnOccupant, DrawnVehicle

__all__ = ["BUS_VAN", "START_RANGE_M", "population_classes", "vehicle_scenario"]

#: A 12–15-seat passenger van (ASSUMED dimensions; rake inside PQ §1.2's 20–40°).
BUS_VAN = VehicleClass("bus_van", 2.03, 5.9, 1.10, 1.22, 2.35, 0.75, 38.0, 1.55, 0.4)
#: Where each vehicle's front bumper is at world t = 0 (m): inside the radar's range, short of
#: the capture zone (the lane starts earlier: lanecam.sim.lane.DETECT_RANGE_M).
START_RANGE_M = 30.0
DAY_BASE, NIGHT_BASE = "clear_noon", "night"
#: The scenario whose side camera (every camera but its first), lamp and settings
#: ``side_camera=True`` adds.
SIDE_BASE = "rear_seat_side"


def population_classes() -> dict[str, VehicleClass]:
    """The world's vehicle classes plus :data:`BUS_VAN`."""
    return {**VEHICLE_CLASSES, BUS_VAN.name: BUS_VAN}


@cache
def _base(name: str) -> Scenario:
    return load_scenario(name)


@cache
def _with_side_camera(name: str) -> Scenario:
    """Scenario ``name`` with :data:`SIDE_BASE`'s side cameras, their lamps and settings."""
    base, side = _base(name), _base(SIDE_BASE)
    cams = side.world.cameras[1:]
    names = {c.name for c in cams}
    lamps = tuple(lamp for lamp in side.world.lamps if lamp not in base.world.lamps
                  and lamp not in _base("rear_seat").world.lamps)
    world = replace(base.world, cameras=(*base.world.cameras, *cams),
                    lamps=(*base.world.lamps, *lamps))
    settings = {**base.settings, **{k: v for k, v in side.settings.items() if k in names}}
    return replace(base, world=world, settings=settings)


def _occupant(o: DrawnOccupant) -> Occupant:
    return Occupant(seat=o.seat, face=o.identity, yaw_deg=o.yaw_deg, pitch_deg=o.pitch_deg,
                    roll_deg=o.roll_deg, sunglasses=o.sunglasses, hat=o.cap,
                    height_offset_m=o.height_offset_m, mask=o.mask, hand=o.hand,
                    head_scale=o.head_scale)


def _vehicle(v: DrawnVehicle, start_m: float) -> Vehicle:
    return Vehicle(population_classes()[v.vclass],
                   Kinematics(start_m, v.speed_mph * MPH_TO_MPS, v.decel_mps2),
                   tuple(_occupant(o) for o in v.occupants), lateral_m=v.lateral_m,
                   windshield=v.windshield, nir_transmission=v.nir_transmission,
                   visors=v.visors, name=f"v{v.index:06d}", headrests=v.headrests,
                   side_glass="privacy" if v.side_privacy_tint else "clear")


def _leader(v: DrawnVehicle, follower: Vehicle) -> Vehicle:
    """The vehicle ``v`` tailgates: ``tailgating_gap_s`` ahead (rear bumper to front bumper),
    same speed, its driver someone who is not in ``v`` (while the gallery has such a person)."""
    assert v.leader_class is not None and v.tailgating_gap_s is not None
    assert v.leader_identity is not None
    cls = population_classes()[v.leader_class]
    speed = v.speed_mph * MPH_TO_MPS
    front = follower.kinematics.start_range_m - v.tailgating_gap_s * speed - cls.length_m
    driver = v.leader_identity
    return Vehicle(cls, Kinematics(front, speed), (Occupant("driver", driver),),
                   lateral_m=-v.lateral_m, name=f"v{v.index:06d}-leader")


def vehicle_scenario(v: DrawnVehicle, *, side_camera: bool = False) -> Scenario:
    """The one-vehicle scenario of a drawn vehicle (with its leader when it tailgates: the
    leader is then first, ``START_RANGE_M`` away, and the drawn vehicle follows);
    ``side_camera``: with :data:`SIDE_BASE`'s side camera, its lamp and settings."""
    name = NIGHT_BASE if v.night else DAY_BASE
    base = _with_side_camera(name) if side_camera else _base(name)
    subject = _vehicle(v, START_RANGE_M)
    vehicles: tuple[Vehicle, ...] = (subject,)
    if v.tailgating_gap_s is not None:
        lead = population_classes()[v.leader_class or "sedan"]
        back = START_RANGE_M + lead.length_m + v.tailgating_gap_s * subject.kinematics.speed_mps
        subject = replace(subject, kinematics=replace(subject.kinematics, start_range_m=back))
        leader = _leader(v, subject)
        vehicles = (leader, subject)
    sun = Sun(v.sun_elevation_deg, v.sun_azimuth_deg, v.sky, v.cloud_cover)
    world = replace(base.world, sun=sun, vehicles=vehicles, seed=v.world_seed)
    return replace(base, name=f"population-v{v.index:06d}", world=world,
                   description=f"population vehicle {v.index}")
