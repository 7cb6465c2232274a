"""Build a :class:`~lanecam.lane.runner.Lane` from a validated :class:`~lanecam.config.LaneConfig`
for real (or emulated) hardware: cameras by id, serial sensors by URL, the vault and sinks.

Travel documents come from a :class:`~lanecam.lane.types.DocumentSource`; :class:`FolderDocuments`
is the simple one ``lanecam run`` uses (every photo in a folder is a traveler expected at the
lane).  A booth integration supplies its own source.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2

from ..clock import MONOTONIC, Clock
from ..config import CameraConfig, LaneConfig, strobe_channels
from ..control.exposure import ExposureController, FaceMeter, PulseBudget
from ..control.noise_budget import noise_budget_db
from ..control.polarization import PolarizationController
from ..control.scheduler import CameraTiming, CaptureScheduler, LaneGeometry, dof_limits
from ..control.tracker import Track, TrackerConfig, VehicleTracker
from ..devices.illuminators import GardasoftRT, load_illuminator_profile, site_profile
from ..devices.rotators import ElliptecRotator, load_rotator_profile
from ..devices.sensors import (
    TF02_PRO,
    TF_LUNA,
    BenewakeLidar,
    LoopDetector,
    ModemLineSource,
    OPS243Radar,
)
from ..devices.serial_link import SerialLink
from ..errors import ConfigError, LanecamError
from ..events import JsonlSink, LogSink, MemorySink, Sink
from ..geometry import SEAT_ROWS, CabinModel, CameraModel
from ..match.base import Matcher
from ..match.factory import face_finder_named
from ..quality.rank import BurstRanker
from ..store import CaptureVault, MasterKey
from .camera import LaneCamera
from .connect import HARDWARE, DeviceOpener
from .gige_setup import apply_gige
from .runner import Lane
from .sensor_calibration import calibrated, radar_speed_factor
from .types import TravelDocument

__all__ = ["FACE_HEIGHT_M", "PROBE_OFFSETS_DEG", "STROBE_RATE_HEADROOM", "FolderDocuments",
           "LoopReader", "build_lane", "camera_scheduler", "strobe_budget", "tracker_config"]

log = logging.getLogger(__name__)

FACE_HEIGHT_M = 1.2  # nominal face height above the road for the blur geometry


class FolderDocuments:
    """Every image in ``folder`` is one traveler's document photo (id = file stem)."""

    def __init__(self, folder: str | Path, matcher: Matcher) -> None:
        p = Path(folder)
        files = sorted(f for f in p.glob("*") if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not files:
            raise ConfigError("no document photos (.jpg/.png) in the folder", key=str(p))
        self._docs = []
        for f in files:
            img = cv2.imread(str(f))
            if img is None:
                raise ConfigError("unreadable document photo", key=str(f))
            self._docs.append(TravelDocument(f.stem, matcher.template(
                cv2.cvtColor(img, cv2.COLOR_BGR2RGB))))

    def documents(self, seq: int, track: Track) -> Sequence[TravelDocument]:
        return list(self._docs)


class LoopReader:
    """Adapts a :class:`LoopDetector` to the lane's ``read(timeout)`` sensor interface."""

    def __init__(self, detector: LoopDetector, clock: Clock = MONOTONIC, period_s: float = 0.005):
        self.detector = detector
        self.clock = clock
        self.period_s = period_s

    def read(self, timeout: float) -> Any:
        waited = 0.0
        while waited < timeout:
            edge = self.detector.poll()
            if edge is not None:
                return edge
            self.clock.sleep(self.period_s)
            waited += self.period_s
        return None


def _radar(cfg: Any, clock: Clock, opener: DeviceOpener) -> OPS243Radar:
    models = {"ops243-a": "OPS243-A", "ops243-c": "OPS243-C"}
    if cfg.model not in models:
        raise ConfigError("unknown radar model", key="sensors.radar.model", allowed=sorted(models))
    return OPS243Radar(opener.serial_link(cfg.url), model=models[cfg.model], clock=clock)  # type: ignore[arg-type]


def _lidar(cfg: Any, clock: Clock, opener: DeviceOpener) -> BenewakeLidar:
    models = {"tf-luna": TF_LUNA, "tf02-pro": TF02_PRO}
    if cfg.model not in models:
        raise ConfigError("unknown lidar model", key="sensors.lidar.model", allowed=sorted(models))
    return BenewakeLidar(opener.serial_link(cfg.url), model=models[cfg.model], clock=clock)


#: The strobe controller's pulse-rate ceiling over the camera's frame rate: software triggers
#: jitter, and a trigger inside the controller's retrigger delay is ignored (an unlit frame);
#: the interlock is checked at this higher rate, so the margin only errs safe.
STROBE_RATE_HEADROOM = 1.25


def _strobes(cfg: LaneConfig, cams: list[LaneCamera], stack: contextlib.ExitStack,
             clock: Clock, opener: DeviceOpener) -> None:
    """Open the illuminator (``model`` names its profile, e.g. ``gardasoft-rt``) and fire each
    strobing camera's channel (:func:`~lanecam.config.strobe_channels`) from that camera's
    ExposureActive output: one pulse per exposure, ``[illuminator] pulse_s`` long (default:
    the camera's baseline exposure) at ``brightness`` — all through the interlock, which
    refuses (LimitError) anything past the profile's eye-safety limits.  With ``[control]
    exposure`` each camera's controller re-sets its pulse per frame (``LaneCamera.illuminator``).
    On close every channel is switched off (read back off), then the shared link closes."""
    ill = cfg.illuminator
    assert ill is not None
    profile, note = site_profile(load_illuminator_profile(ill.model), ill.irradiance_w_m2,
                                 ill.eye_distance_m)
    if note is not None:
        log.warning("illuminator %s: %s", ill.model, note)
    # a pulse the camera's output fires early (measured latency < 0) waits to meet the exposure
    delay = None if ill.latency_s is None or ill.latency_s >= 0 else -ill.latency_s
    link = opener.serial_link(ill.url)
    lamps: list[GardasoftRT] = []
    stack.callback(_close_strobes, lamps, link)
    for i, channel in sorted(strobe_channels(cfg).items()):
        lamp = GardasoftRT(link, profile=profile, channels=(channel,), clock=clock,
                           name=f"strobe{channel}")
        lamp.open()  # the shared link opens once; this channel is switched off first
        lamps.append(lamp)
        lane_cam = cams[i]
        lane_cam.camera.open()  # its output line is configured now
        pulse = ill.pulse_s if ill.pulse_s is not None else lane_cam.scheduler.timing.max_exposure_s
        lamp.strobe_from_camera(lane_cam.camera, pulse_width_s=pulse, brightness=ill.brightness,
                                max_rate_hz=cfg.capture.frame_rate_hz * STROBE_RATE_HEADROOM,
                                delay_s=delay)
        opener.strobe_wired(lane_cam.camera, channel)
        lane_cam.illuminator = lamp


def _close_strobes(lamps: list[GardasoftRT], link: SerialLink) -> None:
    """Every channel off (verified by read-back), then the shared link closed; the first
    failure is raised after the others were tried."""
    failure: LanecamError | None = None
    try:
        for lamp in lamps:
            try:
                lamp.off()
            except LanecamError as exc:
                failure = failure or exc
    finally:
        link.close()
    if failure is not None:
        raise failure


#: Malus probe angles from the predicted analyzer angle (deg): three angles 60° apart fix the
#: fit's three unknowns with equal weight.
PROBE_OFFSETS_DEG = (60.0, -60.0)


def _rotator(c: Any, stack: contextlib.ExitStack, clock: Clock,
             opener: DeviceOpener) -> ElliptecRotator:
    """Open a camera's analyzer rotation mount (``rotator.model`` names its profile)."""
    r = c.rotator
    profile = load_rotator_profile(r.model)
    rot = ElliptecRotator(opener.serial_link(r.url, baudrate=profile.baudrate), address=r.address,
                          profile=profile, offset_deg=r.offset_deg, clock=clock,
                          name=f"rotator-{c.name}")
    rot.open()
    stack.callback(rot.close)
    return rot


def _controller(cfg: LaneConfig, lamp: Any, cam: CameraConfig | None = None
                ) -> ExposureController | None:
    """The ``[control]`` exposure controller for one camera (None when it is off); a strobing
    camera's pulse budget comes from its illuminator's own profile and interlock; the gain
    noise budget from the camera's measured response when the config has it
    (``[cameras.response]``), never above ``[control] max_gain_db``."""
    ctl = cfg.control
    if not ctl.exposure:
        return None
    pulse = None if lamp is None else strobe_budget(lamp.profile, cfg.capture.frame_rate_hz)
    return ExposureController(target_dn8=ctl.target_dn8, max_gain_db=gain_budget_db(cfg, cam),
                              closed_loop_frames=ctl.closed_loop_frames,
                              bracket_max_stops=ctl.bracket_max_stops, pulse=pulse)


def gain_budget_db(cfg: LaneConfig, cam: CameraConfig | None) -> float:
    """A camera's gain noise budget (dB): ``[control] max_gain_db``, lowered to what its
    measured response allows (:func:`~lanecam.control.noise_budget.noise_budget_db`)."""
    ctl = cfg.control
    if cam is None or cam.response is None:
        return ctl.max_gain_db
    return min(ctl.max_gain_db, noise_budget_db(cam.response, ctl.target_dn8))


def tracker_config(cfg: LaneConfig) -> TrackerConfig:
    """The tracker's configuration for a lane: the loop's station (m) when it has a loop."""
    return TrackerConfig(loop_position_m=cfg.loop.position_m if cfg.loop is not None else None)


def camera_scheduler(model: CameraModel, zone_m: tuple[float, float], timing: CameraTiming, *,
                     face_setback_m: float, blur_budget_px: float, clock: Clock,
                     camera_range_m: float = 0.0) -> CaptureScheduler:
    """The capture scheduler of one camera: its lens and pose (``model``), the capture zone
    (near, far lane range m) ∩ its depth of field (circle of confusion: two pixels), and a
    nominal face :data:`FACE_HEIGHT_M` above the road for the blur geometry."""
    near, far = dof_limits(model.focal_m, model.f_number, 2 * model.pixel_m, model.focus_m)
    geom = LaneGeometry(focal_length_m=model.focal_m, pixel_size_m=model.pixel_m,
                        lateral_offset_m=model.lateral_m,
                        height_offset_m=model.height_m - FACE_HEIGHT_M,
                        zone_near_m=zone_m[0], zone_far_m=zone_m[1], dof_near_m=near,
                        dof_far_m=far, camera_range_m=camera_range_m,
                        face_setback_m=face_setback_m)
    return CaptureScheduler(geom, timing, blur_budget_px=blur_budget_px, clock=clock)


def strobe_budget(profile: Any, frame_rate_hz: float) -> PulseBudget:
    """The strobe's per-pulse budget from the illuminator's profile and interlock, checked at
    :data:`STROBE_RATE_HEADROOM` × the camera's frame rate (Hz)."""
    return PulseBudget(profile, rate_hz=frame_rate_hz * STROBE_RATE_HEADROOM)


def _open_cameras(cfg: LaneConfig, clock: Clock, opener: DeviceOpener) -> list[LaneCamera]:
    """Every configured camera with its pose, baseline settings and scheduler."""
    cap = cfg.capture
    cams = []
    for c in cfg.cameras:
        cam = opener.camera(c, cap.frames + 6)
        model = opener.camera_model(c, cam)
        exposure = c.exposure_s if c.exposure_s is not None else cap.exposure_s
        timing = CameraTiming(cap.frame_rate_hz, 1e-5, exposure, cap.frames)
        # a side camera films each row where it passes its view (lane/side.py), not in the
        # windshield capture zone: its scheduler gives timing and blur budget only
        zone = (c.station_m, c.station_m + 200.0) if c.view == "side" else \
            (cap.zone_near_m, cap.zone_far_m)
        sched = camera_scheduler(model, zone, timing,
                                 face_setback_m=cap.face_setback_m,
                                 blur_budget_px=cap.blur_budget_px, clock=clock,
                                 camera_range_m=c.station_m)
        gain = c.gain_db if c.gain_db is not None else (cap.gain_db or None)
        cams.append(LaneCamera(c.name, cam, model, sched, gain_db=gain,
                               trigger_delay_s=c.trigger_delay_s, view=c.view))
    return cams


def _open_sensors(cfg: LaneConfig, stack: contextlib.ExitStack, clock: Clock,
                  opener: DeviceOpener) -> list[Any]:
    """Open the radar, lidar and loop of ``cfg`` (closed again by ``stack``)."""
    sensors: list[Any] = []
    if cfg.radar is not None:
        r = _radar(cfg.radar, clock, opener)
        r.open()
        stack.callback(r.close)
        sensors.append(calibrated(r, cfg.radar.latency_s, radar_speed_factor(
            cfg.radar.mount_deg, cfg.radar.speed_scale)))
    if cfg.lidar is not None:
        li = _lidar(cfg.lidar, clock, opener)
        li.open()
        stack.callback(li.close)
        sensors.append(calibrated(li, cfg.lidar.latency_s))
    if cfg.loop is not None:
        loop = cfg.loop
        source = ModemLineSource(opener.serial_link(loop.url), loop.line,
                                 active_low=loop.active_low)
        source.open()  # opens the port and raises the supply line feeding the contact
        stack.callback(source.link.close)
        sensors.append(calibrated(LoopReader(LoopDetector(source, debounce_s=loop.debounce_s,
                                                          clock=clock), clock), loop.latency_s))
    if not sensors:
        raise ConfigError("a lane needs at least one trigger sensor", key="sensors",
                          allowed=["radar", "lidar", "loop"])
    return sensors


def _sinks(cfg: LaneConfig, extra: Sequence[Sink]) -> list[Sink]:
    out: list[Sink] = list(extra)
    for s in cfg.sinks:
        if s.kind == "jsonl":
            if not s.path:
                raise ConfigError("a jsonl sink needs a path", key="sinks.path")
            out.append(JsonlSink(s.path))
        elif s.kind == "log":
            out.append(LogSink())
        else:
            out.append(MemorySink())
    return out


def build_lane(cfg: LaneConfig, matcher: Matcher, documents: Any, stack: contextlib.ExitStack,
               *, clock: Clock = MONOTONIC, sinks: Sequence[Sink] = (),
               opener: DeviceOpener = HARDWARE, vault: Any = None,
               ranker: BurstRanker | None = None) -> Lane:
    """Open every device of ``cfg`` through ``opener`` (closed again by ``stack``) and return
    the lane, not started.  ``opener``: :data:`~lanecam.lane.connect.HARDWARE` (real devices,
    emulators, pty fakes) or the simulator's; ``vault`` and ``ranker`` replace the ones
    ``cfg`` describes (e.g. a test's)."""
    cap = cfg.capture
    cams = _open_cameras(cfg, clock, opener)
    for lane_cam in cams:
        stack.callback(lane_cam.camera.close)
    if cfg.gige.ptp or cfg.gige.action is not None or any(c.transport for c in cfg.cameras):
        apply_gige(cfg, [lc.camera for lc in cams], clock=clock)
    sensors = _open_sensors(cfg, stack, clock, opener)
    if cfg.illuminator is not None:
        _strobes(cfg, cams, stack, clock, opener)
    for c, lane_cam in zip(cfg.cameras, cams):
        if c.rotator is not None:
            lane_cam.rotator = _rotator(c, stack, clock, opener)
            opener.rotator_wired(lane_cam.camera)
            lane_cam.polarization = PolarizationController(
                rake_deg=cfg.control.rake_deg,
                probe_offsets_deg=PROBE_OFFSETS_DEG if cfg.control.malus_probe else ())
    seats = tuple(range(len(SEAT_ROWS))) if cfg.control.meter_rear else (0, 1)
    for c, lane_cam in zip(cfg.cameras, cams):
        lane_cam.exposure = _controller(cfg, lane_cam.illuminator, c)
        lane_cam.meter_seats = seats
    if vault is None and cfg.vault is not None:
        v = cfg.vault
        key = MasterKey.from_file(v.key_file) if v.key_file else MasterKey.from_env(v.key_env or "")
        vault = stack.enter_context(CaptureVault(v.root, key, retention_s=v.retention_s,
                                                 witness=v.witness, keys=v.keys,
                                                 epoch_s=v.epoch_s))
    finder = face_finder_named(cap.face_finder)
    metering = finder is not None and any(c.exposure is not None for c in cams)
    meter = FaceMeter(finder) if metering else None
    return Lane(cfg.lane_id, cams, VehicleTracker(tracker_config(cfg)), sensors,
                ranker or BurstRanker(top_k=cap.top_k, face_finder=finder), matcher, documents,
                vault=vault, sinks=_sinks(cfg, sinks),
                cabin=CabinModel(face_setback_m=cap.face_setback_m), clock=clock,
                face_meter=meter)
