"""Simulator test helpers (a module of its own: ``conftest`` names collide across test dirs)."""

from __future__ import annotations

from dataclasses import replace

from lanecam.sim import CameraPose, Kinematics, Lamp, Occupant, Sun, Vehicle, World
from lanecam.sim.vehicles import VEHICLE_CLASSES

SCALE = 0.25  # 612×512 renders: same optics, 13.8 µm pixels


def simple_world(*, sun: Sun | None = None, polarizer: str = "none", speed_mps: float = 11.0,
                 start_range_m: float = 16.0, occupants: tuple[Occupant, ...] | None = None,
                 seed: int = 7, **vehicle_kw: object) -> World:
    """A sedan approaching a camera 2 m up, 1.6 m right of the lane centre."""
    occ = occupants or (Occupant("driver", "obama"), Occupant("front_passenger", "biden"))
    cam = CameraPose(lateral_m=1.6, height_m=2.0, pitch_deg=3.0, yaw_deg=-4.5, focus_m=17.0,
                     polarizer=polarizer)
    veh = Vehicle(VEHICLE_CLASSES["sedan"], Kinematics(start_range_m, speed_mps), occ,
                  **vehicle_kw)  # type: ignore[arg-type]
    return World((cam,), sun or Sun(50.0, 170.0, "clear", 0.3), (veh,),
                 (Lamp(intensity_w_sr=500.0),), seed=seed)


def with_camera(world: World, **changes: object) -> World:
    return replace(world, cameras=(replace(world.cameras[0], **changes),))
