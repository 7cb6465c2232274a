"""``lanecam calibrate latency``: each trigger sensor's delay, the camera's trigger delay and the
loop's station, from vehicles driven through the lane with a ChArUco board on the front
bumper (the maths: :mod:`lanecam.calibration.latency_fit`).

While the vehicles pass, the radar and lidar are read through their production drivers and
the loop through its detector, each reading stamped on arrival; the camera is triggered at a
steady rate and its frames, each with the camera's exposure-start timestamp, are collected
afterwards.  With ``--sim`` the devices are the firmware fakes on pseudo-terminals fed by the
simulated world, which delays each sensor's view by an injected latency and jitter
(:class:`lanecam.sim.devices.SensorLatency`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..board_target import BoardSpec
from ..clock import MONOTONIC, Clock, is_cooperative
from ..config import LaneConfig
from ..errors import DeviceTimeoutError
from ..geometry import CameraModel
from .result import Calibration, CalibrationError, Draw

HELP = "sensor latencies, camera trigger delay and loop station from vehicles driven past"


@dataclass
class Session:
    """What a drive-through recorded (host ns throughout)."""

    camera: str
    model: CameraModel
    #: (trigger ns, exposure start ns — None without a camera timestamp, exposure s, image)
    frames: list[tuple[int, int | None, float, np.ndarray]] = field(default_factory=list)
    #: sensor → (arrival ns, range m, speed m/s — NaN when the reading has none)
    readings: dict[str, list[tuple[int, float, float]]] = field(default_factory=dict)
    loop_entries: list[int] = field(default_factory=list)
    loop_exits: list[int] = field(default_factory=list)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", help="the lane camera that films the board (default: first)")
    p.add_argument("--board", default="9x6:0.11:0.08:DICT_5X5_100",
                   help="the ChArUco board on the bumper, about 1 m wide (see calibrate pose "
                        "--board; default %(default)s)")
    p.add_argument("--duration-s", type=float, default=60.0,
                   help="how long to record the drive-throughs (default %(default)s s; --sim: "
                        "the simulated passes)")
    p.add_argument("--rate-hz", type=float, default=10.0,
                   help="camera frames per second while recording (default %(default)s)")
    p.add_argument("--scale", type=float, default=0.5,
                   help="--sim: render at this fraction of the resolution (default %(default)s)")


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    from .pose import parse_board

    spec = parse_board(args.board)
    if args.sim is not None:
        from ..sim.calibration import latency_session

        session, cfg, truth = latency_session(args, spec, sys.modules[__name__])
    else:
        session, cfg = _device_session(args, spec)
        truth = None
    from .latency_report import result

    return result(session, cfg, spec, truth)


# ---------------------------------------------------------------------- recording
def record(camera: Any, sensors: dict[str, Any], loop: Any | None, *, duration_s: float,
           rate_hz: float, clock: Clock = MONOTONIC, session: Session) -> Session:
    """Read ``sensors`` (name → driver with ``read(timeout)``) and poll ``loop`` (a
    :class:`~lanecam.devices.sensors.LoopDetector`) in threads while triggering ``camera``
    (opened) at ``rate_hz`` for ``duration_s``; then collect the frames.  On a simulated clock
    (:class:`~lanecam.clock.SimulatedClock`) the threads and the trigger loop take turns on it,
    so the session is the same on any machine."""
    from ..devices.cameras.types import Trigger

    stop = threading.Event()
    session.readings = {name: [] for name in sensors}
    workers: list[tuple[str, Callable[[], None]]] = [
        (f"latency-{n}", functools.partial(_pump, s, session.readings[n], stop))
        for n, s in sensors.items()]
    if loop is not None:
        workers.append(("latency-loop", functools.partial(_poll_loop, loop, session, stop,
                                                          clock)))
    triggers: list[int] = []
    camera.arm(Trigger.software())
    try:
        drive = functools.partial(_trigger_loop, camera, clock, duration_s, rate_hz, triggers,
                                  stop)
        _run_workers(clock, workers, drive)
        for t in triggers:
            with camera.grab(timeout_s=30.0) as fr:
                session.frames.append((t, fr.meta.device_ns, fr.meta.exposure_s or 0.0,
                                       np.array(fr.array)))
    finally:
        stop.set()
        camera.disarm()
    return session


def _trigger_loop(camera: Any, clock: Clock, duration_s: float, rate_hz: float,
                  triggers: list[int], stop: threading.Event) -> None:
    """Trigger ``camera`` at ``rate_hz`` for ``duration_s`` (s), noting each trigger time;
    then wait 0.2 s for the last readings and stop the readers."""
    try:
        start = clock.now_ns()
        for k in range(int(duration_s * rate_hz)):
            due = start + round(k * 1e9 / rate_hz)
            clock.sleep(max(0.0, (due - clock.now_ns()) / 1e9))
            triggers.append(clock.now_ns())
            camera.trigger()
        clock.sleep(0.2)
    finally:
        stop.set()


def _run_workers(clock: Clock, workers: list[tuple[str, Callable[[], None]]],
                 drive: Callable[[], None]) -> None:
    """Run the readers ``workers`` beside ``drive`` until it returns: on a simulated clock
    all of them as its members, else as threads beside this one."""
    if is_cooperative(clock):
        threads = clock.start_threads([*workers, ("latency-trigger", drive)])  # type: ignore[attr-defined]
        for th in threads:
            th.join(timeout=_SIM_JOIN_S)
        return
    threads = [threading.Thread(target=fn, name=name, daemon=True) for name, fn in workers]
    for th in threads:
        th.start()
    try:
        drive()
    finally:
        for th in threads:
            th.join(timeout=2.0)


#: real seconds a simulated recording may take before its threads are left behind
_SIM_JOIN_S = 600.0


def _pump(sensor: Any, out: list[tuple[int, float, float]], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            r = sensor.read(timeout=0.1)
        except DeviceTimeoutError:
            continue
        if r is None:
            continue
        rng, speed = getattr(r, "range_m", None), getattr(r, "speed_mps", None)
        if rng is not None or speed is not None:
            out.append((r.t_ns, math.nan if rng is None else float(rng),
                        math.nan if speed is None else float(speed)))


#: the loop is polled this often; an edge is seen on average half a period late
LOOP_POLL_S = 0.001


def _poll_loop(loop: Any, session: Session, stop: threading.Event, clock: Clock) -> None:
    while not stop.is_set():
        edge = loop.poll()
        if edge is not None:
            out = session.loop_entries if edge.present else session.loop_exits
            out.append(edge.t_ns - round(LOOP_POLL_S / 2 * 1e9))
        clock.sleep(LOOP_POLL_S)


# ---------------------------------------------------------------------- the real lane
def _device_session(args: argparse.Namespace, spec: BoardSpec) -> tuple[Session, LaneConfig]:
    """The lane config's camera, radar, lidar and loop (real, or emulators and pty fakes)."""
    from ..config import load_lane_config
    from ..lane.connect import HARDWARE

    cfg = load_lane_config(args.lane)
    cams = [c for c in cfg.cameras if args.camera in (None, c.name)]
    if not cams:
        raise CalibrationError("no such camera in the lane config", kind="latency",
                               reason="device_missing", key="--camera")
    ccfg = cams[0]
    n = int(args.duration_s * args.rate_hz) + 4
    with contextlib.ExitStack() as stack:
        sensors, loop = open_sensors(cfg, stack, HARDWARE.serial_link)
        cam = HARDWARE.camera(ccfg, buffer_count=n)
        stack.enter_context(cam.open())
        session = Session(ccfg.name, HARDWARE.camera_model(ccfg, cam))
        record(cam, sensors, loop, duration_s=args.duration_s, rate_hz=args.rate_hz,
               session=session)
    return session, cfg


