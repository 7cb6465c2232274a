"""OmniPreSense OPS243-A / OPS243-C radar firmware fake.

Modelled from the OPS243 user manual UM-003 (pages cited in ``docs/../hw_protocols.md`` §1.1):

* two-character commands act at once, no terminator needed; stray CR/LF between commands is
  ignored; commands carrying a number (``R>n``, ``R<n``, ``r>n``, ``r<n``) wait for CR/LF;
* each command is acknowledged by one JSON object on its own line (``UM`` →
  ``{"Units":"m-per-sec"}`` is documented; the other acknowledgement keys below are this
  fake's assumption, which is why the driver only checks the documented one);
* reports are one line each, JSON (``OJ``) or plain numbers (``Oj``, power-on default), speed
  positive = inbound; the -C also reports range (``"m",12.3`` in plain mode);
* Doppler aliasing: a target faster than the sampling rate's limit is reported wrapped,
  which is why the driver must select a fast enough rate;
* ``On`` (n = 1..9, OPS242 manual OPS-UM-001-C p.8 "Number Reports"; hw_protocols.md §1.1)
  reports up to n objects per measurement.  Order: strongest signal magnitude first (manual:
  "strongest first"; the AN-010 command catalogue in banshee-data/velocity.report
  ``internal/radar/commands.go`` lists ``Ov`` "restore speed report ordering by signal
  magnitude", i.e. magnitude order is the default, ``OV``/``O/`` re-order by value — not
  modelled).  A target's magnitude is its :attr:`RadarTarget.magnitude`, or, when that is
  None, ASSUMED ∝ 1/range² (a nearer vehicle returns more; targets without a range keep the
  callable's order).  Speeds and ranges come from separate spectra: targets whose speeds fall
  in the same Doppler FFT bin (resolution = max speed / (buffer/2): 0.0607 m/s at 10 ksps,
  1024 samples, the ``??`` reply) give one speed peak (ASSUMED: the stronger one is
  reported), so a tailgating pair at one speed reports one speed and two ranges.  With n > 1
  every report is a list, also for one object (ASSUMED): JSON ``{"speed":[11.18,-3.2]}``
  (signed, + inbound, no ``direction`` key; [3P] openflight ``ops243.py`` reads array
  values' signs) and ``{"range":[20.1,30.6],"unit":"m"}``; plain ``11.18,-3.20`` and
  ``"m",20.10,30.60`` (ASSUMED shapes).  With n = 1 the output is the single-object form
  above, for the strongest object that passes the filters.  The ``On`` acknowledgement
  ``{"NumberOfReports":n}`` is this fake's assumption;
* ``uM`` answers the two lines the manual documents (p.8): ``{"Units":"Value",
  "RangeUnit":"m"}`` then ``{"Resolutions":"Value", "RangeResolution_m":0.0777}``; ``U?``
  answers ``{"Units":...}`` (p.8); ``??`` answers one JSON object per line in the manual's
  order (p.7: ``Product`` "OPS243", ``Version``, ``SamplingRate`` with ``resolution``,
  ``SampleSize``, ``Clock``, ``PowerMode``, ``Squelch``, ``RequiredMinSpeed``; the manual's
  ``Q2COUNT`` line is left out: as printed it holds a line break inside a string);
* object-detection mode ``OC`` / ``Oc``: one report line per vehicle after it leaves the beam
  (:mod:`lanecam.devices.fakes.ops243_objects`, layout from a real capture); the
  acknowledgement ``{"ObjectReport":"On"}`` is this fake's assumption (no source documents
  it); ``C=n`` sets the clock the object reports' times use (manual p.14; no reply, ASSUMED);
* unknown commands get no reply (assumption: nothing documented).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...clock import MONOTONIC, Clock
from .base import PtyFake
from .ops243_objects import ObjectTracker

__all__ = ["SAMPLING_COMMANDS", "OPS243Fake", "RadarTarget", "max_speed_for_rate"]

#: Sampling-rate commands (manual p.9): samples/s.
SAMPLING_COMMANDS: dict[str, int] = {
    "SI": 1000, "SV": 5000, "SX": 10000, "S1": 10000, "S2": 20000, "SL": 50000, "SC": 100000,
}

# Unit commands (manual p.8): command → (JSON value, factor from m/s)
_UNITS: dict[str, tuple[str, float]] = {
    "UM": ("m-per-sec", 1.0),
    "UK": ("km-per-hr", 3.6),
    "US": ("mph", 1 / 0.44704),
    "UF": ("ft-per-sec", 1 / 0.3048),
    "UC": ("cm-per-sec", 100.0),
}


def max_speed_for_rate(sampling_rate_hz: int) -> float:
    """Highest unaliased speed (m/s) at a sampling rate: 31.1 m/s at 10 ksps, linear in rate.

    Source [3P]: graeb/OmnipresenseRadar ``SamplingRate`` enum and openflight ``ops243.py``.
    """
    return 31.1 * sampling_rate_hz / 10000.0


@dataclass(frozen=True)
class RadarTarget:
    """What the radar sees: approach speed (m/s, + = inbound), range (m, -C only) and signal
    magnitude (arbitrary units; None: ASSUMED ∝ 1/range², see the module notes)."""

    speed_mps: float
    range_m: float | None = None
    magnitude: float | None = None

    @property
    def strength(self) -> float:
        if self.magnitude is not None:
            return self.magnitude
        if self.range_m is not None:
            return 1e4 / max(self.range_m, 0.5) ** 2
        return 0.0


class OPS243Fake(PtyFake):
    """OPS243 firmware on a pty.

    Args:
        model: ``"OPS243-A"`` (Doppler) or ``"OPS243-C"`` (Doppler + FMCW range).
        target: a callable returning the current :class:`RadarTarget`, a sequence of them
            (several objects in view) or ``None`` (nothing in view); the lane simulator passes
            one.  Or call :meth:`set_target` / :meth:`set_targets`.
        buffer_size: FFT buffer (samples); report period = buffer_size / sampling rate.
    """

    def __init__(
        self,
        model: str = "OPS243-C",
        *,
        target: Callable[[], RadarTarget | Sequence[RadarTarget] | None] | None = None,
        buffer_size: int = 1024,
        clock: Clock = MONOTONIC,
    ) -> None:
        if model not in ("OPS243-A", "OPS243-C"):
            raise ValueError(f"unknown OPS243 model {model!r}")
        super().__init__(clock=clock, name=model.lower())
        self.model = model
        self.buffer_size = buffer_size
        self._source = target
        self._static: tuple[RadarTarget, ...] = ()
        self._rx = bytearray()
        self.commands: list[str] = []  # every command executed, in order
        self.silent = False  # True: the sensor stops reporting (fault injection)
        self.version = "1.3.1"  # ?V / ?? (manual p.7 example)
        self._objects = ObjectTracker()
        self._reset_settings()

    # -- simulator API -------------------------------------------------------------------------
    def set_target(self, speed_mps: float, range_m: float | None = None) -> None:
        """A target approaching at ``speed_mps`` (m/s, negative = outbound) at ``range_m``."""
        with self._lock:
            self._static = (RadarTarget(speed_mps, range_m),)

    def set_targets(self, targets: Sequence[RadarTarget]) -> None:
        """Several objects in view (reported strongest first, up to the ``On`` setting)."""
        with self._lock:
            self._static = tuple(targets)

    def clear_target(self) -> None:
        with self._lock:
            self._static = ()

    def inject(self, data: bytes) -> None:
        """Put raw bytes on the wire (line noise, truncated lines)."""
        self._send(data)

    # -- firmware ------------------------------------------------------------------------------
    def _reset_settings(self) -> None:
        self.units = "UM"
        self.json_output = False
        self.direction = "|"
        self.sampling_rate = 10000
        self.min_speed = 0.0
        self.max_speed = 0.0  # 0 = no upper filter
        self.min_range = 0.0
        self.max_range = 0.0
        self.reports = 1  # On: objects per measurement (power-on default 1)
        self.object_mode = False  # OC / Oc
        self._next_ns: int | None = None
        self._power_on_ns = self.clock.now_ns()
        self._clock_offset_s = 0.0  # C=n: the clock reads n at the moment it is set
        self._objects.reset()

    @property
    def clock_s(self) -> float:
        """The radar's clock (s): since power-on, or since ``C=n`` plus n."""
        return (self.clock.now_ns() - self._power_on_ns) / 1e9 + self._clock_offset_s

    def _on_power_on(self) -> None:
        self._rx.clear()
        self._reset_settings()

    def _ack(self, obj: dict[str, object]) -> None:
        self._send(json.dumps(obj, separators=(",", ":")).encode() + b"\r\n")

    def _on_bytes(self, data: bytes) -> None:
        self._rx += data
        while True:
            while bytes(self._rx[:1]) in (b"\r", b"\n", b" "):
                del self._rx[:1]
            if len(self._rx) < 2:
                return
            head = self._rx[:2].decode("ascii", "replace")
            if head in ("R>", "R<", "r>", "r<", "C="):
                ends = [k for k in (self._rx.find(b"\r"), self._rx.find(b"\n")) if k >= 0]
                if not ends:
                    return  # numeric commands wait for their terminator
                end = min(ends)
                arg = self._rx[2:end].decode("ascii", "replace")
                del self._rx[: end + 1]
                self._numeric(head, arg)
            else:
                del self._rx[:2]
                self._command(head)

    def _numeric(self, head: str, arg: str) -> None:
        self.commands.append(head + arg)
        try:
            value = float(arg)
        except ValueError:
            return  # the firmware ignores a malformed number (assumption)
        if head == "C=":
            self._clock_offset_s = value - (self.clock.now_ns() - self._power_on_ns) / 1e9
            return
        if head[0] == "r" and self.model == "OPS243-A":
            return
        key = {"R>": "RequiredMinSpeed", "R<": "RequiredMaxSpeed",
               "r>": "RequiredMinRange", "r<": "RequiredMaxRange"}[head]
        attr = {"R>": "min_speed", "R<": "max_speed", "r>": "min_range", "r<": "max_range"}[head]
        setattr(self, attr, value)
        self._ack({key: f"{value:.3f}"})

    def _command(self, cmd: str) -> None:
        self.commands.append(cmd)
        if cmd in _UNITS:
            self.units = cmd
            self._ack({"Units": _UNITS[cmd][0]})
        elif cmd in SAMPLING_COMMANDS:
            self.sampling_rate = SAMPLING_COMMANDS[cmd]
            self._ack({"SamplingRate": self.sampling_rate})
        elif cmd in ("OJ", "Oj"):
            self.json_output = cmd == "OJ"
            self._ack({"OutputFeature": "JSON" if self.json_output else "Plain"})
        elif len(cmd) == 2 and cmd[0] == "O" and cmd[1] in "123456789":
            self.reports = int(cmd[1])
            self._ack({"NumberOfReports": self.reports})
        elif cmd in ("R+", "R-", "R|"):
            self.direction = cmd[1]
            word = {"+": "Inbound", "-": "Outbound", "|": "Both"}[cmd[1]]
            self._ack({"DirectionFilter": word})
        elif cmd in ("uM", "u?") and self.model == "OPS243-C":
            self._send(b'{"Units":"Value", "RangeUnit":"m"}\r\n'
                       b'{"Resolutions":"Value", "RangeResolution_m":0.0777}\r\n')
        elif cmd in ("OC", "Oc"):
            self.object_mode = cmd == "OC"
            self._objects.reset()
            self._ack({"ObjectReport": "On" if self.object_mode else "Off"})
        elif cmd == "U?":
            self._ack({"Units": _UNITS[self.units][0]})
        elif cmd == "??":
            self._send(self.info_reply())
        elif cmd == "?P":
            product = "OPS243 Doppler" if self.model == "OPS243-A" else "OPS243-C FMCW & Doppler"
            self._ack({"Product": product})
        elif cmd == "?V":
            self._ack({"Version": self.version})
        # anything else: silently ignored (no documented error reply)

    def info_reply(self) -> bytes:
        """The ``??`` reply for the current state (manual p.7 layout, one object a line)."""
        resolution = max_speed_for_rate(self.sampling_rate) / (self.buffer_size / 2)
        lines = ['{"Product":"OPS243"}', f'{{"Version":"{self.version}"}}',
                 f'{{"SamplingRate":{self.sampling_rate}, "resolution":{resolution:.4f}}}',
                 f'{{"SampleSize":{self.buffer_size}}}', f'{{"Clock":"{int(self.clock_s)}"}}',
                 '{"PowerMode":"Continuous"}', '{"Squelch":"100"}',
                 f'{{"RequiredMinSpeed":"{self.min_speed:.3f}"}}']
        return "".join(line + "\r\n" for line in lines).encode("ascii")

    def _targets(self) -> list[RadarTarget]:
        """Objects in view, strongest first (stable for equal magnitudes)."""
        got = self._source() if self._source is not None else self._static
        if got is None:
            return []
        seen = [got] if isinstance(got, RadarTarget) else list(got)
        return sorted(seen, key=lambda t: -t.strength)

    def _passing(self, vmax: float) -> list[tuple[float, RadarTarget]]:
        """(reported speed m/s, target) of every object passing the filters, strongest first."""
        passing: list[tuple[float, RadarTarget]] = []
        for tgt in self._targets():
            speed = tgt.speed_mps
            if abs(speed) > vmax:  # Doppler aliasing wraps the speed into (-vmax, vmax]
                speed = math.remainder(speed, 2 * vmax)
            inbound = speed >= 0
            if (self.direction == "+" and not inbound) or (self.direction == "-" and inbound):
                continue
            if abs(speed) < self.min_speed or (self.max_speed and abs(speed) > self.max_speed):
                continue
            passing.append((speed, tgt))
        return passing

    def _on_tick(self, now_ns: int) -> None:
        period_ns = int(1e9 * self.buffer_size / self.sampling_rate)
        if self._next_ns is None:
            self._next_ns = now_ns + period_ns
            return
        if now_ns < self._next_ns:
            return
        self._next_ns += period_ns * max(1, (now_ns - self._next_ns) // period_ns + 1)
        if self.silent:
            return
        vmax = max_speed_for_rate(self.sampling_rate)
        speed_bin = vmax / (self.buffer_size / 2)  # Doppler FFT resolution (m/s)
        passing = self._passing(vmax)
        if self.object_mode:
            top = passing[0] if passing else None
            line = self._objects.period(self.clock_s, None if top is None else top[0],
                                        0.0 if top is None else top[1].strength,
                                        mph=self.units == "US")
            if line is not None:
                self._send(line)
        if not passing:
            return
        n = self.reports
        speeds: list[float] = []
        for speed, _ in passing:  # one peak per FFT bin: a weaker object in it adds nothing
            if all(abs(speed - s) >= speed_bin for s in speeds):
                speeds.append(speed)
        ranges: list[float] = []
        if self.model == "OPS243-C":
            for _, tgt in passing:
                r = tgt.range_m
                if r is None or (self.min_range and r < self.min_range) or \
                        (self.max_range and r > self.max_range):
                    continue
                ranges.append(r)
        factor = _UNITS[self.units][1]
        if n == 1:  # the single-object output, for the strongest object
            shown = speeds[0] * factor
            if self.json_output:
                self._send(json.dumps({"speed": round(abs(shown), 2),
                                       "direction": "inbound" if shown >= 0 else "outbound"}
                                      ).encode() + b"\r\n")
            else:
                self._send(f"{shown:.2f}\r\n".encode())
            tgt = passing[0][1]  # its range, if it passes the range filters
            if ranges and tgt.range_m is not None and ranges[0] == tgt.range_m:
                self._send_ranges(ranges[:1], single=True)
            return
        shown_all = [v * factor for v in speeds[:n]]
        if self.json_output:
            self._send(json.dumps({"speed": [round(v, 2) for v in shown_all]}).encode()
                       + b"\r\n")
        else:
            self._send(",".join(f"{v:.2f}" for v in shown_all).encode() + b"\r\n")
        if ranges:
            self._send_ranges(ranges[:n], single=False)

    def _send_ranges(self, ranges: list[float], *, single: bool) -> None:
        if self.json_output:
            value: object = round(ranges[0], 2) if single else [round(r, 2) for r in ranges]
            self._send(json.dumps({"range": value, "unit": "m"}).encode() + b"\r\n")
        else:
            self._send(('"m",' + ",".join(f"{r:.2f}" for r in ranges)).encode() + b"\r\n")
