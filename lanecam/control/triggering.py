"""Firing a burst plan: the one trigger loop (:func:`paced`, used by the lane's burst engines
and by :func:`issue`), and :func:`issue`, which triggers a camera by software, a hardware line
edge or scheduled GigE Vision action commands."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import MONOTONIC, Clock
from ..errors import ConfigError, LimitError, UnsupportedFeatureError
from .scheduler import BurstPlan
from .tracker import Track

__all__ = ["ActionCommandIssuer", "ActionCommandTrigger", "HardwareLineTrigger", "IssueReport",
           "SoftwareTrigger", "TriggerCamera", "issue", "paced"]

log = logging.getLogger(__name__)

#: Software triggers later than this (s) are logged: past the OS's sleep jitter (~0.1 ms).
SOFTWARE_LATE_WARN_S = 1e-3


def paced(clock: Clock, times_ns: Sequence[int]) -> Iterator[int]:
    """Yield each frame index ``k`` at its planned host time ``times_ns[k]`` (ns), sleeping on
    ``clock`` until then (an overdue frame is yielded at once).  ``times_ns`` is read afresh at
    every step, so the caller may re-plan the frames still to come (a mutable list)."""
    k = 0
    while k < len(times_ns):
        wait = (times_ns[k] - clock.now_ns()) / 1e9
        if wait > 0:
            clock.sleep(wait)
        yield k
        k += 1


class TriggerCamera(Protocol):
    """The camera methods the scheduler uses (``lanecam.devices`` cameras have them)."""

    @property
    def id(self) -> str: ...

    def supports(self, name: str) -> bool: ...

    def configure(self, settings: Any) -> Any: ...

    def arm(self, trigger: Any = None) -> None: ...

    def trigger(self) -> None: ...


class ActionCommandIssuer(Protocol):
    """Sends GigE Vision scheduled action commands; maps host monotonic ns to camera time."""

    def issue_scheduled(self, device_key: int, group_key: int, group_mask: int,
                        host_time_ns: int) -> None: ...


@dataclass(frozen=True)
class SoftwareTrigger:
    """One software trigger per frame, timed on the scheduler's clock."""


@dataclass(frozen=True)
class HardwareLineTrigger:
    """A hardware edge on ``line`` fired when the vehicle front reaches ``edge_range_m``
    (e.g. the loop detector's relay); the camera's trigger delay places the burst, whose
    later frames come at the camera's own burst rate.  The camera's trigger-delay range
    bounds how far up-lane the edge may be."""

    edge_range_m: float
    line: str = "Line1"
    activation: str = "RisingEdge"


@dataclass(frozen=True)
class ActionCommandTrigger:
    """Scheduled GigE Vision action commands, one per frame, at the planned times."""

    issuer: ActionCommandIssuer
    device_key: int
    group_key: int
    group_mask: int
    source: str | None = None  # None: the camera's own action signal (Action1, else ActionN)


@dataclass(frozen=True)
class IssueReport:
    """What :func:`issue` did."""

    method: str
    triggers: int
    max_late_s: float  # worst lateness of a software trigger (0 for hardware/action)
    trigger_delay_s: float | None = None


Method = SoftwareTrigger | HardwareLineTrigger | ActionCommandTrigger


def issue(plan: BurstPlan, camera: TriggerCamera, method: Method, *, clock: Clock = MONOTONIC,
          track: Track | None = None) -> IssueReport:
    """Set the plan's exposure and trigger the camera by ``method``.

    Software triggers block until the last frame time (on ``clock``).  A hardware line needs
    ``track`` to predict when its edge fires.  Action commands need a camera that supports
    them, else UnsupportedFeatureError (the pylon emulator has none)."""
    if isinstance(method, ActionCommandTrigger):
        # check before touching the camera: nothing half-configured on refusal
        if not camera.supports("action_device_key"):
            raise UnsupportedFeatureError(
                f"camera {camera.id} does not support scheduled action commands",
                device=camera.id, feature="action_command")
    camera.configure({"exposure_time": plan.exposure_s})
    if isinstance(method, SoftwareTrigger):
        return _issue_software(plan, camera, clock)
    if isinstance(method, HardwareLineTrigger):
        return _issue_hardware(plan, camera, method, clock, track)
    if isinstance(method, ActionCommandTrigger):
        return _issue_action(plan, camera, method)
    raise TypeError(f"unknown trigger method {type(method).__name__}")


def _trigger_type() -> Any:
    from ..devices.cameras import Trigger  # the camera layer owns the Trigger type

    return Trigger


def _issue_software(plan: BurstPlan, camera: TriggerCamera, clock: Clock) -> IssueReport:
    camera.arm(_trigger_type().software())
    times = plan.frame_times_ns
    late = 0.0
    for k in paced(clock, times):
        late = max(late, (clock.now_ns() - times[k]) / 1e9)
        camera.trigger()
    if late > SOFTWARE_LATE_WARN_S:
        log.warning("track %d: software triggers up to %.1f ms late", plan.track_id, late * 1e3)
    return IssueReport("software", plan.frame_count, late)


def _issue_hardware(plan: BurstPlan, camera: TriggerCamera, method: HardwareLineTrigger,
                    clock: Clock, track: Track | None) -> IssueReport:
    if track is None:
        raise ConfigError("a hardware-line trigger needs the track", key="track")
    if track.predict(clock.now_ns())[0] <= method.edge_range_m:
        raise LimitError("the vehicle has already passed the trigger line",
                         device=camera.id, feature="edge_range_m")
    edge = track.time_at_range(method.edge_range_m)
    if edge is None:
        raise LimitError("vehicle is predicted never to reach the trigger line",
                         device=camera.id, feature="edge_range_m")
    delay = (plan.start_ns - edge) / 1e9
    if delay < 0:
        raise LimitError(
            f"the hardware edge fires {-delay * 1e3:.1f} ms after the burst must start; "
            "move the trigger up-lane", device=camera.id, feature="trigger_delay")
    camera.arm(_trigger_type().hardware(method.line, method.activation,
                                        burst_frames=plan.frame_count, delay_s=delay))
    return IssueReport("hardware", 1, 0.0, delay)


def _issue_action(plan: BurstPlan, camera: TriggerCamera,
                  method: ActionCommandTrigger) -> IssueReport:
    camera.configure({"action_device_key": method.device_key,
                      "action_group_key": method.group_key,
                      "action_group_mask": method.group_mask})
    camera.arm(_trigger_type().action(source=method.source))
    for t in plan.frame_times_ns:
        method.issuer.issue_scheduled(method.device_key, method.group_key, method.group_mask, t)
    return IssueReport("action", plan.frame_count, 0.0)
