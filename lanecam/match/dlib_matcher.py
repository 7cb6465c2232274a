"""Reference matcher: dlib's HOG face detector, landmark alignment and 128-D ResNet descriptor.

Needs the ``dlib`` extra (``pip install 'lanecam[dlib]'``: dlib-bin + face_recognition_models,
whose wheel carries the model files — nothing is downloaded at run time).  dlib's convention is
a Euclidean *distance* between descriptors with 0.6 as the same-person threshold
(dlib ``dnn_face_recognition_ex``: 99.38 % on LFW); lanecam reports similarity = 1 − distance,
so the default threshold is 0.4 similarity.

The models are the process-wide ones of :mod:`lanecam.match.dlib_models`, shared with the face
finder of :mod:`lanecam.quality.faces` (one load per process).

Options, measured (similarities; genuine = same person, impostor = different people).
"Photos": the 8 photos of ``tests/data/faces`` (5 genuine, 23 impostor pairs). "Textures": the
simulator's 128 px grey face textures against the document photos of
``lanecam/sim/assets/documents`` (other photos of the same people; 3 genuine, 9 impostor).
"Rendered": 171 face crops cut by the lane's rule from 28 bursts recorded from the simulated
lane (10 scenarios × 3 control arms) against the 3 document photos (375 impostor pairs); d′ is
the genuine/impostor separation, "verified" the genuine share ≥ 0.4.

* 5-point alignment (the old default): photos genuine min 0.477, impostor max 0.305; textures
  alex-lacamoire 0.425 (lowest genuine), impostor max 0.305; rendered d′ 3.60, verified 72.5 %,
  impostor max 0.322, alex-lacamoire median 0.365.
* **68-point alignment (default)**: photos 0.519 / 0.309; textures 0.457 / 0.307; rendered
  d′ 3.73, 73.9 %, impostor max 0.328.
* + :meth:`template_many` over a seat's top-K crops: rendered d′ 3.81, verified 78.4 %,
  impostor max 0.325 (single crop 73.9 %, 0.328).
* ``jitter=10`` on both sides: photos 0.524 / 0.332; textures 0.485 / 0.312; rendered (probe
  side) d′ 3.80, impostor max 0.335 — and ~1 s per template instead of ~0.1 s.
* ``jitter=10`` on the document side only (a second matcher for enrolment): textures
  0.455 / 0.315; rendered d′ 3.70, verified 79.7 %, impostor max 0.341.
* ``grey=True`` (documents turned grey like the NIR probes): photos 0.461 / 0.307; textures
  0.452 / 0.323; rendered d′ 3.89, verified 79.7 %, impostor max 0.347.  With 68 points and
  fused crops: d′ 4.07, verified 86.5 %, impostor max 0.335.
* CLAHE (clip 1–2), histogram equalisation, gamma 0.8/1.25, auto-gamma or a 1–99 % stretch of
  the grey probe: textures genuine min 0.318–0.455 with impostor max up to 0.34; rendered
  d′ 3.37–3.62 (no better than none): not offered.

68-point alignment raises the low end of genuine scores by 0.03–0.04 and impostor maxima by
≤ 0.006, at no cost in time, so it is the default.  Fusing a seat's crops lifts the low tail of
genuine scores at an unchanged impostor maximum, at one more descriptor (~0.1 s) per extra crop;
the lane opts in.  Jitter and ``grey`` raise genuine *and* impostor scores (the worst impostor
is always an obama crop against alex-lacamoire's document, 0.33–0.35), so they stay off.  None
of the options verifies alex-lacamoire reliably: his texture (a 128 px crop of another photo,
IED 38 px) scores only 0.43–0.51 against his document even unrendered — a data limit, not a
matcher setting.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError, LanecamError
from . import dlib_models as _models
from .base import Decision, FaceHint, FaceNotFoundError, Template, template_vector
from .thresholds import shipped_threshold

__all__ = ["DlibMatcher", "dlib_models"]

log = logging.getLogger(__name__)

KIND = "dlib-resnet-v1"
VERSION = 1
LANDMARKS = (5, 68)
FUSE_MAX_DISTANCE = 0.38
"""Largest descriptor distance from the anchor crop at which :meth:`DlibMatcher.template_many`
still fuses a crop (see there)."""


def dlib_models() -> tuple[Any, Any, Any]:
    """(detector, 5-point shape predictor, ResNet face encoder), loaded once per process.

    The shared models of :mod:`lanecam.match.dlib_models` (hold each one's lock there when
    calling them from several threads)."""
    return (_models.frontal_face_detector().model, _models.shape_predictor(5).model,
            _models.face_encoder().model)


class DlibMatcher:
    """dlib ResNet matcher. ``distance_threshold`` in dlib's descriptor distance; ``None``
    (default): the measured one shipped in ``thresholds.toml`` (:mod:`lanecam.match.thresholds`;
    dlib's habitual 0.6 gave 2.1 % false matches on grey low-resolution photos).

    ``fmr`` is the false-match rate at that threshold: with the shipped threshold and the
    options it was measured with (no jitter, 68 landmarks, colour), the shipped Clopper–Pearson
    95 % upper bound; otherwise as measured by :meth:`calibrate` (or given by the integrator
    from their own evaluation); ``None`` means uncalibrated.
    ``upsample`` runs the HOG detector on an image upsampled that many times (finds faces
    down to ~40 px with 1).  ``jitter`` > 0 averages descriptors over that many jittered crops
    (~80 ms each).  ``landmarks``: the alignment model, 68 (default) or 5 points.  ``grey``:
    colour images are turned grey (luminance) before the descriptor, as NIR probes are.  See the
    module docstring for what each option measured.  Templates from 5- and 68-point matchers
    are the same descriptor space and compare with each other (the kind and version do not
    change).

    ``counters`` counts what :meth:`template_many` left out of fused templates:
    ``"fuse_no_face"`` (an image without a face) and ``"fuse_outlier"`` (a face too far from
    the anchor's); each call that leaves something out also logs one WARNING.
    """

    name = "dlib"

    def __init__(self, distance_threshold: float | None = None, *, fmr: float | None = None,
                 upsample: int = 1, jitter: int = 0, landmarks: int = 68,
                 grey: bool = False) -> None:
        if distance_threshold is None:
            shipped = shipped_threshold("dlib")
            distance_threshold = shipped.distance_threshold
            if fmr is None and (jitter, landmarks, grey) == (0, 68, False):
                fmr = shipped.fmr_upper
        if not (isinstance(distance_threshold, (int, float)) and 0 < distance_threshold < 2):
            raise ConfigError("distance threshold must be in (0, 2)", key="distance_threshold",
                              allowed="(0, 2)")
        if fmr is not None and not 0 <= fmr <= 1:
            raise ConfigError("fmr must be a rate in [0, 1]", key="fmr", allowed="[0, 1]")
        if landmarks not in LANDMARKS:
            raise ConfigError("unknown landmark model", key="landmarks", allowed=list(LANDMARKS))
        if not (isinstance(jitter, int) and jitter >= 0):
            raise ConfigError("jitter must be an integer ≥ 0", key="jitter", allowed="≥ 0")
        self.distance_threshold = float(distance_threshold)
        self.fmr = fmr
        self.upsample = int(upsample)
        self.jitter = int(jitter)
        self.landmarks = int(landmarks)
        self.grey = bool(grey)
        self.counters: Counter[str] = Counter()

    @property
    def threshold(self) -> float:
        """The decision threshold as a similarity."""
        return 1.0 - self.distance_threshold

    def load(self) -> None:
        """Load (or reuse) the shared models now, not inside the first template."""
        _models.frontal_face_detector()
        _models.shape_predictor(self.landmarks)
        _models.face_encoder()

    def template(self, image: np.ndarray, face: FaceHint | None = None) -> Template:
        return self._template(self._descriptor(image, face))

    def template_many(self, images: Sequence[np.ndarray],
                      faces: Sequence[FaceHint | None] | None = None, *,
                      max_distance: float = FUSE_MAX_DISTANCE) -> Template:
        """One template from several images of the *same* person, e.g. a seat's top-K crops.

        ``faces[i]`` is the hint for ``images[i]`` (as for :meth:`template`; ``None`` or a
        shorter/omitted list: detect).  The template is the mean of the images' descriptors
        (what dlib's own ``jitter`` does over jittered copies of one image), so it compares
        with single-image templates on the same distance scale and threshold.  Images in which
        no face is found are skipped (counted, see :attr:`counters`); :class:`FaceNotFoundError`
        only if none has one.

        The first image with a face is the anchor (pass the best crop first): a later image
        whose descriptor lies farther than ``max_distance`` from the anchor's is left out, so a
        crop of someone else (a rear ROI catching the front passenger in one frame and the
        driver in another) cannot drag the template between two people.  The default
        :data:`FUSE_MAX_DISTANCE` comes from the 28 simulator bursts: crops of the same person
        in one burst lie ≤ 0.35 apart (68-point; ≤ 0.44 with 5-point alignment), crops of two
        different people under the same light ≥ 0.41 — much closer than across photos, which
        is why the verification threshold (0.6) would be no guard.
        """
        if not len(images):
            raise ConfigError("template_many needs at least one image", key="images")
        hints = list(faces or ())
        if len(hints) > len(images):
            raise ConfigError("more face hints than images", key="faces", allowed=len(images))
        hints += [None] * (len(images) - len(hints))
        descs = []
        for img, hint in zip(images, hints):
            try:
                descs.append(self._descriptor(img, hint))
            except FaceNotFoundError:
                continue
        if not descs:
            raise FaceNotFoundError(f"no face found in any of the {len(images)} images")
        anchor = descs[0]
        same = [d for d in descs if np.linalg.norm(d - anchor) <= max_distance]
        self._count_left_out(len(images), no_face=len(images) - len(descs),
                             outlier=len(descs) - len(same))
        return self._template(np.mean(same, axis=0).astype(np.float32))

    def _count_left_out(self, n: int, *, no_face: int, outlier: int) -> None:
        """Count and log (one WARNING) the images a fused template left out."""
        if not (no_face or outlier):
            return
        self.counters.update({k: v for k, v in (("fuse_no_face", no_face),
                                                ("fuse_outlier", outlier)) if v})
        log.warning("fused template left out %d of %d images: %d without a face, %d too far "
                    "from the anchor", no_face + outlier, n, no_face, outlier)

    def _descriptor(self, image: np.ndarray, face: FaceHint | None) -> np.ndarray:
        import dlib

        rgb = _as_rgb(image, grey=self.grey)
        if face is None:
            det = _models.frontal_face_detector()
            with det.lock:
                rects = det.model(rgb, self.upsample)
            if len(rects) == 0:
                raise FaceNotFoundError("no face found in the image")
            rect = max(rects, key=lambda r: r.width() * r.height())
        else:
            rect = dlib.rectangle(*(int(v) for v in face.box))
        shaper = _models.shape_predictor(self.landmarks)
        encoder = _models.face_encoder()
        with shaper.lock:
            shape = shaper.model(rgb, rect)
        with encoder.lock:
            desc = encoder.model.compute_face_descriptor(rgb, shape, self.jitter)
        vec = np.asarray(desc, dtype=np.float32)
        if vec.shape != (128,) or not np.all(np.isfinite(vec)):
            raise LanecamError("dlib returned an invalid descriptor")
        return vec

    @staticmethod
    def _template(vec: np.ndarray) -> Template:
        return Template(np.ascontiguousarray(vec, dtype=np.float32).tobytes(), kind=KIND,
                        version=VERSION)

    def _vector(self, t: Template) -> np.ndarray:
        return template_vector(t, KIND, VERSION, 128)

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



def _as_rgb(image: np.ndarray, *, grey: bool = False) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ConfigError("images must be uint8", key="image", allowed="uint8 gray or RGB")
    if image.ndim == 3 and image.shape[2] == 3 and grey:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ConfigError("image must be (H, W) gray or (H, W, 3) RGB", key="image")

