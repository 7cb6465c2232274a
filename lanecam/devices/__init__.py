"""Hardware drivers: cameras (pylon, Harvesters/GenTL), serial sensors and illuminators."""

from .camera import Camera, CameraCounters, CameraInfo, FeatureLimits, Trigger, TriggerKind
from .discovery import discover, open_camera

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
