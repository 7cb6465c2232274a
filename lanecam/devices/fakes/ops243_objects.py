"""Object-detection mode of the OPS243 fake (command ``OC``): one report line per vehicle.

The line's layout, key order and number formats copy a real capture ([R1]
banshee-data/velocity.report ``internal/cmd/server/fixture.jsonl``, see
``tests/data/sensors/SOURCES.md``)::

    {"classifier" : "object_outbound", "end_time" : "1750719826.467", "start_time" :
    "1750719826.031", "delta_time_msec" : 736, "max_speed_mps" : 13.39, ...}

Two relations hold in that line and are modelled: ``frames_per_mps`` = ``total_frames`` /
``max_speed_mps`` (7 / 13.39 = 0.5228) and ``length_m`` = ``max_speed_mps`` ×
``delta_time_msec`` / 1000 (13.39 × 0.736 = 9.86; [R2] traffic-monitor's docs: "calculated by
taking speed and time through field of view").  ASSUMED (no source): an object starts with a
report and ends after 4 reports without one (the simple counter's default ``N<``, manual
UM-003 p.14); ``delta_time_msec`` = end - start (the real line has 736 against 436: the
difference is unexplained); ``speed_change`` = max - min speed (the real line's 2.799 is not
max - min = 2.06: its meaning is undocumented); imperial keys (``_mph``, ``length_ft``) after
``US``, metric keys for every other unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ObjectTracker"]

_MPS_PER_MPH = 0.44704
_END_AFTER_MISSES = 4


@dataclass
class _Object:
    start_s: float
    end_s: float
    speeds: list[float] = field(default_factory=list)  # signed m/s, + inbound
    magnitudes: list[float] = field(default_factory=list)


class ObjectTracker:
    """Aggregates one report period at a time into vehicle reports."""

    def __init__(self) -> None:
        self._current: _Object | None = None
        self._misses = 0

    def reset(self) -> None:
        self._current = None
        self._misses = 0

    def period(self, clock_s: float, speed_mps: float | None, magnitude: float,
               mph: bool) -> bytes | None:
        """Feed one report period (the strongest object's speed, or None when nothing
        passed the filters); returns a report line when an object just ended."""
        if speed_mps is not None:
            if self._current is None:
                self._current = _Object(clock_s, clock_s)
            self._current.end_s = clock_s
            self._current.speeds.append(speed_mps)
            self._current.magnitudes.append(magnitude)
            self._misses = 0
            return None
        if self._current is None:
            return None
        self._misses += 1
        if self._misses < _END_AFTER_MISSES:
            return None
        obj, self._current, self._misses = self._current, None, 0
        return report_line(obj.start_s, obj.end_s, obj.speeds, obj.magnitudes, mph=mph)


def report_line(start_s: float, end_s: float, speeds: list[float], magnitudes: list[float],
                *, mph: bool = False) -> bytes:
    """One object report in the real radar's layout (terminated by CR LF)."""
    strongest = max(range(len(speeds)), key=lambda i: magnitudes[i])
    inbound = speeds[strongest] >= 0
    factor = 1 / _MPS_PER_MPH if mph else 1.0
    unit = "mph" if mph else "mps"
    top = max(abs(v) for v in speeds) * factor
    low = min(abs(v) for v in speeds) * factor
    delta_ms = round((end_s - start_s) * 1000)
    length = top * delta_ms / 1000  # in ft/s × s = ft after US (see the module notes)
    per = len(speeds) / top if top else 0.0
    pairs = [
        ("classifier", f'"object_{"inbound" if inbound else "outbound"}"'),
        ("end_time", f'"{end_s:.3f}"'), ("start_time", f'"{start_s:.3f}"'),
        ("delta_time_msec", f"{delta_ms}"),
        (f"max_speed_{unit}", f"{top:.2f}"), (f"min_speed_{unit}", f"{low:.2f}"),
        ("max_magnitude", f"{round(max(magnitudes))}"),
        ("avg_magnitude", f"{round(sum(magnitudes) / len(magnitudes))}"),
        ("total_frames", f"{len(speeds)}"), (f"frames_per_{unit}", f"{per:.4f}"),
        ("length_ft" if mph else "length_m",
         f"{length * (1 / 0.3048 * _MPS_PER_MPH if mph else 1.0):.2f}"),
        ("speed_change", f"{top - low:.3f}"),
    ]
    body = ", ".join(f'"{k}" : {v}' for k, v in pairs)
    return ("{" + body + "}\r\n").encode("ascii")
