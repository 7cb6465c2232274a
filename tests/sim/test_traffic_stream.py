"""The traffic stream of the soak benchmark: n of the suite's vehicles in a row, drawn only
between the camera plane and the horizon, seen by the sensors all the same."""

from __future__ import annotations

import pytest

from lanecam.errors import ConfigError
from lanecam.sim.stream import StreamWorld, traffic_stream


def test_a_stream_is_the_suites_vehicles_in_a_row() -> None:
    sc = traffic_stream(40, headway_s=2.0, speed_mps=10.0, first_range_m=30.0, horizon_m=100.0)
    w = sc.world
    assert isinstance(w, StreamWorld) and len(w.vehicles) == 40
    ranges = [v.kinematics.range_at(0.0) for v in w.vehicles]
    assert ranges == pytest.approx([30.0 + 20.0 * i for i in range(40)])
    assert len({v.name for v in w.vehicles}) == 40
    assert {o.face for v in w.vehicles for o in v.occupants} >= {"obama", "biden"}
    # t = 0: fronts at 30, 50, 70, 90 m are drawn; 110 m and beyond are not
    assert len(w.geometries(0.0)) == 4
    assert len(w.vehicles_ahead(0.0, 0.0)) == 40  # the sensors see every vehicle
    # t = 4 s: the first front is 10 m past the camera plane: drawn while any of it is ahead
    drawn = w.geometries(4.0)
    assert all(g.range_m < 100.0 for g in drawn)
    assert len(drawn) == sum(-v.vclass.length_m < v.kinematics.range_at(4.0) < 100.0
                             for v in w.vehicles)


def test_a_stream_needs_vehicles_and_a_headway() -> None:
    with pytest.raises(ConfigError):
        traffic_stream(0)
    with pytest.raises(ConfigError):
        traffic_stream(3, headway_s=0.0)
