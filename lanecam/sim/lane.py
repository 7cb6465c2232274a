"""A whole lane on the simulator: the production :class:`~lanecam.lane.Lane` over simulated
devices — SimCameras, and the radar/lidar firmware fakes read by the production drivers.

Two time bases (``timing=``):

* ``"simulated"`` (default): a :class:`~lanecam.clock.SimulatedClock` runs the lane's threads
  one at a time and moves only when they wait; the fakes are served inline
  (:class:`~lanecam.devices.fakes.inline.InlinePort`), their bytes parsed by the production
  drivers.  The same scenario gives byte-identical events on any machine, at whatever speed
  the CPU allows; work between two waits takes no simulated time, so decision latencies are
  not measured here.
* ``"real"``: the monotonic clock, the fakes on real ptys with their own threads — for the
  demo and for timing figures.
  The lane is described by a
:class:`~lanecam.config.LaneConfig` (:func:`scenario_lane_config`) and built by the one builder,
:func:`~lanecam.lane.builder.build_lane`, with the simulator's :class:`SimOpener`.

The lane sees only what its devices report.  Ground truth is read here only to *evaluate*
(:func:`evaluate_events`), never to drive the lane.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import cv2

from ..clock import MONOTONIC, Clock, SimulatedClock, is_cooperative
from ..config import (
    CameraConfig,
    CaptureConfig,
    ControlConfig,
    IlluminatorConfig,
    LaneConfig,
    RadarConfig,
    RotatorConfig,
    SerialDeviceConfig,
)
from ..control.polarization import PolarizationController
from ..control.scheduler import CameraTiming, CaptureScheduler
from ..control.tracker import Track
from ..devices.cameras import Camera
from ..devices.serial_link import SerialLink
from ..errors import ConfigError
from ..events import LaneEvent, MemorySink, Sink
from ..geometry import CabinModel, CameraModel
from ..lane import LaneCamera, TravelDocument
from ..lane.builder import PROBE_OFFSETS_DEG, build_lane, camera_scheduler
from ..match.base import Matcher, Template
from ..quality.rank import BurstRanker
from .camera import SimCamera
from .devices import SimDevices
from .render import Shot
from .scenario import Scenario, load_scenario
from .world import CameraPose

__all__ = ["CONTROLS", "DOCUMENT_FACES", "ILLUMINATOR_PROFILE", "SimDocuments", "SimLaneRun",
           "SimOpener", "document_templates", "run_sim_lane", "scenario_lane_config",
           "scenario_scheduler"]

log = logging.getLogger(__name__)

#: The people with a travel-document photo on file (assets/documents: *different* photos of the
#: people whose face textures the simulator renders).
DOCUMENT_FACES = ("obama", "biden", "alex-lacamoire")
#: The ablation arms of :func:`run_sim_lane` (``control=``): ``"baseline"`` films with the
#: scenario's fixed exposure, gain and strobe; ``"exposure"`` adds the face-metered
#: :class:`~lanecam.control.exposure.ExposureController` (front seats metered) with the strobe's
#: pulse aligned to the exposure inside the interlock of :data:`ILLUMINATOR_PROFILE`; ``"bracket"``
#: meters every seat and, when the faces found disagree or some seat shows no face, films the
#: second half of the open-loop rest up to :data:`BRACKET_MAX_STOPS` brighter; ``"polarization"``
#: is ``"exposure"`` with a rotatable polarizer on each camera that has none (the shipped scenarios
#: are not edited), its angle set per burst by the
#: :class:`~lanecam.control.polarization.PolarizationController`'s geometric prediction (the
#: polarizer halves the face's light: the exposure loop makes up for it); ``"all"`` is polarization
#: + bracketing.
CONTROLS = ("baseline", "exposure", "bracket", "polarization", "all")
#: The strobe's controller and eye-safety data for the simulated lane's lamp.
ILLUMINATOR_PROFILE = "gardasoft-rt"  # firmware_profiles/illuminator-gardasoft-rt.toml
#: Largest bracket step of the ``"bracket"`` arm: rear-row faces render ~2 stops below the
#: front row behind the same glass (measured on the rear_seat scenario: 13–31 vs 64–86 DN8).
BRACKET_MAX_STOPS = 2.0
DETECT_RANGE_M = 45.0  # where vehicles start when the lane starts (inside radar range)


def document_templates(matcher: Matcher) -> dict[str, Template]:
    """Templates of the shipped document photos, by person."""
    folder = Path(str(resources.files("lanecam.sim") / "assets" / "documents"))
    out = {}
    for name in DOCUMENT_FACES:
        img = cv2.imread(str(folder / f"{name}.jpg"))
        if img is None:
            raise ConfigError("document photo missing from the package", key=name)
        out[name] = matcher.template(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return out


class SimDocuments:
    """The booth's document scan for the simulated lane: the ``seq``-th vehicle to arrive
    presents the documents of its occupants who have one on file."""

    def __init__(self, scenario: Scenario, templates: dict[str, Template]) -> None:
        order = sorted(scenario.world.vehicles, key=lambda v: v.kinematics.range_at(0.0))
        self._by_seq = {i + 1: [TravelDocument(o.face, templates[o.face])
                                for o in v.occupants if o.face in templates]
                        for i, v in enumerate(order)}
        #: the seat of each document's holder, same order (evaluation only)
        self.seats = {i + 1: [o.seat for o in v.occupants if o.face in templates]
                      for i, v in enumerate(order)}
        self.vehicle_names = {i + 1: v.name for i, v in enumerate(order)}

    def documents(self, seq: int, track: Track) -> Sequence[TravelDocument]:
        return self._by_seq.get(seq, [])


@dataclass
class SimLaneRun:
    """What one scenario run produced."""

    scenario: str
    events: list[LaneEvent]
    stats: dict[str, Any]
    cameras: list[SimCamera]
    documents: SimDocuments
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def scenario_scheduler(pose: Any, settings: Any, zone: tuple[float, float], frames: int,
                       clock: Clock) -> CaptureScheduler:
    """The scheduler of a scenario camera (``pose``, its ``settings``): 30 Hz, exposures from
    10 µs to the scenario's, ``frames`` per burst over the capture ``zone`` (m), 1 px blur."""
    timing = CameraTiming(max_frame_rate_hz=30.0, min_exposure_s=1e-5,
                          max_exposure_s=settings.exposure_s, max_frames=frames)
    return camera_scheduler(pose, zone, timing, face_setback_m=CabinModel().face_setback_m,
                            blur_budget_px=1.0, clock=clock, camera_range_m=pose.station_m)


