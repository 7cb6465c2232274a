from __future__ import annotations

import json

import numpy as np
import pytest

from lanecam.errors import ConfigError
from lanecam.events import JsonlSink, LaneEvent, MemorySink, OccupantResult


def occ(i: int, outcome: str = "verified") -> OccupantResult:
    return OccupantResult(i, "sim:0", 3, 71.5, True, outcome, 0.62, 0.4, 0.13, "abc")


def test_events_refuse_anything_but_scalars() -> None:
    with pytest.raises(ConfigError) as e:
        OccupantResult(0, "c", 1, 50.0, True, "verified", score=np.float32(0.5).tobytes())  # type: ignore[arg-type]
    assert e.value.key == "score"
    with pytest.raises(ConfigError):
        LaneEvent("L", "v1", "complete", 0, 1, 5.0, occupants=(np.zeros(3),))  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        LaneEvent("L", "v1", "done", 0, 1, 5.0)


def test_review_routing() -> None:
    ok = LaneEvent("L", "v1", "complete", 0, 1, 8.9, occupants=(occ(0), occ(1)))
    assert not ok.needs_review
    miss = LaneEvent("L", "v2", "complete", 0, 1, 8.9, occupants=(occ(0), occ(1, "refer_to_officer")))
    assert miss.needs_review
    failed = LaneEvent("L", "v3", "failed", 0, 1, None, error="DeviceLostError: camera removed")
    assert failed.needs_review


def test_sinks(tmp_path) -> None:
    mem, jl = MemorySink(maxlen=2), JsonlSink(tmp_path / "events.jsonl")
    for i in range(3):
        ev = LaneEvent("L", f"v{i}", "complete", i, i + 1, 10.0, occupants=(occ(0),),
                       latency_s={"decide": 0.01})
        mem.emit(ev)
        jl.emit(ev)
    assert [e.vehicle_id for e in mem] == ["v1", "v2"]
    rows = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [r["vehicle_id"] for r in rows] == ["v0", "v1", "v2"]
    assert rows[0]["occupants"][0]["record_id"] == "abc" and rows[0]["needs_review"] is False
