"""The shipped face textures are what their manifest says (re-derived within the rounding of
the image libraries), small, and licensed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.sim.textures import face_names, load_face, make_face_texture

ASSETS = Path(__file__).parents[2] / "lanecam" / "sim" / "assets"
PHOTOS = Path(__file__).parents[1] / "data" / "faces"
#: Photos reserved for travel documents: never rendered by the simulator.
DOCUMENT_PHOTOS = {"obama2.jpg", "biden2.jpg", "alex-lacamoire2.jpg"}


@pytest.mark.parametrize("name", face_names())
def test_texture_is_rederived_from_its_source_photo(name: str) -> None:
    entry = tomllib.loads((ASSETS / "faces.toml").read_text())["face"][name]
    photo = cv2.imread(str(PHOTOS / entry["source"]))
    made = make_face_texture(photo, tuple(entry["left_eye"]), tuple(entry["right_eye"]))
    shipped = cv2.imread(str(ASSETS / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert made.shape == shipped.shape and made.dtype == shipped.dtype == np.uint8
    # Not byte-exact across library versions: OpenCV's INTER_AREA and warpAffine round their
    # fixed-point weights differently between releases.  Measured against the shipped PNGs:
    # OpenCV 5.1 differs by <= 1 DN (mean |diff| 0.000 DN), 4.9 by <= 3 DN in 3-7 % of the
    # pixels (mean |diff| <= 0.074 DN).  A manifest eye off by half a pixel differs by 22-97 DN
    # (mean 1.9-3.6 DN).  So: every pixel within 4 DN and a mean |diff| under 0.25 DN, an order
    # of magnitude below a half-pixel eye error.
    diff = np.abs(made.astype(np.int16) - shipped.astype(np.int16))
    assert int(diff.max()) <= 4
    assert float(diff.mean()) < 0.25
    tex = load_face(name)
    assert tex.grey.shape == tex.mask.shape == (128, 128)
    assert entry["source"] not in DOCUMENT_PHOTOS


def test_assets_are_small_and_licensed() -> None:
    total = sum(p.stat().st_size for p in ASSETS.iterdir())
    assert total < 1_000_000
    assert (ASSETS / "LICENSE-face_recognition.txt").read_bytes() == \
        (PHOTOS / "LICENSE-face_recognition.txt").read_bytes()
    assert len(face_names()) >= 4
