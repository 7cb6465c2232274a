"""Identity galleries: who the simulator can seat in a vehicle, and their document photos.

A gallery folder (``--identities DIR``)::

    DIR/
      LICENSE | LICENSE.md | LICENSE.txt   the terms of every photo below (or one per person)
      SOURCES.tsv                          optional: tab-separated, header with ``person`` and
                                           ``file`` (path relative to DIR); when present, every
                                           photo must have a row
      EXCLUDE.txt                          optional: people left out, one folder name a line
                                           (``#`` comments), e.g. the output of
                                           ``lanecam sim gallery DIR --check`` (no face found)
      <person>/                            one folder per person: [A-Za-z0-9_.-], 1–64 chars
        *.jpg | *.jpeg | *.png             one or more photos, one face each
        LICENSE[.md|.txt]                  optional when DIR has one

The first photo (sorted by file name) becomes the person's face texture (eye centres from
dlib's 5-point landmarks, :func:`lanecam.sim.textures.make_face_texture`); the second, when
there is one, is the travel-document photo.  A person with one photo has no document on file:
they can ride, and an impostor can present a document made from that one photo (they are
then not the one in the vehicle), but they are never counted as a genuine traveler.

Without ``--identities`` the gallery is the package's shipped faces
(:func:`lanecam.sim.textures.face_names`, documents in ``assets/documents``).

Errors are :class:`GalleryError` (a :class:`~lanecam.errors.ConfigError`) with a ``reason``
code; callers decide on the type and ``reason``, never on the message.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ...errors import ConfigError
from ...match.base import FaceNotFoundError, Matcher, Template
from ..textures import FaceTexture, face_names, make_face_texture, texture_from_grey

__all__ = ["PHOTO_SUFFIXES", "Gallery", "GalleryError", "Identity", "check_gallery",
           "load_gallery", "shipped_gallery"]

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt")


class GalleryError(ConfigError):
    """A gallery folder is malformed.  ``reason``: ``"not_found"``, ``"empty"`` (no person),
    ``"bad_name"``, ``"no_photos"``, ``"no_licence"``, ``"unsourced"`` (a photo missing from
    SOURCES.tsv), ``"bad_sources"`` (SOURCES.tsv unreadable), ``"unreadable"`` (a photo that
    does not decode) or ``"no_face"`` (no face found for the texture)."""

    REASONS = ("not_found", "empty", "bad_name", "no_photos", "no_licence", "unsourced",
               "bad_sources", "unreadable", "no_face")

    def __init__(self, message: str, *, reason: str, **context: object) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}; one of {self.REASONS}")
        self.reason = reason
        super().__init__(message, **context)  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[object, ...]:  # crosses process boundaries (workers)
        return (_gallery_error, (self.message, self.reason, self.key, self.allowed))


def _gallery_error(message: str, reason: str, key: str | None, allowed: object) -> GalleryError:
    return GalleryError(message, reason=reason, key=key, allowed=allowed)


@dataclass(frozen=True)
class Identity:
    """One person: ``name``, the photo their texture comes from, their document photo
    (``None``: no document on file)."""

    name: str
    texture_photo: Path | None
    document_photo: Path | None

    @property
    def has_document(self) -> bool:
        return self.document_photo is not None

    @property
    def impersonable(self) -> bool:
        """An impostor can present a document of this person: their document photo, or the
        photo of their texture (this person is then not the one rendered)."""
        return self.document_photo is not None or self.texture_photo is not None


@dataclass(frozen=True)
class Gallery:
    """The identities of a gallery folder (``root``), or the shipped faces (``root`` None)."""

    root: Path | None
    identities: tuple[Identity, ...]
    excluded: tuple[str, ...] = ()  # left out by EXCLUDE.txt

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.identities)

    def identity(self, name: str) -> Identity:
        for i in self.identities:
            if i.name == name:
                return i
        raise ConfigError("unknown identity", key=name)

    def texture(self, name: str) -> FaceTexture:
        """The face texture of ``name`` (a gallery's: derived from its first photo)."""
        return _photo_texture(self.identity(name))

    def document_template(self, matcher: Matcher, name: str, *, impostor: bool = False
                          ) -> Template:
        """``matcher``'s template of :meth:`document_rgb`; :class:`GalleryError`
        (``"no_face"``) when the matcher finds no face in it."""
        try:
            return matcher.template(self.document_rgb(name, impostor=impostor))
        except FaceNotFoundError as exc:
            raise GalleryError("no face found in the document photo", reason="no_face",
                               key=name) from exc

    def document_rgb(self, name: str, *, impostor: bool = False) -> NDArray[np.uint8]:
        """The document photo of ``name`` as RGB (:class:`ConfigError` without one).  The
        document an ``impostor`` presents may be the person's only photo (the one their
        texture comes from: they are not the one in the vehicle)."""
        ident = self.identity(name)
        photo = ident.document_photo or (ident.texture_photo if impostor else None)
        if photo is None:
            raise ConfigError("no document photo on file", key=name)
        img = cv2.imread(str(photo))
        if img is None:
            raise GalleryError("photo does not decode", reason="unreadable", key=name)
        return np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), np.uint8)


def shipped_gallery() -> Gallery:
    """The package's faces: textures in ``assets``, documents in ``assets/documents``."""
    docs = Path(str(resources.files("lanecam.sim") / "assets" / "documents"))
    return Gallery(None, tuple(
        Identity(n, None, docs / f"{n}.jpg" if (docs / f"{n}.jpg").is_file() else None)
        for n in face_names()))


