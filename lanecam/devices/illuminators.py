"""NIR illuminators: eye-safety interlock, illuminator base, Gardasoft-style RT controller driver.

Eye safety is policy, not configuration: every setting an :class:`Illuminator` sends first
passes :class:`EyeSafetyInterlock`, built from the illuminator's firmware profile, and there is
no flag, argument or profile key that turns it off.  It enforces

* the controller's **overdrive table** (brightness → maximum pulse width, maximum duty cycle;
  Gardasoft RT-20 manual p.57), and
* the **IEC 62471:2006 §4.3.7 infrared cornea/lens limit**
  ``E ≤ 18000·t^-0.75 W/m²`` for exposure durations t ≤ 1000 s and ``E ≤ 100 W/m²`` beyond,
  evaluated with the irradiance the profile states at the nearest eye position a person can
  reach, scaled linearly with brightness (LED output is sub-linear in overdrive current, so
  linear scaling over-estimates: conservative).

Pulse trains are checked rigorously: a train of pulses of width w (s) no closer than P = 1/f
(s, the rate the controller itself enforces via the retrigger delay) deposits at most
``H(T) = E·(d·T + w)`` J/m² in any window T (d = w/P).  ``18000·T^0.25 − H(T)`` is concave in T,
so on w ≤ T ≤ 1000 s it is smallest at an end point; beyond 1000 s the mean irradiance
``H(T)/T`` falls with T.  Three inequalities therefore cover every window:
``E·w·(1+d) ≤ 18000·w^0.25``, ``E·(1000·d + w) ≤ 100·1000`` (which also implies the 1000 s
point of the short-time limit) and, for continuous light, ``E ≤ 100``.

The illuminator is off after construction (the constructor does no I/O and the state is
"off"; :meth:`Illuminator.open` switches every output it owns off before anything else,
because a controller restores its saved settings at power-on), after :meth:`Illuminator.close`,
and after any fault (a failed command, a controller error code, a lost port).
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from ..clock import MONOTONIC, Clock
from ..errors import ConfigError, DeviceError, LanecamError, LimitError, ProtocolError
from .serial_link import SerialLink

__all__ = [
    "OverdriveRow",
    "IlluminatorProfile",
    "load_illuminator_profile",
    "ir_limit_w_m2",
    "EyeSafetyInterlock",
    "PulseSetting",
    "StrobeCamera",
    "Illuminator",
    "GardasoftRT",
    "parse_rt_reply",
    "RT_ERRORS",
]

log = logging.getLogger(__name__)

#: IEC 62471:2006 §4.3.7 cornea/lens IR limit constants.
IEC_IR_SHORT_COEFF = 18000.0  # W/m² · s^0.75, for t <= 1000 s
IEC_IR_SHORT_MAX_T = 1000.0  # s
IEC_IR_LONG = 100.0  # W/m², t > 1000 s


def ir_limit_w_m2(t_s: float) -> float:
    """IEC 62471 cornea/lens IR irradiance limit (W/m²) for an exposure of ``t_s`` seconds."""
    if not t_s > 0:
        raise ValueError("exposure duration must be > 0 s")
    return IEC_IR_SHORT_COEFF * t_s**-0.75 if t_s <= IEC_IR_SHORT_MAX_T else IEC_IR_LONG


# ---------------------------------------------------------------------------------------------
# profiles
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverdriveRow:
    """Up to ``max_brightness`` (1.0 = 100 %): pulses ≤ ``max_pulse_width_s`` (s),
    duty ≤ ``max_duty`` (fraction)."""

    max_brightness: float
    max_pulse_width_s: float
    max_duty: float


@dataclass(frozen=True)
class IlluminatorProfile:
    """An illuminator installation: controller limits plus the lamp's irradiance at the eye."""

    name: str
    title: str
    protocol: str
    channels: int
    baudrate: int
    pulse_width_s: tuple[float, float]
    delay_s: tuple[float, float]
    retrigger_step_s: float
    retrigger_max_s: float
    overdrive: tuple[OverdriveRow, ...]
    wavelength_nm: float
    eye_distance_m: float
    irradiance_w_m2: float  # at brightness 1.0, at eye_distance_m
    source: str = ""

    @property
    def max_brightness(self) -> float:
        return self.overdrive[-1].max_brightness


