"""Side-window cameras in the lane: a burst per seat row as it passes the side camera's view,
faces from any camera placed in the tracked vehicle's seats by geometry (one occupant seen by
two cameras → one decision), and faces in no seat rejected as non-occupants — never matched,
never stored.  Synthetic detections: each face is projected from a 3-D head position through
the camera models, so the tests hold whatever finder the lane runs."""

from __future__ import annotations

import math
from collections import Counter
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from lanecam.control.scheduler import CameraTiming
from lanecam.control.tracker import Track
from lanecam.errors import NotCapturableError
from lanecam.geometry import CabinModel, CameraModel
from lanecam.lane.analysis import Ranked, make_probes
from lanecam.lane.builder import camera_scheduler
from lanecam.lane.decide import Decider
from lanecam.lane.job import VehicleJob
from lanecam.lane.seats import NOMINAL_IED_M, locate_face, off_axis_deg, place_faces
from lanecam.lane.side import ROWS, plan_rows, row_window
from lanecam.lane.types import SEATS, LaneStats, TravelDocument
from lanecam.match.base import Decision
from lanecam.quality.faces import Face
from lanecam.quality.kernels import Roi

# the rear_seat_side scenario's cameras (full resolution): a gantry camera down the lane and a
# side camera 3.2 m right of the lane centre, 1.5 m up, turned 35° across the lane
WINDSHIELD = CameraModel(lateral_m=1.6, height_m=2.6, pitch_deg=4.0, yaw_deg=-4.5, focus_m=17.0)
SIDE = CameraModel(lateral_m=3.2, height_m=1.5, station_m=0.6, pitch_deg=0.0, yaw_deg=-35.0,
                   focal_m=0.035, focus_m=5.0)
CABIN = CabinModel()


def _track(range_m: float, speed_mps: float, t_ns: int = 0) -> Track:
    return Track(id=7, t_ns=t_ns, range_m=range_m, speed_mps=speed_mps, accel_mps2=0.0,
                 range_sigma_m=0.1, speed_sigma_mps=0.1, confidence=1.0, updates=20,
                 confirmed=True)


def _side_scheduler(frames: int = 10) -> Any:
    timing = CameraTiming(30.0, 1e-5, 3e-4, frames)
    return camera_scheduler(SIDE, (SIDE.station_m, SIDE.station_m + 200.0), timing,
                            face_setback_m=CABIN.face_setback_m, blur_budget_px=1.0,
                            clock=SimpleNamespace(now_ns=lambda: 0))  # type: ignore[arg-type]


def test_side_camera_films_row_two_after_row_one_as_each_passes_its_view() -> None:
    speed = 4.0
    plans = plan_rows(SIDE, _side_scheduler(), _track(30.0, speed), CABIN, 0)
    assert [p.row for p in plans] == list(ROWS) == [0, 1]
    (_, far0), (_, far1) = (row_window(SIDE, CABIN, r) for r in ROWS)  # type: ignore[misc]
    # the rear row comes into view when the front has moved one row pitch further
    assert far0 - far1 == pytest.approx(CABIN.row_pitch_m, abs=0.05)
    first, second = plans[0].plan, plans[1].plan
    assert first.start_ns == pytest.approx((30.0 - far0) / speed * 1e9, rel=1e-3)
    assert (second.start_ns - first.start_ns) / 1e9 == pytest.approx(
        CABIN.row_pitch_m / speed, abs=0.02)
    for p in plans:  # each burst inside its row's window, blur within the 1 px budget
        assert p.plan.window_far_ns <= p.plan.start_ns
        assert p.plan.frame_times_ns[-1] <= p.plan.window_near_ns
        assert p.plan.frame_count >= 2 and p.plan.max_blur_px <= 1.0 + 1e-9
    # the side view moves the faces across the frame: far shorter exposures than head-on
    assert first.exposure_s < 3e-4


