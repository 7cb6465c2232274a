"""The devices of the ``polarizer`` procedure: a camera and its analyzer's rotation mount,
either the lane's (production drivers: pylon/Harvesters camera, Elliptec driver on its serial
port) or the simulated lane's (a SimCamera looking at a parked car, the Elliptec firmware fake
on a pseudo-terminal turning the simulated analyzer, driven by the same production driver).

A rig gives ``move(reading_deg) -> reading_deg`` (the mount's mechanical reading, what the
offset is measured against), ``grab() -> frame`` and ``close()``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Rig", "SimTarget", "device_rig", "sim_rig"]

#: the simulated calibration car: windshield centre this far down-lane from the camera (m)
SIM_CAR_RANGE_M = 14.0


@dataclass(frozen=True)
class SimTarget:
    """The parked car of a simulated run as the installer would tape-measure it: windshield
    centre (x, y, z in lane coordinates, m) and rake (deg)."""

    glass_centre_m: tuple[float, float, float]
    rake_deg: float


class Rig:
    """A camera with a rotatable analyzer; ``camera_model`` its pose for the glare geometry."""

    def __init__(self, grabber: Any, rotator: Any, camera_model: Any, stack: Any,
                 settings: dict[str, Any], target: SimTarget | None = None) -> None:
        self.grabber = grabber
        self.rotator = rotator
        self.camera_model = camera_model
        self.settings = dict(settings)
        self.target = target
        self._stack = stack
        self._first = True

    def move(self, reading_deg: float) -> float:
        """Turn the mount to mechanical ``reading_deg``; returns the reading it reports."""
        image = self.rotator.move_to(reading_deg + self.rotator.offset_deg)
        return float((image - self.rotator.offset_deg) % 180.0)

    def grab(self, settings: dict[str, Any] | None = None) -> NDArray[Any]:
        if settings:
            self.settings.update(settings)
        s = self.settings if (self._first or settings) else None
        self._first = False
        return np.asarray(self.grabber.grab(s))

    def close(self) -> None:
        self._stack.close()


def _elliptec(url: str, model: str, address: str, offset_deg: float, stack: Any,
              name: str) -> Any:
    from ..devices.rotators import ElliptecRotator, load_rotator_profile
    from ..devices.serial_link import SerialLink

    profile = load_rotator_profile(model)
    rot = ElliptecRotator(SerialLink(url, baudrate=profile.baudrate), address=address,
                          profile=profile, offset_deg=offset_deg, name=name)
    rot.open()
    stack.callback(rot.close)
    return rot


def device_rig(cfg: Any, image_files: str | None = None) -> Rig:
    """The lane camera ``cfg`` (a CameraConfig with a ``rotator``) and its mount.
    ``image_files``: serve frames from the image files of this folder, in name order (the
    pylon camera emulator's ImageFileMode: rehearsal and tests)."""
    from ..lane.connect import HARDWARE
    from .camera_grab import CameraGrabber, image_file_settings

    stack = contextlib.ExitStack()
    try:
        grabber = stack.enter_context(CameraGrabber(cfg))
        settings: dict[str, Any] = {}
        if image_files is not None:
            settings.update(image_file_settings(cfg, image_files))
        for k, v in (("exposure_time", cfg.exposure_s), ("gain", cfg.gain_db)):
            if v is not None and grabber.supports(k):
                settings[k] = v
        r = cfg.rotator
        rot = _elliptec(r.url, r.model, r.address, r.offset_deg, stack, f"rotator-{cfg.name}")
        model = HARDWARE.camera_model(cfg, grabber.camera)
    except BaseException:
        stack.close()
        raise
    return Rig(grabber, rot, model, stack, settings)


def sim_world(scenario: Any, camera: str) -> tuple[Any, SimTarget]:
    """The scenario's lane, sun and camera (its analyzer rotatable), no lamps, and one parked
    car of the scenario's first vehicle class, windshield :data:`SIM_CAR_RANGE_M` ahead."""
    from ..sim.vehicles import VEHICLE_CLASSES, Kinematics, Vehicle

    w = scenario.world
    pose = replace(w.camera(camera), polarizer="rotatable")
    vclass = w.vehicles[0].vclass if w.vehicles else VEHICLE_CLASSES["sedan"]
    car = Vehicle(vclass, Kinematics(SIM_CAR_RANGE_M, 0.0), name="calibration-car")
    ws = car.geometry(0.0).windshield.mean(axis=0)
    car = replace(car, kinematics=Kinematics(2 * SIM_CAR_RANGE_M - float(ws[2]), 0.0))
    ws = car.geometry(0.0).windshield.mean(axis=0)
    world = replace(w, cameras=(pose,), vehicles=(car,), lamps=())
    return world, SimTarget((float(ws[0]), float(ws[1]), float(ws[2])), vclass.rake_deg)


def sim_rig(scenario: Any, camera: str, *, mismount_deg: float, config_offset_deg: float = 0.0,
            scale: float = 0.25, seed: int = 0) -> Rig:
    """A SimCamera on the parked car, its analyzer turned by an Elliptec fake whose mount sits
    ``mismount_deg`` off (the truth), driven by the production driver configured with
    ``config_offset_deg``."""
    from ..sim.camera import SimCamera
    from ..sim.devices import SimDevices
    from .camera_grab import CameraGrabber

    world, target = sim_world(scenario, camera)
    stack = contextlib.ExitStack()
    try:
        dev = stack.enter_context(SimDevices(world, rotators=(camera,)))
        cam = SimCamera(world, camera, scale=scale, seed=seed, epoch_ns=0,
                        polarizer_source=dev.polarizer_source(camera, offset_deg=mismount_deg))
        grabber = stack.enter_context(CameraGrabber.wrap(cam))
        rot = _elliptec(dev.ports[f"rotator:{camera}"], "thorlabs-ell14", "0",
                        config_offset_deg, stack, f"rotator-{camera}")
        st = scenario.settings[camera]
        settings = {"exposure_time": st.exposure_s, "gain": st.gain_db}
    except BaseException:
        stack.close()
        raise
    return Rig(grabber, rot, cam.pose, stack, settings, target)
