"""The simulated lane for the calibration procedures: the errors it injects, and the frames.

The lane config a procedure starts from says what the installer *believes* (the scenario's
camera); the world holds the truth, offset from it by :data:`POSE_ERROR` and with a real lens
(:func:`true_camera`).  A procedure never reads the truth: it gets frames and device readings
only, and the truth is attached to its result afterwards for the report.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..board_target import BoardSpec, Station
from ..config import (
    CameraConfig,
    LaneConfig,
    LoopSensorConfig,
    RadarConfig,
    SerialDeviceConfig,
)
from .board import Board
from .camera import SimCamera
from .devices import RadarAim, SensorLatency, SimDevices
from .render import Renderer, Shot
from .scenario import Scenario, load_scenario
from .stream import StreamWorld
from .vehicles import Kinematics
from .world import CameraPose, World


class Rig(Protocol):
    """What a recording procedure hands the simulator (``lanecam.calibration.latency``, the
    module itself): its sensors' opener, its session type and its recorder, so that the
    simulator drives them without importing the procedures above it."""

    Session: Callable[..., Any]
    open_sensors: Callable[..., Any]
    record: Callable[..., Any]


__all__ = ["LATENCY_TRUTH", "POSE_ERROR", "RADAR_TRUTH", "drive_session", "drive_through",
           "latency_session", "radar_session",
           "render_board_views", "true_camera"]

#: how far the real camera is from its configured pose (m, deg): 10 cm and 2°
POSE_ERROR = {"height_m": 0.10, "lateral_m": -0.10, "pitch_deg": 2.0, "yaw_deg": -2.0,
              "roll_deg": 2.0}
#: the real lens against the nominal one: focal length (relative), principal point offset
#: (fraction of the sensor), distortion (k1, k2, p1, p2, k3)
LENS_ERROR = {"focal": 0.012, "cx": 0.0075, "cy": -0.006,
              "distortion": (-0.35, 2.0, 0.0, 0.0, 0.0)}


def true_camera(configured: CameraPose) -> CameraPose:
    """The camera as it really is: ``configured`` moved by :data:`POSE_ERROR`, with the lens of
    :data:`LENS_ERROR` (full-resolution pixels)."""
    e, w, h = POSE_ERROR, configured.width_px, configured.height_px
    return replace(configured, height_m=configured.height_m + e["height_m"],
                   lateral_m=configured.lateral_m + e["lateral_m"],
                   pitch_deg=configured.pitch_deg + e["pitch_deg"],
                   yaw_deg=configured.yaw_deg + e["yaw_deg"],
                   roll_deg=configured.roll_deg + e["roll_deg"],
                   focal_m=configured.focal_m * (1 + LENS_ERROR["focal"]),
                   cx_px=(w - 1) / 2 + LENS_ERROR["cx"] * w,
                   cy_px=(h - 1) / 2 + LENS_ERROR["cy"] * h,
                   distortion=tuple(LENS_ERROR["distortion"]))


def render_board_views(sc: Scenario, camera: CameraPose, spec: BoardSpec,
                       stations: Sequence[Station], *, scale: float = 1.0, seed: int = 0,
                       exposure_s: float = 0.0, gain_db: float = 0.0, noise: bool = True
                       ) -> list[NDArray[np.uint8]]:
    """One 8-bit frame of the board at each station, seen by ``camera`` in the scenario's
    light (no traffic: the lane is closed for calibration); ``exposure_s`` 0: exposed so the
    board's white is near 200 DN."""
    world = replace(sc.world, cameras=(camera,), vehicles=(), boards=())
    renderer = Renderer(world, camera.name, scale)
    out = []
    for i, st in enumerate(stations):
        renderer.world = replace(world, boards=(Board(spec, st),))
        shot = Shot(0.0, exposure_s, gain_db, illumination=sc.illumination, seed=seed * 1000 + i,
                    noise=noise)
        if shot.exposure_s <= 0:  # auto, once: the board's white near 200 of 255
            probe, _ = renderer.render(replace(shot, exposure_s=1e-4, noise=False))
            top = float(np.percentile(probe, 99.5))
            exposure_s = min(0.02, 1e-4 * 200 / max(top, 1.0))
            shot = replace(shot, exposure_s=exposure_s)
        img, _ = renderer.render(shot)
        out.append(img)
    return out


# ---------------------------------------------------------------------- latency
#: what the simulated lane's sensors really do: radar 35 ms, lidar 8 ms, loop 20 ms late,
#: each ±0.5 ms jitter
LATENCY_TRUTH = SensorLatency(radar_s=0.035, lidar_s=0.008, loop_s=0.020, jitter_s=0.0005,
                              seed=7)
#: the camera's own trigger-to-exposure delay (s)
CAMERA_TRIGGER_LATENCY_S = 0.0012
#: where the loop really is: its entry edge (m); the lane config believes 10.0 m
LOOP_ENTRY_M, LOOP_LENGTH_M, LOOP_CONFIGURED_M = 9.65, 2.0, 10.0
#: the passes' speeds (m/s): the regression needs more than one
PASS_SPEEDS_MPS = (8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0)


#: how far up the lane (m) the drive-through's queued vehicles are drawn (the sensors see all)
DRIVE_HORIZON_M = 60.0