def test_side_row_plans_refuse_a_camera_that_never_sees_the_rows() -> None:
    away = CameraModel(lateral_m=3.2, height_m=1.5, station_m=0.6, yaw_deg=35.0)  # off the lane
    with pytest.raises(NotCapturableError) as e:
        plan_rows(away, _side_scheduler(), _track(30.0, 4.0), CABIN, 0)
    assert e.value.reason == "side_rows"
    assert row_window(away, CABIN, 0) is None


def _face(model: CameraModel, head: np.ndarray, ied_m: float = NOMINAL_IED_M) -> Face:
    """The finder's face for a head at ``head`` (eyes' midpoint, world m) facing down the lane
    (−z), ``ied_m`` between the eyes, as ``model`` sees it."""
    eyes3 = np.stack([head + [ied_m / 2, 0, 0], head - [ied_m / 2, 0, 0]])
    uv, _ = model.project(eyes3)
    (ax, ay), (bx, by) = sorted(map(tuple, uv))
    ied = math.hypot(bx - ax, by - ay)
    w = round(2.4 * ied)
    box = Roi(round((ax + bx) / 2 - w / 2), round((ay + by) / 2 - w * 0.4), w, w)
    return Face(box, (), ((ax, ay), (bx, by)), ied, 1.0)


def _seat_head(seat: str, front_range_m: float) -> np.ndarray:
    from lanecam.geometry import SEAT_ROWS

    row, x = SEAT_ROWS[seat]
    return np.array([x, (CABIN.face_low_m + CABIN.face_high_m) / 2,
                     front_range_m + CABIN.face_setback_m + row * CABIN.row_pitch_m])


def _ranked(name: str, model: CameraModel, faces: dict[int, list[tuple[float, Face]]],
            range_m: float) -> Ranked:
    """One camera's ranking: per ROI seat, candidates (score, face) in frame 0 at ``range_m``."""
    lane_cam = SimpleNamespace(name=name, model=model, camera=SimpleNamespace(
        is_open=False, id=f"sim:{name}"))
    top = {seat: tuple(SimpleNamespace(score=score, face=f, roi=SimpleNamespace(
        frame_index=0, frame_number=1)) for score, f in cands) for seat, cands in faces.items()}
    burst = [SimpleNamespace(array=np.zeros((model.height_px, model.width_px), np.uint8),
                             meta=SimpleNamespace(pixel_format="Mono8"))]
    return Ranked(lane_cam, burst, SimpleNamespace(top=top), (range_m,))  # type: ignore[arg-type]


def test_real_faces_land_in_their_seats_from_either_camera() -> None:
    for model, rng in ((WINDSHIELD, 14.0), (SIDE, 2.8)):
        for s, seat in enumerate(SEATS):
            if model is SIDE and seat in ("rear_right", "front_passenger"):
                continue  # far side: hidden behind the near-side heads from this camera
            fix = locate_face(model, _face(model, _seat_head(seat, rng)), rng, CABIN)
            assert fix.seat == s, (model.yaw_deg, seat, fix)


class _Matcher:
    """Counts what reaches the matcher; every probe 'matches' the one document."""

    threshold = 0.4

    def __init__(self) -> None:
        self.templated = 0

    def template(self, crop: np.ndarray, hint: object = None) -> bytes:
        self.templated += 1
        return b"t"

    def compare(self, a: object, b: object) -> float:
        return 0.9

    def verify(self, a: object, b: object) -> Decision:
        return Decision(True, 0.9, 0.4, 1e-4)


