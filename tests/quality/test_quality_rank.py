"""Ranking bursts made by degrading real face photos: the best frame is known by construction."""

from __future__ import annotations

import functools
import logging
import sys

import cv2
import dlib
import numpy as np
import pytest
from quality_helpers import gray, make_burst, make_frame

from lanecam.errors import ConfigError, LimitError
from lanecam.quality import faces as faces_mod
from lanecam.quality.faces import DlibFaceFinder, FaceFinderUnavailableError, default_face_finder
from lanecam.quality.pixels import bit_depth_of
from lanecam.quality.rank import BurstRanker
from lanecam.quality.scoring import COMPONENTS, ScoreWeights, score_records

FRAME_SHAPE = (900, 1200)
OFFSET = (310, 170)  # where the photo's top-left lands in the frame (x, y)


@functools.cache
def scene(name: str) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """A frame with the photo pasted at OFFSET, scaled to a ~140 px wide face.

    Returns the clean frame (float64), the occupant ROI and dlib's face box on the clean photo,
    both in frame coordinates.
    """
    photo = gray(name)
    rect = max(dlib.get_frontal_face_detector()(np.ascontiguousarray(photo), 1),
               key=lambda r: r.width())
    s = 140.0 / rect.width()
    small = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_AREA).astype(np.float64)
    fx, fy = int(rect.left() * s), int(rect.top() * s)
    # keep a generous window around the face so the frame stays small
    x0, y0 = max(fx - 150, 0), max(fy - 150, 0)
    small = small[y0: y0 + 520, x0: x0 + 480]
    frame = np.full(FRAME_SHAPE, 40.0)
    frame[:, :] += np.linspace(0, 30, FRAME_SHAPE[1])  # a dim dashboard-like gradient
    ox, oy = OFFSET
    frame[oy: oy + small.shape[0], ox: ox + small.shape[1]] = small
    roi = (ox, oy, small.shape[1], small.shape[0])
    face = (ox + fx - x0, oy + fy - y0, int(rect.width() * s), int(rect.height() * s))
    return frame, roi, face


def q8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).round().astype(np.uint8)


