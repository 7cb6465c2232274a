"""Face textures: small grey crops of real photos shipped in ``lanecam/sim/assets``.

Each texture is a 128×128 8-bit PNG made by :func:`make_face_texture` from a photo in the
project's ``tests/data/faces`` (MIT licence, ``assets/LICENSE-face_recognition.txt``): a
similarity warp puts the eye centres (dlib 5-point landmarks, listed in ``assets/faces.toml``)
at (35 %, 40 %) and (65 %, 40 %) of the square, and the red channel stands in for the
near-infrared appearance of skin (ASSUMED: skin is brighter and flatter in NIR than in green or
blue).  The texture spans :data:`~lanecam.sim.constants.FACE_PLANE_M` on the face plane, so the
eyes are 63 mm apart.

A gallery of identities (:mod:`lanecam.sim.population.gallery`) adds its own textures, made
the same way from its photos: :func:`register_face_source` makes :func:`load_face` draw them.

The simulator renders only these photos.  Travel-document photos for matching demos must be
*other* photos of the same people (``obama2.jpg``, ``biden2.jpg``, ``alex-lacamoire2.jpg``;
see ``assets/README.md``), never the rendered ones.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError

__all__ = [
    "EYE_COLS",
    "EYE_ROW",
    "TEXTURE_PX",
    "FaceTexture",
    "face_names",
    "load_face",
    "make_face_texture",
    "register_face_source",
    "texture_from_grey",
]

TEXTURE_PX = 128
EYE_ROW = 0.40  # fraction of the texture height
EYE_COLS = (0.35, 0.65)  # fractions of the width (image left, image right)
#: Face region used for ground-truth boxes and visibility, in texture fractions (x0, y0, x1, y1).
FACE_BOX = (0.17, 0.14, 0.83, 0.95)
#: Elliptical skin mask (centre x, centre y, semi-axis x, semi-axis y), texture fractions.
FACE_ELLIPSE = (0.5, 0.52, 0.35, 0.47)


def _assets() -> Path:
    return Path(str(resources.files("lanecam.sim") / "assets"))


@dataclass(frozen=True)
class FaceTexture:
    """Reflectance-proportional grey levels (0–1) and a soft skin mask (0–1), both 128×128."""

    name: str
    grey: NDArray[np.float32]
    mask: NDArray[np.float32]
    source: str


@cache
def _manifest() -> dict[str, dict[str, object]]:
    with open(_assets() / "faces.toml", "rb") as fh:
        doc = tomllib.load(fh)
    return dict(doc["face"])


def face_names() -> tuple[str, ...]:
    """Names of the shipped face textures."""
    return tuple(sorted(_manifest()))


@cache
def _ellipse_mask() -> NDArray[np.float32]:
    n = TEXTURE_PX
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    cx, cy, ax, ay = FACE_ELLIPSE
    r = np.sqrt(((xx + 0.5) / n - cx) ** 2 / ax ** 2 + ((yy + 0.5) / n - cy) ** 2 / ay ** 2)
    return np.clip((1.0 - r) / 0.08, 0.0, 1.0).astype(np.float32)


#: Face sources beyond the shipped textures: face name → a function giving its texture.
_SOURCES: dict[str, Callable[[str], FaceTexture]] = {}


def register_face_source(names: Iterable[str], source: Callable[[str], FaceTexture]) -> None:
    """Make :func:`load_face` take each of ``names`` from ``source`` (e.g. a gallery's
    textures) instead of the shipped textures.  Per process: a worker registers its gallery
    before rendering."""
    for n in names:
        _SOURCES[n] = source


def load_face(name: str) -> FaceTexture:
    """The texture called ``name``: a registered source's, else the shipped one;
    :class:`ConfigError` names the choices otherwise."""
    source = _SOURCES.get(name)
    if source is not None:
        return source(name)
    return _load_shipped(name)


def texture_from_grey(name: str, grey_u8: NDArray[np.uint8], source: str) -> FaceTexture:
    """A :class:`FaceTexture` from a 128×128 8-bit texture (:func:`make_face_texture`'s)."""
    if grey_u8.shape != (TEXTURE_PX, TEXTURE_PX):
        raise ConfigError("face texture must be 128×128", key=name)
    grey = grey_u8.astype(np.float32) / 255.0
    grey.flags.writeable = False
    mask = _ellipse_mask()
    mask.flags.writeable = False
    return FaceTexture(name, grey, mask, source)


@cache
def _load_shipped(name: str) -> FaceTexture:
    entry = _manifest().get(name)
    if entry is None:
        raise ConfigError("unknown face texture", key="face", allowed=list(face_names()))
    path = _assets() / f"{name}.png"
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None or img.shape != (TEXTURE_PX, TEXTURE_PX):
        raise ConfigError("face texture missing or malformed", key=str(path))
    grey = (img.astype(np.float32) / 255.0)
    grey.flags.writeable = False
    mask = _ellipse_mask()
    mask.flags.writeable = False
    return FaceTexture(name, grey, mask, str(entry["source"]))


def make_face_texture(photo_bgr: NDArray[np.uint8], left_eye: tuple[float, float],
                      right_eye: tuple[float, float]) -> NDArray[np.uint8]:
    """Crop a 128×128 grey texture from a BGR photo given the eye centres (image left, image
    right, in photo pixels): a similarity warp (INTER_AREA-prefiltered) onto the texture's eye
    positions, red channel kept."""
    n = TEXTURE_PX
    src = np.array([left_eye, right_eye], dtype=np.float64)
    dst = np.array([[EYE_COLS[0] * n, EYE_ROW * n], [EYE_COLS[1] * n, EYE_ROW * n]])
    ds, dd = src[1] - src[0], dst[1] - dst[0]
    scale = np.hypot(*dd) / np.hypot(*ds)
    ang = np.arctan2(dd[1], dd[0]) - np.arctan2(ds[1], ds[0])
    red: NDArray[np.uint8] = photo_bgr[:, :, 2]
    # pre-shrink so the final warp never minifies by more than 2× (no aliasing)
    shrink = max(1, int(1.0 / scale / 2))
    if shrink > 1:
        red = np.asarray(cv2.resize(red, (red.shape[1] // shrink, red.shape[0] // shrink),
                                    interpolation=cv2.INTER_AREA), np.uint8)
        src = src / shrink
        scale *= shrink
    c, s = scale * np.cos(ang), scale * np.sin(ang)
    m = np.array([[c, -s, 0.0], [s, c, 0.0]])
    m[:, 2] = dst[0] - m[:, :2] @ src[0]
    return np.asarray(cv2.warpAffine(red, m, (n, n), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE), np.uint8)
