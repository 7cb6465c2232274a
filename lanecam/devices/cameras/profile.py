"""Camera firmware profiles: our canonical feature names → each camera family's GenICam nodes.

A profile is a TOML file in ``firmware_profiles/cameras/`` (shipped; found through
:func:`lanecam.devices.profiles.profile_dir`) or in a directory the integrator passes.  Example::

    [profile]
    name = "basler-ace2"
    title = "Basler ace 2 (SFNC 2.x naming)"
    extends = "generic-sfnc2"           # optional: inherit features, then override
    [[profile.match]]
    vendor = "Basler"
    model_regex = "^a2A"

    [features]
    exposure_time = { node = "ExposureTime", scale = 1e6 }     # node value = seconds × 1e6 (µs)
    trigger_selector = { node = "TriggerSelector", values = { frame = "FrameStart", burst = "FrameBurstStart" } }
    burst_frame_count = { node = "AcquisitionBurstFrameCount" }

    [polarization]                       # only for division-of-focal-plane sensors
    layout = [[135, 0], [90, 45]]        # degrees of the 2×2 super-pixel, row-major

    [[gain_model]]                       # per model, for a raw gain node: steps per dB …
    model_regex = "^piA640-210g[mc]"
    scale = 27.855                       # node steps per dB (0.0359 dB per step)
    source = "where the number comes from"
    [[gain_model]]                       # … or a logarithmic law: dB = 20·log10(raw / log_ref)
    model_regex = "^acA2000-50g"
    log_ref = 32
    source = "…"

Canonical values are SI (seconds, dB, Hz); ``scale``/``offset`` convert at the wire
(``node = value × scale + offset``).  When ``gain`` maps to a raw integer node whose dB step
differs by model, ``[[gain_model]]`` rows give the step per model (first matching row wins);
a model no row covers has no ``gain`` (UnsupportedFeatureError naming the model, and
:attr:`Profile.absent` says why) rather than a guessed step.  ``values`` maps our canonical enum words to the
family's entry names; entries not listed pass through unchanged.  A canonical name the
profile lacks means the family lacks the feature: asking for it raises
:class:`~lanecam.errors.UnsupportedFeatureError` naming the model.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ..profiles import check_identifier, parse_once, profile_dir, read_toml

__all__ = [
    "FeatureKind",
    "CANONICAL_FEATURES",
    "FeatureMap",
    "Profile",
    "load_profile",
    "load_profiles",
    "builtin_profile_dir",
    "select_profile",
]


class FeatureKind:
    """How a canonical feature is typed at our API."""

    FLOAT = "float"  # SI number, converted with scale/offset
    INT = "int"  # integral count or pixels
    ENUM = "enum"  # word, mapped through `values`
    BOOL = "bool"
    STRING = "string"
    COMMAND = "command"  # executed, no value


#: Every canonical feature lanecam knows, its kind and its SI unit (for messages and docs).
CANONICAL_FEATURES: dict[str, tuple[str, str]] = {
    "exposure_time": (FeatureKind.FLOAT, "s"),
    "gain": (FeatureKind.FLOAT, "dB"),
    "gain_selector": (FeatureKind.ENUM, ""),  # word "all": the gain every tap/channel gets
    "frame_rate": (FeatureKind.FLOAT, "Hz"),
    "frame_rate_enable": (FeatureKind.BOOL, ""),
    "trigger_delay": (FeatureKind.FLOAT, "s"),
    "width": (FeatureKind.INT, "px"),
    "height": (FeatureKind.INT, "px"),
    "offset_x": (FeatureKind.INT, "px"),
    "offset_y": (FeatureKind.INT, "px"),
    "pixel_format": (FeatureKind.ENUM, ""),
    "acquisition_mode": (FeatureKind.ENUM, ""),
    "exposure_auto": (FeatureKind.ENUM, ""),
    "gain_auto": (FeatureKind.ENUM, ""),
    "trigger_selector": (FeatureKind.ENUM, ""),
    "trigger_mode": (FeatureKind.ENUM, ""),
    "trigger_source": (FeatureKind.ENUM, ""),
    "trigger_activation": (FeatureKind.ENUM, ""),
    "trigger_software": (FeatureKind.COMMAND, ""),
    "line_selector": (FeatureKind.ENUM, ""),
    "line_mode": (FeatureKind.ENUM, ""),
    "line_source": (FeatureKind.ENUM, ""),
    "line_debouncer_time": (FeatureKind.FLOAT, "s"),
    "burst_frame_count": (FeatureKind.INT, "frames"),
    "burst_mode": (FeatureKind.ENUM, ""),
    "ptp_enable": (FeatureKind.BOOL, ""),
    "timestamp_latch": (FeatureKind.COMMAND, ""),
    "timestamp_value": (FeatureKind.INT, "ticks"),
    "action_device_key": (FeatureKind.INT, ""),
    "action_group_key": (FeatureKind.INT, ""),
    "action_group_mask": (FeatureKind.INT, ""),
    "test_image_selector": (FeatureKind.ENUM, ""),
    "image_file_mode": (FeatureKind.ENUM, ""),
    "image_filename": (FeatureKind.STRING, ""),
    "failed_buffer_count": (FeatureKind.INT, "frames"),
    "failed_buffer": (FeatureKind.COMMAND, ""),
    "device_removal": (FeatureKind.COMMAND, ""),
    # sequencer, Basler classic SFNC 1.x (lanecam.devices.cameras.sequencer)
    "sequence_enable": (FeatureKind.BOOL, ""),
    "sequence_advance_mode": (FeatureKind.ENUM, ""),  # word "auto": next set every frame
    "sequence_set_total": (FeatureKind.INT, "sets"),
    "sequence_set_index": (FeatureKind.INT, ""),
    "sequence_set_executions": (FeatureKind.INT, "frames"),
    "sequence_set_store": (FeatureKind.COMMAND, ""),
    # sequencer, SFNC 2 (ace 2, FLIR)
    "sequencer_mode": (FeatureKind.ENUM, ""),  # words "on", "off"
    "sequencer_configuration_mode": (FeatureKind.ENUM, ""),  # words "on", "off"
    "sequencer_set_selector": (FeatureKind.INT, ""),
    "sequencer_set_save": (FeatureKind.COMMAND, ""),
    "sequencer_set_start": (FeatureKind.INT, ""),
    "sequencer_path_selector": (FeatureKind.INT, ""),
    "sequencer_set_next": (FeatureKind.INT, ""),
    "sequencer_trigger_source": (FeatureKind.ENUM, ""),  # word "frame": advance every frame
    # chunk data (lanecam.devices.cameras.chunks): words of chunk_selector are CHUNK_KEYS
    "chunk_mode_active": (FeatureKind.BOOL, ""),
    "chunk_selector": (FeatureKind.ENUM, ""),
    "chunk_enable": (FeatureKind.BOOL, ""),
    "chunk_exposure_time": (FeatureKind.FLOAT, "s"),  # read from a frame's chunks
    "chunk_gain": (FeatureKind.FLOAT, "dB"),
    "chunk_timestamp": (FeatureKind.INT, "ticks"),
    "chunk_frame_counter": (FeatureKind.INT, "frames"),
    "chunk_line_status": (FeatureKind.INT, ""),
    "chunk_sequencer_set": (FeatureKind.INT, ""),
}

_MATCH_KEYS = {"vendor", "model", "model_regex"}
_FEATURE_KEYS = {"node", "scale", "offset", "values", "note"}
_PROFILE_KEYS = {"name", "title", "extends", "sfnc", "match", "source", "gain_per_model"}
_TOP_KEYS = {"profile", "features", "polarization", "gain_model"}
_GAIN_LAWS = ("scale", "log_ref")


@dataclass(frozen=True)
class FeatureMap:
    """One canonical feature as one family spells it."""

    canonical: str
    node: str
    kind: str
    unit: str
    scale: float = 1.0
    offset: float = 0.0
    values: Mapping[str, str] = field(default_factory=dict)
    #: > 0: a logarithmic law instead of scale/offset, ``value = 20·log10(node / log_ref)``
    #: (dB from a raw gain; from a ``[[gain_model]]`` row)
    log_ref: float = 0.0

    def to_node(self, value: Any) -> Any:
        """Canonical (SI) value → node value."""
        if self.kind == FeatureKind.FLOAT and self.log_ref > 0:
            return self.log_ref * 10.0 ** (float(value) / 20.0)
        if self.kind == FeatureKind.FLOAT:
            return float(value) * self.scale + self.offset
        if self.kind == FeatureKind.INT:
            return int(value)
        if self.kind == FeatureKind.ENUM:
            return self.values.get(str(value), str(value))
        return value

    def from_node(self, raw: Any) -> Any:
        """Node value → canonical (SI) value."""
        if self.kind == FeatureKind.FLOAT and self.log_ref > 0:
            return 20.0 * math.log10(raw / self.log_ref) if raw > 0 else -math.inf
        if self.kind == FeatureKind.FLOAT:
            return (float(raw) - self.offset) / self.scale
        if self.kind == FeatureKind.ENUM:
            for word, entry in self.values.items():
                if entry == raw:
                    return word
            return str(raw)
        return raw


@dataclass(frozen=True)
class Profile:
    """A firmware profile: which cameras it matches and how their features are spelled."""

    name: str
    title: str
    features: Mapping[str, FeatureMap]
    matches: tuple[Mapping[str, str], ...] = ()
    sfnc: str = ""
    polarization_layout: tuple[tuple[int, int], tuple[int, int]] | None = None
    source: str = ""
    gain_models: tuple[Mapping[str, Any], ...] = ()
    gain_per_model: bool = False  # gain's dB step comes only from a [[gain_model]] row
    #: canonical features this profile leaves out for the selected model, and why
    absent: Mapping[str, str] = field(default_factory=dict)

    def match_rank(self, vendor: str, model: str) -> int:
        """How specifically this profile matches: 3 exact model, 2 model regex, 1 vendor, 0 none."""
        best = 0
        for m in self.matches:
            if "vendor" in m and _vendor_key(m["vendor"]) != _vendor_key(vendor):
                continue
            if "model" in m and m["model"] != model:
                continue
            if "model_regex" in m and not re.search(m["model_regex"], model):
                continue
            best = max(best, 3 if "model" in m else 2 if "model_regex" in m else 1)
        return best

    def feature(self, canonical: str) -> FeatureMap | None:
        return self.features.get(canonical)

    def for_model(self, model: str) -> Profile:
        """This profile with per-model data (``[[gain_model]]``) resolved for ``model``; the
        same object for the same profile and model (a re-opened camera rebuilds nothing)."""
        gain = self.features.get("gain")
        if not self.gain_per_model or gain is None:
            return self
        hit = _FOR_MODEL.get((id(self), model))
        if hit is not None and hit[0] is self:
            return hit[1]
        resolved = self._resolve_model(model, gain)
        _FOR_MODEL[(id(self), model)] = (self, resolved)
        return resolved

    def _resolve_model(self, model: str, gain: FeatureMap) -> Profile:
        feats = dict(self.features)
        for row in self.gain_models:
            if re.search(row["model_regex"], model):
                law = {k: float(row[k]) for k in _GAIN_LAWS if k in row}
                feats["gain"] = dataclasses.replace(gain, **law)
                return dataclasses.replace(self, features=feats)
        del feats["gain"]
        why = (f"{gain.node} is in raw steps and no [[gain_model]] row gives the dB step of "
               f"{model!r}; add one (from the model's manual) in a profile that extends "
               f"{self.name!r}")
        return dataclasses.replace(self, features=feats, absent={**self.absent, "gain": why})


#: (id of a profile, model) → (that profile, its per-model resolution); the profile is kept in
#: the value so that its id cannot be reused while the entry lives
_FOR_MODEL: dict[tuple[int, str], tuple[Profile, Profile]] = {}


def _vendor_key(vendor: str) -> str:
    """Vendors compare without case, spaces or punctuation: the XML's
    ``Allied_Vision_Technologies`` is the device's ``Allied Vision Technologies``."""
    return re.sub(r"[^0-9a-z]", "", vendor.casefold())


