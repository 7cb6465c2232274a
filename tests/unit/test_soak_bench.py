"""bench/soak.py cannot rot: its functions run here with tiny counts (a few vehicles through
the simulated lane, a few camera cycles on the pylon emulator) and return the right samples.
Nothing about time or slopes' values is asserted beyond what arithmetic fixes."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_soak", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_soak"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _check(samples: list, counts: list[int]) -> None:
    assert [s.count for s in samples] == counts
    for s in samples:
        assert s.rss_kb > 0 and s.fds > 0 and s.threads >= 1 and s.os_threads >= 1
    assert [s.wall_s for s in samples] == sorted(s.wall_s for s in samples)


def test_fit_is_least_squares_with_its_interval(soak: ModuleType) -> None:
    exact = soak.fit([1, 2, 3, 4], [4.0, 7.0, 10.0, 13.0])
    assert exact.per_unit == pytest.approx(3.0) and exact.ci95 == pytest.approx(0.0)
    rng = np.random.default_rng(1)
    xs = np.arange(20.0)
    ys = 0.5 * xs + rng.normal(0, 1, 20)
    got = soak.fit(list(xs), list(ys))
    b, a = np.polyfit(xs, ys, 1)
    se = math.sqrt(np.sum((ys - a - b * xs) ** 2) / 18 / np.sum((xs - xs.mean()) ** 2))
    assert got.per_unit == pytest.approx(b) and got.ci95 == pytest.approx(1.96 * se)
    assert got.points == 20 and not got.holds_zero()
    assert math.isnan(soak.fit([1, 2], [1, 2]).per_unit)


@pytest.mark.emulator
def test_camera_soak_samples_both_paths(soak: ModuleType) -> None:
    got = soak.camera_soak(5, every=1, warmup=1)
    assert set(got) == {"raw", "lanecam"}
    for samples in got.values():
        _check(samples, [0, 1, 2, 3, 4, 5])
        assert set(soak.slopes(samples, 1)) == {"rss_kb", "fds", "threads", "os_threads"}
        assert soak.slopes(samples, 1)["fds"].points == 5


@pytest.mark.parametrize("mode", ["stream", "suite"])
def test_lane_soak_samples_every_n_vehicles(soak: ModuleType, mode: str) -> None:
    sink = soak.lane_soak(2, every=1, mode=mode, scale=0.25, headway_s=1.5, tail=1)
    assert sink.count >= 2 and sum(sink.status.values()) == sink.count
    _check(sink.samples[:3], [0, 1, 2])
    assert sink.stopped is not None and sink.stopped.count == sink.count
    assert sink.samples[1].threads > sink.samples[0].threads  # sampled while the lane ran
