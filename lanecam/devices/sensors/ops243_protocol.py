"""OmniPreSense OPS243 line protocol: report and object-report parsing, acknowledgement keys,
and the longest line the radar can send.  Pure functions, no I/O (the driver is
:mod:`lanecam.devices.sensors.radar`; sources in ``tests/data/sensors/SOURCES.md``).

**Object reports** (object-detection mode, command ``OC``): one JSON line per vehicle.  Key
names from a real OPS243 capture ([R1] banshee-data/velocity.report
``internal/cmd/server/fixture.jsonl``, Apache-2.0)::

    {"classifier" : "object_outbound", "end_time" : "1750719826.467", "start_time" :
    "1750719826.031", "delta_time_msec" : 736, "max_speed_mps" : 13.39, "min_speed_mps" :
    11.33, "max_magnitude" : 55, "avg_magnitude" : 36, "total_frames" : 7, "frames_per_mps" :
    0.5228, "length_m" : 9.86, "speed_change" : 2.799}

(307 bytes; times are *strings*, the rest numbers; speeds unsigned, the direction is in
``classifier``: ``object_inbound`` / ``object_outbound``).  The imperial variants
``max_speed_mph`` / ``min_speed_mph`` / ``frames_per_mph`` / ``length_ft`` and an older
firmware's shape (``dir`` ``IN``/``OUT``, ``frames``, ``max_mps``/``max_mph``, ``min_mps``,
``max_mag``, ``avg_mag``) come from the parser of [R2] glossyio/traffic-monitor
``container/node-red-tm/data/flows.json`` (GPL-3.0; key names only, no code).  No source
documents the meaning of ``speed_change`` (2.799 above, while max - min = 2.06) nor why
``delta_time_msec`` (736) differs from end - start (436 ms): both are kept as reported.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ...errors import ConfigError, ProtocolError
from ...readings import RadarObject, RadarReading

__all__ = [
    "ACKS",
    "MPS_PER_MPH",
    "M_PER_FT",
    "OBJECT_KEYS",
    "OPS243_MAX_LINE",
    "AckSpec",
    "parse_object_report",
    "parse_ops243_line",
    "widest_object_report",
]

MPS_PER_MPH = 0.44704  # international mile (manual UM-003 p.8)
M_PER_FT = 0.3048
#: Reports per measurement: up to 16 values in one line (see radar.py for the command limit).
MAX_REPORTS_LINE = 16
_REPORT_KEYS = ("speed", "range", "DetectedObjectVelocity")
_RANGE_UNITS_M = {"m": 1.0}
_SPEED_UNITS = {"mps", "m-per-sec", "m/s"}

#: Object-report keys of the current firmware [R1] (the order the radar sends them in).
OBJECT_KEYS = ("classifier", "end_time", "start_time", "delta_time_msec", "max_speed_mps",
               "min_speed_mps", "max_magnitude", "avg_magnitude", "total_frames",
               "frames_per_mps", "length_m", "speed_change")
#: field → (current-firmware keys [R1]/[R2], older-firmware keys [R2]); metric key first.
_OBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "max_speed": ("max_speed_mps", "max_speed_mph", "max_mps", "max_mph"),
    "min_speed": ("min_speed_mps", "min_speed_mph", "min_mps", "min_mph"),
    "length": ("length_m", "length_ft"),
    "frames": ("total_frames", "frames"),
    "max_magnitude": ("max_magnitude", "max_mag"),
    "avg_magnitude": ("avg_magnitude", "avg_mag"),
}
_DIRECTIONS = {"object_inbound": 1.0, "object_outbound": -1.0, "IN": 1.0, "OUT": -1.0}


def widest_object_report() -> bytes:
    """The longest object report the radar can send (terminator excluded).

    **No source gives a maximum line length** (the OPS243 manual UM-003 and the AN-010 API
    excerpts we found document none), so the bound is derived: the real line's layout [R1]
    (``"key" : value`` pairs joined by ``", "``), the longer of each metric/imperial key
    ([R2]: ``length_ft``), the longer classifier (``object_outbound``), every value at the
    widest its range allows.  Ranges: times are the radar clock set by ``C=n`` to Unix
    seconds ([R1] sets it so) with milliseconds — ASSUMED an unsigned 32-bit second count,
    10 digits; speeds up to 310.8 m/s = 695.2 mph at 100 ksps ([3P] graeb/OmnipresenseRadar,
    openflight) with up to 5 decimals (``Fn``, n = 0..5, manual p.8) and an ASSUMED sign;
    counts, magnitudes, ``delta_time_msec`` and the integer parts of ``frames_per_mph`` and
    ``length_ft`` ASSUMED unsigned 32-bit (10 digits).  A line longer than this is not a
    report this driver can parse; it is discarded and counted.
    """
    t = '"4294967295.999"'
    speed = "-695.23000"
    big = "4294967295"
    wide = "4294967295.99999"
    pairs = [("classifier", '"object_outbound"'), ("end_time", t), ("start_time", t),
             ("delta_time_msec", big), ("max_speed_mph", speed), ("min_speed_mph", speed),
             ("max_magnitude", big), ("avg_magnitude", big), ("total_frames", big),
             ("frames_per_mph", wide), ("length_ft", wide), ("speed_change", speed)]
    return ("{" + ", ".join(f'"{k}" : {v}' for k, v in pairs) + "}").encode("ascii")


#: Longest accepted OPS243 line in bytes, terminator excluded (see :func:`widest_object_report`).
OPS243_MAX_LINE = len(widest_object_report())


@dataclass(frozen=True)
class AckSpec:
    """One acknowledgement line: a JSON object whose keys are all in ``keys`` and which has
    ``key`` (equal to ``value`` unless that is None).  A line with other keys is not it."""

    keys: frozenset[str]
    key: str
    value: object = None

    def matches(self, obj: dict[str, object]) -> bool:
        """The line is this acknowledgement (its value is checked separately)."""
        return self.key in obj and set(obj) <= self.keys


def _ack(key: str, *others: str, value: object = None) -> AckSpec:
    return AckSpec(frozenset((key, *others)), key, value)


#: Acknowledgement of each command, by the command's first two characters.  Documented:
#: ``UM`` (manual UM-003 p.8), ``uM`` (two lines, p.8), ``?P``/``?V`` (p.7), ``U?`` (p.8).
#: The others are ASSUMED (no stored source documents them; the keys follow the ``??`` reply's
#: names where it has one: ``SamplingRate``/``resolution``, ``RequiredMinSpeed``); a real radar
#: that answers otherwise makes the command time out naming it, never accepts a wrong line.
ACKS: dict[str, tuple[AckSpec, ...]] = {
    "UM": (_ack("Units", value="m-per-sec"),),
    "uM": (_ack("RangeUnit", "Units", value="m"),
           _ack("RangeResolution_m", "Resolutions")),
    "S": (_ack("SamplingRate", "resolution"),),
    "R+": (_ack("DirectionFilter", value="Inbound"),),
    "R|": (_ack("DirectionFilter", value="Both"),),
    "R>": (_ack("RequiredMinSpeed"),),
    "R<": (_ack("RequiredMaxSpeed"),),
    "r>": (_ack("RequiredMinRange"),),
    "r<": (_ack("RequiredMaxRange"),),
    "O": (_ack("NumberOfReports"),),
    "OJ": (_ack("OutputFeature", value="JSON"),),
    "Oj": (_ack("OutputFeature", value="Plain"),),
    "OC": (_ack("ObjectReport", value="On"),),
    "Oc": (_ack("ObjectReport", value="Off"),),
    "?P": (_ack("Product"),),
    "?V": (_ack("Version"),),
    "U?": (_ack("Units"),),
}


def ack_for(cmd: bytes) -> tuple[AckSpec, ...]:
    """The acknowledgement lines ``cmd`` awaits (ConfigError for a command with none known)."""
    text = cmd.decode("ascii", "replace").strip()
    for key in (text[:2], text[:1]):
        if key in ACKS and (key != "O" or text[1:2].isdigit()) and (key != "S" or len(text) == 2):
            return ACKS[key]
    raise ConfigError(f"no acknowledgement known for {text!r}", key="command")


def _finite(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ProtocolError(f"{what} is not a number: {v!r}"[:120], feature=what)
    try:
        f = float(v)
    except ValueError:
        raise ProtocolError(f"{what} is not a number: {v!r}"[:120], feature=what) from None
    if not math.isfinite(f):
        raise ProtocolError(f"{what} is not finite", feature=what)
    return f


def _values(raw: object, what: str) -> tuple[float, ...]:
    """A report value or list of values (multi-object reports), each a finite number."""
    if isinstance(raw, list):
        if len(raw) > MAX_REPORTS_LINE:
            raise ProtocolError(f"more than {MAX_REPORTS_LINE} {what} values", feature=what)
        return tuple(_finite(v, what) for v in raw)
    return (_finite(raw, what),)


def _field(obj: dict[str, object], field: str) -> tuple[float, str] | None:
    """(value, key used) for an object-report field, or None if absent."""
    for key in _OBJECT_FIELDS[field]:
        if key in obj:
            return _finite(obj[key], key), key
    return None


def parse_object_report(obj: dict[str, object], t_ns: int, *, max_speed_mps: float = 310.8,
                        source: str = "") -> RadarObject:
    """An object report (a decoded JSON object with ``classifier`` or ``dir``) as a reading.

    Speeds are m/s signed by the direction (+ inbound), length metres (``_mph``/``_ft`` keys
    converted), times the radar's clock in seconds.  ProtocolError (``feature`` = the key)
    on a missing or malformed field.
    """
    dev = source or None
    label = obj.get("classifier", obj.get("dir"))
    if not isinstance(label, str) or label not in _DIRECTIONS:
        raise ProtocolError(f"unknown object direction {str(label)[:20]!r}", device=dev,
                            feature="classifier")
    sign = _DIRECTIONS[label]
    got: dict[str, float] = {}
    imperial = False
    for field in ("max_speed", "min_speed", "length"):
        hit = _field(obj, field)
        if hit is None:
            raise ProtocolError(f"object report lacks {field}", device=dev, feature=field)
        got[field] = hit[0]
        imperial = imperial or hit[1].endswith(("_mph", "_ft"))
    times = {k: _finite(obj.get(k), k) for k in ("start_time", "end_time")}
    if times["end_time"] < times["start_time"]:
        raise ProtocolError("object report ends before it starts", device=dev,
                            feature="end_time")
    speeds = [got["max_speed"], got["min_speed"]]
    if imperial:
        speeds = [v * MPS_PER_MPH for v in speeds]
    if any(abs(v) > max_speed_mps for v in speeds) or got["length"] < 0:
        raise ProtocolError("object report outside the sensor's limits", device=dev,
                            feature="max_speed")
    length = got["length"] * (M_PER_FT if "length_ft" in obj else 1.0)
    extra = {f: _field(obj, f) for f in ("frames", "max_magnitude", "avg_magnitude")}
    delta = obj.get("delta_time_msec")
    change = obj.get("speed_change")
    return RadarObject(
        t_ns, sign * abs(speeds[0]), sign * abs(speeds[1]), length,
        times["start_time"], times["end_time"],
        None if delta is None else _finite(delta, "delta_time_msec") / 1000.0,
        None if extra["frames"] is None else int(extra["frames"][0]),
        None if extra["max_magnitude"] is None else extra["max_magnitude"][0],
        None if extra["avg_magnitude"] is None else extra["avg_magnitude"][0],
        None if change is None else _finite(change, "speed_change"), source)


def parse_ops243_line(
    line: bytes, t_ns: int, *, max_speed_mps: float = 310.8, max_range_m: float = 200.0,
    source: str = "", reports: int = 1,
) -> RadarReading | RadarObject | dict[str, object]:
    """Parse one OPS243 output line (terminator removed).

    Returns a :class:`RadarReading` for a speed/range report, a :class:`RadarObject` for an
    object report (JSON with ``classifier`` or ``dir``), or the decoded JSON object for
    anything else (an acknowledgement or a query reply: the caller matches it by its keys).
    Anything else raises :class:`ProtocolError`.  Lines up to :data:`OPS243_MAX_LINE` bytes.

    Accepted reports: JSON ``{"speed": 3.2, "direction": "inbound"}`` / ``{"range": 12.3,
    "unit": "m"}`` (either or both keys), plain ``3.2`` / ``-3.2`` (sign = direction, +
    inbound), ``137.429, 3.2`` (time, speed), ``"mps",3.2`` and ``"m",12.3``.  Multi-object
    reports (command ``On``, n > 1): in JSON ``"speed"`` and ``"range"`` are lists, strongest
    first, speeds signed (+ inbound; a ``"direction"`` key applies to every value) — [3P]
    openflight ``ops243.py``, glossyio/traffic-monitor ``radar-payload.md``.  In plain output
    (``reports`` > 1) a line is an optional unit tag and 1..``reports`` values (ASSUMED: the
    manual gives no plain multi-report example).
    """
    if not 1 <= reports <= MAX_REPORTS_LINE:
        raise ConfigError(f"reports must be 1..{MAX_REPORTS_LINE}", key="reports")
    dev = source or None
    text_b = line.strip(b"\r\n\t ")
    if not text_b:
        raise ProtocolError("empty line", device=dev)
    if len(text_b) > OPS243_MAX_LINE:
        raise ProtocolError(f"line longer than {OPS243_MAX_LINE} bytes", device=dev,
                            feature="line_length")
    try:
        text = text_b.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("non-ASCII bytes in radar line", device=dev) from None
    if text.startswith("{"):
        obj = _json_object(text, source)
        if "classifier" in obj or "dir" in obj:
            return parse_object_report(obj, t_ns, max_speed_mps=max_speed_mps, source=source)
        if not any(k in obj for k in _REPORT_KEYS):
            return obj
        speeds, ranges = _json_report(obj)
    else:
        speeds, ranges = _parse_plain(text, reports, source)
    for v in speeds:
        if abs(v) > max_speed_mps:
            raise ProtocolError(f"speed {v:g} m/s beyond the sensor's {max_speed_mps:g} m/s",
                                device=dev, feature="speed")
    for r in ranges:
        if not 0 <= r <= max_range_m:
            raise ProtocolError(f"range {r:g} m outside 0..{max_range_m:g} m", device=dev,
                                feature="range")
    return RadarReading(t_ns, speeds[0] if speeds else None, ranges[0] if ranges else None,
                        source, speeds, ranges)


def _json_object(text: str, source: str) -> dict[str, object]:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("malformed JSON line", device=source or None) from None
    if not isinstance(obj, dict):
        raise ProtocolError("JSON line is not an object", device=source or None)
    return obj


def _json_report(obj: dict[str, object]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A JSON speed/range report: (speeds m/s, ranges m)."""
    speeds: tuple[float, ...] = ()
    ranges: tuple[float, ...] = ()
    if "speed" in obj or "DetectedObjectVelocity" in obj:
        speeds = _values(obj.get("speed", obj.get("DetectedObjectVelocity")), "speed")
        direction = obj.get("direction")
        if direction is not None:
            if direction not in ("inbound", "outbound"):
                raise ProtocolError(f"unknown direction {str(direction)[:20]!r}",
                                    feature="direction")
            speeds = tuple(abs(v) if direction == "inbound" else -abs(v) for v in speeds)
    unit = obj.get("unit", obj.get("units"))
    if "range" in obj:
        ranges = _values(obj["range"], "range")
        if unit is None:
            unit = "m"
        if not isinstance(unit, str) or unit not in _RANGE_UNITS_M:
            raise ProtocolError(f"range unit {str(unit)[:20]!r} is not metres", feature="unit")
    elif unit is not None and (not isinstance(unit, str) or unit not in _SPEED_UNITS):
        # e.g. traffic-monitor's DetectedObjectVelocity lines carry "unit":"mph" ([R2])
        raise ProtocolError(f"speed unit {str(unit)[:20]!r} is not m/s", feature="unit")
    return speeds, ranges


def _parse_plain(text: str, reports: int,
                 source: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A plain (non-JSON) report line: (speeds m/s, ranges m)."""
    fields = [f.strip() for f in text.split(",")]
    unit = None
    if fields[0].startswith('"'):
        if len(fields[0]) < 2 or not fields[0].endswith('"') or not \
                2 <= len(fields) <= reports + 1:
            raise ProtocolError("malformed unit-tagged line", device=source or None)
        unit = fields[0][1:-1]
        fields = fields[1:]
    if reports == 1:
        if not 1 <= len(fields) <= 3:
            raise ProtocolError("unexpected number of fields", device=source or None)
        values: tuple[float, ...] = (_finite(fields[-1], "value"),)
        for f in fields[:-1]:
            _finite(f, "field")
    else:
        if not 1 <= len(fields) <= reports:
            raise ProtocolError("unexpected number of fields", device=source or None)
        values = tuple(_finite(f, "value") for f in fields)
    if unit is None or unit in _SPEED_UNITS:
        return values, ()
    if unit in _RANGE_UNITS_M:
        return (), values
    raise ProtocolError(f"unit {unit[:20]!r} is neither m/s nor m", device=source or None)