def _warm_up(cam: SimCamera, sc: Scenario, settings: Any) -> None:
    """Render one frame with the first vehicle mid-zone before real time starts: the first
    render of a process pays for JIT loading and texture set-up (~0.3 s), which would
    otherwise land inside the first burst."""
    v = sc.world.vehicles[0].kinematics
    t = max(0.0, (v.range_at(0.0) - 15.0) / max(v.speed_mps, 0.5))
    cam.renderer.render(Shot(t_s=t, exposure_s=settings.exposure_s, gain_db=settings.gain_db,
                             polarizer_deg=settings.polarizer_deg, illumination=sc.illumination))


def _compile_kernels(world: Any) -> None:
    """Compile (or load from Numba's cache) the quality and render kernels before the world's
    clock starts: on a cold cache (a fresh clone, as in CI) that takes tens of seconds."""
    from ..quality.kernels import warm_up
    from .render import Renderer

    warm_up()
    rotatable = any(c.polarizer == "rotatable" for c in world.cameras)
    Renderer(world, scale=0.05).render(Shot(0.0, 1e-3, 0.0,
                                            polarizer_deg=0.0 if rotatable else None))
    if any(c.polarizer == "mosaic" for c in world.cameras):
        from ..quality.dofp import warm_up as warm_dofp

        warm_dofp()


