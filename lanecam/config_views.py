"""What a camera films (``[[cameras]] view``): the checks a side camera's pose must pass.

A ``"side"`` or ``"both"`` camera (:mod:`lanecam.lane.side`) stands beside the lane and is
turned across it; a lane needs some camera that films the windshield (the first such camera
paces the windshield burst)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import ConfigError

__all__ = ["SIDE_MIN_LATERAL_M", "SIDE_MIN_YAW_DEG", "check_views"]

#: A side camera stands at least this far from the lane centre (m) and turns at least this
#: far towards the lane (deg): nearer or straighter, it looks at the windshield.
SIDE_MIN_LATERAL_M = 1.0
SIDE_MIN_YAW_DEG = 10.0


def check_views(cams: Sequence[Any]) -> None:
    """Side cameras stand beside the lane aimed across it; some camera films the windshield."""
    for i, c in enumerate(cams):
        if c.view == "windshield":
            continue
        if abs(c.lateral_m) < SIDE_MIN_LATERAL_M:
            raise ConfigError(f"a {c.view!r} camera stands beside the lane",
                              key=f"cameras[{i}].lateral_m",
                              allowed=f"|lateral_m| >= {SIDE_MIN_LATERAL_M}")
        if c.yaw_deg is None or c.yaw_deg * c.lateral_m >= 0 \
                or abs(c.yaw_deg) < SIDE_MIN_YAW_DEG:
            raise ConfigError(f"a {c.view!r} camera is turned towards the lane",
                              key=f"cameras[{i}].yaw_deg",
                              allowed=f"sign opposite to lateral_m, |yaw| >= {SIDE_MIN_YAW_DEG}")
    if all(c.view == "side" for c in cams):
        raise ConfigError("a lane needs a camera that films the windshield", key="cameras",
                          allowed=["windshield", "both"])
