"""Gardasoft RT-series (and Gardasoft-based) LED controller driver on RS-232.

Times are seconds and brightness a fraction (1.0 = 100 %) at the API; the wire carries ms with
1 µs resolution and whole percent.  Every setting passes the eye-safety interlock first
(:mod:`lanecam.devices.illuminators.interlock`, enforced by the
:class:`~lanecam.devices.illuminators.illuminator.Illuminator` base).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ...clock import MONOTONIC, Clock
from ...errors import ConfigError, DeviceError, LimitError, ProtocolError
from ..serial_link import SerialLink
from .illuminator import Illuminator
from .interlock import PulseSetting
from .profile import IlluminatorProfile, load_illuminator_profile

__all__ = ["GardasoftRT", "parse_rt_reply", "RT_ERRORS"]


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
