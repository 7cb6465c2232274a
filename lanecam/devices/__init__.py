"""Hardware drivers, a package per device kind: ``cameras`` (pylon, Harvesters/GenTL),
``sensors`` (radar, lidar, loop), ``illuminators``, ``rotators``; the shared serial transport
(``serial_link``) and lifecycle (``serial_device``), ``profiles`` and firmware ``fakes``."""

from .cameras import Camera, CameraCounters, CameraInfo, FeatureLimits, Trigger, TriggerKind
from .cameras import discover, open_camera

__all__ = [
    "Camera",
    "CameraCounters",
    "CameraInfo",
    "FeatureLimits",
    "Trigger",
    "TriggerKind",
    "discover",
    "open_camera",
]