def builtin_profile_dir() -> Path:
    """The camera profiles shipped inside the package."""
    return profile_dir("cameras")


def _err(msg: str, key: str, allowed: Any = None, src: str = "") -> ConfigError:
    where = f" in {src}" if src else ""
    return ConfigError(f"{msg}{where}", key=key, allowed=allowed)


def _parse_raw(doc: Mapping[str, Any], src: str) -> dict[str, Any]:
    """Validate one profile document's shape; return its parts (features unresolved)."""
    if not isinstance(doc, Mapping):
        raise _err("a profile must be a TOML table", "<root>", src=src)
    for k in doc:
        if k not in _TOP_KEYS:
            raise _err("unknown top-level table", k, sorted(_TOP_KEYS), src)
    head = doc.get("profile")
    if not isinstance(head, Mapping):
        raise _err("missing [profile] table", "profile", src=src)
    name = _parse_head(head, src)
    matches = _parse_matches(head.get("match", []), src)
    feats = doc.get("features", {})
    if not isinstance(feats, Mapping):
        raise _err("must be a table", "features", src=src)
    parsed = {canon: _parse_feature(canon, spec, src) for canon, spec in feats.items()}
    pol = doc.get("polarization")
    layout = None
    if pol is not None:
        if not isinstance(pol, Mapping) or set(pol) - {"layout"}:
            raise _err("polarization takes only 'layout'", "polarization", ["layout"], src)
        layout = _parse_layout(pol.get("layout"), src)
    return {
        "gain_models": _parse_gain_models(doc.get("gain_model", []), src),
        "gain_per_model": _flag(head, "gain_per_model", src),
        "name": name,
        "title": head.get("title", name),
        "extends": head.get("extends"),
        "sfnc": head.get("sfnc", ""),
        "source": head.get("source", ""),
        "matches": matches,
        "features": parsed,
        "layout": layout,
    }


