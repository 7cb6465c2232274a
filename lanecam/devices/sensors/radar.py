"""OmniPreSense OPS243-A (Doppler speed) / OPS243-C (speed + FMCW range) radar.

Speeds are m/s with **positive = approaching** (inbound), ranges metres; every reading carries
``t_ns``, the host monotonic time (injected clock) at which the driver received it.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from ...clock import MONOTONIC, Clock
from ...errors import ConfigError, DeviceTimeoutError, LimitError, ProtocolError, UnsupportedFeatureError
from ...readings import RadarReading
from ..serial_link import SerialLink
from .base import SerialSensor

__all__ = ["RadarSettings", "OPS243Radar", "parse_ops243_line"]


#: Sampling rate (samples/s) → command (OPS243 manual UM-003 p.9).
_OPS_RATES: dict[int, str] = {1000: "SI", 5000: "SV", 10000: "SX", 20000: "S2", 50000: "SL",
                              100000: "SC"}
#: Highest unaliased speed: 31.1 m/s at 10 ksps, proportional to the rate
#: ([3P] graeb/OmnipresenseRadar SamplingRate enum; openflight ops243.py docstring).
_OPS_MPS_PER_SPS = 31.1 / 10000.0
_OPS_MAX_LINE = 200  # longest report/ack we accept (bytes); real lines are < 100
#: Reports per measurement: ``On`` takes n = 1..9 (OPS242 manual OPS-UM-001-C p.8, "Number
#: Reports"; the OPS243 manual's output table lists the same command).  Third-party code also
#: sends ``O=n`` for up to 16 ([3P] openflight ``ops243.py`` ``set_num_reports``); a report
#: line with more than 16 values is refused as garbage.
_OPS_MAX_REPORTS_CMD = 9
_OPS_MAX_REPORTS_LINE = 16
_REPORT_KEYS = ("speed", "range", "DetectedObjectVelocity")
_RANGE_UNITS_M = {"m": 1.0}
_SPEED_UNITS = {"mps", "m-per-sec", "m/s"}


@dataclass(frozen=True)
class RadarSettings:
    """OPS243 settings in SI units.

    ``sampling_rate_hz`` must resolve ``max_speed_mps`` without Doppler aliasing
    (20 ksps → 62 m/s covers every road speed).  Range filters apply to the -C only.
    ``reports`` (1-9, command ``On``): how many objects each measurement reports, strongest
    first — 2 lets the tracker follow a tailgater while the leader is still in view.
    """

    sampling_rate_hz: int = 20000
    min_speed_mps: float = 0.5
    max_speed_mps: float = 45.0
    inbound_only: bool = True
    json: bool = True
    min_range_m: float | None = None
    max_range_m: float | None = None
    reports: int = 2


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _finite(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ProtocolError(f"{what} is not a number: {v!r}"[:120])
    try:
        f = float(v)
    except ValueError:
        raise ProtocolError(f"{what} is not a number: {v!r}"[:120]) from None
    if not math.isfinite(f):
        raise ProtocolError(f"{what} is not finite")
    return f


def _values(raw: object, what: str) -> tuple[float, ...]:
    """A report value or list of values (multi-object reports), each a finite number."""
    if isinstance(raw, list):
        if len(raw) > _OPS_MAX_REPORTS_LINE:
            raise ProtocolError(f"more than {_OPS_MAX_REPORTS_LINE} {what} values")
        return tuple(_finite(v, what) for v in raw)
    return (_finite(raw, what),)


def parse_ops243_line(
    line: bytes, t_ns: int, *, max_speed_mps: float = 310.8, max_range_m: float = 200.0,
    source: str = "", reports: int = 1,
) -> RadarReading | dict[str, object]:
    """Parse one OPS243 output line (terminator removed).

    Returns a :class:`RadarReading` for a report, or the decoded JSON object for a command
    acknowledgement.  Anything else raises :class:`ProtocolError`.  Accepted reports:
    JSON ``{"speed": 3.2, "direction": "inbound"}`` / ``{"range": 12.3, "unit": "m"}`` (either or
    both keys), plain ``3.2`` / ``-3.2`` (sign = direction, + inbound), ``137.429, 3.2`` (time,
    speed), ``"mps",3.2`` and ``"m",12.3`` (unit-tagged speed / range).

    Multi-object reports (command ``On``, n > 1): in JSON, ``"speed"`` and ``"range"`` are
    lists, strongest first, speeds signed (+ inbound; a ``"direction"`` key, if present, applies
    to every value) — the shape [3P] openflight ``ops243.py`` parses ("with O4 (multi-object)
    mode, speed and magnitude are arrays ... ordered by magnitude") and glossyio/traffic-monitor
    ``radar-payload.md`` stores; lists are accepted whatever ``reports`` says.  In plain output
    (``reports`` > 1) a line is an optional unit tag and 1..``reports`` values, one per object:
    ``12.3,11.9`` / ``"m",20.1,30.6`` (ASSUMED: the manual gives no plain multi-report example;
    the driver enables neither time ``OT`` nor magnitude ``OM``, so no other field can precede
    the values).  With ``reports`` = 1 a plain line keeps the single-report forms above.
    """
    if not 1 <= reports <= _OPS_MAX_REPORTS_LINE:
        raise ConfigError(f"reports must be 1..{_OPS_MAX_REPORTS_LINE}", key="reports")
    text_b = line.strip(b"\r\n\t ")
    if not text_b:
        raise ProtocolError("empty line", device=source or None)
    if len(text_b) > _OPS_MAX_LINE:
        raise ProtocolError(f"line longer than {_OPS_MAX_LINE} bytes", device=source or None)
    try:
        text = text_b.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("non-ASCII bytes in radar line", device=source or None) from None
    if text.startswith("{"):
        got = _parse_json(text, source)
        if isinstance(got, dict):
            return got
        speeds, ranges = got
    else:
        speeds, ranges = _parse_plain(text, reports, source)
    for v in speeds:
        if abs(v) > max_speed_mps:
            raise ProtocolError(f"speed {v:g} m/s beyond the sensor's {max_speed_mps:g} m/s")
    for r in ranges:
        if not 0 <= r <= max_range_m:
            raise ProtocolError(f"range {r:g} m outside 0..{max_range_m:g} m")
    return RadarReading(t_ns, speeds[0] if speeds else None, ranges[0] if ranges else None,
                        source, speeds, ranges)


def _parse_json(text: str, source: str) -> dict[str, object] | tuple[tuple[float, ...], tuple[float, ...]]:
    """A JSON line: the acknowledgement object, or a report's (speeds m/s, ranges m)."""
    speeds: tuple[float, ...] = ()
    ranges: tuple[float, ...] = ()
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("malformed JSON line", device=source or None) from None
    if not isinstance(obj, dict):
        raise ProtocolError("JSON line is not an object", device=source or None)
    if not any(k in obj for k in _REPORT_KEYS):
        return obj
    if "speed" in obj or "DetectedObjectVelocity" in obj:
        raw = obj.get("speed", obj.get("DetectedObjectVelocity"))
        speeds = _values(raw, "speed")
        direction = obj.get("direction")
        if direction is not None:
            if direction not in ("inbound", "outbound"):
                raise ProtocolError(f"unknown direction {str(direction)[:20]!r}")
            speeds = tuple(abs(v) if direction == "inbound" else -abs(v) for v in speeds)
    if "range" in obj:
        ranges = _values(obj["range"], "range")
        unit = obj.get("unit", obj.get("units", "m"))
        if not isinstance(unit, str) or unit not in _RANGE_UNITS_M:
            raise ProtocolError(f"range unit {str(unit)[:20]!r} is not metres")
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


class OPS243Radar(SerialSensor):
    """OmniPreSense OPS243-A (Doppler speed) or OPS243-C (speed + FMCW range).

    Args:
        link: the serial link (USB CDC: baud irrelevant; UART default 19200 8N1, manual p.13).
        model: ``"OPS243-A"`` or ``"OPS243-C"``.
        settings: applied on :meth:`open` and after every reconnect.
    """

    kind = "radar"
    _MODELS = ("OPS243-A", "OPS243-C")

    def __init__(
        self,
        link: SerialLink,
        *,
        model: Literal["OPS243-A", "OPS243-C"] = "OPS243-C",
        settings: RadarSettings | None = None,
        clock: Clock = MONOTONIC,
        name: str | None = None,
    ) -> None:
        if model not in self._MODELS:
            raise ConfigError("unknown radar model", key="model", allowed=list(self._MODELS))
        super().__init__(link, clock=clock, name=name or model)
        self.model = model
        self.settings = settings or RadarSettings()
        self._validate(self.settings)
        self._pending: deque[RadarReading] = deque(maxlen=64)
        self.ignored_acks = 0  # late or unsolicited acknowledgements seen while reading

    @property
    def has_range(self) -> bool:
        return self.model == "OPS243-C"

    def _validate(self, s: RadarSettings) -> None:
        if s.sampling_rate_hz not in _OPS_RATES:
            raise LimitError("unsupported sampling rate", device=self.name,
                             feature="sampling_rate_hz", allowed=sorted(_OPS_RATES))
        vmax = s.sampling_rate_hz * _OPS_MPS_PER_SPS
        if not 0 <= s.min_speed_mps < s.max_speed_mps <= vmax:
            raise LimitError(
                f"need 0 <= min_speed < max_speed <= {vmax:.1f} m/s (aliasing limit at "
                f"{s.sampling_rate_hz} samples/s)", device=self.name, feature="max_speed_mps",
                allowed=(0.0, vmax))
        if (s.min_range_m is not None or s.max_range_m is not None) and not self.has_range:
            raise UnsupportedFeatureError("range filters need an OPS243-C", device=self.name,
                                          feature="range_filter")
        lo = s.min_range_m if s.min_range_m is not None else 0.0
        if s.max_range_m is not None and not 0 <= lo < s.max_range_m:
            raise LimitError("need 0 <= min_range < max_range", device=self.name,
                             feature="max_range_m")
        if s.min_range_m is not None and s.min_range_m < 0:
            raise LimitError("min_range must be >= 0", device=self.name, feature="min_range_m")
        if isinstance(s.reports, bool) or not isinstance(s.reports, int) or \
                not 1 <= s.reports <= _OPS_MAX_REPORTS_CMD:
            raise LimitError("reports per measurement must be an integer 1..9", device=self.name,
                             feature="reports", allowed=(1, _OPS_MAX_REPORTS_CMD))

    def configure(self, settings: RadarSettings) -> None:
        """Validate and apply new settings now (they are re-applied after reconnects)."""
        self._validate(settings)
        self.settings = settings
        if self.link.is_open:
            self._configure()

    def identify(self) -> str:
        """The product string reported by ``?P``."""
        ack = self._command(b"?P", "Product")
        return str(ack["Product"])

    def _command(self, cmd: bytes, key: str | None = None, value: object = None,
                 timeout: float | None = None) -> dict[str, object]:
        """Send ``cmd``; return its JSON acknowledgement (reports arriving meanwhile are kept)."""
        self.link.write(cmd)
        budget = self.link.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"no acknowledgement to {cmd!r}", device=self.name,
                                         feature=cmd.decode("ascii", "replace").strip())
            try:
                line = self.link.read_line(b"\n", timeout=left)
            except DeviceTimeoutError as exc:
                raise DeviceTimeoutError(
                    f"no acknowledgement to {cmd!r} within {budget:g} s", device=self.name,
                    feature=cmd.decode("ascii", "replace").strip()) from exc
            if not line.strip():
                continue
            got = parse_ops243_line(line, self.clock.now_ns(), source=self.name,
                                    reports=self.settings.reports)
            if isinstance(got, RadarReading):
                self._keep(self._pending, got)
                continue
            if key is not None and key not in got:
                raise ProtocolError(f"acknowledgement to {cmd!r} lacks {key!r}",
                                    device=self.name, feature=key)
            if value is not None and got[key or ""] != value:
                raise ProtocolError(f"{cmd!r} acknowledged {got.get(key or '')!r}",
                                    device=self.name, feature=key, allowed=value)
            return got

    def _do_configure(self) -> None:
        s = self.settings
        self._pending.clear()
        # only the units acknowledgement is documented (manual p.8); other commands must be
        # acknowledged by some JSON object line, whose keys are not checked
        self._command(b"UM", "Units", "m-per-sec")
        self._command(_OPS_RATES[s.sampling_rate_hz].encode())
        self._command(b"R+" if s.inbound_only else b"R|")
        self._command(f"R>{_num(s.min_speed_mps)}\r".encode())
        self._command(f"R<{_num(s.max_speed_mps)}\r".encode())
        if self.has_range:
            self._command(b"uM")
            if s.min_range_m is not None:
                self._command(f"r>{_num(s.min_range_m)}\r".encode())
            if s.max_range_m is not None:
                self._command(f"r<{_num(s.max_range_m)}\r".encode())
        # objects per measurement, strongest first (manual: On, n = 1..9; sent even for 1, as
        # a flash-saved setting would otherwise survive a power cycle)
        self._command(f"O{s.reports}".encode())
        self._command(b"OJ" if s.json else b"Oj")
        self._pending.clear()  # reports from before the settings took effect

    def _do_read(self, timeout: float) -> RadarReading:
        if self._pending:
            return self._pending.popleft()
        deadline = time.monotonic() + timeout
        vmax = self.settings.sampling_rate_hz * _OPS_MPS_PER_SPS
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"no radar report within {timeout:g} s",
                                         device=self.name)
            line = self.link.read_line(b"\n", timeout=left)
            if not line.strip():
                continue  # the blank-report policy (BL) emits empty lines
            try:
                got = parse_ops243_line(line, self.clock.now_ns(), max_speed_mps=vmax,
                                        source=self.name, reports=self.settings.reports)
            except ProtocolError:
                self.link.counters.protocol_errors += 1
                raise
            if isinstance(got, RadarReading):
                return got
            self.ignored_acks += 1