_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "illuminator": {"name": str, "title": str, "protocol": str, "channels": int,
                    "baudrate": int, "source": str},
    "limits": {"pulse_width_s": list, "delay_s": list, "retrigger_step_s": (int, float),
               "retrigger_max_s": (int, float)},
    "eye_safety": {"standard": str, "wavelength_nm": (int, float),
                   "nearest_eye_distance_m": (int, float), "irradiance_w_m2": (int, float),
                   "source": str},
}
_ROW_KEYS = {"max_brightness", "max_pulse_width_s", "max_duty"}
_OPTIONAL = {"illuminator.source", "illuminator.title", "eye_safety.source"}


def _profile_dir() -> Path:
    return Path(str(resources.files("lanecam") / "firmware_profiles"))


def _num(v: Any, key: str, src: str, *, positive: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"must be a finite number in {src}", key=key)
    if positive and v <= 0:
        raise ConfigError(f"must be > 0 in {src}", key=key)
    return float(v)


def _pair(v: Any, key: str, src: str) -> tuple[float, float]:
    if not isinstance(v, list) or len(v) != 2:
        raise ConfigError(f"must be [min, max] in {src}", key=key)
    lo, hi = (_num(x, key, src, positive=False) for x in v)
    if not 0 <= lo <= hi:
        raise ConfigError(f"need 0 <= min <= max in {src}", key=key)
    return lo, hi


