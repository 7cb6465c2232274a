"""YuNet finds hidden and small faces that a windshield camera sees behind front-seat heads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lanecam.errors import LimitError
from lanecam.quality import FaceFinder
from lanecam.quality.faces import DlibFaceFinder
from lanecam.quality.kernels import Roi
from lanecam.quality.yunet import YuNetFaceFinder
from lanecam.testing.occlusion import found, occluded_crops, small_crops, truth_faces

FACES = Path(__file__).parent.parent / "data" / "faces"


@pytest.fixture(scope="module")
def faces() -> list:
    photos = sorted(p for p in FACES.iterdir() if p.suffix in (".jpg", ".png"))
    return list(truth_faces(photos, DlibFaceFinder(upsample=1)))


@pytest.fixture(scope="module")
def yunet() -> YuNetFaceFinder:
    return YuNetFaceFinder()


def test_is_a_face_finder(yunet: YuNetFaceFinder) -> None:
    assert isinstance(yunet, FaceFinder) and YuNetFaceFinder.available()


def test_finds_faces_a_front_head_half_covers(yunet: YuNetFaceFinder, faces: list) -> None:
    assert len(faces) == 11                       # ten photos, one of them with two people
    crops = occluded_crops(faces)
    hits = [found(yunet, c) for c in crops]
    assert sum(hits) >= 0.95 * len(crops), [c for c, h in zip(crops, hits) if not h]
    half = [h for c, h in zip(crops, hits) if c.covered == 0.5]
    assert sum(half) >= 0.9 * len(half)


def test_finds_40px_faces_and_reports_them_in_frame_pixels(yunet: YuNetFaceFinder,
                                                           faces: list) -> None:
    crops = small_crops(faces, face_px=40)
    assert all(found(yunet, c) for c in crops)
    c = crops[0]
    frame = np.zeros((1000, 1200), np.uint8)
    frame[300:812, 500:1012] = c.image                       # the crop inside a larger frame
    hit = yunet.find(frame, Roi(450, 250, 600, 600))[0]
    assert 500 + c.face.x - 10 <= hit.box.x <= 500 + c.face.x + 10
    assert 10 < hit.inter_eye_px < 30 and 0.5 < hit.detector_score <= 1.0
    assert hit.eyes[0][0] < hit.eyes[1][0]


def test_sixteen_bit_frames_and_bad_input(yunet: YuNetFaceFinder, faces: list) -> None:
    c = small_crops(faces, face_px=80)[0]
    wide = c.image.astype(np.uint16) << 4                      # a 12-bit frame
    assert yunet.find(wide, Roi(0, 0, 512, 512), bit_depth=12)
    assert yunet.find(c.image, Roi(0, 0, 4, 4)) == []
    with pytest.raises(LimitError):
        yunet.find(np.zeros((10, 10, 3), np.uint8), Roi(0, 0, 10, 10))
    with pytest.raises(LimitError):
        YuNetFaceFinder(score_threshold=1.5)
