"""Scenario files: a TOML description of one world and how to film it, strictly validated.

Every unknown key, wrong type or out-of-range value raises :class:`~lanecam.errors.ConfigError`
whose ``key`` is the full path (``vehicle[0].occupant[1].seat``) and whose ``allowed`` says what
would be accepted.  Units are SI (metres, seconds, degrees for angles) except ``speed_mph``.

Shape (defaults in brackets)::

    [scenario]  name, description [""], seed [0], start_s [0], duration_s, frames [8]
    [sun]       elevation_deg, azimuth_deg (0 = sun down-lane behind the traffic, 180 = behind
                the camera), sky ["clear" | "overcast"], cloud_cover [0]
    [lane]      width_m [3.7]
    [[camera]]  name, lateral_m, height_m, station_m [0], pitch_deg, yaw_deg, focal_m,
                f_number, focus_m, width_px [2448], height_px [2048], band ["850nm_50"],
                polarizer ["none" | "rotatable" | "mosaic"], extinction_ratio [300],
                exposure_s, gain_db [0], polarizer_deg [90],      # these three: `sim render`
                view ["windshield" | "side" | "both"]              # side: draws the door glass
    [[lamp]]    name, position_m [x, y, z], aim_m [x, y, z], intensity_w_sr,
                half_angle_deg [15], mode ["strobe" | "continuous" | "off"], pulse_s, brightness [1]
    [[vehicle]] name, class, start_range_m, speed_mph | speed_mps, decel_mps2 [0], start_s [0],
                lateral_m [0], windshield ["clear" | "solar_control"], nir_transmission,
                rake_deg (class default), visors [[]], a_pillar_m [0.08], body_reflectance,
                headrests [true],
                side_glass ["clear" | "tinted" | "privacy"]
      [[vehicle.occupant]] seat, face, yaw_deg [0], pitch_deg [0], roll_deg [0],
                sunglasses [false], hat [false], height_offset_m [0], mask [false],
                hand ["none" | "hand" | "phone"], head_scale [1; a child ≈ 0.8, 0.6–1.2]

The named suite (:data:`SUITE`) ships in ``lanecam/sim/scenarios``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..frames import IlluminationState
from .constants import (
    EXTINCTION_RATIO,
    MPH_TO_MPS,
    RAKE_RANGE_DEG,
    SENSOR_HEIGHT_PX,
    SENSOR_WIDTH_PX,
    SOLAR_BANDS,
    SPEED_RANGE_MPS,
)
from .textures import face_names
from .vehicles import (
    HANDS,
    HEAD_SCALE_RANGE,
    SEATS,
    VEHICLE_CLASSES,
    Kinematics,
    Occupant,
    Vehicle,
)
from .world import CameraPose, Lamp, Sun, World

__all__ = [
    "SUITE",
    "CaptureSettings",
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_names",
    "scenario_path",
]

#: The named scenario suite (issue 5), in presentation order.
SUITE = ("clear_noon", "low_sun_behind", "low_sun_facing", "overcast", "night",
         "solar_control_windshield", "fast_40mph", "tailgating_pair", "visor_sunglasses",
         "rear_seat")


@dataclass(frozen=True)
class CaptureSettings:
    """How `sim render` films with one camera: exposure (s), gain (dB), polarizer angle (deg)."""

    exposure_s: float
    gain_db: float = 0.0
    polarizer_deg: float = 90.0


@dataclass(frozen=True)
class Scenario:
    """A world plus the default way to film it."""

    name: str
    description: str
    world: World
    start_s: float
    duration_s: float
    frames: int
    settings: Mapping[str, CaptureSettings]
    illumination: IlluminationState

    def frame_times(self, n: int | None = None) -> list[float]:
        """``n`` (default ``frames``) exposure start times spread evenly over the span (s)."""
        n = self.frames if n is None else n
        if n == 1:
            return [self.start_s]
        return [self.start_s + self.duration_s * i / (n - 1) for i in range(n)]


# ---------------------------------------------------------------------- validation engine
class _Table:
    """Typed access to one TOML table that remembers its path and refuses unknown keys."""

    def __init__(self, raw: Any, path: str, keys: set[str]) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError("must be a table", key=path or "<root>")
        for k in raw:
            if k not in keys:
                raise ConfigError("unknown key", key=_join(path, str(k)), allowed=sorted(keys))
        self.raw = raw
        self.path = path

    def key(self, k: str) -> str:
        return _join(self.path, k)

    def has(self, k: str) -> bool:
        return k in self.raw

    def num(self, k: str, lo: float | None = None, hi: float | None = None, *,
            default: float | None = None, open_lo: bool = False) -> float:
        if k not in self.raw:
            if default is None:
                raise ConfigError("missing", key=self.key(k))
            return default
        v = self.raw[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"must be a finite number, got {type(v).__name__}", key=self.key(k))
        bad_lo = lo is not None and (v <= lo if open_lo else v < lo)
        if bad_lo or (hi is not None and v > hi):
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            raise ConfigError(f"{v!r} is out of range", key=self.key(k),
                              allowed=f"{'(' if open_lo else '['}{lo_s}, {hi_s}]")
        return float(v)

    def integer(self, k: str, lo: int, hi: int, *, default: int | None = None) -> int:
        if k not in self.raw:
            if default is None:
                raise ConfigError("missing", key=self.key(k))
            return default
        v = self.raw[k]
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"must be an integer, got {type(v).__name__}", key=self.key(k))
        if not lo <= v <= hi:
            raise ConfigError(f"{v!r} is out of range", key=self.key(k), allowed=f"[{lo}, {hi}]")
        return v

    def word(self, k: str, choices: tuple[str, ...] | None = None, *,
             default: str | None = None, check: Callable[[str], bool] | None = None) -> str:
        if k not in self.raw:
            if default is None:
                raise ConfigError("missing", key=self.key(k),
                                  allowed=list(choices) if choices else None)
            return default
        v = self.raw[k]
        if not isinstance(v, str):
            raise ConfigError(f"must be a string, got {type(v).__name__}", key=self.key(k))
        if choices is not None and v not in choices:
            raise ConfigError(f"{v!r} is not allowed", key=self.key(k), allowed=list(choices))
        if check is not None and not check(v):
            raise ConfigError(f"{v!r} is not a valid name", key=self.key(k))
        return v

    def flag(self, k: str, default: bool = False) -> bool:
        v = self.raw.get(k, default)
        if not isinstance(v, bool):
            raise ConfigError(f"must be true or false, got {type(v).__name__}", key=self.key(k))
        return v

    def vec3(self, k: str) -> tuple[float, float, float]:
        v = self.raw.get(k)
        if v is None:
            raise ConfigError("missing", key=self.key(k))
        if not (isinstance(v, list) and len(v) == 3 and all(
                isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)
                for a in v)):
            raise ConfigError("must be [x, y, z] in metres", key=self.key(k))
        return (float(v[0]), float(v[1]), float(v[2]))

    def tables(self, k: str, *, required: bool, lo: int = 0, hi: int = 16) -> list[Any]:
        v = self.raw.get(k, [])
        if not isinstance(v, list):
            raise ConfigError("must be an array of tables", key=self.key(k))
        if required and not v:
            raise ConfigError("at least one is required", key=self.key(k))
        if not lo <= len(v) <= hi:
            raise ConfigError(f"{len(v)} entries", key=self.key(k), allowed=f"{lo}–{hi} entries")
        return v


def _join(path: str, k: str) -> str:
    return f"{path}.{k}" if path else k


def _ident(s: str) -> bool:
    return bool(s) and len(s) <= 64 and all(c.isalnum() or c in "_-." for c in s)


# ---------------------------------------------------------------------- parsing
_TOP = {"scenario", "sun", "lane", "camera", "lamp", "vehicle"}
_CAMERA = {"name", "lateral_m", "height_m", "station_m", "pitch_deg", "yaw_deg", "focal_m",
           "f_number", "focus_m", "width_px", "height_px", "band", "polarizer",
           "extinction_ratio", "exposure_s", "gain_db", "polarizer_deg", "view"}
_LAMP = {"name", "position_m", "aim_m", "intensity_w_sr", "half_angle_deg", "mode", "pulse_s",
          "brightness"}
_VEHICLE = {"name", "class", "start_range_m", "speed_mph", "speed_mps", "decel_mps2", "start_s",
            "lateral_m", "windshield", "nir_transmission", "rake_deg", "visors", "a_pillar_m",
            "body_reflectance", "headrests", "occupant", "side_glass"}
_OCC = {"seat", "face", "yaw_deg", "pitch_deg", "roll_deg", "sunglasses", "hat",
        "height_offset_m", "mask", "hand", "head_scale"}


def parse_scenario(doc: Mapping[str, Any]) -> Scenario:
    """Validate a parsed TOML document and build the :class:`Scenario`."""
    top = _Table(doc, "", _TOP)
    head = _Table(top.raw.get("scenario"), "scenario",
                  {"name", "description", "seed", "start_s", "duration_s", "frames"})
    name = head.word("name", check=_ident)
    description = head.word("description", default="")
    seed = head.integer("seed", 0, 2**63 - 1, default=0)
    start_s = head.num("start_s", -60.0, 600.0, default=0.0)
    duration_s = head.num("duration_s", 0.0, 600.0, open_lo=True)
    frames = head.integer("frames", 1, 64, default=8)

    sun = _sun(top)
    lane = _Table(top.raw.get("lane", {}), "lane", {"width_m"})
    lane_w = lane.num("width_m", 2.5, 5.0, default=3.7)
    cameras, settings = _cameras(top)
    lamps, illum = _lamps(top)
    vehicles = _vehicles(top)
    world = World(tuple(cameras), sun, tuple(vehicles), tuple(lamps), lane_w, seed)
    return Scenario(name, description, world, start_s, duration_s, frames, settings, illum)


def _sun(top: _Table) -> Sun:
    """The ``[sun]`` table: elevation and azimuth (deg), sky, cloud cover (0–1)."""
    sun_t = _Table(top.raw.get("sun"), "sun", {"elevation_deg", "azimuth_deg", "sky",
                                               "cloud_cover"})
    sun = Sun(sun_t.num("elevation_deg", -90, 90), sun_t.num("azimuth_deg", -360, 360),
              sun_t.word("sky", ("clear", "overcast"), default="clear"),
              sun_t.num("cloud_cover", 0, 1, default=0.0))
    return sun


def _cameras(top: _Table) -> tuple[list[CameraPose], dict[str, CaptureSettings]]:
    """The ``[[camera]]`` tables: each pose, and how ``sim render`` films with it."""
    cameras, settings = [], {}
    for i, raw in enumerate(top.tables("camera", required=True, lo=1, hi=4)):
        c = _Table(raw, f"camera[{i}]", _CAMERA)
        focal = c.num("focal_m", 0.004, 0.3)
        pose = CameraPose(
            name=c.word("name", check=_ident), lateral_m=c.num("lateral_m", -20, 20),
            height_m=c.num("height_m", 0.3, 12), station_m=c.num("station_m", -50, 50, default=0.0),
            pitch_deg=c.num("pitch_deg", -30, 60), yaw_deg=c.num("yaw_deg", -90, 90),
            focal_m=focal, f_number=c.num("f_number", 1.0, 22.0),
            focus_m=c.num("focus_m", focal * 2, 1000.0, open_lo=True),
            width_px=c.integer("width_px", 64, 8192, default=SENSOR_WIDTH_PX),
            height_px=c.integer("height_px", 64, 8192, default=SENSOR_HEIGHT_PX),
            band=c.word("band", tuple(SOLAR_BANDS), default="850nm_50"),
            polarizer=c.word("polarizer", ("none", "rotatable", "mosaic"), default="none"),
            extinction_ratio=c.num("extinction_ratio", 1.0, 1e6, default=EXTINCTION_RATIO),
            view=c.word("view", ("windshield", "side", "both"), default="windshield"))
        if pose.name in settings:
            raise ConfigError("duplicate camera name", key=c.key("name"))
        cameras.append(pose)
        settings[pose.name] = CaptureSettings(c.num("exposure_s", 1e-6, 1.0),
                                              c.num("gain_db", 0.0, 48.0, default=0.0),
                                              c.num("polarizer_deg", -360, 360, default=90.0))
    return cameras, settings


def _lamps(top: _Table) -> tuple[list[Lamp], IlluminationState]:
    """The ``[[lamp]]`` tables: the lamps and their one shared controller state."""
    lamps, illum = [], IlluminationState("off")
    for i, raw in enumerate(top.tables("lamp", required=False, hi=4)):
        t = _Table(raw, f"lamp[{i}]", _LAMP)
        lamps.append(Lamp(t.word("name", check=_ident), t.vec3("position_m"),
                          t.vec3("aim_m"), t.num("intensity_w_sr", 0.0, 1e6, open_lo=True),
                          t.num("half_angle_deg", 1.0, 90.0, default=15.0)))
        mode = t.word("mode", ("strobe", "continuous", "off"), default="strobe")
        pulse = t.num("pulse_s", 0.0, 1.0, open_lo=True) if mode == "strobe" else None
        if mode != "strobe" and t.has("pulse_s"):
            raise ConfigError("pulse_s only applies to mode = \"strobe\"", key=t.key("pulse_s"))
        state = IlluminationState(mode, pulse, t.num("brightness", 0.0, 2.0, default=1.0))
        if i and state != illum:
            raise ConfigError("all lamps share one controller state", key=t.key("mode"))
        illum = state
    return lamps, illum


def _vehicles(top: _Table) -> list[Vehicle]:
    """The ``[[vehicle]]`` tables, names unique."""
    vehicles = []
    for i, raw in enumerate(top.tables("vehicle", required=False, hi=4)):
        vehicles.append(_vehicle(_Table(raw, f"vehicle[{i}]", _VEHICLE)))
    if len({v.name for v in vehicles}) != len(vehicles):
        raise ConfigError("vehicle names must be unique", key="vehicle")
    return vehicles


def _vehicle(t: _Table) -> Vehicle:
    cls_name = t.word("class", tuple(VEHICLE_CLASSES))
    vclass = VEHICLE_CLASSES[cls_name]
    if t.has("rake_deg"):
        vclass = replace(vclass, rake_deg=t.num("rake_deg", *RAKE_RANGE_DEG))
    lo, hi = SPEED_RANGE_MPS
    if t.has("speed_mph") == t.has("speed_mps"):
        raise ConfigError("give exactly one of speed_mph, speed_mps", key=t.key("speed_mph"))
    if t.has("speed_mph"):
        speed = t.num("speed_mph", lo / MPH_TO_MPS - 1e-9, hi / MPH_TO_MPS + 1e-9) * MPH_TO_MPS
    else:
        speed = t.num("speed_mps", lo - 1e-9, hi + 1e-9)
    kin = Kinematics(t.num("start_range_m", 0.0, 500.0, open_lo=True), speed,
                     t.num("decel_mps2", 0.0, 10.0, default=0.0),
                     t.num("start_s", -60.0, 600.0, default=0.0))
    visors = t.raw.get("visors", [])
    if not isinstance(visors, list) or not all(v in ("driver", "front_passenger") for v in visors) \
            or len(set(visors)) != len(visors):
        raise ConfigError("must be a list of distinct front seats", key=t.key("visors"),
                          allowed=["driver", "front_passenger"])
    occs = []
    faces = face_names()
    for j, raw in enumerate(t.tables("occupant", required=True, lo=1, hi=5)):
        o = _Table(raw, f"{t.path}.occupant[{j}]", _OCC)
        occs.append(Occupant(
            seat=o.word("seat", tuple(SEATS)), face=o.word("face", faces),
            yaw_deg=o.num("yaw_deg", -90, 90, default=0.0),
            pitch_deg=o.num("pitch_deg", -45, 45, default=0.0),
            roll_deg=o.num("roll_deg", -45, 45, default=0.0),
            sunglasses=o.flag("sunglasses"), hat=o.flag("hat"),
            height_offset_m=o.num("height_offset_m", -0.2, 0.2, default=0.0),
            mask=o.flag("mask"), hand=o.word("hand", HANDS, default="none"),
            head_scale=o.num("head_scale", *HEAD_SCALE_RANGE, default=1.0)))
    seats = [o.seat for o in occs]
    if len(set(seats)) != len(seats):
        raise ConfigError("two occupants in one seat", key=f"{t.path}.occupant",
                          allowed=sorted(SEATS))
    nir = t.num("nir_transmission", 0.0, 1.0) if t.has("nir_transmission") else None
    return Vehicle(vclass, kin, tuple(occs), t.num("lateral_m", -2.0, 2.0, default=0.0),
                   t.word("windshield", ("clear", "solar_control"), default="clear"), nir,
                   tuple(visors), t.num("a_pillar_m", 0.0, 0.3, default=0.08),
                   t.num("body_reflectance", 0.0, 1.0, default=0.35),
                   t.word("name", check=_ident, default=f"vehicle{t.path[8:-1]}"),
                   t.flag("headrests", default=True),
                   t.word("side_glass", ("clear", "tinted", "privacy"), default="clear"))


# ---------------------------------------------------------------------- files
def _dir() -> Path:
    return Path(str(resources.files("lanecam.sim") / "scenarios"))


def scenario_names() -> tuple[str, ...]:
    """Every scenario shipped with lanecam (the suite first)."""
    shipped = sorted(p.stem for p in _dir().glob("*.toml"))
    return tuple(n for n in SUITE if n in shipped) + tuple(n for n in shipped if n not in SUITE)


def scenario_path(name_or_path: str | Path) -> Path:
    """A shipped scenario's file, or an explicit ``.toml`` path."""
    p = Path(name_or_path)
    if p.suffix == ".toml":
        if not p.is_file():
            raise ConfigError("scenario file not found", key=str(p))
        return p
    cand = _dir() / f"{name_or_path}.toml"
    if not cand.is_file():
        raise ConfigError("unknown scenario", key=str(name_or_path), allowed=list(scenario_names()))
    return cand


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name, or any scenario file by path."""
    path = scenario_path(name_or_path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", key=str(path)) from exc
    return parse_scenario(doc)