class SimOpener:
    """Opens a lane config's devices in the simulator: ``device = "sim"`` cameras are
    SimCameras looking at the scenario's world (warmed up), serial ports are the
    :class:`~lanecam.sim.devices.SimDevices` ptys, and a strobe channel or a rotation mount is
    wired to the world (the frame sees the lamp its channel fires and the analyzer where the
    fake mount physically is)."""

    def __init__(self, sc: Scenario, dev: SimDevices, *, epoch_ns: int, scale: float,
                 clock: Clock, truth_frames: int = 4096) -> None:
        self.scenario = sc
        self.truth_frames = truth_frames
        self.dev = dev
        self.epoch_ns = epoch_ns
        self.scale = scale
        self.clock = clock
        self.cameras: list[SimCamera] = []

    def camera(self, cfg: CameraConfig, buffer_count: int) -> SimCamera:
        if cfg.device != "sim":
            raise ConfigError("the simulated lane has only 'sim' cameras",
                              key=f"cameras[{cfg.name}].device", allowed=["sim"])
        sc = self.scenario
        cam = SimCamera(sc.world, cfg.name, scale=self.scale, epoch_ns=self.epoch_ns,
                        clock=self.clock, buffer_count=buffer_count,
                        truth_frames=self.truth_frames)
        cam.illumination = sc.illumination
        _warm_up(cam, sc, sc.settings[cfg.name])
        self.cameras.append(cam)
        return cam

    def camera_model(self, cfg: CameraConfig, camera: Camera) -> CameraModel:
        assert isinstance(camera, SimCamera)
        return camera.pose  # the world's pose, at the render scale

    def serial_link(self, url: str, **options: Any) -> SerialLink:
        if self.dev.inline:  # simulated time: the fake runs inside the driver's reads
            return SerialLink(url, port_factory=self.dev.port_factory, clock=self.clock,
                              **options)
        return SerialLink(url, **options)

    def strobe_wired(self, camera: Camera, channel: int) -> None:
        assert isinstance(camera, SimCamera)
        camera.illumination_source = self.dev.strobe_source(camera, channel=channel)

    def rotator_wired(self, camera: Camera) -> None:
        assert isinstance(camera, SimCamera)
        camera.polarizer_source = self.dev.polarizer_source(camera)


def scenario_lane_config(sc: Scenario, dev: SimDevices, *, control: str, frames: int,
                         zone: tuple[float, float], rotatable: Sequence[str],
                         rotator_offset_error_deg: float = 0.0,
                         face_finder: str = "hog") -> LaneConfig:
    """The :class:`~lanecam.config.LaneConfig` of a scenario's lane — the same description a
    real lane has, with ``device = "sim"`` cameras at the world's poses and the scenario's
    settings, and ports that are the fakes' ptys: a strobe channel per camera when the
    scenario strobes, an Elliptec mount on each ``rotatable`` camera, ``[control]`` as the
    ablation arm ``control`` says (:data:`CONTROLS`)."""
    strobe = sc.illumination.mode == "strobe"
    if strobe and len(sc.world.cameras) > dev.illuminator.n_channels:
        raise ConfigError("more cameras than strobe channels in the simulated lane",
                          key="cameras", allowed=dev.illuminator.n_channels)
    cams = tuple(_camera_config(sc, dev, i, pose, strobe, pose.name in rotatable,
                                rotator_offset_error_deg)
                 for i, pose in enumerate(sc.world.cameras))
    bracket = control in ("bracket", "all")
    ill = sc.illumination
    return LaneConfig(
        lane_id="sim", cameras=cams,
        capture=CaptureConfig(zone_near_m=zone[0], zone_far_m=zone[1], frames=frames,
                              frame_rate_hz=30.0, blur_budget_px=1.0, top_k=3,
                              face_setback_m=CabinModel().face_setback_m,
                              face_finder=face_finder),
        control=ControlConfig(exposure=control != "baseline", meter_rear=bracket,
                              bracket_max_stops=BRACKET_MAX_STOPS if bracket else 0.0),
        radar=RadarConfig(dev.ports["radar"], "ops243-c"),
        lidar=SerialDeviceConfig(dev.ports["lidar"], "tf02-pro"),
        illuminator=IlluminatorConfig(dev.ports["illuminator"], ILLUMINATOR_PROFILE,
                                      pulse_s=ill.pulse_s, brightness=ill.brightness,
                                      irradiance_w_m2=_profile_irradiance())
        if strobe else None)


def _profile_irradiance() -> float:
    """The simulated lane's eye-irradiance record: the profile's example installation (the
    simulated lamps are not the profile's lamp; the interlock's limits stay those of the
    example, as before site measurements existed)."""
    from ..devices.illuminators import load_illuminator_profile

    return load_illuminator_profile(ILLUMINATOR_PROFILE).irradiance_w_m2


