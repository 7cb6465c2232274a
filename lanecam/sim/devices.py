"""Simulated trigger sensors and illuminator: the serial firmware fakes, fed by the world.

The radar (OmniPreSense OPS243), the lidar (Benewake TF series) and the NIR strobe controller
(Gardasoft RT) are the firmware fakes of :mod:`lanecam.devices.fakes`, each on a real
pseudo-terminal, so the production drivers (:mod:`lanecam.devices.sensors`,
:mod:`lanecam.devices.illuminators`) open ``devices.ports[...]`` and run unchanged.  The fakes
ask the world for their target whenever they report: the nearest vehicle ahead of the sensor
(the radar: the two nearest, the farther at a reduced magnitude — it reports several objects)
at world time ``(clock ns − epoch_ns)/1e9`` — the same time base as
:class:`~lanecam.sim.camera.SimCamera`, so give both the same clock and ``epoch_ns``.

The loop detector is a digital input, not a serial device (a pty cannot drive modem lines):
:attr:`SimDevices.loop` is a :class:`~lanecam.devices.sensors.CallableLineSource` that is true
while a vehicle is over the loop, for :class:`~lanecam.devices.sensors.LoopDetector`.

The strobe: :meth:`SimDevices.strobe_source` gives a SimCamera ``illumination_source``.  When the
camera's output line is set to ExposureActive (what ``GardasoftRT.strobe_from_camera`` does),
each exposure fires the controller's trigger input; the light in the frame is then whatever
the controller really emits — its mode, pulse width, delay and brightness as the driver set
them, its duty-cycle limit, its fault state — through the world's lamps (brightness
1.0 = 100 % = their rated intensity).

The analyzer rotators (optional, one per camera): :meth:`SimDevices.polarizer_source` gives a
SimCamera ``polarizer_source``; each frame is rendered through the analyzer angle the Elliptec
fake physically had at the exposure's start, so a frame exposed mid-move sees the intermediate
angle, and a jammed or unplugged mount leaves the analyzer where it stopped.

``inline=True`` serves the fakes without ptys or threads, to
:class:`~lanecam.devices.fakes.inline.InlinePort` s (:meth:`SimDevices.port_factory`) that
run them inside the drivers' reads on the shared clock — the deterministic simulated-time
mode of :func:`~lanecam.sim.lane.run_sim_lane`.

Fault knobs are the fakes' own: ``radar.silent`` / ``lidar.silent`` (sensor dropouts),
``radar.inject(b"...")`` / ``lidar.corrupt_next`` / ``lidar.truncate_next`` (garbage bytes),
``illuminator.inject_fault()`` / ``illuminator.mute`` (illuminator faults),
``rotators[cam].jam`` / ``.mute`` / ``.inject(b"...")`` (rotator faults), ``unplug()`` /
``replug()`` on any of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any
from dataclasses import dataclass

import numpy as np

from ..clock import MONOTONIC, Clock
from ..devices.fakes import BenewakeFake, GardasoftRTFake, LidarTarget, OPS243Fake, RadarTarget
from ..devices.fakes import ElliptecFake
from ..devices.fakes.inline import InlinePort
from ..errors import ConfigError
from ..devices.sensors import CallableLineSource
from ..frames import IlluminationState
from .camera import SimCamera
from .world import World

__all__ = ["RADAR_SHADOWED_MAGNITUDE", "RadarAim", "SensorLatency", "SensorMount", "SimDevices"]

#: Share of its unshadowed radar return a vehicle keeps behind a nearer one (ASSUMED).
RADAR_SHADOWED_MAGNITUDE = 0.3


@dataclass(frozen=True)
class SensorLatency:
    """How late each sensor's reading is (s): a reading that arrives at world time t
    describes the world at t − latency − jitter (jitter uniform in ±``jitter_s``, drawn per
    reading from ``seed``).  Real sensors average over their measurement window and queue
    the result; the loop detector's card filters the inductance change before switching."""

    radar_s: float = 0.0
    lidar_s: float = 0.0
    loop_s: float = 0.0
    jitter_s: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class RadarAim:
    """How the radar really looks at the traffic (ASSUMED far field: one angle for the whole
    approach): its beam at ``angle_deg`` to the lane axis, so it sees the line-of-sight
    component ``v·cos(angle)`` of a vehicle's speed and its range along the beam changes at
    that rate (reported as ``range·cos(angle)``); its Doppler speeds come out ``speed_scale``
    times too large (an oscillator off its nominal frequency)."""

    angle_deg: float = 0.0
    speed_scale: float = 1.0


