"""From bursts to probes: rank each camera's burst, keep the best candidate with a face per
seat across cameras (one person seen through two seat ROIs counts once), cut the stored crop
and make its template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..frames import Burst, Frame
from ..match.base import FaceHint, FaceNotFoundError, Matcher, Template
from ..quality.pixels import bit_depth_of, to_dn8
from ..quality.rank import BurstRanker, BurstRanking, Candidate
from .camera import LaneCamera
from .job import CameraBurst
from .types import LaneStats

__all__ = ["Probe", "Ranked", "best_faces", "face_crop", "make_probes", "rank_bursts"]

#: The same person seen through two seat ROIs of one frame: face boxes overlapping this much.
SAME_FACE_IOU = 0.3


@dataclass(frozen=True)
class Ranked:
    """One camera's burst and its ranking."""

    lane_cam: LaneCamera
    burst: Burst
    ranking: BurstRanking
    #: the tracked front range (m) predicted at each frame's exposure (seat geometry)
    ranges_m: tuple[float, ...] = ()


@dataclass(frozen=True)
class Seen:
    """The best candidate with a face for one seat, and where it was filmed."""

    candidate: Candidate
    lane_cam: LaneCamera
    burst: Burst


@dataclass(frozen=True)
class Probe:
    """A seat's chosen face, ready to match: its crop (DN8, in memory only) and template."""

    seat: int
    candidate: Candidate
    lane_cam: LaneCamera
    burst: Burst
    crop: np.ndarray
    template: Template


def rank_bursts(ranker: BurstRanker, bursts: Sequence[CameraBurst]) -> list[Ranked]:
    """Rank every non-empty burst on its occupant ROIs (faces found while metering are not
    searched again)."""
    return [Ranked(b.camera, b.burst, ranker.rank(b.burst, b.rois, known_faces=b.known_faces),
                   tuple(b.ranges_m)) for b in bursts if len(b.burst)]


def best_faces(rankings: Sequence[Ranked]) -> dict[int, Seen]:
    """The best candidate with a face per seat, across all cameras; a face that two seats'
    ROIs share (a rear ROI overlaps the front row) goes to the seat that scored it higher."""
    best: dict[int, Seen] = {}
    for r in rankings:
        for seat, cands in r.ranking.top.items():
            for c in cands:
                if c.face is None:
                    continue
                if seat not in best or c.score > best[seat].candidate.score:
                    best[seat] = Seen(c, r.lane_cam, r.burst)
                break
    kept: dict[int, Seen] = {}
    for seat, item in sorted(best.items(), key=lambda kv: -kv[1].candidate.score):
        c = item.candidate
        assert c.face is not None
        if any(item.lane_cam is k.lane_cam and c.roi.frame_index == k.candidate.roi.frame_index
               and _iou(c.face.box, k.candidate.face.box) > SAME_FACE_IOU  # type: ignore[union-attr]
               for k in kept.values()):
            continue
        kept[seat] = item
    return kept


def make_probes(faces: dict[int, Seen], matcher: Matcher, margin: float,
                stats: LaneStats) -> list[Probe]:
    """Crop and template each seat's face; a face the matcher cannot find is counted
    (``matcher_no_face``) and left out."""
    probes: list[Probe] = []
    for seat, seen in faces.items():
        cand = seen.candidate
        assert cand.face is not None
        crop, hint = face_crop(seen.burst[cand.roi.frame_index], cand.face.box, margin)
        try:
            tpl = matcher.template(crop, hint)
        except FaceNotFoundError:
            stats.faults["matcher_no_face"] += 1
            continue
        probes.append(Probe(seat, cand, seen.lane_cam, seen.burst, crop, tpl))
    return probes


def face_crop(frame: Frame, box: Sequence[int], margin: float) -> tuple[np.ndarray, FaceHint]:
    """The crop stored and matched for a face ``box`` (x, y, w, h) of ``frame``: the box grown
    by ``margin`` of its size on each side (clipped to the frame), on the 8-bit scale of the
    frame's own bit depth (:func:`~lanecam.quality.pixels.to_dn8`, as the face finder sees
    it), and the face's box inside the crop."""
    x, y, w, h = (int(v) for v in box)
    image = frame.array
    x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    x1 = min(image.shape[1], int(x + w + margin * w))
    y1 = min(image.shape[0], int(y + h + margin * h))
    crop = to_dn8(image[y0:y1, x0:x1], bit_depth_of(frame))
    return crop, FaceHint((x - x0, y - y0, x - x0 + w, y - y0 + h))


def _iou(a: Sequence[int], b: Sequence[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0
