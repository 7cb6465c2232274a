"""Checking camera settings against live node limits (reject, never clamp), in SI units.

Pure functions used by :class:`~lanecam.devices.cameras.camera.Camera`: a canonical feature's
type check, its live limits in SI units, and the node value for an SI value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...errors import ConfigError, LimitError
from .profile import CANONICAL_FEATURES, FeatureKind, FeatureMap
from .types import FeatureLimits, NodeInfo
from .units import check_unit

__all__ = ["SEQUENCE_FEATURES", "APPLY_FIRST", "SELECTED_BY", "TRIGGER_KEYS", "NOT_REPLAYED",
           "limits_of", "node_value", "require_type", "check_sequence", "with_implied"]

#: Features a sequencer step may set (:meth:`Camera.program_sequence`).
SEQUENCE_FEATURES = ("exposure_time", "gain")

#: Applied first, in this order, because the limits of later features depend on them.
APPLY_FIRST = ("pixel_format", "width", "height", "offset_x", "offset_y", "gain_selector")

#: Features whose node (and limits) a selector switches: GenICam selector semantics.
SELECTED_BY = {
    "line_selector": ("line_mode", "line_source", "line_debouncer_time"),
    "trigger_selector": ("trigger_mode", "trigger_source", "trigger_activation",
                         "trigger_delay"),
    "gain_selector": ("gain", "gain_auto"),
    "line_mode": ("line_source",),  # an input line offers no source (Hikrobot: NA until Strobe)
}

#: Settings a trigger set-up writes (not restored as plain settings after a reconnect).
TRIGGER_KEYS = frozenset({"trigger_selector", "trigger_mode", "trigger_source",
                          "trigger_activation", "burst_frame_count", "trigger_delay"})

#: Settings of a procedure, not plain settings: the trigger set-up (re-armed), the sequencer
#: (programmed again by the caller) and chunks (re-enabled by ``ChunkMixin.reconnect``).
#: Replaying them one by one after a reconnect would write them out of order.
NOT_REPLAYED = TRIGGER_KEYS | frozenset(
    k for k in CANONICAL_FEATURES if k.startswith(("sequence_", "sequencer_", "chunk_")))


def limits_of(fmap: FeatureMap, node: NodeInfo, device: str | None = None) -> FeatureLimits:
    """Live limits of a canonical feature in SI units (or the allowed words of an enum);
    ConfigError when a float node's unit is not what the profile's scale means (``units``)."""
    if fmap.kind == FeatureKind.ENUM:
        back = {v: k for k, v in fmap.values.items()}
        return FeatureLimits(fmap.canonical, "", values=tuple(back.get(e, e) for e in node.entries))
    if fmap.kind == FeatureKind.FLOAT:
        if node.kind == FeatureKind.FLOAT and fmap.log_ref <= 0:
            check_unit(fmap.canonical, fmap.node, fmap.unit, fmap.scale, node.unit, device)
        ends = [fmap.from_node(v) for v in (node.min, node.max) if v is not None]
        lo, hi = (min(ends), max(ends)) if len(ends) == 2 else (None, None)
        inc = None if node.inc is None or fmap.log_ref > 0 else abs(node.inc / fmap.scale)
        return FeatureLimits(fmap.canonical, fmap.unit, lo, hi, inc)
    if fmap.kind == FeatureKind.INT:
        return FeatureLimits(fmap.canonical, fmap.unit, node.min, node.max, node.inc)
    return FeatureLimits(fmap.canonical, fmap.unit)


def node_value(fmap: FeatureMap, node: NodeInfo, value: Any, device: str) -> Any:
    """The node value for an SI ``value``; LimitError (naming the live limits) when the device
    does not accept it.  Float features on integer nodes are rounded to the node's step."""
    name, kind, unit = fmap.canonical, fmap.kind, fmap.unit
    lim = limits_of(fmap, node, device)
    if kind == FeatureKind.ENUM:
        raw = fmap.to_node(value)
        if raw not in node.entries:
            raise LimitError(f"{value!r} is not available", device=device, key=name,
                             allowed=lim.describe())
        return raw
    if kind == FeatureKind.FLOAT:
        raw = fmap.to_node(value)
        if node.kind == FeatureKind.INT and math.isfinite(raw):
            raw = round(raw)  # e.g. GainRaw: quantise to the device's step
        out_of_range = not math.isfinite(raw) or (node.min is not None and raw < node.min) \
            or (node.max is not None and raw > node.max)
        if out_of_range:
            raise LimitError(f"{value!r} {unit} is out of range", device=device, key=name,
                             allowed=lim.describe())
        return raw
    if kind == FeatureKind.INT:
        if (node.min is not None and value < node.min) or (
                node.max is not None and value > node.max):
            raise LimitError(f"{value!r} is out of range", device=device, key=name,
                             allowed=lim.describe())
        if node.inc and node.min is not None and (value - node.min) % node.inc:
            raise LimitError(f"{value!r} is not on the device's step", device=device,
                             key=name, allowed=lim.describe())
        return int(value)
    return value


def require_type(name: Any, value: Any, device: str) -> tuple[str, str]:
    """ConfigError unless ``name`` is a settable canonical feature and ``value`` has its
    Python type; return the feature's (kind, unit)."""
    if not isinstance(name, str) or name not in CANONICAL_FEATURES:
        raise ConfigError("unknown setting", device=device, key=str(name),
                          allowed=sorted(k for k, (kind, _) in CANONICAL_FEATURES.items()
                                         if kind != FeatureKind.COMMAND))
    kind, unit = CANONICAL_FEATURES[name]
    if kind == FeatureKind.COMMAND:
        raise ConfigError("a command is executed, not set: use execute()", device=device,
                          key=name)
    ok: bool
    if kind == FeatureKind.FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        want = f"a finite number in {unit}" if unit else "a finite number"
    elif kind == FeatureKind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "an integer"
    elif kind == FeatureKind.BOOL:
        ok = isinstance(value, bool)
        want = "true or false"
    else:
        ok = isinstance(value, str)
        want = "a string"
    if not ok:
        raise ConfigError(f"must be {want}, got {type(value).__name__}", key=name)
    return kind, unit


def check_sequence(steps: Sequence[Any], device: str) -> Sequence[Mapping[str, Any]]:
    """Each sequencer step must set some of :data:`SEQUENCE_FEATURES` and nothing else."""
    for k, step in enumerate(steps):
        if not isinstance(step, Mapping) or not step or set(step) - set(SEQUENCE_FEATURES):
            raise ConfigError("a sequence step sets some of the sequencer's features",
                              device=device, key=f"steps[{k}]", allowed=list(SEQUENCE_FEATURES))
    return steps


def with_implied(settings: Mapping[str, Any], supports: Callable[[str], bool]) -> Mapping[str, Any]:
    """``settings`` plus what they imply: a gain is written with the gain selector on "all"
    (GenICam ``GainSelector = All``/``AnalogAll``, as the profile maps the word) where the
    camera has a selector and the caller did not choose one."""
    if "gain" in settings and "gain_selector" not in settings and supports("gain_selector"):
        return {"gain_selector": "all", **settings}
    return settings