def degraded(name: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The clean scene plus known degradations; every frame gets the same mild sensor noise."""
    clean, _, face = scene(name)

    def noise(x, s=1.5):
        return x + rng.normal(0, s, x.shape)

    x, y, w, h = face
    yy, xx = np.mgrid[: clean.shape[0], : clean.shape[1]]
    u, v = (xx - x - w / 2) / (0.6 * w), (yy - y - h / 2) / (0.5 * h)
    blob = 500 * np.exp(-(u**2 + v**2))  # a specular glint over the face
    motion = np.ones((1, 9)) / 9
    return {
        "best": q8(noise(clean)),
        "blur1.5": q8(noise(cv2.GaussianBlur(clean, (0, 0), 1.5))),
        "blur3": q8(noise(cv2.GaussianBlur(clean, (0, 0), 3.0))),
        "motion9": q8(noise(cv2.filter2D(clean, -1, motion))),
        "noise12": q8(noise(clean, 12.0)),
        "glare": q8(noise(clean + blob)),
        "dark": q8(noise(clean * 0.12)),
        "bright": q8(noise(clean * 2.6)),
    }


PHOTOS = ["obama.jpg", "biden.jpg", "lin-manuel-miranda.png", "alex-lacamoire.png",
          "obama2.jpg"]


@functools.cache
def finder() -> DlibFaceFinder:
    return DlibFaceFinder()


def shuffled_burst(name, rng, incomplete_labels=()):
    frames = degraded(name, rng)
    labels = list(frames)
    order = rng.permutation(len(labels))
    labels = [labels[i] for i in order]
    bad = tuple(i for i, lab in enumerate(labels) if lab in incomplete_labels)
    return make_burst([frames[lab] for lab in labels], incomplete=bad), labels


def overlap(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / float(aw * ah + bw * bh - ix * iy)


@pytest.mark.parametrize("name", PHOTOS)
def test_ranker_picks_the_undegraded_frame_and_finds_its_face(name, rng):
    burst, labels = shuffled_burst(name, rng)
    _, roi, face = scene(name)
    with burst:
        ranking = BurstRanker(top_k=3, face_finder=finder()).rank(burst, [[roi]] * len(burst))
        roi_order = sorted(ranking.scores, key=lambda s: s.score, reverse=True)
        assert labels[roi_order[0].frame_index] == "best", [labels[s.frame_index]
                                                             for s in roi_order]
        best = ranking.best(0)
        assert best is not None and labels[best.roi.frame_index] == "best"
        assert best.face is not None and best.face_quality is not None
        # the face is reported in full-frame coordinates, where we pasted it
        assert overlap(tuple(best.face.box), face) > 0.5
        assert 40 < best.face.inter_eye_px < 90
        fx, fy, fw, fh = best.face.box
        for px, py in best.face.landmarks:
            assert fx - 5 <= px <= fx + fw + 5 and fy - 5 <= py <= fy + fh + 5
        assert 0 <= best.score <= 100 and set(best.face_quality.components) >= set(COMPONENTS)
    by_label = {labels[s.frame_index]: s for s in ranking.scores}
    assert by_label["glare"].quality.components["glare"] < 50
    assert by_label["dark"].quality.limiting == "exposure"
    assert by_label["blur3"].quality.components["sharpness"] < by_label["best"].quality.components[
        "sharpness"]
    assert ranking.frames_scored == len(burst) and ranking.incomplete_frames == 0


def test_incomplete_frames_are_excluded_and_counted(rng):
    burst, labels = shuffled_burst("obama.jpg", rng, incomplete_labels=("best",))
    _, roi, _ = scene("obama.jpg")
    ranking = BurstRanker(top_k=2, face_finder=None).rank(burst, [[roi]] * len(burst))
    assert ranking.incomplete_frames == 1 and ranking.frames_scored == len(burst) - 1
    assert all(labels[s.frame_index] != "best" for s in ranking.scores)
    assert labels[ranking.best(0).roi.frame_index] == "blur1.5"
    assert len(ranking.top[0]) == 2 and not ranking.face_finding
    assert ranking.best(0).face is None and ranking.best(0).score == ranking.best(0).roi.score


def test_two_occupants_missing_and_off_frame_rois(rng):
    img = gray("two_people.jpg")
    dets = sorted(dlib.get_frontal_face_detector()(np.ascontiguousarray(img), 1),
                  key=lambda r: r.left())
    assert len(dets) == 2
    rois = [(max(d.left() - 60, 0), max(d.top() - 60, 0), d.width() + 120, d.height() + 120)
            for d in dets]
    base = img.astype(np.float64)
    frames = [q8(base + rng.normal(0, 1.5, base.shape)),
              q8(cv2.GaussianBlur(base, (0, 0), 2.5) + rng.normal(0, 1.5, base.shape)),
              q8(base * 0.15)]
    per_frame = [[rois[0], rois[1]], [rois[0], None], [(5000, 5000, 50, 50), rois[1]]]
    ranking = BurstRanker(top_k=3).rank(make_burst(frames), per_frame)
    assert set(ranking.top) == {0, 1} and ranking.empty_rois == 1
    assert ranking.best(0).roi.frame_index == 0
    assert len(ranking.top[0]) == 2 and len(ranking.top[1]) == 2
    assert ranking.best(1).roi.frame_index == 0
    for occ, d in enumerate(dets):
        box = (d.left(), d.top(), d.width(), d.height())
        assert overlap(tuple(ranking.best(occ).face.box), box) > 0.5


def test_uint16_frames_use_the_pixel_format_bit_depth(rng):
    clean, roi, face = scene("biden.jpg")
    a = (q8(clean).astype(np.uint16) << 4)
    b = (q8(cv2.GaussianBlur(clean, (0, 0), 2)).astype(np.uint16) << 4)
    frames = [make_frame(b, 0, pixel_format="Mono12"), make_frame(a, 1, pixel_format="Mono12")]
    assert bit_depth_of(frames[0]) == 12
    ranking = BurstRanker(face_finder=finder()).rank(frames, [[roi], [roi]])
    assert ranking.best(0).roi.frame_index == 1
    assert overlap(tuple(ranking.best(0).face.box), face) > 0.5
    assert ranking.best(0).roi.stats.mean == pytest.approx(q8(clean)[roi[1]:roi[1] + roi[3],
                                                           roi[0]:roi[0] + roi[2]].mean(), rel=0.01)
    too_deep = make_frame(np.full((20, 20), 5000, np.uint16), 0, pixel_format="Mono12")
    with pytest.raises(LimitError):
        BurstRanker(face_finder=None).rank([too_deep], [[(0, 0, 10, 10)]])


def test_rank_validates_inputs():
    with pytest.raises(LimitError):
        BurstRanker(top_k=0, face_finder=None)
    frame = make_frame(np.zeros((10, 10), np.uint8))
    with pytest.raises(LimitError):
        BurstRanker(face_finder=None).rank([frame], [])
    with pytest.raises(ConfigError):
        ScoreWeights(sharpness=-1)
    with pytest.raises(ConfigError):
        ScoreWeights(0, 0, 0, 0, 0, 0)


def test_score_records_components_and_bounds(rng):
    from lanecam.quality.kernels import region_stats

    img = gray("obama.jpg")
    variants = [img, q8(cv2.GaussianBlur(img.astype(np.float64), (0, 0), 3)), q8(img * 0.1),
                np.full_like(img, 255), np.zeros((2, 2), np.uint8)]
    recs = np.concatenate([region_stats(v, [(0, 0, 5000, 5000)])[0] for v in variants])
    scores, comp = score_records(recs)
    assert comp.shape == (5, len(COMPONENTS))
    assert ((comp >= 0) & (comp <= 100)).all() and ((scores >= 0) & (scores <= 100)).all()
    assert scores[0] > scores[1] and scores[0] > scores[2] and scores[0] > scores[3]
    assert scores[4] == 0  # 2×2: no interior, nothing to measure
    sharp_only = ScoreWeights(1, 0, 0, 0, 0, 0)
    s2, _ = score_records(recs[:2], sharp_only)
    assert s2[0] == pytest.approx(comp[0, 0]) and s2[1] == pytest.approx(comp[1, 0])


def test_without_dlib_ranking_works_and_says_so_once(monkeypatch, caplog, rng):
    real = faces_mod.importlib.util.find_spec
    monkeypatch.setattr(faces_mod.importlib.util, "find_spec",
                        lambda n, *a: None if n == "dlib" else real(n, *a))
    monkeypatch.setattr(faces_mod, "_warned_unavailable", False)
    burst, labels = shuffled_burst("obama2.jpg", rng)
    _, roi, _ = scene("obama2.jpg")
    with caplog.at_level(logging.WARNING, logger="lanecam.quality.faces"):
        r1 = BurstRanker().rank(burst, [[roi]] * len(burst))
        r2 = BurstRanker().rank(burst, [[roi]] * len(burst))
        assert default_face_finder() is None
    warnings = [r for r in caplog.records if r.name == "lanecam.quality.faces"]
    assert len(warnings) == 1 and "dlib" in warnings[0].getMessage()
    assert not r1.face_finding and not r2.face_finding
    assert labels[r1.best(0).roi.frame_index] == "best" and r1.best(0).face is None


def test_dlib_finder_unavailable_raises_typed_error(monkeypatch):
    with pytest.raises(FaceFinderUnavailableError):
        DlibFaceFinder(predictor_path="/nonexistent/model.dat").load()
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib → ImportError
    with pytest.raises(FaceFinderUnavailableError) as exc:
        DlibFaceFinder().find(np.zeros((50, 50), np.uint8), (0, 0, 50, 50))
    assert isinstance(exc.value, ImportError)
    with pytest.raises(LimitError):
        DlibFaceFinder(upsample=5)