def _camera_config(sc: Scenario, dev: SimDevices, index: int, pose: CameraPose, strobe: bool,
                   rotatable: bool, rotator_offset_error_deg: float) -> CameraConfig:
    """Camera ``index`` of a scenario as a lane config describes it (strobe channel
    ``index + 1``)."""
    settings = sc.settings[pose.name]
    rotator = RotatorConfig(url=dev.ports[f"rotator:{pose.name}"],
                            offset_deg=rotator_offset_error_deg) if rotatable else None
    return CameraConfig(
        name=pose.name, device="sim", height_m=pose.height_m, lateral_m=pose.lateral_m,
        pitch_deg=pose.pitch_deg, yaw_deg=pose.yaw_deg, focal_length_m=pose.focal_m,
        pixel_size_m=pose.pixel_m, f_number=pose.f_number, focus_m=pose.focus_m,
        width_px=pose.width_px, height_px=pose.height_px, station_m=pose.station_m,
        exposure_s=settings.exposure_s, gain_db=settings.gain_db,
        strobe_channel=index + 1 if strobe else None, rotator=rotator, view=pose.view)


def _ignore(_: Any) -> None:
    pass


def run_sim_lane(scenario: str | Scenario, matcher: Matcher, *, templates: dict[str, Template],
                 scale: float = 1.0, frames: int = 10, zone: tuple[float, float] = (9.0, 22.0),
                 vault: Any = None, sinks: Sequence[Sink] = (), clock: Clock | None = None,
                 ranker: BurstRanker | None = None, timeout_s: float = 30.0,
                 camera_faults: Any = None, control: str = "baseline",
                 probe_offsets_deg: Sequence[float] = PROBE_OFFSETS_DEG,
                 rotator_offset_error_deg: float = 0.0,
                 polarization: PolarizationController | None = None,
                 truth_frames: int = 4096, face_finder: str = "hog",
                 on_start: Any = None, timing: str = "simulated") -> SimLaneRun:
    """Run the production lane over one scenario until every vehicle has an event.

    ``timing``: ``"simulated"`` (deterministic, see the module docstring) or ``"real"``; a
    ``clock`` given decides it (a :class:`~lanecam.clock.SimulatedClock` is simulated time).
    ``timeout_s``: how long (s, on the run's clock) after the first vehicle reaches detection
    range (and the lane has started) the run waits for the events.

    ``camera_faults(cameras)`` (optional) is called once the lane runs, to inject faults.
    ``control``: one of :data:`CONTROLS` (the ablation arms, described there).

    The analyzers are Thorlabs Elliptec rotation mounts: the firmware fake on a pty per
    camera, turned by the production driver (:class:`~lanecam.devices.rotators.ElliptecRotator`);
    the frame shows the analyzer where the fake's mount physically was at the exposure.  With
    ``probe_offsets_deg`` the first frames probe the glare at the predicted angle and at those
    offsets and a Malus fit sets the rest (``()``: the prediction stands);
    ``rotator_offset_error_deg`` mis-calibrates the driver's mount offset by that much (the
    mount's true zero is the image's); ``polarization`` overrides the controller;
    ``truth_frames``: ground-truth frames kept per SimCamera; ``face_finder``: ``[capture]``'s;
    ``on_start(lane)``: called before the lane starts.
    """
    sc, rotatable = _prepared(scenario, control)
    clock = _run_clock(clock, timing)
    lead = _lead_s(sc.world)
    _compile_kernels(sc.world)
    epoch = clock.now_ns() + round(lead * 1e9)
    mem = MemorySink()
    docs = SimDocuments(sc, templates)
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        dev = stack.enter_context(SimDevices(sc.world, clock=clock, epoch_ns=epoch,
                                             rotators=rotatable, inline=is_cooperative(clock)))
        cfg = scenario_lane_config(sc, dev, control=control, frames=frames, zone=zone,
                                   rotatable=rotatable,
                                   rotator_offset_error_deg=rotator_offset_error_deg,
                                   face_finder=face_finder)
        opener = SimOpener(sc, dev, epoch_ns=epoch, scale=scale, clock=clock,
                           truth_frames=truth_frames)
        lane = build_lane(cfg, matcher, docs, stack, clock=clock, sinks=[mem, *sinks],
                          opener=opener, vault=vault, ranker=ranker)
        _override_polarization(lane.cameras, probe_offsets_deg, polarization)
        (on_start or _ignore)(lane)
        lane.start()
        stack.callback(lane.stop)
        (camera_faults or _ignore)(opener.cameras)
        _wait_for_events(mem, len(sc.world.vehicles), clock, timeout_s + lead)
        lane.wait_idle(_IDLE_WALL_S if dev.inline else 10.0)
        stats = lane.stats.summary()
    return SimLaneRun(sc.name, list(mem), stats, opener.cameras, docs,
                      time.monotonic() - start, _extra(control, lane.cameras, dev))


