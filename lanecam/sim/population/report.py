"""The capture report of a population run: rates with Clopper–Pearson 95 % intervals, impostors,
decision latency, and a contact sheet of the worst misses.

The report (:func:`build_report`) holds metadata and counts only — never an image, crop or
template.  Everything but ``run`` (wall time, travelers per minute, workers, scheduler) is a
function of the seed, the spec, the gallery and the options, so the same inputs give the same
bytes (:func:`report_json`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np
from numpy.typing import NDArray

from ...calibration.matcher_fit import binomial_upper
from ...errors import LanecamError
from .runner import CROP_PX, TravelerRecord, UnitResult

__all__ = ["build_report", "clopper_pearson", "contact_sheet", "print_report", "rate_block",
           "report_json"]

LATENCY_PERCENTILES = (50, 90, 99)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided Clopper–Pearson interval of a rate seen ``k`` times in ``n`` trials:
    each tail holds (1 − confidence) / 2, from the project's one-sided exact bound
    (:func:`lanecam.calibration.matcher_fit.binomial_upper`).  ``(0, 1)`` for n = 0."""
    if not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n")
    if n == 0:
        return 0.0, 1.0
    tail = 1.0 - (1.0 - confidence) / 2  # one-sided confidence of each bound
    return 1.0 - binomial_upper(n - k, n, tail), binomial_upper(k, n, tail)


def rate_block(records: Sequence[TravelerRecord]) -> dict[str, Any]:
    """``{"n", "verified", "rate", "ci95": [lo, hi]}`` over genuine travelers (``rate`` None
    when n = 0)."""
    n, k = len(records), sum(r.verified for r in records)
    lo, hi = clopper_pearson(k, n)
    return {"n": n, "verified": k, "rate": round(k / n, 6) if n else None,
            "ci95": [round(lo, 6), round(hi, 6)]}


def _percentiles(xs: Iterable[float | None]) -> dict[str, float | None]:
    v = np.array([x for x in xs if x is not None], float)
    return {f"p{q}_ms": round(float(np.percentile(v, q)) * 1e3, 3) if v.size else None
            for q in LATENCY_PERCENTILES} | {"n": int(v.size)}


def at_threshold(records: Sequence[TravelerRecord], threshold: float) -> dict[str, Any]:
    """What the same run gives at another ``threshold`` (the matcher's score scale): genuine
    travelers verified (their own crop scoring at least it), false matches (a genuine
    traveler's document accepting another face) and impostors accepted."""
    genuine = [r for r in records if not r.impostor]
    ok = [replace(r, verified=r.own_crop and r.score is not None and r.score >= threshold)
          for r in genuine]
    return {"threshold": threshold, "all": rate_block(ok),
            "front": rate_block([r for r in ok if not r.rear]),
            "rear": rate_block([r for r in ok if r.rear]),
            "false_matches": sum(1 for r in genuine if r.captured and not r.own_crop
                                 and r.score is not None and r.score >= threshold),
            "impostors_accepted": sum(1 for r in records if r.impostor and r.captured
                                      and r.score is not None and r.score >= threshold)}


