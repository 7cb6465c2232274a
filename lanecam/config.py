"""Typed lane configuration loaded from TOML.

Every key is checked: an unknown key, a wrong type or a value out of range raises
:class:`~lanecam.errors.ConfigError` naming its path (``cameras[1].focal_length_m``) and what
is allowed.  Secrets never live here: the vault section names where the master key comes from
(a file path or an environment variable name), never the key itself.

Example::

    [lane]
    id = "north-1"

    [[cameras]]
    name = "driver"
    device = "pylon:40123456"        # or "harvesters:SERIAL" (+ cti) or "sim"
    height_m = 2.2
    lateral_m = -2.5                 # camera to the left (−) or right (+) of the lane centre
    focal_length_m = 0.05
    f_number = 4.0
    focus_m = 16.0

    [capture]
    zone_near_m = 10.0
    zone_far_m = 22.0
    frames = 12
    blur_budget_px = 1.0

    [vault]
    root = "/var/lib/lanecam/vault"
    retention_s = 86400
    key_file = "/etc/lanecam/master.key"
    witness = "/srv/append-only/lane-01.witness"
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin

from .config_fields import read_toml_file, rng
from .config_gige import ActionConfig, GigeConfig, TransportConfig
from .config_port import CropApiConfig, MetricsConfig, MqttConfig, check_mqtt
from .config_views import check_views
from .errors import ConfigError

__all__ = [
    "ActionConfig",
    "CameraConfig",
    "CaptureConfig",
    "ControlConfig",
    "CropApiConfig",
    "GigeConfig",
    "IlluminatorConfig",
    "LaneConfig",
    "LoopSensorConfig",
    "MatcherConfig",
    "MetricsConfig",
    "MqttConfig",
    "RadarConfig",
    "RotatorConfig",
    "SensorResponseConfig",
    "SerialDeviceConfig",
    "SinkConfig",
    "TransportConfig",
    "VaultConfig",
    "load_lane_config",
    "parse_lane_config",
    "strobe_channels",
]


_rng = rng


@dataclass(frozen=True)
class RotatorConfig:
    """A motorized polarizer in front of a camera's lens: its serial port, its model (a
    firmware profile name) and bus address, and ``offset_deg``, the analyzer axis's angle in
    the image (counter-clockwise from +x) when the mount reads 0° (measured at installation)."""

    url: str
    model: str = "thorlabs-ell14"
    address: str = field(default="0", metadata={"choices": tuple("0123456789ABCDEF")})
    offset_deg: float = field(default=0.0, metadata=_rng(-180.0, 180.0))


@dataclass(frozen=True)
class SensorResponseConfig:
    """The camera's measured EMVA 1288 response (``[cameras.response]``, written by
    ``lanecam calibrate response``): ``gain_dn_per_e`` the system gain K at 0 dB analog gain
    (DN12 per electron), ``dark_noise_e`` the temporal dark noise (e⁻ rms), ``saturation_e``
    the saturation capacity at 0 dB (e⁻).  The exposure controller's gain noise budget is
    computed from them (:func:`lanecam.control.noise_budget.noise_budget_db`)."""

    gain_dn_per_e: float = field(metadata=_rng(0.0, 100.0, open_lo=True))
    dark_noise_e: float = field(metadata=_rng(0.0, 1000.0))
    saturation_e: float = field(metadata=_rng(1.0, 1e7))


@dataclass(frozen=True)
class CameraConfig:
    """One camera of the lane (SI units; angles in degrees as is usual on site drawings)."""

    name: str
    device: str
    profile: str | None = None
    cti: str | None = None
    height_m: float = field(default=2.0, metadata=_rng(0.0, 20.0))
    lateral_m: float = field(default=-2.5, metadata=_rng(-20.0, 20.0))
    pitch_deg: float | None = field(default=None, metadata=_rng(-60.0, 30.0))
    yaw_deg: float | None = field(default=None, metadata=_rng(-60.0, 60.0))
    focal_length_m: float = field(default=0.05, metadata=_rng(0.001, 1.0, open_lo=True))
    pixel_size_m: float = field(default=3.45e-6, metadata=_rng(0.5e-6, 50e-6))
    f_number: float = field(default=4.0, metadata=_rng(0.7, 32.0))
    focus_m: float = field(default=16.0, metadata=_rng(1.0, 200.0))
    width_px: int = field(default=2448, metadata=_rng(16, 20000))
    height_px: int = field(default=2048, metadata=_rng(16, 20000))
    rotator: RotatorConfig | None = None
    #: the camera's lane range (m) from the reference line the sensors measure from
    station_m: float = field(default=0.0, metadata=_rng(-50.0, 200.0))
    #: this camera's fixed-settings baseline (s, dB); default: ``[capture]``'s
    exposure_s: float | None = field(default=None, metadata=_rng(1e-6, 1.0))
    gain_db: float | None = field(default=None, metadata=_rng(0.0, 48.0))
    #: the ``[illuminator]`` channel this camera's exposure output fires (default: channel 1
    #: for the first camera when no camera names one, none for the others)
    strobe_channel: int | None = field(default=None, metadata=_rng(1, 16))
    #: the measured sensor response (``lanecam calibrate response``); None: datasheet budget
    response: SensorResponseConfig | None = None
    #: GigE stream settings (``[cameras.transport]``, :mod:`lanecam.config_gige`)
    transport: TransportConfig | None = None
    #: measured by ``lanecam calibrate pose``: the turn about the optical axis (deg, + turns
    #: the camera clockwise seen from behind), the focal lengths and principal point (px, pixel
    #: centres at integers; default: focal_length_m / pixel_size_m and the sensor centre) and
    #: OpenCV's lens distortion (k1, k2, p1, p2[, k3]; default none)
    roll_deg: float = field(default=0.0, metadata=_rng(-45.0, 45.0))
    fx_px: float | None = field(default=None, metadata=_rng(1.0, 1e6))
    fy_px: float | None = field(default=None, metadata=_rng(1.0, 1e6))
    cx_px: float | None = field(default=None, metadata=_rng(-1.0, 20000.0))
    cy_px: float | None = field(default=None, metadata=_rng(-1.0, 20000.0))
    distortion: tuple[float, ...] = field(default=(), metadata={**_rng(-1000.0, 1000.0),
                                                                  "lengths": (0, 4, 5)})
    #: measured by ``lanecam calibrate latency``: hardware trigger edge to exposure start (s);
    #: the scheduler fires this much earlier
    trigger_delay_s: float = field(default=0.0, metadata=_rng(0.0, 0.5))
    #: what the camera films (:mod:`lanecam.lane.side`): ``"windshield"`` (a gantry or
    #: roadside camera aimed down the lane at the windshields, one burst per vehicle),
    #: ``"side"`` (beside the lane, aimed obliquely across it at the side windows, one burst per
    #: seat row as that row passes its field of view) or ``"both"`` (films with the windshield
    #: burst *and* a burst per row).  A side or both camera stands beside the lane
    #: (``|lateral_m|`` ≥ 1 m) with its yaw turned towards the lane (sign opposite to
    #: ``lateral_m``, at least 10°); the first camera that films the windshield paces the
    #: windshield burst, so a lane needs one.
    view: str = field(default="windshield", metadata={"choices": ("windshield", "side", "both")})


@dataclass(frozen=True)
class CaptureConfig:
    zone_near_m: float = field(default=10.0, metadata=_rng(1.0, 200.0))
    zone_far_m: float = field(default=22.0, metadata=_rng(1.0, 200.0))
    frames: int = field(default=12, metadata=_rng(1, 200))
    frame_rate_hz: float = field(default=30.0, metadata=_rng(0.1, 1000.0))
    blur_budget_px: float = field(default=1.0, metadata=_rng(0.1, 20.0))
    exposure_s: float = field(default=0.0005, metadata=_rng(1e-6, 1.0))  # fixed-settings baseline
    gain_db: float = field(default=0.0, metadata=_rng(0.0, 48.0))
    top_k: int = field(default=3, metadata=_rng(1, 50))
    face_setback_m: float = field(default=2.0, metadata=_rng(0.0, 10.0))
    #: the face finder of burst ranking and exposure metering: ``"hog"`` (dlib) or ``"yunet"``
    #: (OpenCV YuNet: finds faces a front-seat head half covers; ``lanecam[faces]``)
    face_finder: str = field(default="hog", metadata={"choices": ("hog", "yunet")})


@dataclass(frozen=True)
class ControlConfig:
    """Adaptive capture (``[control]``).  ``exposure``: close the loop on the faces metered in
    the predicted occupant ROIs (exposure, gain and — with an ``[illuminator]`` — the strobe
    pulse of the first camera, through the interlock); ``meter_rear``: meter the rear row too;
    ``bracket_max_stops``: bracket the open-loop rest brighter when the faces disagree (0 =
    off).  Cameras with a ``rotator`` turn it per burst to block the windshield glare predicted
    for a windshield raked ``rake_deg`` (refined by a Malus fit of frames at different
    analyzer angles when ``malus_probe``: the predicted angle and ±60° from it,
    filmed before the burst)."""

    exposure: bool = False
    target_dn8: float = field(default=110.0, metadata=_rng(25.0, 247.0, open_lo=True))
    max_gain_db: float = field(default=24.0, metadata=_rng(0.0, 48.0))
    closed_loop_frames: int = field(default=4, metadata=_rng(1, 50))
    bracket_max_stops: float = field(default=0.0, metadata=_rng(0.0, 4.0))
    meter_rear: bool = False
    rake_deg: float = field(default=30.0, metadata=_rng(5.0, 85.0))
    malus_probe: bool = True


@dataclass(frozen=True)
class SerialDeviceConfig:
    """A serial sensor (``[sensors.lidar]``): its port and model; ``latency_s``, the delay from
    the event to its reading arriving (measured by ``lanecam calibrate latency``), which the
    tracker takes off each reading's arrival time."""

    url: str
    model: str
    latency_s: float = field(default=0.0, metadata=_rng(0.0, 2.0))