def load_illuminator_profile(name_or_path: str | Path) -> IlluminatorProfile:
    """Load ``illuminator-<name>.toml`` from the built-in profiles, or a TOML file by path.

    Every key is required unless marked optional; unknown keys are errors (a typo such as
    ``interlock = false`` must never be silently accepted).  Raises ConfigError naming the key.
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = _profile_dir() / f"illuminator-{name_or_path}.toml"
    src = str(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        known = sorted(p.stem.removeprefix("illuminator-")
                       for p in _profile_dir().glob("illuminator-*.toml"))
        raise ConfigError("no such illuminator profile", key=str(name_or_path),
                          allowed=known) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", key=src) from exc
    for top in doc:
        if top not in (*_SECTIONS, "overdrive"):
            raise ConfigError(f"unknown table in {src}", key=top,
                              allowed=[*_SECTIONS, "overdrive"])
    for sec, fields in _SECTIONS.items():
        table = doc.get(sec)
        if not isinstance(table, dict):
            raise ConfigError(f"missing [{sec}] table in {src}", key=sec)
        for k in table:
            if k not in fields:
                raise ConfigError(f"unknown key in {src}", key=f"{sec}.{k}",
                                  allowed=sorted(fields))
        for k, typ in fields.items():
            full = f"{sec}.{k}"
            if k not in table:
                if full in _OPTIONAL:
                    continue
                raise ConfigError(f"missing key in {src}", key=full)
            if isinstance(table[k], bool) or not isinstance(table[k], typ):
                raise ConfigError(f"wrong type in {src}", key=full)
    ill, lim, eye = doc["illuminator"], doc["limits"], doc["eye_safety"]
    if ill["protocol"] not in _PROTOCOLS:
        raise ConfigError(f"unknown protocol in {src}", key="illuminator.protocol",
                          allowed=sorted(_PROTOCOLS))
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", ill["name"]):
        raise ConfigError(f"name must be a lower-case identifier in {src}",
                          key="illuminator.name")
    rows_raw = doc.get("overdrive")
    if not isinstance(rows_raw, list) or not rows_raw:
        raise ConfigError(f"need at least one [[overdrive]] row in {src}", key="overdrive")
    rows: list[OverdriveRow] = []
    for i, r in enumerate(rows_raw):
        key = f"overdrive[{i}]"
        if not isinstance(r, dict) or set(r) != _ROW_KEYS:
            raise ConfigError(f"row needs exactly {sorted(_ROW_KEYS)} in {src}", key=key)
        row = OverdriveRow(_num(r["max_brightness"], key + ".max_brightness", src),
                           _num(r["max_pulse_width_s"], key + ".max_pulse_width_s", src),
                           _num(r["max_duty"], key + ".max_duty", src))
        if row.max_duty > 1:
            raise ConfigError(f"duty is a fraction <= 1 in {src}", key=key + ".max_duty")
        if rows and row.max_brightness <= rows[-1].max_brightness:
            raise ConfigError(f"rows must have increasing max_brightness in {src}", key=key)
        rows.append(row)
    channels = ill["channels"]
    if channels < 1:
        raise ConfigError(f"must be >= 1 in {src}", key="illuminator.channels")
    return IlluminatorProfile(
        name=ill["name"],
        title=ill.get("title", ill["name"]),
        protocol=ill["protocol"],
        channels=channels,
        baudrate=ill["baudrate"],
        pulse_width_s=_pair(lim["pulse_width_s"], "limits.pulse_width_s", src),
        delay_s=_pair(lim["delay_s"], "limits.delay_s", src),
        retrigger_step_s=_num(lim["retrigger_step_s"], "limits.retrigger_step_s", src),
        retrigger_max_s=_num(lim["retrigger_max_s"], "limits.retrigger_max_s", src),
        overdrive=tuple(rows),
        wavelength_nm=_num(eye["wavelength_nm"], "eye_safety.wavelength_nm", src),
        eye_distance_m=_num(eye["nearest_eye_distance_m"],
                            "eye_safety.nearest_eye_distance_m", src),
        irradiance_w_m2=_num(eye["irradiance_w_m2"], "eye_safety.irradiance_w_m2", src),
        source=ill.get("source", ""),
    )


# ---------------------------------------------------------------------------------------------
# interlock
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PulseSetting:
    """A pulse-mode setting as the controller will hold it (after wire quantisation)."""

    width_s: float
    brightness: float  # 1.0 = 100 % of the lamp's rated current
    min_period_s: float  # the controller refuses triggers closer than this (s)
    delay_s: float = 0.0

    @property
    def duty(self) -> float:
        return self.width_s / self.min_period_s


class EyeSafetyInterlock:
    """Refuses (LimitError) any setting beyond the overdrive table or the IEC 62471 IR limit."""

    def __init__(self, profile: IlluminatorProfile) -> None:
        self.profile = profile

    def irradiance(self, brightness: float) -> float:
        """Irradiance at the nearest reachable eye position (W/m²) at ``brightness``."""
        return self.profile.irradiance_w_m2 * brightness

    def _row(self, brightness: float) -> OverdriveRow:
        if not (math.isfinite(brightness) and brightness >= 0):
            raise LimitError("brightness must be a finite fraction >= 0",
                             device=self.profile.name, feature="brightness")
        for row in self.profile.overdrive:
            if brightness <= row.max_brightness:
                return row
        raise LimitError("brightness beyond the controller's overdrive table",
                         device=self.profile.name, feature="brightness",
                         allowed=(0.0, self.profile.max_brightness))

    def check_pulse(self, s: PulseSetting) -> None:
        """Raise LimitError unless a pulse train of ``s`` is within both limits."""
        name = self.profile.name
        lo, hi = self.profile.pulse_width_s
        if not (math.isfinite(s.width_s) and lo <= s.width_s <= hi):
            raise LimitError("pulse width outside the controller's range", device=name,
                             feature="pulse_width_s", allowed=(lo, hi))
        if not (math.isfinite(s.min_period_s) and s.min_period_s > 0):
            raise LimitError("the pulse period must be > 0 s", device=name,
                             feature="max_rate_hz")
        row = self._row(s.brightness)
        if s.width_s > row.max_pulse_width_s:
            raise LimitError(f"overdrive table: at brightness {s.brightness:.2f} pulses may be at "
                             f"most {row.max_pulse_width_s:g} s", device=name,
                             feature="pulse_width_s", allowed=(lo, row.max_pulse_width_s))
        d = s.duty
        if d > row.max_duty:
            raise LimitError(f"overdrive table: duty {d:.4f} exceeds {row.max_duty:g} at "
                             f"brightness {s.brightness:.2f}", device=name, feature="duty",
                             allowed=(0.0, row.max_duty))
        e = self.irradiance(s.brightness)
        w = s.width_s
        h_pulse = e * w * (1 + d)
        h_pulse_max = IEC_IR_SHORT_COEFF * w**0.25
        if h_pulse > h_pulse_max:
            raise LimitError(
                f"IEC 62471 IR limit: {h_pulse:.4g} J/m² in {w:g} s at the eye "
                f"({self.profile.eye_distance_m:g} m) exceeds {h_pulse_max:.4g} J/m²",
                device=name, feature="irradiance", allowed=h_pulse_max)
        t = IEC_IR_SHORT_MAX_T
        h_long = e * (d * t + w)
        if h_long > IEC_IR_LONG * t:
            raise LimitError(
                f"IEC 62471 IR limit: mean irradiance {h_long / t:.4g} W/m² at the eye "
                f"({self.profile.eye_distance_m:g} m) exceeds {IEC_IR_LONG:g} W/m²",
                device=name, feature="irradiance", allowed=IEC_IR_LONG)

    def check_continuous(self, brightness: float) -> None:
        """Raise LimitError unless steady light at ``brightness`` is within both limits."""
        row = self._row(brightness)
        if brightness == 0:
            return  # dark
        if row.max_duty < 1.0:
            raise LimitError("overdrive table: continuous light needs a 100 % duty row",
                             device=self.profile.name, feature="brightness",
                             allowed=(0.0, self.profile.overdrive[0].max_brightness))
        e = self.irradiance(brightness)
        if e > IEC_IR_LONG:
            raise LimitError(
                f"IEC 62471 IR limit: {e:.4g} W/m² steady at the eye exceeds {IEC_IR_LONG:g}",
                device=self.profile.name, feature="irradiance", allowed=IEC_IR_LONG)


# ---------------------------------------------------------------------------------------------
# illuminator base
# ---------------------------------------------------------------------------------------------
class StrobeCamera(Protocol):
    """The camera methods camera-strobe mode needs (lanecam.devices.camera.Camera has them)."""

    def configure(self, settings: Mapping[str, Any]) -> None: ...


class Illuminator(ABC):
    """Policy layer: interlock, off-by-default, fault handling.  Drivers implement ``_do_*``.

    ``state`` is ``"off"``, ``"pulse"``, ``"continuous"``, ``"switched"`` or ``"faulted"``.
    """

    def __init__(self, link: SerialLink, profile: IlluminatorProfile, *,
                 channels: Sequence[int] = (1,), clock: Clock = MONOTONIC,
                 name: str | None = None) -> None:
        if not channels or any(not 1 <= c <= profile.channels for c in channels):
            raise ConfigError("channel outside the controller's outputs", key="channels",
                              allowed=(1, profile.channels))
        self.link = link
        self.profile = profile
        self.channels = tuple(channels)
        self.clock = clock
        self.name = name or profile.name
        self._interlock = EyeSafetyInterlock(profile)
        self.state = "off"
        self.setting: PulseSetting | None = None
        self.faults = 0

    @property
    def interlock(self) -> EyeSafetyInterlock:
        """The interlock (read-only: it is built from the profile and cannot be replaced)."""
        return self._interlock

    def __enter__(self) -> Illuminator:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the link and switch every owned output off before anything else."""
        self.link.open()
        self._guarded(self._do_off)
        self.state = "off"

    def close(self) -> None:
        """Switch off (reconnecting a lost port first), then close the link.  The link is
        closed even if switching off fails; that raises and leaves ``state == "faulted"``."""
        self.setting = None
        try:
            if self.link.is_open or self.link.is_lost:
                self._guarded(self._do_off)
            self.state = "off"
        finally:
            self.link.close()

    def off(self) -> None:
        """Switch every owned output off."""
        self._guarded(self._do_off)
        self.state = "off"
        self.setting = None

    def _fault(self, exc: LanecamError) -> None:
        self.faults += 1
        self.state = "faulted"
        self.setting = None
        log.error("%s: fault (%s); switching off", self.name, exc)
        if not self.link.is_open:
            exc.add_note(f"{self.name} could not be switched off: its port is gone; it is "
                         "switched off first thing when the port returns")
            return
        try:
            self._do_off()
        except LanecamError as off_exc:
            exc.add_note(f"switching {self.name} off after the fault also failed: {off_exc}")

    def _guarded(self, action: Callable[[], Any]) -> Any:
        if self.link.is_lost:
            try:
                self.link.reconnect()
            except LanecamError as exc:
                self._fault(exc)
                raise
            # a power-cycled controller restores its saved (possibly lit) settings
            self.state = "faulted"
            self._guarded_off()
        try:
            return action()
        except LanecamError as exc:
            self._fault(exc)
            raise

    def _guarded_off(self) -> None:
        try:
            self._do_off()
        except LanecamError as exc:
            self._fault(exc)
            raise
        self.state = "off"

    def pulse_setting(self, width_s: float, brightness: float, max_rate_hz: float,
                      delay_s: float | None = None) -> PulseSetting:
        """The setting the controller would hold (quantised), checked by the interlock.

        ``delay_s`` defaults to the controller's shortest trigger delay.
        """
        self._check_rate(max_rate_hz)
        lo, hi = self.profile.delay_s
        if delay_s is None:
            delay_s = lo
        if not math.isfinite(delay_s):
            raise LimitError("trigger delay must be finite", device=self.name, feature="delay_s")
        s = self._quantise(width_s, brightness, 1.0 / max_rate_hz, delay_s)
        if not lo <= s.delay_s <= hi:
            raise LimitError("trigger delay outside the controller's range", device=self.name,
                             feature="delay_s", allowed=(lo, hi))
        self._interlock.check_pulse(s)
        return s

    def _check_rate(self, max_rate_hz: float) -> None:
        if not (math.isfinite(max_rate_hz) and max_rate_hz > 0):
            raise LimitError("max_rate_hz must be > 0", device=self.name, feature="max_rate_hz")

    def set_pulse(self, width_s: float, brightness: float, max_rate_hz: float,
                  delay_s: float | None = None) -> PulseSetting:
        """Pulse ``width_s`` (s) at ``brightness`` (1.0 = 100 %) on each trigger edge,
        ``delay_s`` (s, default the shortest) after it, never more often than ``max_rate_hz``
        (the controller enforces the rate with its retrigger delay).  LimitError if unsafe;
        returns what was set."""
        s = self.pulse_setting(width_s, brightness, max_rate_hz, delay_s)
        self._guarded(lambda: self._do_pulse(s))
        self.state, self.setting = "pulse", s
        return s

    def set_continuous(self, brightness: float) -> None:
        """Steady light at ``brightness`` (≤ 100 %, and ≤ 100 W/m² at the eye)."""
        b = self._quantise_brightness(brightness)
        self._interlock.check_continuous(b)
        self._guarded(lambda: self._do_continuous(b))
        self.state, self.setting = "continuous", None

    def set_switched(self, brightness: float, max_pulse_width_s: float,
                     max_rate_hz: float) -> None:
        """Light while the trigger input is active.  The controller cannot bound the on-time in
        this mode, so the caller declares the worst case it guarantees (e.g. the camera's
        longest exposure and fastest frame rate) and the interlock checks that."""
        self._check_rate(max_rate_hz)
        b = self._quantise_brightness(brightness)
        if b > self.profile.overdrive[0].max_brightness:
            raise LimitError("switched mode cannot overdrive", device=self.name,
                             feature="brightness",
                             allowed=(0.0, self.profile.overdrive[0].max_brightness))
        self._interlock.check_pulse(PulseSetting(max_pulse_width_s, b, 1.0 / max_rate_hz))
        self._guarded(lambda: self._do_switched(b))
        self.state, self.setting = "switched", None

    def strobe_from_camera(self, camera: StrobeCamera, *, pulse_width_s: float,
                           brightness: float, max_rate_hz: float, line: str = "Line2",
                           delay_s: float | None = None) -> PulseSetting:
        """Camera-strobe mode: the camera's ``line`` outputs ExposureActive, wired to this
        controller's trigger input, and each rising edge fires one fixed pulse.

        Pulse mode (not switched) keeps the light's on-time bounded by the controller even if
        the camera's exposure is later lengthened; set the camera's exposure to
        ``pulse_width_s``.  ``delay_s`` defaults to the controller's shortest delay.  The
        interlock is checked before anything is sent to either device.
        """
        s = self.pulse_setting(pulse_width_s, brightness, max_rate_hz, delay_s)
        camera.configure({"line_selector": line, "line_mode": "Output",
                          "line_source": "ExposureActive"})
        self._guarded(lambda: self._do_pulse(s))
        self.state, self.setting = "pulse", s
        return s

    def test_trigger(self) -> None:
        """Fire one pulse now (pulse mode only)."""
        if self.state != "pulse":
            raise DeviceError("test trigger needs pulse mode", device=self.name,
                              feature="test_trigger")
        self._guarded(self._do_test_trigger)

    def read_error(self) -> int:
        """Read and clear the controller's last error/event code (0 = none).

        A non-zero code is a fault: the outputs are switched off before returning it.
        """
        code = int(self._guarded(self._do_read_error))
        if code:
            exc = DeviceError(f"controller reported event {code}", device=self.name,
                              feature="error")
            self._fault(exc)
        return code

    # -- quantisation and hooks ----------------------------------------------------------------
    @abstractmethod
    def _quantise(self, width_s: float, brightness: float, min_period_s: float,
                  delay_s: float) -> PulseSetting: ...

    @abstractmethod
    def _quantise_brightness(self, brightness: float) -> float: ...

    @abstractmethod
    def _do_off(self) -> None: ...

    @abstractmethod
    def _do_pulse(self, s: PulseSetting) -> None: ...

    @abstractmethod
    def _do_continuous(self, brightness: float) -> None: ...

    @abstractmethod
    def _do_switched(self, brightness: float) -> None: ...

    @abstractmethod
    def _do_test_trigger(self) -> None: ...

    @abstractmethod
    def _do_read_error(self) -> int: ...


