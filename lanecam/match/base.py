"""The matcher interface: opaque templates, similarity, and verification decisions.

A :class:`Matcher` turns a face image into a :class:`Template` and compares two templates.
Verification returns a :class:`Decision`; lanecam never refuses a traveler on a non-match — the
decision routes the case to an officer (``Decision.outcome``).  Templates are biometric data:
their ``repr`` and ``str`` show kind, version and size only, never content.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError, LanecamError

__all__ = ["Decision", "FaceHint", "FaceNotFoundError", "Matcher", "Template", "template_many",
           "template_vector"]

_MAGIC = b"LCT1"


class FaceNotFoundError(LanecamError):
    """The matcher found no face in the image it was given."""


class Template:
    """Opaque, versioned template bytes for one matcher ``kind``."""

    __slots__ = ("_data", "kind", "version")

    def __init__(self, data: bytes, *, kind: str, version: int) -> None:
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise ConfigError("template data must be non-empty bytes", key="data")
        if not kind.isascii() or not 0 < len(kind) < 64:
            raise ConfigError("template kind must be a short ASCII name", key="kind")
        self._data = bytes(data)
        self.kind = kind
        self.version = int(version)

    def to_bytes(self) -> bytes:
        """Serialized form: magic, kind, version, payload."""
        k = self.kind.encode()
        return _MAGIC + struct.pack("<BH", len(k), self.version) + k + self._data

    @classmethod
    def from_bytes(cls, blob: bytes) -> Template:
        if len(blob) < 7 or blob[:4] != _MAGIC:
            raise ConfigError("not a lanecam template", key="template")
        n, version = struct.unpack_from("<BH", blob, 4)
        if len(blob) <= 7 + n:
            raise ConfigError("truncated template", key="template")
        return cls(blob[7 + n:], kind=blob[7:7 + n].decode("ascii"), version=version)

    def payload(self) -> bytes:
        """The raw template bytes, for the matcher that made them."""
        return self._data

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return (self.kind, self.version) == (other.kind, other.version) and hmac.compare_digest(
            self._data, other._data)

    def __hash__(self) -> int:
        return hash((self.kind, self.version, len(self._data)))

    def __repr__(self) -> str:
        return f"Template(kind={self.kind!r}, version={self.version}, {len(self._data)} bytes)"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pickling is explicit serialisation, not an accident
        raise TypeError("templates are not pickled; use to_bytes() and store them encrypted")


@dataclass(frozen=True)
class Decision:
    """Result of verifying a probe against a reference.

    ``score`` and ``threshold`` are similarities (higher = more alike); ``fmr`` is the
    false-match rate the threshold was calibrated to on labelled impostor pairs, or ``None``
    when the matcher was not calibrated.  ``match`` False never means "refuse": see ``outcome``.
    """

    score: float
    threshold: float
    fmr: float | None
    matcher: str

    @property
    def match(self) -> bool:
        return self.score >= self.threshold

    @property
    def outcome(self) -> str:
        """``"verified"`` or ``"refer_to_officer"`` — never an automatic refusal."""
        return "verified" if self.match else "refer_to_officer"


@dataclass(frozen=True)
class FaceHint:
    """Where the face is in the image given to :meth:`Matcher.template` (pixels).

    ``box`` is (left, top, right, bottom); ``landmarks`` optional (x, y) points in the
    matcher's expected order (dlib: 5 points).
    """

    box: tuple[int, int, int, int]
    landmarks: tuple[tuple[float, float], ...] | None = None


@runtime_checkable
class Matcher(Protocol):
    """What lanecam needs from a face matcher (a vendor SDK plugs in here)."""

    name: str

    def template(self, image: np.ndarray, face: FaceHint | None = None) -> Template:
        """A template from a gray (H, W) or RGB (H, W, 3) uint8 image; FaceNotFoundError if none."""
        ...

    def compare(self, a: Template, b: Template) -> float:
        """Similarity of two templates (higher = more alike)."""
        ...

    def verify(self, probe: Template, reference: Template) -> Decision:
        """Compare and decide against this matcher's threshold."""
        ...


def template_many(matcher: Matcher, images: Sequence[np.ndarray],
                  faces: Sequence[FaceHint | None] | None = None) -> Template:
    """One template from several images of the same person, best first (e.g. a seat's crops).

    Calls ``matcher.template_many(images, faces)`` when the matcher offers it (an optional
    extension of :class:`Matcher`, see
    :meth:`lanecam.match.dlib_matcher.DlibMatcher.template_many`); otherwise templates the first
    image alone, so any :class:`Matcher` works.
    """
    if not len(images):
        raise ConfigError("template_many needs at least one image", key="images")
    fuse = getattr(matcher, "template_many", None)
    if callable(fuse):
        return fuse(images, faces)
    hints = list(faces or ())
    return matcher.template(images[0], hints[0] if hints else None)


def template_vector(t: Template, kind: str, version: int, length: int) -> np.ndarray:
    """The float32 vector of a template made by matcher ``kind`` v``version`` (``length``
    values); ConfigError for another matcher's template or a wrong length."""
    if t.kind != kind or t.version != version:
        raise ConfigError("template from another matcher", key="template",
                          allowed=f"{kind} v{version}")
    v = np.frombuffer(t.payload(), dtype=np.float32)
    if v.shape != (length,):
        raise ConfigError("template has the wrong length", key="template")
    return v
