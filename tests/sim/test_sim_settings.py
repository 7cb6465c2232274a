"""Hypothesis against SimCamera's node map: any value is applied within the live limits or
refused with its key named, and a refused batch leaves the simulated device untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import SCALE, simple_world

from lanecam.clock import ManualClock
from lanecam.devices.cameras.profile import CANONICAL_FEATURES, FeatureKind
from lanecam.errors import ConfigError, LimitError
from lanecam.sim import SimCamera

SETTABLE = ["exposure_time", "gain", "width", "height", "offset_x", "offset_y", "pixel_format",
            "trigger_delay", "frame_rate", "burst_frame_count", "line_debouncer_time"]


@pytest.fixture(scope="module")
def cam() -> Iterator[SimCamera]:
    with SimCamera(simple_world(), scale=SCALE, clock=ManualClock(), epoch_ns=0) as c:
        yield c


def snapshot(cam: SimCamera) -> tuple[object, ...]:
    return tuple(cam.get(k) for k in SETTABLE)


any_value = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                      st.sampled_from(["Mono8", "Mono12", "Mono16"]))

HS = settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])


@HS
@given(key=st.sampled_from(SETTABLE), value=any_value)
def test_any_value_is_applied_within_limits_or_refused_by_name(cam: SimCamera, key: str,
                                                               value: object) -> None:
    before = snapshot(cam)
    try:
        applied = cam.configure({key: value})
    except (ConfigError, LimitError) as e:
        assert e.key == key
        assert snapshot(cam) == before
        return
    lim = cam.limits(key)
    if lim.values:
        assert applied[key] in lim.values
    else:
        assert lim.min is not None and lim.max is not None
        assert lim.min - 1e-9 <= applied[key] <= lim.max + 1e-9
        if CANONICAL_FEATURES[key][0] == FeatureKind.FLOAT:
            assert applied[key] == pytest.approx(value, rel=1e-9, abs=1e-12)
        else:
            assert applied[key] == value
