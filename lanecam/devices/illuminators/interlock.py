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

import math
from dataclasses import dataclass

from ...errors import LimitError
from .profile import IlluminatorProfile, OverdriveRow

__all__ = ["IEC_IR_SHORT_COEFF", "IEC_IR_SHORT_MAX_T", "IEC_IR_LONG", "ir_limit_w_m2",
           "PulseSetting", "EyeSafetyInterlock"]

#: IEC 62471:2006 §4.3.7 cornea/lens IR limit constants.
IEC_IR_SHORT_COEFF = 18000.0  # W/m² · s^0.75, for t <= 1000 s
IEC_IR_SHORT_MAX_T = 1000.0  # s
IEC_IR_LONG = 100.0  # W/m², t > 1000 s


def ir_limit_w_m2(t_s: float) -> float:
    """IEC 62471 cornea/lens IR irradiance limit (W/m²) for an exposure of ``t_s`` seconds."""
    if not t_s > 0:
        raise ValueError("exposure duration must be > 0 s")
    return IEC_IR_SHORT_COEFF * t_s**-0.75 if t_s <= IEC_IR_SHORT_MAX_T else IEC_IR_LONG


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
