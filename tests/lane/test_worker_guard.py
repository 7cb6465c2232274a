"""A lane worker that fails the same way again and again is stopped and its device reported
faulted, not restarted for ever; a fault that clears is restarted through."""

from __future__ import annotations

import os
import threading

import pytest

from lanecam.control.tracker import TrackerConfig, VehicleTracker
from lanecam.devices.sensors import LoopDetector, ModemLineSource
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import UnsupportedFeatureError
from lanecam.geometry import CameraModel
from lanecam.lane import Lane, LaneCamera
from lanecam.lane.builder import LoopReader


def _lane(sensors: list) -> Lane:  # type: ignore[type-arg]
    nothing: object = None  # no camera device, ranker, matcher or documents: only workers run
    cam = LaneCamera("cam0", camera=None, model=CameraModel(), scheduler=None)  # type: ignore[arg-type]
    return Lane("t", [cam], VehicleTracker(TrackerConfig(loop_position_m=10.0)),  # type: ignore[arg-type]
                sensors, nothing, nothing, nothing)  # type: ignore[arg-type]


@pytest.fixture
def pty_path():  # type: ignore[no-untyped-def]
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_a_loop_on_a_port_without_modem_lines_is_reported_faulted(pty_path: str) -> None:
    """A real pseudo-terminal cannot report CTS: every read fails the same way."""
    source = ModemLineSource(SerialLink(pty_path), "cts", supply=None)
    source.open()
    try:
        reader = LoopReader(LoopDetector(source))
        lane = _lane([reader])
        worker = threading.Thread(target=lane._guard("sensor-0", lambda: lane._sense(reader)),
                                  daemon=True)
        worker.start()
        worker.join(timeout=20.0)
        stopped = not worker.is_alive()
        lane._stop.set()
        assert stopped, "the worker kept restarting"
        assert lane.stats.faulted == {"sensor-0": "UnsupportedFeatureError"}
        assert lane.stats.faults["sensor-0:UnsupportedFeatureError"] == Lane.GUARD_MAX_REPEATS
        assert lane.stats.summary()["faulted"] == {"sensor-0": "UnsupportedFeatureError"}
    finally:
        source.link.close()


def test_a_fault_that_clears_is_restarted_not_reported() -> None:
    lane = _lane([])
    lane.GUARD_BACKOFF_S = 0.001  # type: ignore[misc]
    calls = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) < Lane.GUARD_MAX_REPEATS:  # fails one time fewer than the limit, then runs
            raise UnsupportedFeatureError("no such line", device="loop")

    lane._guard("sensor-0", flaky)()
    assert len(calls) == Lane.GUARD_MAX_REPEATS
    assert lane.stats.faulted == {}


def test_repeats_far_apart_are_not_one_fault() -> None:
    lane = _lane([])
    lane.GUARD_BACKOFF_S = 0.001  # type: ignore[misc]
    lane.GUARD_REPEAT_WINDOW_S = -1.0  # type: ignore[misc]  # every failure is "long after"
    calls = []

    def rare() -> None:
        calls.append(1)
        if len(calls) < 3 * Lane.GUARD_MAX_REPEATS:
            raise UnsupportedFeatureError("no such line", device="loop")

    lane._guard("sensor-0", rare)()
    assert len(calls) == 3 * Lane.GUARD_MAX_REPEATS and lane.stats.faulted == {}