@dataclass(frozen=True)
class RadarConfig(SerialDeviceConfig):
    """The Doppler radar (``[sensors.radar]``); besides the serial sensor's keys, measured by
    ``lanecam calibrate radar``: ``mount_deg``, the angle between its beam and the lane axis (the
    reading is v·cos(angle), divided back out), and ``speed_scale``, a residual scale factor
    applied after that (1 = none)."""

    mount_deg: float = field(default=0.0, metadata=_rng(0.0, 60.0))
    speed_scale: float = field(default=1.0, metadata=_rng(0.5, 2.0))


@dataclass(frozen=True)
class LoopSensorConfig:
    """An inductive loop detector's presence output wired to a modem-status line of a serial
    port (``[sensors.loop]``).  ``position_m``: the lane range of the loop's leading edge from
    the cameras' reference line (m, measured at installation; the tracker places a vehicle's
    front there at the entry edge); ``line``: the input (``cts``, ``dsr`` or ``cd``);
    ``active_low``: presence pulls the line low; ``debounce_s``: a state must hold this long (s)."""

    url: str
    position_m: float = field(metadata=_rng(0.0, 500.0, open_lo=True))
    line: str = field(default="cts", metadata={"choices": ("cts", "dsr", "cd")})
    active_low: bool = False
    debounce_s: float = field(default=0.02, metadata=_rng(0.0, 1.0))
    #: the detector's delay from the vehicle crossing the loop edge to the line changing (s,
    #: debounce not included; measured by ``lanecam calibrate latency``)
    latency_s: float = field(default=0.0, metadata=_rng(0.0, 2.0))


