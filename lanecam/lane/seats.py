"""Seats by geometry: which seat of the tracked vehicle a detected face sits in, whichever
camera saw it — or that it sits in none (a face printed on a T-shirt, a photo held up beside
the window, a billboard behind the vehicle), and so is no occupant.

A face found at pixel (u, v) of a camera lies on the ray from the camera's centre through that
pixel.  Its distance along the ray follows from its size: an adult's inter-eye distance is
:data:`NOMINAL_IED_M` (63 mm), seen foreshortened by the cosine of the horizontal angle
between the ray and the lane axis (occupants face down the lane, −z), so
``distance ≈ f_px × IED × cos(yaw) / ied_px``.  Each seat of the tracked vehicle, at the
range predicted for the frame's exposure, is the box :func:`~lanecam.geometry.face_points`
gives (the cabin's face band, the seat's lateral position, ± ``margin_m``).  The face is in a
seat when the ray passes through that box *and* its size-derived distance falls within
:data:`DEPTH_TOLERANCE` of where the ray is inside the box; among several such seats the one
the ray passes closest to, at the distance its size says, wins (:func:`_miss`).  A face in no seat is rejected and
counted (``non_occupant:<why>`` in ``stats.faults``): it is never matched nor stored.

The tolerance covers the adult IED spread (≈ 54–74 mm, ±15 %), a head turned up to ~30° off
the lane axis (cos 30° = 0.87) and the finder's eye localisation on a ~30 px face; it does not
cover a child's face (IED ≈ 50 mm at age 6: a 26 % larger distance), which can be rejected —
the decision is then "refer to officer", never a refusal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..geometry import SEAT_ROWS, CabinModel, CameraModel, face_points
from ..quality.faces import Face
from .analysis import SAME_FACE_IOU, Ranked, Seen, _iou
from .camera import analysis_model
from .types import SEATS, LaneStats

__all__ = ["DEPTH_TOLERANCE", "MAX_OFFSET_M", "NOMINAL_IED_M", "OFF_AXIS_POINTS_PER_DEG",
           "SeatFix", "face_ray", "frame_offset", "locate_face", "off_axis_deg", "place_faces",
           "seat_costs"]

#: Mean adult inter-pupillary distance (m): Dodgson 2004, 63 mm (physics_quality.md §3.2).
NOMINAL_IED_M = 0.063
#: A face's size-derived distance may be this factor nearer or farther than the seat's span
#: along its ray (module docstring).
DEPTH_TOLERANCE = 1.3


@dataclass(frozen=True)
class SeatFix:
    """Where a face sits: ``seat`` (index into :data:`~lanecam.lane.types.SEATS`, or None for
    no seat), ``why`` the reason a face in no seat was rejected (``"outside_cabin"``: its ray
    meets no seat; ``"too_far"``: it is too small for any seat its ray meets — a billboard
    behind, a print; ``"too_near"``: too large — a photo held up at the glass), its
    size-derived distance (m) and 3-D position (world m; None without eyes)."""

    seat: int | None
    why: str | None
    distance_m: float | None
    position_m: tuple[float, float, float] | None


def face_ray(model: CameraModel, u: float, v: float) -> np.ndarray:
    """Unit direction (world) of the ray from ``model``'s centre through pixel (u, v)
    (lens distortion undone by fixed-point iteration)."""
    (fx, fy), (cx, cy) = model.focal_xy, model.principal
    xd, yd = (u - cx) / fx, (v - cy) / fy
    x, y = xd, yd
    if model.distortion:
        from ..geometry import distort

        for _ in range(20):
            ex, ey = distort(np.array(x), np.array(y), model.distortion)
            x, y = x + (xd - float(ex)), y + (yd - float(ey))
    right, down, fwd = model.axes()
    d = fwd + x * right + y * down
    return np.asarray(d / np.linalg.norm(d), dtype=np.float64)


def _span(o: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray
          ) -> tuple[float, float] | None:
    """(entry, exit) distance of the ray o + t·d (t > 0) through the box [lo, hi], or None."""
    t0, t1 = 0.0, math.inf
    for k in range(3):
        if abs(d[k]) < 1e-12:
            if not lo[k] <= o[k] <= hi[k]:
                return None
            continue
        a, b = (lo[k] - o[k]) / d[k], (hi[k] - o[k]) / d[k]
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        if t0 > t1:
            return None
    return t0, t1


def _miss(o: np.ndarray, d: np.ndarray, centre: np.ndarray, span: tuple[float, float],
          dist: float | None, margin_m: float) -> float:
    """How badly a face on ray o + t·d at size-derived distance ``dist`` fits a seat centred
    at ``centre``: the ray's closest approach to the centre in seat margins, plus the log
    ratio of ``dist`` to that approach's distance in units of log :data:`DEPTH_TOLERANCE`,
    each squared.  The ray decides across the image, the size along the ray: a side camera's
    oblique ray runs through seats of both rows, a windshield camera's through a front and
    the rear seat behind it, and the size error (≈ 10 % for a turned face) is too coarse to
    tell rows 0.9 m apart on its own."""
    t = float(np.clip((centre - o) @ d, *span))
    perp = float(np.linalg.norm(o + d * t - centre)) / margin_m
    along = 0.0 if dist is None else math.log(dist / max(t, 1e-6)) / math.log(DEPTH_TOLERANCE)
    return perp * perp + along * along


def seat_costs(model: CameraModel, face: Face, front_range_m: float, cabin: CabinModel
               ) -> tuple[dict[int, float], SeatFix]:
    """Per seat index the face fits (module docstring), how badly (:func:`_miss`); and the
    face's :class:`SeatFix` — its best seat, or why it fits none."""
    if face.inter_eye_px > 0:
        (ax, ay), (bx, by) = face.eyes
        u, v = (ax + bx) / 2, (ay + by) / 2
    else:
        x, y, w, h = face.box
        u, v = x + w / 2, y + h / 2
    d = face_ray(model, u, v)
    o = model.position
    dist: float | None = None
    if face.inter_eye_px > 0:
        cos_yaw = abs(d[2]) / max(math.hypot(d[0], d[2]), 1e-9)
        dist = model.focal_xy[0] * NOMINAL_IED_M * max(cos_yaw, 0.2) / face.inter_eye_px
    costs: dict[int, float] = {}
    why = "outside_cabin"
    for s, seat in enumerate(SEATS):
        corners = face_points(cabin, front_range_m, seat)
        span = _span(o, d, corners.min(axis=0), corners.max(axis=0))
        if span is None:
            continue
        t0, t1 = span
        if dist is not None:
            if dist > t1 * DEPTH_TOLERANCE:
                why = "too_far" if why != "too_near" else why
                continue
            if dist < t0 / DEPTH_TOLERANCE:
                why = "too_near" if why != "too_far" else why
                continue
        costs[s] = _miss(o, d, corners.mean(axis=0), span, dist, cabin.margin_m)
    pos: tuple[float, float, float] | None = None
    if dist is not None:
        px, py, pz = (float(c) for c in o + d * dist)
        pos = (px, py, pz)
    seat_of = min(costs, key=costs.__getitem__) if costs else None
    return costs, SeatFix(seat_of, None if costs else why, dist, pos)


