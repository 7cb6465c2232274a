"""What lanecam does when a family lacks the node a lane need maps to, and whether a camera's
XML allows it.

A profile names an alternative in ``[lane_alternatives]`` (data, per family); ``lanecam profile
check`` accepts a missing lane need only when the profile names an alternative for it *and*
the XML offers what that alternative itself needs.  The known alternatives are exactly what the
runtime does:

* ``burst_frame_count = "per-frame-trigger"``: no camera-side burst (no burst trigger or frame
  count, e.g. Basler pilot): :meth:`~lanecam.devices.cameras.Camera.capture_burst` issues one
  software trigger per frame.  Needs a ``frame`` trigger the XML offers and ``TriggerSoftware``.
* ``gain = "exposure-only"``: the model's raw gain has no dB law lanecam can cite (no
  ``[[gain_model]]`` row), so the lane meters with exposure alone and leaves the gain where it
  is (``Camera.supports("gain")`` is false; the closed loop then has no gain range).  Needs the
  raw gain node in the XML, so that a site that later adds a row for the model gets dB gain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .profile import Profile

__all__ = ["ALTERNATIVES", "AlternativeVerdict", "check_alternative", "lane_words"]

#: lane need → the alternatives lanecam implements for it
ALTERNATIVES: dict[str, frozenset[str]] = {
    "burst_frame_count": frozenset({"per-frame-trigger"}),
    "gain": frozenset({"exposure-only"}),
}


class _Node(Protocol):
    entries: tuple[str, ...]


class AlternativeVerdict:
    """Whether a profile's alternative holds on one XML: ``accepted`` and ``reason``."""

    __slots__ = ("accepted", "reason", "way")

    def __init__(self, way: str, accepted: bool, reason: str) -> None:
        self.way, self.accepted, self.reason = way, accepted, reason


def lane_words(profile: Profile) -> dict[str, tuple[str, ...]]:
    """The enum words a lane writes, per feature, given the profile's alternatives: the
    ``frame`` trigger instead of the ``burst`` one where bursts are per-frame triggers."""
    burst = profile.alternatives.get("burst_frame_count") == "per-frame-trigger"
    return {"trigger_selector": ("frame",) if burst else ("burst",),
            "line_source": ("ExposureActive",)}


def check_alternative(need: str, profile: Profile,
                      nodes: Mapping[str, Any]) -> AlternativeVerdict | None:
    """The profile's alternative for a missing ``need`` checked on the XML's ``nodes``
    (node name → facts with ``entries``); None when the profile names none."""
    way = profile.alternatives.get(need)
    if way is None:
        return None
    if way == "per-frame-trigger":
        return _per_frame_trigger(profile, nodes)
    return _exposure_only(profile, nodes)


def _per_frame_trigger(profile: Profile, nodes: Mapping[str, _Node]) -> AlternativeVerdict:
    way = "per-frame-trigger"
    sel, soft = profile.features.get("trigger_selector"), profile.features.get("trigger_software")
    if sel is None or soft is None:
        return AlternativeVerdict(way, False, "the profile maps no trigger_selector or "
                                              "trigger_software")
    entry = sel.values.get("frame", "frame")
    node = nodes.get(sel.node)
    if node is None or entry not in node.entries:
        return AlternativeVerdict(way, False, f"{sel.node} offers no {entry!r} (frame trigger)")
    if soft.node not in nodes:
        return AlternativeVerdict(way, False, f"no {soft.node} to trigger each frame")
    return AlternativeVerdict(way, True, f"no camera-side burst: one {soft.node} per frame "
                                         f"under {sel.node}={entry} (Camera.capture_burst)")


def _exposure_only(profile: Profile, nodes: Mapping[str, _Node]) -> AlternativeVerdict:
    way = "exposure-only"
    raw = profile.raw_gain_node
    if not raw or "gain" not in profile.absent:
        return AlternativeVerdict(way, False, "gain is missing for another reason than a "
                                              "missing dB law")
    if raw not in nodes:
        return AlternativeVerdict(way, False, f"no {raw} node")
    return AlternativeVerdict(way, True, f"{raw} has no cited dB law for this model: the lane "
                                         f"meters with exposure only, gain left as it is")
