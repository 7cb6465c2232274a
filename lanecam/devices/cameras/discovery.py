"""Find every camera of every backend, and open one by its lane-wide id (``backend:serial``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .camera import Camera
from .types import CameraInfo

__all__ = ["discover", "open_camera", "BACKENDS"]

BACKENDS = ("pylon", "harvesters")


def discover(cti: str | Path | Sequence[str | Path] | None = None,
             backends: Sequence[str] = BACKENDS) -> list[CameraInfo]:
    """List cameras of the given backends with vendor, model, serial and backend.

    Harvesters needs producers: ``cti`` paths or ``GENICAM_GENTL64_PATH``; without either it
    raises :class:`ConfigError` — pass ``backends=("pylon",)`` to leave GenTL out on purpose.
    """
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ConfigError("unknown camera backend", key=unknown[0], allowed=list(BACKENDS))
    found: list[CameraInfo] = []
    if "pylon" in backends:
        from .pylon import discover_pylon

        found += discover_pylon()
    if "harvesters" in backends:
        from .harvesters import discover_harvesters

        found += discover_harvesters(cti)
    return found


def open_camera(camera_id: str, **kwargs: Any) -> Camera:
    """Make (not yet open) the camera named ``backend:serial``; kwargs go to its constructor."""
    backend, sep, serial = camera_id.partition(":")
    if not sep or backend not in BACKENDS + ("sim",):
        raise ConfigError("camera id must look like 'pylon:SERIAL' or 'harvesters:SERIAL'",
                          key="camera", allowed=[f"{b}:<serial>" for b in BACKENDS])
    if backend == "pylon":
        from .pylon import PylonCamera

        return PylonCamera(serial or None, **kwargs)
    if backend == "harvesters":
        from .harvesters import HarvestersCamera

        return HarvestersCamera(serial or None, **kwargs)
    raise ConfigError("the simulated camera is made by lanecam.sim, not opened by id",
                      key="camera", allowed=[f"{b}:<serial>" for b in BACKENDS])
