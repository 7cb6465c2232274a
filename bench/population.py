"""Throughput of ``lanecam bench --population`` on this machine: travelers per minute, and the
cost per traveler against the ten named scenarios run in the same process, same settings.

    python bench/population.py [--vehicles 20] [--seed 1] [--workers 2] [--scale 1.0]
                               [--frames 10] [--timing simulated] [--no-suite]

Prints the population's travelers per minute (wall clock, ``--workers`` local processes), the
suite's seconds per traveler (one process, sequential) and the ratio of the population's
CPU-seconds per traveler (wall × workers) to the suite's.  A benchmark, not a test: the figures
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import io
import os
import time

from lanecam.sim.evaluate import evaluate_run
from lanecam.sim.lane import document_templates, run_sim_lane
from lanecam.sim.population.bench import BenchOptions, bench_population
from lanecam.sim.scenario import SUITE


def suite_seconds_per_traveler(opts: BenchOptions) -> tuple[float, int]:
    """Wall seconds per traveler of the named suite, sequential in this process."""
    from lanecam.match.dlib_matcher import DlibMatcher

    matcher = DlibMatcher()
    templates = document_templates(matcher)
    run_sim_lane(SUITE[0], matcher, templates=templates, scale=opts.scale, frames=opts.frames,
                 control=opts.control, timing=opts.timing)  # warm-up: kernels, models
    start, travelers = time.monotonic(), 0
    for name in SUITE:
        run = run_sim_lane(name, matcher, templates=templates, scale=opts.scale,
                           frames=opts.frames, control=opts.control, timing=opts.timing)
        travelers += len(evaluate_run(run))
    return (time.monotonic() - start) / max(travelers, 1), travelers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vehicles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--timing", choices=("simulated", "real"), default="simulated")
    ap.add_argument("--no-suite", action="store_true", help="skip the named-suite comparison")
    args = ap.parse_args()
    opts = BenchOptions(scale=args.scale, frames=args.frames, timing=args.timing)
    rep = bench_population(args.vehicles, args.seed, workers=args.workers, options=opts,
                           stream=io.StringIO())
    run = rep["run"]
    travelers = rep["travelers"] + rep["impostors"]["n"]
    print(f"population: {args.vehicles} vehicles, {travelers} travelers in {run['wall_s']:.1f} s"
          f" on {args.workers} worker(s): {run['travelers_per_minute']:.1f} travelers/min "
          f"(scale {args.scale}, {args.frames} frames, timing {args.timing}, "
          f"{os.cpu_count()} CPUs)")
    if args.no_suite:
        return
    s_per, n = suite_seconds_per_traveler(opts)
    pop_cpu = run["wall_s"] * args.workers / max(travelers, 1)
    print(f"named suite: {n} travelers, {s_per:.2f} s per traveler (1 process)")
    print(f"population / suite, CPU-seconds per traveler: {pop_cpu / s_per:.2f}")


if __name__ == "__main__":
    main()