def drive_through(sc: Scenario, spec: BoardSpec, speeds: Sequence[float] = PASS_SPEEDS_MPS
                  ) -> tuple[World, float]:
    """The scenario's lane with one vehicle per :data:`PASS_SPEEDS_MPS`, each with the board on
    its front bumper, one after the other; and how long (world s) until the last is past."""
    template = replace(sc.world.vehicles[0], occupants=())  # the test car: a driver only
    vehicles, boards, t = [], [], 0.3
    for i, v in enumerate(speeds):
        k = Kinematics(21.0, v, 0.0, t)
        vehicles.append(replace(template, name=f"pass{i}", kinematics=k))
        boards.append(Board(spec, Station(0.6, 1.3, 0.0), f"board{i}", follows=k))
        t += 15.0 / v + 0.25
    # drawn only within DRIVE_HORIZON_M: the queued passes far up the lane are a few pixels
    # near the horizon, and drawing all of them in every frame was a third of the run's time
    base = {f.name: getattr(sc.world, f.name) for f in fields(World)}
    world = StreamWorld(**{**base, "vehicles": tuple(vehicles), "boards": tuple(boards)},
                        horizon_m=DRIVE_HORIZON_M)
    return world, t + 0.2


def latency_session(args: Any, spec: BoardSpec, rig: Rig
                    ) -> tuple[Any, LaneConfig, dict[str, float]]:
    """Drive the passes through the simulated lane and record them with the procedure's
    ``rig`` through the production drivers on the fakes' ptys; returns the session, the lane
    config as the installer wrote it, and the truth."""
    # each speed twice: σ(loop latency) is 0.49 ms with eight passes (bound 0.5 ms; one entry
    # and one exit edge per pass, the loop polled every simulated millisecond), 0.27 ms with 16
    session, cfg = drive_session(args, spec, rig, LATENCY_TRUTH, RadarAim(),
                                 speeds=PASS_SPEEDS_MPS * 2)
    truth = {"radar_latency_s": LATENCY_TRUTH.radar_s, "lidar_latency_s": LATENCY_TRUTH.lidar_s,
             "loop_latency_s": LATENCY_TRUTH.loop_s, "loop_position_m": LOOP_ENTRY_M,
             "camera_trigger_delay_s": CAMERA_TRIGGER_LATENCY_S}
    return session, cfg, truth


#: how the simulated radar really looks at the traffic: 12° off the lane axis, 1.5 % fast
RADAR_TRUTH = RadarAim(angle_deg=12.0, speed_scale=1.015)


def radar_session(args: Any, spec: BoardSpec, rig: Rig
                  ) -> tuple[Any, LaneConfig, dict[str, float]]:
    """The drive-through for ``calibrate radar``: the radar aimed as :data:`RADAR_TRUTH`, the
    sensors' latencies already calibrated (none injected)."""
    # all eight passes: at 12° the angle moves 0.28° per 0.1 % of range rate, and four passes
    # left σ(mount) over the 0.15° bound once in CI, on real time (host timestamps jittered on
    # a busy core; the session now runs on simulated time)
    session, cfg = drive_session(args, spec, rig, SensorLatency(), RADAR_TRUTH)
    return session, cfg, {"mount_deg": RADAR_TRUTH.angle_deg,
                          "speed_scale": RADAR_TRUTH.speed_scale}


def drive_session(args: Any, spec: BoardSpec, rig: Rig, latency: SensorLatency, aim: RadarAim,
                  speeds: Sequence[float] = PASS_SPEEDS_MPS) -> tuple[Any, LaneConfig]:
    """Drive the passes (``speeds``) past the simulated lane's devices and record them, on
    simulated time (:class:`~lanecam.clock.SimulatedClock`: the fakes served inline to the
    production drivers, the recorder's threads taking turns), so a seed gives one result on
    any machine however busy."""
    from ..clock import SimulatedClock
    from ..devices.serial_link import SerialLink

    sc = load_scenario(args.sim)
    world, duration = drive_through(sc, spec, speeds)
    pose = world.camera(args.camera)
    lead_s = 0.4
    clock = SimulatedClock()
    epoch = clock.now_ns() + round(lead_s * 1e9)
    n = int((duration + lead_s) * args.rate_hz) + 4
    with SimDevices(world, clock=clock, epoch_ns=epoch, inline=True,
                    loop_station_m=LOOP_ENTRY_M - LOOP_LENGTH_M, loop_length_m=LOOP_LENGTH_M,
                    latency=latency, radar_aim=aim) as dev, contextlib.ExitStack() as stack:
        cfg = _lane_config(pose, dev)
        link = functools.partial(SerialLink, port_factory=dev.port_factory, clock=clock)
        sensors, loop = rig.open_sensors(cfg, stack, link, loop_source=dev.loop, clock=clock)
        cam = SimCamera(world, pose.name, scale=args.scale, epoch_ns=epoch, background=False,
                        buffer_count=n, seed=args.seed, clock=clock)
        cam.trigger_latency_ns = round(CAMERA_TRIGGER_LATENCY_S * 1e9)
        with cam.open():
            cam.configure({"exposure_time": 6e-4, "gain": 6.0})
            session = rig.record(cam, sensors, loop, duration_s=duration + lead_s,
                                 rate_hz=args.rate_hz, clock=clock,
                                 session=rig.Session(pose.name, cam.pose))
    return session, cfg


def _lane_config(pose: CameraPose, dev: SimDevices) -> LaneConfig:
    cam = CameraConfig(name=pose.name, device="sim", height_m=pose.height_m,
                       lateral_m=pose.lateral_m, pitch_deg=pose.pitch_deg,
                       yaw_deg=pose.yaw_deg, focal_length_m=pose.focal_m,
                       pixel_size_m=pose.pixel_m, f_number=pose.f_number, focus_m=pose.focus_m,
                       width_px=pose.width_px, height_px=pose.height_px)
    return LaneConfig(lane_id="sim", cameras=(cam,),
                      radar=RadarConfig(dev.ports["radar"], "ops243-c"),
                      lidar=SerialDeviceConfig(dev.ports["lidar"], "tf02-pro"),
                      loop=LoopSensorConfig("sim:loop", position_m=LOOP_CONFIGURED_M))
