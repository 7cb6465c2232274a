"""A whole lane on the simulator: the production :class:`~lanecam.lane.Lane` over simulated
devices — SimCameras, and the radar/lidar firmware fakes on real ptys read by the production
drivers — in real time (the monotonic clock).

The lane sees only what its devices report.  Ground truth is read here only to *evaluate*
(:func:`evaluate_events`), never to drive the lane.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import cv2

from ..clock import MONOTONIC, Clock
from ..control.exposure import ExposureController
from ..control.polarization import PolarizationController
from ..control.scheduler import CameraTiming, CaptureScheduler
from ..control.tracker import Track, TrackerConfig, VehicleTracker
from ..devices.illuminators import GardasoftRT, load_illuminator_profile
from ..devices.rotators import ElliptecRotator
from ..devices.sensors import TF02_PRO, BenewakeLidar, OPS243Radar
from ..devices.serial_link import SerialLink
from ..errors import ConfigError
from ..events import LaneEvent, MemorySink, Sink
from ..geometry import SEAT_ROWS, CabinModel
from ..lane import Lane, LaneCamera, TravelDocument
from ..lane.builder import PROBE_OFFSETS_DEG, STROBE_RATE_HEADROOM, camera_scheduler, strobe_budget
from ..match.base import Matcher, Template
from ..quality.rank import BurstRanker
from .camera import SimCamera
from .devices import SimDevices
from .render import Shot
from .scenario import Scenario, load_scenario
from .world import CameraPose

__all__ = ["SimDocuments", "SimLaneRun", "run_sim_lane", "document_templates", "DOCUMENT_FACES",
           "CONTROLS", "ILLUMINATOR_PROFILE", "scenario_scheduler"]

#: The people with a travel-document photo on file (assets/documents: *different* photos of the
#: people whose face textures the simulator renders).
DOCUMENT_FACES = ("obama", "biden", "alex-lacamoire")
#: The ablation arms of :func:`run_sim_lane` (``control=``).
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


def _controller(control: str, sched: CaptureScheduler, sc: Scenario
                ) -> ExposureController | None:
    if control == "baseline":
        return None
    pulse = None
    if sc.illumination.mode == "strobe":
        pulse = strobe_budget(load_illuminator_profile(ILLUMINATOR_PROFILE),
                              sched.timing.max_frame_rate_hz)
    if control in ("bracket", "all"):
        return ExposureController(pulse=pulse, bracket_max_stops=BRACKET_MAX_STOPS)
    return ExposureController(pulse=pulse)


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


class _StrobeLamps:
    """The scenario's strobe through the production driver: one Gardasoft RT channel per camera
    (the fake has :data:`STROBE_CHANNELS`), fired by that camera's ExposureActive line; the
    world's illuminators stand in for each camera's lamp, lit as its channel says."""

    def __init__(self, dev: SimDevices, clock: Clock) -> None:
        self.dev = dev
        self.link = SerialLink(dev.ports["illuminator"], timeout=0.5)
        self.clock = clock
        self.lamps: list[GardasoftRT] = []

    def strobe(self, cam: SimCamera, channel: int, ill: Any, rate_hz: float) -> GardasoftRT:
        if channel > self.dev.illuminator.n_channels:
            raise ConfigError("more cameras than strobe channels in the simulated lane",
                              key="cameras", allowed=self.dev.illuminator.n_channels)
        lamp = GardasoftRT(self.link, profile=ILLUMINATOR_PROFILE, channels=(channel,),
                           clock=self.clock, name=f"strobe{channel}")
        lamp.open()  # the shared link opens once; this channel is switched off first
        self.lamps.append(lamp)
        cam.open()  # the lane would open it on start; its output line is configured now
        lamp.strobe_from_camera(cam, pulse_width_s=ill.pulse_s, brightness=ill.brightness,
                                max_rate_hz=rate_hz)
        cam.illumination_source = self.dev.strobe_source(cam, channel=channel)
        return lamp

    def close(self) -> None:
        """Every channel off, then the shared link closed."""
        try:
            for lamp in self.lamps:
                lamp.off()
        finally:
            self.link.close()


def run_sim_lane(scenario: str | Scenario, matcher: Matcher, *, templates: dict[str, Template],
                 scale: float = 1.0, frames: int = 10, zone: tuple[float, float] = (9.0, 22.0),
                 vault: Any = None, sinks: Sequence[Sink] = (), clock: Clock = MONOTONIC,
                 ranker: BurstRanker | None = None, timeout_s: float = 30.0,
                 camera_faults: Any = None, control: str = "baseline",
                 probe_offsets_deg: Sequence[float] = PROBE_OFFSETS_DEG,
                 rotator_offset_error_deg: float = 0.0,
                 polarization: PolarizationController | None = None) -> SimLaneRun:
    """Run the production lane over one scenario in real time until every vehicle has an event.

    ``camera_faults(cameras)`` (optional) is called once the lane runs, to inject faults.
    ``control`` (one of :data:`CONTROLS`): ``"baseline"`` films with the scenario's fixed
    exposure, gain and strobe; ``"exposure"`` adds the face-metered
    :class:`~lanecam.control.exposure.ExposureController` (front seats metered) with the
    strobe's pulse aligned to the exposure inside the interlock of :data:`ILLUMINATOR_PROFILE`;
    ``"bracket"`` meters every seat and, when the faces found disagree or some seat shows no
    face, films the second half of the open-loop rest up to :data:`BRACKET_MAX_STOPS` brighter;
    ``"polarization"`` is ``"exposure"`` with a rotatable polarizer on each camera that has
    none (the shipped scenarios are not edited), its angle set per burst by the
    :class:`~lanecam.control.polarization.PolarizationController`'s geometric prediction (the
    polarizer halves the face's light: the exposure loop makes up for it); ``"all"`` is
    polarization + bracketing.

    The analyzers are Thorlabs Elliptec rotation mounts: the firmware fake on a pty per
    camera, turned by the production driver (:class:`~lanecam.devices.rotators.ElliptecRotator`);
    the frame shows the analyzer where the fake's mount physically was at the exposure.  With
    ``probe_offsets_deg`` the first frames probe the glare at the predicted angle and at those
    offsets and a Malus fit sets the rest (``()``: the prediction stands);
    ``rotator_offset_error_deg`` mis-calibrates the driver's mount offset by that much (the
    mount's true zero is the image's); ``polarization`` overrides the controller.
    """
    if control not in CONTROLS:
        raise ConfigError(f"unknown control {control!r}", key="control", allowed=list(CONTROLS))
    sc = _with_polarizers(scenario if isinstance(scenario, Scenario) else load_scenario(scenario),
                          control)
    world = sc.world
    lead = _lead_s(world)
    _compile_kernels(world)
    run = _Run(sc, clock.now_ns() + round(lead * 1e9), clock, scale, frames, zone, control,
               probe_offsets_deg, rotator_offset_error_deg, polarization)
    mem = MemorySink()
    docs = SimDocuments(sc, templates)
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        dev, sensors, cams, sims = _assemble(run, stack)
        lane = Lane("sim", cams, VehicleTracker(TrackerConfig()), sensors,
                    ranker or BurstRanker(top_k=3), matcher, docs, vault=vault,
                    sinks=[mem, *sinks], clock=clock)
        lane.start()
        stack.callback(lane.stop)
        if camera_faults is not None:
            camera_faults(sims)
        _wait_for_events(mem, len(world.vehicles), time.monotonic() + timeout_s + lead)
        lane.wait_idle(10.0)
        stats = lane.stats.summary()
    return SimLaneRun(sc.name, list(mem), stats, sims, docs, time.monotonic() - start,
                      _extra(control, cams, dev))


@dataclass(frozen=True)
class _Run:
    """One run's set-up shared by its cameras: ``epoch_ns`` the clock time of world t = 0."""

    scenario: Scenario
    epoch_ns: int
    clock: Clock
    scale: float
    frames: int
    zone: tuple[float, float]
    control: str
    probe_offsets_deg: Sequence[float]
    rotator_offset_error_deg: float
    polarization: PolarizationController | None


