"""The devices of the ``strobe`` procedure: a camera whose exposure output fires the strobe
controller, either the lane's (production camera and Gardasoft RT drivers) or the simulated
lane's (a SimCamera on a parked car at night, the RT controller's firmware fake on a
pseudo-terminal behind the same production driver, its light arriving ``latency_s`` after the
exposure at delay 0 — the truth).  A rig gives ``set_delay(delay_s)``, ``grab()`` and
``close()``; the pulse is ``width_s`` at rated brightness."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["StrobeRig", "device_rig", "sim_rig", "sim_world"]

#: the scan's pulse rate limit (Hz): far below any controller's duty limit at rated brightness
SCAN_RATE_HZ = 100.0
#: the simulated parked car's front bumper (m down-lane)
SIM_CAR_RANGE_M = 13.0


class StrobeRig:
    def __init__(self, grabber: Any, lamp: Any, stack: Any, exposure_s: float,
                 settings: dict[str, Any]) -> None:
        self.grabber = grabber
        self.lamp = lamp
        self.exposure_s = exposure_s
        self.width_s = exposure_s / 2
        self._stack = stack
        self._settings: dict[str, Any] | None = dict(settings, exposure_time=exposure_s)
        self._last = -1e9

    def set_delay(self, delay_s: float) -> float:
        """Pulse ``width_s`` at 100 % ``delay_s`` after each exposure edge; the delay set."""
        s = self.lamp.strobe_from_camera(self.grabber.camera, pulse_width_s=self.width_s,
                                         brightness=1.0, max_rate_hz=SCAN_RATE_HZ,
                                         delay_s=delay_s)
        return float(s.delay_s)

    def grab(self) -> NDArray[Any]:
        """One frame, no sooner than the controller's retrigger delay after the last one (a
        trigger it refuses would leave the frame unlit)."""
        wait = self._last + 1.5 / SCAN_RATE_HZ - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        s, self._settings = self._settings, None
        frame = np.asarray(self.grabber.grab(s))
        self._last = time.monotonic()
        return frame

    def close(self) -> None:
        self._stack.close()


def _lamp(url: str, profile: Any, channel: int, stack: Any) -> Any:
    from ..devices.illuminators import GardasoftRT
    from ..devices.serial_link import SerialLink

    lamp = GardasoftRT(SerialLink(url, baudrate=profile.baudrate), profile=profile,
                       channels=(channel,), name=f"strobe{channel}")
    lamp.open()
    stack.callback(lamp.close)
    return lamp


def device_rig(lane: Any, camera: str, image_files: str | None = None) -> StrobeRig:
    """The lane camera ``camera`` and the channel of ``[illuminator]`` it fires;
    ``image_files``: frames served from a folder (the pylon emulator's ImageFileMode)."""
    from ..config import strobe_channels
    from ..devices.illuminators import load_illuminator_profile, site_profile
    from .camera_grab import CameraGrabber, image_file_settings
    from .result import CalibrationError

    ill = lane.illuminator
    idx = next(i for i, c in enumerate(lane.cameras) if c.name == camera)
    channel = strobe_channels(lane).get(idx)
    if ill is None or channel is None:
        raise CalibrationError("the camera fires no strobe channel of an [illuminator]",
                               kind="strobe", reason="device_missing", key="illuminator")
    cfg = lane.cameras[idx]
    profile, _ = site_profile(load_illuminator_profile(ill.model), ill.irradiance_w_m2,
                              ill.eye_distance_m)
    stack = contextlib.ExitStack()
    try:
        grabber = stack.enter_context(CameraGrabber(cfg))
        lamp = _lamp(ill.url, profile, channel, stack)
        exposure = cfg.exposure_s or lane.capture.exposure_s
        # the camera's own gain baseline when it has one; else the camera stays as it is
        settings = ({"gain": cfg.gain_db} if cfg.gain_db is not None and
                    grabber.supports("gain") else {})
        if image_files is not None:
            settings.update(image_file_settings(cfg, image_files))
    except BaseException:
        stack.close()
        raise
    return StrobeRig(grabber, lamp, stack, exposure, settings)


def sim_world(scenario: Any, camera: str) -> Any:
    """The scenario's camera (no analyzer) and lamps, the sun set, one parked car of its
    first vehicle class :data:`SIM_CAR_RANGE_M` ahead."""
    from ..sim.vehicles import VEHICLE_CLASSES, Kinematics, Vehicle

    w = scenario.world
    pose = replace(w.camera(camera), polarizer="none")
    vclass = w.vehicles[0].vclass if w.vehicles else VEHICLE_CLASSES["sedan"]
    car = Vehicle(vclass, Kinematics(SIM_CAR_RANGE_M, 0.0), name="calibration-car")
    night = replace(w.sun, elevation_deg=-20.0)  # the lamp alone lights the car
    return replace(w, cameras=(pose,), vehicles=(car,), sun=night)


def sim_rig(scenario: Any, camera: str, *, latency_s: float, scale: float = 0.25,
            seed: int = 0) -> StrobeRig:
    """The scenario's camera and lamps, the sun set, a parked car of its first vehicle class
    :data:`SIM_CAR_RANGE_M` ahead; the controller's light arrives ``latency_s`` late."""
    from ..devices.illuminators import load_illuminator_profile
    from ..sim.camera import SimCamera
    from ..sim.devices import SimDevices
    from ..sim.lane import ILLUMINATOR_PROFILE
    from .camera_grab import CameraGrabber

    world = sim_world(scenario, camera)
    stack = contextlib.ExitStack()
    try:
        dev = stack.enter_context(SimDevices(world))
        cam = SimCamera(world, camera, scale=scale, seed=seed, epoch_ns=0)
        cam.illumination_source = dev.strobe_source(cam, 1, latency_s=latency_s)
        grabber = stack.enter_context(CameraGrabber.wrap(cam))
        lamp = _lamp(dev.ports["illuminator"], load_illuminator_profile(ILLUMINATOR_PROFILE), 1,
                     stack)
        st = scenario.settings[camera]
    except BaseException:
        stack.close()
        raise
    return StrobeRig(grabber, lamp, stack, st.exposure_s, {"gain": st.gain_db})
