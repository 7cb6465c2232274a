"""Draw a population: vehicles, their travelers and conditions, from a spec and a seed.

Vehicle ``i`` of population seed ``S`` draws from its own generator,
``numpy.random.SeedSequence(S, spawn_key=(i,))`` (the ``i``-th child of ``SeedSequence(S)
.spawn``), so a vehicle is the same whatever the population size or how the work is split.
Each :class:`DrawnVehicle` is plain data (JSON via :meth:`DrawnVehicle.as_dict`) and becomes a
one-vehicle :class:`~lanecam.sim.scenario.Scenario` with :func:`vehicle_scenario` (plus the
vehicle it tailgates, when it does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from ...errors import ConfigError
from ..constants import MPH_TO_MPS
from .gallery import Gallery
from .spec import PopulationSpec

__all__ = ["DrawnOccupant", "DrawnVehicle", "draw_population", "draw_vehicle"]

#: Seats in the order they fill (driver first; rear outboard before the middle).
SEAT_ORDER = ("driver", "front_passenger", "rear_right", "rear_left", "rear_middle")
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class DrawnOccupant:
    """One traveler: seat, identity, the document they present (``None``: none on file),
    pose (deg) and its mixture component, accessories, child geometry (m, scale)."""

    seat: str
    identity: str
    document: str | None
    impostor: bool
    child: bool
    head_scale: float
    height_offset_m: float
    pose: str
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    cap: bool
    sunglasses: bool
    sunglasses_nir_transmission: float
    mask: bool
    hand: str


@dataclass(frozen=True)
class DrawnVehicle:
    """One vehicle of a population and everything around it when it reaches the lane."""

    index: int
    world_seed: int
    vclass: str
    occupants: tuple[DrawnOccupant, ...]
    headrests: bool
    lateral_m: float
    night: bool
    sun_elevation_deg: float
    sun_azimuth_deg: float
    sky: str
    cloud_cover: float
    windshield_condition: str
    windshield: str
    nir_transmission: float
    side_privacy_tint: bool
    side_tint_nir_transmission: float
    visors: tuple[str, ...]
    speed_mph: float
    decel_mps2: float
    tailgating_gap_s: float | None
    leader_class: str | None
    leader_identity: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _rng(seed: int, index: int) -> tuple[np.random.Generator, int]:
    if not 0 <= seed <= MAX_SEED or index < 0:
        raise ConfigError("seed must be in [0, 2**63 - 1] and the index ≥ 0", key="seed")
    ss = np.random.SeedSequence(seed, spawn_key=(index,))
    lo, hi = (int(x) for x in ss.generate_state(2, np.uint32))
    world_seed = (lo | hi << 32) >> 1  # 63 bits
    return np.random.default_rng(ss), world_seed


def draw_vehicle(spec: PopulationSpec, gallery: Gallery, seed: int, index: int) -> DrawnVehicle:
    """Vehicle ``index`` of the population ``seed`` (independent of every other vehicle)."""
    rng, world_seed = _rng(seed, index)
    d = spec.d
    vclass = str(d("vehicle", "class").draw(rng))
    n = int(d("vehicle", "occupants").draw(rng))
    night = d("scene", "night").draw(rng)
    scene = {"sun_elevation_deg": -20.0 if night else d("scene", "sun_elevation_deg").draw(rng),
             "sun_azimuth_deg": d("scene", "sun_azimuth_deg").draw(rng),
             "sky": d("scene", "sky").draw(rng), "cloud_cover": d("scene", "cloud_cover").draw(rng)}
    if scene["sky"] != "clear":
        scene["cloud_cover"] = 0.0
    occupants = _occupants(spec, gallery, rng, n, night)
    windshield = d("glass", "windshield").draw(rng)
    nir = d("glass", f"{windshield}_nir_transmission").draw(rng)
    visors = tuple(o.seat for o in occupants if o.seat in ("driver", "front_passenger")
                   and d("glass", "visor").draw(rng) and not night)
    speed = d("motion", "speed_mph").draw(rng)
    decel = d("motion", "decel_mps2").draw(rng) if d("motion", "braking").draw(rng) else 0.0
    tail = d("motion", "tailgating").draw(rng)
    gap = d("motion", "gap_s").draw(rng) if tail else None
    leader = str(d("vehicle", "class").draw(rng)) if tail else None
    strangers = [x for x in gallery.names if x not in {o.identity for o in occupants}]
    leader_id = (strangers or list(gallery.names))[int(rng.integers(len(strangers) or
                                                                    len(gallery.names)))]
    return DrawnVehicle(
        index=index, world_seed=world_seed, vclass=vclass, occupants=occupants,
        headrests=d("vehicle", "headrests").draw(rng),
        lateral_m=d("vehicle", "lateral_m").draw(rng), night=night, **scene,
        windshield_condition=d("scene", "windshield_condition").draw(rng),
        windshield=windshield, nir_transmission=nir,
        side_privacy_tint=d("glass", "side_privacy_tint").draw(rng),
        side_tint_nir_transmission=d("glass", "side_tint_nir_transmission").draw(rng),
        visors=visors, speed_mph=speed, decel_mps2=0.0 if tail else _reachable(decel, speed),
        tailgating_gap_s=gap, leader_class=leader, leader_identity=leader_id if tail else None)


def _reachable(decel: float, speed_mph: float, start_m: float = 30.0) -> float:
    """Braking limited so the vehicle still passes the camera (stopping distance ≥ its start
    range + 5 m): a vehicle that stops short is never filmed in the lane's zone."""
    v = speed_mph * MPH_TO_MPS
    return min(decel, v * v / (2 * (start_m + 5.0)))