@dataclass(frozen=True)
class SensorMount:
    """A sensor at lane station ``station_m`` (z, m) looking down the lane (+z) over
    ``max_range_m`` (ASSUMED field of view: the lane, nothing beside it)."""

    station_m: float = 0.0
    max_range_m: float = 60.0


class SimDevices:
    """Radar, lidar and strobe-controller fakes on ptys plus a loop input, fed by ``world``.

    ``with SimDevices(world, clock=clock, epoch_ns=0) as dev:`` starts the fakes;
    ``dev.ports`` maps ``"radar"``, ``"lidar"``, ``"illuminator"`` to the pty paths.
    ``loop_station_m``/``loop_length_m`` place the inductive loop (m along the lane).
    ``rotators=("cam0",)`` adds a Thorlabs Elliptec rotation mount fake per named camera
    (``dev.rotators["cam0"]``, port ``"rotator:cam0"``); :meth:`polarizer_source` feeds its
    physical angle to a SimCamera with a rotatable polarizer.
    """

    def __init__(self, world: World, *, clock: Clock = MONOTONIC, epoch_ns: int = 0,
                 radar_model: str = "OPS243-C", radar: SensorMount = SensorMount(),
                 lidar_model: str = "TF02-Pro", lidar: SensorMount = SensorMount(0.0, 40.0),
                 illuminator_channels: int = 2, loop_station_m: float = 8.0,
                 loop_length_m: float = 2.0, rotators: Sequence[str] = (),
                 latency: SensorLatency | None = None, radar_aim: RadarAim = RadarAim(),
                 inline: bool = False) -> None:
        self.world = world
        self.inline = inline
        self.radar_aim = radar_aim
        #: report latency and jitter of the radar, lidar and loop (none by default)
        self.latency = latency or SensorLatency()
        self._jitter = np.random.default_rng(self.latency.seed)
        self.clock = clock
        self.epoch_ns = int(epoch_ns)
        self.radar_mount, self.lidar_mount = radar, lidar
        self.loop_station_m, self.loop_length_m = loop_station_m, loop_length_m
        self.radar = OPS243Fake(radar_model, target=self._radar_target, clock=clock)
        self.lidar = BenewakeFake(lidar_model, target=self._lidar_target, clock=clock)
        self.illuminator = GardasoftRTFake(illuminator_channels, clock=clock)
        self.loop = CallableLineSource(self._loop_occupied)
        cams = [c.name for c in world.cameras]
        for cam in rotators:
            if cam not in cams:
                raise ConfigError("a rotator needs a camera of the world", key="rotators",
                                  allowed=cams)
        #: camera name → the Elliptec rotation mount turning its analyzer
        self.rotators: dict[str, ElliptecFake] = {
            cam: ElliptecFake(clock=clock, name=f"rotator-{cam}") for cam in rotators}

    # ------------------------------------------------------------------ lifecycle
    @property
    def ports(self) -> dict[str, str]:
        return {"radar": self.radar.port, "lidar": self.lidar.port,
                "illuminator": self.illuminator.port,
                **{f"rotator:{cam}": fake.port for cam, fake in self.rotators.items()}}

    def start(self) -> SimDevices:
        started = []
        try:
            for fake in (self.radar, self.lidar, self.illuminator, *self.rotators.values()):
                if self.inline:
                    fake.start_inline()
                else:
                    fake.start()
                started.append(fake)
        except BaseException:
            for fake in started:
                fake.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every fake; re-raises the first fake thread's failure, if any."""
        errors = []
        for fake in (self.radar, self.lidar, self.illuminator, *self.rotators.values()):
            try:
                fake.stop()
            except RuntimeError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> SimDevices:
        return self.start()

    def port_factory(self, url: str, **settings: Any) -> InlinePort:
        """A SerialLink ``port_factory`` for ``inline`` fakes: the port of the fake at ``url``."""
        for fake in (self.radar, self.lidar, self.illuminator, *self.rotators.values()):
            if fake.port == url:
                return InlinePort(fake, **settings)
        raise ConfigError("no simulated device at that port", key=url,
                          allowed=sorted(self.ports.values()))

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ world → sensors
    def world_time(self) -> float:
        return (self.clock.now_ns() - self.epoch_ns) / 1e9

    def _seen_at(self, latency_s: float) -> float:
        """The world time a reading made now describes: ``latency_s`` ago, plus jitter
        (uniform in ±``jitter_s``)."""
        j = self.latency.jitter_s
        return self.world_time() - latency_s - (float(self._jitter.uniform(-j, j)) if j else 0.0)

    def _radar_target(self) -> list[RadarTarget]:
        """The two nearest vehicles in range; the fake reports as many as its ``On`` setting.

        ASSUMED (no multipath or body model): the radar's beam reaches a vehicle whose line of
        sight the nearer one partly blocks — over its roof, past its sides — at a reduced
        magnitude (:data:`RADAR_SHADOWED_MAGNITUDE` of the unshadowed 1/range² return), so it
        reports second; a third vehicle is wholly shadowed.
        """
        hits = self.world.vehicles_ahead(self._seen_at(self.latency.radar_s),
                                         self.radar_mount.station_m)
        out = []
        for k, (_, dist, speed) in enumerate(hits[:2]):
            if dist > self.radar_mount.max_range_m:
                break
            mag = 1e4 / max(dist, 0.5) ** 2 * (RADAR_SHADOWED_MAGNITUDE if k else 1.0)
            cos = math.cos(math.radians(self.radar_aim.angle_deg))
            out.append(RadarTarget(speed * cos * self.radar_aim.speed_scale, dist * cos,
                                   magnitude=mag))
        return out

    def _lidar_target(self) -> LidarTarget | None:
        hit = self.world.vehicle_ahead(self._seen_at(self.latency.lidar_s),
                                       self.lidar_mount.station_m)
        if hit is None or hit[1] > self.lidar_mount.max_range_m:
            return None
        return LidarTarget(hit[1], 1500)

    def _loop_occupied(self) -> bool:
        t = self._seen_at(self.latency.loop_s)
        lo, hi = self.loop_station_m, self.loop_station_m + self.loop_length_m
        for v in self.world.vehicles:
            front = v.kinematics.range_at(t)
            if front < hi and front + v.vclass.length_m > lo:
                return True
        return False

    # ------------------------------------------------------------------ strobe
    def strobe_source(self, camera: SimCamera, channel: int = 1, line: str = "Line2", *,
                      latency_s: float = 0.0) -> Callable[[int, int], IlluminationState]:
        """An ``illumination_source`` for ``camera``: the controller's light during each
        exposure, its trigger input wired to the camera's ``line``.  ``latency_s``: the pulse
        starts this long after the exposure at a controller delay of 0 (negative: before it) —
        the camera output's offset plus the controller's and the lamp's turn-on, what
        ``lanecam calibrate strobe`` measures."""
        fake = self.illuminator
        latency_ns = float(latency_s) * 1e9

        def during(start_ns: int, exposure_ns: int) -> IlluminationState:
            wired = camera.line_output(line) == "ExposureActive"
            st = fake.state.get(channel)
            if st is None or st.brightness <= 0:
                return IlluminationState("off")
            if st.mode == "continuous":
                return IlluminationState("continuous", None, st.brightness / 100.0)
            if not wired:
                return IlluminationState("off")  # nothing triggers the controller
            if st.mode == "switched":  # lit while the input (exposure) is active
                return IlluminationState("continuous", None, st.brightness / 100.0)
            before = len(fake.pulses)
            fake.trigger(channel, at_ns=start_ns)  # the edge came at the exposure's start
            if len(fake.pulses) == before:  # refused: duty-cycle limit or retrigger delay
                return IlluminationState("off")
            p = fake.pulses[-1]
            begin = st.delay_ms * 1e6 + latency_ns
            overlap_ns = min(begin + p.pulse_ms * 1e6, exposure_ns) - max(begin, 0.0)
            if overlap_ns <= 0:
                return IlluminationState("off")
            return IlluminationState("strobe", overlap_ns / 1e9, p.brightness / 100.0,
                                     camera.pose.wavelength_m)

        return during

    # ------------------------------------------------------------------ polarizer rotators
    def polarizer_source(self, camera: SimCamera | str, *,
                         offset_deg: float = 0.0) -> Callable[[int], float]:
        """A SimCamera ``polarizer_source`` for ``camera`` (a SimCamera or its pose name): the
        analyzer axis in the image frame at each exposure start = the rotation mount's physical
        angle then (mid-move included) + the mount offset (the same calibration as the
        driver's ``offset_deg``)."""
        name = camera if isinstance(camera, str) else camera.pose.name
        fake = self.rotators.get(name)
        if fake is None:
            raise ConfigError(f"no rotator in front of camera {name!r}", key="rotators",
                              allowed=sorted(self.rotators))
        offset = float(offset_deg)

        def angle(start_ns: int) -> float:
            return fake.angle_at(start_ns) + offset

        return angle
