"""dlib's models, loaded once per process and shared by the face finder and the matcher.

:class:`~lanecam.quality.faces.DlibFaceFinder` (the ranker's and the exposure meter's) and
:class:`~lanecam.match.dlib_matcher.DlibMatcher` used to load their own copies: building dlib's
HOG frontal-face detector takes ~0.45 s, the 5-point landmark model ~0.07 s, the 68-point one
~0.85 s and ~100 MB, the ResNet encoder ~0.13 s (measured on the dev machine).  Each loader
here builds its model on first use and returns the same :class:`SharedModel` afterwards.

The model files come from the ``face_recognition_models`` wheel (``pip install
'lanecam[dlib]'``); nothing is downloaded at run time.  dlib documents its object detector and
its DNN as unsafe for concurrent use of one instance, so every shared model carries a lock:
hold ``model.lock`` around each call.  Importing this module does not import dlib.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import LanecamError

__all__ = [
    "LANDMARK_FILES",
    "DlibUnavailableError",
    "SharedModel",
    "face_encoder",
    "frontal_face_detector",
    "model_path",
    "models_dir",
    "shape_predictor",
]

#: Landmark model file per number of points (both ship in ``face_recognition_models``).
LANDMARK_FILES = {5: "shape_predictor_5_face_landmarks.dat",
                  68: "shape_predictor_68_face_landmarks.dat"}
_ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class DlibUnavailableError(LanecamError, ImportError):
    """dlib or one of its model files is not installed."""


class SharedModel(NamedTuple):
    """A process-wide dlib model and the lock to hold while calling it."""

    model: Any
    lock: threading.RLock


def models_dir() -> Path | None:
    """The ``models`` folder of ``face_recognition_models``, located without importing it.

    (``face_recognition_models`` 0.3.0 imports ``pkg_resources``, which setuptools ≥ 81 no
    longer ships; its data files are all we need.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = Path(base) / "models"
        if path.is_dir():
            return path
    return None


def model_path(name: str) -> Path | None:
    """The path of one model file of ``face_recognition_models``, or ``None`` if missing."""
    folder = models_dir()
    if folder is None or not (folder / name).is_file():
        return None
    return folder / name


def _dlib() -> Any:
    try:
        return importlib.import_module("dlib")
    except ImportError as exc:
        raise DlibUnavailableError("dlib is not installed (pip install 'lanecam[dlib]')",
                                   feature="dlib") from exc


def _require(name: str) -> Path:
    path = model_path(name)
    if path is None:
        raise DlibUnavailableError("a dlib model file is missing (pip install 'lanecam[dlib]')",
                                   feature="face_recognition_models", key=name)
    return path


_loaded: dict[str, SharedModel] = {}
_load_lock = threading.Lock()


def _once(key: str, build: Callable[[], Any]) -> SharedModel:
    """The model under ``key``, built by ``build()`` on first use (one build per process)."""
    shared = _loaded.get(key)
    if shared is None:
        with _load_lock:
            shared = _loaded.get(key)
            if shared is None:
                shared = _loaded[key] = SharedModel(build(), threading.RLock())
    return shared


def frontal_face_detector() -> SharedModel:
    """dlib's HOG frontal-face detector."""
    dlib = _dlib()
    return _once("detector", dlib.get_frontal_face_detector)


def shape_predictor(which: int | str | os.PathLike[str] = 5) -> SharedModel:
    """A landmark model: ``5`` or ``68`` points from ``face_recognition_models``, or a file path."""
    if isinstance(which, int) and not isinstance(which, bool):
        if which not in LANDMARK_FILES:
            raise LanecamError(f"no {which}-point landmark model", feature="landmarks",
                               allowed=sorted(LANDMARK_FILES))
        path = _require(LANDMARK_FILES[which])
    else:
        path = Path(which)
        if not path.is_file():
            raise DlibUnavailableError("landmark model file not found", feature="landmarks",
                                       key=str(path))
    dlib = _dlib()
    key = str(path.resolve())
    return _once(f"shape:{key}", lambda: dlib.shape_predictor(key))


def face_encoder() -> SharedModel:
    """dlib's ResNet face encoder (128-D descriptors)."""
    dlib = _dlib()
    key = str(_require(_ENCODER_FILE))
    return _once("encoder", lambda: dlib.face_recognition_model_v1(key))