def _assemble(run: _Run, stack: contextlib.ExitStack
              ) -> tuple[SimDevices, list[OPS243Radar | BenewakeLidar], list[LaneCamera],
                         list[SimCamera]]:
    """Open the lane's devices on ``stack``: the fakes, radar and lidar, the strobe channels
    and every camera (with its rotator in the polarization arms)."""
    sc, clock = run.scenario, run.clock
    world = sc.world
    rotatable = [c.name for c in world.cameras
                 if run.control in ("polarization", "all") and c.polarizer == "rotatable"]
    dev = stack.enter_context(SimDevices(world, clock=clock, epoch_ns=run.epoch_ns,
                                         rotators=tuple(rotatable)))
    sensors = _open_sensors(stack, dev, clock)
    lamps = _StrobeLamps(dev, clock) if sc.illumination.mode == "strobe" else None
    if lamps is not None:
        stack.callback(lamps.close)
    cams: list[LaneCamera] = []
    sims: list[SimCamera] = []
    for i, pose in enumerate(world.cameras):
        lane_cam, sim = _lane_camera(run, stack, dev, lamps, i, pose, pose.name in rotatable)
        cams.append(lane_cam)
        sims.append(sim)
    return dev, sensors, cams, sims


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


def _open_sensors(stack: contextlib.ExitStack, dev: SimDevices, clock: Clock
                  ) -> list[OPS243Radar | BenewakeLidar]:
    """The radar and lidar drivers on the fakes' ptys, opened (closed by ``stack``)."""
    radar = OPS243Radar(SerialLink(dev.ports["radar"], timeout=0.3), clock=clock)
    lidar = BenewakeLidar(SerialLink(dev.ports["lidar"], timeout=0.3), model=TF02_PRO,
                          frame_rate_hz=100, clock=clock)
    radar.open()
    stack.callback(radar.close)
    lidar.open()
    stack.callback(lidar.close)
    return [radar, lidar]


