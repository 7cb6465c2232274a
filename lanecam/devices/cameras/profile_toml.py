"""The TOML shape of a camera profile: every table and key checked, with a typed
:class:`~lanecam.errors.ConfigError` naming the key (and the file) on anything else.  The
resolved :class:`~.profile.Profile` (``extends``, per-model rows) is built in :mod:`.profile`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ..profiles import check_identifier
from .lane_alternatives import ALTERNATIVES
from .profile_features import CANONICAL_FEATURES, FeatureKind, FeatureMap

_MATCH_KEYS = {"vendor", "model", "model_regex"}
_FEATURE_KEYS = {"node", "scale", "offset", "values", "note"}
_PROFILE_KEYS = {"name", "title", "extends", "sfnc", "match", "source", "gain_per_model"}
_TOP_KEYS = {"profile", "features", "polarization", "gain_model", "lane_alternatives"}
_GAIN_LAWS = ("scale", "log_ref")


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
        "alternatives": _parse_alternatives(doc.get("lane_alternatives", {}), src),
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
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
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
    """Check the ``[[gain_model]]`` rows: model_regex, source and one law: ``scale`` (steps per
    dB, with an optional ``offset``: the raw setting at 0 dB) or ``log_ref``."""
    if not isinstance(rows, list):
        raise _err("must be an array of tables", "gain_model", src=src)
    for i, row in enumerate(rows):
        key = f"gain_model[{i}]"
        laws = [k for k in _GAIN_LAWS if isinstance(row, Mapping) and k in row]
        extra = {"offset"} if laws == ["scale"] and "offset" in row else set()
        if not isinstance(row, Mapping) or len(laws) != 1 or \
                set(row) != {"model_regex", "source", laws[0], *extra}:
            raise _err("needs model_regex, source and one of scale (+ offset) / log_ref", key,
                       ["model_regex", "source", *_GAIN_LAWS, "offset"], src)
        law = row[laws[0]]
        if isinstance(law, bool) or not isinstance(law, (int, float)) or not law > 0:
            raise _err("must be a number > 0", f"{key}.{laws[0]}", src=src)
        off = row.get("offset", 0)
        if isinstance(off, bool) or not isinstance(off, (int, float)) or not math.isfinite(off):
            raise _err("must be a finite number", f"{key}.offset", src=src)
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


def _parse_alternatives(table: Any, src: str) -> dict[str, str]:
    """``[lane_alternatives]``: lane need → how lanecam meets it without the node
    (:data:`~.lane_alternatives.ALTERNATIVES` lists the needs and ways it knows)."""
    if not isinstance(table, Mapping):
        raise _err("must be a table", "lane_alternatives", src=src)
    for need, way in table.items():
        if need not in ALTERNATIVES:
            raise _err("no alternative is known for this", f"lane_alternatives.{need}",
                       sorted(ALTERNATIVES), src)
        if way not in ALTERNATIVES[need]:
            raise _err("unknown alternative", f"lane_alternatives.{need}",
                       sorted(ALTERNATIVES[need]), src)
    return dict(table)