@dataclass(frozen=True)
class IlluminatorConfig:
    """The strobe controller (``[illuminator]``): its port, its model (a firmware profile name)
    and the baseline pulse every strobing camera fires — ``pulse_s`` (s; default: that camera's
    baseline exposure) at ``brightness`` (fraction of rated, through the eye-safety interlock);
    the site measurements of ``lanecam calibrate strobe`` (eye irradiance, pulse timing)."""

    url: str
    model: str
    pulse_s: float | None = field(default=None, metadata=_rng(1e-6, 1.0))
    brightness: float = field(default=1.0, metadata=_rng(0.0, 10.0))
    #: irradiance (W/m², at 100 % brightness) measured with a meter at the nearest position a
    #: person's eye can reach, ``eye_distance_m`` (m) from the lamp: the eye-safety interlock
    #: uses it; unset, the lamp is held at its rated current (no overdrive)
    irradiance_w_m2: float | None = field(default=None, metadata=_rng(0.0, 1e6, open_lo=True))
    eye_distance_m: float | None = field(default=None, metadata=_rng(0.0, 100.0, open_lo=True))
    #: measured: the pulse starts this long after the exposure at a controller delay of 0 (s;
    #: negative: before it, and the lane then delays the pulse by as much)
    latency_s: float | None = field(default=None, metadata=_rng(-0.01, 0.01))


