"""OmniPreSense OPS243-A (Doppler speed) / OPS243-C (speed + FMCW range) radar.

Speeds are m/s with **positive = approaching** (inbound), ranges metres; every reading carries
``t_ns``, the host monotonic time (injected clock) at which the driver received it.  The line
protocol (reports, object reports, acknowledgement keys, the longest line) is in
:mod:`lanecam.devices.sensors.ops243_protocol`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from ...clock import MONOTONIC, Clock
from ...errors import (
    ConfigError,
    DeviceTimeoutError,
    LimitError,
    ProtocolError,
    UnsupportedFeatureError,
)
from ...readings import RadarObject, RadarReading
from ..serial_link import SerialLink
from .base import SerialSensor
from .ops243_protocol import OPS243_MAX_LINE, AckSpec, ack_for, parse_ops243_line
from .ops243_settings import RadarSettingsReport, compare_settings

__all__ = ["OPS243_MAX_LINE", "OPS243Radar", "RadarSettings", "parse_ops243_line"]


#: Sampling rate (samples/s) → command (OPS243 manual UM-003 p.9).
_OPS_RATES: dict[int, str] = {1000: "SI", 5000: "SV", 10000: "SX", 20000: "S2", 50000: "SL",
                              100000: "SC"}
#: Highest unaliased speed: 31.1 m/s at 10 ksps, proportional to the rate
#: ([3P] graeb/OmnipresenseRadar SamplingRate enum; openflight ops243.py docstring).
_OPS_MPS_PER_SPS = 31.1 / 10000.0
#: Reports per measurement: ``On`` takes n = 1..9 (OPS242 manual OPS-UM-001-C p.8, "Number
#: Reports"; the OPS243 manual's output table lists the same command).  Third-party code also
#: sends ``O=n`` for up to 16 ([3P] openflight ``ops243.py`` ``set_num_reports``); a report
#: line with more than 16 values is refused as garbage.
_OPS_MAX_REPORTS_CMD = 9


@dataclass(frozen=True)
class RadarSettings:
    """OPS243 settings in SI units.

    ``sampling_rate_hz`` must resolve ``max_speed_mps`` without Doppler aliasing
    (20 ksps → 62 m/s covers every road speed).  Range filters apply to the -C only.
    ``reports`` (1-9, command ``On``): how many objects each measurement reports, strongest
    first — 2 lets the tracker follow a tailgater while the leader is still in view.
    ``object_reports``: object-detection mode (``OC`` on / ``Oc`` off, always sent, since a
    flash-saved setting survives power cycles): one report per vehicle after it leaves the
    beam, collected by :meth:`OPS243Radar.take_objects`.  ``on_mismatch``: what a setting the
    radar reports differently (``??`` at open) does — ``"warn"`` (log, count
    ``settings_mismatch``) or ``"raise"`` (ProtocolError naming the setting).
    """

    sampling_rate_hz: int = 20000
    min_speed_mps: float = 0.5
    max_speed_mps: float = 45.0
    inbound_only: bool = True
    json: bool = True
    min_range_m: float | None = None
    max_range_m: float | None = None
    reports: int = 2
    object_reports: bool = False
    on_mismatch: Literal["warn", "raise"] = "warn"


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


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
        if link.max_line < OPS243_MAX_LINE:
            raise ConfigError(f"the link discards lines over {link.max_line} bytes; the radar "
                              f"sends up to {OPS243_MAX_LINE}", key="max_line",
                              allowed=(OPS243_MAX_LINE, None))
        self._pending: deque[RadarReading] = deque(maxlen=64)
        self._objects: deque[RadarObject] = deque(maxlen=64)
        self.ignored_acks = 0  # late or unsolicited acknowledgements seen while reading
        #: the radar's own report of its settings (``??``), from the last open/reconnect
        self.settings_report: RadarSettingsReport | None = None

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
        if s.on_mismatch not in ("warn", "raise"):
            raise ConfigError("on_mismatch must be 'warn' or 'raise'", key="on_mismatch",
                              allowed=["warn", "raise"])

    def configure(self, settings: RadarSettings) -> None:
        """Validate and apply new settings now (they are re-applied after reconnects)."""
        self._validate(settings)
        self.settings = settings
        if self.link.is_open:
            self._configure()

    def identify(self) -> str:
        """The product string reported by ``?P``."""
        return str(self._command(b"?P")["Product"])

    def take_objects(self) -> list[RadarObject]:
        """Object reports (object-detection mode) received so far, oldest first; a full queue
        drops its oldest (counted as ``pending_overflow``)."""
        out = list(self._objects)
        self._objects.clear()
        return out

    def _next_line(self, deadline: float, what: str) -> bytes | None:
        """The next non-blank line before ``deadline`` (monotonic s), or None at the deadline."""
        while True:
            left = deadline - self.link.now_s()
            if left <= 0:
                return None
            try:
                line = self.link.read_line(b"\n", timeout=left)
            except DeviceTimeoutError:
                return None
            except ProtocolError as exc:  # an over-long line, discarded by the link
                self._count("garbage_line", f"{what}: {exc.message}")
                continue
            if line.strip():
                return line

    def _classify(self, line: bytes, what: str) -> dict[str, object] | None:
        """A non-report line's JSON object; reports are queued, garbage counted (None)."""
        try:
            got = parse_ops243_line(line, self.clock.now_ns(), source=self.name,
                                    reports=self.settings.reports)
        except ProtocolError as exc:
            self.link.counters.protocol_errors += 1
            self._count("garbage_line", f"{what}: {exc.message}")
            return None
        if isinstance(got, RadarReading):
            self._keep(self._pending, got)
            return None
        if isinstance(got, RadarObject):
            self._keep(self._objects, got)
            return None
        return got

    def _command(self, cmd: bytes, timeout: float | None = None) -> dict[str, object]:
        """Send ``cmd`` and wait for each of its acknowledgement lines (:data:`ACKS`), matched
        by their keys: reports arriving meanwhile are queued, any other line is counted
        (``unexpected_reply`` / ``garbage_line``), never taken for the acknowledgement.
        Returns the acknowledgement lines merged; ProtocolError if one carries the wrong
        value, DeviceTimeoutError (``feature`` = the command) if one never comes."""
        specs: tuple[AckSpec, ...] = ack_for(cmd)
        what = cmd.decode("ascii", "replace").strip()
        self.link.write(cmd)
        budget = self.link.timeout if timeout is None else timeout
        deadline = self.link.now_s() + budget
        merged: dict[str, object] = {}
        for spec in specs:
            while True:
                line = self._next_line(deadline, what)
                if line is None:
                    raise DeviceTimeoutError(
                        f"no acknowledgement {spec.key!r} to {what!r} within {budget:g} s",
                        device=self.name, feature=what)
                got = self._classify(line, what)
                if got is None:
                    continue
                if not spec.matches(got):
                    self._count("unexpected_reply", f"awaiting {spec.key!r} for {what!r}")
                    continue
                if spec.value is not None and got[spec.key] != spec.value:
                    raise ProtocolError(f"{what!r} acknowledged {got[spec.key]!r}",
                                        device=self.name, feature=spec.key, allowed=spec.value)
                merged.update(got)
                break
        return merged

    def query_settings(self) -> RadarSettingsReport:
        """Ask the radar for its settings and compare them with :attr:`settings`; the report
        is returned and kept as :attr:`settings_report`.

        ``??`` has no end marker, so ``U?`` is sent with it (one write, ``??U?``): its
        documented reply ``{"Units":...}`` (manual p.8), which the ``??`` reply does not hold,
        ends the collection.  A mismatch warns and counts ``settings_mismatch``, or raises
        ProtocolError (``feature`` = the radar's key) with ``on_mismatch="raise"``;
        DeviceTimeoutError (``feature`` = ``"??"``) if the end never comes."""
        fence = ack_for(b"U?")[0]
        self.link.write(b"??U?")
        deadline = self.link.now_s() + self.link.timeout
        reported: dict[str, object] = {}
        bad_before = self.fault_counts["garbage_line"]
        while True:
            line = self._next_line(deadline, "??")
            if line is None:
                raise DeviceTimeoutError("the reply to '??' did not end (no 'U?' reply)",
                                         device=self.name, feature="??")
            got = self._classify(line, "??")
            if got is None:
                continue
            reported.update(got)
            if fence.matches(got):
                break
        report = compare_settings(reported, self._expected_report(),
                                  self.fault_counts["garbage_line"] - bad_before)
        self.settings_report = report
        for m in report.mismatches:
            if self.settings.on_mismatch == "raise":
                raise ProtocolError(f"the radar reports {m.name} = {m.reported!r}",
                                    device=self.name, feature=m.name, allowed=m.expected)
            self._count("settings_mismatch", f"{m.name} = {m.reported!r}, set {m.expected!r}")
        return report

    def _expected_report(self) -> dict[str, object]:
        """The ``??`` keys (manual p.7) and the values the settings imply."""
        s = self.settings
        return {"Product": "OPS243", "SamplingRate": s.sampling_rate_hz,
                "RequiredMinSpeed": s.min_speed_mps, "Units": "m-per-sec"}

    def _do_configure(self) -> None:
        s = self.settings
        self._pending.clear()
        self._command(b"UM")
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
        # objects per measurement, strongest first (manual: On, n = 1..9); like object mode,
        # sent even when it is the default, as a flash-saved setting survives a power cycle
        self._command(f"O{s.reports}".encode())
        self._command(b"OC" if s.object_reports else b"Oc")
        self._command(b"OJ" if s.json else b"Oj")
        self._pending.clear()  # reports from before the settings took effect
        self._objects.clear()
        self.query_settings()

    def _do_read(self, timeout: float) -> RadarReading:
        if self._pending:
            return self._pending.popleft()
        deadline = self.link.now_s() + timeout
        vmax = self.settings.sampling_rate_hz * _OPS_MPS_PER_SPS
        while True:
            left = deadline - self.link.now_s()
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
            if isinstance(got, RadarObject):
                self._keep(self._objects, got)
                continue
            self.ignored_acks += 1