def test_one_occupant_seen_by_two_cameras_gets_one_decision() -> None:
    # the driver seen by the windshield camera (ROI seat 0) and — later, the van further on —
    # by the side camera, whose oblique ray also crosses the rear-middle seat's ROI
    rng_w, rng_s = 14.0, 3.0
    wind = _ranked("cam0", WINDSHIELD, {0: [(70.0, _face(WINDSHIELD, _seat_head("driver", rng_w)))]},
                   rng_w)
    f_side = _face(SIDE, _seat_head("driver", rng_s))
    side = _ranked("side0", SIDE, {0: [(55.0, f_side)], 3: [(50.0, f_side)]}, rng_s)
    stats = LaneStats()
    placed = place_faces([wind, side], CABIN, stats)
    assert list(placed) == [0]  # one seat, one face: the windshield camera's, scored higher
    assert placed[0].lane_cam.name == "cam0"
    matcher = _Matcher()
    probes = make_probes(placed, matcher, 0.25, stats)  # type: ignore[arg-type]
    assert len(probes) == 1 and matcher.templated == 1
    job = VehicleJob(1, _track(14.0, 4.0), None, 0)  # type: ignore[arg-type]
    results = Decider("t", matcher, None, stats).decide(  # type: ignore[arg-type]
        job, [TravelDocument("p1", b"d")], probes)  # type: ignore[arg-type]
    assert [r.outcome for r in results] == ["verified"] and results[0].camera_id == "sim:cam0"
    # a side view ~30° off the lane axis must beat the frontal one by its off-axis penalty
    assert off_axis_deg(SIDE, f_side) > 25
    assert off_axis_deg(WINDSHIELD, wind.ranking.top[0][0].face) < 10
    side = _ranked("side0", SIDE, {0: [(75.0, f_side)]}, rng_s)  # better quality, not enough
    placed = place_faces([wind, side], CABIN, LaneStats())
    assert list(placed) == [0] and placed[0].lane_cam.name == "cam0"
    side = _ranked("side0", SIDE, {0: [(90.0, f_side)]}, rng_s)  # much better: it wins
    placed = place_faces([wind, side], CABIN, LaneStats())
    assert list(placed) == [0] and placed[0].lane_cam.name == "side0"  # still one face


def test_faces_in_no_seat_are_rejected_counted_and_never_matched_or_stored() -> None:
    rng = 14.0
    real = _face(WINDSHIELD, _seat_head("driver", rng))
    # a billboard behind the vehicle, on the line of sight through the driver's seat, its
    # printed face 1.6 × life size at 2.4 × the driver's distance: too small for the seat
    eye = WINDSHIELD.position
    billboard = _face(WINDSHIELD, eye + (_seat_head("driver", rng) - eye) * 2.4, ied_m=0.1)
    # a T-shirt print on a van's rear-left passenger: at chest height (1.05 m, inside the
    # nominal face band of a low sedan to a pickup), a 40 mm eye distance — too small
    shirt = _face(WINDSHIELD, _seat_head("rear_left", rng) * [1, 0, 1] + [0, 1.05, 0],
                  ied_m=0.040)
    # a photo held up beside the driver's window, life-size, 0.4 m beyond the body side:
    # no seat on its line of sight
    photo = _face(WINDSHIELD, np.array([1.4, 1.45, rng + 2.2]))
    # later, a life-size photo held out of the driver's window towards the side camera (1.7 m
    # in front of the driver's face on its line of sight, 0.3 m outside the body): its ray runs
    # on into the driver's seat, but it is far too large for a face there.  (Held *inside*,
    # at the windshield, a photo would pass: 1 m at 16 m from the windshield camera is within
    # the spread of adult eye distances.)
    rng_s = 3.0
    head = _seat_head("driver", rng_s)
    towards = (SIDE.position - head) / np.linalg.norm(SIDE.position - head)
    held = _face(SIDE, head + 1.7 * towards)
    side_real = _face(SIDE, head)
    ranked = _ranked("cam0", WINDSHIELD, {0: [(60.0, real)], 2: [(70.0, shirt)],
                                          1: [(65.0, photo)], 3: [(75.0, billboard)]}, rng)
    side = _ranked("side0", SIDE, {0: [(80.0, held), (50.0, side_real)]}, rng_s)
    stats = LaneStats()
    placed = place_faces([ranked, side], CABIN, stats)
    assert {s: p.candidate.face for s, p in placed.items()} == {0: real}  # 60 > side's 50
    assert stats.faults == Counter({"non_occupant:too_far": 2, "non_occupant:outside_cabin": 1,
                                    "non_occupant:too_near": 1})
    vault = SimpleNamespace(writes=[], write=lambda crop, meta: vault.writes.append(meta) or "r",
                            head=lambda: SimpleNamespace(seq=1, mac="m"))
    matcher = _Matcher()
    probes = make_probes(placed, matcher, 0.25, stats)  # type: ignore[arg-type]
    Decider("t", matcher, vault, stats).decide(  # type: ignore[arg-type]
        VehicleJob(1, _track(rng, 4.0), None, 0), [TravelDocument("p1", b"d")],  # type: ignore[arg-type]
        probes)
    assert matcher.templated == 1 and len(vault.writes) == 1
    assert vault.writes[0]["seat"] == "driver"


