"""Gardasoft RT-series (and Gardasoft-based) LED controller driver on RS-232.

Times are seconds and brightness a fraction (1.0 = 100 %) at the API; the wire carries ms with
1 µs resolution and whole percent.  Every setting passes the eye-safety interlock first
(:mod:`lanecam.devices.illuminators.interlock`, enforced by the
:class:`~lanecam.devices.illuminators.illuminator.Illuminator` base).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from ...clock import MONOTONIC, Clock
from ...errors import ConfigError, DeviceError, DeviceTimeoutError, LimitError, ProtocolError
from ..serial_link import SerialLink
from .illuminator import ChannelReading, Illuminator
from .interlock import PulseSetting
from .profile import IlluminatorProfile, load_illuminator_profile

__all__ = ["GardasoftRT", "parse_rt_reply", "parse_rt_status", "RT_ERRORS"]


#: Error codes of ``Err <n>`` reply lines.  The stored RT manual pages do not list the error
#: line format; these are the codes the lanecam RT fake uses (see fakes/gardasoft.py) and must
#: be confirmed against a real controller.
RT_ERRORS: dict[int, str] = {1: "unknown command", 2: "bad syntax", 3: "value out of range",
                             4: "overdrive limit"}
_ERR = re.compile(r"^Err\s*(\d+)$")
_MAX_REPLY = 256
#: ``ST<c>`` status line: the channel's setting in command syntax (see parse_rt_status)
_STATUS = re.compile(r"^(RS|RW|RT)(\d+),([0-9.,]+)$")
_MODES = {"RS": "continuous", "RW": "switched", "RT": "pulse"}


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


def parse_rt_status(line: str, channel: int, *, device: str | None = None) -> ChannelReading:
    """One ``ST<c>`` status line as a :class:`ChannelReading` (s, brightness fraction).

    The stored RT manuals name ST's fields (IP, FL, CS, RA) but not their layout; lanecam's
    fake answers the channel's setting in command syntax (``RS1,50``, ``RW1,50``,
    ``RT1,0.5,0.25,300,20``: ms and %), to be confirmed against a real controller.
    ProtocolError unless ``line`` is that, for ``channel``.
    """
    m = _STATUS.match(line)
    if m is None or int(m.group(2)) != channel:
        raise ProtocolError(f"not a status line for channel {channel}: {line!r}"[:120],
                            device=device, feature=f"ST{channel}")
    mode = _MODES[m.group(1)]
    try:
        v = [float(x) for x in m.group(3).split(",")]
    except ValueError:
        raise ProtocolError("malformed status values", device=device,
                            feature=f"ST{channel}") from None
    if mode != "pulse":
        if len(v) != 1:
            raise ProtocolError("status: one value expected", device=device,
                                feature=f"ST{channel}")
        return ChannelReading(mode, v[0] / 100)
    if len(v) != 4:
        raise ProtocolError("status: four pulse values expected", device=device,
                            feature=f"ST{channel}")
    p, d, pct, r = v
    return ChannelReading(mode, pct / 100, p / 1e3, d / 1e3, r / 1e3)


class GardasoftRT(Illuminator):
    """A Gardasoft RT-series (or Gardasoft-based, e.g. Raytec Pulsestar) controller on RS-232.

    Wire format (RT-20 manual pp.56-61): ``RTc,p,d,s[,r]`` pulse (p, d, r in ms; s in %),
    ``RSc,s`` continuous (off = ``RSc,0``), ``RWc,s`` switched, ``TRc`` test trigger, ``GR``
    read-and-clear error, ``VR`` version, ``STc`` channel status; commands end with CR and
    every reply with ``>``.  Times go out in ms with 1 µs resolution, brightness as a whole
    percent; the interlock checks the quantised values.

    Each state change on the wire (one channel; ``;`` joins channels)::

        VR\r        -> RT260-20 (HW02) V031\r\n>   resync: the version seen first
        RS1,40\r    -> >                          the command
        ST1\r       -> RS1,40\r\n>                 read-back: the state reported

    preceded, when out of step, by a drain that waits for ``resync_quiet_s`` of silence.
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
        #: the ``VR`` reply the resync expects (learned from the first one)
        self.version: str | None = None

    def identify(self) -> str:
        """The controller's ``VR`` version string."""
        return str(self._guarded(self._version))

    def _version(self) -> str:
        lines = self._query("VR")
        if len(lines) != 1:
            self.unsynchronised = True
            raise ProtocolError(f"VR returned {len(lines)} lines", device=self.name,
                                feature="VR")
        return lines[0]

    def _on_safe_state(self) -> None:
        self.version = None  # it may be another controller: learn its version again
        super()._on_safe_state()

    def _do_sync_query(self) -> None:
        got = self._version()
        if self.version is None:
            self.version = got
        elif got != self.version:
            raise ProtocolError("VR reply is not the controller's version", device=self.name,
                                feature="VR")

    def _query(self, cmd: str) -> list[str]:
        """Send ``cmd`` and parse its reply; a reply that is not a well-formed one (or none
        in time) flags the link unsynchronised before the error propagates (counted where it
        is tolerated, or as the fault)."""
        self.link.write(cmd.encode("ascii") + b"\r")
        try:
            raw = self.link.read_until(b">")
            return parse_rt_reply(raw, device=self.name)
        except (ProtocolError, DeviceTimeoutError):
            self.unsynchronised = True
            raise

    def _expect_empty(self, cmd: str) -> None:
        lines = self._query(cmd)
        if lines:
            self.unsynchronised = True
            raise ProtocolError(f"unexpected reply {lines!r} to {cmd}"[:160], device=self.name,
                                feature=cmd)

    def _command(self, cmd: str) -> None:
        """A state-changing command: a reply that is not the awaited ``>`` is tolerated (the
        link is marked unsynchronised; the read-back that follows decides), a controller
        ``Err`` is not."""
        try:
            self._expect_empty(cmd)
        except (ProtocolError, DeviceTimeoutError) as exc:  # the read-back decides
            self._mark_unsynchronised("command_reply_unexpected",
                                      f"{cmd[:40]}: {type(exc).__name__}")

    def _do_read_back(self) -> Mapping[int, ChannelReading]:
        cmd = ";".join(f"ST{c}" for c in self.channels)
        lines = self._query(cmd)
        if len(lines) != len(self.channels):
            raise ProtocolError(f"{cmd} returned {len(lines)} lines", device=self.name,
                                feature="ST")
        return {c: parse_rt_status(ln, c, device=self.name)
                for c, ln in zip(self.channels, lines, strict=True)}

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
        self._command(";".join(f"RS{c},0" for c in self.channels))

    def _do_pulse(self, s: PulseSetting) -> None:
        pct = round(s.brightness * 100)
        for c in self.channels:
            self._command(f"RT{c},{self._ms(s.width_s)},{self._ms(s.delay_s)},{pct},"
                               f"{self._ms(s.min_period_s)}")

    def _do_continuous(self, brightness: float) -> None:
        for c in self.channels:
            self._command(f"RS{c},{round(brightness * 100)}")

    def _do_switched(self, brightness: float) -> None:
        for c in self.channels:
            self._command(f"RW{c},{round(brightness * 100)}")

    def _do_test_trigger(self) -> None:
        for c in self.channels:
            self._expect_empty(f"TR{c}")

    def _do_read_error(self) -> int:
        lines = self._query("GR")
        if len(lines) != 1 or not lines[0].isdigit():
            self.unsynchronised = True
            raise ProtocolError(f"GR returned {lines!r}"[:120], device=self.name, feature="GR")
        return int(lines[0])
