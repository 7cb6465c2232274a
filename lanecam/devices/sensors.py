"""Vehicle-trigger sensors: OPS243 radar, Benewake TF-series lidar, inductive-loop detector.

Every reading carries ``t_ns``, the host monotonic time (from the injected clock) at which the
driver received it.  Speeds are m/s with **positive = approaching** (inbound), ranges metres.

Drivers receive a :class:`~lanecam.devices.serial_link.SerialLink` (composition), do no I/O in
the constructor, configure the device in :meth:`SerialSensor.open`, and after a lost port
reconnect *and reconfigure* before the next reading (a power-cycled sensor forgets volatile
settings, e.g. units, and would otherwise be misread).
"""

from __future__ import annotations

import json
import logging
import math
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, runtime_checkable

from ..clock import MONOTONIC, Clock
from ..errors import (
    ConfigError,
    DeviceTimeoutError,
    LimitError,
    ProtocolError,
    UnsupportedFeatureError,
)
from ..readings import LidarReading, LoopEdge, RadarReading
from .serial_link import FrameDecoder, FrameSpec, SerialLink, sum8

__all__ = [
    "RadarReading",
    "LidarReading",
    "LoopEdge",
    "SerialSensor",
    "RadarSettings",
    "OPS243Radar",
    "parse_ops243_line",
    "LidarModel",
    "TF_LUNA",
    "TF02_PRO",
    "BenewakeLidar",
    "parse_benewake_frame",
    "BENEWAKE_DATA",
    "BENEWAKE_REPLY",
    "LineStateSource",
    "ModemLineSource",
    "CallableLineSource",
    "LoopDetector",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# serial sensor base
# ---------------------------------------------------------------------------------------------
class SerialSensor(ABC):
    """Policy layer shared by serial trigger sensors: open/configure/recover/read.

    Subclasses implement :meth:`_do_configure` (send settings, check acknowledgements) and
    :meth:`_do_read` (one reading within a deadline).
    """

    kind: ClassVar[str] = "sensor"

    def __init__(self, link: SerialLink, *, clock: Clock = MONOTONIC, name: str | None = None):
        self.link = link
        self.clock = clock
        self.name = name or link.name
        self._configured_generation: int | None = None

    def __enter__(self) -> SerialSensor:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def configured(self) -> bool:
        return self._configured_generation == self.link.generation and self.link.is_open

    def open(self) -> None:
        """Open the link and configure the device."""
        self.link.open()
        self._configure()

    def close(self) -> None:
        self._configured_generation = None
        self.link.close()

    def _configure(self) -> None:
        self._configured_generation = None
        self._do_configure()
        self._configured_generation = self.link.generation
        log.info("%s: configured", self.name)

    def flush(self) -> None:
        """Discard readings received but not yet read: they would be stamped with the time
        they are read, not the time they were measured (call before a consumer starts)."""
        self.link.reset_input()

    def recover(self) -> None:
        """Reconnect a lost port and reconfigure (DeviceLostError if it is still gone)."""
        self.link.reconnect()
        self._configure()

    def read(self, timeout: float | None = None) -> RadarReading | LidarReading:
        """The next reading; DeviceTimeoutError if none within ``timeout`` (s).

        After a lost port, this first reconnects and reconfigures; if the port is still
        missing it raises DeviceLostError again.
        """
        if self.link.is_lost:
            self.recover()
        elif not self.configured:
            self._configure()
        return self._do_read(self.link.timeout if timeout is None else timeout)

    @abstractmethod
    def _do_configure(self) -> None: ...

    @abstractmethod
    def _do_read(self, timeout: float) -> RadarReading | LidarReading: ...


# ---------------------------------------------------------------------------------------------
# OmniPreSense OPS243-A / -C
# ---------------------------------------------------------------------------------------------
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
    speeds: tuple[float, ...] = ()
    ranges: tuple[float, ...] = ()
    if text.startswith("{"):
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
    else:
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
            values = (_finite(fields[-1], "value"),)
            for f in fields[:-1]:
                _finite(f, "field")
        else:
            if not 1 <= len(fields) <= reports:
                raise ProtocolError("unexpected number of fields", device=source or None)
            values = tuple(_finite(f, "value") for f in fields)
        if unit is None or unit in _SPEED_UNITS:
            speeds = values
        elif unit in _RANGE_UNITS_M:
            ranges = values
        else:
            raise ProtocolError(f"unit {unit[:20]!r} is neither m/s nor m", device=source or None)
    for v in speeds:
        if abs(v) > max_speed_mps:
            raise ProtocolError(f"speed {v:g} m/s beyond the sensor's {max_speed_mps:g} m/s")
    for r in ranges:
        if not 0 <= r <= max_range_m:
            raise ProtocolError(f"range {r:g} m outside 0..{max_range_m:g} m")
    return RadarReading(t_ns, speeds[0] if speeds else None, ranges[0] if ranges else None,
                        source, speeds, ranges)


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
                self._pending.append(got)
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


# ---------------------------------------------------------------------------------------------
# Benewake TF-Luna / TF02-Pro
# ---------------------------------------------------------------------------------------------
def _valid_data(frame: bytes) -> bool:
    return sum8(frame[:8]) == frame[8]


def _valid_reply(frame: bytes) -> bool:
    return sum8(frame[:-1]) == frame[-1]


#: 9-byte data frame ``59 59 DL DH AL AH TL TH CS`` (TF-Luna manual p.12).
BENEWAKE_DATA = FrameSpec("benewake-data", b"\x59\x59", _valid_data, size=9)
#: Command reply ``5A Len ID payload CS``; Len counts the whole frame (manual p.27).  Replies
#: the driver uses are 5-8 bytes; longer lengths are treated as garbage to bound resync delay.
BENEWAKE_REPLY = FrameSpec("benewake-reply", b"\x5a", _valid_reply, length_index=1,
                           min_size=4, max_size=16)


@dataclass(frozen=True)
class LidarModel:
    """Datasheet limits of one TF-series model."""

    name: str
    min_range_m: float
    max_range_m: float
    max_frame_rate_hz: int
    min_strength: int  # below: unreliable
    out_of_range_cm: int | None  # distance code the sensor sends when it sees nothing


#: TF-Luna: 0.2-8 m, frame rate <= 250 Hz, Amp < 100 or = 65535 unreliable
#: (SJ-PM-TF-Luna A05 pp.12, 24; easymanua.ls/benewake/tf-luna/manual?p=12).
TF_LUNA = LidarModel("TF-Luna", 0.2, 8.0, 250, 100, None)
#: TF02-Pro: 0.1-40 m, <= 1000 Hz; strength < 60 forces Dist = 4500 cm
#: (easymanua.ls/benewake/tf02-pro/manual/304590?p=9; TF02-i command table).
TF02_PRO = LidarModel("TF02-Pro", 0.1, 40.0, 1000, 60, 4500)
_SATURATED = 65535  # Amp = 65535: over-exposed, unreliable (TF-Luna manual p.12)


def parse_benewake_frame(frame: bytes, t_ns: int, model: LidarModel = TF_LUNA,
                         source: str = "") -> LidarReading:
    """Decode one 9-byte data frame; ProtocolError on bad length, header or checksum."""
    if len(frame) != 9:
        raise ProtocolError(f"data frame has {len(frame)} bytes, need 9", device=source or None)
    if frame[0] != 0x59 or frame[1] != 0x59:
        raise ProtocolError("data frame header is not 59 59", device=source or None)
    if sum8(frame[:8]) != frame[8]:
        raise ProtocolError("data frame checksum mismatch", device=source or None)
    dist_cm = frame[2] | frame[3] << 8
    amp = frame[4] | frame[5] << 8
    temp_c = (frame[6] | frame[7] << 8) / 8.0 - 256.0
    range_m = dist_cm / 100.0
    reliable = (
        model.min_strength <= amp < _SATURATED
        and model.min_range_m <= range_m <= model.max_range_m
        and dist_cm != model.out_of_range_cm
    )
    return LidarReading(t_ns, range_m, amp, temp_c, reliable, source)


def _command(ident: int, payload: bytes = b"") -> bytes:
    body = bytes([0x5A, 4 + len(payload), ident]) + payload
    return body + bytes([sum8(body)])


class BenewakeLidar(SerialSensor):
    """Benewake TF-Luna / TF02-Pro in UART mode (115200 8N1 default, manual p.12).

    Args:
        frame_rate_hz: output rate set on :meth:`open` (1..model max; 0 = single-trigger mode).
    """

    kind = "lidar"

    def __init__(
        self,
        link: SerialLink,
        *,
        model: LidarModel = TF_LUNA,
        frame_rate_hz: int = 100,
        clock: Clock = MONOTONIC,
        name: str | None = None,
    ) -> None:
        super().__init__(link, clock=clock, name=name or model.name)
        self.model = model
        self._check_rate(frame_rate_hz)
        self.frame_rate_hz = frame_rate_hz
        self._decoder = FrameDecoder([BENEWAKE_DATA, BENEWAKE_REPLY], max_buffer=1024)
        self._pending: deque[LidarReading] = deque(maxlen=64)

    @property
    def _decoder_empty(self) -> bool:
        """No buffered bytes and no queued reading (nothing more without new input)."""
        return not len(self._decoder) and not self._pending

    def _check_rate(self, hz: int) -> None:
        top = self.model.max_frame_rate_hz
        if isinstance(hz, bool) or not isinstance(hz, int) or not 0 <= hz <= top:
            raise LimitError("frame rate must be an integer 0..max Hz", device=self.name,
                             feature="frame_rate_hz", allowed=(0, self.model.max_frame_rate_hz))

    def set_frame_rate(self, hz: int) -> None:
        """Set the output rate (Hz); re-applied after reconnects."""
        self._check_rate(hz)
        self.frame_rate_hz = hz
        if self.link.is_open:
            self._configure()

    def _exchange(self, cmd: bytes, timeout: float | None = None) -> bytes:
        """Send a command frame and wait for its echo/reply (ID must match)."""
        self.link.write(cmd)
        budget = self.link.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"no reply to command {cmd.hex(' ')}",
                                         device=self.name, feature=f"0x{cmd[2]:02X}")
            try:
                spec, frame = self.link.read_frame(self._decoder, timeout=left)
            except DeviceTimeoutError as exc:
                raise DeviceTimeoutError(f"no reply to command {cmd.hex(' ')}",
                                         device=self.name, feature=f"0x{cmd[2]:02X}") from exc
            if spec is BENEWAKE_DATA:
                self._pending.append(
                    parse_benewake_frame(frame, self.clock.now_ns(), self.model, self.name))
                continue
            if frame[2] != cmd[2]:
                raise ProtocolError(f"reply {frame.hex(' ')} to command {cmd.hex(' ')}",
                                    device=self.name)
            return frame

    def _do_configure(self) -> None:
        self._decoder.clear()
        rate = _command(0x03, self.frame_rate_hz.to_bytes(2, "little"))
        echo = self._exchange(rate)
        if echo != rate:
            raise ProtocolError(f"frame rate not accepted: sent {rate.hex(' ')}, "
                                f"echo {echo.hex(' ')}", device=self.name,
                                feature="frame_rate_hz")
        enable = _command(0x07, b"\x01")
        if self._exchange(enable) != enable:
            raise ProtocolError("output enable not echoed", device=self.name)
        self._pending.clear()

    def version(self) -> str:
        """Firmware version ``V1.V2.V3``: command ``5A 04 01 5F``, reply
        ``5A 07 01 V1 V2 V3 SU``."""
        if self.link.is_lost:
            self.recover()
        reply = self._exchange(_command(0x01))
        if len(reply) != 7:
            raise ProtocolError(f"version reply {reply.hex(' ')} is not 7 bytes",
                                device=self.name, feature="0x01")
        return f"{reply[3]}.{reply[4]}.{reply[5]}"

    def trigger(self, timeout: float | None = None) -> LidarReading:
        """One measurement in single-trigger mode (frame rate 0): ``5A 04 04 62``."""
        if self.frame_rate_hz != 0:
            raise ConfigError("single trigger needs frame_rate_hz = 0", device=self.name,
                              key="frame_rate_hz")
        if self.link.is_lost:
            self.recover()
        self.link.write(_command(0x04))
        return self._do_read(self.link.timeout if timeout is None else timeout)

    def _do_read(self, timeout: float) -> LidarReading:
        if self._pending:
            return self._pending.popleft()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"no lidar frame within {timeout:g} s",
                                         device=self.name)
            spec, frame = self.link.read_frame(self._decoder, timeout=left)
            if spec is BENEWAKE_DATA:
                return parse_benewake_frame(frame, self.clock.now_ns(), self.model, self.name)
            log.debug("%s: unsolicited reply %s", self.name, frame.hex(" "))


