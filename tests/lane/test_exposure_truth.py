"""The exposure loop steps from what the metered frame was exposed with (chunk data), not from
what was last asked: ``lanecam.lane.exposure_io.metered_settings``.

A camera whose frame is exposed with the settings asked one frame earlier (a setting written
while the next exposure is already under way) is the case where the two differ: stepping from
the asked settings over- and undershoots, stepping from the chunk's values lands on the target.
The plant is the linear face model of ``tests/control/test_exposure.py``.
"""

from __future__ import annotations

from lanecam.control.exposure import (
    DEFAULT_TARGET_DN8,
    ExposureBounds,
    ExposureController,
    ExposureSettings,
    FaceMeasurement,
)
from lanecam.frames import FrameMeta
from lanecam.lane.exposure_io import metered_settings

WIDE = ExposureBounds(1e-5, 2e-3, 0.0, 48.0)
SCENE = 4.0e5  # face DN8 per (s · linear gain)


def _meta(used: ExposureSettings, source: str) -> FrameMeta:
    return FrameMeta("c", 0, 0, 8, 8, "Mono8", exposure_s=used.exposure_s,
                     gain_db=used.gain_db, exposure_source=source, gain_source=source)


def _run(source: str, frames: int = 10) -> list[float]:
    """Face levels of a camera one frame late, controlled from frames whose metadata has
    ``source``."""
    ctrl = ExposureController()
    asked = in_effect = ExposureSettings(1e-4, 0.0)
    levels = []
    for _ in range(frames):
        level = min(255.0, SCENE * in_effect.linear)
        levels.append(level)
        current = metered_settings(asked, _meta(in_effect, source))
        in_effect, asked = asked, ctrl.update(current, [FaceMeasurement(level, 0.0)], WIDE)
    return levels


def test_chunk_truth_settles_where_configured_values_oscillate() -> None:
    truth, configured = _run("chunk"), _run("configured")
    target = DEFAULT_TARGET_DN8
    assert all(abs(x / target - 1) < 0.15 for x in truth[-4:]), truth
    assert max(abs(x / target - 1) for x in configured[-4:]) > 0.15, configured


def test_configured_metadata_leaves_the_plan_and_truth_replaces_it() -> None:
    planned = ExposureSettings(1e-3, 6.0, pulse_s=1e-3, brightness=0.5)
    used = ExposureSettings(8e-4, 5.0)
    assert metered_settings(planned, None) == planned
    assert metered_settings(planned, _meta(used, "configured")) == planned
    got = metered_settings(planned, _meta(used, "chunk"))
    assert (got.exposure_s, got.gain_db, got.pulse_s, got.brightness) == (8e-4, 5.0, 1e-3, 0.5)
    assert metered_settings(planned, _meta(used, "device")).exposure_s == 8e-4
