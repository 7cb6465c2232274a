"""lanecam: camera control and capture for vehicle-lane occupant face capture.

Import what you need from the subpackages (``lanecam.devices``, ``lanecam.quality``, …); this top
level only carries the version and the error types.
"""

from .errors import (
    ConfigError,
    DeviceError,
    DeviceLostError,
    DeviceTimeoutError,
    LanecamError,
    LimitError,
    ProtocolError,
    StorageError,
    UnsupportedFeatureError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DeviceError",
    "DeviceLostError",
    "DeviceTimeoutError",
    "LanecamError",
    "LimitError",
    "ProtocolError",
    "StorageError",
    "UnsupportedFeatureError",
    "__version__",
]
