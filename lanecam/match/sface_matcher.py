"""SFace: OpenCV Zoo's face recognizer behind :class:`~lanecam.match.base.Matcher`.

Faces are found and landmarked by YuNet (:class:`~lanecam.quality.yunet.YuNetFaceFinder`),
aligned to 112 × 112 by OpenCV's ``FaceRecognizerSF.alignCrop`` (its five-point similarity
warp), and encoded by the int8 block-quantised SFace network run through ``cv2.dnn`` (on
OpenCV 5.1 ``FaceRecognizerSF.feature()`` rejects that file; see
:mod:`lanecam.match.onnx_models`).  A template is the L2-normalised 128-d feature
(``kind="opencv-sface-2021dec-int8bq"``); similarity is the cosine (−1…1, higher = alike).

``cosine_threshold`` defaults to the measured one shipped in ``thresholds.toml``
(:mod:`lanecam.match.thresholds`: set for a false-match rate of 1e-4 on grey, low-resolution
probes of a public-domain gallery); decisions then report its Clopper–Pearson 95 % upper bound
as ``fmr``.  :data:`DEFAULT_COSINE` (0.363) is the value OpenCV Zoo publishes for SFace (LFW,
fp32 weights), kept for reference only.  A threshold given by hand is uncalibrated
(``fmr`` ``None``) unless ``fmr`` is given with it.  ``grey``: colour images are made grey
(luminance) first, as NIR probes are.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError, LanecamError
from ..quality.kernels import Roi
from ..quality.yunet import YuNetFaceFinder
from .base import Decision, FaceHint, FaceNotFoundError, Template, template_vector
from .onnx_models import model_file
from .thresholds import shipped_threshold

__all__ = ["SFaceMatcher"]

KIND = "opencv-sface-2021dec-int8bq"
VERSION = 1
DEFAULT_COSINE = 0.363
FUSE_MIN_COSINE = 0.5


class SFaceMatcher:
    """SFace matcher; see the module docstring.  Safe to share between threads."""

    name = "sface"

    def __init__(self, cosine_threshold: float | None = None, *, fmr: float | None = None,
                 grey: bool = True, finder: YuNetFaceFinder | None = None,
                 model_path: str | Path | None = None) -> None:
        if cosine_threshold is None:
            shipped = shipped_threshold("sface")
            cosine_threshold = shipped.similarity_threshold
            if fmr is None and grey:
                fmr = shipped.fmr_upper
        if not (isinstance(cosine_threshold, (int, float)) and -1 < cosine_threshold < 1):
            raise ConfigError("cosine threshold must be in (-1, 1)", key="cosine_threshold",
                              allowed="(-1, 1)")
        if fmr is not None and not 0 <= fmr <= 1:
            raise ConfigError("fmr must be a rate in [0, 1]", key="fmr", allowed="[0, 1]")
        self.threshold = float(cosine_threshold)
        self.fmr = fmr
        self.grey = bool(grey)
        self.finder = finder or YuNetFaceFinder(score_threshold=0.5, max_side=None)
        self._model_path = model_path
        self._net: Any = None
        self._aligner: Any = None
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()

    def load(self) -> None:
        """Check and load the weights now, not inside the first template."""
        self.finder.load()
        with self._lock:
            if self._net is None:
                path = str(model_file("sface", path=self._model_path))
                self._aligner = cv2.FaceRecognizerSF.create(path, "")
                self._net = cv2.dnn.readNetFromONNX(path)

    def template(self, image: np.ndarray, face: FaceHint | None = None) -> Template:
        return _template(self._feature(image, face))

    def template_many(self, images: Sequence[np.ndarray],
                      faces: Sequence[FaceHint | None] | None = None) -> Template:
        """One template from several images of the same person (e.g. a seat's top crops):
        the mean of the features within :data:`FUSE_MIN_COSINE` of the first image that has a
        face; images without a face or too far from it are left out and counted
        (``counters["fuse_no_face"]``, ``["fuse_outlier"]``)."""
        hints = list(faces) if faces is not None else [None] * len(images)
        feats = []
        for img, hint in zip(images, hints):
            try:
                feats.append(self._feature(img, hint))
            except FaceNotFoundError:
                self.counters["fuse_no_face"] += 1
        if not feats:
            raise FaceNotFoundError("no face in any of the images")
        keep = [f for f in feats if float(f @ feats[0]) >= FUSE_MIN_COSINE]
        self.counters["fuse_outlier"] += len(feats) - len(keep)
        mean = np.mean(keep, axis=0)
        return _template((mean / np.linalg.norm(mean)).astype(np.float32))

    def _feature(self, image: np.ndarray, hint: FaceHint | None) -> np.ndarray:
        self.load()
        grey = _as_grey(image) if self.grey or image.ndim == 2 else None
        bgr = (cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR) if grey is not None
               else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
        mono = grey if grey is not None else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        found = self.finder.find(mono, Roi(0, 0, mono.shape[1], mono.shape[0]))
        face = _pick(found, hint)
        row = np.array([[*face.box, *(v for p in face.landmarks for v in p),
                         face.detector_score]], dtype=np.float32)
        with self._lock:
            aligned = self._aligner.alignCrop(bgr, row)
            blob = cv2.dnn.blobFromImage(aligned, 1.0, (112, 112), (0, 0, 0), swapRB=True)
            self._net.setInput(blob, "data")
            vec = np.asarray(self._net.forward(), dtype=np.float32).ravel()
        norm = float(np.linalg.norm(vec))
        if vec.shape != (128,) or not np.isfinite(norm) or norm == 0.0:
            raise LanecamError("SFace returned an invalid feature", feature="sface")
        return vec / norm

    def _vector(self, t: Template) -> np.ndarray:
        return template_vector(t, KIND, VERSION, 128)

    def compare(self, a: Template, b: Template) -> float:
        """Cosine similarity of two SFace templates."""
        return float(self._vector(a) @ self._vector(b))

    def verify(self, probe: Template, reference: Template) -> Decision:
        return Decision(self.compare(probe, reference), self.threshold, self.fmr, self.name)


def _template(vec: np.ndarray) -> Template:
    return Template(np.ascontiguousarray(vec, dtype=np.float32).tobytes(), kind=KIND,
                    version=VERSION)


def _as_grey(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ConfigError("images must be uint8", key="image", allowed="uint8 gray or RGB")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    raise ConfigError("image must be (H, W) gray or (H, W, 3) RGB", key="image")


def _pick(found: list[Any], hint: FaceHint | None) -> Any:
    """The largest face, or the one overlapping the hint box most (IoU ≥ 0.2)."""
    if not found:
        raise FaceNotFoundError("no face found in the image")
    if hint is None:
        return max(found, key=lambda f: f.box.width * f.box.height)
    l, t, r, b = hint.box
    best, best_iou = None, 0.2
    for f in found:
        ix = max(0, min(r, f.box.x + f.box.width) - max(l, f.box.x))
        iy = max(0, min(b, f.box.y + f.box.height) - max(t, f.box.y))
        inter = ix * iy
        union = (r - l) * (b - t) + f.box.width * f.box.height - inter
        iou = inter / union if union > 0 else 0.0
        if iou >= best_iou:
            best, best_iou = f, iou
    if best is None:
        raise FaceNotFoundError("no face where the hint says")
    return best
