"""The rotator base: policy layer of a motorized polarizer (analyzer) mount, angles in degrees.

:class:`PolarizerRotator` owns the mount calibration (``offset_deg``: analyzer axis in the
image frame = mechanical angle + offset, counter-clockwise from the image rows like
``camera.polarizer_deg``), the polarizer's 180° periodicity (a move takes the short way modulo
``periodic_deg``), the position check after every move, counters, and fault recovery (the
shared serial lifecycle, :mod:`lanecam.devices.serial_device`).  Drivers implement ``_do_*``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from ...clock import MONOTONIC, Clock
from ...errors import ConfigError, DeviceError, LanecamError, LimitError, ProtocolError
from ..serial_device import SerialDevice
from ..serial_link import SerialLink
from .profile import RotatorProfile

__all__ = ["RotatorCounters", "PolarizerRotator", "wrap_deg", "short_deg"]


@dataclass
class RotatorCounters:
    """What a rotator did since construction."""

    moves: int = 0  # completed, verified moves (a move of less than one step counts too)
    homes: int = 0
    faults: int = 0  # failed operations (each raised a typed error)
    reconnects: int = 0  # lost ports recovered (the device re-identified)


def wrap_deg(x: float, period: float) -> float:
    """``x`` modulo ``period`` in [0, period)."""
    r = math.fmod(x, period)
    if r < 0:
        r += period
    return 0.0 if r >= period else r


def short_deg(delta: float, period: float) -> float:
    """The equivalent of ``delta`` modulo ``period`` in [-period/2, period/2)."""
    return wrap_deg(delta + period / 2, period) - period / 2


class PolarizerRotator(SerialDevice):
    """Policy layer of a motorized analyzer mount.  Drivers implement the ``_do_*`` hooks.

    Args:
        link: the serial link (composition; the constructor does no I/O).
        profile: the rotator model (scale, speed, tolerances).
        offset_deg: mount calibration; analyzer axis in the image frame = mechanical + offset.
        periodic_deg: a polarizer is 180°-periodic: moves take the short way modulo this, and
            angles are reported in [0, periodic_deg).  ``None``: absolute mechanical moves
            (targets must then lie within the travel) and angles in [0, 360).
        clock: waits (the command gap) and timings.

    ``state`` is ``"closed"``, ``"ready"`` or ``"faulted"`` (the last operation failed; the
    position is re-read before the next move).  Positions come from the device (its reply at
    the end of a move, or a read): input pending before a move is discarded (counted as
    ``stale_input_discarded``), a fault leaves the link unsynchronised until the driver's
    recovery resynchronises it, and after a reconnect the mount is first brought idle (the
    lifecycle's resync) and its position forgotten, so it is re-read before the next move.
    """

    kind: ClassVar[str] = "rotator"
    synchronises: ClassVar[bool] = True

    def __init__(self, link: SerialLink, profile: RotatorProfile, *, offset_deg: float = 0.0,
                 periodic_deg: float | None = 180.0, clock: Clock = MONOTONIC,
                 name: str | None = None) -> None:
        if isinstance(offset_deg, bool) or not math.isfinite(offset_deg):
            raise ConfigError("offset_deg must be a finite angle", key="offset_deg")
        if periodic_deg is not None:
            ok = math.isfinite(periodic_deg) and 0 < periodic_deg <= profile.travel_deg
            turns = profile.travel_deg / periodic_deg if ok else 0.0
            if not ok or abs(turns - round(turns)) > 1e-9 or profile.travel_deg != 360:
                raise ConfigError("periodic_deg must divide a full-turn rotator's 360°",
                                  key="periodic_deg", allowed=[90.0, 180.0, 360.0, None])
        super().__init__(link, clock=clock, name=name or profile.name)
        self.profile = profile
        self.offset_deg = float(offset_deg)
        self.periodic_deg = None if periodic_deg is None else float(periodic_deg)
        self.counters = RotatorCounters()
        self._mech: float | None = None  # last position the device reported (deg), if trusted

    # -- lifecycle hooks -----------------------------------------------------------------------
    def _on_open(self) -> None:
        """Identify the device (its scale must match the profile)."""
        self._do_open()

    def _on_safe_state(self) -> None:
        """The mount may have been turned, replaced or power-cycled: forget its position and
        bring it idle (drain + status query) before anything else."""
        self._mech = None
        self._resync()

    def _on_reconnect(self) -> None:
        self._do_open()  # it may be another unit, or have been power-cycled
        self.counters.reconnects += 1

    def _drop_pending(self) -> None:
        """Discard input that arrived unasked (a late or duplicated reply) before a move, so
        the move's own reply is the one read."""
        n = self.link.drain()
        if n:
            self._count("stale_input_discarded", f"{n} B before a move")

    def _on_close(self) -> None:
        """The mount stays where it is; its position is re-read after the next open."""
        self._mech = None

    # -- conversions ---------------------------------------------------------------------------
    @property
    def step_deg(self) -> float:
        """The smallest move (deg)."""
        return self._step_deg()

    def to_image(self, mechanical_deg: float) -> float:
        """Analyzer axis in the image frame (deg) for a mechanical angle."""
        return wrap_deg(mechanical_deg + self.offset_deg, self.periodic_deg or 360.0)

    def to_mechanical(self, angle_deg: float) -> float:
        """Mechanical angle in [0, 360) for an image-frame analyzer angle."""
        return wrap_deg(angle_deg - self.offset_deg, 360.0)

    def _check_angle(self, angle_deg: float, what: str = "angle_deg") -> float:
        if isinstance(angle_deg, bool) or not isinstance(angle_deg, (int, float)) \
                or not math.isfinite(angle_deg):
            raise LimitError("an angle must be a finite number of degrees", device=self.name,
                             feature=what)
        return float(angle_deg)

    def _distance(self, from_deg: float, to_deg: float) -> float:
        """How far (deg) the mount turns to go from one image-frame angle to another."""
        if self.periodic_deg is not None:
            return abs(short_deg(to_deg - from_deg, self.periodic_deg))
        return abs(self.to_mechanical(to_deg) - self.to_mechanical(from_deg))

    def move_time_s(self, from_deg: float, to_deg: float) -> float:
        """Estimated time (s) of a move between two image-frame angles: distance (the short way
        when periodic) at the profile's speed, plus its settle time."""
        a = self._check_angle(from_deg, "from_deg")
        b = self._check_angle(to_deg, "to_deg")
        return self._distance(a, b) / self.profile.speed_deg_s + self.profile.settle_s

    def _move_budget_s(self, distance_deg: float) -> float:
        """Default time to wait for a move's completion: 1.5× the estimate, at least the
        firmware's stall time-out (so a jam is reported by the device, not by our timeout),
        plus the link's reply timeout."""
        est = distance_deg / self.profile.speed_deg_s + self.profile.settle_s
        return max(1.5 * est, self.profile.motor_timeout_s) + self.link.timeout

    # -- public operations ---------------------------------------------------------------------
    def identify(self) -> str:
        """The device's identity string."""
        return str(self._guarded(self._do_identify))

    def angle_deg(self) -> float:
        """Read the position; the analyzer axis in the image frame (deg)."""
        mech = self._guarded(self._read)
        return self.to_image(mech)

    def busy(self) -> bool:
        """True while the device reports a move in progress."""
        return bool(self._guarded(self._do_busy))

    def home(self, direction: str = "cw", timeout_s: float | None = None) -> float:
        """Run the mount's homing sequence; returns the image-frame angle it reports after."""
        if direction not in ("cw", "ccw"):
            raise ConfigError("home direction", key="direction", allowed=["cw", "ccw"])
        budget = self._timeout(timeout_s, self.profile.travel_deg)

        def action() -> float:
            self._drop_pending()
            mech = self._do_home(direction, budget)
            self._mech = mech
            return mech

        mech = self._guarded(action)
        self.counters.homes += 1
        self.state = "ready"
        return self.to_image(mech)

    def move_to(self, angle_deg: float, timeout_s: float | None = None) -> float:
        """Turn the analyzer to ``angle_deg`` (image frame, deg) and wait until the move ends.

        Periodic: the short way modulo ``periodic_deg``.  Returns the image-frame angle the
        device reports after the move, in [0, periodic_deg).  DeviceError if the reported
        position is off the target by more than the profile's tolerance; DeviceTimeoutError if
        no completion within ``timeout_s`` (default: from the estimated move time).  The start
        position is the one the device last reported (re-read after open, a fault or a
        reconnect): another controller turning the mount in between is not noticed.
        """
        target = self._check_angle(angle_deg)
        if timeout_s is not None and not (math.isfinite(timeout_s) and timeout_s > 0):
            raise LimitError("timeout_s must be > 0", device=self.name, feature="timeout_s")
        mech_target = target - self.offset_deg
        if self.periodic_deg is None and not 0 <= mech_target < self.profile.travel_deg:
            raise LimitError("target outside the mount's travel", device=self.name,
                             feature="angle_deg",
                             allowed=(self.offset_deg, self.offset_deg + self.profile.travel_deg))

        def action() -> float:
            self._drop_pending()
            cur = self._mech if self._mech is not None else self._read()
            if self.periodic_deg is not None:
                delta = short_deg(mech_target - cur, self.periodic_deg)
                if abs(delta) < self.step_deg / 2:
                    return cur
                budget = self._timeout(timeout_s, abs(delta))
                expected = wrap_deg(cur + delta, 360.0)
                self._mech = None  # unknown until the device reports the end of the move
                reached = self._do_move_by(delta, budget)
            else:
                if abs(mech_target - cur) < self.step_deg / 2:
                    return cur
                budget = self._timeout(timeout_s, abs(mech_target - cur))
                expected = mech_target
                self._mech = None
                reached = self._do_move_abs(mech_target, budget)
            off = short_deg(reached - expected, 360.0)
            if abs(off) > self.profile.position_tolerance_deg:
                raise DeviceError(
                    f"move ended at {reached:.3f}° (mechanical), commanded {expected:.3f}°",
                    device=self.name, feature="position",
                    allowed=self.profile.position_tolerance_deg)
            self._mech = reached
            return reached

        mech = self._guarded(action)
        self.counters.moves += 1
        self.state = "ready"
        return self.to_image(mech)

    # -- fault handling ------------------------------------------------------------------------
    def _timeout(self, timeout_s: float | None, distance_deg: float) -> float:
        return self._move_budget_s(distance_deg) if timeout_s is None else float(timeout_s)

    def _read(self) -> float:
        mech = wrap_deg(self._do_read_deg(), 360.0)
        self._mech = mech
        return mech

    def _on_fault(self, exc: LanecamError) -> None:
        self.counters.faults += 1
        self._mech = None
        if isinstance(exc, ProtocolError):
            self.link.counters.protocol_errors += 1
        if not isinstance(exc, DeviceError):
            return  # a configuration mismatch: nothing to resynchronise
        self.unsynchronised = True  # resolved by the recovery, else before the next command
        if not self.link.is_open:
            exc.add_note(f"{self.name}: port gone; the device is re-identified when it returns")
            return
        try:
            self._do_recover(exc)
        except LanecamError as again:
            exc.add_note(f"resynchronising {self.name} after the fault also failed: {again}")
            return
        self.unsynchronised = False

    # -- hooks ---------------------------------------------------------------------------------
    @abstractmethod
    def _step_deg(self) -> float: ...

    @abstractmethod
    def _do_open(self) -> None:
        """Identify the device and check it against the profile (after every (re)connect)."""

    @abstractmethod
    def _do_identify(self) -> str: ...

    @abstractmethod
    def _do_read_deg(self) -> float:
        """The mechanical position (deg)."""

    @abstractmethod
    def _do_busy(self) -> bool: ...

    @abstractmethod
    def _do_home(self, direction: str, timeout_s: float) -> float:
        """Home; return the mechanical position reported at the end (deg)."""

    @abstractmethod
    def _do_move_by(self, delta_deg: float, timeout_s: float) -> float:
        """Relative move; return the mechanical position reported at the end (deg)."""

    @abstractmethod
    def _do_move_abs(self, mechanical_deg: float, timeout_s: float) -> float:
        """Absolute move; return the mechanical position reported at the end (deg)."""

    @abstractmethod
    def _do_recover(self, exc: LanecamError) -> None:
        """Bring the link and device back to a known, idle state after a failed operation."""
