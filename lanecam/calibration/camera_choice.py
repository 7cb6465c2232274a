"""Which camera of the lane (or of the simulated scenario) a procedure measures."""

from __future__ import annotations

import argparse
from typing import Any

from .result import CalibrationError

__all__ = ["add_camera_argument", "chosen_camera", "lane_config", "scenario"]


def add_camera_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", metavar="NAME",
                   help="the camera to measure (default: the lane's or scenario's first)")


def lane_config(args: argparse.Namespace) -> Any:
    """The lane config of ``args.lane`` (None when only ``--sim`` was given)."""
    if args.lane is None:
        return None
    from ..config import load_lane_config

    return load_lane_config(args.lane)


def scenario(args: argparse.Namespace) -> Any:
    from ..sim.scenario import load_scenario

    return load_scenario(args.sim)


def chosen_camera(args: argparse.Namespace, kind: str) -> str:
    """``--camera``, checked against the lane config (or the scenario with ``--sim`` only);
    default the first camera.  CalibrationError ``camera_unknown`` for a name not there."""
    if args.lane is not None:
        names = [c.name for c in lane_config(args).cameras]
    else:
        names = [c.name for c in scenario(args).world.cameras]
    name = getattr(args, "camera", None) or names[0]
    if name not in names:
        raise CalibrationError("no such camera", kind=kind, reason="camera_unknown",
                               key=name, allowed=names)
    return str(name)