def locate_face(model: CameraModel, face: Face, front_range_m: float,
                cabin: CabinModel) -> SeatFix:
    """The seat ``face`` (found in a frame of ``model`` exposed when the tracked front was at
    ``front_range_m``) sits in, or why it sits in none (module docstring)."""
    return seat_costs(model, face, front_range_m, cabin)[1]


#: The tracked range may be off by this much (m) at a frame (a braking vehicle's range near
#: standstill, latency); a frame with two or more faces searches it, ± this, in steps of
#: :data:`OFFSET_STEP_M`, under a Gaussian prior of :data:`OFFSET_SIGMA_M` (ASSUMED: the
#: rear_seat van's tracked range was up to 0.6 m past its stop).
MAX_OFFSET_M = 0.8
OFFSET_STEP_M = 0.05
OFFSET_SIGMA_M = 0.4
#: Cost of a face left without a seat of its own in that search (two seat margins off).
UNSEATED_COST = 4.0


def frame_offset(model: CameraModel, faces: Sequence[Face], front_range_m: float,
                 cabin: CabinModel) -> float:
    """The range correction (m) under which the faces of one frame best fill distinct seats:
    from an oblique side view a range error of 0.5 m moves a seat's box along the line of
    sight onto the next seat, so several faces seen together fix the range better than the
    tracker does.  0 for fewer than two faces."""
    if len(faces) < 2:
        return 0.0
    best = (math.inf, 0.0)
    for delta in np.arange(-MAX_OFFSET_M, MAX_OFFSET_M + 1e-9, OFFSET_STEP_M):
        rows = [seat_costs(model, f, front_range_m + delta, cabin)[0] for f in faces]
        pairs = sorted((c, i, s) for i, costs in enumerate(rows) for s, c in costs.items())
        seated: set[int] = set()
        taken: set[int] = set()
        total = float(delta / OFFSET_SIGMA_M) ** 2
        for c, i, s in pairs:
            if i not in seated and s not in taken:
                seated.add(i)
                taken.add(s)
                total += c
        total += UNSEATED_COST * (len(faces) - len(seated))
        if total < best[0] - 1e-9:
            best = (total, float(delta))
    return best[1]


