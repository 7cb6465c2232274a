"""A stream of traffic for long runs (soak tests): ``n`` vehicles in a row through one
scenario's world, at one speed, one every ``headway_s``.

The vehicles are the suite's (:data:`~lanecam.sim.scenario.SUITE`: every class, occupant,
windshield and visor the scenarios have), taken in turn and re-timed; each keeps its lateral
offset, none brakes (so none closes on the one ahead).  The camera, sun and lamps are the
``base`` scenario's.

A world of a thousand vehicles would make every frame compute a thousand vehicles' geometry,
almost all of them kilometres away or long gone: :class:`StreamWorld` draws only the vehicles
whose front is within ``horizon_m`` of the camera plane and whose rear has not passed it.
Beyond the default 250 m a car is at most ~100 px wide near the top of a 5 MP frame, four times
the simulated radar's 60 m range and far from the capture zone: the frames lose only that far
background (the sensors still see every vehicle: :meth:`World.vehicles_ahead` is not filtered).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import ConfigError
from .scenario import SUITE, Scenario, load_scenario
from .vehicles import Kinematics, VehicleGeometry
from .world import World

__all__ = ["StreamWorld", "traffic_stream"]


@dataclass(frozen=True)
class StreamWorld(World):
    """A :class:`World` that draws only the vehicles between the camera plane and
    ``horizon_m`` (m) of it."""

    horizon_m: float = 250.0

    def geometries(self, t: float) -> list[VehicleGeometry]:
        near = [v for v in self.vehicles
                if -v.vclass.length_m < v.kinematics.range_at(t) < self.horizon_m]
        return sorted((v.geometry(t) for v in near), key=lambda g: -g.range_m)


def traffic_stream(n: int, *, base: str = "clear_noon", headway_s: float = 2.0,
                   speed_mps: float = 11.2, first_range_m: float = 30.0,
                   horizon_m: float = 250.0) -> Scenario:
    """``base``'s world with ``n`` of the suite's vehicles in a row, the first at
    ``first_range_m`` (m) at t = 0, each ``headway_s`` (s) behind the one ahead, all at
    ``speed_mps`` (m/s; 11.2 ≈ 25 mph)."""
    if n < 1 or headway_s <= 0 or speed_mps <= 0:
        raise ConfigError("a stream needs n ≥ 1, headway_s > 0 and speed_mps > 0",
                          key="traffic_stream")
    sc = load_scenario(base)
    pool = [v for name in SUITE for v in load_scenario(name).world.vehicles]
    gap_m = headway_s * speed_mps
    vehicles = tuple(
        replace(pool[i % len(pool)], name=f"{i:05d}-{pool[i % len(pool)].name}",
                kinematics=Kinematics(first_range_m + i * gap_m, speed_mps))
        for i in range(n))
    w = sc.world
    world = StreamWorld(cameras=w.cameras, sun=w.sun, vehicles=vehicles, lamps=w.lamps,
                        lane_width_m=w.lane_width_m, seed=w.seed, horizon_m=horizon_m)
    return replace(sc, name=f"stream-{base}-{n}", world=world,
                   description=f"{n} vehicles, {headway_s:g} s apart at {speed_mps:g} m/s")