@dataclass(frozen=True)
class MatcherConfig:
    """The face matcher (``[matcher]``): ``kind`` ``"dlib"`` (ResNet; decides on
    ``distance_threshold``, dlib descriptor distance) or ``"sface"`` (OpenCV SFace,
    ``pip install 'lanecam[faces]'``; decides on ``cosine_threshold``, cosine similarity);
    ``fmr`` the false-match rate measured at that threshold on labelled impostor pairs and
    ``fmr_upper`` its one-sided 95 % Clopper–Pearson upper bound (both written by ``lanecam
    calibrate matcher``; unset: uncalibrated).  Decisions carry ``fmr_upper`` (else ``fmr``)
    as the rate their threshold was calibrated to.  Thresholds unset: the matcher's measured
    default shipped in ``lanecam/match/thresholds.toml``, whose decisions carry its
    Clopper–Pearson bound as ``fmr``."""

    kind: str = field(default="dlib", metadata={"choices": ("dlib", "sface")})
    distance_threshold: float | None = field(default=None,
                                             metadata=_rng(0.0, 2.0, open_lo=True))
    cosine_threshold: float | None = field(default=None, metadata=_rng(-1.0, 1.0, open_lo=True))
    fmr: float | None = field(default=None, metadata=_rng(0.0, 1.0))
    fmr_upper: float | None = field(default=None, metadata=_rng(0.0, 1.0))


@dataclass(frozen=True)
class VaultConfig:
    """``root``: vault directory; ``retention_s``: seconds a crop is kept; ``key_file`` or
    ``key_env``: where the master key comes from; ``witness``: the append-only checkpoint file
    (default ``<root>.witness``; put it on other storage); ``keys``: the epoch-key directory
    (default ``<root>.keys``; outside ``root``, never backed up); ``epoch_s``: epoch length,
    fixed when the vault is created (default 3600 s)."""

    root: str
    retention_s: float = field(default=86400.0, metadata=_rng(1.0, 3.15e8))
    key_file: str | None = None
    key_env: str | None = None
    witness: str | None = None
    keys: str | None = None
    epoch_s: float | None = field(default=None, metadata=_rng(60.0, 2.68e6))


@dataclass(frozen=True)
class SinkConfig:
    kind: str = field(default="jsonl", metadata={"choices": ("jsonl", "log", "memory")})
    path: str | None = None


@dataclass(frozen=True)
class LaneConfig:
    lane_id: str
    cameras: tuple[CameraConfig, ...]
    capture: CaptureConfig = CaptureConfig()
    control: ControlConfig = ControlConfig()
    radar: RadarConfig | None = None
    lidar: SerialDeviceConfig | None = None
    loop: LoopSensorConfig | None = None
    illuminator: IlluminatorConfig | None = None
    matcher: MatcherConfig = MatcherConfig()
    vault: VaultConfig | None = None
    sinks: tuple[SinkConfig, ...] = ()
    mqtt: MqttConfig | None = None
    metrics: MetricsConfig | None = None
    gige: GigeConfig = field(default_factory=GigeConfig)
    crop_api: CropApiConfig | None = None


def _type_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true/false"}.get(
        t, getattr(t, "__name__", str(t)))


def _build(cls: type, raw: Any, path: str) -> Any:
    """Make dataclass ``cls`` from table ``raw``, checking every key against its field."""
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a table", key=path or "<root>")
    known = {f.name: f for f in fields(cls)}
    for k in raw:
        if k not in known:
            raise ConfigError("unknown key", key=f"{path}.{k}".lstrip("."), allowed=sorted(known))
    values = {}
    for name, f in known.items():
        key = f"{path}.{name}".lstrip(".")
        if name not in raw:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError("missing required key", key=key)
            continue
        values[name] = _value(f.type, raw[name], key, f.metadata)
    return cls(**values)


