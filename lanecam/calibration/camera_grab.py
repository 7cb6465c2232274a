"""Single frames from a lane camera for the procedures' real-device path (pylon, Harvesters,
the pylon emulator): settings in SI units, a software trigger, an owned copy of the pixels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

__all__ = ["CameraGrabber", "image_file_settings"]


def image_file_settings(cfg: Any, folder: str) -> dict[str, Any]:
    """Settings that make the pylon camera emulator serve the image files of ``folder`` in name
    order, at the lane camera's ``width_px`` × ``height_px`` (rehearsal with recorded frames;
    the tests' real-device path)."""
    return {"test_image_selector": "Off", "image_file_mode": "On", "image_filename": str(folder),
            "width": cfg.width_px, "height": cfg.height_px}


class CameraGrabber:
    """Opens the lane camera ``cfg`` (a :class:`~lanecam.config.CameraConfig`) through the
    production opener; :meth:`grab` sets what it is given and returns one frame's copy."""

    def __init__(self, cfg: Any, timeout_s: float = 2.0, camera: Any = None) -> None:
        self.cfg = cfg
        self.timeout_s = timeout_s
        if camera is None:
            from ..lane.connect import HARDWARE

            camera = HARDWARE.camera(cfg, 4)
        self.camera = camera
        self._armed = False

    @classmethod
    def wrap(cls, camera: Any, timeout_s: float = 5.0) -> CameraGrabber:
        """A grabber on a camera object made elsewhere (a SimCamera), not yet opened."""
        return cls(None, timeout_s, camera)

    def __enter__(self) -> Self:
        self.camera.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._armed:
            self.camera.disarm()
            self._armed = False
        self.camera.close()

    def supports(self, name: str) -> bool:
        return self.camera.supports(name)

    def grab(self, settings: Mapping[str, Any] | None = None) -> NDArray[Any]:
        """One frame after applying ``settings`` (SI units, e.g. ``exposure_time``, ``gain``)."""
        from ..devices.cameras import Trigger

        if settings:
            if self._armed:  # most settings are locked while streaming
                self.camera.disarm()
                self._armed = False
            self.camera.configure(settings)
        if not self._armed:
            self.camera.arm(Trigger.software())
            self._armed = True
        self.camera.trigger()
        frame = self.camera.grab(self.timeout_s)
        try:
            return np.array(frame.array, copy=True)
        finally:
            frame.release()