def build_report(results: Sequence[UnitResult], *, seed: int, spec: str, vehicles: int,
                 options: dict[str, Any], latency: bool = True,
                 published_threshold: float | None = None) -> dict[str, Any]:
    """The report's deterministic part (see the module docstring).  ``latency``: decision
    latencies were measured (real time); under simulated time their percentiles are null.
    ``published_threshold``: also report the run at that threshold (:func:`at_threshold`)."""
    recs = [r for u in sorted(results, key=lambda u: u.index) for r in u.travelers]
    genuine = [r for r in recs if not r.impostor]
    imp = [r for r in recs if r.impostor]
    per: dict[str, dict[str, list[TravelerRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in genuine:
        for k, v in r.conditions:
            per[k][v].append(r)
    return {
        "seed": seed, "spec": spec, "vehicles": vehicles, "options": options,
        "travelers": len(genuine), "captured": sum(r.captured for r in genuine),
        "verified": sum(r.verified for r in genuine),
        "false_matches": sum(r.false_match for r in genuine),
        "all": rate_block(genuine),
        "front": rate_block([r for r in genuine if not r.rear]),
        "rear": rate_block([r for r in genuine if r.rear]),
        "child": rate_block([r for r in genuine if r.child]),
        "impostors": {"n": len(imp), "captured": sum(r.captured for r in imp),
                      "accepted": sum(r.accepted for r in imp),
                      "rejected": len(imp) - sum(r.accepted for r in imp)},
        "conditions": {k: {v: rate_block(rs) for v, rs in sorted(vals.items())}
                       for k, vals in sorted(per.items())},
        "decision_latency": _percentiles(r.decision_latency_s if latency else None
                                         for r in genuine),
        "genuine_score": _score_percentiles(r.score for r in genuine if r.own_crop),
        **({"at_published_threshold": at_threshold(recs, published_threshold)}
           if published_threshold is not None else {}),
    }


def _score_percentiles(xs: Iterable[float | None]) -> dict[str, float | int | None]:
    """Percentiles (10, 50, 90) of the genuine travelers' own-crop scores."""
    v = np.array([x for x in xs if x is not None], float)
    return {f"p{q}": round(float(np.percentile(v, q)), 4) if v.size else None
            for q in (10, 50, 90)} | {"n": int(v.size)}


def report_json(report: dict[str, Any]) -> str:
    """The report as JSON text (sorted keys, so equal reports are equal bytes)."""
    return json.dumps(report, sort_keys=True, indent=1, allow_nan=False) + "\n"


def _ci(b: dict[str, Any]) -> str:
    if not b["n"]:
        return "n = 0"
    lo, hi = b["ci95"]
    return (f"{b['verified']}/{b['n']} = {100 * b['rate']:.1f} % "
            f"[{100 * lo:.1f}, {100 * hi:.1f}]")


def print_report(rep: dict[str, Any], stream: TextIO) -> None:
    """A short human summary (rates with 95 % intervals)."""
    print(f"population seed {rep['seed']} ({rep['spec']}): {rep['vehicles']} vehicles, "
          f"{rep['travelers']} travelers with a document, {rep['captured']} captured",
          file=stream)
    for k in ("all", "front", "rear", "child"):
        print(f"  {k:>6} verified {_ci(rep[k])}", file=stream)
    imp = rep["impostors"]
    print(f"  false matches {rep['false_matches']}; impostors {imp['n']} ({imp['captured']} "
          f"captured), accepted {imp['accepted']}", file=stream)
    sc = rep.get("genuine_score", {})
    if sc.get("n"):
        print(f"  genuine own-crop scores p10 {sc['p10']}, p50 {sc['p50']}, p90 {sc['p90']} "
              f"(n = {sc['n']})", file=stream)
    pub = rep.get("at_published_threshold")
    if pub:
        print(f"  at the published threshold {pub['threshold']}: all {_ci(pub['all'])}, "
              f"front {_ci(pub['front'])}, rear {_ci(pub['rear'])}; false matches "
              f"{pub['false_matches']}, impostors accepted {pub['impostors_accepted']}",
              file=stream)
    lat = rep["decision_latency"]
    if lat["n"]:
        print(f"  decision latency p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms "
              f"(n = {lat['n']})", file=stream)
    else:
        print("  decision latency not measured (simulated time: --timing real measures it)",
              file=stream)
    run = rep.get("run")
    if run:
        print(f"  wall {run['wall_s']:.1f} s, {run['travelers_per_minute']:.1f} travelers/min "
              f"on {run['workers']} worker(s)", file=stream)


def _worst(results: Sequence[UnitResult], limit: int) -> list[tuple[TravelerRecord, Any]]:
    """Missed genuine travelers with a crop, worst first: front seats, adults, daylight, no
    accessory (the misses least explained by their conditions), then by vehicle and seat."""
    out = []
    for u in results:
        for r in u.travelers:
            if not r.impostor and not r.verified and r.seat in u.crops:
                c = dict(r.conditions)
                excuses = (r.rear, r.child, c["light"] == "night", c["pose"] != "booth",
                           c["cap"] == "true", c["sunglasses"] == "true", c["mask"] == "true")
                out.append((sum(excuses), r.vehicle, r.seat, r, u.crops[r.seat]))
    out.sort(key=lambda t: t[:3])
    return [(t[3], t[4]) for t in out[:limit]]


def contact_sheet(results: Sequence[UnitResult], path: Path, *, limit: int = 24,
                  columns: int = 6) -> int:
    """Write a PNG of the worst misses' crops (simulated people only) to ``path``; returns
    how many tiles it holds."""
    worst = _worst(results, limit)
    rows = max(1, -(-len(worst) // columns))
    th = CROP_PX + 30
    sheet = np.zeros((rows * th + 24, columns * (CROP_PX + 4)), np.uint8)
    cv2.putText(sheet, f"worst misses: {len(worst)}", (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                255, 1, cv2.LINE_AA)
    for i, (r, crop) in enumerate(worst):
        y, x = 24 + (i // columns) * th, (i % columns) * (CROP_PX + 4)
        sheet[y:y + CROP_PX, x:x + CROP_PX] = crop
        c = dict(r.conditions)
        for j, text in enumerate((f"v{r.vehicle} {r.seat}"[:17],
                                  f"{c['light']} {c['pose']}"[:17])):
            cv2.putText(sheet, text, (x + 1, y + CROP_PX + 12 + 12 * j),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.33, 255, 1, cv2.LINE_AA)
    _write_png(path, sheet)
    return len(worst)


def _write_png(path: Path, img: NDArray[np.uint8]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise LanecamError(f"could not write {path}")
