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

    [lane_alternatives]                  # how a lane need is met without its node (checked by
    burst_frame_count = "per-frame-trigger"   # `profile check` against the XML; .lane_alternatives)

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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ..profiles import parse_once, profile_dir, read_toml
from .profile_features import CANONICAL_FEATURES, FeatureKind, FeatureMap
from .profile_toml import _GAIN_LAWS, _parse_raw

__all__ = [
    "CANONICAL_FEATURES",
    "FeatureKind",
    "FeatureMap",
    "Profile",
    "builtin_profile_dir",
    "load_profile",
    "load_profiles",
    "select_profile",
]


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
    #: lane need → how lanecam meets it on this family without the node (``[lane_alternatives]``,
    #: :mod:`.lane_alternatives`); ``profile check`` verifies each against the XML
    alternatives: Mapping[str, str] = field(default_factory=dict)
    #: the raw gain node a model without a ``[[gain_model]]`` row still has (for the check)
    raw_gain_node: str = ""

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
                law = {k: float(row[k]) for k in (*_GAIN_LAWS, "offset") if k in row}
                feats["gain"] = dataclasses.replace(gain, **law)
                return dataclasses.replace(self, features=feats)
        del feats["gain"]
        why = (f"{gain.node} is in raw steps and no [[gain_model]] row gives the dB step of "
               f"{model!r}; add one (from the model's manual) in a profile that extends "
               f"{self.name!r}")
        return dataclasses.replace(self, features=feats, absent={**self.absent, "gain": why},
                                   raw_gain_node=gain.node)


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
            "gain_models": p.gain_models, "gain_per_model": p.gain_per_model,
            "alternatives": dict(p.alternatives)}


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
        part = {**part, "alternatives": {**base.alternatives, **part["alternatives"]}}
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
        alternatives=part["alternatives"],
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
