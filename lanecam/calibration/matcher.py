"""``lanecam calibrate matcher``: the decision threshold for a target false-match rate.

Bring labelled photos: a folder with one sub-folder per identity (several photos each), or one
sub-folder per group holding the identity folders (``DIR/GROUP/IDENTITY/*.jpg``) to get the
rates per group.  Every pair of photos is compared with the lane's matcher (the dlib matcher
shipped with lanecam): pairs of one identity are genuine, all others impostors.  The threshold
at ``--target-fmr``, the FMR it reaches with its Clopper–Pearson upper bound and the FNMR there
(:mod:`.matcher_fit`) go into ``[matcher]``.  The fit is poor (no fragment) when the impostor
pairs cannot vouch for the target: the upper bound above it.

``--sim SCENARIO`` renders the simulator's identities instead (:mod:`.matcher_sim`).
No photo or template is written anywhere: the report holds scores and file names only.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .matcher_fit import Photo
from .result import Calibration, CalibrationError, Draw

HELP = "matcher decision threshold for a target false-match rate, from labelled photos"
KIND = "matcher"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
#: an identity needs this many photos with a face to give genuine pairs
MIN_GENUINE_PAIRS = 1

#: photos are shrunk to this longer side (px) before the template: a portrait's face stays
#: far above the detector's ~40 px minimum, and the HOG detector's time grows with the pixels
MAX_SIDE_PX = 640

#: templates already computed in this process: (path, size, mtime) -> template
_CACHE: dict[tuple[Any, ...], Any] = {}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--photos", type=Path, metavar="DIR",
                   help="labelled photos: DIR/IDENTITY/*.jpg or DIR/GROUP/IDENTITY/*.jpg")
    p.add_argument("--target-fmr", type=float, default=1e-3,
                   help="false-match rate to set the threshold at (default 0.001)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="confidence of the upper bounds (default 0.95)")


def find_photos(root: Path) -> list[Photo]:
    """The labelled photos of ``root`` (identity folders, or group folders of them)."""
    if not root.is_dir():
        raise CalibrationError("no such photo folder", kind=KIND, reason="target_not_found",
                               key=str(root))
    out: list[Photo] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in PHOTO_SUFFIXES)
        subdirs = sorted(s for s in d.iterdir() if s.is_dir())
        if files:
            out += [Photo(f, d.name, None) for f in files]
        for s in subdirs:
            out += [Photo(f, s.name, d.name) for f in sorted(s.iterdir())
                    if f.suffix.lower() in PHOTO_SUFFIXES]
    if len({p.identity for p in out}) < 2:
        raise CalibrationError("need photos of at least two identities (one folder each)",
                               kind=KIND, reason="too_few_identities", key=str(root))
    return out


def _template(matcher: Any, photo: Photo) -> Any:
    import cv2

    if photo.image is not None:
        key: tuple[Any, ...] = photo.key or (id(photo.image),)
        if key not in _CACHE:
            _CACHE[key] = matcher.template(photo.image)
        return _CACHE[key]
    st = photo.path.stat()
    key = (str(photo.path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        img = cv2.imread(str(photo.path))
        if img is None:
            raise CalibrationError("unreadable photo", kind=KIND, reason="bad_input",
                                   key=str(photo.path))
        scale = MAX_SIDE_PX / max(img.shape[:2])
        if scale < 1:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        _CACHE[key] = matcher.template(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return _CACHE[key]


def templates(matcher: Any, photos: Sequence[Photo]) -> tuple[list[tuple[Photo, Any]], list[str]]:
    """Templates of the photos with a face, and the names of those without."""
    from ..match.base import FaceNotFoundError

    ok, missing = [], []
    for ph in photos:
        try:
            ok.append((ph, _template(matcher, ph)))
        except FaceNotFoundError:
            missing.append(f"{ph.identity}/{ph.path.name}")
    return ok, missing


def score_pairs(matcher: Any, items: Sequence[tuple[Any, Any]]
                ) -> tuple[list[float], list[float], list[tuple[str | None, bool, float]]]:
    """(impostor scores, genuine scores, (group if both share it, genuine, score) per pair)."""
    imp, gen, pairs = [], [], []
    for (pa, ta), (pb, tb) in itertools.combinations(items, 2):
        s = matcher.compare(ta, tb)
        same = pa.identity == pb.identity and pa.group == pb.group
        (gen if same else imp).append(s)
        pairs.append((pa.group if pa.group == pb.group else None, same, s))
    return imp, gen, pairs


def _per_group(pairs: Sequence[tuple[str | None, bool, float]], t: float, conf: float
               ) -> dict[str, Any]:
    from .matcher_fit import rate_at

    out = {}
    for g in sorted({p[0] for p in pairs if p[0] is not None}):
        imp = [s for grp, same, s in pairs if grp == g and not same]
        gen = [s for grp, same, s in pairs if grp == g and same]
        fmr = rate_at(sum(s >= t for s in imp), len(imp), conf)
        fnmr = rate_at(sum(s < t for s in gen), len(gen), conf)
        out[g] = {"fmr": fmr.rate, "fmr_upper": fmr.upper, "impostor_pairs": len(imp),
                  "fnmr": fnmr.rate, "fnmr_upper": fnmr.upper, "genuine_pairs": len(gen)}
    return out


def _photos(args: argparse.Namespace) -> list[Photo]:
    if args.sim is not None:
        from .matcher_sim import render_identities

        return render_identities(args.sim, args.out / "matcher-sim-photos", seed=args.seed)
    if args.photos is None:
        raise CalibrationError("give --photos DIR (labelled photos) or --sim", kind=KIND,
                               reason="target_not_found")
    return find_photos(args.photos)


def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]:
    from ..match.dlib_matcher import DlibMatcher
    from .matcher_fit import fit_threshold

    if not 0 < args.target_fmr < 1 or not 0.5 <= args.confidence < 1:
        raise CalibrationError("target FMR in (0, 1), confidence in [0.5, 1)", kind=KIND,
                               reason="bad_input", key="target_fmr")
    matcher = DlibMatcher()
    items, missing = templates(matcher, _photos(args))
    imp, gen, pairs = score_pairs(matcher, items)
    if not imp or len(gen) < MIN_GENUINE_PAIRS:
        raise CalibrationError(f"{len(imp)} impostor and {len(gen)} genuine pairs: need two "
                               "identities with a face, one of them in two photos", kind=KIND,
                               reason="too_few_views")
    fit = fit_threshold(imp, gen, args.target_fmr, args.confidence)
    groups = _per_group(pairs, fit.threshold, args.confidence)
    est = {"distance_threshold": 1.0 - fit.threshold, "similarity_threshold": fit.threshold,
           "fmr": fit.fmr.rate, "fnmr": fit.fnmr.rate, "target_fmr": args.target_fmr}
    unc = {"fmr_upper": fit.fmr.upper, "fnmr_upper": fit.fnmr.upper,
           "confidence": args.confidence}
    ids = len({(p.group, p.identity) for p, _ in items})
    why = (f"{fit.fmr.trials} impostor pairs ({ids} identities) vouch for FMR ≤ "
           f"{fit.fmr.upper:.3g} at {100 * args.confidence:g} %")
    if not fit.supported:
        why += (f", above the target {args.target_fmr:g}: at least {fit.min_impostors} "
                "impostor pairs are needed even without a false match (more identities)")
    frag = {"matcher": {"distance_threshold": round(1.0 - fit.threshold, 6),
                        "fmr": round(fit.fmr.rate, 8), "fmr_upper": round(fit.fmr.upper, 8)}}
    details = {"identities": ids, "photos": len(items), "without_face": missing,
               "impostor_pairs": len(imp), "genuine_pairs": len(gen),
               "fmr_errors": fit.fmr.errors, "fnmr_errors": fit.fnmr.errors,
               "min_impostor_pairs_for_target": fit.min_impostors, "groups": groups}
    cal = Calibration(KIND, est, unc, frag, "good" if fit.supported else "poor", why,
                      details=details)
    from .matcher_plot import draw_matcher

    return cal, lambda fig: draw_matcher(fig, imp, gen, fit, groups, why)
