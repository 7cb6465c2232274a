"""Reference matcher: dlib's HOG face detector, 5-point alignment and 128-D ResNet descriptor.

Needs the ``dlib`` extra (``pip install 'lanecam[dlib]'``: dlib-bin + face_recognition_models,
whose wheel carries the model files — nothing is downloaded at run time).  dlib's convention is
a Euclidean *distance* between descriptors with 0.6 as the same-person threshold
(dlib ``dnn_face_recognition_ex``: 99.38 % on LFW); lanecam reports similarity = 1 − distance,
so the default threshold is 0.4 similarity.
"""

from __future__ import annotations

import threading
from functools import cache
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, LanecamError
from .base import Decision, FaceHint, FaceNotFoundError, Template

__all__ = ["DlibMatcher", "dlib_models"]

KIND = "dlib-resnet-v1"
VERSION = 1


@cache
def dlib_models() -> tuple[Any, Any, Any]:
    """(detector, 5-point shape predictor, ResNet face encoder), loaded once per process."""
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise LanecamError("DlibMatcher needs the dlib extra: pip install 'lanecam[dlib]'") from exc
    # locate the wheel's model folder without importing the package: its __init__ imports
    # pkg_resources, which setuptools >= 81 no longer ships
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LanecamError("DlibMatcher needs face_recognition_models: pip install 'lanecam[dlib]'")
    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    shape = models / "shape_predictor_5_face_landmarks.dat"
    resnet = models / "dlib_face_recognition_resnet_model_v1.dat"
    for p in (shape, resnet):
        if not p.is_file():
            raise LanecamError("face_recognition_models lacks a model file", key=str(p))
    return (dlib.get_frontal_face_detector(), dlib.shape_predictor(str(shape)),
            dlib.face_recognition_model_v1(str(resnet)))


class DlibMatcher:
    """dlib ResNet matcher. ``distance_threshold`` in dlib's descriptor distance (default 0.6).

    ``fmr`` is the false-match rate at that threshold measured by :meth:`calibrate` (or given by
    the integrator from their own evaluation); ``None`` means uncalibrated.
    ``upsample`` runs the HOG detector on an image upsampled that many times (finds faces
    down to ~40 px with 1).  ``jitter`` > 0 averages descriptors over jittered crops.
    """

    name = "dlib"

    def __init__(self, distance_threshold: float = 0.6, *, fmr: float | None = None,
                 upsample: int = 1, jitter: int = 0) -> None:
        if not (isinstance(distance_threshold, (int, float)) and 0 < distance_threshold < 2):
            raise ConfigError("distance threshold must be in (0, 2)", key="distance_threshold",
                              allowed="(0, 2)")
        if fmr is not None and not 0 <= fmr <= 1:
            raise ConfigError("fmr must be a rate in [0, 1]", key="fmr", allowed="[0, 1]")
        self.distance_threshold = float(distance_threshold)
        self.fmr = fmr
        self.upsample = int(upsample)
        self.jitter = int(jitter)
        self._lock = threading.Lock()  # dlib objects are not documented as thread-safe

    @property
    def threshold(self) -> float:
        """The decision threshold as a similarity."""
        return 1.0 - self.distance_threshold

    def template(self, image: np.ndarray, face: FaceHint | None = None) -> Template:
        import dlib

        rgb = _as_rgb(image)
        detector, shaper, encoder = dlib_models()
        with self._lock:
            if face is None:
                rects = detector(rgb, self.upsample)
                if len(rects) == 0:
                    raise FaceNotFoundError("no face found in the image")
                rect = max(rects, key=lambda r: r.width() * r.height())
            else:
                rect = dlib.rectangle(*(int(v) for v in face.box))
            shape = shaper(rgb, rect)
            desc = encoder.compute_face_descriptor(rgb, shape, self.jitter)
        vec = np.asarray(desc, dtype=np.float32)
        if vec.shape != (128,) or not np.all(np.isfinite(vec)):
            raise LanecamError("dlib returned an invalid descriptor")
        return Template(vec.tobytes(), kind=KIND, version=VERSION)

    def _vector(self, t: Template) -> np.ndarray:
        if t.kind != KIND or t.version != VERSION:
            raise ConfigError("template from another matcher", key="template",
                              allowed=f"{KIND} v{VERSION}")
        v = np.frombuffer(t.payload(), dtype=np.float32)
        if v.shape != (128,):
            raise ConfigError("template has the wrong length", key="template")
        return v

    def distance(self, a: Template, b: Template) -> float:
        """dlib's Euclidean descriptor distance."""
        return float(np.linalg.norm(self._vector(a) - self._vector(b)))

    def compare(self, a: Template, b: Template) -> float:
        return 1.0 - self.distance(a, b)

    def verify(self, probe: Template, reference: Template) -> Decision:
        return Decision(self.compare(probe, reference), self.threshold, self.fmr, self.name)

    def calibrate(self, impostor_scores: list[float]) -> float:
        """Set ``fmr`` from impostor similarities measured on labelled pairs; return it.

        With n impostor pairs and none above threshold the rate is reported as the 95 %
        upper bound 3/n (rule of three), not zero.
        """
        n = len(impostor_scores)
        if n == 0:
            raise ConfigError("calibration needs impostor pairs", key="impostor_scores")
        false = sum(1 for s in impostor_scores if s >= self.threshold)
        self.fmr = false / n if false else min(1.0, 3.0 / n)
        return self.fmr


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ConfigError("images must be uint8", key="image", allowed="uint8 gray or RGB")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ConfigError("image must be (H, W) gray or (H, W, 3) RGB", key="image")

