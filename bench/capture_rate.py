"""Capture-rate evaluation of the simulated lane: the production lane over the scenario suite,
judged against the simulator's ground truth.

Per scenario: travelers (occupants with a document on file), travelers with a face crop,
travelers verified by the dlib matcher against their *different* document photo, false matches
(a verification whose crop shows someone else), and decision latency (last frame of the burst
→ decision).  This is the fixed-settings baseline: exposure and gain as each scenario's camera
sets them (shortened only where the scheduler's 1 px motion-blur bound demands).

    python bench/capture_rate.py [--scenario NAME ...] [--repeat N]
    python bench/capture_rate.py --ablation [--scenario NAME ...] [--control ARM ...]

``--ablation`` runs each scenario once per control arm (``lanecam.sim.lane.CONTROLS``: the
fixed-settings baseline, + face-metered exposure/strobe control, …) with the same seeds and
prints one table: verified travelers per scenario and arm, totals and false matches.
"""

from __future__ import annotations

import argparse

from lanecam.sim.benchmark import ablation, capture_rate
from lanecam.sim.lane import CONTROLS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help="only these scenarios")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    ap.add_argument("--ablation", action="store_true",
                    help="one run per control arm, one table")
    ap.add_argument("--control", action="append", choices=CONTROLS,
                    help="with --ablation: only these arms (default: all)")
    args = ap.parse_args()
    if args.ablation:
        ablation(args.scenario, args.control or CONTROLS)
    else:
        capture_rate(args.scenario, args.repeat)


if __name__ == "__main__":
    main()
