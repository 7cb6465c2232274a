"""Mono10/12/16 frames from the pylon emulator reach the face finder and the matcher at the
level of the same scene in Mono8 (the emulator serves an 8-bit file shifted up to the format's
depth, so the 8-bit view must give back the file's own pixels)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.devices.cameras import Trigger
from lanecam.devices.cameras.pylon import PylonCamera
from lanecam.lane import face_crop
from lanecam.quality.faces import DlibFaceFinder
from lanecam.quality.pixels import bit_depth_of, to_dn8

pytestmark = pytest.mark.emulator

FACES = Path(__file__).parents[1] / "data" / "faces"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("served")
    img = cv2.imread(str(FACES / "obama.jpg"), cv2.IMREAD_GRAYSCALE)[100:580, 150:790]
    img = np.ascontiguousarray(img)
    assert cv2.imwrite(str(folder / "face.png"), img)
    return folder, img


def _grab(cam: PylonCamera, folder: Path, fmt: str) -> np.ndarray:
    h, w = cv2.imread(str(folder / "face.png"), cv2.IMREAD_GRAYSCALE).shape
    cam.configure({"width": w, "height": h, "test_image_selector": "Off", "image_file_mode": "On",
                   "image_filename": str(folder), "pixel_format": fmt})
    cam.arm(Trigger.software())
    with cam.capture_burst(1, timeout_s=2.0) as burst:
        frame = burst[0]
        assert frame.meta.pixel_format == fmt
        crop, hint = face_crop(frame, (200, 120, 200, 220), 0.25)
        out = np.asarray(frame.array).copy(), bit_depth_of(frame), crop, hint
    cam.disarm()
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("fmt,depth", [("Mono10", 10), ("Mono12", 12), ("Mono16", 16)])
def test_deep_frames_reach_the_matcher_at_their_8_bit_level(
        pylon_cam: PylonCamera, served: tuple[Path, np.ndarray], fmt: str, depth: int) -> None:
    folder, img = served
    deep, got_depth, crop, hint = _grab(pylon_cam, folder, fmt)  # type: ignore[misc]
    assert deep.dtype == np.uint16 and got_depth == depth
    assert int(deep.max()) > 255  # really deeper than 8 bits: a container shift would darken it
    np.testing.assert_array_equal(to_dn8(deep, depth), img)
    _, _, crop8, hint8 = _grab(pylon_cam, folder, "Mono8")  # type: ignore[misc]
    assert crop.dtype == np.uint8 and crop.flags.c_contiguous
    np.testing.assert_array_equal(crop, crop8)
    assert hint == hint8
    # the ranker's face finder sees the same pixels: the same face, in the same place
    finder = DlibFaceFinder(upsample=0)
    roi = (0, 0, img.shape[1], img.shape[0])
    deep_faces = finder.find(deep, roi, bit_depth=depth)
    faces8 = finder.find(img, roi)
    assert faces8 and [f.box for f in deep_faces] == [f.box for f in faces8]


def test_values_beyond_the_declared_depth_saturate() -> None:
    a = np.array([[0, 4095, 4096, 65535]], np.uint16)
    np.testing.assert_array_equal(to_dn8(a, 12), [[0, 255, 255, 255]])
