"""DlibFaceFinder on real photos (ROI crops, full-frame coordinates) and the FaceFinder contract."""

from __future__ import annotations

import numpy as np
import pytest
from quality_helpers import gray, make_burst

from lanecam.quality.faces import (
    DlibFaceFinder,
    Face,
    FaceFinder,
    face_quality,
)
from lanecam.quality.kernels import Roi
from lanecam.quality.rank import BurstRanker

FINDER = DlibFaceFinder(upsample=1)
PHOTOS_WITH_ONE_FACE = ["alex-lacamoire.png", "biden.jpg", "lin-manuel-miranda.png",
                        "obama.jpg", "obama2.jpg"]


def whole(img: np.ndarray) -> Roi:
    return Roi(0, 0, img.shape[1], img.shape[0])


@pytest.mark.parametrize("name", PHOTOS_WITH_ONE_FACE)
def test_finds_the_face_and_reports_full_frame_coordinates(name):
    img = gray(name)
    faces = FINDER.find(img, whole(img))
    assert len(faces) >= 1
    f = faces[0]
    assert isinstance(f, Face) and len(f.landmarks) == 5 and f.detector_score > 0
    assert f.eyes[0][0] < f.eyes[1][0] and f.inter_eye_px > 10
    # the same face found through an ROI crop lands at the same frame coordinates
    x, y, w, h = f.box
    roi = Roi(max(x - w // 2, 0), max(y - h // 2, 0), 2 * w, 2 * h)
    g = FINDER.find(img, roi)[0]
    # (HOG boxes snap to pyramid scales, so compare centres and eyes, not corners)
    assert abs(g.box.x + g.box.width / 2 - (x + w / 2)) <= 0.1 * w
    assert abs(g.box.y + g.box.height / 2 - (y + h / 2)) <= 0.1 * h
    assert g.inter_eye_px == pytest.approx(f.inter_eye_px, rel=0.1)
    for (ax, ay), (bx, by) in zip(g.eyes, f.eyes):
        assert abs(ax - bx) <= 0.1 * w and abs(ay - by) <= 0.1 * h
    assert roi.x <= g.box.x and g.box.x + g.box.width <= roi.x + roi.width
    # eyes sit in the upper half of the box, between its sides
    for ex, ey in g.eyes:
        assert g.box.x < ex < g.box.x + g.box.width and g.box.y < ey < g.box.y + g.box.height * 0.7


def test_two_faces_edges_and_empty_rois():
    img = gray("two_people.jpg")
    assert len(FINDER.find(img, whole(img))) == 2
    h, w = img.shape
    assert FINDER.find(img, Roi(w + 10, 0, 100, 100)) == []
    assert FINDER.find(img, Roi(10, 10, 1, 1)) == []
    assert FINDER.find(img, Roi(10, 10, 0, 0)) == []
    # an ROI running off the frame is clipped, and the faces are still found
    assert len(FINDER.find(img, Roi(-50, -50, w + 100, h + 100))) == 2


def test_uint16_and_noncontiguous_frames():
    img = gray("obama.jpg")
    f8 = FINDER.find(img, whole(img))[0]
    f12 = FINDER.find((img.astype(np.uint16) << 4)[:, :], whole(img), bit_depth=12)[0]
    assert f12.box == f8.box
    flipped = img[:, ::-1]
    ff = FINDER.find(flipped, whole(img))[0]
    mirrored_centre = img.shape[1] - (ff.box.x + ff.box.width / 2)
    assert abs(mirrored_centre - (f8.box.x + f8.box.width / 2)) <= 0.1 * f8.box.width


def test_face_quality_rewards_the_sharper_face(rng):
    import cv2

    img = gray("biden2.jpg")
    face = FINDER.find(img, whole(img))[0]
    blurred = cv2.GaussianBlur(img, (0, 0), 2.5)
    sharp_q = face_quality(img, face)
    blur_q = face_quality(blurred, face)
    assert sharp_q.score > blur_q.score
    assert blur_q.components["sharpness"] < sharp_q.components["sharpness"]
    assert 0 <= blur_q.score <= 100 and "inter_eye" in sharp_q.components
    ref = face_quality(img, face, sharpness_ref=1e9).components["sharpness"]
    assert ref < 1  # relative to an (absurdly) sharp reference


class SpyFinder:
    """Records which ROIs the ranker asks about; finds nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, Roi]] = []

    def find(self, image: np.ndarray, roi: Roi, *, bit_depth: int | None = None) -> list[Face]:
        self.calls.append((id(image), roi))
        return []


def test_finder_runs_only_on_top_k_roi_crops(rng):
    spy = SpyFinder()
    assert isinstance(spy, FaceFinder) and isinstance(FINDER, FaceFinder)
    img = gray("obama3.jpg")[:400, :400].astype(np.float64)
    frames = [np.clip(img * g + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
              for g in (1.0, 0.5, 0.3, 0.2, 0.1)]
    burst = make_burst(frames)
    rois = [[Roi(10, 10, 200, 200), Roi(200, 200, 150, 150)]] * len(frames)
    ranking = BurstRanker(top_k=2, face_finder=spy).rank(burst, rois)
    assert len(spy.calls) == 4  # 2 occupants × top-2, not 5 frames × 2 ROIs
    asked = {(c, r) for c, r in spy.calls}
    expected = {(id(burst[c.roi.frame_index].array), c.roi.roi)
                for occ in (0, 1) for c in ranking.top[occ]}
    assert asked == expected and ranking.face_finding