def _ident_ok(s: str) -> bool:
    return 1 <= len(s) <= 64 and all(c.isalnum() or c in "_-." for c in s) and s[0] != "."


def _licence(folder: Path) -> Path | None:
    for n in LICENCE_NAMES:
        p = folder / n
        if p.is_file() and p.read_text(encoding="utf-8", errors="replace").strip():
            return p
    return None


def _sources(root: Path) -> set[str] | None:
    """The photo paths SOURCES.tsv lists (``None``: no SOURCES.tsv)."""
    p = root / "SOURCES.tsv"
    if not p.is_file():
        return None
    try:
        with open(p, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GalleryError(f"SOURCES.tsv unreadable: {type(exc).__name__}", reason="bad_sources",
                           key="SOURCES.tsv") from exc
    if rows and not {"person", "file"} <= set(rows[0]):
        raise GalleryError("SOURCES.tsv needs the columns person and file",
                           reason="bad_sources", key="SOURCES.tsv", allowed=["person", "file"])
    return {str(r.get("file") or "") for r in rows}


def load_gallery(root: str | Path) -> Gallery:
    """Read and validate a gallery folder (see the module docstring); photos are decoded
    lazily, when a texture or document is first needed."""
    base = Path(root)
    if not base.is_dir():
        raise GalleryError("gallery folder not found", reason="not_found", key=str(base))
    top_licence = _licence(base)
    listed = _sources(base)
    excluded = _excluded(base)
    people = []
    for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if d.name in excluded:
            continue
        if not _ident_ok(d.name):
            raise GalleryError("person folder name not allowed", reason="bad_name", key=d.name,
                               allowed="[A-Za-z0-9_.-], 1–64 characters")
        photos = sorted(p for p in d.iterdir()
                        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        if not photos:
            raise GalleryError("no photos", reason="no_photos", key=d.name,
                               allowed=list(PHOTO_SUFFIXES))
        if top_licence is None and _licence(d) is None:
            raise GalleryError("no licence file for this person", reason="no_licence",
                               key=d.name, allowed=list(LICENCE_NAMES))
        for p in photos:
            rel = f"{d.name}/{p.name}"
            if listed is not None and rel not in listed:
                raise GalleryError("photo not listed in SOURCES.tsv", reason="unsourced",
                                   key=rel)
        people.append(Identity(d.name, photos[0], photos[1] if len(photos) > 1 else None))
    if not people:
        raise GalleryError("no person folders", reason="empty", key=str(base))
    return Gallery(base.resolve(), tuple(people), tuple(sorted(excluded)))


def _excluded(root: Path) -> set[str]:
    """The people EXCLUDE.txt leaves out (each must be a person folder)."""
    p = root / "EXCLUDE.txt"
    if not p.is_file():
        return set()
    names = set()
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not (root / name).is_dir() or not _ident_ok(name):
            raise GalleryError("EXCLUDE.txt names no person folder", reason="bad_name",
                               key=f"EXCLUDE.txt:{name[:64]}")
        names.add(name)
    return names


def check_gallery(gallery: Gallery) -> list[tuple[str, str]]:
    """``(person, photo file)`` of every texture or document photo in which no face is found
    (dlib HOG, one upsampling: the texture's and the matcher's detector)."""
    bad = []
    for ident in gallery.identities:
        for photo in (ident.texture_photo, ident.document_photo):
            if photo is None:
                continue
            img = cv2.imread(str(photo))
            if img is None or _eye_centres(np.asarray(img, np.uint8)) is None:
                bad.append((ident.name, photo.name))
    return bad


@cache
def _photo_texture(ident: Identity) -> FaceTexture:
    """The texture of a gallery identity (cached per process)."""
    if ident.texture_photo is None:
        from ..textures import load_face

        return load_face(ident.name)
    raw = cv2.imread(str(ident.texture_photo))
    if raw is None:
        raise GalleryError("photo does not decode", reason="unreadable",
                           key=f"{ident.name}/{ident.texture_photo.name}")
    img = np.asarray(raw, np.uint8)
    eyes = _eye_centres(img)
    if eyes is None:
        raise GalleryError("no face found in the texture photo", reason="no_face",
                           key=f"{ident.name}/{ident.texture_photo.name}")
    grey = make_face_texture(img, *eyes)
    return texture_from_grey(ident.name, grey, f"{ident.name}/{ident.texture_photo.name}")


def _eye_centres(bgr: NDArray[np.uint8]
                 ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Eye centres (image left, image right; photo px) of the largest face: the mean of each
    eye's two corner points of dlib's 5-point landmarks (as ``assets/faces.toml``)."""
    import dlib

    from ...match.dlib_matcher import dlib_models

    detector, shaper, _ = dlib_models()
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    rects = list(detector(rgb, 1))
    if not rects:
        return None
    r = max(rects, key=lambda r: r.width() * r.height())
    s = shaper(rgb, dlib.rectangle(r.left(), r.top(), r.right(), r.bottom()))
    pts = [(s.part(i).x, s.part(i).y) for i in range(5)]
    a = ((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2)
    b = ((pts[2][0] + pts[3][0]) / 2, (pts[2][1] + pts[3][1]) / 2)
    return (a, b) if a[0] < b[0] else (b, a)