def _occupants(spec: PopulationSpec, gallery: Gallery, rng: np.random.Generator, n: int,
               night: bool) -> tuple[DrawnOccupant, ...]:
    """``n`` travelers in :data:`SEAT_ORDER`.  A genuine traveler is drawn from the people
    with a document on file; an impostor (the spec's share) from everyone — in a gallery of
    one-photo people, mostly a stranger — and presents someone else's document.  Identities
    are distinct while the pool has enough (else drawn with repeats)."""
    documented = tuple(i.name for i in gallery.identities if i.has_document)
    out: list[DrawnOccupant] = []
    for seat in SEAT_ORDER[:n]:
        impostor = bool(spec.d("travelers", "impostor").draw(rng))
        pool = gallery.names if impostor or not documented else documented
        name = _pick(rng, pool, {o.identity for o in out})
        occ = _occupant(spec, gallery, rng, seat, name, night, impostor)
        first = next((o for o in out if o.identity == occ.identity), None)
        if first is not None:  # one person seated twice presents one document
            occ = replace(occ, document=first.document, impostor=first.impostor)
        out.append(occ)
    return tuple(out)


def _pick(rng: np.random.Generator, pool: Sequence[str], seated: set[str]) -> str:
    """One of ``pool``, not one already ``seated`` while others remain."""
    free = [x for x in pool if x not in seated] or list(pool)
    return free[int(rng.integers(len(free)))]


def _occupant(spec: PopulationSpec, gallery: Gallery, rng: np.random.Generator, seat: str,
              name: str, night: bool, impostor: bool) -> DrawnOccupant:
    d = spec.d
    child = seat.startswith("rear") and d("occupant", "child").draw(rng)
    scale = d("occupant", "child_head_scale").draw(rng) if child else 1.0
    height = d("occupant", "child_height_offset_m" if child else "adult_height_offset_m").draw(rng)
    modes = spec.pose["driver" if seat == "driver" else "passenger"]
    w = np.array([m.weight for m in modes])
    mode = modes[int(rng.choice(len(modes), p=w / w.sum()))]
    yaw, pitch, roll = (mode.yaw_deg.draw(rng), mode.pitch_deg.draw(rng), mode.roll_deg.draw(rng))
    others = [i.name for i in gallery.identities if i.impersonable and i.name != name]
    document = name if gallery.identity(name).has_document else None
    if impostor and others:
        document = others[int(rng.integers(len(others)))]
    else:
        impostor = False
    sun = d("occupant", "sunglasses").draw(rng) and not night
    return DrawnOccupant(
        seat=seat, identity=name, document=document, impostor=impostor, child=child,
        head_scale=scale, height_offset_m=height, pose=mode.name, yaw_deg=yaw, pitch_deg=pitch,
        roll_deg=roll, cap=d("occupant", "cap").draw(rng), sunglasses=sun,
        sunglasses_nir_transmission=d("occupant", "sunglasses_nir_transmission").draw(rng),
        mask=d("occupant", "mask").draw(rng), hand=str(d("occupant", "hand").draw(rng)))


def draw_population(spec: PopulationSpec, gallery: Gallery, seed: int, n: int,
                    start: int = 0) -> list[DrawnVehicle]:
    """Vehicles ``start`` … ``start + n - 1`` of the population ``seed``."""
    if not 0 <= n <= 1_000_000:
        raise ConfigError("vehicles must be in [0, 1000000]", key="vehicles")
    return [draw_vehicle(spec, gallery, seed, i) for i in range(start, start + n)]


def speed_band(speed_mph: float, edges: Sequence[float] = (15.0, 25.0, 35.0)) -> str:
    """A speed's band label (mph), e.g. ``"15-25mph"``."""
    lo = 5.0
    for e in edges:
        if speed_mph < e:
            return f"{lo:g}-{e:g}mph"
        lo = e
    return f"{lo:g}-45mph"

