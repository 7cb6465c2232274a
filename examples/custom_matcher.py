"""How an integrator plugs a vendor face SDK into lanecam.

lanecam needs three things from a matcher (the :class:`lanecam.match.Matcher` protocol):
``template(image, face=None) -> Template``, ``compare(a, b) -> similarity`` and
``verify(probe, reference) -> Decision``.  Wrap your SDK's calls in those; keep its templates
opaque inside :class:`lanecam.match.Template` (their repr never shows content), and report the
threshold's false-match rate from your own calibration.

This example wraps "a vendor SDK" — here dlib itself, standing in for one — with a stricter
threshold, and checks it on two photos of one person and one of another:

    python examples/custom_matcher.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lanecam.match import Decision, FaceHint, Matcher, Template
from lanecam.match.dlib_matcher import DlibMatcher

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"


class VendorMatcher:
    """Adapter from a vendor SDK to lanecam's Matcher protocol."""

    name = "vendor-x"

    def __init__(self, sdk: DlibMatcher, threshold: float, fmr: float | None) -> None:
        self._sdk = sdk  # your SDK handle: licensed engine, GPU context, ...
        self.threshold = threshold  # similarity, from the vendor's calibration tables
        self.fmr = fmr

    def template(self, image: np.ndarray, face: FaceHint | None = None) -> Template:
        native = self._sdk.template(image, face)  # the SDK's own template bytes
        return Template(native.payload(), kind="vendor-x", version=3)

    def compare(self, a: Template, b: Template) -> float:
        def unwrap(t: Template) -> Template:
            return Template(t.payload(), kind="dlib-resnet-v1", version=1)

        return self._sdk.compare(unwrap(a), unwrap(b))

    def verify(self, probe: Template, reference: Template) -> Decision:
        return Decision(self.compare(probe, reference), self.threshold, self.fmr, self.name)


def main() -> None:
    m: Matcher = VendorMatcher(DlibMatcher(), threshold=0.45, fmr=1e-3)
    assert isinstance(m, Matcher)  # the protocol is runtime-checkable

    def load(name: str) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(FACES / name)), cv2.COLOR_BGR2RGB)

    doc = m.template(load("biden.jpg"))  # the travel-document photo
    for probe in ("biden2.jpg", "obama.jpg"):
        d = m.verify(m.template(load(probe)), doc)
        print(f"{probe}: score {d.score:.3f} vs threshold {d.threshold} -> {d.outcome}")
    print("template:", doc)  # kind, version and size only


if __name__ == "__main__":
    main()
