"""``lanecam profile check``: a camera's GenICam XML against a firmware profile, no device needed.

Two steps, so the second can also run on facts recorded earlier (``tests/data/genicam/measured``):

1. :func:`measure` loads the XML into GenApi (:class:`~.genicam_xml.XmlDevice`) and records,
   for every node a profile may name, its GenApi type, access mode (on the seeded register
   image: ``NI`` means not implemented by this XML), ``<Unit>``, enum entries, and its range when
   the XML states it as constants (else ``"device"``: the device's registers decide).  A feature is *present* when the XML
   defines its node; the access mode is informative (a device's registers say whether it
   implements the node, and those are not in the XML).
2. :func:`evaluate` checks those facts against a :class:`~.profile.Profile`: per canonical
   feature the node used, its type, access, unit against the profile's scale (a node without a
   unit gets the unit the scale implies, flagged ``unit assumed``), range and enum words; what a
   lane needs and is missing; and mismatches.

Units: the profile's canonical SI units; node units as the XML spells them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .genicam_xml import XmlDevice, read_xml
from .lane_alternatives import check_alternative, lane_words
from .profile import FeatureKind, FeatureMap, Profile
from .units import expected_unit, normalise_unit

__all__ = ["LANE_NEEDS", "CheckReport", "FeatureReport", "NodeFacts", "XmlFacts", "check_xml",
           "evaluate", "expected_unit", "measure"]

#: What a lane needs, as canonical features (each must map to an implemented node).
LANE_NEEDS = ("exposure_time", "gain", "trigger_selector", "trigger_mode", "trigger_source",
              "burst_frame_count", "line_selector", "line_source", "frame_rate",
              "timestamp_latch", "timestamp_value")

_KIND_NAMES = {2: "Integer", 3: "Boolean", 4: "Command", 5: "Float", 6: "String", 9: "Enumeration"}
_ACCESS = ("NI", "NA", "WO", "RO", "RW")
@dataclass(frozen=True)
class NodeFacts:
    """One node as the XML (and GenApi on the seeded image) describes it."""

    type: str
    access: str
    unit: str = ""
    entries: tuple[str, ...] = ()
    min: float | None = None  # only when the XML states it as a constant
    max: float | None = None


@dataclass(frozen=True)
class XmlFacts:
    """What :func:`measure` read from one XML."""

    vendor: str
    model: str
    origin: str
    nodes: Mapping[str, NodeFacts]
    prefix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "model": self.model, "origin": self.origin,
                "prefix": self.prefix,
                "nodes": {k: asdict(v) for k, v in sorted(self.nodes.items())}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> XmlFacts:
        nodes = {k: NodeFacts(v["type"], v["access"], v.get("unit", ""),
                              tuple(v.get("entries", ())), v.get("min"), v.get("max"))
                 for k, v in doc["nodes"].items()}
        return cls(doc["vendor"], doc["model"], doc.get("origin", ""), nodes,
                   doc.get("prefix", ""))


def measure(path: Path | str, names: Iterable[str]) -> XmlFacts:
    """Load ``path`` into GenApi and record the facts of each node in ``names`` it has."""
    src = read_xml(path)
    dev = XmlDevice(src)
    nodes = {}
    for name in sorted(set(names)):
        facts = _node_facts(dev, name)
        if facts is not None:
            nodes[name] = facts
    return XmlFacts(dev.vendor_name, dev.model_name, str(path), nodes, src.prefix)


def _node_facts(dev: XmlDevice, name: str) -> NodeFacts | None:
    if not dev.nodemap.has_node(name):
        return None
    node = dev.nodemap.get_node(name)
    kind = _KIND_NAMES.get(node.node.principal_interface_type, "Other")
    access = _ACCESS[min(int(node.node.get_access_mode()), 4)]
    unit, entries = "", ()
    el = dev.elements.get(name)
    if kind == "Float":
        unit = str(node.unit)
    elif kind == "Enumeration" and el is not None:  # what the XML defines, not what the seeded
        entries = tuple(e.get("Name", "") for e in el.findall("{*}EnumEntry"))  # image enables
    lo = hi = None
    if el is not None and kind in ("Integer", "Float"):
        lo, hi = _const(el, "Min"), _const(el, "Max")
    return NodeFacts(kind, access, unit, entries, lo, hi)


def _const(el: Any, tag: str) -> float | None:
    sub = el.find(f"{{*}}{tag}")
    if sub is None or sub.text is None:
        return None
    try:
        return float(int(sub.text.strip(), 0))
    except ValueError:
        try:
            return float(sub.text.strip())
        except ValueError:
            return None


@dataclass
class FeatureReport:
    """One canonical feature of the profile, as the XML offers it."""

    node: str
    present: bool  # the XML defines the node (whether a device implements it, its registers say)
    type: str = ""
    access: str = ""  # on the seeded register image; "NI" = the seeding did not reach it
    unit: str = ""  # the node's unit, or the assumed one
    unit_status: str = ""  # "ok" | "unit assumed" | "mismatch" | "" (not a float feature)
    range: list[float | None] | str | None = None  # [min, max] (SI units) or "device"
    entries: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """The outcome of :func:`evaluate`; ``ok`` when nothing a lane needs is missing or wrong."""

    vendor: str
    model: str
    profile: str
    features: dict[str, FeatureReport]
    missing: list[str]
    mismatches: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)
    #: lane needs met without their node, by the profile's ``[lane_alternatives]`` (checked
    #: on this XML): need → {"way", "reason"}
    alternatives: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        lane = set(LANE_NEEDS)
        return not self.missing and not any(m["feature"] in lane for m in self.mismatches)

    def to_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "model": self.model, "profile": self.profile,
                "features": {k: asdict(v) for k, v in self.features.items()},
                "missing": self.missing, "mismatches": self.mismatches, "notes": self.notes,
                "alternatives": self.alternatives, "ok": self.ok}


def evaluate(facts: XmlFacts, profile: Profile, *, model: str | None = None) -> CheckReport:
    """Check ``facts`` against ``profile`` (already resolved for the camera's model)."""
    feats: dict[str, FeatureReport] = {}
    mismatches: list[dict[str, str]] = []
    words = lane_words(profile)
    for canon, fmap in sorted(profile.features.items()):
        rep, problems = _check_feature(fmap, facts.nodes.get(fmap.node), words.get(canon, ()))
        feats[canon] = rep
        mismatches += [{"feature": canon, "node": fmap.node, "problem": p} for p in problems]
    missing: list[str] = []
    alternatives: dict[str, dict[str, str]] = {}
    refused: list[str] = []
    for need in LANE_NEEDS:
        if need in feats and feats[need].present:
            continue
        verdict = check_alternative(need, profile, facts.nodes)
        if verdict is not None and verdict.accepted:
            alternatives[need] = {"way": verdict.way, "reason": verdict.reason}
        else:
            missing.append(need)
            if verdict is not None:
                refused.append(f"{need}: alternative {verdict.way!r} not possible: "
                               f"{verdict.reason}")
    notes = [f"stripped before the XML: {facts.prefix[:80]!r}"] if facts.prefix else []
    notes += refused
    notes += [f"{canon}: {reason}" for canon, reason in profile.absent.items()]
    return CheckReport(facts.vendor, model or facts.model, profile.name, feats, missing,
                       mismatches, notes, alternatives)


def _check_feature(fmap: FeatureMap, node: NodeFacts | None,
                   words: tuple[str, ...]) -> tuple[FeatureReport, list[str]]:
    if node is None:
        return FeatureReport(fmap.node, False), []
    rep = FeatureReport(fmap.node, True, node.type, node.access, node.unit,
                        entries=list(node.entries))
    problems: list[str] = []
    want = _KIND_NODE_TYPES.get(fmap.kind, ())
    if want and node.type not in want:
        problems.append(f"node is {node.type}, feature is {fmap.kind}")
    if fmap.kind == FeatureKind.FLOAT:
        problems += _check_unit(fmap, node, rep)
        rep.range = _range(fmap, node)
    elif fmap.kind == FeatureKind.INT:
        rep.range = "device" if node.min is None or node.max is None else [node.min, node.max]
    elif fmap.kind == FeatureKind.ENUM:
        for word in words:
            entry = fmap.values.get(word, word)
            if entry not in node.entries:
                problems.append(f"offers no {entry!r} (for the lane's {word!r})")
    return rep, problems


_KIND_NODE_TYPES = {FeatureKind.FLOAT: ("Float", "Integer"), FeatureKind.INT: ("Integer",),
                    FeatureKind.ENUM: ("Enumeration",), FeatureKind.BOOL: ("Boolean",),
                    FeatureKind.COMMAND: ("Command",), FeatureKind.STRING: ("String",)}


def _check_unit(fmap: FeatureMap, node: NodeFacts, rep: FeatureReport) -> list[str]:
    expected = expected_unit(fmap.unit, fmap.scale)
    if node.type == "Integer":  # raw steps (GainRaw): no unit to compare
        rep.unit_status = "raw steps"
        return []
    if not node.unit.strip():
        rep.unit, rep.unit_status = expected or "", "unit assumed"
        return []
    if expected is None or normalise_unit(node.unit) == expected:
        rep.unit_status = "ok"
        return []
    rep.unit_status = "mismatch"
    return [f"node unit {node.unit.strip()!r}, profile scale {fmap.scale:g} implies {expected!r}"]


def _range(fmap: FeatureMap, node: NodeFacts) -> list[float | None] | str:
    if node.min is None or node.max is None:
        return "device"
    ends = sorted(fmap.from_node(v) for v in (node.min, node.max))
    return [ends[0], ends[1]]


def check_xml(path: Path | str, profiles: Mapping[str, Profile], *, profile: str | None = None,
              model: str | None = None, vendor: str | None = None) -> CheckReport:
    """:func:`measure` then :func:`evaluate` with the profile chosen by name, or by
    ``vendor``/``model`` (default: the XML's ``VendorName``/``ModelName``)."""
    from .profile import select_profile

    names = {f.node for p in profiles.values() for f in p.features.values()}
    facts = measure(path, names)
    who_vendor, who_model = vendor or facts.vendor, model or facts.model
    try:
        prof = select_profile(who_vendor, who_model, profiles, profile)
    except ConfigError as exc:
        raise ConfigError(f"{exc.message}; give --model (the camera's DeviceModelName) or "
                          f"--profile", key="profile", allowed=exc.allowed) from exc
    return evaluate(facts, prof, model=who_model)
