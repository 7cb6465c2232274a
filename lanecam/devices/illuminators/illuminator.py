"""The illuminator base: eye-safety interlock on every setting, off by default, off after faults.

Eye safety is policy, not configuration: every setting an :class:`Illuminator` sends first
passes :class:`~lanecam.devices.illuminators.interlock.EyeSafetyInterlock`, built from the
illuminator's firmware profile, and there is no flag, argument or profile key that turns it
off.  The illuminator is off after construction (no I/O; state ``"off"``), after
:meth:`Illuminator.open` (every owned output is switched off first), after
:meth:`Illuminator.close`, and after any fault (a failed command, a controller error code, a
lost port).  Times are seconds, brightness a fraction (1.0 = 100 %), rates Hz.

The state reported is the controller's, never an assumption: every state-changing command is
preceded by a resynchronisation (drain + recognisable query) and followed by a read-back of the
owned channels (:meth:`Illuminator._do_read_back`); ``state`` and ``readback`` come from that
read-back.  A read-back that differs from the command is a fault (ProtocolError, feature
``"readback"``); after a fault or a reconnect the outputs are switched off and read back off
(:meth:`Illuminator._safe_off`), and when even that cannot be confirmed the state stays
``"faulted"``.
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ...clock import MONOTONIC, Clock
from ...errors import (
    ConfigError,
    DeviceError,
    DeviceTimeoutError,
    LanecamError,
    LimitError,
    ProtocolError,
)
from ..serial_device import SerialDevice
from ..serial_link import SerialLink
from .interlock import EyeSafetyInterlock, PulseSetting
from .profile import IlluminatorProfile

__all__ = ["ChannelReading", "StrobeCamera", "Illuminator", "state_of"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelReading:
    """One output as the controller reports it: mode, brightness (1.0 = 100 %), pulse width,
    trigger delay and retrigger delay (s; 0 outside pulse mode)."""

    mode: str  # continuous | switched | pulse
    brightness: float
    width_s: float = 0.0
    delay_s: float = 0.0
    min_period_s: float = 0.0

    def same_light(self, other: ChannelReading) -> bool:
        """Both dark, or the same mode and parameters (to the wire's 1 µs / 1 % steps)."""
        if self.brightness == 0 and other.brightness == 0:
            return True
        return (self.mode == other.mode and abs(self.brightness - other.brightness) < 0.005
                and abs(self.width_s - other.width_s) < 0.5e-6
                and abs(self.delay_s - other.delay_s) < 0.5e-6
                and abs(self.min_period_s - other.min_period_s) < 0.5e-6)


def state_of(readings: Mapping[int, ChannelReading]) -> str:
    """The illuminator state the readings amount to: ``"off"`` if every output is dark, else
    the lit outputs' mode (``"mixed"`` if they differ)."""
    modes = {r.mode for r in readings.values() if r.brightness > 0}
    if not modes:
        return "off"
    return modes.pop() if len(modes) == 1 else "mixed"


_OFF = ChannelReading("continuous", 0.0)


class StrobeCamera(Protocol):
    """The camera methods camera-strobe mode needs (lanecam.devices.cameras.Camera has them)."""

    def configure(self, settings: Mapping[str, Any]) -> None: ...


class Illuminator(SerialDevice):
    """Policy layer: interlock, off-by-default, fault handling.  Drivers implement ``_do_*``.

    ``state`` is ``"off"``, ``"pulse"``, ``"continuous"``, ``"switched"`` or ``"faulted"``.
    """

    kind: ClassVar[str] = "illuminator"
    synchronises: ClassVar[bool] = True
    closed_state: ClassVar[str] = "off"
    ready_state: ClassVar[str] = "off"

    def __init__(self, link: SerialLink, profile: IlluminatorProfile, *,
                 channels: Sequence[int] = (1,), clock: Clock = MONOTONIC,
                 name: str | None = None) -> None:
        if not channels or any(not 1 <= c <= profile.channels for c in channels):
            raise ConfigError("channel outside the controller's outputs", key="channels",
                              allowed=(1, profile.channels))
        super().__init__(link, clock=clock, name=name or profile.name)
        self.profile = profile
        self.channels = tuple(channels)
        self._interlock = EyeSafetyInterlock(profile)
        self.setting: PulseSetting | None = None
        #: the owned outputs as last read back from the controller
        self.readback: dict[int, ChannelReading] = {}

    @property
    def interlock(self) -> EyeSafetyInterlock:
        """The interlock (read-only: it is built from the profile and cannot be replaced)."""
        return self._interlock

    def off(self) -> None:
        """Switch every owned output off (and read it back off)."""
        self._set(_OFF, self._do_off)

    # -- state from the controller ------------------------------------------------------------
    def _set(self, want: ChannelReading, send: Callable[[], None],
             setting: PulseSetting | None = None) -> None:
        """Resync, ``send``, read back; state and ``readback`` from the read-back (a fault if
        the controller holds anything but ``want``)."""
        def action() -> None:
            send()
            self._read_back()
            bad = {c: r for c, r in self.readback.items() if not r.same_light(want)}
            if bad:
                raise ProtocolError(f"controller holds {bad!r}, not {want!r}"[:200],
                                    device=self.name, feature="readback")

        self._guarded(action, resync=True)
        self.state = state_of(self.readback)
        self.setting = setting if self.state == "pulse" else None

    def _read_back(self) -> None:
        """Read the owned outputs into ``readback``; after a reply that is not the one awaited,
        resynchronise and read again (``resync_attempts`` reads at most; a failed resync or
        the last read's error propagates)."""
        last: LanecamError | None = None
        for _ in range(self.resync_attempts):
            if self.unsynchronised:
                self._resync()
            try:
                self.readback = dict(self._do_read_back())
                return
            except (ProtocolError, DeviceTimeoutError) as exc:
                self._mark_unsynchronised("readback_reply_unexpected", type(exc).__name__)
                last = exc
        assert last is not None
        raise last

    def _safe_off(self, *, off_first: bool = False) -> None:
        """Off, verified by read-back: up to ``resync_attempts`` rounds of resync, off, read
        back (state ``"off"`` on success; ProtocolError, feature ``"readback"``, if it stays
        lit; a failed resync or read-back propagates).  ``off_first``: the first round sends
        off before resynchronising (after power-on: off is never the wrong thing to send, and
        a lit lamp should not wait for a round trip)."""
        for i in range(self.resync_attempts):
            blind = off_first and i == 0
            if not blind:
                self._resync()
            self._do_off()
            if blind:
                self._resync()
            self._read_back()
            if state_of(self.readback) == "off":
                self.state, self.setting = "off", None
                return
            self._count("off_not_confirmed", f"read back lit after off: {self.readback!r}")
        raise ProtocolError("still lit after off", device=self.name, feature="readback")

    # -- lifecycle hooks: off after open, after a reconnect, after a fault, before close ------
    def _on_open(self) -> None:
        """Switch every owned output off, verified, before anything else (a controller restores
        its saved settings at power-on)."""
        self._safe_off(off_first=True)

    def _on_safe_state(self) -> None:
        # a power-cycled controller restores its saved (possibly lit) settings: off, verified,
        # before anything else
        self.state = "faulted"
        self._safe_off(off_first=True)

    def _on_reconnect(self) -> None:
        """Nothing beyond the safe state (the driver re-sends settings only when asked)."""

    def _on_close(self) -> None:
        """Switch off (reconnecting a lost port first); a failure raises and leaves
        ``state == "faulted"`` (the link is closed all the same)."""
        self.setting = None
        if self.link.is_open or self.link.is_lost:
            self._guarded(self._safe_off)

    def _on_fault(self, exc: LanecamError) -> None:
        self.setting = None
        log.info("%s: switching off after the fault", self.name)
        if not self.link.is_open:
            exc.add_note(f"{self.name} could not be switched off: its port is gone; it is "
                         "switched off first thing when the port returns")
            return
        try:
            self._safe_off()
        except LanecamError as off_exc:
            exc.add_note(f"switching {self.name} off after the fault also failed: {off_exc}")
        self.state = "faulted"

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
        self._set(self._pulse_reading(s), lambda: self._do_pulse(s), s)
        return s

    @staticmethod
    def _pulse_reading(s: PulseSetting) -> ChannelReading:
        return ChannelReading("pulse", s.brightness, s.width_s, s.delay_s, s.min_period_s)

    def set_continuous(self, brightness: float) -> None:
        """Steady light at ``brightness`` (≤ 100 %, and ≤ 100 W/m² at the eye)."""
        b = self._quantise_brightness(brightness)
        self._interlock.check_continuous(b)
        self._set(ChannelReading("continuous", b), lambda: self._do_continuous(b))

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
        self._set(ChannelReading("switched", b), lambda: self._do_switched(b))

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
        self._set(self._pulse_reading(s), lambda: self._do_pulse(s), s)
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

    @abstractmethod
    def _do_read_back(self) -> Mapping[int, ChannelReading]:
        """Every owned output as the controller reports it (ProtocolError or
        DeviceTimeoutError if the reply is not recognisably the answer)."""