# ---------------------------------------------------------------------------------------------
# inductive loop detector (relay / opto output)
# ---------------------------------------------------------------------------------------------
@runtime_checkable
class LineStateSource(Protocol):
    """A digital input: the loop detector's relay/opto output as seen by the host."""

    def read_state(self) -> bool:
        """True = asserted (vehicle present, after any polarity inversion)."""
        ...


class ModemLineSource:
    """A modem-status input of a serial port (``cts``, ``dsr`` or ``cd``) as the loop input.

    Wire the detector's dry contact between e.g. RTS (driven high as the supply) and CTS.
    A pseudo-terminal cannot report these lines: reading raises UnsupportedFeatureError.
    """

    def __init__(self, link: SerialLink, line: str = "cts", *, active_low: bool = False,
                 supply: str | None = "rts") -> None:
        if line not in ("cts", "dsr", "cd"):
            raise ConfigError("loop input must be a modem status line", key="line",
                              allowed=["cts", "dsr", "cd"])
        self.link = link
        self.line = line
        self.active_low = active_low
        self.supply = supply

    def open(self) -> None:
        """Open the link and raise the supply line feeding the contact."""
        self.link.open()
        if self.supply is not None:
            self.link.set_output_line(self.supply, True)

    def read_state(self) -> bool:
        return self.link.modem_line(self.line) != self.active_low