# ---------------------------------------------------------------------------------------------
# Gardasoft RT protocol
# ---------------------------------------------------------------------------------------------
#: Error codes of ``Err <n>`` reply lines.  The stored RT manual pages do not list the error
#: line format; these are the codes the lanecam RT fake uses (see fakes/gardasoft.py) and must
#: be confirmed against a real controller.
RT_ERRORS: dict[int, str] = {1: "unknown command", 2: "bad syntax", 3: "value out of range",
                             4: "overdrive limit"}
_ERR = re.compile(r"^Err\s*(\d+)$")
_MAX_REPLY = 256


def parse_rt_reply(raw: bytes, *, device: str | None = None) -> list[str]:
    """Split an RT reply (ending with the ``>`` prompt) into its text lines.

    ProtocolError on a missing prompt, non-ASCII bytes or an over-long reply; DeviceError
    (naming the code) when the controller answered ``Err <n>``.
    """
    if not raw.endswith(b">"):
        raise ProtocolError("reply does not end with the '>' prompt", device=device)
    if len(raw) > _MAX_REPLY:
        raise ProtocolError(f"reply longer than {_MAX_REPLY} bytes", device=device)
    try:
        text = raw[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("non-ASCII bytes in controller reply", device=device) from None
    if any(ord(c) < 32 and c not in "\r\n" for c in text) or ">" in text:
        raise ProtocolError("control characters in controller reply", device=device)
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n") if ln.strip()]
    for ln in lines:
        m = _ERR.match(ln)
        if m:
            code = int(m.group(1))
            raise DeviceError(f"controller error {code} ({RT_ERRORS.get(code, 'unlisted')})",
                              device=device, feature=f"Err {code}")
    return lines


class GardasoftRT(Illuminator):
    """A Gardasoft RT-series (or Gardasoft-based, e.g. Raytec Pulsestar) controller on RS-232.

    Wire format (RT-20 manual pp.56-61): ``RTc,p,d,s[,r]`` pulse (p, d, r in ms; s in %),
    ``RSc,s`` continuous (off = ``RSc,0``), ``RWc,s`` switched, ``TRc`` test trigger, ``GR``
    read-and-clear error, ``VR`` version; commands end with CR and every reply with ``>``.
    Times go out in ms with 1 µs resolution, brightness as a whole percent; the interlock
    checks the quantised values.
    """

    def __init__(self, link: SerialLink, *, profile: str | IlluminatorProfile = "gardasoft-rt",
                 channels: Sequence[int] = (1,), clock: Clock = MONOTONIC,
                 name: str | None = None) -> None:
        prof = profile if isinstance(profile, IlluminatorProfile) else \
            load_illuminator_profile(profile)
        if prof.protocol != "gardasoft-rt":
            raise ConfigError("profile is not for the Gardasoft RT protocol",
                              key="illuminator.protocol", allowed=["gardasoft-rt"])
        super().__init__(link, prof, channels=channels, clock=clock, name=name)

    def identify(self) -> str:
        """The controller's ``VR`` version string."""
        lines = self._guarded(lambda: self._query("VR"))
        if len(lines) != 1:
            raise ProtocolError(f"VR returned {len(lines)} lines", device=self.name,
                                feature="VR")
        return str(lines[0])

    def _query(self, cmd: str) -> list[str]:
        self.link.write(cmd.encode("ascii") + b"\r")
        raw = self.link.read_until(b">")
        return parse_rt_reply(raw, device=self.name)

    def _expect_empty(self, cmd: str) -> None:
        lines = self._query(cmd)
        if lines:
            raise ProtocolError(f"unexpected reply {lines!r} to {cmd}"[:160], device=self.name,
                                feature=cmd)

    @staticmethod
    def _ms(seconds: float) -> str:
        return f"{seconds * 1e3:.3f}".rstrip("0").rstrip(".")

    def _quantise_brightness(self, brightness: float) -> float:
        if not math.isfinite(brightness) or brightness < 0:
            raise LimitError("brightness must be a finite fraction >= 0", device=self.name,
                             feature="brightness")
        pct = round(brightness * 100)
        if abs(pct - brightness * 100) > 1e-6:
            raise LimitError("brightness must be a whole percent (the controller's step)",
                             device=self.name, feature="brightness")
        return pct / 100

    def _quantise(self, width_s: float, brightness: float, min_period_s: float,
                  delay_s: float) -> PulseSetting:
        b = self._quantise_brightness(brightness)
        if not math.isfinite(width_s) or width_s <= 0:
            raise LimitError("pulse width must be > 0 s", device=self.name,
                             feature="pulse_width_s")
        w = round(width_s * 1e6) / 1e6
        d = round(delay_s * 1e6) / 1e6
        step = self.profile.retrigger_step_s
        r = math.ceil(min_period_s / step - 1e-9) * step
        if r > self.profile.retrigger_max_s:
            # the controller cannot hold that long a retrigger delay; enforce its maximum
            # instead, which permits a faster rate, and check the interlock at that rate
            r = math.floor(self.profile.retrigger_max_s / step + 1e-9) * step
        return PulseSetting(w, b, r, d)

    def _do_off(self) -> None:
        self._expect_empty(";".join(f"RS{c},0" for c in self.channels))

    def _do_pulse(self, s: PulseSetting) -> None:
        pct = round(s.brightness * 100)
        for c in self.channels:
            self._expect_empty(f"RT{c},{self._ms(s.width_s)},{self._ms(s.delay_s)},{pct},"
                               f"{self._ms(s.min_period_s)}")

    def _do_continuous(self, brightness: float) -> None:
        for c in self.channels:
            self._expect_empty(f"RS{c},{round(brightness * 100)}")

    def _do_switched(self, brightness: float) -> None:
        for c in self.channels:
            self._expect_empty(f"RW{c},{round(brightness * 100)}")

    def _do_test_trigger(self) -> None:
        for c in self.channels:
            self._expect_empty(f"TR{c}")

    def _do_read_error(self) -> int:
        lines = self._query("GR")
        if len(lines) != 1 or not lines[0].isdigit():
            raise ProtocolError(f"GR returned {lines!r}"[:120], device=self.name, feature="GR")
        return int(lines[0])


_PROTOCOLS: dict[str, type[Illuminator]] = {"gardasoft-rt": GardasoftRT}
