"""The lane simulator: a seeded, deterministic physics world and simulated devices.

* :mod:`~lanecam.sim.world` — lane, cameras, sun/sky, NIR lamps.
* :mod:`~lanecam.sim.vehicles` — vehicle classes, kinematics, occupants, surfaces.
* :mod:`~lanecam.sim.optics` — Fresnel/windshield, Stokes and polarizer formulas.
* :mod:`~lanecam.sim.render` — :class:`Renderer` turns a :class:`Shot` into a frame + truth.
* :mod:`~lanecam.sim.camera` — :class:`SimCamera`, a :class:`~lanecam.devices.cameras.Camera`.
* :mod:`~lanecam.sim.scenario` — TOML scenarios and the named suite.
* :mod:`~lanecam.sim.truth` — ground truth, for evaluation only.
* :mod:`~lanecam.sim.devices` — radar, lidar, loop and strobe controller: the serial firmware
  fakes fed by the world (import it explicitly; it pulls in the serial stack).
* :mod:`~lanecam.sim.constants` — every physical constant, with its source.
"""

from .camera import SimCamera
from .camera_timeline import SimFaults
from .render import Renderer, Shot
from .scenario import SUITE, Scenario, load_scenario, scenario_names
from .vehicles import VEHICLE_CLASSES, Kinematics, Occupant, Vehicle
from .world import CameraPose, Lamp, Sun, World

__all__ = [
    "SUITE",
    "VEHICLE_CLASSES",
    "CameraPose",
    "Kinematics",
    "Lamp",
    "Occupant",
    "Renderer",
    "Scenario",
    "Shot",
    "SimCamera",
    "SimFaults",
    "Sun",
    "Vehicle",
    "World",
    "load_scenario",
    "scenario_names",
]
