"""``lanecam bench --population N``: draw, run, score, write the report and the contact sheet."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ...errors import ConfigError
from .draw import draw_population
from .gallery import load_gallery, shipped_gallery
from .report import build_report, contact_sheet, print_report, report_json
from .runner import UnitJob, UnitResult, run_units
from .spec import default_spec_path, load_spec

__all__ = ["BenchOptions", "add_bench_arguments", "bench_population", "cmd_bench_population"]


@dataclass(frozen=True)
class BenchOptions:
    """How to film each vehicle: render ``scale`` (0–1], ``frames`` per burst, capture
    ``control`` arm, ``timing`` (run_sim_lane's: ``"simulated"`` is deterministic and measures
    no latency, ``"real"`` measures decision latency), the face ``finder`` (``[capture]``'s:
    ``"hog"`` or ``"yunet"``), the ``matcher`` (``[matcher] kind``: ``"dlib"`` or
    ``"sface"``, at its measured default threshold), and a ``side_camera`` beside the lane
    (``rear_seat_side``'s, with its lamp) in every scene."""

    scale: float = 1.0
    frames: int = 10
    control: str = "exposure"
    timing: str = "simulated"
    finder: str = "hog"
    matcher: str = "dlib"
    side_camera: bool = False


#: Each matcher's threshold as its makers publish it (lanecam's similarity scale), reported
#: beside the shipped (measured, FMR 1e-4) one: dlib's face-recognition example uses a
#: descriptor distance of 0.6 (similarity 0.4); OpenCV's SFace sample a cosine of 0.363.
PUBLISHED_THRESHOLDS = {"dlib": 0.4, "sface": 0.363}


def bench_population(n: int, seed: int, *, spec: str | None = None,
                     identities: str | None = None, workers: int = 1,
                     scheduler: str | None = None, json_path: str | None = None,
                     sheet_path: str | None = None, options: BenchOptions = BenchOptions(),
                     stream: TextIO = sys.stdout) -> dict[str, Any]:
    """Run the production lane over ``n`` vehicles of population ``seed``; print the summary,
    write the JSON report (``json_path``) and the worst-miss sheet (``sheet_path``); return
    the report."""
    if not 1 <= n <= 1_000_000:
        raise ConfigError("--population must be in [1, 1000000]", key="population")
    if not 0 < options.scale <= 1:
        raise ConfigError("scale must be in (0, 1]", key="scale")
    pspec = load_spec(spec)
    gallery = load_gallery(identities) if identities else shipped_gallery()
    root = str(gallery.root) if gallery.root is not None else None
    vehicles = draw_population(pspec, gallery, seed, n)
    jobs = [UnitJob(v, root, options.scale, options.frames, options.control, options.timing,
                    crops=sheet_path is not None, finder=options.finder,
                    matcher=options.matcher, side_camera=options.side_camera)
            for v in vehicles]
    start = time.monotonic()
    done = [0]

    def progress(r: UnitResult) -> None:
        done[0] += 1
        if done[0] % 10 == 0 or done[0] == n:
            print(f"  {done[0]}/{n} vehicles", file=stream, flush=True)

    results = run_units(jobs, workers=workers, scheduler=scheduler, progress=progress)
    wall = time.monotonic() - start
    spec_name = str(spec) if spec else f"default ({default_spec_path().name})"
    rep = build_report(results, seed=seed, spec=spec_name, vehicles=n,
                       latency=options.timing == "real",
                       published_threshold=PUBLISHED_THRESHOLDS[options.matcher], options={
        "scale": options.scale, "frames": options.frames, "control": options.control,
        "timing": options.timing, "finder": options.finder, "matcher": options.matcher,
        "side_camera": options.side_camera, "identities": len(gallery.identities),
        "excluded_identities": len(gallery.excluded),
        "gallery": "shipped" if root is None else Path(root).name})
    travelers = rep["travelers"] + rep["impostors"]["n"]
    rep["run"] = {"wall_s": round(wall, 3), "workers": workers,
                  "scheduler": "dask" if scheduler else "local",
                  "travelers_per_minute": round(60.0 * travelers / wall, 3) if wall > 0 else None}
    print_report(rep, stream)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(report_json(rep), encoding="utf-8")
    if sheet_path:
        k = contact_sheet(results, Path(sheet_path))
        print(f"  contact sheet: {k} worst misses in {sheet_path}", file=stream)
    return rep


def cmd_bench_population(args: argparse.Namespace) -> int:
    """``lanecam bench --population N``."""
    opts = BenchOptions(scale=args.scale, frames=args.frames, control=args.control,
                        timing=args.timing, finder=args.finder, matcher=args.matcher,
                        side_camera=args.side_camera)
    bench_population(args.population, args.seed, spec=args.spec, identities=args.identities,
                     workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler,
                     json_path=args.json, sheet_path=args.sheet, options=opts)
    return 0


def add_bench_arguments(b: argparse.ArgumentParser) -> None:
    """``bench --population N --seed S ...``: the capture report over a drawn population."""
    b.add_argument("--population", type=int, metavar="N", help="vehicles of a drawn population "
                   "(lanecam sim population) instead of the named scenarios")
    b.add_argument("--seed", type=int, default=0, help="with --population: the population seed")
    b.add_argument("--spec", help="population spec TOML (default: the shipped one)")
    b.add_argument("--identities", metavar="DIR", help="gallery folder (default: shipped faces)")
    b.add_argument("--workers", type=int, help="local processes (default: CPU count)")
    b.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786)")
    b.add_argument("--json", metavar="FILE", help="write the report as JSON")
    b.add_argument("--sheet", metavar="FILE.png", help="contact sheet of the worst misses")
    b.add_argument("--scale", type=float, default=1.0,
                   help="with --population: render scale in (0, 1] (default 1: the 5 MP sensor)")
    b.add_argument("--frames", type=int, default=10, help="with --population: frames per burst (default 10)")
    b.add_argument("--control", default="exposure",
                   choices=["baseline", "exposure", "bracket", "polarization", "all"],
                   help="with --population: capture control (default: face-metered exposure)")
    b.add_argument("--finder", default="hog", choices=["hog", "yunet"],
                   help="with --population: the face finder (default: dlib HOG)")
    b.add_argument("--matcher", default="dlib", choices=["dlib", "sface"],
                   help="with --population: the matcher, at its measured default threshold")
    b.add_argument("--side-camera", action="store_true",
                   help="with --population: add rear_seat_side's side camera and lamp")
