"""The population report: exact Clopper–Pearson intervals, counts per group and condition,
impostors kept apart, JSON of metadata only and byte-stable."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanecam.sim.population.report import (
    build_report,
    clopper_pearson,
    contact_sheet,
    report_json,
)
from lanecam.sim.population.runner import CROP_PX, TravelerRecord, UnitResult


def test_clopper_pearson_known_values() -> None:
    # issue 16: 17/17 has a 95 % interval of [80 %, 100 %]; 5/10 = [0.187, 0.813] (tables)
    lo, hi = clopper_pearson(17, 17)
    assert (round(lo, 3), hi) == (0.805, 1.0)
    lo, hi = clopper_pearson(5, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.187, 0.813)
    assert clopper_pearson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)


@given(n=st.integers(1, 400), data=st.data())
def test_interval_holds_the_estimate_and_tails_are_exact(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    lo, hi = clopper_pearson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    if 0 < k:  # P(X >= k | lo) = 2.5 %
        tail = sum(math.comb(n, i) * lo**i * (1 - lo) ** (n - i) for i in range(k, n + 1))
        assert tail == pytest.approx(0.025, abs=2e-4)


def _rec(vehicle: int, seat: str, verified: bool, *, child: bool = False,
         impostor: bool = False, accepted: bool = False, night: bool = False) -> TravelerRecord:
    conds = (("light", "night" if night else "day-clear"), ("pose", "booth"), ("cap", "false"),
             ("sunglasses", "false"), ("mask", "false"))
    return TravelerRecord(vehicle, seat, seat.startswith("rear"), child, impostor, True,
                          verified, False, accepted, 0.1 + vehicle / 100, conds)


def _results() -> list[UnitResult]:
    crop = np.full((CROP_PX, CROP_PX), 90, np.uint8)
    return [UnitResult(1, [_rec(1, "driver", False, night=True),
                           _rec(1, "rear_left", False, child=True)],
                       {"driver": crop, "rear_left": crop}),
            UnitResult(0, [_rec(0, "driver", True),
                           _rec(0, "front_passenger", False, impostor=True, accepted=True)])]


def test_report_counts_groups_and_keeps_impostors_apart() -> None:
    rep = build_report(_results(), seed=3, spec="default", vehicles=2, options={"scale": 0.25})
    assert rep["travelers"] == 3 and rep["verified"] == 1 and rep["false_matches"] == 0
    assert rep["front"]["n"] == 2 and rep["front"]["verified"] == 1
    assert rep["rear"] == rep["child"] and rep["child"]["n"] == 1
    assert rep["impostors"] == {"n": 1, "captured": 1, "accepted": 1, "rejected": 0}
    assert rep["conditions"]["light"]["night"]["n"] == 1
    assert rep["front"]["ci95"] == [round(x, 6) for x in clopper_pearson(1, 2)]
    assert rep["decision_latency"]["n"] == 3


def test_report_json_is_metadata_and_byte_stable() -> None:
    a = report_json(build_report(_results(), seed=3, spec="s", vehicles=2, options={}))
    b = report_json(build_report(list(reversed(_results())), seed=3, spec="s", vehicles=2,
                                 options={}))
    assert a == b

    def scalars(x: object) -> bool:  # numbers, strings, None, lists/dicts of them; no arrays
        if isinstance(x, dict):
            return all(isinstance(k, str) and scalars(v) for k, v in x.items())
        if isinstance(x, list):
            return len(x) <= 2 and all(scalars(v) for v in x)
        return x is None or isinstance(x, (int, float, str))

    assert scalars(json.loads(a))


def test_contact_sheet_shows_the_worst_misses_first(tmp_path) -> None:
    import cv2

    path = tmp_path / "sheet.png"
    assert contact_sheet(_results(), path) == 2
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert img is not None and img.shape[1] >= 2 * CROP_PX


def test_the_same_run_at_another_threshold() -> None:
    """at_threshold re-decides from the recorded scores: own crops at or over it verify, a
    genuine document over it on someone else's face is a false match, an impostor over it is
    accepted; crops not captured never count."""
    from dataclasses import replace

    from lanecam.sim.population.report import at_threshold

    base = _rec(0, "driver", False)
    recs = [replace(base, score=0.45, own_crop=True),  # verified at 0.4, not at 0.5
            replace(base, seat="rear_left", rear=True, score=0.39, own_crop=True),  # never
            replace(base, seat="front_passenger", score=0.41, own_crop=False),  # other face
            replace(base, seat="rear_right", rear=True, captured=False, score=None),
            replace(base, seat="rear_middle", rear=True, impostor=True, score=0.42)]
    lo = at_threshold(recs, 0.4)
    assert (lo["all"]["n"], lo["all"]["verified"], lo["front"]["verified"]) == (4, 1, 1)
    assert lo["rear"]["verified"] == 0
    assert (lo["false_matches"], lo["impostors_accepted"]) == (1, 1)
    hi = at_threshold(recs, 0.5)
    assert (hi["all"]["verified"], hi["false_matches"], hi["impostors_accepted"]) == (0, 0, 0)
    assert build_report([UnitResult(0, recs)], seed=1, spec="s", vehicles=1, options={},
                        published_threshold=0.4)["at_published_threshold"] == lo
