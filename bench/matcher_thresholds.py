"""Both shipped matchers' thresholds at a target false-match rate, from a measured gallery.

    python bench/matcher_thresholds.py --gallery /work/shared/gallery [--people N]
        [--genuine DIR] [--target-fmr 1e-4] [--json FILE]

Gallery: one folder per person (``DIR/PERSON/*.jpg``, see ``bench/build_gallery.py``); the
first photo of each person is used.  Regimes (the lane's NIR crops are grey and small): the
*reference* is the photo as a document gives it (colour, longer side ≤ 640 px, as ``lanecam
calibrate matcher`` reads photos); the *probe* is the same photo made grey (luminance), and in
the ``face64`` / ``face40`` regimes shrunk (INTER_AREA) so that the face box YuNet finds on the
original is 64 / 40 px wide.  Each matcher then finds, aligns and encodes the face itself, as
in the lane (dlib: HOG upsample 1 + 68-point alignment; SFace: YuNet + five-point
``alignCrop``).  Impostor pairs: one per unordered pair of people {i < j}: probe i against
reference j, so n(n−1)/2 per regime.  Genuine pairs: ``--genuine`` photos of one person taken
on different occasions (default ``tests/data/faces``: obama ×3, biden ×2, alex-lacamoire ×2,
plus the partial obama), every ordered probe/reference pair of different files.

The threshold per regime is :func:`lanecam.calibration.matcher_fit.fit_threshold` (the lowest
similarity whose one-sided Clopper–Pearson 95 % bound stays ≤ the target); the threshold to
ship is the highest of the regimes', re-scored in every regime.  Prints scores and counts
only; no image, crop or template is written.  Times are ms per template in this process
(reference side, full-size photos), on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lanecam.calibration.matcher import find_photos
from lanecam.calibration.matcher_fit import fit_threshold, rate_at
from lanecam.match.base import FaceNotFoundError, Matcher, Template
from lanecam.quality.kernels import Roi
from lanecam.quality.yunet import YuNetFaceFinder

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "tests" / "data" / "faces"
GENUINE = {"alex-lacamoire.png": "alex", "alex-lacamoire2.jpg": "alex", "biden.jpg": "biden",
           "biden2.jpg": "biden", "obama.jpg": "obama", "obama2.jpg": "obama",
           "obama3.jpg": "obama", "obama_partial_face.jpg": "obama"}
REGIMES: dict[str, int | None] = {"full": None, "face64": 64, "face40": 40}
MAX_SIDE_PX = 640
PERCENTILES = (50.0, 90.0, 99.0, 99.9, 99.99)
TOP_PAIRS = 12


def read_rgb(path: Path) -> np.ndarray:
    """RGB uint8 image, longer side shrunk to :data:`MAX_SIDE_PX` (ValueError: unreadable)."""
    img = cv2.imread(str(path))
    if img is None:
        raise ValueError(f"unreadable photo {path.name}")
    k = MAX_SIDE_PX / max(img.shape[:2])
    if k < 1:
        img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def probes(rgb: np.ndarray, finder: YuNetFaceFinder) -> dict[str, np.ndarray] | None:
    """The grey probe of each regime, or None when YuNet finds no face in the original."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = finder.find(grey, Roi(0, 0, grey.shape[1], grey.shape[0]))
    if not faces:
        return None
    width = max(faces, key=lambda f: f.box.width).box.width
    out = {}
    for name, px in REGIMES.items():
        k = 1.0 if px is None else min(1.0, px / max(width, 1))
        out[name] = grey if k == 1.0 else cv2.resize(
            grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return out


def _tmpl(m: Matcher, img: np.ndarray) -> Template | None:
    try:
        return m.template(img)
    except FaceNotFoundError:
        return None


def templates(m: Matcher, images: list[tuple[np.ndarray, dict[str, np.ndarray]]]
              ) -> tuple[list[Template | None], dict[str, list[Template | None]], float]:
    """Reference templates, probe templates per regime, and ms per reference template."""
    t0 = time.perf_counter()
    refs = [_tmpl(m, rgb) for rgb, _ in images]
    ms = 1000 * (time.perf_counter() - t0) / max(len(images), 1)
    pro = {r: [_tmpl(m, p[r]) for _, p in images] for r in REGIMES}
    return refs, pro, ms


def impostor_scores(m: Matcher, refs: list[Template | None], pro: list[Template | None]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Probe i against reference j for every i < j with both templates: scores, and (i, j)."""
    ij = np.asarray([(i, j) for i, j in itertools.combinations(range(len(refs)), 2)
                     if pro[i] is not None and refs[j] is not None], np.int64).reshape(-1, 2)
    s = [m.compare(pro[i], refs[j]) for i, j in ij]  # type: ignore[arg-type]
    return np.asarray(s, np.float64), ij


def genuine_scores(m: Matcher, photos: list[tuple[str, str, np.ndarray,
                                                  dict[str, np.ndarray]]]) -> dict[str, list]:
    """Per regime: probe of one file against reference of another file of the same person."""
    refs = {f: _tmpl(m, rgb) for f, _, rgb, _ in photos}
    out: dict[str, list[float]] = {}
    for r in REGIMES:
        pro = {f: _tmpl(m, p[r]) for f, _, _, p in photos}
        out[r] = [m.compare(pro[a], refs[b]) for (a, pa, _, _), (b, pb, _, _)
                  in itertools.permutations(photos, 2)
                  if pa == pb and pro[a] is not None and refs[b] is not None]
    return out


def summarize(imps: dict[str, np.ndarray], gen: dict[str, list[float]], target: float
              ) -> tuple[float, dict[str, Any]]:
    """The threshold to ship (the highest of the regimes' fits at ``target``) and, per regime,
    the impostor percentiles, its own fit, and false matches / non-matches at the shipped one
    with their one-sided Clopper–Pearson 95 % bounds."""
    regimes: dict[str, Any] = {}
    for r, imp in imps.items():
        fit = fit_threshold(imp, gen[r], target)
        regimes[r] = {"impostor_pairs": int(imp.size),
                      "percentiles": {str(q): float(np.percentile(imp, q)) for q in PERCENTILES},
                      "max": float(imp.max()), "fit_threshold": fit.threshold,
                      "fit_supported": fit.supported}
    shipped = max(v["fit_threshold"] for v in regimes.values())
    for r, v in regimes.items():
        fm = rate_at(int(np.sum(imps[r] >= shipped)), int(imps[r].size))
        g = np.asarray(gen[r], np.float64)
        fn = rate_at(int(np.sum(g < shipped)), int(g.size))
        v.update({"false_matches": fm.errors, "fmr": fm.rate, "fmr_upper": fm.upper,
                  "genuine_scores": [round(float(x), 4) for x in sorted(g)],
                  "false_non_matches": fn.errors, "genuine_pairs": fn.trials,
                  "fnmr": fn.rate, "fnmr_upper": fn.upper})
    return shipped, regimes


def measure(m: Matcher, gallery: list[tuple[np.ndarray, dict[str, np.ndarray]]],
            genuine: list[tuple[str, str, np.ndarray, dict[str, np.ndarray]]],
            target: float, ids: list[str]) -> dict[str, Any]:
    """Impostor and genuine scores of one matcher, fitted per regime and at the shipped one;
    the highest impostor pairs are named by person id (to find one person filed twice)."""
    refs, pro, ms = templates(m, gallery)
    gen = genuine_scores(m, genuine)
    scored = {r: impostor_scores(m, refs, pro[r]) for r in REGIMES}
    shipped, regimes = summarize({r: v[0] for r, v in scored.items()}, gen, target)
    for r, (s, ij) in scored.items():
        regimes[r]["people_with_face"] = sum(p is not None for p in pro[r])
        top = np.argsort(s)[::-1][:TOP_PAIRS]
        regimes[r]["top_impostors"] = [(round(float(s[k]), 4), ids[ij[k, 0]], ids[ij[k, 1]])
                                       for k in top]
    return {"threshold": shipped, "references_with_face": sum(t is not None for t in refs),
            "ms_per_template": ms, "regimes": regimes}


def load_gallery(root: Path, people: int | None, finder: YuNetFaceFinder
                 ) -> tuple[list[tuple[np.ndarray, dict[str, np.ndarray]]], list[str], int]:
    """(reference RGB, probes) of the first photo of each person, their ids, and how many
    had no face."""
    first: dict[str, Path] = {}
    for ph in find_photos(root):
        first.setdefault(ph.identity, ph.path)
    ids = sorted(first)[:people] if people else sorted(first)
    out, kept, no_face = [], [], 0
    for i in ids:
        rgb = read_rgb(first[i])
        p = probes(rgb, finder)
        if p is None:
            no_face += 1
        else:
            out.append((rgb, p))
            kept.append(i)
    return out, kept, no_face


def print_report(res: dict[str, Any], target: float) -> None:
    """Both matchers side by side, one line per regime."""
    print(f"target FMR {target:g}; CP = one-sided Clopper–Pearson 95 % upper bound")
    for name, r in res["matchers"].items():
        print(f"\n{name}: shipped threshold (similarity) {r['threshold']:.4f}; "
              f"{r['ms_per_template']:.0f} ms/template; references with a face "
              f"{r['references_with_face']}")
        print("  regime  pairs    p50     p99    p99.9  p99.99  max     fit     FM  CP-upper"
              "   FNMR (n)")
        for reg, v in r["regimes"].items():
            p = v["percentiles"]
            print(f"  {reg:7s} {v['impostor_pairs']:7d} {p['50.0']:.3f}  {p['99.0']:.3f}  "
                  f"{p['99.9']:.3f}  {p['99.99']:.3f}  {v['max']:.3f}  "
                  f"{v['fit_threshold']:.4f} {v['false_matches']:3d}  {v['fmr_upper']:.2e}  "
                  f"{v['false_non_matches']}/{v['genuine_pairs']}")
            g = v["genuine_scores"]
            if g:
                print(f"          genuine: min {g[0]:.3f}, median {float(np.median(g)):.3f}, "
                      f"max {g[-1]:.3f}; FNMR CP upper {v['fnmr_upper']:.2f}")
            print("          highest: " + ", ".join(
                f"{sc:.3f} {x}~{y}" for sc, x, y in v["top_impostors"][:4]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gallery", type=Path, required=True, help="DIR/PERSON/*.jpg")
    ap.add_argument("--genuine", type=Path, default=FACES, help="folder of GENUINE's files")
    ap.add_argument("--people", type=int, default=None, help="first N people only")
    ap.add_argument("--target-fmr", type=float, default=1e-4)
    ap.add_argument("--matchers", default="sface,dlib")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1)")
    a = ap.parse_args(argv)
    cv2.setNumThreads(a.threads)
    finder = YuNetFaceFinder(score_threshold=0.5, max_side=None)
    gallery, ids, no_face = load_gallery(a.gallery, a.people, finder)
    genuine = []
    for f, who in GENUINE.items():
        rgb = read_rgb(a.genuine / f)
        p = probes(rgb, finder)
        if p is not None:
            genuine.append((f, who, rgb, p))
    res: dict[str, Any] = {"gallery": str(a.gallery), "people": len(gallery),
                           "people_without_face": no_face, "target_fmr": a.target_fmr,
                           "command": " ".join(["python bench/matcher_thresholds.py",
                                                *(argv if argv is not None else sys.argv[1:])]),
                           "matchers": {}}
    for name in a.matchers.split(","):
        res["matchers"][name] = measure(make_matcher(name), gallery, genuine, a.target_fmr, ids)
    print(f"{len(gallery)} people ({no_face} without a face found), genuine photos "
          f"{len(genuine)}")
    print_report(res, a.target_fmr)
    if a.json is not None:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


def make_matcher(name: str) -> Matcher:
    """The shipped matcher ``name`` at its defaults (thresholds do not matter here)."""
    if name == "dlib":
        from lanecam.match.dlib_matcher import DlibMatcher

        return DlibMatcher()
    if name == "sface":
        from lanecam.match.sface_matcher import SFaceMatcher

        return SFaceMatcher()
    raise SystemExit(f"unknown matcher {name!r} (dlib, sface)")


if __name__ == "__main__":
    raise SystemExit(main())
