"""Burst ranking: score every occupant ROI of every frame and keep the top K per occupant.

The ranker reads only the predicted ROIs (one fused Numba pass each, see
:mod:`lanecam.quality.kernels`), scores them with :func:`~lanecam.quality.scoring.score_records`
(one number in [0, 100] plus its components), and keeps the best ``top_k`` frames per occupant.
Incomplete frames are skipped and counted.  If a :class:`~lanecam.quality.faces.FaceFinder` is
available it then looks for faces only in those top-K ROI crops and re-orders each occupant's
candidates by the face-level score (frames with a face first).

Face finding is the expensive step (~15–20 ms per 450×600 crop with dlib HOG; 5 seats × top-3 =
15 crops per burst), so by default it is *lazy* (``face_search="lazy"``): candidates are searched
in ROI-score order and the search of an occupant stops at the first face whose face-level score
(its sharpness relative to the sharpest face found so far, see
:func:`~lanecam.quality.faces.face_score`) reaches ``good_face``; it goes deeper only when a
crop shows no face or the face found scores below ``good_face``, and the candidates searched are
then ordered exactly as the eager search orders them.  Candidates never searched keep
``searched=False``.

This is a cheap rule, not an exact one.  The eager search (``face_search="all"``) re-orders all
K crops by face score, and among the near-equal ROI scores of one burst it picks another frame
than "first face in ROI order" in about half the seats — a choice no cheap predictor
reproduces (ROI order, ROI size or a face score predicted from the ROI components and ROI
height each agree in ~50 % of 105 seats), and one that barely shows in the matcher.  Measured on
28 bursts recorded from the simulated lane (10 scenarios × 3 control arms; 43 seats showing
their own occupant, who has a document; 68-point matcher, one crop): eager 32/43 verified,
median genuine similarity 0.469; lazy ``good_face=55`` (default) 31/43, 0.467; 65: 32/43, 0.467;
0 (first face): 30/43, 0.467 — at 8.5, 10.4 and 7.9 finder calls per burst instead of 14.9.
No face the eager search finds is lost: a seat whose crops show no face is still searched K
deep (an empty rear seat costs K calls).

Frames are borrowed: call :meth:`BurstRanker.rank` inside the burst's ``with`` block.  The
result keeps frame indices and numbers, never pixels.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import LimitError
from ..frames import Frame
from .faces import Face, FaceFinder, default_face_finder, face_score, face_sharpness
from .kernels import RegionStats, Roi, region_stats, region_stats_many
from .pixels import bit_depth_of
from .scoring import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    QualityScore,
    ScoreWeights,
    normalized_sharpness,
    score_records,
)

__all__ = ["GOOD_FACE", "BurstRanker", "BurstRanking", "Candidate", "RoiScore"]

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class RoiScore:
    """Quality of one occupant ROI in one frame.

    ``frame_index`` is the position in the burst, ``frame_number`` the camera's; ``roi`` as
    given (full-frame pixels, before clipping); ``stats`` the measured statistics (DN8 units);
    ``sharpness`` the raw :func:`~lanecam.quality.scoring.normalized_sharpness` (1/px²) behind
    the sharpness component, which breaks ties between equal scores.
    """

    frame_index: int
    frame_number: int
    occupant: int
    roi: Roi
    quality: QualityScore
    stats: RegionStats
    sharpness: float

    @property
    def score(self) -> float:
        return self.quality.score


@dataclass(frozen=True, slots=True)
class Candidate:
    """One of an occupant's top-K frames, with what the face finder saw in its ROI.

    ``faces`` is empty and ``face_quality`` ``None`` when no face was found, no finder ran
    (``BurstRanking.face_finding`` tells which) or the lazy search stopped before this candidate
    (``searched`` False).
    """

    roi: RoiScore
    faces: tuple[Face, ...] = ()
    face_quality: QualityScore | None = None
    searched: bool = True
    #: the face came from ``known_faces`` (found while metering), not from a search
    reused: bool = False

    @property
    def face(self) -> Face | None:
        return self.faces[0] if self.faces else None

    @property
    def score(self) -> float:
        """The face-level score when a face was found, else the ROI score."""
        return self.face_quality.score if self.face_quality is not None else self.roi.score


@dataclass(frozen=True, slots=True)
class BurstRanking:
    """Result of :meth:`BurstRanker.rank`.

    ``top[occupant]`` holds up to K candidates, best first; ``scores`` every scored ROI in
    frame order.  Counts: ``frames_scored`` complete frames, ``incomplete_frames`` skipped,
    ``missing_frames`` requested but never delivered, ``empty_rois`` ROIs outside the frame.
    """

    camera_id: str | None
    top: Mapping[int, tuple[Candidate, ...]]
    scores: tuple[RoiScore, ...]
    frames_scored: int
    incomplete_frames: int
    missing_frames: int
    empty_rois: int
    face_finding: bool
    #: candidates whose face came from ``known_faces`` (found while metering), not a search
    faces_reused: int = 0

    def best(self, occupant: int) -> Candidate | None:
        """The best candidate for ``occupant``, or ``None`` if it was never measurable."""
        cands = self.top.get(occupant, ())
        return cands[0] if cands else None


RoiLike = Roi | Sequence[int]

GOOD_FACE = 55.0
"""Default face-level score that ends a lazy face search (see :class:`BurstRanker`)."""


def _rank_key(s: RoiScore) -> tuple[float, float]:
    """Score, then the raw normalized sharpness to break ties between saturated scores."""
    return (s.score, s.sharpness if np.isfinite(s.sharpness) else -1.0)


class BurstRanker:
    """Ranks the frames of a burst per occupant.

    ``top_k``: frames kept per occupant (≥ 1).  ``weights``: component weights of the score.
    ``bit_depth``: significant bits of ``uint16`` frames (default: from each frame's pixel
    format, else 16).  ``face_finder``: a :class:`FaceFinder`, ``None`` for ROI scores only, or
    ``"auto"`` for :func:`~lanecam.quality.faces.default_face_finder` (dlib when installed;
    otherwise logs once and ranks on ROI scores).  ``face_search``: ``"lazy"`` (default) stops an
    occupant's search at the first face scoring ≥ ``good_face`` (see the module docstring),
    ``"all"`` searches all K crops.  ``good_face``: face-level score in [0, 100] that ends a lazy
    search (default 55: a well exposed ~45 px IED face, the sharpest found so far, scores
    60–75 — the IED component caps it near 74 at that size and ~87 at 70 px — so the search
    goes deeper for dim, low-contrast, glared or small faces; 0 stops at the first face).
    """

    def __init__(
        self,
        *,
        top_k: int = 3,
        weights: ScoreWeights = DEFAULT_WEIGHTS,
        bit_depth: int | None = None,
        face_finder: FaceFinder | None | Literal["auto"] = "auto",
        face_search: Literal["lazy", "all"] = "lazy",
        good_face: float = GOOD_FACE,
    ) -> None:
        if not isinstance(top_k, int) or top_k < 1:
            raise LimitError(f"top_k {top_k!r} must be an integer ≥ 1", feature="top_k",
                             allowed="≥ 1")
        if face_search not in ("lazy", "all"):
            raise LimitError(f"face_search {face_search!r}", feature="face_search",
                             allowed=("lazy", "all"))
        if not (isinstance(good_face, (int, float)) and 0 <= good_face <= 100):
            raise LimitError(f"good_face {good_face!r} out of range", feature="good_face",
                             allowed=(0, 100))
        self.top_k = top_k
        self.face_search = face_search
        self.good_face = float(good_face)
        self.weights = weights
        self.bit_depth = bit_depth
        self.face_finder: FaceFinder | None = (
            default_face_finder() if face_finder == "auto" else face_finder  # type: ignore[assignment]
        )

    def score_frame(self, frame: Frame, rois: Sequence[RoiLike | None]) -> list[RoiScore | None]:
        """Scores of one frame's ROIs (``None`` for a ``None`` or off-frame ROI)."""
        scored, _ = self._score_frames([frame], [rois], [0])
        out: list[RoiScore | None] = [None] * len(rois)
        for s in scored:
            out[s.occupant] = s
        return out

    def _score_frames(
        self, burst: Sequence[Frame], rois: Sequence[Sequence[RoiLike | None]], which: list[int]
    ) -> tuple[list[RoiScore], int]:
        """Score the ROIs of frames ``which`` in one kernel call per pixel type."""
        groups: dict[tuple[str, int | None], list[int]] = {}
        for i in which:
            groups.setdefault((burst[i].array.dtype.str, self._depth(burst[i])), []).append(i)
        scored: list[RoiScore] = []
        empty = 0
        for (_, depth), idx in groups.items():
            keys = [[(j, Roi(*map(int, r))) for j, r in enumerate(rois[i]) if r is not None]
                    for i in idx]
            records, hist, _ = region_stats_many(
                [burst[i].array for i in idx], [[r for _, r in k] for k in keys], bit_depth=depth)
            scores, comp = score_records(records, self.weights)
            sharp = normalized_sharpness(records["tenengrad"], records["std"],
                                         records["noise_sigma"]).tolist()
            flat = [(i, j, roi) for i, k in zip(idx, keys) for j, roi in k]
            # bulk conversions: one tolist() per array instead of per-ROI numpy scalars
            rows, comp_rows, score_list = records.tolist(), comp.tolist(), scores.tolist()
            for n, (i, j, roi) in enumerate(flat):
                if rows[n][0] == 0:  # n_pixels: the ROI lies outside the frame
                    empty += 1
                    continue
                scored.append(RoiScore(
                    frame_index=i,
                    frame_number=burst[i].meta.frame_number,
                    occupant=j,
                    roi=roi,
                    quality=QualityScore(score_list[n], dict(zip(COMPONENTS, comp_rows[n]))),
                    stats=RegionStats(*rows[n], hist[n]),
                    sharpness=sharp[n],
                ))
        scored.sort(key=lambda s: (s.frame_index, s.occupant))
        return scored, empty

    def rank(
        self, burst: Sequence[Frame], rois: Sequence[Sequence[RoiLike | None]],
        known_faces: Mapping[tuple[int, int], Face] | None = None,
    ) -> BurstRanking:
        """Score ``rois[i][j]`` (occupant ``j`` in frame ``i``) and pick each occupant's top K.

        ``rois`` has one entry per frame of ``burst``; an occupant's ROI may be ``None`` in
        frames where it was not predicted.  ``known_faces[(i, j)]``: a face already found in
        frame ``i`` for occupant ``j`` (e.g. while metering exposure): a candidate there uses it
        instead of searching again.
        """
        if len(rois) != len(burst):
            raise LimitError(f"{len(rois)} ROI lists for a burst of {len(burst)} frames",
                             feature="rois", allowed=len(burst))
        occupants = sorted({j for per in rois for j, r in enumerate(per) if r is not None})
        complete = [i for i, f in enumerate(burst) if f.meta.complete]
        incomplete = len(burst) - len(complete)
        scored, empty = self._score_frames(burst, rois, complete)
        known = dict(known_faces or {})
        top = {j: self._top(burst, [s for s in scored if s.occupant == j], known)
               for j in occupants}
        result = BurstRanking(
            camera_id=getattr(burst, "camera_id", None),
            top=top,
            scores=tuple(scored),
            frames_scored=len(burst) - incomplete,
            incomplete_frames=incomplete,
            missing_frames=int(getattr(burst, "missing_count", 0)),
            empty_rois=empty,
            face_finding=self.face_finder is not None,
            faces_reused=sum(c.reused for cands in top.values() for c in cands),
        )
        log.debug("ranked burst camera=%s frames=%d incomplete=%d occupants=%d empty_rois=%d",
                  result.camera_id, result.frames_scored, incomplete, len(top), empty)
        return result

    def _top(self, burst: Sequence[Frame], scores: list[RoiScore],
             known: Mapping[tuple[int, int], Face]) -> tuple[Candidate, ...]:
        # ties (e.g. saturated components) fall back to the raw normalized sharpness
        best = sorted(scores, key=_rank_key, reverse=True)[: self.top_k]
        finder = self.face_finder
        if finder is None:
            return tuple(Candidate(s) for s in best)
        lazy = self.face_search == "lazy"
        found = []
        ref: float | None = None  # the sharpest face so far (same person, same burst)
        for s in best:
            frame = burst[s.frame_index]
            depth = self._depth(frame)
            seen = known.get((s.frame_index, s.occupant))
            if seen is not None:  # found while metering: no second detection
                faces: tuple[Face, ...] = (seen,)
            else:
                faces = _seat_first(finder.find(frame.array, s.roi, bit_depth=depth), s.roi)
            rec = region_stats(frame.array, [tuple(faces[0].box)], bit_depth=depth)[0][0] \
                if faces else None
            found.append((s, faces, rec, seen is not None))
            if rec is None:
                continue
            x = face_sharpness(rec)
            if np.isfinite(x):
                ref = x if ref is None else max(ref, x)
            if lazy and face_score(rec, faces[0], weights=self.weights,
                                   sharpness_ref=ref).score >= self.good_face:
                break
        # face sharpness is compared among this occupant's searched candidates
        cands = [
            Candidate(s, faces, face_score(rec, faces[0], weights=self.weights,
                                           sharpness_ref=ref) if rec is not None else None,
                      reused=reused)
            for s, faces, rec, reused in found
        ]
        cands.sort(key=lambda c: (c.face_quality is not None, c.score), reverse=True)
        cands += [Candidate(s, searched=False) for s in best[len(found):]]
        return tuple(cands)

    def _depth(self, frame: Frame) -> int | None:
        if frame.array.dtype == np.uint8:
            return None
        return self.bit_depth if self.bit_depth is not None else bit_depth_of(frame)


def _seat_first(faces: Sequence[Face], roi: Sequence[int]) -> tuple[Face, ...]:
    """The faces found in an occupant's ROI, the occupant's own first: the one whose centre
    lies nearest the ROI's centre (in ROI widths/heights).  A rear seat's ROI also shows the
    front-row head in front of it, larger and higher-scoring, near the ROI's edge; taking the
    detector's best there would hand the front occupant's face to the rear seat (and the
    cross-seat de-duplication would then drop the rear traveler altogether)."""
    if len(faces) < 2:
        return tuple(faces)
    rx, ry, rw, rh = roi
    cx, cy = rx + rw / 2, ry + rh / 2

    def off(f: Face) -> float:
        x, y, w, h = f.box
        return ((x + w / 2 - cx) / max(rw, 1)) ** 2 + ((y + h / 2 - cy) / max(rh, 1)) ** 2

    return tuple(sorted(faces, key=off))