def _value(t: Any, v: Any, key: str, meta: Mapping[str, Any]) -> Any:
    if isinstance(t, str):  # postponed annotations
        t = eval(t, globals())
    args = get_args(t)
    if type(None) in args:  # Optional[X]
        inner = [a for a in args if a is not type(None)][0]
        return _value(inner, v, key, meta)
    if t in (str, int, float, bool):
        ok = (isinstance(v, str) if t is str else isinstance(v, bool) if t is bool else
              isinstance(v, int) and not isinstance(v, bool) if t is int else
              isinstance(v, (int, float)) and not isinstance(v, bool))
        if not ok:
            raise ConfigError(f"must be {_type_name(t)}", key=key)
        if t is float:
            v = float(v)
            if not math.isfinite(v):
                raise ConfigError("must be finite", key=key)
        lo, hi = meta.get("lo"), meta.get("hi")
        if (lo is not None and (v <= lo if meta.get("open_lo") else v < lo)) or (
                hi is not None and v > hi):
            bracket = "(" if meta.get("open_lo") else "["
            raise ConfigError(f"{v!r} is out of range", key=key, allowed=f"{bracket}{lo}, {hi}]")
        choices = meta.get("choices")
        if choices and v not in choices:
            raise ConfigError(f"{v!r} is not a choice", key=key, allowed=list(choices))
        return v
    if get_origin(t) is tuple and args and args[0] is float:  # an array of numbers
        if not isinstance(v, list) or len(v) not in meta.get("lengths", (len(v),)):
            raise ConfigError("must be an array of numbers", key=key,
                              allowed=f"length {meta.get('lengths')}")
        return tuple(_value(float, x, f"{key}[{i}]", meta) for i, x in enumerate(v))
    if get_origin(t) is tuple:
        if not isinstance(v, list):
            raise ConfigError("must be an array of tables", key=key)
        return tuple(_build(args[0], item, f"{key}[{i}]") for i, item in enumerate(v))
    return _build(t, v, key)


_DEVICE = re.compile(r"^(sim|pylon:[^\s]*|harvesters:[^\s]*)$")


