"""The production lane end to end on the simulator: real-time threads, SimCameras, the
radar/lidar firmware fakes on ptys, the quality ranker, dlib face finding and matching, the
encrypted vault and sinks.  Ground truth is read only here, to judge the result."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lanecam.events import JsonlSink
from lanecam.match.dlib_matcher import DlibMatcher
from lanecam.sim.evaluate import evaluate_run
from lanecam.sim.lane import document_templates, run_sim_lane
from lanecam.sim.scenario import load_scenario
from lanecam.store import CaptureVault, MasterKey
from lanecam.store.heads import heads_from_events


@pytest.fixture(scope="module")
def matcher() -> DlibMatcher:
    return DlibMatcher()


@pytest.fixture(scope="module")
def templates(matcher: DlibMatcher) -> dict:
    return document_templates(matcher)


def _leaks(blob: bytes, needle: bytes) -> bool:
    """Is ``needle`` in ``blob`` raw, as hex, or as a printed list of its byte values?"""
    as_list = ", ".join(str(b) for b in needle).encode()
    return needle in blob or needle.hex().encode() in blob or as_list in blob


def test_run_stores_encrypted_crops_and_leaks_no_pixels_or_templates(
        tmp_path: Path, matcher: DlibMatcher, templates: dict) -> None:
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    root, ours = logging.getLogger(), logging.getLogger("lanecam")
    old_level = ours.level
    root.addHandler(handler)  # every logger's records reach the root; lanecam's at DEBUG
    ours.setLevel(logging.DEBUG)
    try:
        with CaptureVault(tmp_path / "vault", MasterKey(os.urandom(32), "test"),
                          retention_s=3600) as vault:
            run = run_sim_lane("low_sun_facing", matcher, templates=templates, vault=vault,
                               sinks=[JsonlSink(tmp_path / "events.jsonl")])
            outcomes = evaluate_run(run)
            crops = [vault.read(o.record_id, actor="test").image
                     for e in run.events for o in e.occupants if o.record_id]
            assert vault.verify().ok
            # the event carries the vault's head as it was after this vehicle's crops
            stored = sum(1 for o in run.events[0].occupants if o.record_id)
            assert run.events[0].vault_head_seq == stored
            carried = heads_from_events((tmp_path / "events.jsonl").read_bytes().splitlines())
            assert vault.verify(heads=carried.heads).ok and len(carried.heads) == 1
    finally:
        root.removeHandler(handler)
        ours.setLevel(old_level)
    assert len(run.events) == 1 and run.events[0].status in ("complete", "partial")
    assert outcomes and all(o.captured for o in outcomes)
    assert not any(o.false_match for o in outcomes)
    assert crops and all(c.ndim == 2 and min(c.shape) >= 40 for c in crops)
    # everything that left the lane as text: logs, sink messages, metrics, event errors
    text = (logs.getvalue() + (tmp_path / "events.jsonl").read_text()
            + json.dumps(run.stats) + repr(run.events)).encode()
    assert b"\x89PNG" not in text and b"array(" not in text
    for crop in crops:
        for row in crop[crop.shape[0] // 3: 2 * crop.shape[0] // 3: 7]:
            assert not _leaks(text, row[:16].tobytes())
    for tpl in templates.values():
        assert not _leaks(text, tpl.payload()[:16])
    # and nothing but the vault database was written with pixels in it
    disk = b"".join(p.read_bytes() for p in (tmp_path / "vault").iterdir() if p.is_file())
    assert b"\x89PNG" not in disk


def test_a_lost_camera_fails_one_vehicle_and_the_next_is_captured(
        matcher: DlibMatcher, templates: dict) -> None:
    sc = load_scenario("low_sun_facing")
    first = sc.world.vehicles[0]
    k = first.kinematics
    second = replace(first, name="second", kinematics=replace(
        k, start_range_m=k.start_range_m + 4.5 * k.speed_mps))
    sc = replace(sc, world=replace(sc.world, vehicles=(first, second)))

    def unplug_at_first_burst(cams: list) -> None:
        def watch() -> None:
            deadline = time.monotonic() + 20
            while not cams[0].is_armed and time.monotonic() < deadline:
                time.sleep(0.001)
            cams[0].unplug()

        threading.Thread(target=watch, daemon=True).start()

    run = run_sim_lane(sc, matcher, templates=templates, camera_faults=unplug_at_first_burst,
                       timeout_s=30)
    assert [e.status for e in run.events][0] == "failed"
    assert "DeviceLostError" in run.events[0].error
    assert run.events[0].needs_review and all(
        o.outcome == "refer_to_officer" for o in run.events[0].occupants)
    assert len(run.events) == 2 and run.events[1].status in ("complete", "partial")
    assert any(o.face_found for o in run.events[1].occupants)
    assert run.stats["faults"].get("camera_reconnect") == 1
    assert run.cameras[0].counters.reconnects == 1