class CallableLineSource:
    """Any ``() -> bool`` as a line source (a camera input line reader, a simulator)."""

    def __init__(self, read: Callable[[], bool]) -> None:
        self._read = read

    def read_state(self) -> bool:
        return bool(self._read())


class LoopDetector:
    """Debounces a loop detector's presence output into entry/exit edges.

    Call :meth:`poll` often (≥ 10× per ``debounce_s``).  A new state must persist for
    ``debounce_s`` (s) before it is reported; shorter pulses are counted in ``bounces`` and
    dropped.  The edge's ``t_ns`` is when the new state was first seen.
    """

    kind = "loop"

    def __init__(self, source: LineStateSource, *, debounce_s: float = 0.02,
                 clock: Clock = MONOTONIC, name: str = "loop") -> None:
        if not debounce_s >= 0:
            raise ConfigError("debounce must be >= 0 s", key="debounce_s")
        self.source = source
        self.debounce_ns = round(debounce_s * 1e9)
        self.clock = clock
        self.name = name
        self._stable: bool | None = None
        self._candidate: tuple[bool, int] | None = None
        self.bounces = 0

    @property
    def present(self) -> bool | None:
        """The debounced state (None before the first poll)."""
        return self._stable

    def poll(self) -> LoopEdge | None:
        """Sample the input once; return an edge if the debounced state just changed."""
        state = self.source.read_state()
        now = self.clock.now_ns()
        if self._stable is None:
            self._stable = state
            return None
        if state == self._stable:
            if self._candidate is not None:
                self.bounces += 1
                self._candidate = None
            return None
        if self._candidate is None or self._candidate[0] != state:
            self._candidate = (state, now)
        first_seen = self._candidate[1]
        if now - first_seen >= self.debounce_ns:
            self._stable = state
            self._candidate = None
            return LoopEdge(first_seen, state, self.name)
        return None