def _parse_head(head: Mapping[str, Any], src: str) -> str:
    """Check the ``[profile]`` table's keys; return the profile name."""
    for k in head:
        if k not in _PROFILE_KEYS:
            raise _err("unknown key", f"profile.{k}", sorted(_PROFILE_KEYS), src)
    name = check_identifier(head.get("name"), "profile.name", src)
    for k in ("title", "extends", "sfnc", "source"):
        if k in head and not isinstance(head[k], str):
            raise _err("must be a string", f"profile.{k}", src=src)
    return name


def _parse_matches(matches: Any, src: str) -> tuple[dict[str, str], ...]:
    """Check the ``[[profile.match]]`` tables."""
    if not isinstance(matches, list):
        raise _err("must be an array of tables", "profile.match", src=src)
    for i, m in enumerate(matches):
        if not isinstance(m, Mapping):
            raise _err("must be a table", f"profile.match[{i}]", src=src)
        for k, v in m.items():
            if k not in _MATCH_KEYS:
                raise _err("unknown key", f"profile.match[{i}].{k}", sorted(_MATCH_KEYS), src)
            if not isinstance(v, str):
                raise _err("must be a string", f"profile.match[{i}].{k}", src=src)
        if "model_regex" in m:
            try:
                re.compile(m["model_regex"])
            except re.error as exc:
                raise _err(f"bad regex: {exc}", f"profile.match[{i}].model_regex", src=src) from exc
    return tuple(dict(m) for m in matches)


