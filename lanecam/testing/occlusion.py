"""A face-finding test set of hidden and small faces, made from real photos.

Rear-seat travelers seen through a windshield sit behind the front heads: part of the face is
covered by a dark, rounded shape.  :func:`occluded_crops` makes, from each photo, grey 512 × 512
crops with the face at a lane-like size and a dark ellipse (a "front-seat head") covering a
given fraction of the face box from one side; :func:`small_crops` makes crops with the face
shrunk to a given width.  The face box (the truth) is found once on the clean photo by the
reference finder the caller gives; a finder "finds" a face when one of its boxes has its centre
inside the truth box.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..quality.faces import Face, FaceFinder
from ..quality.kernels import Roi

__all__ = ["TestCrop", "found", "occluded_crops", "small_crops", "truth_faces"]

SIDES = ("left", "right", "lower-left", "lower-right")


@dataclass(frozen=True)
class TestCrop:
    """A grey uint8 crop, the true face box in it, and what was done to it."""

    image: np.ndarray
    face: Roi
    source: str
    covered: float
    side: str

    def __repr__(self) -> str:
        return f"TestCrop({self.source}, covered={self.covered:.2f}, side={self.side})"


def truth_faces(paths: Iterable[Path], reference: FaceFinder) -> Iterator[tuple[str, np.ndarray,
                                                                              Roi]]:
    """(name, grey image, face box) for every face ``reference`` finds in each photo."""
    for p in paths:
        grey = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            continue
        for face in reference.find(grey, Roi(0, 0, grey.shape[1], grey.shape[0])):
            yield p.name, grey, face.box


def _recentre(grey: np.ndarray, box: Roi, face_px: int, size: int) -> tuple[np.ndarray, Roi]:
    """The photo scaled so the face box is ``face_px`` wide, cut to ``size``² about the face."""
    k = face_px / box.width
    scaled = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1
                        else cv2.INTER_LINEAR)
    cx, cy = (box.x + box.width / 2) * k, (box.y + box.height / 2) * k
    x0, y0 = round(cx - size / 2), round(cy - size / 2)
    pad = size
    big = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = np.ascontiguousarray(big[y0 + pad:y0 + pad + size, x0 + pad:x0 + pad + size])
    fw, fh = round(box.width * k), round(box.height * k)
    return crop, Roi(round(cx - fw / 2) - x0, round(cy - fh / 2) - y0, fw, fh)


def _cover(crop: np.ndarray, face: Roi, fraction: float, side: str) -> np.ndarray:
    """A dark head-sized ellipse over ``fraction`` of the face box's width from ``side``."""
    out = crop.copy()
    r = 0.9 * face.height
    reach = face.x + fraction * face.width if "left" in side else \
        face.x + (1 - fraction) * face.width
    cx = reach - r * 0.8 if "left" in side else reach + r * 0.8
    cy = face.y + face.height * (0.9 if "lower" in side else 0.5)
    cv2.ellipse(out, (round(cx), round(cy)), (round(r * 0.8), round(r)), 0, 0, 360, 22, -1)
    return out


def occluded_crops(faces: Iterable[tuple[str, np.ndarray, Roi]], *, face_px: int = 150,
                   fractions: tuple[float, ...] = (0.3, 0.4, 0.5), size: int = 512
                   ) -> list[TestCrop]:
    """Every face × fraction × side (:data:`SIDES`) as a covered 512² grey crop."""
    out = []
    for name, grey, box in faces:
        crop, face = _recentre(grey, box, face_px, size)
        for frac in fractions:
            for side in SIDES:
                out.append(TestCrop(_cover(crop, face, frac, side), face, name, frac, side))
    return out


def small_crops(faces: Iterable[tuple[str, np.ndarray, Roi]], *, face_px: int = 40,
                size: int = 512) -> list[TestCrop]:
    """Every face shrunk to ``face_px`` wide (a far or rear face), uncovered."""
    return [TestCrop(*_recentre(grey, box, face_px, size), name, 0.0, "none")
            for name, grey, box in faces]


def found(finder: FaceFinder, crop: TestCrop) -> bool:
    """Whether ``finder`` puts a face centre inside the crop's true face box."""
    h, w = crop.image.shape
    f = crop.face
    hits: list[Face] = finder.find(crop.image, Roi(0, 0, w, h))
    return any(f.x <= b.box.x + b.box.width / 2 <= f.x + f.width
               and f.y <= b.box.y + b.box.height / 2 <= f.y + f.height for b in hits)
