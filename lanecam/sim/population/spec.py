"""Population spec: the distributions a population of vehicles is drawn from, in TOML.

Every leaf is a *distribution table* with a ``kind`` and a ``source`` (a citation, or a line
starting ``ASSUMED`` where no source was found)::

    { kind = "share", p = 0.1, source = "..." }                       # Bernoulli
    { kind = "choice", values = ["a", "b"], weights = [3, 1], source = "..." }
    { kind = "uniform", lo = 0.0, hi = 1.0, source = "..." }
    { kind = "normal", mean = 0.0, sd = 1.0, lo = -2.0, hi = 2.0, source = "..." }  # truncated
    { kind = "constant", value = 1.0, source = "..." }

Head pose is a mixture: ``[[pose.driver]]`` / ``[[pose.passenger]]`` components, each with a
``name``, a ``weight`` and ``yaw_deg``, ``pitch_deg``, ``roll_deg`` distributions.  The keys
and the value each one accepts are in :data:`SCHEMA`; any other key, a wrong kind or a value
out of range raises :class:`~lanecam.errors.ConfigError` whose ``key`` is the full path and
whose ``allowed`` says what would be accepted.  Units are in the key names (``_deg``, ``_m``,
``_mph``, ``_mps2``, ``_s``); shares and transmissions are fractions 0–1.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ..vehicles import SEATS

__all__ = [
    "CLASS_NAMES",
    "SCHEMA",
    "Dist",
    "PopulationSpec",
    "PoseMode",
    "default_spec_path",
    "load_spec",
    "parse_spec",
]

#: Vehicle classes a population may draw (``bus_van``: a 12–15-seat passenger van).
CLASS_NAMES = ("hatchback", "sedan", "suv", "pickup", "van", "bus_van")
MAX_OCCUPANTS = len(SEATS)  # the world's seats (lanecam.geometry.SEAT_ROWS)

_Num = tuple[float, float]  # allowed range of a numeric distribution
#: section → key → what the key's distribution draws: a range (numbers) or a tuple of words
#: (a choice).  ``"share"`` draws True/False.
SCHEMA: dict[str, dict[str, _Num | tuple[Any, ...] | str]] = {
    "vehicle": {"class": CLASS_NAMES, "occupants": tuple(range(1, MAX_OCCUPANTS + 1)),
                "headrests": "share", "lateral_m": (-0.6, 0.6)},
    "occupant": {"child": "share", "child_head_scale": (0.6, 1.0),
                 "child_height_offset_m": (-0.2, 0.2), "adult_height_offset_m": (-0.2, 0.2),
                 "cap": "share", "sunglasses": "share", "sunglasses_nir_transmission": (0.0, 1.0),
                 "mask": "share", "hand": ("none", "hand", "phone")},
    "scene": {"night": "share", "sun_elevation_deg": (1.0, 90.0),
              "sun_azimuth_deg": (-360.0, 360.0), "sky": ("clear", "overcast"),
              "cloud_cover": (0.0, 1.0), "windshield_condition": ("clean", "rain", "dirty")},
    "glass": {"windshield": ("clear", "solar_control"), "clear_nir_transmission": (0.0, 1.0),
              "solar_control_nir_transmission": (0.0, 1.0), "side_privacy_tint": "share",
              "side_tint_nir_transmission": (0.0, 1.0), "visor": "share"},
    "motion": {"speed_mph": (5.0, 45.0), "braking": "share", "decel_mps2": (0.0, 8.0),
               "tailgating": "share", "gap_s": (0.2, 5.0)},
    "travelers": {"impostor": "share"},
}
_POSE_ROLES = ("driver", "passenger")
_POSE_AXES = {"yaw_deg": (-90.0, 90.0), "pitch_deg": (-45.0, 45.0), "roll_deg": (-45.0, 45.0)}
_KINDS = {"share": {"p"}, "choice": {"values", "weights"}, "uniform": {"lo", "hi"},
          "normal": {"mean", "sd", "lo", "hi"}, "constant": {"value"}}


@dataclass(frozen=True)
class Dist:
    """One distribution: ``kind`` and its parameters (see the module docstring)."""

    kind: str
    params: tuple[tuple[str, Any], ...]
    source: str

    def p(self, name: str) -> Any:
        return dict(self.params)[name]

    def draw(self, rng: np.random.Generator) -> Any:
        """One value (a bool for ``share``, a float for numeric kinds, a choice's value)."""
        k = self.kind
        if k == "share":
            return bool(rng.random() < self.p("p"))
        if k == "choice":
            w = np.asarray(self.p("weights"), float)
            return self.p("values")[int(rng.choice(len(w), p=w / w.sum()))]
        if k == "uniform":
            return float(rng.uniform(self.p("lo"), self.p("hi")))
        if k == "normal":  # truncated to [lo, hi] by rejection (clipped after 1000 tries)
            lo, hi = self.p("lo"), self.p("hi")
            for _ in range(1000):
                x = float(rng.normal(self.p("mean"), self.p("sd")))
                if lo <= x <= hi:
                    return x
            return float(np.clip(x, lo, hi))
        return self.p("value")


@dataclass(frozen=True)
class PoseMode:
    """One head-pose mixture component (e.g. looking at the booth, at a phone, at a mirror)."""

    name: str
    weight: float
    yaw_deg: Dist
    pitch_deg: Dist
    roll_deg: Dist


@dataclass(frozen=True)
class PopulationSpec:
    """A parsed spec: ``dists[section][key]``, pose mixtures per role, its name and text."""

    name: str
    description: str
    dists: Mapping[str, Mapping[str, Dist]]
    pose: Mapping[str, tuple[PoseMode, ...]]

    def d(self, section: str, key: str) -> Dist:
        return self.dists[section][key]


# ---------------------------------------------------------------------- validation
def _check_table(raw: Any, path: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a table", key=path or "<root>")
    for k in raw:
        if k not in keys:
            raise ConfigError("unknown key", key=f"{path}.{k}" if path else str(k),
                              allowed=sorted(keys))
    return raw


def _number(raw: Mapping[str, Any], k: str, path: str, lo: float, hi: float) -> float:
    if k not in raw:
        raise ConfigError("missing", key=f"{path}.{k}")
    v = raw[k]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError("must be a finite number", key=f"{path}.{k}")
    if not lo <= v <= hi:
        raise ConfigError(f"{v!r} is out of range", key=f"{path}.{k}", allowed=f"[{lo:g}, {hi:g}]")
    return float(v)


def _source(raw: Mapping[str, Any], path: str) -> str:
    s = raw.get("source")
    if not isinstance(s, str) or not s.strip():
        raise ConfigError("every distribution needs a source (a citation, or 'ASSUMED: why')",
                          key=f"{path}.source")
    return s


def parse_dist(raw: Any, path: str, allowed: _Num | tuple[Any, ...] | str) -> Dist:
    """Validate one distribution table against what its key ``allowed`` (see :data:`SCHEMA`)."""
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a distribution table", key=path, allowed=sorted(_KINDS))
    kind = raw.get("kind")
    rng = _range(allowed)
    ok_kinds = ("share",) if allowed == "share" else (
        ("uniform", "normal", "constant") if rng is not None else ("choice", "constant"))
    if not isinstance(kind, str) or kind not in ok_kinds:
        raise ConfigError(f"kind {kind!r} is not allowed here", key=f"{path}.kind",
                          allowed=list(ok_kinds))
    _check_table(raw, path, _KINDS[kind] | {"kind", "source"})
    source = _source(raw, path)
    if kind == "share":
        return Dist(kind, (("p", _number(raw, "p", path, 0.0, 1.0)),), source)
    if rng is None:
        assert isinstance(allowed, tuple)
        if kind == "choice":
            return Dist(kind, _choice(raw, path, allowed), source)
        v = raw.get("value")
        if isinstance(v, bool) or v not in allowed:
            raise ConfigError(f"{v!r} is not allowed", key=f"{path}.value",
                              allowed=list(allowed))
        return Dist(kind, (("value", v),), source)
    return Dist(kind, _numeric(raw, path, kind, rng), source)


def _range(allowed: Any) -> tuple[float, float] | None:
    """``allowed`` as a numeric range, or None (a word list or ``"share"``)."""
    if isinstance(allowed, tuple) and len(allowed) == 2 and all(
            isinstance(x, float) for x in allowed):
        return float(allowed[0]), float(allowed[1])
    return None


def _numeric(raw: Mapping[str, Any], path: str, kind: str, rng: tuple[float, float]
             ) -> tuple[tuple[str, Any], ...]:
    """The parameters of a ``constant``, ``uniform`` or ``normal`` inside ``rng``."""
    lo, hi = rng
    if kind == "constant":
        return (("value", _number(raw, "value", path, lo, hi)),)
    a, b = _number(raw, "lo", path, lo, hi), _number(raw, "hi", path, lo, hi)
    if a > b:
        raise ConfigError("lo must not exceed hi", key=f"{path}.lo", allowed=f"<= {b:g}")
    if kind == "uniform":
        return (("lo", a), ("hi", b))
    mean = _number(raw, "mean", path, a, b)
    sd = _number(raw, "sd", path, 0.0, hi - lo)
    return (("mean", mean), ("sd", sd), ("lo", a), ("hi", b))


def _choice(raw: Mapping[str, Any], path: str, allowed: tuple[Any, ...]
            ) -> tuple[tuple[str, Any], ...]:
    values, weights = raw.get("values"), raw.get("weights")
    if not isinstance(values, list) or not values:
        raise ConfigError("must be a non-empty list", key=f"{path}.values", allowed=list(allowed))
    for v in values:
        if isinstance(v, bool) or v not in allowed:
            raise ConfigError(f"{v!r} is not allowed", key=f"{path}.values",
                              allowed=list(allowed))
    if len(set(values)) != len(values):
        raise ConfigError("values must be distinct", key=f"{path}.values")
    if not isinstance(weights, list) or len(weights) != len(values) or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w)
            and w >= 0 for w in weights) or not sum(weights) > 0:
        raise ConfigError("must be non-negative numbers, one per value, not all 0",
                          key=f"{path}.weights", allowed=f"{len(values)} weights ≥ 0")
    return (("values", tuple(values)), ("weights", tuple(float(w) for w in weights)))