def _override_polarization(cams: Sequence[LaneCamera], probe_offsets_deg: Sequence[float],
                           polarization: PolarizationController | None) -> None:
    """A test's analyzer controller (or probe angles) instead of the config's."""
    for lane_cam in cams:
        if lane_cam.rotator is None:
            continue
        if polarization is not None:
            lane_cam.polarization = polarization
        elif tuple(probe_offsets_deg) != PROBE_OFFSETS_DEG:
            lane_cam.polarization = PolarizationController(probe_offsets_deg=probe_offsets_deg)


def _prepared(scenario: str | Scenario, control: str) -> tuple[Scenario, tuple[str, ...]]:
    """The scenario for the ablation arm ``control`` and its cameras with a rotation mount."""
    if control not in CONTROLS:
        raise ConfigError(f"unknown control {control!r}", key="control", allowed=list(CONTROLS))
    sc = _with_polarizers(scenario if isinstance(scenario, Scenario) else load_scenario(scenario),
                          control)
    rotatable = tuple(c.name for c in sc.world.cameras
                      if control in ("polarization", "all") and c.polarizer == "rotatable")
    return sc, rotatable


def _with_polarizers(sc: Scenario, control: str) -> Scenario:
    """For the polarization arms, a rotatable polarizer in front of every lens that has none."""
    if control not in ("polarization", "all"):
        return sc
    return replace(sc, world=replace(sc.world, cameras=tuple(
        replace(c, polarizer="rotatable") if c.polarizer == "none" else c
        for c in sc.world.cameras)))


def _lead_s(world: Any) -> float:
    """Seconds from the lane's start to world t = 0: the first vehicle then starts at
    :data:`DETECT_RANGE_M` (0 when it starts nearer)."""
    return max(0.0, max((DETECT_RANGE_M - v.kinematics.range_at(0.0))
                        / max(v.kinematics.speed_mps, 0.5) for v in world.vehicles[:1]))


#: Real seconds a simulated-time run may take per simulated second before it is abandoned
#: (a lane thread blocked outside the clock stops simulated time; this bounds the wait).
_WALL_PER_SIM_S = 60.0
#: Real seconds the lane gets to finish analysing queued vehicles after the last event.
_IDLE_WALL_S = 120.0


def _run_clock(clock: Clock | None, timing: str) -> Clock:
    """The run's clock: the one given, else the one ``timing`` names."""
    if timing not in ("simulated", "real"):
        raise ConfigError(f"unknown timing {timing!r}", key="timing",
                          allowed=["simulated", "real"])
    if clock is not None:
        return clock
    return SimulatedClock() if timing == "simulated" else MONOTONIC


def _wait_for_events(mem: MemorySink, n_vehicles: int, clock: Clock, timeout_s: float) -> None:
    """Wait (0.02 s real steps) until there is an event per vehicle or ``timeout_s`` (s) of
    the run's clock have passed; on simulated time also give up after
    :data:`_WALL_PER_SIM_S` real seconds per simulated second (a stalled clock)."""
    deadline_ns = clock.now_ns() + round(timeout_s * 1e9)
    wall0 = time.monotonic()
    limit = _WALL_PER_SIM_S * max(1.0, timeout_s) + 60.0
    while clock.now_ns() < deadline_ns and len(mem) < n_vehicles:
        if time.monotonic() - wall0 > limit:
            log.error("simulated lane run stalled: %d of %d events after %.0f s", len(mem),
                      n_vehicles, time.monotonic() - wall0)
            return
        time.sleep(0.02)


def _extra(control: str, cams: list[LaneCamera], dev: SimDevices) -> dict[str, Any]:
    """The run's control record: exposure history, DoFP choices, analyzer log per camera and
    the pulses the strobe controller really fired."""
    return {"control": control,
            "exposure_history": {c.name: [list(b) for b in c.history] for c in cams},
            "dofp_choices": {lane_cam.name: dict(lane_cam.dofp_choices) for lane_cam in cams},
            "analyzer": {lane_cam.name: list(lane_cam.analyzer_log) for lane_cam in cams},
            # what the strobe controller really fired: (channel, pulse s, brightness)
            "strobe_pulses": [(p.channel, p.pulse_ms / 1e3, p.brightness / 100)
                              for p in dev.illuminator.pulses]}