def _parse_feature(canon: str, spec: Any, src: str) -> FeatureMap | None:
    """One ``[features]`` entry; ``None`` for ``false`` (the family lacks it)."""
    key = f"features.{canon}"
    if canon not in CANONICAL_FEATURES:
        raise _err("unknown canonical feature", key, sorted(CANONICAL_FEATURES), src)
    kind, unit = CANONICAL_FEATURES[canon]
    if spec is False:  # explicit "this family lacks it", overriding a parent
        return None
    if not isinstance(spec, Mapping):
        raise _err("must be a table like { node = \"Name\" } or false", key, src=src)
    for k in spec:
        if k not in _FEATURE_KEYS:
            raise _err("unknown key", f"{key}.{k}", sorted(_FEATURE_KEYS), src)
    node = spec.get("node")
    if not isinstance(node, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node):
        raise _err("node must be a GenICam feature name", f"{key}.node", src=src)
    scale = spec.get("scale", 1.0)
    offset = spec.get("offset", 0.0)
    for k, v in (("scale", scale), ("offset", offset)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise _err("must be a number", f"{key}.{k}", src=src)
    if ("scale" in spec or "offset" in spec) and kind != FeatureKind.FLOAT:
        raise _err("scale/offset only apply to float features", key, src=src)
    if scale == 0:
        raise _err("scale must not be zero", f"{key}.scale", src=src)
    values = spec.get("values", {})
    if not isinstance(values, Mapping) or not all(
        isinstance(a, str) and isinstance(b, str) for a, b in values.items()
    ):
        raise _err("must be a table of strings", f"{key}.values", src=src)
    if values and kind != FeatureKind.ENUM:
        raise _err("values only apply to enum features", key, src=src)
    return FeatureMap(canon, node, kind, unit, float(scale), float(offset), dict(values))


def _flag(head: Mapping[str, Any], key: str, src: str) -> bool | None:
    value = head.get(key)
    if value is not None and not isinstance(value, bool):
        raise _err("must be true or false", f"profile.{key}", src=src)
    return value


def _parse_gain_models(rows: Any, src: str) -> tuple[dict[str, Any], ...]:
    """Check the ``[[gain_model]]`` rows: model_regex, scale (steps per dB), source."""
    if not isinstance(rows, list):
        raise _err("must be an array of tables", "gain_model", src=src)
    for i, row in enumerate(rows):
        key = f"gain_model[{i}]"
        laws = [k for k in _GAIN_LAWS if isinstance(row, Mapping) and k in row]
        if not isinstance(row, Mapping) or len(laws) != 1 or \
                set(row) != {"model_regex", "source", laws[0]}:
            raise _err("needs model_regex, source and one of scale / log_ref", key,
                       ["model_regex", "source", *_GAIN_LAWS], src)
        law = row[laws[0]]
        if isinstance(law, bool) or not isinstance(law, (int, float)) or not law > 0:
            raise _err("must be a number > 0", f"{key}.{laws[0]}", src=src)
        if not isinstance(row["source"], str) or not row["source"].strip():
            raise _err("must say where the step comes from", f"{key}.source", src=src)
        try:
            re.compile(str(row["model_regex"]))
        except re.error as exc:
            raise _err(f"bad regex: {exc}", f"{key}.model_regex", src=src) from exc
    return tuple(dict(r) for r in rows)


def _parse_layout(raw: Any, src: str) -> tuple[tuple[int, int], tuple[int, int]]:
    ok = (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(r, list) and len(r) == 2 for r in raw)
        and all(isinstance(a, int) and not isinstance(a, bool) for r in raw for a in r)
    )
    if not ok or sorted(a for r in raw for a in r) != [0, 45, 90, 135]:
        raise _err("layout must be a 2×2 array of the angles 0, 45, 90, 135",
                   "polarization.layout", src=src)
    return (tuple(raw[0]), tuple(raw[1]))  # type: ignore[return-value]


