"""PTP (IEEE 1588) on GigE cameras: switch it on, wait for the lock, map camera time to the host.

Switching on is the profile's ``ptp_enable`` (``PtpEnable`` on SFNC 2 / ace 2, ``GevIEEE1588``
on Basler classic, FLIR, Hikrobot); Allied Vision has no switch but ``PtpMode`` (Off / Slave /
Master / Auto; avt-gige.toml), set to ``Slave``.  The state is read from the first status node
the camera offers, after executing its data-set latch where it has one (``PtpDataSetLatch``,
``GevIEEE1588DataSetLatch``): ``PtpStatus`` (ace 2, AVT), ``GevIEEE1588StatusLatched`` /
``GevIEEE1588Status`` (FLIR, Basler classic); the IEEE 1588 port states are Initializing,
Faulty, Disabled, Listening, PreMaster, Master, Passive, Uncalibrated, Slave.  Locked means
``Slave`` (and ``PtpServoStatus = Locked`` where the camera has a servo status; Basler ace 2).

Camera → host time: :func:`latch_pair` brackets one ``timestamp_latch`` between two host clock
reads; :func:`fit_clock_map` fits ``camera = a + rate · host`` by least squares over several
pairs (offset and drift), and keeps the realtime−monotonic offset of the host so a camera time
maps to either host clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...clock import Clock
from ...errors import DeviceError, DeviceTimeoutError, LimitError, UnsupportedFeatureError
from .camera import Camera

__all__ = ["ClockMap", "LatchPair", "PtpLockError", "PtpState", "enable_ptp", "fit_clock_map",
           "latch_pair", "measure_clock_map", "ptp_state", "wait_for_ptp_lock"]

_LATCHES = ("PtpDataSetLatch", "GevIEEE1588DataSetLatch")
_STATUS = ("PtpStatus", "GevIEEE1588StatusLatched", "GevIEEE1588Status")
_SERVO = "PtpServoStatus"
_ADVICE = {
    "Listening": "no PTP master heard: is a grandmaster (or another camera as master) on this "
                 "network, and are PTP multicasts (224.0.1.129, UDP 319/320) let through?",
    "Uncalibrated": "a master is heard but the clock has not converged yet: wait longer",
    "Disabled": "PTP is disabled on the camera",
    "Faulty": "the camera reports a PTP fault: power-cycle it and check the switch",
    "Master": "the camera became master: no better clock on the network",
}


class PtpLockError(DeviceTimeoutError):
    """The camera did not reach PTP ``Slave`` (servo locked) within ``waited_s``."""

    def __init__(self, message: str, *, device: str, status: str, servo: str | None,
                 waited_s: float) -> None:
        super().__init__(message, device=device, feature="ptp_status")
        self.status, self.servo, self.waited_s = status, servo, waited_s


@dataclass(frozen=True)
class PtpState:
    status: str
    servo: str | None  # None: the camera has no servo status node

    def locked(self, *, accept_master: bool = False) -> bool:
        ok = ("Slave", "Master") if accept_master else ("Slave",)
        return self.status in ok and self.servo in (None, "Locked")


def enable_ptp(cam: Camera) -> str:
    """Switch PTP on; return the node written."""
    if cam.supports("ptp_enable"):
        cam.configure({"ptp_enable": True})
        fmap = cam.profile.feature("ptp_enable")
        assert fmap is not None  # supports() said the profile maps it
        return fmap.node
    mode = cam._do_node_info("PtpMode")
    if mode is not None and "Slave" in mode.entries:
        if not mode.writable:
            raise DeviceError("PtpMode is not writable now", device=cam.id, feature="PtpMode")
        cam._do_set("PtpMode", "Slave")
        return "PtpMode"
    raise UnsupportedFeatureError(f"{cam.info.vendor} {cam.info.model} has no PTP",
                                  device=cam.id, feature="ptp_enable")


def ptp_state(cam: Camera) -> PtpState:
    """Latch the PTP data set (where the camera has a latch) and read status and servo."""
    for latch in _LATCHES:
        info = cam._do_node_info(latch)
        if info is not None and info.writable:
            cam._do_execute(latch)
            break
    for name in _STATUS:
        info = cam._do_node_info(name)
        if info is not None and info.readable:
            servo = cam._do_node_info(_SERVO)
            return PtpState(str(cam._do_get(name)),
                            str(cam._do_get(_SERVO)) if servo and servo.readable else None)
    raise UnsupportedFeatureError(f"{cam.info.model} reports no PTP status", device=cam.id,
                                  feature="ptp_status", allowed=list(_STATUS))


def wait_for_ptp_lock(cam: Camera, timeout_s: float, *, poll_s: float = 0.25,
                      accept_master: bool = False, clock: Clock | None = None) -> PtpState:
    """Poll :func:`ptp_state` until locked; PtpLockError (status, servo, waited) at the timeout.
    IEEE 1588 takes several announce/sync intervals to lock: allow tens of seconds."""
    clock = clock or cam.clock
    start = clock.now_ns()
    while True:
        state = ptp_state(cam)
        if state.locked(accept_master=accept_master):
            return state
        waited = (clock.now_ns() - start) / 1e9
        if waited >= timeout_s:
            hint = _ADVICE.get(state.status, "")
            servo = f", servo {state.servo}" if state.servo else ""
            raise PtpLockError(f"no PTP lock after {waited:.1f} s: status {state.status}"
                               f"{servo}{'; ' + hint if hint else ''}", device=cam.id,
                               status=state.status, servo=state.servo, waited_s=waited)
        clock.sleep(min(poll_s, timeout_s - waited))


@dataclass(frozen=True)
class LatchPair:
    """One camera timestamp and the host time it was latched at (midpoint of the bracket)."""

    host_ns: int
    camera_ticks: int
    window_ns: int  # host time between the two reads around the latch (uncertainty ×2)


def latch_pair(cam: Camera, clock: Clock | None = None) -> LatchPair:
    """Latch the camera's clock (profile ``timestamp_latch``/``timestamp_value``) between two
    reads of the host ``clock``."""
    clock = clock or cam.clock
    before = clock.now_ns()
    cam.execute("timestamp_latch")
    after = clock.now_ns()
    return LatchPair((before + after) // 2, int(cam.get("timestamp_value")), after - before)


@dataclass(frozen=True)
class ClockMap:
    """``camera_ticks = cam_ref + rate · (host_ns − host_ref) · tick_hz / 1e9``."""

    host_ref_ns: int
    cam_ref_ticks: int
    tick_hz: float
    rate: float  # camera seconds per host second (1 + drift)
    residual_ns: float  # worst fit residual, host ns
    realtime_minus_host_ns: int  # host realtime − host clock, when the map was made

    @property
    def drift_ppm(self) -> float:
        return (self.rate - 1.0) * 1e6

    def to_host_ns(self, camera_ticks: int) -> int:
        cam_s = (camera_ticks - self.cam_ref_ticks) / self.tick_hz
        return self.host_ref_ns + round(cam_s / self.rate * 1e9)

    def to_realtime_ns(self, camera_ticks: int) -> int:
        return self.to_host_ns(camera_ticks) + self.realtime_minus_host_ns

    def to_camera_ticks(self, host_ns: int) -> int:
        return self.cam_ref_ticks + round((host_ns - self.host_ref_ns) * self.rate
                                          * self.tick_hz / 1e9)


def fit_clock_map(pairs: Sequence[LatchPair], tick_hz: float, *,
                  realtime_minus_host_ns: int = 0) -> ClockMap:
    """Offset and drift by least squares (≥ 2 pairs at distinct host times)."""
    if len(pairs) < 2 or len({p.host_ns for p in pairs}) < 2:
        raise LimitError("a clock map needs ≥ 2 latches at distinct host times",
                         feature="timestamp_latch", allowed="≥ 2 pairs")
    h0, c0 = pairs[0].host_ns, pairs[0].camera_ticks
    xs = [(p.host_ns - h0) / 1e9 for p in pairs]  # host s
    ys = [(p.camera_ticks - c0) / tick_hz for p in pairs]  # camera s
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    rate = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / \
        sum((x - mx) ** 2 for x in xs)
    cam_at_h0 = my - rate * mx  # camera s at host h0
    residual = max(abs(y - (cam_at_h0 + rate * x)) for x, y in zip(xs, ys, strict=True))
    return ClockMap(h0, c0 + round(cam_at_h0 * tick_hz), float(tick_hz), rate,
                    residual / rate * 1e9, realtime_minus_host_ns)


def measure_clock_map(cam: Camera, *, latches: int = 8, interval_s: float = 0.05,
                      tick_hz: float | None = None, clock: Clock | None = None,
                      realtime: Callable[[], int] = time.time_ns) -> ClockMap:
    """Latch ``latches`` times, ``interval_s`` apart, and fit.  ``tick_hz``: the camera's
    ``GevTimestampTickFrequency`` when not given (none and no node: UnsupportedFeatureError)."""
    clock = clock or cam.clock
    if tick_hz is None:
        info = cam._do_node_info("GevTimestampTickFrequency")
        if info is None or not info.readable:
            raise UnsupportedFeatureError("no GevTimestampTickFrequency: pass tick_hz",
                                          device=cam.id, feature="GevTimestampTickFrequency")
        tick_hz = float(cam._do_get("GevTimestampTickFrequency"))
    if tick_hz <= 0:
        raise LimitError(f"timestamp tick frequency {tick_hz} Hz", device=cam.id,
                         feature="GevTimestampTickFrequency", allowed="> 0")
    pairs = []
    for k in range(latches):
        if k:
            clock.sleep(interval_s)
        pairs.append(latch_pair(cam, clock))
    offset = realtime() - clock.now_ns()
    return fit_clock_map(pairs, tick_hz, realtime_minus_host_ns=offset)