def _lane_camera(run: _Run, stack: contextlib.ExitStack, dev: SimDevices,
                 lamps: _StrobeLamps | None, index: int, pose: CameraPose, rotatable: bool
                 ) -> tuple[LaneCamera, SimCamera]:
    """Camera ``index`` (0-based) of the lane: its SimCamera (warmed up), scheduler, strobe
    channel ``index + 1``, and — when ``rotatable`` — its Elliptec rotator and controller."""
    sc, clock, name = run.scenario, run.clock, pose.name
    settings = sc.settings[name]
    cam = SimCamera(sc.world, name, scale=run.scale, epoch_ns=run.epoch_ns, clock=clock,
                    buffer_count=run.frames + 6)
    cam.illumination = sc.illumination
    _warm_up(cam, sc, settings)
    sched = scenario_scheduler(pose, settings, run.zone, run.frames, clock)
    lamp = None
    if lamps is not None:  # the scenario's fixed strobe, set through the real driver
        lamp = lamps.strobe(cam, index + 1, sc.illumination,
                            sched.timing.max_frame_rate_hz * STROBE_RATE_HEADROOM)
    seats = tuple(range(len(SEAT_ROWS))) if run.control in ("bracket", "all") else (0, 1)
    rotator = None
    pol = None
    if rotatable:
        rotator = ElliptecRotator(SerialLink(dev.ports[f"rotator:{name}"],
                                             baudrate=9600, timeout=0.5),
                                  offset_deg=run.rotator_offset_error_deg, clock=clock,
                                  name=f"rotator-{name}")
        rotator.open()
        stack.callback(rotator.close)
        cam.polarizer_source = dev.polarizer_source(cam)
        pol = run.polarization or PolarizationController(
            probe_offsets_deg=run.probe_offsets_deg)
    return LaneCamera(name, cam, cam.pose, sched, gain_db=settings.gain_db,
                      exposure=_controller(run.control, sched, sc), meter_seats=seats,
                      polarization=pol, rotator=rotator, illuminator=lamp), cam


def _wait_for_events(mem: MemorySink, n_vehicles: int, deadline: float) -> None:
    """Sleep (0.05 s steps) until there is an event per vehicle or ``deadline`` (monotonic
    s) passes."""
    while time.monotonic() < deadline and len(mem) < n_vehicles:
        time.sleep(0.05)


def _extra(control: str, cams: list[LaneCamera], dev: SimDevices) -> dict[str, Any]:
    """The run's control record: exposure history, DoFP choices, analyzer log per camera and
    the pulses the strobe controller really fired."""
    return {"control": control,
            "exposure_history": {lc.name: [list(b) for b in lc.history] for lc in cams},
            "dofp_choices": {lc.name: dict(lc.dofp_choices) for lc in cams},
            "analyzer": {lc.name: list(lc.analyzer_log) for lc in cams},
            # what the strobe controller really fired: (channel, pulse s, brightness)
            "strobe_pulses": [(p.channel, p.pulse_ms / 1e3, p.brightness / 100)
                              for p in dev.illuminator.pulses]}