def _pose(raw: Any) -> dict[str, tuple[PoseMode, ...]]:
    top = _check_table(raw, "pose", set(_POSE_ROLES))
    out = {}
    for role in _POSE_ROLES:
        comps = top.get(role)
        if not isinstance(comps, list) or not 1 <= len(comps) <= 16:
            raise ConfigError("must be an array of 1–16 tables", key=f"pose.{role}")
        modes = []
        for i, c in enumerate(comps):
            p = f"pose.{role}[{i}]"
            t = _check_table(c, p, {"name", "weight", *_POSE_AXES})
            name = t.get("name")
            if not isinstance(name, str) or not name.isidentifier():
                raise ConfigError("must be an identifier", key=f"{p}.name")
            w = _number(t, "weight", p, 0.0, 1e6)
            axes = [parse_dist(t.get(a), f"{p}.{a}", rng) for a, rng in _POSE_AXES.items()]
            modes.append(PoseMode(name, w, *axes))
        if not sum(m.weight for m in modes) > 0:
            raise ConfigError("weights must not all be 0", key=f"pose.{role}")
        if len({m.name for m in modes}) != len(modes):
            raise ConfigError("component names must be distinct", key=f"pose.{role}")
        out[role] = tuple(modes)
    return out


def parse_spec(doc: Any) -> PopulationSpec:
    """Validate a parsed TOML document; every section and key of :data:`SCHEMA` is required."""
    top = _check_table(doc, "", {"population", *SCHEMA, "pose"})
    head = _check_table(top.get("population", {}), "population", {"name", "description"})
    name, desc = head.get("name", "population"), head.get("description", "")
    if not isinstance(name, str) or not isinstance(desc, str):
        raise ConfigError("must be a string", key="population.name")
    dists: dict[str, dict[str, Dist]] = {}
    for section, keys in SCHEMA.items():
        raw = _check_table(top.get(section), section, set(keys))
        dists[section] = {}
        for k, allowed in keys.items():
            if k not in raw:
                raise ConfigError("missing", key=f"{section}.{k}")
            dists[section][k] = parse_dist(raw[k], f"{section}.{k}", allowed)
    if "pose" not in top:
        raise ConfigError("missing", key="pose")
    return PopulationSpec(name, desc, dists, _pose(top["pose"]))


def default_spec_path() -> Path:
    """The shipped, documented default spec."""
    return Path(str(resources.files("lanecam.sim.population") / "default.toml"))


def load_spec(path: str | Path | None = None) -> PopulationSpec:
    """Load a spec file (default: :func:`default_spec_path`)."""
    p = Path(path) if path is not None else default_spec_path()
    if not p.is_file():
        raise ConfigError("population spec not found", key=str(p))
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", key=str(p)) from exc
    return parse_spec(doc)