def load_profiles(dirs: Iterable[Path | str] | None = None) -> dict[str, Profile]:
    """Load and resolve every ``*.toml`` camera profile in ``dirs`` (default: the built-ins).

    Files whose name starts with ``illuminator-``, ``sensor-`` or ``rotator-`` belong to other
    device kinds and are not read here.  Later directories override earlier ones by profile
    name.  Parsed once per process (:func:`~lanecam.devices.profiles.parse_once`): the same
    :class:`Profile` objects come back until a file in ``dirs`` changes; the dict is the
    caller's own.
    """
    folders = [builtin_profile_dir()] if dirs is None else [Path(p) for p in dirs]
    paths: list[Path] = []
    for d in folders:
        if not d.is_dir():
            raise ConfigError("profile directory does not exist", key=str(d))
        paths += [p for p in sorted(d.glob("*.toml"))
                  if not p.name.startswith(("illuminator-", "sensor-", "rotator-"))]
    key = ("camera-profiles", *(str(d.resolve()) for d in folders))
    return dict(parse_once(key, paths, lambda: _load_all(paths)))


def _load_all(paths: Sequence[Path]) -> dict[str, Profile]:
    raw: dict[str, dict[str, Any]] = {}
    for path in paths:
        part = _parse_raw(read_toml(path), str(path))
        raw[part["name"]] = part
    return {name: _resolve(name, raw, ()) for name in raw}


