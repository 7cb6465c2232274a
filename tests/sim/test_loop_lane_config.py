"""A ``[sensors.loop]`` from a lane config triggers: the config carries the loop's station,
validated, and the tracker built from it turns the simulated loop's entry edge into a track
at that station (before, every edge raised ConfigError and the sensor thread spun)."""

from __future__ import annotations

import tomllib

import pytest
from sim_helpers import simple_world

from lanecam.clock import ManualClock
from lanecam.config import LaneConfig, parse_lane_config
from lanecam.control.tracker import VehicleTracker
from lanecam.devices.sensors import LoopDetector
from lanecam.errors import ConfigError
from lanecam.lane.builder import LoopReader, tracker_config
from lanecam.sim.devices import SimDevices

BASE = """
[lane]
id = "loop-1"
[[cameras]]
name = "driver"
device = "pylon:0815-0001"
[sensors.loop]
url = "/dev/ttyS0"
"""


def _cfg(extra: str) -> LaneConfig:
    return parse_lane_config(tomllib.loads(BASE + extra))


@pytest.mark.parametrize("extra,key", [
    ("", "sensors.loop.position_m"),  # the station is required: no default can be right
    ("position_m = 0.0\n", "sensors.loop.position_m"),
    ("position_m = -3.0\n", "sensors.loop.position_m"),
    ("position_m = 10.0\nline = 'rts'\n", "sensors.loop.line"),
    ("position_m = 10.0\nmodel = 'cts'\n", "sensors.loop.model"),
    ("position_m = 'ten'\n", "sensors.loop.position_m"),
])
def test_a_loop_without_a_valid_station_is_refused(extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _cfg(extra)
    assert err.value.key == key


def test_a_loop_from_a_lane_config_spawns_a_track_at_its_station() -> None:
    cfg = _cfg("position_m = 10.0\nline = 'dsr'\ndebounce_s = 0.02\n")
    assert cfg.loop is not None and cfg.loop.line == "dsr"
    tracker = VehicleTracker(tracker_config(cfg))
    clock = ManualClock()
    world = simple_world(speed_mps=5.0, start_range_m=20.0)
    # the simulated loop: 2 m long from 8 m, so a front enters it at 10 m
    dev = SimDevices(world, clock=clock, loop_station_m=8.0, loop_length_m=2.0)
    reader = LoopReader(LoopDetector(dev.loop, debounce_s=cfg.loop.debounce_s, clock=clock), clock)
    edge = None
    for _ in range(100):
        edge = reader.read(0.1)
        if edge is not None:
            break
    assert edge is not None and edge.present
    tracker.feed(edge)  # raised ConfigError before the config carried the station
    tracks = tracker.tracks(edge.t_ns)
    assert len(tracks) == 1
    assert tracks[0].range_m == pytest.approx(10.0, abs=0.01)
