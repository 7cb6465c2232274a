"""A whole lane on the simulator: the production :class:`~lanecam.lane.Lane` over simulated
devices — SimCameras, and the radar/lidar firmware fakes on real ptys read by the production
drivers — in real time (the monotonic clock).

The lane sees only what its devices report.  Ground truth is read here only to *evaluate*
(:func:`evaluate_events`), never to drive the lane.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2

from ..clock import MONOTONIC, Clock
from ..control.scheduler import CameraTiming, CaptureScheduler, LaneGeometry, dof_limits
from ..control.tracker import Track, TrackerConfig, VehicleTracker
from ..devices.sensors import TF02_PRO, BenewakeLidar, OPS243Radar
from ..devices.serial_link import SerialLink
from ..errors import ConfigError
from ..events import LaneEvent, MemorySink, Sink
from ..geometry import CabinModel
from ..lane import Lane, LaneCamera, TravelDocument
from ..match.base import Matcher, Template
from ..quality.rank import BurstRanker
from .camera import SimCamera
from .devices import SimDevices
from .scenario import Scenario, load_scenario

__all__ = ["SimDocuments", "SimLaneRun", "run_sim_lane", "document_templates", "DOCUMENT_FACES"]

#: The people with a travel-document photo on file (assets/documents: *different* photos of the
#: people whose face textures the simulator renders).
DOCUMENT_FACES = ("obama", "biden", "alex-lacamoire")
DETECT_RANGE_M = 45.0  # where vehicles start when the lane starts (inside radar range)
FACE_HEIGHT_M = 1.2  # nominal face height for the scheduler's geometry (sedan, §3.1)


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


def _scheduler(pose: Any, settings: Any, zone: tuple[float, float], frames: int,
               clock: Clock) -> CaptureScheduler:
    near, far = dof_limits(pose.focal_m, pose.f_number, 2 * pose.pixel_m, pose.focus_m)
    geom = LaneGeometry(
        focal_length_m=pose.focal_m, pixel_size_m=pose.pixel_m,
        lateral_offset_m=pose.lateral_m, height_offset_m=pose.height_m - FACE_HEIGHT_M,
        zone_near_m=zone[0], zone_far_m=zone[1], dof_near_m=near, dof_far_m=far,
        camera_range_m=pose.station_m, face_setback_m=CabinModel().face_setback_m)
    timing = CameraTiming(max_frame_rate_hz=30.0, min_exposure_s=1e-5,
                          max_exposure_s=settings.exposure_s, max_frames=frames)
    return CaptureScheduler(geom, timing, blur_budget_px=1.0, clock=clock)


def run_sim_lane(scenario: str | Scenario, matcher: Matcher, *, templates: dict[str, Template],
                 scale: float = 1.0, frames: int = 10, zone: tuple[float, float] = (9.0, 22.0),
                 vault: Any = None, sinks: Sequence[Sink] = (), clock: Clock = MONOTONIC,
                 ranker: BurstRanker | None = None, timeout_s: float = 30.0,
                 camera_faults: Any = None) -> SimLaneRun:
    """Run the production lane over one scenario in real time until every vehicle has an event.

    ``camera_faults(cameras)`` (optional) is called once the lane runs, to inject faults.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    world = sc.world
    lead = max(0.0, max((DETECT_RANGE_M - v.kinematics.range_at(0.0)) / max(v.kinematics.speed_mps, 0.5)
                        for v in world.vehicles[:1]))
    epoch = clock.now_ns() + round(lead * 1e9)
    mem = MemorySink()
    docs = SimDocuments(sc, templates)
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        dev = stack.enter_context(SimDevices(world, clock=clock, epoch_ns=epoch))
        radar = OPS243Radar(SerialLink(dev.ports["radar"], timeout=0.3), clock=clock)
        lidar = BenewakeLidar(SerialLink(dev.ports["lidar"], timeout=0.3), model=TF02_PRO,
                              frame_rate_hz=100, clock=clock)
        radar.open()
        stack.callback(radar.close)
        lidar.open()
        stack.callback(lidar.close)
        cams: list[LaneCamera] = []
        sims: list[SimCamera] = []
        for pose in world.cameras:
            settings = sc.settings[pose.name]
            cam = SimCamera(world, pose.name, scale=scale, epoch_ns=epoch, clock=clock,
                            buffer_count=frames + 6)
            cam.illumination = sc.illumination
            sims.append(cam)
            cams.append(LaneCamera(pose.name, cam, cam.pose,
                                   _scheduler(pose, settings, zone, frames, clock),
                                   gain_db=settings.gain_db))
        lane = Lane("sim", cams, VehicleTracker(TrackerConfig()), [radar, lidar],
                    ranker or BurstRanker(top_k=3), matcher, docs, vault=vault,
                    sinks=[mem, *sinks], clock=clock)
        lane.start()
        stack.callback(lane.stop)
        if camera_faults is not None:
            camera_faults(sims)
        deadline = time.monotonic() + timeout_s + lead
        n_vehicles = len(world.vehicles)
        while time.monotonic() < deadline and len(mem) < n_vehicles:
            time.sleep(0.05)
        lane.wait_idle(10.0)
        stats = lane.stats.summary()
    return SimLaneRun(sc.name, list(mem), stats, sims, docs, time.monotonic() - start)