#: Quality points a face's rank across cameras loses per degree its camera sees it off the
#: lane axis (occupants face down the lane; ASSUMED from the simulator: a face seen 30° off
#: frontal scored 0.05–0.07 lower dlib similarity than frontally, which 15 points of the
#: 0–100 quality score roughly cover).  Pose is not in the quality score; this is its
#: geometric stand-in — it cannot see a head turned towards a camera.
OFF_AXIS_POINTS_PER_DEG = 0.5


def off_axis_deg(model: CameraModel, face: Face) -> float:
    """Horizontal angle (deg) between the line of sight to ``face`` and the lane axis."""
    x, y, w, h = face.box
    d = face_ray(model, x + w / 2, y + h / 2)
    return math.degrees(math.atan2(abs(d[0]), abs(d[2])))


def _frame_faces(r: Ranked) -> dict[int, list[Face]]:
    """The distinct faces ranked in each frame of one burst (a face in two seat ROIs once)."""
    out: dict[int, list[Face]] = {}
    for cands in r.ranking.top.values():
        for c in cands:
            if c.face is None:
                continue
            faces = out.setdefault(c.roi.frame_index, [])
            if not any(_iou(c.face.box, f.box) > SAME_FACE_IOU for f in faces):
                faces.append(c.face)
    return out


def place_faces(rankings: Sequence[Ranked], cabin: CabinModel, stats: LaneStats
                ) -> dict[int, Seen]:
    """Every ranked face placed in its seat by geometry, the best per seat across all cameras
    (:class:`~lanecam.lane.analysis.Seen` per seat index): one occupant seen by two cameras
    — or through two seat ROIs — is one face, hence one decision.  Each frame's tracked range
    is first corrected by :func:`frame_offset` from the faces seen together in it.  Every
    ranked candidate's face is placed (a seat ROI's best frame may show its neighbour, and its
    next one the seat's own occupant), each distinct face of a frame once.  A face in no seat
    is counted (``non_occupant:<why>``, once per frame it was found in) and dropped.  Across
    cameras a seat's faces rank by quality score less :data:`OFF_AXIS_POINTS_PER_DEG` per
    degree off the lane axis.  ``rankings``: :class:`~lanecam.lane.analysis.Ranked` with each frame's predicted front
    range (``ranges_m``); without ranges a burst keeps its ROI's seat (counted
    ``seat_unplaced``)."""
    best: dict[int, Seen] = {}
    rank: dict[int, float] = {}  # seat → its face's score less the off-axis penalty
    for r in rankings:
        model = analysis_model(r.lane_cam)
        ranges = r.ranges_m
        offsets = {i: frame_offset(model, faces, ranges[i], cabin)
                   for i, faces in _frame_faces(r).items() if i < len(ranges)}
        done: set[tuple[int, tuple[int, ...]]] = set()  # (frame, box): a face once
        for roi_seat, cands in r.ranking.top.items():
            for c in cands:  # every candidate: the ROI's best may be its neighbour's face
                if c.face is None or (c.roi.frame_index, tuple(c.face.box)) in done:
                    continue
                i = c.roi.frame_index
                done.add((i, tuple(c.face.box)))
                if i >= len(ranges):
                    stats.faults["seat_unplaced"] += 1
                    seat: int = roi_seat
                else:
                    fix = locate_face(model, c.face, ranges[i] + offsets.get(i, 0.0), cabin)
                    if fix.seat is None:
                        stats.faults[f"non_occupant:{fix.why}"] += 1
                        continue
                    seat = fix.seat
                    if seat != roi_seat:
                        stats.counts["seat_reassigned"] += 1
                key = c.score - OFF_AXIS_POINTS_PER_DEG * off_axis_deg(model, c.face)
                if seat not in best or key > rank[seat]:
                    best[seat], rank[seat] = Seen(c, r.lane_cam, r.burst), key
    return best


#: Seat rows by seat index, for callers that group decisions by row.
SEAT_ROW_OF: tuple[int, ...] = tuple(SEAT_ROWS[s][0] for s in SEATS)
