"""Face finding on ROI crops: the :class:`FaceFinder` protocol and a dlib HOG implementation.

Face detection is the expensive step (hundreds of ms on a full frame), so a finder only ever
sees the occupant ROIs of the few frames the :class:`~lanecam.quality.rank.BurstRanker` ranked
best.  Results are in full-frame pixel coordinates.

:class:`DlibFaceFinder` needs the optional ``dlib`` extra (``dlib-bin`` wheel plus
``face_recognition_models`` for the 5-point landmark model; nothing is downloaded at run time).
:func:`default_face_finder` returns ``None`` when it is missing and logs that once; ranking then
runs on ROI scores alone.  Nothing here logs pixels or puts them in exceptions.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from ..errors import LanecamError, LimitError
from ..match import dlib_models
from ..match.dlib_models import SharedModel, model_path
from .kernels import Roi, as_roi_array, region_stats
from .pixels import to_dn8
from .scoring import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    QualityScore,
    ScoreWeights,
    logistic,
    normalized_sharpness,
    score_records,
)

__all__ = [
    "IED_WEIGHT",
    "RANKER_MAX_SIDE",
    "DlibFaceFinder",
    "Face",
    "FaceFinder",
    "FaceFinderUnavailableError",
    "default_face_finder",
    "face_quality",
    "face_score",
    "face_sharpness",
]

log = logging.getLogger(__name__)

RANKER_MAX_SIDE = 512
"""``max_side`` of the finder :func:`default_face_finder` builds (see :class:`DlibFaceFinder`)."""

IED_WEIGHT = 0.2
"""Share of the inter-eye-distance component in :func:`face_quality` (the rest: ROI components)."""

_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"


class FaceFinderUnavailableError(LanecamError, ImportError):
    """The face finder's optional dependency or model file is not installed."""


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face, full-frame pixel coordinates.

    ``box`` is the detector's rectangle clipped to the searched ROI; ``landmarks`` the 5 dlib
    points ``(x, y)`` (two corners per eye, then the base of the nose); ``eyes`` the two eye
    centres, image-left first; ``inter_eye_px`` their distance in pixels; ``detector_score`` the
    HOG detector's SVM margin (> 0 = detection, larger = more confident).
    """

    box: Roi
    landmarks: tuple[tuple[float, float], ...]
    eyes: tuple[tuple[float, float], tuple[float, float]]
    inter_eye_px: float
    detector_score: float


@runtime_checkable
class FaceFinder(Protocol):
    """Finds faces inside one ROI of a mono frame."""

    def find(self, image: np.ndarray, roi: Roi, *, bit_depth: int | None = None) -> list[Face]:
        """Faces in ``image[roi]`` (``uint8`` or ``uint16`` with ``bit_depth``), best first."""
        ...


def _predictor_path() -> Path | None:
    """The 5-point model inside ``face_recognition_models``, located without importing it."""
    return model_path(_PREDICTOR_FILE)


def _scaled_rect(rect: Any, kx: float, ky: float) -> Any:
    """A dlib rectangle scaled about the origin (shrunk-crop box → full-resolution crop)."""
    import dlib

    return dlib.rectangle(round(rect.left() * kx), round(rect.top() * ky),
                          round((rect.right() + 1) * kx) - 1, round((rect.bottom() + 1) * ky) - 1)


class DlibFaceFinder:
    """dlib's HOG frontal-face detector + 5-point shape predictor on ROI crops.

    ``upsample``: times the crop is doubled before detection (0–2).  0 finds faces from ~80 px
    wide (IED ≳ 30 px, below anything usable for matching) at ~15 ms per 450×520 crop on one
    core; each step halves the smallest findable face at 4× the cost.  ``threshold``: detector
    margin to accept (dlib's default 0).  ``predictor_path``: the 5-point model file (default: from
    ``face_recognition_models``).

    ``max_side``: crops whose longer side exceeds it are shrunk (area interpolation) to that
    side before detection — detection time scales with the pixel count — and the landmarks are
    then fitted on the full-resolution crop inside the scaled-back box, so the face box and
    landmarks stay in full-frame pixels.  The smallest findable face grows by the same factor
    (~80 px at ``upsample=0`` in the shrunk crop), so only use it when the ROIs are much larger
    than the faces need: the simulator's 5 MP lane gives ~430×600 px seat ROIs with ~100 px
    wide faces (a seat ROI is ~6 face heights tall by construction of the cabin model), so
    :data:`RANKER_MAX_SIDE` = 512 keeps every face ≥ ~85 px, at the detector's sweet spot.
    Measured on 417 top-3 seat crops of 28 simulator bursts: 512 finds 300 faces vs 290 at full
    resolution (10 gained, none lost, all true faces) at 14.5 vs 20.2 ms per crop; 480 loses 4.
    ``None`` (the default here) never shrinks; :func:`default_face_finder` uses 512.

    The detector and the landmark model are the process-wide ones of
    :mod:`lanecam.match.dlib_models`, shared with every other finder and with
    :class:`~lanecam.match.dlib_matcher.DlibMatcher`; they load on first use or :meth:`load`.
    One instance is safe to share between threads (calls on the shared models are serialized).
    """

    def __init__(
        self,
        *,
        upsample: int = 0,
        threshold: float = 0.0,
        predictor_path: str | os.PathLike[str] | None = None,
        max_side: int | None = None,
    ) -> None:
        if not isinstance(upsample, int) or not 0 <= upsample <= 2:
            raise LimitError(f"upsample {upsample!r} out of range", feature="upsample",
                             allowed=(0, 2))
        if not math.isfinite(threshold):
            raise LimitError("threshold must be finite", feature="threshold")
        if max_side is not None and (not isinstance(max_side, int) or max_side < 64):
            raise LimitError(f"max_side {max_side!r} out of range", feature="max_side",
                             allowed="None or ≥ 64")
        self.upsample = upsample
        self.threshold = float(threshold)
        self.max_side = max_side
        self._predictor_path = Path(predictor_path) if predictor_path is not None else None
        self._lock = threading.Lock()
        self._detector: SharedModel | None = None
        self._predictor: SharedModel | None = None

    @staticmethod
    def available() -> bool:
        """Whether dlib and the 5-point model are installed (no import, no file read)."""
        return importlib.util.find_spec("dlib") is not None and _predictor_path() is not None

    def load(self) -> None:
        """Import dlib and load (or reuse) the shared models now (idempotent).

        Raises :class:`FaceFinderUnavailableError` when dlib or the model file is missing.
        """
        with self._lock:
            if self._detector is not None:
                return
            try:
                importlib.import_module("dlib")
            except ImportError as exc:
                raise FaceFinderUnavailableError(
                    "dlib is not installed (pip install 'lanecam[dlib]')", feature="dlib"
                ) from exc
            path = self._predictor_path or _predictor_path()
            if path is None or not Path(path).is_file():
                raise FaceFinderUnavailableError(
                    "5-point landmark model not found (pip install 'lanecam[dlib]')",
                    feature="face_recognition_models", allowed=str(path) if path else None)
            try:
                self._predictor = dlib_models.shape_predictor(path)
                self._detector = dlib_models.frontal_face_detector()
            except dlib_models.DlibUnavailableError as exc:
                raise FaceFinderUnavailableError(exc.message, feature=exc.feature,
                                                 allowed=exc.allowed) from exc

    def find(self, image: np.ndarray, roi: Roi, *, bit_depth: int | None = None) -> list[Face]:
        """Faces inside ``roi`` of ``image``, highest detector score first."""
        if not isinstance(image, np.ndarray) or image.ndim != 2:
            raise LimitError("face finding needs a 2-D mono frame", feature="shape",
                             allowed="(height, width)")
        self.load()
        assert self._detector is not None and self._predictor is not None
        y0, y1, x0, x1 = (int(v) for v in as_roi_array([tuple(roi)], image.shape)[0])
        if y1 - y0 < 2 or x1 - x0 < 2:
            return []
        crop = to_dn8(image[y0:y1, x0:x1], bit_depth)
        small = crop
        if self.max_side is not None and max(crop.shape) > self.max_side:
            f = self.max_side / max(crop.shape)
            size = (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f)))
            small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        with self._detector.lock:
            rects, scores, _ = self._detector.model.run(small, self.upsample, self.threshold)
        if small is not crop:
            kx, ky = crop.shape[1] / small.shape[1], crop.shape[0] / small.shape[0]
            rects = [_scaled_rect(r, kx, ky) for r in rects]
        with self._predictor.lock:
            shapes = [self._predictor.model(crop, r) for r in rects]
        faces = [
            self._face(r, s, float(score), x0, y0, x1 - x0, y1 - y0)
            for r, s, score in zip(rects, shapes, scores)
        ]
        faces.sort(key=lambda f: f.detector_score, reverse=True)
        return faces

    @staticmethod
    def _face(rect: Any, shape: Any, score: float, ox: int, oy: int, w: int, h: int) -> Face:
        left, top = max(rect.left(), 0), max(rect.top(), 0)
        right, bottom = min(rect.right() + 1, w), min(rect.bottom() + 1, h)
        pts = tuple((float(shape.part(i).x + ox), float(shape.part(i).y + oy))
                    for i in range(shape.num_parts))
        e1 = ((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2)
        e2 = ((pts[2][0] + pts[3][0]) / 2, (pts[2][1] + pts[3][1]) / 2)
        eyes = (e1, e2) if e1[0] <= e2[0] else (e2, e1)
        return Face(
            box=Roi(left + ox, top + oy, max(right - left, 0), max(bottom - top, 0)),
            landmarks=pts,
            eyes=eyes,
            inter_eye_px=math.dist(e1, e2),
            detector_score=score,
        )


_warn_lock = threading.Lock()
_warned_unavailable = False


def default_face_finder() -> FaceFinder | None:
    """A :class:`DlibFaceFinder` (``upsample=0``, ``max_side=``:data:`RANKER_MAX_SIDE`) when dlib
    is installed, else ``None`` (logged once per process)."""
    global _warned_unavailable
    if DlibFaceFinder.available():
        return DlibFaceFinder(max_side=RANKER_MAX_SIDE)
    with _warn_lock:
        if not _warned_unavailable:
            _warned_unavailable = True
            log.warning("face finding disabled: dlib or its 5-point model is not installed "
                        "(pip install 'lanecam[dlib]'); ranking bursts on ROI scores only")
    return None


def face_sharpness(record: np.void) -> float:
    """Contrast-normalized, noise-debiased Tenengrad of a stats record, 1/px² (NaN: no interior)."""
    return float(normalized_sharpness(record["tenengrad"], record["std"], record["noise_sigma"]))


def face_quality(
    image: np.ndarray,
    face: Face,
    *,
    bit_depth: int | None = None,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    sharpness_ref: float | None = None,
) -> QualityScore:
    """Face-level re-score: measure the face box in ``image``, then :func:`face_score`."""
    records, _ = region_stats(image, [tuple(face.box)], bit_depth=bit_depth)
    return face_score(records[0], face, weights=weights, sharpness_ref=sharpness_ref)


def face_score(
    record: np.void,
    face: Face,
    *,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    sharpness_ref: float | None = None,
) -> QualityScore:
    """Face-level score from the face box's stats ``record``: ROI components plus ``inter_eye``.

    ``inter_eye`` is OFIQ's InterEyeDistance mapping ``100·σ(IED; 70, 20)`` (IED in pixels).
    With ``sharpness_ref`` (the best :func:`face_sharpness` among samples of the same person,
    e.g. an occupant's top-K candidates) the sharpness component is relative,
    ``100·min(1, x / sharpness_ref)``, which is how OFIQ says sharpness should be used;
    otherwise it is the absolute ROI mapping.  The score is the weighted geometric mean
    (components floored at 1) with ``inter_eye`` weighted :data:`IED_WEIGHT` and the ROI
    components sharing the rest by ``weights``; 0 if the box has no 3×3 interior.
    """
    _, comp = score_records(np.atleast_1d(record), weights)
    values = comp[0].copy()
    x = face_sharpness(record)
    if sharpness_ref is not None and sharpness_ref > 0 and np.isfinite(x):
        values[COMPONENTS.index("sharpness")] = 100.0 * min(1.0, x / sharpness_ref)
    ied = float(100.0 * logistic(face.inter_eye_px, 70.0, 20.0))
    w = np.append(weights.normalized() * (1.0 - IED_WEIGHT), IED_WEIGHT)
    values = np.append(values, ied)
    score = float(np.exp(np.log(np.maximum(values, 1.0)) @ w)) if np.isfinite(x) else 0.0
    names = (*COMPONENTS, "inter_eye")
    return QualityScore(score, dict(zip(names, (float(v) for v in values), strict=True)))
