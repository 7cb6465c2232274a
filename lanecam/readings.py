"""Trigger-sensor readings: plain data on the ground floor, shared by the sensor drivers
(``lanecam.devices.sensors``), the simulator and the tracker (``lanecam.control.tracker``).

Every reading carries ``t_ns``, the host monotonic time at which the driver received it.
Speeds are m/s with **positive = approaching** (inbound); ranges are metres.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LidarReading", "LoopEdge", "RadarObject", "RadarReading"]


@dataclass(frozen=True, slots=True)
class RadarReading:
    """One radar report: speed (m/s, + = approaching) and/or range (m).

    With several reports per measurement
    (:attr:`lanecam.devices.sensors.RadarSettings.reports`), ``speeds`` and
    ``ranges`` hold every reported value in the device's order (strongest return first);
    ``speed_mps`` / ``range_m`` are the first of them.  The two lists are separate
    measurements (Doppler and FMCW spectra): ``speeds[i]`` and ``ranges[i]`` need not be the
    same object, and two vehicles at the same speed share one Doppler peak, so ``speeds`` may
    be shorter than ``ranges``.  A single-value reading may be built with ``speed_mps`` /
    ``range_m`` alone: the tuples are filled from them.
    """

    t_ns: int
    speed_mps: float | None
    range_m: float | None
    source: str = ""
    speeds: tuple[float, ...] = ()
    ranges: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for one, many in (("speed_mps", "speeds"), ("range_m", "ranges")):
            first, values = getattr(self, one), tuple(getattr(self, many))
            if not values and first is not None:
                values = (first,)
            elif values and first is None:
                object.__setattr__(self, one, values[0])
            elif values and first != values[0]:
                raise ValueError(f"{one} must be the first of {many}")
            object.__setattr__(self, many, values)


@dataclass(frozen=True, slots=True)
class RadarObject:
    """One vehicle reported by a radar in object-detection mode (OPS243 ``OC``), after it left
    the beam: max/min speed (m/s, signed: + = approaching), estimated length (m), and when it
    entered and left, on the *radar's* clock (s; set with ``C=n``, else seconds since power-on).

    ``t_ns`` is the host monotonic time the report arrived (after ``end_s``).  ``duration_s``
    (the report's ``delta_time_msec``), ``frames``, the magnitudes and ``speed_change`` are
    passed on as the radar reports them (None when the firmware leaves them out).
    """

    t_ns: int
    speed_mps: float
    min_speed_mps: float
    length_m: float
    start_s: float
    end_s: float
    duration_s: float | None = None
    frames: int | None = None
    max_magnitude: float | None = None
    avg_magnitude: float | None = None
    speed_change: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class LidarReading:
    """One lidar frame: range (m), return strength (raw), sensor temperature (°C)."""

    t_ns: int
    range_m: float
    strength: int
    temperature_c: float
    reliable: bool
    source: str = ""


@dataclass(frozen=True, slots=True)
class LoopEdge:
    """A debounced loop edge: ``present`` True = a vehicle entered, False = it left.

    ``t_ns`` is when the new state was first seen (the debounce delay is not added).
    """

    t_ns: int
    present: bool
    source: str = ""