def test_sim_lane_films_the_rows_from_the_side_and_decides_each_traveler_once() -> None:
    # end to end, real time: rear_seat_side's van through the production lane — the booth
    # camera's burst, then the side camera's row bursts; ground truth only judges the result
    from lanecam.match.dlib_matcher import DlibMatcher
    from lanecam.sim.evaluate import evaluate_run
    from lanecam.sim.lane import document_templates, run_sim_lane

    matcher = DlibMatcher()
    run = run_sim_lane("rear_seat_side", matcher, templates=document_templates(matcher))
    assert len(run.events) == 1
    (event,) = run.events
    outcomes = evaluate_run(run)
    assert len(event.occupants) == len(outcomes) == 4  # one decision per traveler
    assert run.stats["counts"].get("side_bursts", 0) >= 1
    assert not any(o.false_match for o in outcomes)
    # some traveler's face came from the side camera, and the side frames showed a rear face
    assert any(o.camera_id == "sim:sim-side0" for o in event.occupants)
    side = next(c for c in run.cameras if c.serial == "sim-side0")
    rear_seen = False
    for n in range(1, 40):
        try:
            truth = side.ground_truth(n)
        except LookupError:
            continue
        rear_seen |= any(f.in_view and f.visibility > 0.9 and f.seat.startswith("rear")
                         for f in truth.faces)
    assert rear_seen


def test_faces_seen_together_correct_a_wrong_tracked_range() -> None:
    # the side camera sees three faces of one frame; the tracker says the van is 0.5 m
    # further back than it is (a braking van near standstill): seat by seat from the tracked
    # range, the oblique lines of sight put some face in its neighbour's seat; the range
    # correction fitted to the three faces together seats each in its own
    from lanecam.lane.seats import frame_offset

    true, tracked = 2.4, 2.9
    seats = ("driver", "rear_left", "rear_middle")
    faces = [_face(SIDE, _seat_head(s, true)) for s in seats]
    naive = [locate_face(SIDE, f, tracked, CABIN).seat for f in faces]
    assert naive != [SEATS.index(s) for s in seats]
    delta = frame_offset(SIDE, faces, tracked, CABIN)
    assert delta == pytest.approx(true - tracked, abs=0.2)  # the prior holds it back a little
    fixed = [locate_face(SIDE, f, tracked + delta, CABIN).seat for f in faces]
    assert fixed == [SEATS.index(s) for s in seats]
    # and through the lane's placement, each face lands in its own seat
    ranked = _ranked("side0", SIDE, {SEATS.index(s): [(60.0, f)] for s, f in zip(seats, faces)},
                     tracked)
    placed = place_faces([ranked], CABIN, LaneStats())
    assert {s: p.candidate.face for s, p in placed.items()} == {
        SEATS.index(s): f for s, f in zip(seats, faces)}