def open_sensors(cfg: LaneConfig, stack: contextlib.ExitStack, link: Callable[..., Any],
                 loop_source: Any = None, clock: Clock = MONOTONIC
                 ) -> tuple[dict[str, Any], Any]:
    """The radar and lidar of ``cfg`` through their production drivers (opened, closed by
    ``stack``) and the loop's detector (on ``loop_source``, default the configured port's
    modem line) with no debounce, so its edges are the raw switching times."""
    from ..devices.sensors import LoopDetector, ModemLineSource
    from ..lane.builder import _lidar, _radar

    class _Opener:
        serial_link = staticmethod(link)

    sensors: dict[str, Any] = {}
    if cfg.radar is not None:
        sensors["radar"] = _radar(cfg.radar, clock, _Opener())  # type: ignore[arg-type]
    if cfg.lidar is not None:
        sensors["lidar"] = _lidar(cfg.lidar, clock, _Opener())  # type: ignore[arg-type]
    for s in sensors.values():
        s.open()
        stack.callback(s.close)
    loop = None
    if cfg.loop is not None:
        if loop_source is None:
            loop_source = ModemLineSource(link(cfg.loop.url), cfg.loop.line,
                                          active_low=cfg.loop.active_low)
            loop_source.open()
            stack.callback(loop_source.link.close)
        loop = LoopDetector(loop_source, debounce_s=0.0, clock=clock)
    if not sensors and loop is None:
        raise CalibrationError("the lane config has no trigger sensor", kind="latency",
                               reason="device_missing", key="sensors")
    return sensors, loop