def parse_lane_config(doc: Mapping[str, Any]) -> LaneConfig:
    """Validate a parsed TOML document into a :class:`LaneConfig`."""
    top = {"lane", "cameras", "capture", "control", "sensors", "illuminator", "matcher", "vault",
           "sinks", "mqtt", "metrics", "crop_api", "gige"}
    if not isinstance(doc, Mapping):
        raise ConfigError("must be a table", key="<root>")
    for k in doc:
        if k not in top:
            raise ConfigError("unknown table", key=k, allowed=sorted(top))
    lane = doc.get("lane")
    if not isinstance(lane, Mapping) or set(lane) - {"id"}:
        raise ConfigError("[lane] takes exactly 'id'", key="lane", allowed=["id"])
    lane_id = lane.get("id")
    if not isinstance(lane_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", lane_id):
        raise ConfigError("lane id must be 1-64 letters, digits, '_.-'", key="lane.id")
    cams = _value(tuple[CameraConfig, ...], doc.get("cameras", []), "cameras", {})
    if not cams:
        raise ConfigError("a lane needs at least one camera", key="cameras")
    names = [c.name for c in cams]
    if len(set(names)) != len(names):
        raise ConfigError("camera names must be unique", key="cameras", allowed=names)
    _check_devices(cams)
    sensors = doc.get("sensors", {})
    if not isinstance(sensors, Mapping):
        raise ConfigError("must be a table", key="sensors")
    for k in sensors:
        if k not in ("radar", "lidar", "loop"):
            raise ConfigError("unknown sensor", key=f"sensors.{k}", allowed=["lidar", "loop", "radar"])
    parts: dict[str, Any] = {
        k: _build({"loop": LoopSensorConfig, "radar": RadarConfig}.get(k, SerialDeviceConfig),
                  sensors[k], f"sensors.{k}") for k in sensors}
    if "illuminator" in doc:
        parts["illuminator"] = _build(IlluminatorConfig, doc["illuminator"], "illuminator")
    capture = _build(CaptureConfig, doc.get("capture", {}), "capture")
    parts["control"] = _build(ControlConfig, doc.get("control", {}), "control")
    if capture.zone_near_m >= capture.zone_far_m:
        raise ConfigError("zone_near_m must be less than zone_far_m", key="capture.zone_near_m",
                          allowed=f"< {capture.zone_far_m}")
    _check_strobe_channels(cams, "illuminator" in parts)
    check_views(cams)  # side cameras beside the lane, some camera on the windshield
    parts["gige"] = _build(GigeConfig, doc.get("gige", {}), "gige")
    _check_gige(cams, parts["gige"])
    vault = _build(VaultConfig, doc["vault"], "vault") if "vault" in doc else None
    if vault is not None and (vault.key_file is None) == (vault.key_env is None):
        raise ConfigError("name exactly one master key source", key="vault",
                          allowed=["key_file", "key_env"])
    if "mqtt" in doc:
        parts["mqtt"] = _parse_mqtt(doc["mqtt"])
    if "metrics" in doc:
        parts["metrics"] = _build(MetricsConfig, doc["metrics"], "metrics")
    if "crop_api" in doc:
        parts["crop_api"] = _build(CropApiConfig, doc["crop_api"], "crop_api")
        if vault is None:
            raise ConfigError("the crop service serves the lane's [vault]", key="crop_api")
    return LaneConfig(
        lane_id=lane_id, cameras=cams, capture=capture,
        matcher=_build(MatcherConfig, doc.get("matcher", {}), "matcher"), vault=vault,
        sinks=_value(tuple[SinkConfig, ...], doc.get("sinks", []), "sinks", {}), **parts)


def _check_devices(cams: tuple[CameraConfig, ...]) -> None:
    for i, c in enumerate(cams):
        if not _DEVICE.match(c.device):
            raise ConfigError("unknown device", key=f"cameras[{i}].device",
                              allowed=["sim", "pylon:SERIAL", "harvesters:SERIAL"])


def _parse_mqtt(raw: Any) -> MqttConfig:
    m: MqttConfig = _build(MqttConfig, raw, "mqtt")
    return check_mqtt(m)


def _check_strobe_channels(cams: tuple[CameraConfig, ...], has_illuminator: bool) -> None:
    """Strobe channels need an ``[illuminator]`` and name one camera each."""
    channels = [c.strobe_channel for c in cams if c.strobe_channel is not None]
    if channels and not has_illuminator:
        raise ConfigError("a strobe channel needs an [illuminator]", key="illuminator")
    if len(set(channels)) != len(channels):
        raise ConfigError("one camera per strobe channel", key="cameras.strobe_channel",
                          allowed=channels)


def _check_gige(cams: tuple[CameraConfig, ...], gige: GigeConfig) -> None:
    """Transport, PTP and action keys are for GigE cameras: a simulated camera has none."""
    for i, c in enumerate(cams):
        if c.transport is not None and c.device == "sim":
            raise ConfigError("a simulated camera has no GigE transport",
                              key=f"cameras[{i}].transport")
    links: dict[str, TransportConfig] = {}
    for i, c in enumerate(cams):
        t = c.transport
        if t is None:
            continue
        first = links.setdefault(t.link, t)
        if (first.link_mbps, first.headroom) != (t.link_mbps, t.headroom):
            raise ConfigError(f"cameras on link {t.link!r} disagree on its speed or headroom",
                              key=f"cameras[{i}].transport.link_mbps",
                              allowed=f"{first.link_mbps} Mb/s, headroom {first.headroom}")
    if (gige.ptp or gige.action is not None) and any(c.device == "sim" for c in cams):
        raise ConfigError("PTP and action commands need GigE cameras, not 'sim'",
                          key="gige.ptp" if gige.ptp else "gige.action")


def strobe_channels(cfg: LaneConfig) -> dict[int, int]:
    """Camera index → the ``[illuminator]`` channel it fires (empty without an illuminator):
    the configured channels, or channel 1 for the first camera when none is configured."""
    if cfg.illuminator is None:
        return {}
    named = {i: c.strobe_channel for i, c in enumerate(cfg.cameras)
             if c.strobe_channel is not None}
    return named or {0: 1}


def load_lane_config(path: str | Path) -> LaneConfig:
    """Read and validate a lane TOML file."""
    return parse_lane_config(read_toml_file(path, "lane config"))
