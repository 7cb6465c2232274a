"""The lane applies the measured sensor calibration to every reading before the tracker sees it.

``latency_s`` (``lanecam calibrate latency``): a reading that arrives at ``t`` describes the
vehicle as it was ``latency_s`` earlier, so its ``t_ns`` is moved back by that much.  The
radar's ``mount_deg`` and ``speed_scale`` (``lanecam calibrate radar``): a Doppler radar beam at
angle θ to the lane reads v·cos θ, so its speeds are divided by cos θ, then scaled.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..readings import LidarReading, LoopEdge, RadarReading

__all__ = ["CalibratedSensor", "calibrated", "correct_reading", "radar_speed_factor"]


def radar_speed_factor(mount_deg: float, speed_scale: float) -> float:
    """What a radar speed is multiplied by: ``speed_scale / cos(mount_deg)``."""
    return speed_scale / math.cos(math.radians(mount_deg))


def correct_reading(r: Any, latency_ns: int, speed_factor: float = 1.0) -> Any:
    """``r`` with its time moved back by ``latency_ns`` and (a radar reading) its speeds
    multiplied by ``speed_factor``; anything else is returned as it is."""
    if isinstance(r, RadarReading):
        speeds = tuple(v * speed_factor for v in r.speeds)
        return replace(r, t_ns=r.t_ns - latency_ns, speeds=speeds,
                       speed_mps=speeds[0] if speeds else None)
    if isinstance(r, (LidarReading, LoopEdge)):
        return replace(r, t_ns=r.t_ns - latency_ns)
    return r


class CalibratedSensor:
    """A trigger sensor (anything with ``read(timeout)``) whose readings are corrected with
    :func:`correct_reading`; every other attribute is the sensor's own."""

    def __init__(self, sensor: Any, latency_s: float, speed_factor: float = 1.0) -> None:
        self.sensor = sensor
        self.latency_ns = round(latency_s * 1e9)
        self.speed_factor = speed_factor

    def read(self, timeout: float | None = None) -> Any:
        return correct_reading(self.sensor.read(timeout), self.latency_ns, self.speed_factor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sensor, name)


def calibrated(sensor: Any, latency_s: float = 0.0, speed_factor: float = 1.0) -> Any:
    """``sensor`` wrapped in :class:`CalibratedSensor`, or as it is when there is nothing to
    correct."""
    if latency_s == 0.0 and speed_factor == 1.0:
        return sensor
    return CalibratedSensor(sensor, latency_s, speed_factor)
