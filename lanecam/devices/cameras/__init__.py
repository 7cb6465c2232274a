"""Cameras: the :class:`Camera` base (policy over ``_do_*`` hooks), the pylon and
Harvesters/GenTL backends, GenICam node access, discovery and camera firmware profiles.

Backends load their vendor SDK on first use (``lanecam.devices.cameras.pylon``,
``lanecam.devices.cameras.harvesters``), so importing this package loads neither.
"""

from .camera import Camera
from .discovery import BACKENDS, discover, open_camera
from .profile import (
    CANONICAL_FEATURES,
    FeatureKind,
    FeatureMap,
    Profile,
    builtin_profile_dir,
    load_profile,
    load_profiles,
    select_profile,
)
from .types import CameraCounters, CameraInfo, FeatureLimits, NodeInfo, RawGrab, Trigger, TriggerKind

__all__ = [
    "Camera",
    "CameraCounters",
    "CameraInfo",
    "FeatureLimits",
    "NodeInfo",
    "RawGrab",
    "Trigger",
    "TriggerKind",
    "BACKENDS",
    "discover",
    "open_camera",
    "CANONICAL_FEATURES",
    "FeatureKind",
    "FeatureMap",
    "Profile",
    "builtin_profile_dir",
    "load_profile",
    "load_profiles",
    "select_profile",
]
