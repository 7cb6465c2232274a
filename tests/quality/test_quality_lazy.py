"""Lazy face search in the BurstRanker, the finder's downscaled detection and the shared dlib
models — with the real dlib finder (wrapped only to count its calls) on real face photos."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from quality_helpers import gray, make_burst

from lanecam.errors import LimitError
from lanecam.match import dlib_models
from lanecam.match.dlib_matcher import DlibMatcher
from lanecam.match.dlib_matcher import dlib_models as matcher_models
from lanecam.quality.faces import RANKER_MAX_SIDE, DlibFaceFinder, default_face_finder
from lanecam.quality.kernels import Roi
from lanecam.quality.rank import GOOD_FACE, BurstRanker

FRAME = (600, 900)
FACE_ROI = Roi(100, 40, 420, 520)  # the occupant's ROI; the photo's face sits inside it
EMPTY_ROI = Roi(600, 60, 260, 400)  # a seat with nobody in it (dashboard gradient only)


class CountingFinder:
    """The real finder, counting what it is asked."""

    def __init__(self, finder: DlibFaceFinder) -> None:
        self.finder = finder
        self.calls: list[tuple[int, tuple[int, ...]]] = []

    def find(self, image, roi, *, bit_depth=None):
        self.calls.append((id(image), tuple(roi)))
        return self.finder.find(image, roi, bit_depth=bit_depth)


@functools.cache
def _finder() -> DlibFaceFinder:
    return DlibFaceFinder()


@functools.cache
def _scene() -> np.ndarray:
    """obama.jpg shrunk to a ~60 px IED face, pasted into a dim frame at FACE_ROI."""
    photo = gray("obama.jpg")
    k = 0.6  # eyes at (443, 216) and (549, 215) in the photo (sim/assets/faces.toml)
    small = cv2.resize(photo, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    frame = np.full(FRAME, 40.0)
    frame += np.linspace(0, 25, FRAME[1])
    x, y, w, h = FACE_ROI
    cx, cy = round(496 * k), round(216 * k)  # between the eyes
    window = small[max(cy - 200, 0):max(cy - 200, 0) + h, cx - w // 2:cx - w // 2 + w]
    frame[y:y + window.shape[0], x:x + window.shape[1]] = window
    return frame


def _frames(rng: np.random.Generator, *, flipped_best: bool = False) -> list[np.ndarray]:
    """Five frames of the scene: sharp, then increasingly blurred.  With ``flipped_best`` the
    sharp frame shows the ROI upside down: same pixel statistics (it scores best), no
    frontal face for the detector."""
    clean = _scene()
    out = []
    for sigma in (0.0, 0.8, 1.1, 1.4, 2.0):
        img = clean if sigma == 0 else cv2.GaussianBlur(clean, (0, 0), sigma)
        img = img + rng.normal(0, 1.0, img.shape)
        if sigma == 0 and flipped_best:
            x, y, w, h = FACE_ROI
            img = img.copy()
            img[y:y + h, x:x + w] = img[y:y + h, x:x + w][::-1]
        out.append(np.clip(img, 0, 255).round().astype(np.uint8))
    return out


def _rank(frames, *, rois=(FACE_ROI,), **kw):
    spy = CountingFinder(_finder())
    burst = make_burst(frames)
    ranking = BurstRanker(top_k=3, face_finder=spy, **kw).rank(burst, [list(rois)] * len(frames))
    return ranking, spy, burst


def test_lazy_search_stops_at_the_first_good_face(rng):
    frames = _frames(rng)
    lazy, spy, _ = _rank(frames, good_face=0)
    eager, spy_all, _ = _rank(frames, face_search="all")
    assert len(spy.calls) == 1 and len(spy_all.calls) == 3
    cands = lazy.top[0]
    assert len(cands) == 3 and cands[0].face is not None and cands[0].searched
    assert [c.searched for c in cands[1:]] == [False, False]
    assert all(c.face is None and c.face_quality is None for c in cands[1:])
    # what the lazy search found is what the eager one found in that crop
    same = next(c for c in eager.top[0] if c.roi.frame_index == cands[0].roi.frame_index)
    assert same.face == cands[0].face
    assert all(c.searched for c in eager.top[0])


def test_lazy_search_goes_deeper_when_the_face_could_be_beaten(rng):
    frames = _frames(rng)
    # a bar no face reaches: every candidate is searched and ordered as the eager search does
    full, spy, _ = _rank(frames, good_face=100)
    eager, _, _ = _rank(frames, face_search="all")
    assert len(spy.calls) == 3
    assert [(c.roi.frame_index, c.face, c.score) for c in full.top[0]] == \
        [(c.roi.frame_index, c.face, c.score) for c in eager.top[0]]
    # the default bar: a ~60 px IED face scores below it only when something else is wrong
    assert 0 < GOOD_FACE < 100
    lazy, spy, _ = _rank(frames)
    best = lazy.best(0)
    assert best is not None and best.face is not None
    searched = sorted((c for c in lazy.top[0] if c.searched), key=lambda c: c.roi.score,
                      reverse=True)
    assert len(searched) == len(spy.calls) >= 1
    # every candidate searched before the last one showed no face or one scoring below the bar
    assert all(c.face_quality is None or c.score < GOOD_FACE for c in searched[:-1])


def test_lazy_search_goes_deeper_when_no_face_is_found(rng):
    frames = _frames(rng, flipped_best=True)
    ranking, spy, burst = _rank(frames, good_face=0)
    roi_order = sorted((s for s in ranking.scores if s.occupant == 0),
                       key=lambda s: s.score, reverse=True)
    assert roi_order[0].frame_index == 0  # the upside-down frame has the best ROI score
    assert len(spy.calls) == 2
    assert spy.calls[0] == (id(burst[0].array), tuple(FACE_ROI))
    best = ranking.best(0)
    assert best is not None and best.face is not None and best.roi.frame_index != 0
    searched = [c for c in ranking.top[0] if c.searched]
    assert len(searched) == 2 and any(c.roi.frame_index == 0 and c.face is None for c in searched)


def test_empty_seat_is_searched_k_deep_and_a_face_is_never_lost(rng):
    frames = _frames(rng)
    lazy, spy, _ = _rank(frames, rois=(FACE_ROI, EMPTY_ROI))
    eager, spy_all, _ = _rank(frames, rois=(FACE_ROI, EMPTY_ROI), face_search="all")
    empty_calls = [c for c in spy.calls if c[1] == tuple(EMPTY_ROI)]
    assert len(empty_calls) == 3 and all(c.searched and c.face is None for c in lazy.top[1])
    assert len(spy.calls) < len(spy_all.calls) == 6
    assert lazy.best(0).face is not None and eager.best(0).face is not None


def test_ranker_options_are_validated():
    with pytest.raises(LimitError):
        BurstRanker(face_finder=None, face_search="some")  # type: ignore[arg-type]
    with pytest.raises(LimitError):
        BurstRanker(face_finder=None, good_face=120)


def test_downscaled_detection_keeps_faces_and_full_resolution_landmarks():
    img = gray("biden.jpg")  # ~1000 px photo, ~230 px face: shrinks ~2× to 512
    roi = Roi(0, 0, img.shape[1], img.shape[0])
    full = DlibFaceFinder().find(img, roi)
    small = DlibFaceFinder(max_side=RANKER_MAX_SIDE).find(img, roi)
    assert len(full) == len(small) == 1
    a, b = full[0], small[0]
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    assert ix * iy / (aw * ah + bw * bh - ix * iy) > 0.7
    assert abs(a.inter_eye_px - b.inter_eye_px) < 0.1 * a.inter_eye_px
    with pytest.raises(LimitError):
        DlibFaceFinder(max_side=10)


def test_the_finder_and_the_matcher_share_one_model_set():
    finder = default_face_finder()
    assert isinstance(finder, DlibFaceFinder) and finder.max_side == RANKER_MAX_SIDE
    finder.load()
    other = DlibFaceFinder(upsample=0)
    other.load()
    DlibMatcher(landmarks=5).load()
    det, sp5, enc = matcher_models()
    assert finder._detector is other._detector
    assert finder._detector.model is det is dlib_models.frontal_face_detector().model
    assert finder._predictor.model is sp5 is dlib_models.shape_predictor(5).model
    assert enc is dlib_models.face_encoder().model


def test_an_occupant_roi_offers_its_own_face_first_not_the_front_row_head_in_it() -> None:
    from types import SimpleNamespace as NS

    from lanecam.quality.rank import _seat_first

    roi = (1000, 800, 400, 300)  # a rear seat's ROI: centre (1200, 950)
    front = NS(box=(1010, 930, 160, 160))  # the larger front-row head at the ROI's edge
    own = NS(box=(1150, 900, 100, 100))  # the rear occupant, near the centre
    assert _seat_first([front, own], roi) == (own, front)  # type: ignore[list-item]
    assert _seat_first([front], roi) == (front,)  # type: ignore[list-item]


def test_a_face_found_while_metering_is_not_searched_again(rng):
    """A face the exposure meter already found in a frame is the candidate's face there: the
    finder is not asked again for that frame, and the result is what a search found."""
    frames = _frames(rng)
    searched, spy_all, burst = _rank(frames, face_search="all")
    top = searched.top[0]
    first = top[0]
    assert first.face is not None
    known = {(first.roi.frame_index, 0): first.face}
    spy = CountingFinder(_finder())
    again = BurstRanker(top_k=3, face_finder=spy, face_search="all").rank(
        burst, [[FACE_ROI]] * len(frames), known_faces=known)
    assert again.faces_reused == 1 and searched.faces_reused == 0
    assert [c.roi.frame_index for c in again.top[0] if c.reused] == [first.roi.frame_index]
    assert len(spy.calls) == len(spy_all.calls) - 1  # that frame was not searched again
    assert [(c.roi.frame_index, c.face, c.score) for c in again.top[0]] == \
        [(c.roi.frame_index, c.face, c.score) for c in top]