def load_profile(path: Path | str, base: Mapping[str, Profile] | None = None) -> Profile:
    """Load one profile file; ``extends`` is resolved against ``base`` (default: built-ins,
    and then parsed once per process like :func:`load_profiles`)."""
    if base is None:
        builtins = load_profiles()
        return parse_once(("camera-profile", str(builtin_profile_dir().resolve())),
                          [Path(path), *sorted(builtin_profile_dir().glob("*.toml"))],
                          lambda: load_profile(path, builtins))
    part = _parse_raw(read_toml(Path(path)), str(path))
    raw = {n: _as_raw(p) for n, p in base.items()}
    raw[part["name"]] = part
    return _resolve(part["name"], raw, ())


def _as_raw(p: Profile) -> dict[str, Any]:
    return {"name": p.name, "title": p.title, "extends": None, "sfnc": p.sfnc, "source": p.source,
            "matches": p.matches, "features": dict(p.features), "layout": p.polarization_layout,
            "gain_models": p.gain_models, "gain_per_model": p.gain_per_model}


def _resolve(name: str, raw: Mapping[str, dict[str, Any]], chain: tuple[str, ...]) -> Profile:
    if name in chain:
        raise ConfigError("profile inheritance cycle", key=" -> ".join((*chain, name)))
    part = raw[name]
    feats: dict[str, FeatureMap | None] = {}
    layout = part["layout"]
    parent = part["extends"]
    if parent is not None:
        if parent not in raw:
            raise ConfigError("extends an unknown profile", key=f"{name}: profile.extends",
                              allowed=sorted(raw))
        base = _resolve(parent, raw, (*chain, name))
        feats.update(base.features)
        layout = layout or base.polarization_layout
        if not part["gain_models"] and "gain" not in part["features"]:
            part = {**part, "gain_models": base.gain_models}
        if part["gain_per_model"] is None:
            part = {**part, "gain_per_model": base.gain_per_model}
    feats.update(part["features"])
    return Profile(
        name=name,
        title=part["title"],
        features={k: v for k, v in feats.items() if v is not None},
        matches=part["matches"],
        sfnc=part["sfnc"],
        polarization_layout=layout,
        source=part["source"],
        gain_models=part["gain_models"],
        gain_per_model=bool(part["gain_per_model"]),
    )


def select_profile(
    vendor: str, model: str, profiles: Mapping[str, Profile], override: str | None = None
) -> Profile:
    """The profile for a camera: the explicit ``override`` name, else the first match.

    Raises :class:`ConfigError` when the override is unknown or nothing matches (an
    integrator then passes ``profile="generic-sfnc2"`` explicitly; we never guess).
    """
    if override is not None:
        if override not in profiles:
            raise ConfigError("unknown firmware profile", key="profile", allowed=sorted(profiles))
        return profiles[override].for_model(model)
    ranked = sorted(
        ((p.match_rank(vendor, model), p.name) for p in profiles.values()), key=lambda t: (-t[0], t[1])
    )
    if not ranked or ranked[0][0] == 0:
        raise ConfigError(
            f"no firmware profile matches vendor {vendor!r} model {model!r}; pass profile=",
            key="profile",
            allowed=sorted(profiles),
        )
    return profiles[ranked[0][1]].for_model(model)
