"""One GigE Vision action command triggers several cameras at once.

An action command is a GVCP broadcast (command 0x0100 ``ACTION_CMD``, UDP port 3956) carrying a
device key, a group key and a group mask; every camera whose ``ActionDeviceKey`` and
``ActionGroupKey`` equal them and whose ``ActionGroupMask`` shares a bit with the mask fires
its ``ActionN`` trigger (docs.baslerweb.com/action-commands).  A scheduled action carries a
64-bit camera time and fires when the camera's clock reaches it (PTP: 1 tick = 1 ns).

:func:`arm_action_group` sets the keys on each camera and arms it for action triggers (all
checked before any camera is touched); :class:`PylonActionIssuer` sends the commands through
pypylon's GigE transport layer (``GigETransportLayer.IssueActionCommandNoWait`` /
``IssueScheduledActionCommandNoWait``, hw_protocols.md §3.2), mapping host time to camera time
with a :class:`~.gige_ptp.ClockMap`.  It implements
:class:`lanecam.control.triggering.ActionCommandIssuer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from ...errors import ConfigError, LimitError, UnsupportedFeatureError
from .camera import Camera
from .gige_ptp import ClockMap
from .types import Trigger

__all__ = ["PylonActionIssuer", "arm_action_group", "check_keys"]

_U32 = 0xFFFF_FFFF


def check_keys(device_key: int, group_key: int, group_mask: int) -> None:
    """Keys are unsigned 32-bit; a zero mask reaches no camera."""
    for name, v in (("device_key", device_key), ("group_key", group_key),
                    ("group_mask", group_mask)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _U32:
            raise LimitError(f"action {name} must be a 32-bit unsigned integer", key=name,
                             allowed="0…0xFFFFFFFF")
    if group_mask == 0:
        raise LimitError("an action group mask of 0 triggers no camera", key="group_mask",
                         allowed="≠ 0")


def arm_action_group(cameras: Sequence[Camera], device_key: int, group_key: int,
                     group_mask: int, *, burst_frames: int = 1) -> None:
    """Give every camera the keys and arm it for action triggers (its own ActionN)."""
    check_keys(device_key, group_key, group_mask)
    lacking = [c.id for c in cameras if not c.supports("action_device_key")]
    if lacking:
        raise UnsupportedFeatureError(f"no action commands on {', '.join(lacking)}",
                                      device=lacking[0], feature="action_command")
    keys = {"action_device_key": device_key, "action_group_key": group_key,
            "action_group_mask": group_mask}
    for cam in cameras:
        _set_keys(cam, keys)
        cam.arm(Trigger.action(burst_frames=burst_frames))


def write_action_keys(cam: Camera, device_key: int, group_key: int, group_mask: int) -> None:
    """Write one camera's action keys (checked first), without arming it: its trigger stays
    what the lane sets.  UnsupportedFeatureError naming the camera when it has no actions."""
    check_keys(device_key, group_key, group_mask)
    if not cam.supports("action_device_key"):
        raise UnsupportedFeatureError(f"no action commands on {cam.id}", device=cam.id,
                                      feature="action_command")
    _set_keys(cam, {"action_device_key": device_key, "action_group_key": group_key,
                    "action_group_mask": group_mask})


def _set_keys(cam: Camera, keys: dict[str, int]) -> None:
    """Write the keys.  FLIR's key nodes are write-only, and :meth:`Camera.configure` reads each
    write back: there the keys are checked against the live limits and written directly (all
    checked first), and :meth:`Camera.reconnect` does not restore them (arm again)."""
    if all(cam._feature(name)[1].readable for name in keys):
        cam.configure(keys)
        return
    checked = [cam._check_value(name, value) for name, value in keys.items()]
    for fmap, raw in checked:
        cam._do_set(fmap.node, raw)


class PylonActionIssuer:
    """Sends action commands with pylon's GigE transport layer to ``broadcast`` (the lane NIC's
    directed broadcast, e.g. ``192.168.10.255``; ``255.255.255.255`` reaches every NIC).

    ``clock_map`` (from :func:`~.gige_ptp.measure_clock_map` on a PTP-locked camera) turns host
    times into camera times for scheduled commands; without it only :meth:`issue_now` works."""

    def __init__(self, broadcast: str = "255.255.255.255", *,
                 clock_map: ClockMap | None = None) -> None:
        self.broadcast = broadcast
        self.clock_map = clock_map
        self._tl: Any = None

    def open(self) -> PylonActionIssuer:
        if self._tl is None:
            from .pylon import pylon_sdk

            pylon, _ = pylon_sdk()
            self._tl = pylon.TlFactory.GetInstance().CreateTl("BaslerGigE")
            if self._tl is None:
                raise ConfigError("pylon has no GigE transport layer", key="BaslerGigE")
        return self

    def close(self) -> None:
        if self._tl is not None:
            from .pylon import pylon_sdk

            pylon, _ = pylon_sdk()
            pylon.TlFactory.GetInstance().ReleaseTl(self._tl)
            self._tl = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sent(self, ok: bool, what: str) -> None:
        if not ok:
            raise ConfigError(f"pylon did not send the {what} to {self.broadcast}",
                              key="broadcast")

    def issue_now(self, device_key: int, group_key: int, group_mask: int) -> None:
        """Fire now: every matching camera triggers on receipt."""
        check_keys(device_key, group_key, group_mask)
        self._sent(self.open()._tl.IssueActionCommandNoWait(
            device_key, group_key, group_mask, self.broadcast), "action command")

    def issue_scheduled(self, device_key: int, group_key: int, group_mask: int,
                        host_time_ns: int) -> None:
        """Fire when the cameras' clocks reach the camera time of ``host_time_ns``."""
        check_keys(device_key, group_key, group_mask)
        if self.clock_map is None:
            raise ConfigError("scheduled action commands need a clock map (PTP-locked camera)",
                              key="clock_map")
        t = self.clock_map.to_camera_ticks(host_time_ns)
        if t < 0:
            raise LimitError("the host time maps before the camera clock's epoch",
                             key="host_time_ns", allowed="a later time")
        self._sent(self.open()._tl.IssueScheduledActionCommandNoWait(
            device_key, group_key, group_mask, t, self.broadcast), "scheduled action command")
